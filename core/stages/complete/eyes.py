# SPDX-License-Identifier: GPL-3.0-or-later
"""The eyes: the eyewhite as the whole eye opening under the iris and lashes
(clean white shaded like its visible part at the same depth below the upper
lid), the iris as a full ellipse under the lids."""
from __future__ import annotations

from typing import Optional

import numpy as np

from ...model.document import Canvas, Layer
from .paint import (_bbox, _ellipse, _grown)


def _complete_eyewhite(layer: Layer, canvas: Canvas, add: np.ndarray, repaint: np.ndarray) -> Layer:
    """The eye opening as clean white: hidden and rim pixels take the colour the
    visible clean white has at the same depth below the upper lid (keeps the lid's
    shadow band without the iris's colours)."""
    own = layer.full_mask(canvas)
    grown = _grown(layer, canvas, add, fill_rgb=(255, 255, 255), repaint=repaint)
    img = grown.image
    vis = grown.visible_mask.copy()
    hole = np.zeros(vis.shape, bool)
    full_hole = (add & ~own) | (repaint & own)
    h, w = img.shape[:2]
    hole = full_hole[grown.y:grown.y + h, grown.x:grown.x + w]
    rgb = img[..., :3].astype(np.float32)
    lum = rgb @ np.float32([0.299, 0.587, 0.114])
    sat = rgb.max(axis=2) - rgb.min(axis=2)
    clean = vis & ~hole & (img[..., 3] == 255)
    if clean.sum() >= 4:
        ref = float(np.percentile(lum[clean], 90))
        clean &= (lum >= ref - 60) & (sat <= 60)
    if clean.sum() < 4:
        return grown
    # shading follows the upper lid: colour as a function of depth below the
    # opening's top edge in each column (the lid's shadow band, white below)
    opening = img[..., 3] > 0
    top = np.where(opening.any(axis=0), np.argmax(opening, axis=0), 0)
    depth = np.arange(h)[:, None] - top[None, :]
    d_clean = depth[clean]
    levels = np.unique(d_clean)
    prof = np.array([np.median(rgb[clean & (depth == d)], axis=0) for d in levels], np.float32)
    ys, xs = np.nonzero(hole)
    dd = depth[ys, xs]
    table = np.stack([np.interp(dd, levels, prof[:, c]) for c in range(3)], axis=1)
    img = img.copy()
    img[ys, xs, :3] = np.clip(table + 0.5, 0, 255).astype(np.uint8)
    grown.image = img
    return grown



def _complete_iris(layer: Layer, canvas: Canvas, covered: np.ndarray,
                   opening: Optional[np.ndarray]) -> Layer:
    """A full iris ellipse; it may only show where the lids cover it or where
    the eye opening (its clip layer) hides it."""
    vis = layer.full_mask(canvas)
    x0, y0, x1, y1 = _bbox(vis)
    rx = 0.5 * (x1 - x0)
    ry = max(0.5 * (y1 - y0), 1.2 * rx)
    cy = y1 - ry  # lids hide the top more than the bottom
    disc = _ellipse(vis.shape, (0.5 * (x0 + x1), cy), (rx, ry))
    hidden = covered if opening is None else (covered | ~opening)
    return _grown(layer, canvas, disc & hidden)

