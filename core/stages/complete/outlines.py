# SPDX-License-Identifier: GPL-3.0-or-later
"""Outlines of completed parts: new edges drawn in the part's own line style,
and outline pieces a front part took in the input (a lock's end over the back
hair's edge, the face over the neck's sides) moved back to their own part."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import cv2
import numpy as np

from ...model.document import Canvas, Layer
from .paint import _bbox, _source_pixels


def _smooth_region(add: np.ndarray, own: np.ndarray, covered: np.ndarray) -> np.ndarray:
    """`add` without specks and notches: opened and closed a little, then
    only its parts that touch the layer's own pixels, still only where covered."""
    if not add.any():
        return add
    box = _bbox(add | own)
    pad = 6
    x0, y0 = max(0, box[0] - pad), max(0, box[1] - pad)
    x1, y1 = min(add.shape[1], box[2] + pad), min(add.shape[0], box[3] + pad)
    a = add[y0:y1, x0:x1].astype(np.uint8)
    o = own[y0:y1, x0:x1]
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    a = cv2.morphologyEx(a, cv2.MORPH_OPEN, disc)
    a = cv2.morphologyEx(a | o.astype(np.uint8), cv2.MORPH_CLOSE, disc)
    a = a.astype(bool) & covered[y0:y1, x0:x1] & ~o
    # keep pieces connected to the visible hair (no floating islands)
    n, labels = cv2.connectedComponents((a | o).astype(np.uint8), connectivity=8)
    keep = np.zeros(n, bool)
    keep[np.unique(labels[o])] = True
    keep[0] = False
    out = np.zeros_like(add)
    out[y0:y1, x0:x1] = a & keep[labels]
    return out


def _line_style(
    rgba: np.ndarray, own: np.ndarray, outside: np.ndarray
) -> tuple[np.ndarray, float, np.ndarray] | None:
    """The part's outline colour, width (px) and pixels from its visible edge
    against `outside` (the background), or None when that edge is not outlined."""
    o8 = own.astype(np.uint8)
    edge = own & (cv2.dilate(outside.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0)
    if edge.sum() < 12:
        return None
    lab = cv2.cvtColor(np.ascontiguousarray(rgba[..., :3]), cv2.COLOR_RGB2LAB).astype(np.float32)
    src = _source_pixels(rgba, own)
    if not src.any():
        return None
    fill_l = float(np.median(lab[..., 0][src]))
    dark = own & (lab[..., 0] < 0.7 * fill_l - 5) & (rgba[..., 3] >= 128)
    # edge pixels are mixed with the background: the line may start a pixel or two in
    near_dark = cv2.dilate(dark.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    if near_dark[edge].mean() < 0.5:
        return None
    # the dark band along the edge: its area over the edge's length is its width
    inside = cv2.distanceTransform(np.pad(o8, 1), cv2.DIST_L2, 3)[1:-1, 1:-1]
    band = dark & (inside <= 0.02 * max(own.shape) + 1)
    n, labels = cv2.connectedComponents(band.astype(np.uint8), connectivity=8)
    touching = np.zeros(n, bool)
    rim = cv2.dilate(edge.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    touching[np.unique(labels[rim & band])] = True
    touching[0] = False
    band = touching[labels]
    width = float(np.clip(band.sum() / max(edge.sum(), 1), 1.0, 0.012 * max(own.shape) + 1))
    colour = np.median(
        rgba[..., :3][band & (rgba[..., 3] >= 250)]
        if (band & (rgba[..., 3] >= 250)).any()
        else rgba[..., :3][band],
        axis=0,
    )
    return colour.astype(np.float32), width, band


def _inner_distance(alpha: np.ndarray, x0: int, y0: int, canvas: Canvas, pad: int) -> np.ndarray:
    """Distance of each pixel of a crop (at x0, y0) inside `alpha` to its outside;
    the canvas borders are not edges."""
    h, w = alpha.shape
    a8 = cv2.copyMakeBorder(alpha.astype(np.uint8), pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    if x0 > 0:
        a8[:, :pad] = 0
    if y0 > 0:
        a8[:pad] = 0
    if x0 + w < canvas.width:
        a8[:, -pad:] = 0
    if y0 + h < canvas.height:
        a8[-pad:] = 0
    return cv2.distanceTransform(a8, cv2.DIST_L2, 5)[pad:-pad, pad:-pad]


def _row_distance(alpha: np.ndarray, reach: int) -> np.ndarray:
    """Distance of each pixel inside `alpha` to its outside along its row (1 next
    to it), up to `reach` + 1."""
    dist = np.full(alpha.shape, float(reach + 1), np.float32)
    a8 = alpha.astype(np.uint8)
    for r in range(reach, 0, -1):  # eroded r px sideways: what goes is <= r px in
        inner = cv2.erode(
            a8, np.ones((1, 2 * r + 1), np.uint8), borderType=cv2.BORDER_CONSTANT, borderValue=0
        )
        dist[alpha & (inner == 0)] = r
    return dist


def _outline_new_edges(
    before: Layer, after: Layer, canvas: Canvas, covered: np.ndarray, sides_only: bool = False
) -> Layer:
    """Draws the part's outline along the edges of its painted-in (hidden) pixels
    that face the outside, so a revealed edge looks like the visible ones
    (`sides_only`: only its left and right edges, as for a neck)."""
    if after is before:
        return after
    x0, y0 = after.x, after.y
    h, w = after.image.shape[:2]
    img = after.image.copy()
    alpha = img[..., 3] > 0
    own = np.zeros((h, w), bool)
    bh, bw = before.image.shape[:2]
    own[before.y - y0 : before.y - y0 + bh, before.x - x0 : before.x - x0 + bw] = before.image[..., 3] > 0
    added = alpha & ~own
    if not added.any():
        return after
    cov = covered[y0 : y0 + h, x0 : x0 + w]
    style = _line_style(img, own, ~alpha & ~cov)
    if style is None:
        return after
    colour, width, _ = style
    if sides_only:
        dist = _row_distance(alpha, int(np.ceil(width)) + 1)
    else:
        dist = _inner_distance(alpha, x0, y0, canvas, int(np.ceil(width)) + 2)
    t = np.clip(width + 1.0 - dist, 0.0, 1.0) * added
    if not (t > 0).any():
        return after
    rgb = img[..., :3].astype(np.float32)
    img[..., :3] = np.clip(rgb * (1 - t[..., None]) + colour * t[..., None] + 0.5, 0, 255).astype(np.uint8)
    after.image = img
    return after


def _claim_outline(
    before: Layer, back: Layer, front: Layer, between: Sequence[Layer], canvas: Canvas, covered: np.ndarray
) -> tuple[Layer, Layer]:
    """Pieces of the back part's outline that a front part (a lock over the hair's
    edge, the face over the neck) took in the input move back into the back part: they run on along its
    completed edge, and would float off it when the front part moves.  Only
    opaque pixels no layer in between paints over move, so the image at rest is
    unchanged."""
    x0, y0 = back.x, back.y
    h, w = back.image.shape[:2]
    sl = (slice(y0, y0 + h), slice(x0, x0 + w))
    alpha = back.image[..., 3] > 0
    fr = front.full_canvas(canvas)[sl]
    fvis = front.full_mask(canvas, visible=True)[sl] & (fr[..., 3] == 255) & alpha
    if not fvis.any():
        return back, front
    orig = before.full_canvas(canvas)[sl]
    own = orig[..., 3] > 0
    style = _line_style(orig, own, ~own & ~covered[sl])
    if style is None:
        return back, front
    colour, width, band = style
    dist = _inner_distance(alpha, x0, y0, canvas, int(np.ceil(width)) + 2)
    inky = np.abs(fr[..., :3].astype(np.float32) - colour).max(axis=2) <= 48
    to_band = cv2.distanceTransform((~band).astype(np.uint8), cv2.DIST_L2, 3)
    # the front part's own outline lies along its fill; what it took runs on beyond
    front_fill = _source_pixels(fr, front.full_mask(canvas, visible=True)[sl] & (fr[..., 3] == 255))
    to_fill = cv2.distanceTransform((~front_fill).astype(np.uint8), cv2.DIST_L2, 3)
    move = fvis & inky & (dist <= width + 1.5) & (to_band <= 3 * width) & (to_fill > width + 3)
    if not move.any():
        return back, front
    # with the anti-aliased pixels around them (mixes with the background)
    fany = front.full_mask(canvas, visible=True)[sl] & (fr[..., 3] > 0)
    near = cv2.dilate(move.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    move |= near & fany & (to_fill > width + 3) & (fvis | ~alpha)
    for layer in between:
        move &= ~(layer.full_mask(canvas)[sl])
    if not move.any():
        return back, front
    img = back.image.copy()
    img[move] = fr[move]
    vis = back.visible_mask.copy() if back.visible_mask is not None else own.copy()
    vis[move] = True
    back = replace(back, image=img, visible_mask=vis)
    fx, fy = front.x, front.y
    ys, xs = np.nonzero(move)
    ys, xs = ys + y0 - fy, xs + x0 - fx
    fimg = front.image.copy()
    fimg[ys, xs] = 0
    fvis_mask = front.visible_mask.copy() if front.visible_mask is not None else fimg[..., 3] > 0
    fvis_mask[ys, xs] = False
    front = replace(front, image=fimg, visible_mask=fvis_mask)
    return back, front
