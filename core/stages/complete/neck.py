# SPDX-License-Identifier: GPL-3.0-or-later
"""The neck: up under the chin and down under the collar, its side outlines running on."""

from __future__ import annotations


import numpy as np

from ...model.document import Canvas, Layer
from ..landmarks import FaceLandmarks
from .paint import _bbox, _grown
from .outlines import _outline_new_edges


def _complete_neck(layer: Layer, canvas: Canvas, lm: FaceLandmarks, covered: np.ndarray) -> Layer:
    vis = layer.full_mask(canvas)
    x0, y0, x1, y1 = _bbox(vis)
    span = max(lm.chin[1] - 0.25 * (lm.eye_l[1] + lm.eye_l[3] + lm.eye_r[1] + lm.eye_r[3]), 4)
    # column of the neck's width, from well under the chin to below the collar
    top_rows = vis[y0 : y0 + max(2, (y1 - y0) // 5)]
    cols = np.nonzero(top_rows.any(axis=0))[0]
    cx0, cx1 = int(cols.min()), int(cols.max()) + 1
    col = np.zeros_like(vis)
    col[max(0, int(y0 - 0.6 * span)) : min(canvas.height, int(y1 + 0.3 * span)), cx0:cx1] = True
    # its outline runs on up the sides (a turning head shows them)
    return _outline_new_edges(layer, _grown(layer, canvas, col & covered), canvas, covered, sides_only=True)
