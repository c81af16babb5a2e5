"""The one training loop (pyrepair._loop.TrainLoop): hook order and arguments, bit-identical resume, the NaN stop,
callbacks and early stop, clipping, the wrap_model seam, and plain user modules and DataLoaders."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from pyrepair._loop import (
    LOOP_STATE_FORMAT,
    LoopHooks,
    LoopState,
    TrainLoop,
    as_loader,
    cross_entropy_step,
)
from pyrepair.errors import CheckpointError

FN = "test.loop"


def make_data(n: int = 24, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 4, 4, generator=g), torch.randint(0, 3, (n,), generator=g)


def make_model(seed: int = 0, dropout: float = 0.0) -> nn.Module:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.ReLU(), nn.Dropout(dropout), nn.Linear(8, 3))


def make_loop(model: nn.Module, data=None, *, epochs: int = 2, batch_size: int = 8, **kw) -> TrainLoop:
    gen = torch.Generator()
    loader = as_loader(make_data() if data is None else data, batch_size, True, gen, FN)
    opt = kw.pop("optimizer", None) or torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    step = kw.pop("step", cross_entropy_step)
    return TrainLoop(model, loader, step, opt, epochs=epochs, fn=FN, shuffle_generator=gen, **kw)


class Recorder(LoopHooks):
    """Records every hook call with the arguments that matter."""

    def __init__(self, log: list) -> None:
        self.log = log

    def wrap_model(self, model):
        self.log.append(("wrap_model", type(model).__name__))
        return model

    def on_run_start(self, state):
        self.log.append(("on_run_start", state.epoch, state.step))

    def on_epoch_start(self, state):
        self.log.append(("on_epoch_start", state.epoch, state.step))

    def before_step(self, state, images, labels):
        self.log.append(("before_step", state.epoch, state.batch, state.step, tuple(images.shape), labels.dtype))
        return images, labels

    def after_step(self, state, loss):
        assert isinstance(loss, float) and math.isfinite(loss)
        self.log.append(("after_step", state.epoch, state.batch, state.step))

    def on_epoch_end(self, state, record):
        self.log.append(("on_epoch_end", state.epoch, record["epoch"], len(state.records)))

    def on_run_end(self, state):
        self.log.append(("on_run_end", state.epoch, state.step))


# --------------------------------------------------------------------------------------------------------------------


def test_hooks_fire_in_order_with_their_arguments():
    log: list = []

    def cb(epoch, record, model):
        log.append(("callback", epoch, sorted(record)))

    x, y = make_data(20)
    loop = make_loop(make_model(), (x, y), epochs=2, batch_size=8, hooks=[Recorder(log)], callbacks=cb)
    records = loop.run()
    want = [("wrap_model", "Sequential"), ("on_run_start", 0, 0)]
    step = 0
    for e in range(2):
        want.append(("on_epoch_start", e, step))
        for b, size in enumerate((8, 8, 4), 1):
            want.append(("before_step", e, b, step, (size, 1, 4, 4), torch.int64))
            step += 1
            want.append(("after_step", e, b, step))
        want.append(("on_epoch_end", e, e + 1, e + 1))
        want.append(("callback", e + 1, ["epoch", "lr", "seconds", "train_loss"]))
    want.append(("on_run_end", 2, 6))
    assert log == want
    assert [r["epoch"] for r in records] == [1, 2] and loop.state.epoch == 2 and loop.state.step == 6


def test_two_hooks_run_in_the_order_given_and_before_step_replaces_the_batch():
    order: list = []
    seen: list = []

    class Zero(LoopHooks):  # SENSEI-style: replace the batch before the step
        def before_step(self, state, images, labels):
            order.append("zero")
            return torch.zeros_like(images), labels

    class Check(LoopHooks):
        def before_step(self, state, images, labels):
            order.append("check")
            assert torch.count_nonzero(images) == 0  # sees what the first hook returned
            return images, labels

    def step(model, images, labels, generator):
        seen.append(float(images.abs().sum()))
        return cross_entropy_step(model, images, labels, generator)

    make_loop(make_model(), epochs=1, hooks=[Zero(), Check()], step=step).run()
    assert order[:2] == ["zero", "check"] and seen == [0.0] * 3


def test_step_returning_logits_records_train_accuracy_and_unlabelled_data_works():
    x, y = make_data(16)

    def step(model, images, labels, generator):
        logits = model(images)
        return F.cross_entropy(logits, labels), logits

    rec = make_loop(make_model(), (x, y), epochs=1, step=step).run()[0]
    assert 0.0 <= rec["train_accuracy"] <= 1.0

    # unlabelled data (an auto-encoder, as train_wct2): prepare gives labels=None, the step ignores them
    ae = nn.Sequential(nn.Flatten(), nn.Linear(16, 16), nn.Unflatten(1, (1, 4, 4)))
    loader = DataLoader(TensorDataset(x), batch_size=8)
    loop = TrainLoop(
        ae, loader, lambda m, a, b, g: F.mse_loss(m(a), a), torch.optim.Adam(ae.parameters()), epochs=1, fn=FN,
        prepare=lambda batch: (batch[0], None),
    )  # fmt: skip
    rec = loop.run()[0]
    assert "train_accuracy" not in rec and rec["train_loss"] > 0


def test_resume_equals_an_uninterrupted_run_bit_for_bit(tmp_path: Path):
    x, y = make_data(40)

    def noisy_step(model, images, labels, generator):  # draws from the step generator and (dropout) the global RNG
        noise = torch.rand(images.shape, generator=generator, device=images.device) * 0.1
        return cross_entropy_step(model, images + noise, labels, generator)

    def build(model_seed: int, checkpoint=None, callbacks=()):
        model = make_model(model_seed, dropout=0.3)
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.7)
        loop = make_loop(model, (x, y), epochs=4, step=noisy_step, optimizer=opt, scheduler=sched, seed=5,
                         checkpoint=checkpoint, callbacks=callbacks)  # fmt: skip
        return model, loop

    full_model, full = build(0)
    full_records = full.run()

    ck = tmp_path / "loop.pt"
    _, first = build(0, checkpoint=ck, callbacks=lambda e, r, m: e == 2)  # "crash" after epoch 2
    assert len(first.run()) == 2
    saved = torch.load(ck, weights_only=True)
    assert saved["format"] == LOOP_STATE_FORMAT and saved["epoch"] == 2 and "rng" in saved

    resumed_model, resumed = build(1)  # other initial weights: everything must come from the file
    resumed.load(ck)
    resumed_records = resumed.run()

    for (k, a), b in zip(full_model.state_dict().items(), resumed_model.state_dict().values(), strict=True):
        assert torch.equal(a, b), k
    drop = ("seconds",)
    assert [{k: v for k, v in r.items() if k not in drop} for r in resumed_records] == [
        {k: v for k, v in r.items() if k not in drop} for r in full_records
    ]
    assert resumed.state.step == full.state.step == 4 * 5
    assert resumed.state.optimizer.param_groups[0]["lr"] == full.state.optimizer.param_groups[0]["lr"]


def test_runs_leave_the_global_rng_and_the_modes_alone():
    model = make_model(dropout=0.5)
    model.eval()
    before = torch.get_rng_state()
    make_loop(model, epochs=1).run()
    assert torch.equal(torch.get_rng_state(), before)
    assert not any(m.training for m in model.modules())


def test_nan_loss_stops_with_the_message_and_leaves_the_weights():
    x, y = make_data(24)
    x[9] = 1e6  # second batch of 8 without shuffling; a finite marker (NaN images are rejected up front since
    # issue 13), on which the step below returns a nan loss
    model = make_model()
    loader = as_loader((x, y), 8, False, None, FN)
    snapshots: list = []

    class Snap(LoopHooks):
        def after_step(self, state, loss):
            snapshots.append({k: v.clone() for k, v in state.model.state_dict().items()})

    def nan_step(m, images, labels, g):
        return cross_entropy_step(m, images, labels, g) + torch.where(images.amax() > 1e3, float("nan"), 0.0)

    loop = TrainLoop(model, loader, nan_step, torch.optim.SGD(model.parameters(), lr=0.1), epochs=1,
                     fn=FN, hooks=[Snap()])  # fmt: skip
    with pytest.raises(FloatingPointError, match=r"test\.loop: training loss is nan at epoch 1, batch 2 of 3; "
                                                 r"the weights were not updated with it\. Try a lower lr"):
        loop.run()
    assert len(snapshots) == 1
    for k, v in model.state_dict().items():
        assert torch.equal(v, snapshots[0][k]), k
    assert all(p.grad is None for p in model.parameters())


def test_early_stop_by_callback_and_by_hook():
    calls: list = []

    def cb(epoch, record, model):
        calls.append(epoch)
        return epoch == 2

    assert len(make_loop(make_model(), epochs=5, callbacks=[cb, lambda e, r, m: calls.append(-e)]).run()) == 2
    assert calls == [1, -1, 2, -2]  # every callback still runs for the stopping epoch

    class StopAfterOne(LoopHooks):
        def on_epoch_end(self, state: LoopState, record):
            state.stop = True

    assert len(make_loop(make_model(), epochs=5, hooks=[StopAfterOne()]).run()) == 1


def test_gradient_clipping_bounds_the_norm():
    norms: list = []

    class Norm(LoopHooks):
        def after_step(self, state, loss):
            g = torch.cat([p.grad.flatten() for p in state.model.parameters()])
            norms.append(float(g.norm()))

    make_loop(make_model(), epochs=1, max_grad_norm=1e-3, hooks=[Norm()]).run()
    assert norms and max(norms) <= 1e-3 * (1 + 1e-4)


def test_wrap_model_is_the_seam_for_ddp():
    seen: list = []

    class Wrapper(nn.Module):  # stands in for DistributedDataParallel
        def __init__(self, module):
            super().__init__()
            self.module = module

        def forward(self, x):
            return self.module(x)

    class Wrap(LoopHooks):
        def wrap_model(self, model):
            return Wrapper(model)

    def step(model, images, labels, generator):
        seen.append(type(model).__name__)
        return cross_entropy_step(model, images, labels, generator)

    model = make_model()
    loop = make_loop(model, epochs=1, hooks=[Wrap()], step=step)
    loop.run()
    assert set(seen) == {"Wrapper"} and loop.state.model is model
    assert set(loop.state_dict()["model"]) == set(model.state_dict())  # checkpoints hold the plain model


def test_plain_user_module_and_dataloader():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3, padding=1)
            self.bn = nn.BatchNorm2d(4)
            self.fc = nn.Linear(4, 3)

        def forward(self, x):
            return self.fc(self.bn(self.conv(x)).relu().mean(dim=(2, 3)))

    x, y = make_data(32)

    def train() -> tuple[nn.Module, list]:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(3)
            net = Net()
        loader = DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True)  # the user's own, no generator
        opt = torch.optim.Adam(net.parameters(), lr=1e-2)
        return net, TrainLoop(net, loader, cross_entropy_step, opt, epochs=3, seed=1, fn=FN).run()

    net, records = train()
    again, _ = train()
    assert [r["epoch"] for r in records] == [1, 2, 3] and all(math.isfinite(r["train_loss"]) for r in records)
    assert all(r["lr"] == pytest.approx(1e-2) for r in records)
    # its shuffling draws from the global RNG, which the loop seeds per epoch: reproducible too
    for (k, a), b in zip(net.state_dict().items(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b), k


def test_bad_arguments_and_bad_checkpoints(tmp_path: Path):
    model = make_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loader = as_loader(make_data(), 8, False, None, FN)
    with pytest.raises(TypeError, match="test.loop: model must be a torch.nn.Module"):
        TrainLoop("nope", loader, cross_entropy_step, opt, epochs=1, fn=FN)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="epochs"):
        TrainLoop(model, loader, cross_entropy_step, opt, epochs=0, fn=FN)
    with pytest.raises(TypeError, match="hooks\\[0\\]"):
        TrainLoop(model, loader, cross_entropy_step, opt, epochs=1, fn=FN, hooks=[object()])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="scalar loss"):
        TrainLoop(model, loader, lambda m, a, b, g: m(a), opt, epochs=1, fn=FN).run()
    loop = TrainLoop(model, loader, cross_entropy_step, opt, epochs=1, fn=FN)
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        loop.load(tmp_path / "missing.pt")
    torch.save({"a": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a pyrepair loop state"):
        loop.load(tmp_path / "other.pt")
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(CheckpointError, match="not a pyrepair loop state"):
        loop.load(tmp_path / "junk.pt")


def test_epoch_end_hook_adds_to_the_record_the_callbacks_see():
    seen: list = []

    class History(LoopHooks):  # DARE-style: record something per epoch
        def on_epoch_end(self, state, record):
            record["weight_norm"] = float(sum(p.detach().norm() for p in state.model.parameters()))

    records = make_loop(make_model(), epochs=2, hooks=[History()],
                        callbacks=lambda e, r, m: seen.append(r["weight_norm"])).run()  # fmt: skip
    assert seen == [r["weight_norm"] for r in records] and len(seen) == 2
