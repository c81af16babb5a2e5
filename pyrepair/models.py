"""Reference architectures of the four repair papers, built by name.

``create(name, num_classes, in_channels, input_size, **kwargs)`` returns a freshly initialised ``nn.Module`` that
takes float32 NCHW images in ``[0, 1]`` and returns logits ``(B, num_classes)``. Every size inside the network
(flatten widths, pooling windows) is computed from ``input_size``, so one architecture serves scikit-learn's 8x8
digits, 28x28 MNIST / Fashion-MNIST and 32x32 CIFAR-10 / SVHN wherever its pooling allows; a size that is too small
raises ``ValueError`` with the minimum. Each model carries ``model.pyrepair_config``, a JSON-able dict from which
:func:`from_config` rebuilds the same architecture (the weights travel separately in a ``state_dict``).

Every model is an ``nn.Sequential`` with named children, so ``model[:-1]`` is the feature extractor of the
penultimate layer and ``model.get_submodule(path)`` finds a layer by the names below. Input normalisation, when
wanted (DeepRepair uses mean = std = 0.5, DARE asks for normalisation inside the model), is the optional first child
``normalize`` (:class:`Normalize`), enabled with ``mean=`` and ``std=``, so attacks and repairs still see raw
``[0, 1]`` pixels.

Architectures (``params``: trainable parameters with 10 classes at the default input):

| name | architecture (paper) | used by | input | params |
|---|---|---|---|---|
| ``lenet`` | LeNet-5 layout, 32/64 ch, dense 512 (LeCun et al. 1998) | fast tests; small CNN | 1x28x28 | 1,663,370 |
| ``mlp`` | ReLU perceptron (Rumelhart et al. 1986) | NNrepair T8, DARE smoke test | 1x8x8 | 8,970 |
| ``nnrepair_mnist_lq`` | MNIST-LQ (-Pois, -Adv) CNN (Usman et al. 2021) | NNrepair | 1x28x28 | 75,242 |
| ``nnrepair_mnist_hq`` | MNIST-HQ CNN (Usman et al. 2021) | NNrepair | 1x28x28 | 42,358 |
| ``nnrepair_cifar`` | CIFAR10 CNN, Keras ``cifar10_cnn`` layout (Usman et al. 2021) | NNrepair | 3x32x32 | 890,410 |
| ``allconvnet`` | AllConvNet (Springenberg et al. 2015), AugMix variant | DeepRepair | 3x32x32 | 1,409,674 |
| ``wrn`` | WRN-40-2 (Zagoruyko & Komodakis 2016) | DeepRepair; SENSEI (WRN) | 3x32x32 | 2,243,546 |
| ``densenet`` | DenseNet-40-12, no bottleneck (Huang et al. 2017) | DeepRepair | 3x32x32 | 1,059,298 |
| ``densenet_bc`` | DenseNet-BC-40-12 (Huang et al. 2017) | small DenseNet | 3x32x32 | 176,122 |
| ``resnet20`` | CIFAR ResNet-20, option A (He et al. 2016) | SENSEI | 3x32x32 | 269,722 |
| ``resnet32`` | CIFAR ResNet-32, option A (He et al. 2016) | SENSEI | 3x32x32 | 464,154 |
| ``alexnet8`` | 8-layer AlexNet (Krizhevsky et al. 2012), DARE code | DARE (FM: 8,063,882) | 3x32x32 | 9,638,474 |
| ``vgg16_bn`` | VGG16 + BN (Simonyan & Zisserman 2015), DARE code | DARE | 3x32x32 | 33,642,442 |
| ``vgg19_bn`` | VGG19 + BN (Simonyan & Zisserman 2015), DARE code | DARE | 3x32x32 | 38,953,418 |
| ``vgg16_fm`` | VGG16 blocks 1-4, no BN (DARE code, Fashion-MNIST) | DARE | 1x28x28 | 26,557,642 |
| ``vgg19_fm`` | VGG19 blocks 1-4, no BN (DARE spec's stand-in) | DARE | 1x28x28 | 29,507,530 |

Full citations: LeCun et al. 1998, "Gradient-based learning applied to document recognition"; Usman et al. 2021,
"NNrepair: Constraint-based Repair of Neural Network Classifiers" (CAV); Springenberg et al. 2015, "Striving for
Simplicity: The All Convolutional Net"; Hendrycks et al. 2020, "AugMix" (the code DeepRepair copies); Zagoruyko &
Komodakis 2016, "Wide Residual Networks"; Huang et al. 2017, "Densely Connected Convolutional Networks"; He et al.
2016, "Deep Residual Learning for Image Recognition"; Krizhevsky et al. 2012, "ImageNet Classification with Deep
Convolutional Neural Networks"; Simonyan & Zisserman 2015, "Very Deep Convolutional Networks for Large-Scale Image
Recognition"; Ioffe & Szegedy 2015, "Batch Normalization". Repair papers: DeepRepair (Yu et al., arXiv
2011.09884), SENSEI (Gao et al., ICSE 2020), DARE (Zhang et al., ASE 2022), NNrepair (Usman et al., CAV 2021).

Not provided: SENSEI's GTSRB/IMDB VGG-style models and its ResNet-50 (large, and the paper takes them from third-party
repositories; ``lenet``/``wrn``/``resnet20`` with ``input_size=48, num_classes=43`` are cheap stand-ins for GTSRB).

Initialisation follows the source of each architecture and is deterministic under ``torch.manual_seed``: He
(Kaiming) normal with ``fan_out`` for the convolutions of ``wrn``, ``densenet*``, ``allconvnet`` (AugMix code) and
``resnet*`` (He et al.), BatchNorm weight 1 / bias 0, classifier bias 0; Glorot-uniform weights with zero biases
(the Keras defaults) for the Keras-born models (``nnrepair_*``, ``alexnet8``, ``vgg*``); PyTorch defaults for
``lenet`` and ``mlp``.

Example:
    >>> import torch
    >>> from pyrepair import models
    >>> model = models.create("lenet", num_classes=10, input_size=8)
    >>> model(torch.rand(2, 1, 8, 8)).shape
    torch.Size([2, 10])
    >>> models.from_config(model.pyrepair_config).pyrepair_config == model.pyrepair_config
    True
"""

from __future__ import annotations

import contextlib
import functools
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ._checks import check_images, check_in, check_int, check_range, check_seed, torch_seed
from .errors import ArgumentError, ArgumentTypeError, PyrepairError

__all__ = ["Normalize", "create", "default_config", "from_config", "names"]

_FN_CREATE = "pyrepair.models.create"


# ----------------------------------------------------------------------------------------------------------------
# shared modules
# ----------------------------------------------------------------------------------------------------------------


def _real_values(v: Any, name: str, fn: str) -> np.ndarray:
    """A real number or a sequence of them (list, tuple, array, tensor) as a flat float64 array."""
    if isinstance(v, torch.Tensor):
        v = v.detach().cpu().numpy()
    try:
        arr = None if isinstance(v, (str, bytes)) else np.asarray(v)
    except (TypeError, ValueError):  # ragged sequences
        arr = None
    if arr is None or arr.dtype.kind not in "iuf":
        raise ArgumentTypeError(f"{fn}: {name} must be a real number or a sequence of real numbers, got {v!r}")
    return np.atleast_1d(arr.astype(np.float64)).ravel()


class Normalize(nn.Module):
    """Per-channel affine normalisation ``(x - mean) / std`` as the first layer of a model.

    Putting the normalisation inside the model lets attacks, corruptions and repairs work on raw ``[0, 1]`` pixels
    (DARE spec §4.1; DeepRepair/AugMix use ``mean = std = 0.5``). ``mean`` and ``std`` are persistent buffers, so
    they travel with the ``state_dict``.

    Args:
        mean: one value for all channels or one value per channel.
        std: one value for all channels or one value per channel; every value > 0.

    Raises:
        ArgumentTypeError: ``mean`` or ``std`` holds anything but real numbers (strings, complex, bools).
        ValueError: empty or mismatched lengths, non-finite values, or ``std <= 0``.
        ShapeError, DTypeError, DeviceError (``forward``): ``x`` is not a floating-point ``(B, C, H, W)`` tensor
            with the right ``C``, or is on the meta device.

    Shape:
        - Input: ``(B, C, H, W)`` with ``C`` equal to the number of per-channel values (any ``C`` for one value).
        - Output: ``(B, C, H, W)``.
    """

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, mean: float | Sequence[float], std: float | Sequence[float]) -> None:
        super().__init__()
        fn = "pyrepair.models.Normalize"
        m, s = _real_values(mean, "mean", fn), _real_values(std, "std", fn)
        if m.size == 0 or s.size == 0 or (m.size != s.size and 1 not in (m.size, s.size)):
            raise ArgumentError(
                f"{fn}: mean and std must be non-empty with equal lengths (or one value), got {mean!r}, {std!r}"
            )
        if not np.isfinite(m).all() or not (np.isfinite(s) & (s > 0)).all():
            raise ArgumentError(f"{fn}: mean must be finite and std finite and > 0, got mean={mean!r}, std={std!r}")
        self.register_buffer("mean", torch.tensor(m, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(s, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise ``x`` of shape ``(B, C, H, W)`` (a floating-point tensor; any values, no range check)."""
        c = int(self.mean.shape[1])
        check_images(x, "pyrepair.models.Normalize.forward", "x", channels=None if c == 1 else (c,),
                     check_range=False)  # structure only: O(1), no pass over the values
        return (x - self.mean) / self.std

    def extra_repr(self) -> str:
        return f"mean={self.mean.flatten().tolist()}, std={self.std.flatten().tolist()}"


class _SigmoidGELU(nn.Module):
    """The sigmoid approximation of GELU, ``x * sigmoid(1.702 x)`` (Hendrycks & Gimpel 2016), used by AllConvNet."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


class _WideBasic(nn.Module):
    """Pre-activation wide residual block: BN-ReLU-conv3x3-BN-ReLU-dropout-conv3x3 (Zagoruyko & Komodakis 2016).

    When the shape changes, the shortcut is a 1x1 convolution applied to the *activated* input (as in the reference
    implementation); otherwise it is the identity on the raw input.
    """

    def __init__(self, in_planes: int, out_planes: int, stride: int, dropout: float) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.relu1 = nn.ReLU()
        self.conv1 = nn.Conv2d(in_planes, out_planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_planes)
        self.relu2 = nn.ReLU()
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(out_planes, out_planes, 3, stride=1, padding=1, bias=False)
        self.shortcut: nn.Module | None = None
        if in_planes != out_planes or stride != 1:
            self.shortcut = nn.Conv2d(in_planes, out_planes, 1, stride=stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.relu1(self.bn1(x))
        skip = x if self.shortcut is None else self.shortcut(a)
        out = self.conv2(self.dropout(self.relu2(self.bn2(self.conv1(a)))))
        return out + skip


class _PadShortcut(nn.Module):
    """Option-A shortcut of He et al. 2016: subsample by ``stride`` and append zero channels (no parameters)."""

    def __init__(self, extra_channels: int, stride: int) -> None:
        super().__init__()
        self.extra_channels = extra_channels
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x[..., ::2, ::2] has ceil(H / 2) rows, the same as a 3x3 stride-2 pad-1 convolution, for odd H too.
        x = x[:, :, :: self.stride, :: self.stride]
        return F.pad(x, (0, 0, 0, 0, 0, self.extra_channels))

    def extra_repr(self) -> str:
        return f"extra_channels={self.extra_channels}, stride={self.stride}"


class _BasicBlock(nn.Module):
    """Post-activation residual block conv3x3-BN-ReLU-conv3x3-BN (+ shortcut) then ReLU (He et al. 2016)."""

    def __init__(self, in_planes: int, out_planes: int, stride: int, shortcut: str) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, out_planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_planes)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(out_planes, out_planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_planes)
        self.shortcut: nn.Module = nn.Identity()
        if in_planes != out_planes or stride != 1:
            if shortcut == "A":
                self.shortcut = _PadShortcut(out_planes - in_planes, stride)
            else:
                self.shortcut = nn.Sequential(
                    OrderedDict(
                        conv=nn.Conv2d(in_planes, out_planes, 1, stride=stride, bias=False),
                        bn=nn.BatchNorm2d(out_planes),
                    )
                )
        self.relu2 = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        return self.relu2(out + self.shortcut(x))


class _DenseLayer(nn.Module):
    """DenseNet layer BN-ReLU-conv3x3 (or BN-ReLU-conv1x1(4k)-BN-ReLU-conv3x3 with bottleneck), concatenated to x."""

    def __init__(self, in_channels: int, growth_rate: int, bottleneck: bool) -> None:
        super().__init__()
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        layers["bn1"] = nn.BatchNorm2d(in_channels)
        layers["relu1"] = nn.ReLU()
        if bottleneck:
            inter = 4 * growth_rate
            layers["conv1"] = nn.Conv2d(in_channels, inter, 1, bias=False)
            layers["bn2"] = nn.BatchNorm2d(inter)
            layers["relu2"] = nn.ReLU()
            layers["conv2"] = nn.Conv2d(inter, growth_rate, 3, padding=1, bias=False)
        else:
            layers["conv1"] = nn.Conv2d(in_channels, growth_rate, 3, padding=1, bias=False)
        self.body = nn.Sequential(layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.body(x)], dim=1)


# ----------------------------------------------------------------------------------------------------------------
# spatial arithmetic (one axis at a time; every architecture here is separable in H and W)
# ----------------------------------------------------------------------------------------------------------------


def _out_len(n: int, k: int, s: int = 1, p: int = 0) -> int:
    """Length after a convolution or floor-mode pooling with kernel k, stride s, padding p; 0 once collapsed."""
    if n < 1 or n + 2 * p < k:
        return 0
    return (n + 2 * p - k) // s + 1


def _len_lenet(n: int) -> int:
    for _ in range(2):
        n = _out_len(_out_len(n, 5, 1, 2), 2, 2)  # conv 5x5 pad 2, maxpool 2
    return n


def _len_mlp(n: int) -> int:
    return n


def _len_nnrepair_lq(n: int) -> int:
    return _out_len(_out_len(_out_len(n, 3), 3), 2, 2)


def _len_nnrepair_hq(n: int) -> int:
    return _out_len(_out_len(_out_len(_out_len(n, 3), 2, 2), 3), 2, 2)


def _len_nnrepair_cifar(n: int) -> int:
    for _ in range(2):
        n = _out_len(_out_len(_out_len(n, 3), 3), 2, 2)  # two valid 3x3 convs, maxpool 2
    return n


def _len_allconv_pool_window(n: int) -> int:
    """Map size after the two max-pools; it is also the final average-pool window (8 at 32 px, as in AugMix)."""
    return _out_len(_out_len(n, 2, 2), 2, 2)


def _len_allconvnet(n: int) -> int:
    m = _len_allconv_pool_window(n)
    v = _out_len(_out_len(_out_len(m, 3), 1, 1, 1), 1, 1, 1)  # 3x3 valid, two 1x1 pad-1 "NIN" convs: m + 2
    return _out_len(v, m, m) if m >= 1 else 0


def _len_two_stride2(n: int) -> int:
    return _out_len(_out_len(n, 3, 2, 1), 3, 2, 1)


def _len_densenet(n: int) -> int:
    return _out_len(_out_len(n, 2, 2), 2, 2)


def _len_alexnet8(n: int) -> int:
    n = _out_len(_out_len(n, 3), 3, 2)  # conv 3x3 valid, maxpool 3 stride 2
    n = _out_len(_out_len(n, 3), 3, 2)
    return _out_len(n, 3, 2)  # three 'same' convs, maxpool 3 stride 2


def _len_pools(k: int) -> Callable[[int], int]:
    def f(n: int) -> int:
        for _ in range(k):
            n = _out_len(n, 2, 2)
        return n

    return f


# ----------------------------------------------------------------------------------------------------------------
# initialisation
# ----------------------------------------------------------------------------------------------------------------


def _init_he(model: nn.Module) -> None:
    """He normal (fan_out) convs, BN 1/0, zero classifier bias (AugMix code for WRN/DenseNet/AllConvNet; He 2016)."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.zeros_(m.bias)


def _init_keras(model: nn.Module) -> None:
    """Glorot-uniform weights and zero biases: the Keras defaults of the models NNrepair and DARE trained."""
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


# ----------------------------------------------------------------------------------------------------------------
# builders: (num_classes, in_channels, (h, w) of the last feature map, resolved kwargs) -> layers
# ----------------------------------------------------------------------------------------------------------------


def _tag(net: nn.Module, **attrs: Any) -> None:
    """Attach plain (non-tensor) attributes such as ``repair_layer_name`` and ``pyrepair_config`` to a model."""
    for key, value in attrs.items():
        setattr(net, key, value)


def _build_lenet(num_classes: int, c: int, hw: tuple[int, int], kw: dict[str, Any]) -> nn.Sequential:
    """LeNet-style CNN (LeCun et al. 1998, "Gradient-based learning applied to document recognition").

    conv5x5(32, pad 2)-ReLU-maxpool2-conv5x5(64, pad 2)-ReLU-maxpool2-flatten-dense(hidden)-ReLU-dropout-dense.
    The widths (32/64 channels, 512 hidden units) are the common "LeNet-5 with wider channels" MNIST net; 8x8 maps
    to 4 then 2. With Adam (lr 1e-3, batch 128) it reaches 98.7-99.0 % MNIST test accuracy after 2 epochs (4 seeds;
    98.5-98.7 % with 128 hidden units, one seed below 98.5, hence 512), and > 95 % on scikit-learn's 8x8 digits.
    """
    h, w = hw
    net = nn.Sequential(
        OrderedDict(
            conv1=nn.Conv2d(c, 32, 5, padding=2),
            relu1=nn.ReLU(),
            pool1=nn.MaxPool2d(2),
            conv2=nn.Conv2d(32, 64, 5, padding=2),
            relu2=nn.ReLU(),
            pool2=nn.MaxPool2d(2),
            flatten=nn.Flatten(),
            fc1=nn.Linear(64 * h * w, kw["hidden"]),
            relu3=nn.ReLU(),
            dropout=nn.Dropout(kw["dropout"]),
            fc2=nn.Linear(kw["hidden"], num_classes),
        )
    )
    _tag(net, repair_layer_name="fc1")
    return net


def _build_mlp(num_classes: int, c: int, hw: tuple[int, int], kw: dict[str, Any]) -> nn.Sequential:
    """Fully connected ReLU network on the flattened image (Rumelhart et al. 1986)."""
    layers: OrderedDict[str, nn.Module] = OrderedDict(flatten=nn.Flatten())
    width = c * hw[0] * hw[1]
    hidden = kw["hidden"]
    for i, units in enumerate(hidden, start=1):
        layers[f"fc{i}"] = nn.Linear(width, units)
        layers[f"relu{i}"] = nn.ReLU()
        width = units
    layers[f"fc{len(hidden) + 1}"] = nn.Linear(width, num_classes)
    net = nn.Sequential(layers)
    _tag(net, repair_layer_name=f"fc{len(hidden)}")
    return net


def _build_nnrepair_mnist_lq(num_classes: int, c: int, hw: tuple[int, int], kw: dict[str, Any]) -> nn.Sequential:
    """NNrepair MNIST-LQ (Usman et al. 2021, "NNrepair: Constraint-based Repair of Neural Network Classifiers").

    Children are named by their Keras layer index (spec §5.2): conv0 2@3x3-ReLU, dropout1, conv2 4@3x3-ReLU, pool3,
    dropout4, flatten5, dense6 128-ReLU (the repaired layer), dropout7, dense8.
    """
    h, w = hw
    p = kw["dropout"]
    net = nn.Sequential(
        OrderedDict(
            conv0=nn.Conv2d(c, 2, 3),
            relu0=nn.ReLU(),
            dropout1=nn.Dropout(p),
            conv2=nn.Conv2d(2, 4, 3),
            relu2=nn.ReLU(),
            pool3=nn.MaxPool2d(2),
            dropout4=nn.Dropout(p),
            flatten5=nn.Flatten(),
            dense6=nn.Linear(4 * h * w, 128),
            relu6=nn.ReLU(),
            dropout7=nn.Dropout(p),
            dense8=nn.Linear(128, num_classes),
        )
    )
    _tag(net, repair_layer_name="dense6")
    return net


def _build_nnrepair_mnist_hq(num_classes: int, c: int, hw: tuple[int, int], kw: dict[str, Any]) -> nn.Sequential:
    """NNrepair MNIST-HQ (Usman et al. 2021).

    Children named by Keras index: conv0 8@3x3-ReLU, pool1, conv2 16@3x3-ReLU, pool3, flatten4, dense5 100-ReLU
    (the repaired layer), dense6.
    """
    h, w = hw
    net = nn.Sequential(
        OrderedDict(
            conv0=nn.Conv2d(c, 8, 3),
            relu0=nn.ReLU(),
            pool1=nn.MaxPool2d(2),
            conv2=nn.Conv2d(8, 16, 3),
            relu2=nn.ReLU(),
            pool3=nn.MaxPool2d(2),
            flatten4=nn.Flatten(),
            dense5=nn.Linear(16 * h * w, 100),
            relu5=nn.ReLU(),
            dense6=nn.Linear(100, num_classes),
        )
    )
    _tag(net, repair_layer_name="dense5")
    return net


def _build_nnrepair_cifar(num_classes: int, c: int, hw: tuple[int, int], kw: dict[str, Any]) -> nn.Sequential:
    """NNrepair CIFAR10 model (Usman et al. 2021), the Keras ``cifar10_cnn`` layout with 'valid' convolutions.

    Children named by Keras index: conv0 32@3x3, act1 ReLU, conv2 32@3x3-ReLU, pool3, dropout4, conv5 64@3x3,
    act6 ReLU, conv7 64@3x3-ReLU, pool8, dropout9, flatten10, dense11 512-ReLU (the repaired layer), dropout12,
    dense13.
    """
    h, w = hw
    pc, pd = kw["conv_dropout"], kw["dense_dropout"]
    net = nn.Sequential(
        OrderedDict(
            conv0=nn.Conv2d(c, 32, 3),
            act1=nn.ReLU(),
            conv2=nn.Conv2d(32, 32, 3),
            relu2=nn.ReLU(),
            pool3=nn.MaxPool2d(2),
            dropout4=nn.Dropout(pc),
            conv5=nn.Conv2d(32, 64, 3),
            act6=nn.ReLU(),
            conv7=nn.Conv2d(64, 64, 3),
            relu7=nn.ReLU(),
            pool8=nn.MaxPool2d(2),
            dropout9=nn.Dropout(pc),
            flatten10=nn.Flatten(),
            dense11=nn.Linear(64 * h * w, 512),
            relu11=nn.ReLU(),
            dropout12=nn.Dropout(pd),
            dense13=nn.Linear(512, num_classes),
        )
    )
    _tag(net, repair_layer_name="dense11")
    return net


def _conv_bn_act(layers: OrderedDict[str, nn.Module], i: int, cin: int, cout: int, k: int, p: int) -> None:
    layers[f"conv{i}"] = nn.Conv2d(cin, cout, k, padding=p)
    layers[f"bn{i}"] = nn.BatchNorm2d(cout)
    layers[f"act{i}"] = _SigmoidGELU()


def _build_allconvnet(num_classes: int, c: int, hw: tuple[int, int], kw: dict[str, Any]) -> nn.Sequential:
    """All-convolutional net (Springenberg et al. 2015, "Striving for Simplicity"), as in the AugMix code.

    Three 3x3 conv-BN-GELU at 96, maxpool 2 + dropout, three at 192, maxpool 2 + dropout, a 3x3 'valid' conv, two
    1x1 "NIN" convs with padding 1, average pool with window = the map size after the two max-pools (8 at 32 px,
    exactly AugMix's ``AvgPool2d(8)``, which drops the outer ring of the 10x10 map), linear 192 -> classes.
    """
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    w1, w2 = 96, 192
    _conv_bn_act(layers, 1, c, w1, 3, 1)
    _conv_bn_act(layers, 2, w1, w1, 3, 1)
    _conv_bn_act(layers, 3, w1, w1, 3, 1)
    layers["pool1"] = nn.MaxPool2d(2)
    layers["dropout1"] = nn.Dropout(kw["dropout"])
    _conv_bn_act(layers, 4, w1, w2, 3, 1)
    _conv_bn_act(layers, 5, w2, w2, 3, 1)
    _conv_bn_act(layers, 6, w2, w2, 3, 1)
    layers["pool2"] = nn.MaxPool2d(2)
    layers["dropout2"] = nn.Dropout(kw["dropout"])
    _conv_bn_act(layers, 7, w2, w2, 3, 0)
    _conv_bn_act(layers, 8, w2, w2, 1, 1)
    _conv_bn_act(layers, 9, w2, w2, 1, 1)
    layers["avgpool"] = nn.AvgPool2d(kw["_pool_window"])
    layers["flatten"] = nn.Flatten()
    layers["fc"] = nn.Linear(w2 * hw[0] * hw[1], num_classes)
    return nn.Sequential(layers)


def _build_wrn(num_classes: int, c: int, hw: tuple[int, int], kw: dict[str, Any]) -> nn.Sequential:
    """Wide residual network WRN-depth-k (Zagoruyko & Komodakis 2016, "Wide Residual Networks").

    conv3x3(16), three groups of (depth - 4) / 6 pre-activation blocks at 16k/32k/64k channels (strides 1, 2, 2),
    BN-ReLU, global average pool (= AugMix's ``avg_pool2d(8)`` at 32 px), linear.
    """
    n = (kw["depth"] - 4) // 6
    k = kw["widen_factor"]
    widths = [16, 16 * k, 32 * k, 64 * k]
    layers: OrderedDict[str, nn.Module] = OrderedDict(conv1=nn.Conv2d(c, 16, 3, padding=1, bias=False))
    for g, stride in enumerate((1, 2, 2), start=1):
        blocks = [
            _WideBasic(widths[g - 1] if i == 0 else widths[g], widths[g], stride if i == 0 else 1, kw["dropout"])
            for i in range(n)
        ]
        layers[f"block{g}"] = nn.Sequential(*blocks)
    layers["bn"] = nn.BatchNorm2d(widths[3])
    layers["relu"] = nn.ReLU()
    layers["pool"] = nn.AdaptiveAvgPool2d(1)
    layers["flatten"] = nn.Flatten()
    layers["fc"] = nn.Linear(widths[3], num_classes)
    return nn.Sequential(layers)


def _build_densenet(num_classes: int, c: int, hw: tuple[int, int], kw: dict[str, Any]) -> nn.Sequential:
    """DenseNet (Huang et al. 2017, "Densely Connected Convolutional Networks"), as in the AugMix code.

    conv3x3(2k), three dense blocks of (depth - 4) / 3 layers ((depth - 4) / 6 with bottleneck) separated by
    transitions BN-ReLU-conv1x1(floor(reduction * C))-avgpool2, then BN-ReLU, global average pool, linear.
    """
    k, bottleneck, reduction = kw["growth_rate"], kw["bottleneck"], kw["reduction"]
    n = (kw["depth"] - 4) // (6 if bottleneck else 3)
    ch = 2 * k
    layers: OrderedDict[str, nn.Module] = OrderedDict(conv1=nn.Conv2d(c, ch, 3, padding=1, bias=False))
    for b in (1, 2, 3):
        dense = []
        for _ in range(n):
            dense.append(_DenseLayer(ch, k, bottleneck))
            ch += k
        layers[f"dense{b}"] = nn.Sequential(*dense)
        if b < 3:
            out = int(np.floor(ch * reduction))
            layers[f"trans{b}"] = nn.Sequential(
                OrderedDict(
                    bn=nn.BatchNorm2d(ch),
                    relu=nn.ReLU(),
                    conv=nn.Conv2d(ch, out, 1, bias=False),
                    pool=nn.AvgPool2d(2),
                )
            )
            ch = out
    layers["bn"] = nn.BatchNorm2d(ch)
    layers["relu"] = nn.ReLU()
    layers["pool"] = nn.AdaptiveAvgPool2d(1)
    layers["flatten"] = nn.Flatten()
    layers["fc"] = nn.Linear(ch, num_classes)
    return nn.Sequential(layers)


def _make_resnet_builder(depth: int) -> Callable[[int, int, tuple[int, int], dict[str, Any]], nn.Sequential]:
    def build(num_classes: int, c: int, hw: tuple[int, int], kw: dict[str, Any]) -> nn.Sequential:
        n = (depth - 2) // 6
        widths = [16, 16, 32, 64]
        layers: OrderedDict[str, nn.Module] = OrderedDict(
            conv1=nn.Conv2d(c, 16, 3, padding=1, bias=False), bn1=nn.BatchNorm2d(16), relu1=nn.ReLU()
        )
        for g, stride in enumerate((1, 2, 2), start=1):
            blocks = [
                _BasicBlock(widths[g - 1] if i == 0 else widths[g], widths[g], stride if i == 0 else 1, kw["shortcut"])
                for i in range(n)
            ]
            layers[f"layer{g}"] = nn.Sequential(*blocks)
        layers["pool"] = nn.AdaptiveAvgPool2d(1)
        layers["flatten"] = nn.Flatten()
        layers["fc"] = nn.Linear(64, num_classes)
        return nn.Sequential(layers)

    build.__doc__ = (
        f"CIFAR ResNet-{depth} (He et al. 2016, 'Deep Residual Learning for Image Recognition', §4.2).\n\n"
        f"conv3x3(16)-BN-ReLU, three stages of {(depth - 2) // 6} basic blocks at 16/32/64 channels\n"
        "(strides 1, 2, 2),"
        " global average pool, linear. Shortcuts: option A by default (identity; when the shape changes, stride-2\n"
        "subsampling and zero-padded extra channels, no parameters), as He et al. used on CIFAR-10; option B\n"
        "(1x1 conv + BN projection) with ``shortcut='B'``."
    )
    return build


def _build_alexnet8(num_classes: int, c: int, hw: tuple[int, int], kw: dict[str, Any]) -> nn.Sequential:
    """The 8-layer AlexNet (Krizhevsky et al. 2012) of the DARE code for 32x32 / 28x28 inputs (DARE spec §4.2).

    conv3x3(96, valid)-BN-ReLU-maxpool(3, s2), conv3x3(256, valid)-BN-ReLU-maxpool(3, s2), three 'same' 3x3 convs
    (384, 384, 256) with ReLU, maxpool(3, s2), dense 2048-ReLU-dropout, dense 2048-ReLU-dropout, dense.
    """
    h, w = hw
    p = kw["dropout"]
    net = nn.Sequential(
        OrderedDict(
            conv1=nn.Conv2d(c, 96, 3),
            bn1=nn.BatchNorm2d(96),
            relu1=nn.ReLU(),
            pool1=nn.MaxPool2d(3, 2),
            conv2=nn.Conv2d(96, 256, 3),
            bn2=nn.BatchNorm2d(256),
            relu2=nn.ReLU(),
            pool2=nn.MaxPool2d(3, 2),
            conv3=nn.Conv2d(256, 384, 3, padding=1),
            relu3=nn.ReLU(),
            conv4=nn.Conv2d(384, 384, 3, padding=1),
            relu4=nn.ReLU(),
            conv5=nn.Conv2d(384, 256, 3, padding=1),
            relu5=nn.ReLU(),
            pool5=nn.MaxPool2d(3, 2),
            flatten=nn.Flatten(),
            fc1=nn.Linear(256 * h * w, 2048),
            relu6=nn.ReLU(),
            dropout1=nn.Dropout(p),
            fc2=nn.Linear(2048, 2048),
            relu7=nn.ReLU(),
            dropout2=nn.Dropout(p),
            fc3=nn.Linear(2048, num_classes),
        )
    )
    return net


_VGG_BLOCKS = {16: (2, 2, 3, 3, 3), 19: (2, 2, 4, 4, 4)}
_VGG_WIDTHS = (64, 128, 256, 512, 512)


def _make_vgg_builder(depth: int, fm: bool) -> Callable[[int, int, tuple[int, int], dict[str, Any]], nn.Sequential]:
    def build(num_classes: int, c: int, hw: tuple[int, int], kw: dict[str, Any]) -> nn.Sequential:
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        cin = c
        n_blocks = 4 if fm else 5
        for b in range(n_blocks):
            width = _VGG_WIDTHS[b]
            for i in range(1, _VGG_BLOCKS[depth][b] + 1):
                # BN version: conv without bias + BN (DARE spec); FM version: conv with bias, fused ReLU, no BN.
                layers[f"block{b + 1}_conv{i}"] = nn.Conv2d(cin, width, 3, padding=1, bias=fm)
                if not fm:
                    layers[f"block{b + 1}_bn{i}"] = nn.BatchNorm2d(width)
                layers[f"block{b + 1}_relu{i}"] = nn.ReLU()
                cin = width
            layers[f"block{b + 1}_pool"] = nn.MaxPool2d(2)
        layers["flatten"] = nn.Flatten()
        layers["fc1"] = nn.Linear(cin * hw[0] * hw[1], 4096)
        layers["relu1"] = nn.ReLU()
        if not fm:
            layers["dropout1"] = nn.Dropout(kw["dropout"])
        layers["fc2"] = nn.Linear(4096, 4096)
        layers["relu2"] = nn.ReLU()
        layers["dropout2"] = nn.Dropout(kw["dropout"])
        layers["fc3"] = nn.Linear(4096, num_classes)
        return nn.Sequential(layers)

    if fm:
        build.__doc__ = (
            f"VGG{depth} (Simonyan & Zisserman 2015) for 28x28 Fashion-MNIST as in the DARE code: blocks 1-4 only\n"
            "(3x3 'same' convs with bias and ReLU, no BN, 4 max-pools), flatten, dense 4096-ReLU, dense 4096-ReLU,\n"
            "dropout, dense."
        )
    else:
        build.__doc__ = (
            f"VGG{depth} with BatchNorm (Simonyan & Zisserman 2015; Ioffe & Szegedy 2015) as in the DARE code:\n"
            "3x3 'same' convs without bias, each BN-ReLU, 5 max-pools, then dense 4096-ReLU-dropout twice and a\n"
            "dense classifier. The Keras original applies the dense layers per pixel and then a global average pool;\n"
            "on 32 px inputs the map is 1x1 and both are the same, elsewhere we flatten."
        )
    return build


# ----------------------------------------------------------------------------------------------------------------
# kwarg validators: (value, name, fn) -> normalised JSON-able value
# ----------------------------------------------------------------------------------------------------------------

_Validator = Callable[[Any, str, str], Any]


def _v_prob(value: Any, name: str, fn: str) -> float:
    return check_range(value, name, fn, 0.0, 1.0)


def _v_pos_int(value: Any, name: str, fn: str) -> int:
    return check_int(value, name, fn, min_value=1)


def _v_bool(value: Any, name: str, fn: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ArgumentTypeError(f"{fn}: {name} must be a bool, got {type(value).__name__} {value!r}")
    return bool(value)


def _v_reduction(value: Any, name: str, fn: str) -> float:
    v = check_range(value, name, fn, 0.0, 1.0)
    if v == 0.0:
        raise ArgumentError(f"{fn}: {name} must be in (0, 1], got {value!r}")
    return v


def _v_shortcut(value: Any, name: str, fn: str) -> str:
    check_in(name, value, ("A", "B"), fn)
    return str(value)


def _v_hidden(value: Any, name: str, fn: str) -> list[int]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) == 0:
        raise ArgumentError(f"{fn}: {name} must be a non-empty sequence of layer widths, got {value!r}")
    return [check_int(v, f"{name}[{i}]", fn, min_value=1) for i, v in enumerate(value)]


def _v_norm(value: Any, name: str, fn: str) -> float | list[float] | None:
    if value is None:
        return None
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, (torch.Tensor, np.ndarray)):
        value = value.tolist()
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)) and len(value) > 0:
        out = []
        for v in value:
            if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
                raise ArgumentTypeError(f"{fn}: {name} must be None, a number or a sequence of numbers, got {value!r}")
            out.append(float(v))
        return out
    raise ArgumentTypeError(f"{fn}: {name} must be None, a number or a non-empty sequence of numbers, got {value!r}")


def _depth_check(arch: str, divisor: int, offset: int, examples: str) -> Callable[[dict[str, Any], str], None]:
    def check(kw: dict[str, Any], fn: str) -> None:
        d = kw["depth"]
        if d - offset < divisor or (d - offset) % divisor:
            raise ArgumentError(
                f"{fn}: depth must satisfy (depth - {offset}) % {divisor} == 0 and depth >= {offset + divisor} for "
                f"architecture {arch!r} (e.g. {examples}), got {d}"
            )

    return check


def _densenet_check(kw: dict[str, Any], fn: str) -> None:
    div = 6 if kw["bottleneck"] else 3
    d = kw["depth"]
    if d - 4 < div or (d - 4) % div:
        kind = "with bottleneck" if kw["bottleneck"] else "without bottleneck"
        raise ArgumentError(
            f"{fn}: depth must satisfy (depth - 4) % {div} == 0 and depth >= {4 + div} for a DenseNet {kind} "
            f"(e.g. {'22, 40, 100' if kw['bottleneck'] else '13, 40, 100'}), got {d}"
        )


# ----------------------------------------------------------------------------------------------------------------
# registry
# ----------------------------------------------------------------------------------------------------------------

_NORM_KWARGS: dict[str, tuple[Any, _Validator]] = {"mean": (None, _v_norm), "std": (None, _v_norm)}


@dataclass(frozen=True)
class _Arch:
    build: Callable[[int, int, tuple[int, int], dict[str, Any]], nn.Sequential]
    spatial: Callable[[int], int]  # input length along one axis -> length of the last feature map (0: collapsed)
    in_channels: int
    input_size: tuple[int, int]
    init: Callable[[nn.Module], None] | None
    paper: str
    notes: str
    kwargs: dict[str, tuple[Any, _Validator]] = field(default_factory=dict)
    check: Callable[[dict[str, Any], str], None] | None = None


_ARCHS: dict[str, _Arch] = {
    "lenet": _Arch(
        build=_build_lenet,
        spatial=_len_lenet,
        in_channels=1,
        input_size=(28, 28),
        init=None,
        paper="LeCun et al. 1998, Gradient-based learning applied to document recognition (layout; widths 32/64/512)",
        notes="Small CNN for MNIST / Fashion-MNIST / digits; 8x8 -> 4 -> 2. repair_layer_name = 'fc1'.",
        kwargs={"hidden": (512, _v_pos_int), "dropout": (0.0, _v_prob)},
    ),
    "mlp": _Arch(
        build=_build_mlp,
        spatial=_len_mlp,
        in_channels=1,
        input_size=(8, 8),
        init=None,
        paper="Rumelhart, Hinton & Williams 1986 (multilayer perceptron)",
        notes="ReLU MLP on the flattened image; NNrepair T8 uses hidden=[32, 16], DARE's smoke test hidden=[64, 64]. "
        "repair_layer_name = the last hidden layer.",
        kwargs={"hidden": ([64, 64], _v_hidden)},
    ),
    "nnrepair_mnist_lq": _Arch(
        build=_build_nnrepair_mnist_lq,
        spatial=_len_nnrepair_lq,
        in_channels=1,
        input_size=(28, 28),
        init=_init_keras,
        paper="Usman et al. 2021, NNrepair: Constraint-based Repair of Neural Network Classifiers (MNIST-LQ)",
        notes="75,242 params at 1x28x28; children named by Keras layer index; repair_layer_name = 'dense6'. "
        "Keras layers 1, 4, 7 are identity/dropout: nn.Dropout(dropout), default 0. The same architecture serves "
        "MNIST-Pois and MNIST-Adv.",
        kwargs={"dropout": (0.0, _v_prob)},
    ),
    "nnrepair_mnist_hq": _Arch(
        build=_build_nnrepair_mnist_hq,
        spatial=_len_nnrepair_hq,
        in_channels=1,
        input_size=(28, 28),
        init=_init_keras,
        paper="Usman et al. 2021, NNrepair (MNIST-HQ)",
        notes="42,358 params at 1x28x28; children named by Keras layer index; repair_layer_name = 'dense5'.",
    ),
    "nnrepair_cifar": _Arch(
        build=_build_nnrepair_cifar,
        spatial=_len_nnrepair_cifar,
        in_channels=3,
        input_size=(32, 32),
        init=_init_keras,
        paper="Usman et al. 2021, NNrepair (CIFAR10 / CIFAR10-Pois)",
        notes="890,410 params at 3x32x32; children named by Keras layer index; repair_layer_name = 'dense11'. "
        "The fused activations of conv2/conv7 are assumed ReLU and the dropout rates (0.25 after the pools, 0.5 "
        "after dense11) are those of the Keras cifar10_cnn example; the paper does not state them.",
        kwargs={"conv_dropout": (0.25, _v_prob), "dense_dropout": (0.5, _v_prob)},
    ),
    "allconvnet": _Arch(
        build=_build_allconvnet,
        spatial=_len_allconvnet,
        in_channels=3,
        input_size=(32, 32),
        init=_init_he,
        paper="Springenberg et al. 2015, Striving for Simplicity: The All Convolutional Net (AugMix variant)",
        notes="DeepRepair's AllConvNet: widths 96/192, BN, GELU x*sigmoid(1.702x), dropout 0.5 after each max-pool.",
        kwargs={"dropout": (0.5, _v_prob)},
    ),
    "wrn": _Arch(
        build=_build_wrn,
        spatial=_len_two_stride2,
        in_channels=3,
        input_size=(32, 32),
        init=_init_he,
        paper="Zagoruyko & Komodakis 2016, Wide Residual Networks",
        notes="DeepRepair uses WRN-40-2 with dropout 0 (the default); depth = 6n + 4.",
        kwargs={"depth": (40, _v_pos_int), "widen_factor": (2, _v_pos_int), "dropout": (0.0, _v_prob)},
        check=_depth_check("wrn", 6, 4, "16, 28, 40"),
    ),
    "densenet": _Arch(
        build=_build_densenet,
        spatial=_len_densenet,
        in_channels=3,
        input_size=(32, 32),
        init=_init_he,
        paper="Huang et al. 2017, Densely Connected Convolutional Networks",
        notes="DeepRepair uses DenseNet-40-12: growth 12, depth 40, no bottleneck, reduction 1.0; first conv has "
        "2 * growth_rate channels as in the AugMix code.",
        kwargs={
            "depth": (40, _v_pos_int),
            "growth_rate": (12, _v_pos_int),
            "bottleneck": (False, _v_bool),
            "reduction": (1.0, _v_reduction),
        },
        check=_densenet_check,
    ),
    "densenet_bc": _Arch(
        build=_build_densenet,
        spatial=_len_densenet,
        in_channels=3,
        input_size=(32, 32),
        init=_init_he,
        paper="Huang et al. 2017, Densely Connected Convolutional Networks (DenseNet-BC)",
        notes="Small DenseNet-BC-40-12: bottleneck layers (1x1 conv to 4k channels) and compression 0.5.",
        kwargs={
            "depth": (40, _v_pos_int),
            "growth_rate": (12, _v_pos_int),
            "bottleneck": (True, _v_bool),
            "reduction": (0.5, _v_reduction),
        },
        check=_densenet_check,
    ),
    "resnet20": _Arch(
        build=_make_resnet_builder(20),
        spatial=_len_two_stride2,
        in_channels=3,
        input_size=(32, 32),
        init=_init_he,
        paper="He et al. 2016, Deep Residual Learning for Image Recognition (CIFAR-10 ResNet-20, section 4.2)",
        notes="SENSEI's CIFAR-10 ResNet-20; option-A (parameter-free) shortcuts by default, shortcut='B' for 1x1 "
        "projections.",
        kwargs={"shortcut": ("A", _v_shortcut)},
    ),
    "resnet32": _Arch(
        build=_make_resnet_builder(32),
        spatial=_len_two_stride2,
        in_channels=3,
        input_size=(32, 32),
        init=_init_he,
        paper="He et al. 2016, Deep Residual Learning for Image Recognition (CIFAR-10 ResNet-32, section 4.2)",
        notes="SENSEI's CIFAR-10 ResNet-32; option-A shortcuts by default, shortcut='B' for 1x1 projections.",
        kwargs={"shortcut": ("A", _v_shortcut)},
    ),
    "alexnet8": _Arch(
        build=_build_alexnet8,
        spatial=_len_alexnet8,
        in_channels=3,
        input_size=(32, 32),
        init=_init_keras,
        paper="Krizhevsky et al. 2012, ImageNet Classification with Deep CNNs (8-layer CIFAR variant of the DARE code)",
        notes="DARE's AlexNet: 9,638,474 params at 3x32x32 (CIFAR-10/SVHN), 8,063,882 at 1x28x28 (Fashion-MNIST).",
        kwargs={"dropout": (0.5, _v_prob)},
    ),
    "vgg16_bn": _Arch(
        build=_make_vgg_builder(16, fm=False),
        spatial=_len_pools(5),
        in_channels=3,
        input_size=(32, 32),
        init=_init_keras,
        paper="Simonyan & Zisserman 2015, Very Deep Convolutional Networks (VGG16 with BatchNorm, DARE code head)",
        notes="DARE's VGG16 for CIFAR-10/SVHN (33.6M params); needs at least 32 px.",
        kwargs={"dropout": (0.5, _v_prob)},
    ),
    "vgg19_bn": _Arch(
        build=_make_vgg_builder(19, fm=False),
        spatial=_len_pools(5),
        in_channels=3,
        input_size=(32, 32),
        init=_init_keras,
        paper="Simonyan & Zisserman 2015, Very Deep Convolutional Networks (VGG19 with BatchNorm, DARE code head)",
        notes="DARE's VGG19 for CIFAR-10/SVHN (39.0M params); needs at least 32 px.",
        kwargs={"dropout": (0.5, _v_prob)},
    ),
    "vgg16_fm": _Arch(
        build=_make_vgg_builder(16, fm=True),
        spatial=_len_pools(4),
        in_channels=1,
        input_size=(28, 28),
        init=_init_keras,
        paper="Simonyan & Zisserman 2015 (VGG16 without block 5, the DARE code's Fashion-MNIST model)",
        notes="DARE's VGG16-FM: 26,557,642 params at 1x28x28.",
        kwargs={"dropout": (0.5, _v_prob)},
    ),
    "vgg19_fm": _Arch(
        build=_make_vgg_builder(19, fm=True),
        spatial=_len_pools(4),
        in_channels=1,
        input_size=(28, 28),
        init=_init_keras,
        paper="Simonyan & Zisserman 2015 (VGG19 without block 5)",
        notes="Stand-in for DARE's VGG19-FM (the paper's 33.6M is not reproducible from its code; this gives 29.5M).",
        kwargs={"dropout": (0.5, _v_prob)},
    ),
}


# ----------------------------------------------------------------------------------------------------------------
# public API
# ----------------------------------------------------------------------------------------------------------------


def names() -> list[str]:
    """The valid architecture names, sorted.

    Returns:
        A new sorted list of strings, e.g. ``["allconvnet", "alexnet8", ..., "wrn"]``.
    """
    return sorted(_ARCHS)


@functools.cache
def _min_length(name: str) -> int:
    """Smallest input length (one axis) that survives the architecture's convolutions and pools."""
    spatial = _ARCHS[name].spatial
    # Every length map here is non-decreasing in n, so the first n that survives is the minimum.
    return next(n for n in range(1, 4097) if spatial(n) >= 1)


def default_config(name: str) -> dict[str, Any]:
    """The defaults of an architecture.

    Args:
        name: an architecture name from :func:`names`.

    Returns:
        A new dict with ``arch``, ``num_classes`` (10), ``in_channels``, ``input_size`` ``(H, W)``, ``kwargs`` (the
        architecture's keyword arguments and their defaults), ``min_input_size`` ``(H, W)``, ``paper`` (citation)
        and ``notes`` (which repair paper uses it, and the choices we made).

    Raises:
        UnknownNameError: ``name`` is not an architecture (the message lists the valid names).
    """
    check_in("architecture", name, names(), "pyrepair.models.default_config")
    arch = _ARCHS[name]
    m = _min_length(name)
    kwargs = {k: (list(v) if isinstance(v, list) else v) for k, (v, _) in {**arch.kwargs, **_NORM_KWARGS}.items()}
    return {
        "arch": name,
        "num_classes": 10,
        "in_channels": arch.in_channels,
        "input_size": arch.input_size,
        "kwargs": kwargs,
        "min_input_size": (m, m),
        "paper": arch.paper,
        "notes": arch.notes,
    }


_MAX_INPUT_SIZE = 2**16
"""Largest image side :func:`create` builds a model for (a classifier's input, far above any data set here)."""


def _parse_input_size(value: Any, fn: str) -> tuple[int, int]:
    def is_int(v: Any) -> bool:
        return isinstance(v, (int, np.integer)) and not isinstance(v, bool)

    if is_int(value):
        hw = (int(value), int(value))
    elif isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ArgumentError(
                f"{fn}: input_size must be an int or a pair (H, "
                f"W), got {value!r} of length {len(value)}"
            )
        if not all(is_int(v) for v in value):
            raise ArgumentTypeError(f"{fn}: input_size must be an int or a pair (H, W) of ints, got {value!r}")
        hw = (int(value[0]), int(value[1]))
    else:
        raise ArgumentTypeError(
            f"{fn}: input_size must be an int or a pair (H, W) of ints, got {type(value).__name__} {value!r}"
        )
    if hw[0] < 1 or hw[1] < 1:
        raise ArgumentError(f"{fn}: input_size must be positive, got {value!r}")
    if max(hw) > _MAX_INPUT_SIZE:
        raise ArgumentError(f"{fn}: input_size must be at most {_MAX_INPUT_SIZE} px per side, got {value!r}")
    return hw


def create(
    name: str,
    num_classes: int = 10,
    in_channels: int | None = None,
    input_size: tuple[int, int] | int | None = None,
    *,
    seed: int | None = None,
    **kwargs: Any,
) -> nn.Module:
    """Build a freshly initialised reference architecture.

    Args:
        name: an architecture name from :func:`names` (see the module docstring for papers and defaults).
        num_classes: number of output logits, >= 2.
        in_channels: image channels, >= 1; ``None`` for the architecture's default (1 for MNIST-born models, 3 for
            CIFAR-born ones).
        input_size: ``H`` (square) or ``(H, W)``; ``None`` for the default (28 or 32, 8 for ``mlp``). Layer sizes
            are computed from it.
        seed: initialise the weights from ``torch.manual_seed(seed)`` inside a forked RNG (the global RNG state is
            left unchanged), so the same seed gives the same weights; ``None`` draws from torch's global RNG, as
            ``nn.Module`` constructors do.
        **kwargs: the architecture's own options (``default_config(name)["kwargs"]`` lists them), e.g. ``depth``,
            ``widen_factor``, ``dropout`` for ``wrn``; ``depth``, ``growth_rate``, ``bottleneck``, ``reduction``
            for ``densenet``; ``shortcut`` (``"A"``/``"B"``) for ``resnet*``; ``hidden`` for ``lenet``/``mlp``.
            Every architecture accepts ``mean`` and ``std`` (a number or one per channel) to put a
            :class:`Normalize` first; both or neither.

    Returns:
        An ``nn.Sequential`` in training mode, with ``pyrepair_config`` (a JSON-able dict: ``arch``,
        ``num_classes``, ``in_channels``, ``input_size`` and every architecture kwarg with its resolved value; pass it
        to :func:`from_config` to rebuild) and, for ``nnrepair_*``, ``lenet`` and ``mlp``, ``repair_layer_name``
        (the ``get_submodule`` path of the ``nn.Linear`` before the output layer, the layer NNrepair repairs).

    Raises:
        UnknownNameError: unknown ``name``; the message lists the valid names.
        TypeError: a non-integer ``num_classes``/``in_channels``/``input_size``, an unknown keyword argument for
            this architecture, or a keyword argument of the wrong type.
        ValueError: ``num_classes < 2``, ``in_channels < 1``, a non-positive or wrong-length ``input_size``, an
            ``input_size`` too small for the architecture (the message gives the minimum), or an invalid keyword
            value (e.g. a WRN depth that is not 6n + 4).

    Shape:
        - Input: ``(B, in_channels, H, W)`` float32 in ``[0, 1]``.
        - Output: ``(B, num_classes)`` logits.
    """
    fn = _FN_CREATE
    check_in("architecture", name, names(), fn)
    arch = _ARCHS[name]
    num_classes = check_int(num_classes, "num_classes", fn, min_value=2)
    in_channels = arch.in_channels if in_channels is None else check_int(in_channels, "in_channels", fn, min_value=1)
    hw = arch.input_size if input_size is None else _parse_input_size(input_size, fn)

    spec = {**arch.kwargs, **_NORM_KWARGS}
    unknown = sorted(set(kwargs) - set(spec))
    if unknown:
        raise ArgumentTypeError(
            f"{fn}: unknown keyword argument(s) {', '.join(repr(u) for u in unknown)} for architecture {name!r}; "
            f"valid: {', '.join(sorted(spec))}"
        )
    kw: dict[str, Any] = {}
    for key, (default, validate) in spec.items():
        if key in kwargs:
            kw[key] = validate(kwargs[key], key, fn)
        else:
            kw[key] = list(default) if isinstance(default, list) else default
    if arch.check is not None:
        arch.check(kw, fn)
    normalize = _make_normalize(kw["mean"], kw["std"], in_channels, fn)

    final = (arch.spatial(hw[0]), arch.spatial(hw[1]))
    if min(final) < 1:
        m = _min_length(name)
        raise ArgumentError(f"{fn}: input_size {hw} is too small for architecture {name!r}: the minimum is ({m}, {m})")

    build_kw = dict(kw)
    if name == "allconvnet":
        build_kw["_pool_window"] = (_len_allconv_pool_window(hw[0]), _len_allconv_pool_window(hw[1]))
    if seed is not None:
        seed = check_seed(seed, fn)
    with torch.random.fork_rng(devices=[]) if seed is not None else contextlib.nullcontext():
        if seed is not None:
            torch.manual_seed(torch_seed(seed))
        try:
            net = arch.build(num_classes, in_channels, final, build_kw)
        except (RuntimeError, MemoryError) as e:  # sizes that pass the checks but cannot be allocated
            if isinstance(e, RuntimeError) and "alloc" not in str(e):
                raise
            raise ArgumentError(
                f"{fn}: cannot allocate architecture {name!r} with num_classes={num_classes}, "
                f"in_channels={in_channels}, input_size={hw}: {' '.join(str(e).split())[:200]}"
            ) from e
        if arch.init is not None:
            arch.init(net)
    if normalize is not None:
        # Insert the normalisation as the first child; names (and repair_layer_name) of the others are unchanged.
        children = OrderedDict([("normalize", normalize), *net.named_children()])
        repair = getattr(net, "repair_layer_name", None)
        net = nn.Sequential(children)
        if repair is not None:
            _tag(net, repair_layer_name=repair)
    config = {"arch": name, "num_classes": num_classes, "in_channels": in_channels, "input_size": hw, **kw}
    _tag(net, pyrepair_config=config)
    return net


def _make_normalize(mean: Any, std: Any, channels: int, fn: str) -> Normalize | None:
    if mean is None and std is None:
        return None
    if (mean is None) != (std is None):
        raise ArgumentError(f"{fn}: mean and std must be given together, got mean={mean!r}, std={std!r}")
    for key, v in (("mean", mean), ("std", std)):
        if isinstance(v, list) and len(v) not in (1, channels):
            raise ArgumentError(f"{fn}: {key} must have 1 or in_channels={channels} values, got {len(v)}: {v!r}")
    if not all(np.isfinite(np.atleast_1d(np.asarray(mean, dtype=float)))):
        raise ArgumentError(f"{fn}: mean must be finite, got {mean!r}")
    if not all(np.isfinite(s) and s > 0 for s in np.atleast_1d(np.asarray(std, dtype=float))):
        raise ArgumentError(f"{fn}: std must be finite and > 0, got {std!r}")
    return Normalize(mean, std)


def from_config(cfg: Mapping[str, Any]) -> nn.Module:
    """Rebuild an architecture from ``model.pyrepair_config`` (possibly after a JSON round trip).

    Args:
        cfg: a mapping with ``arch`` (the name) and the other arguments of :func:`create`, or a
            :func:`default_config` dict (its ``kwargs`` are passed on, its descriptive keys ignored).

    Returns:
        A freshly initialised model with the same architecture (same ``state_dict`` keys and shapes); load the
        weights with ``model.load_state_dict``.

    Raises:
        TypeError: ``cfg`` is not a mapping, or it holds an unknown keyword for the architecture.
        ValueError: ``cfg`` has no ``arch`` key, or a value :func:`create` rejects.
        UnknownNameError: ``cfg["arch"]`` is not an architecture.
    """
    fn = "pyrepair.models.from_config"
    if not isinstance(cfg, Mapping):
        raise ArgumentTypeError(f"{fn}: cfg must be a dict (a model's pyrepair_config), got {type(cfg).__name__}")
    if "arch" not in cfg:
        raise ArgumentError(f"{fn}: cfg must have an 'arch' key (the architecture name), got keys {sorted(cfg)}")
    kw = dict(cfg)
    arch = kw.pop("arch")
    if "name" in kw:
        raise ArgumentError(f"{fn}: cfg must name the architecture under 'arch' only, got both 'arch' and 'name'")
    # A default_config(...) dict round-trips too: its descriptive keys are dropped and its nested architecture
    # keyword arguments are passed as keywords (a model's pyrepair_config holds them flat already).
    for key in _DESCRIPTIVE_KEYS:
        kw.pop(key, None)
    nested = kw.pop("kwargs", None)
    if nested is not None:
        if not isinstance(nested, Mapping):
            raise ArgumentTypeError(f"{fn}: cfg['kwargs'] must be a dict of architecture keyword arguments, "
                            f"got {type(nested).__name__}")
        clash = sorted(set(nested) & set(kw))
        if clash:
            raise ArgumentError(f"{fn}: cfg gives {clash} both flat and under 'kwargs'")
        kw.update(nested)
    try:
        return create(arch, **kw)
    except PyrepairError as e:  # create's message names create; say which function the user called too
        if e.args and isinstance(e.args[0], str):
            e.args = (f"{fn}: {e.args[0]}", *e.args[1:])
        raise


_DESCRIPTIVE_KEYS = ("min_input_size", "paper", "notes")
"""Keys of :func:`default_config` that describe an architecture rather than configure it."""
