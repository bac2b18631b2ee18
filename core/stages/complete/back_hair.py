# SPDX-License-Identifier: GPL-3.0-or-later
"""Where the hidden back hair is painted: the hair mass behind the head, face
and neck, its hidden bottom edge continuing the visible one smoothly and
outlined like it."""

from __future__ import annotations


import cv2
import numpy as np

from ...model.document import Canvas, Layer
from .paint import _bbox, _grown, _hull
from .outlines import _outline_new_edges, _smooth_region


def _complete_back_hair(
    layer: Layer, canvas: Canvas, covered: np.ndarray, head: np.ndarray, body: np.ndarray, chin_y: int
) -> Layer:
    """Hair behind the head: the hull of the hair and the head, cut at a bottom
    contour that continues the hair's visible bottom edge smoothly across the
    hidden columns (behind the neck no lower than the chin, or than the hair
    shows near it: no dark slab behind the neck and shoulders that a swaying
    lock would uncover).  The new contour gets the hair's own outline."""
    vis = layer.full_mask(canvas)
    bottom = _bbox(vis)[3]
    shape = _hull(vis | head)
    shape[bottom:] = False
    limit = _hair_bottom(vis, covered, body, chin_y)
    rows = np.arange(canvas.height)[:, None]
    shape &= rows <= limit[None, :]
    add = _smooth_region(shape & covered, vis, covered)
    grown = _grown(layer, canvas, add)
    return _outline_new_edges(layer, grown, canvas, covered)


def _hair_bottom(vis: np.ndarray, covered: np.ndarray, body: np.ndarray, chin_y: int) -> np.ndarray:
    """Per column, the lowest row hidden hair may reach.  Columns whose lowest
    visible hair pixel is the hair's real edge (nothing in front just below it)
    keep it; the others get a line between the nearest such columns, smoothed (no
    staircase), and no lower than the chin where the `body` (neck, clothes) shows
    under the chin: no dark slab behind the neck that a swaying lock would uncover."""
    h, w = vis.shape
    cols = np.arange(w)
    has = vis.any(axis=0)
    low = np.where(has, h - 1 - np.argmax(vis[::-1], axis=0), -1)
    # a front part right below the lowest visible pixel: the hair goes on under it
    reach = max(2, int(round(0.004 * max(h, w))))
    near = cv2.dilate(covered.astype(np.uint8), np.ones((reach + 1, 1), np.uint8), anchor=(0, 0)) > 0
    below = np.clip(low + 1, 0, h - 1)
    edge = has & ((low + 1 >= h) | ~near[below, cols])
    if edge.sum() >= 2:
        line = np.interp(cols, cols[edge], low[edge].astype(np.float64))
    else:  # no visible bottom edge: down to the chin, or as low as hair shows
        line = np.maximum(low, chin_y).astype(np.float64)
    # rows of the body under the chin, per column: is there any above the line?
    body_rows = np.where(body, np.arange(h)[:, None], h)
    body_rows[: max(0, min(h, chin_y + 1))] = h
    first_body = body_rows.min(axis=0)
    capped = ~edge & (first_body <= line)
    limit = np.where(capped, np.minimum(line, chin_y), line)
    if capped.any():  # round the corners where the chin cuts the line off
        win = max(3, int(0.03 * w) | 1)
        smooth = np.convolve(np.pad(limit, win // 2, mode="edge"), np.ones(win) / win, mode="valid")
        near_cap = cv2.dilate(capped.astype(np.uint8)[None], np.ones((1, win), np.uint8))[0] > 0
        limit = np.where(near_cap & ~edge, smooth, limit)
    return np.floor(limit + 0.5).astype(np.int64)
