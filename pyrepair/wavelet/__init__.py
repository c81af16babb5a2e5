"""Haar wavelets and WCT-based style transfer (DeepRepair's style operations).

Placeholder on the WCT2 branch: the full package (Haar kernels, ``wct``, pixel-mode ``style_transfer``) lands with
the wavelet branch. Here it only re-exports the WCT2 network entry point.
"""

from __future__ import annotations

from .wct2 import wct2_transfer

__all__ = ["wct2_transfer"]
