# SPDX-License-Identifier: GPL-3.0-or-later
"""The eyes: the eyewhite as the whole eye opening under the iris and lashes
(clean white shaded like its visible part at the same depth below the upper
lid), the iris as a full ellipse under the lids."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from ...model.document import Canvas, Layer, layer_id
from .paint import _bbox, _ellipse, _grown


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
    hole = full_hole[grown.y : grown.y + h, grown.x : grown.x + w]
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


def _complete_iris(layer: Layer, canvas: Canvas, covered: np.ndarray, opening: np.ndarray | None) -> Layer:
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


# The closed lid drawn from the open eye, as data: where the lid line runs (of the
# way from the eye's top to its bottom, at each column), how thick it is (of the
# upper lash band's thickness, and its limits of the eye height), and how thin the
# inner end gets (of the outer end).  Measured on the artists' own blinks
# (bench/bench_real.py, 7 pairs): a lid at 0.58 of the way left two of them
# below the open eye's score; from 0.66 to 0.74 none is.
LID_OPENING_SHARE = 0.6  # of the eye's width the opening must span to bound the lid
LID_PAST_OPENING = 0.15  # of the opening's width: how far the lid runs on past its corners
LID_MAX_BOW = 0.2  # of the eye height: how far a closed lid's middle may sag or rise
CLOSED_LID = {"depth": 0.7, "of_lash": 1.0, "min": 0.07, "max": 0.22, "inner": 0.6}


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    inv = (~mask).astype(np.uint8)
    padded = cv2.copyMakeBorder(inv, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=1)
    ff = np.zeros((padded.shape[0] + 2, padded.shape[1] + 2), np.uint8)
    cv2.floodFill(padded, ff, (0, 0), 2)
    return mask | (padded[1:-1, 1:-1] == 1)


def eye_region(parts: Sequence[Layer], canvas: Canvas) -> np.ndarray:
    """The eye as a whole (full-canvas mask): every visible pixel of its parts
    (eyewhite, iris, lashes), small gaps between them closed, holes filled."""
    region = np.zeros((canvas.height, canvas.width), bool)
    for part in parts:
        region |= part.full_mask(canvas, visible=True)
    if not region.any():
        return region
    closed = cv2.morphologyEx(region.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    return _fill_holes(closed.astype(bool))


def make_closed_lid(parts: Sequence[Layer], canvas: Canvas, side: str, centre_x: float) -> Layer | None:
    """A closed eye drawn from the open one (a generated layer, role "closed"):
    the upper lash band brought down onto a lid line across the eye, as thick
    as the lash draws it (thinner towards the nose) and of the lash's colour,
    a smooth curve in the eye's lower part (an upper lid come down to meet
    the lower one).  None without an eye."""
    spec = CLOSED_LID
    region = eye_region(parts, canvas)
    box = _bbox(region)
    if box is None:
        return None
    x0, y0, x1, y1 = box
    if x1 - x0 < 4 or y1 - y0 < 3:
        return None
    sub = region[y0:y1, x0:x1]
    cols = np.nonzero(sub.any(axis=0))[0]
    top = np.argmax(sub[:, cols], axis=0).astype(np.float64)
    bottom = (sub.shape[0] - np.argmax(sub[::-1, cols], axis=0)).astype(np.float64)
    height = bottom - top
    body = height >= 0.3 * height.max()
    eye_h = float(np.median(height[body]))
    # the lid spans the eye's opening (its white and iris), a little past it at
    # the corners: a lash wing rising past a corner is no part of its course
    span_lo, span_hi = float(cols.min()), float(cols.max() + 1)
    opening = np.zeros_like(sub)
    for p in parts:
        if p.tag in ("eyewhite", "irides") and p.role == "":
            opening |= p.full_mask(canvas, visible=True)[y0:y1, x0:x1]
    open_cols = np.nonzero(opening.any(axis=0))[0]
    # (where the white and iris were found across most of the eye: a lone iris
    # says little of where the corners are)
    wide_open = len(open_cols) >= LID_OPENING_SHARE * (cols.max() + 1 - cols.min())
    over_opening = np.isin(cols, open_cols)
    if wide_open and (body & over_opening).sum() >= 3:
        body &= over_opening
        reach = LID_PAST_OPENING * (open_cols.max() + 1 - open_cols.min())
        span_lo = max(span_lo, open_cols.min() - reach)
        span_hi = min(span_hi, open_cols.max() + 1 + reach)
    xs = cols[body].astype(np.float64)
    deg = 2 if body.sum() >= 5 else 1 if body.sum() >= 2 else 0
    ys = (top + spec["depth"] * height)[body]
    coef = np.polyfit(xs, ys, deg)
    if deg == 2:
        # a closed lid is a gentle curve: its bow across the eye at most
        # LID_MAX_BOW of the eye height (a lash wing raising the region's top at
        # one corner would bend it into a U)
        half = 0.5 * max(float(xs.max() - xs.min()), 1.0)
        limit = LID_MAX_BOW * eye_h / half**2
        if abs(coef[0]) > limit:
            a = float(np.clip(coef[0], -limit, limit))
            coef = np.concatenate([[a], np.polyfit(xs, ys - a * xs**2, 1)])
    lid = np.poly1d(coef)
    lash = next((p for p in parts if p.tag == "eyelash" and p.role == ""), None)
    lash_mask = lash.full_mask(canvas, visible=True)[y0:y1, x0:x1] if lash is not None else sub
    rows = np.arange(sub.shape[0])[:, None]
    upper_band = lash_mask & (rows <= np.interp(np.arange(sub.shape[1]), cols, top + 0.5 * height)[None, :])
    thick = upper_band.sum(axis=0).astype(np.float64)
    k = max(1, len(cols) // 8)
    thick = np.convolve(np.pad(thick, k, mode="edge"), np.ones(2 * k + 1) / (2 * k + 1), "valid")
    # colour: the lash's darker half (its line, not its anti-aliased rim)
    if lash is not None:
        px = lash.full_canvas(canvas)[y0:y1, x0:x1, :3][lash_mask]
    else:
        px = np.concatenate(
            [
                full[y0:y1, x0:x1, :3][sub & (full[y0:y1, x0:x1, 3] > 128)]
                for full in (p.full_canvas(canvas) for p in parts)
            ]
        )
    if not len(px):
        return None
    lum = px.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    colour = np.median(px[lum <= np.median(lum)], axis=0).astype(np.uint8)
    # the line: along the lid curve, its thickness from the lash, thinner to the nose
    ss = 4
    cx = np.arange(sub.shape[1], dtype=np.float64) + 0.5
    span = max(span_hi - 1.0 - span_lo, 1.0)
    u = np.clip((cx - span_lo) / span, 0.0, 1.0)
    outer = u if (x0 + 0.5 * (x1 - x0)) > centre_x else 1.0 - u  # 0 at the nose, 1 outside
    limit_lo, limit_hi = spec["min"] * eye_h, spec["max"] * eye_h
    t = np.clip(spec["of_lash"] * thick, limit_lo, limit_hi)
    t *= (spec["inner"] + (1.0 - spec["inner"]) * outer) * np.sqrt(np.clip(np.sin(np.pi * u), 0.15, 1.0))
    t = np.maximum(t, 0.6)
    yc = lid(cx)
    pad = int(np.ceil(limit_hi)) + 2
    h = sub.shape[0] + 2 * pad
    w = sub.shape[1]
    top_edge = np.stack([cx * ss, (yc - t / 2 + pad) * ss], axis=1)
    bottom_edge = np.stack([cx * ss, (yc + t / 2 + pad) * ss], axis=1)[::-1]
    inside = (cx >= span_lo) & (cx <= span_hi)
    poly = np.vstack([top_edge[inside], bottom_edge[inside[::-1]]]).astype(np.int32)
    big = np.zeros((h * ss, w * ss), np.uint8)
    cv2.fillPoly(big, [poly], 255, cv2.LINE_AA)
    alpha = cv2.resize(big, (w, h), interpolation=cv2.INTER_AREA)
    if not (alpha > 0).any():
        return None
    img = np.zeros((h, w, 4), np.uint8)
    img[..., :3] = colour
    img[..., 3] = alpha
    img[alpha == 0] = 0
    return Layer(
        id=layer_id("eyelash", side, role="closed"),
        tag="eyelash",
        side=side,
        role="closed",
        image=img,
        x=int(x0),
        y=int(y0 - pad),
        generated=True,
        visible_mask=np.zeros((h, w), bool),
    )
