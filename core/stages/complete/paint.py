# SPDX-License-Identifier: GPL-3.0-or-later
"""Painting what a part hides: the part's own colours (near its commonest
colour, off its rim: no strokes, no background) blended over the hole on a
downscaled crop, or an `inpaint` hook (core/backends) when one is set; growing
a layer by pixels; and moving anti-aliased rims into the front parts (a closed
eye or a swaying fringe leaves no outline ghost on the skin)."""

from __future__ import annotations

import contextvars
from collections.abc import Sequence
from dataclasses import replace

import cv2
import numpy as np

from ...model.document import Canvas, Layer

LIGHT_STROKE_OVER_MAIN = 10  # Lab L (0..255) over a part's main colour that makes a light stroke
INPAINT_MAX_SIDE = 192  # inpainting runs on crops no larger than this (flat colours survive it)

# An optional painter for hidden regions (core/backends): hook(rgba crop, hole, layer)
# -> RGBA crop where only hole pixels changed.  Set by complete_layers(inpaint=...).
_INPAINT_HOOK: contextvars.ContextVar = contextvars.ContextVar("i2r_inpaint_hook", default=None)


def _hull(mask: np.ndarray) -> np.ndarray:
    pts = cv2.findNonZero(mask.astype(np.uint8))
    out = np.zeros(mask.shape, np.uint8)
    if pts is not None and len(pts) >= 3:
        cv2.fillConvexPoly(out, cv2.convexHull(pts), 1)
    return out.astype(bool)


def _ellipse(shape, centre, axes) -> np.ndarray:
    out = np.zeros(shape, np.uint8)
    cv2.ellipse(
        out,
        (int(round(centre[0])), int(round(centre[1]))),
        (max(1, int(round(axes[0]))), max(1, int(round(axes[1])))),
        0,
        0,
        360,
        1,
        -1,
    )
    return out.astype(bool)


def _bbox(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def _source_pixels(rgba: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Known pixels that carry the part's own colours: opaque, off the part's rim and
    near its commonest colour (no strokes, no rims mixed with the background or
    other parts, so nothing grey or dark is copied into hidden areas)."""
    if not known.any():
        return known
    opaque = known & (rgba[..., 3] >= 250)
    pool = opaque if opaque.sum() >= 8 else known
    # pixels on the part's own rim are mixed with whatever is next to it
    inner = cv2.erode(known.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    if (pool & inner).sum() >= 8:
        pool = pool & inner
    lab = cv2.cvtColor(np.ascontiguousarray(rgba[..., :3]), cv2.COLOR_RGB2LAB).astype(np.float32)
    px = lab[pool]
    q = (px // 12).astype(np.int32)
    codes = (q[:, 0] << 10) | (q[:, 1] << 5) | q[:, 2]
    mode = px[codes == np.bincount(codes).argmax()].mean(axis=0)
    # the part's own shades: lighter or darker versions of its main colour (cel
    # shadows and highlights), not strokes far darker than it or other hues
    d_ab = np.hypot(lab[..., 1] - mode[1], lab[..., 2] - mode[2])
    d_l = lab[..., 0] - mode[0]
    src = pool & (d_ab <= 18 + 0.25 * np.abs(d_l)) & (d_l >= -0.35 * mode[0] - 10) & (d_l <= 60)
    # nor light strokes: a thin run of pixels lighter than the main colour (a white
    # rim line between a lock of hair and the cheek) is a line, not a highlight
    light = src & (d_l > LIGHT_STROKE_OVER_MAIN)
    if light.any():
        wide = cv2.morphologyEx(light.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)).astype(
            bool
        )
        kept = src & ~(light & ~wide)
        if kept.sum() >= 8:
            src = kept
    return src if src.sum() >= 8 else pool


def _paint_hidden(rgba: np.ndarray, src: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """Colours for `hole` pixels from `src` pixels (crop-sized arrays): a smooth
    blend of the nearby source colours (normalised convolution at a coarse scale),
    so hidden areas get the part's local tone without its strokes."""
    h, w = src.shape
    rgb = rgba[..., :3].astype(np.float32)
    factor = min(1.0, INPAINT_MAX_SIDE / max(h, w))
    sw, sh = max(2, int(round(w * factor))), max(2, int(round(h * factor)))
    weight = src.astype(np.float32)
    if factor < 1.0:
        small_w = cv2.resize(weight, (sw, sh), interpolation=cv2.INTER_AREA)
        small_c = cv2.resize(rgb * weight[..., None], (sw, sh), interpolation=cv2.INTER_AREA)
    else:
        small_w, small_c = weight, rgb * weight[..., None]
    # nearest source colour everywhere first (far from any source that is all we know)
    have = small_w > 0.05
    if not have.any():
        colour = rgb[src].mean(axis=0) if src.any() else np.zeros(3, np.float32)
        return np.broadcast_to(np.clip(colour + 0.5, 0, 255).astype(np.uint8), (h, w, 3)).copy()
    base = small_c / np.maximum(small_w, 1e-6)[..., None]
    _, labels = cv2.distanceTransformWithLabels(
        (~have).astype(np.uint8), cv2.DIST_L2, 3, labelType=cv2.DIST_LABEL_PIXEL
    )
    nearest = base[have][labels - 1]
    sigma = max(1.5, 0.04 * max(sw, sh))
    blur_w = cv2.GaussianBlur(small_w, (0, 0), sigma)
    blur_c = cv2.GaussianBlur(small_c, (0, 0), sigma)
    smooth = blur_c / np.maximum(blur_w, 1e-6)[..., None]
    t = np.clip(blur_w / 0.15, 0.0, 1.0)[..., None]  # trust the blend where sources are near
    painted = smooth * t + nearest * (1.0 - t)
    if factor < 1.0:
        painted = cv2.resize(painted, (w, h), interpolation=cv2.INTER_LINEAR)
    return np.clip(painted + 0.5, 0, 255).astype(np.uint8)


def _grown(
    layer: Layer,
    canvas: Canvas,
    add: np.ndarray,
    fill_rgb: tuple[int, int, int] | None = None,
    inpaint: bool = True,
    not_sources: np.ndarray | None = None,
    repaint: np.ndarray | None = None,
) -> Layer:
    """The layer with `add` (full-canvas mask) painted in; visible_mask kept.
    `not_sources` (full canvas) marks pixels the inpainting must not copy from;
    `repaint` marks own pixels that are painted over too (rims mixed with a part
    in front, see `_unmix_rims`)."""
    own = layer.full_mask(canvas)
    add = add & ~own
    if repaint is not None:
        add = add | (repaint & own)
    if not add.any():
        return layer
    box = _bbox(own | add)
    x0, y0, x1, y1 = box
    h, w = y1 - y0, x1 - x0
    img = np.zeros((h, w, 4), np.uint8)
    lh, lw = layer.image.shape[:2]
    ox, oy = layer.x - x0, layer.y - y0
    img[oy : oy + lh, ox : ox + lw] = layer.image
    hole = add[y0:y1, x0:x1]
    if fill_rgb is not None or not inpaint:
        colour = fill_rgb if fill_rgb is not None else _main_colour(layer)
        img[hole, :3] = colour
    else:
        known = own[y0:y1, x0:x1] & ~hole
        if not_sources is not None:
            known = known & ~not_sources[y0:y1, x0:x1]
        hook = _INPAINT_HOOK.get()
        if hook is not None:
            painted = hook(img, hole, layer)
            img[hole, :3] = painted[hole, :3]
        else:
            src = _source_pixels(img, known)
            painted = _paint_hidden(img, src, hole)
            img[hole, :3] = painted[hole]
    img[hole, 3] = 255
    vis = np.zeros((h, w), bool)
    if layer.visible_mask is not None:
        vis[oy : oy + lh, ox : ox + lw] = layer.visible_mask
    return replace(layer, image=img, x=x0, y=y0, visible_mask=vis)


def _with_pixels(
    layer: Layer, box: tuple[int, int, int, int], mask: np.ndarray, rgb: np.ndarray, alpha: np.ndarray
) -> Layer:
    """The layer with extra pixels (box-local `mask`, colours, alpha) where it is
    empty; its crop grows to hold them and they are not visible."""
    bx0, by0, bx1, by1 = box
    lh, lw = layer.image.shape[:2]
    x0, y0 = min(layer.x, bx0), min(layer.y, by0)
    x1, y1 = max(layer.x + lw, bx1), max(layer.y + lh, by1)
    img = np.zeros((y1 - y0, x1 - x0, 4), np.uint8)
    vis = np.zeros((y1 - y0, x1 - x0), bool)
    img[layer.y - y0 : layer.y - y0 + lh, layer.x - x0 : layer.x - x0 + lw] = layer.image
    if layer.visible_mask is not None:
        vis[layer.y - y0 : layer.y - y0 + lh, layer.x - x0 : layer.x - x0 + lw] = layer.visible_mask
    sub = img[by0 - y0 : by1 - y0, bx0 - x0 : bx1 - x0]
    put = mask & (sub[..., 3] == 0)
    sub[put, :3] = rgb[put]
    sub[put, 3] = alpha[put]
    tx0, ty0, tx1, ty1 = _bbox((img[..., 3] > 0) | vis) or (0, 0, 1, 1)
    img, vis = img[ty0:ty1, tx0:tx1].copy(), vis[ty0:ty1, tx0:tx1].copy()
    x0, y0 = x0 + tx0, y0 + ty0
    return replace(layer, image=img, x=x0, y=y0, visible_mask=vis)


def _unmix_rims(
    before: Layer, after: Layer, fronts: Sequence[Layer], rim: np.ndarray, canvas: Canvas
) -> tuple[Layer, list[Layer]]:
    """Anti-aliased rim pixels of a back part mixed with parts in front of it.

    `after` holds clean colours S (painted) at the `rim` pixels, which showed colour
    C in the input.  Each rim pixel becomes S in the back part plus a pixel of the
    nearest front part with colour F' and alpha a such that F' over S gives C back:
    the back part is clean (no outline ghost where a feature moves or closes) and
    the image is unchanged at rest.  Returns (back layer, front layers)."""
    fronts = list(fronts)
    if not rim.any() or not fronts:
        return after, fronts
    box = _bbox(rim)
    pad = 4
    x0, y0 = max(0, box[0] - pad), max(0, box[1] - pad)
    x1, y1 = min(canvas.width, box[2] + pad), min(canvas.height, box[3] + pad)
    sl = (slice(y0, y1), slice(x0, x1))
    rim_c = rim[sl]
    orig = before.full_canvas(canvas)[sl]
    done = after.full_canvas(canvas)[sl]
    rim_c = rim_c & (orig[..., 3] == 255) & (done[..., 3] == 255)
    if not rim_c.any():
        return after, fronts
    # which front part each rim pixel mixes with: the nearest opaque visible one
    owner = np.zeros(rim_c.shape, np.int32)
    ink = np.zeros(rim_c.shape + (3,), np.float32)
    for i, f in enumerate(fronts, start=1):
        m = f.full_canvas(canvas)[sl]
        vis = f.full_mask(canvas, visible=True)[sl] & (m[..., 3] == 255)
        owner[vis] = i
        ink[vis] = m[vis][:, :3]
    if not (owner > 0).any():
        return after, fronts
    _, labels = cv2.distanceTransformWithLabels(
        (owner == 0).astype(np.uint8), cv2.DIST_L2, 3, labelType=cv2.DIST_LABEL_PIXEL
    )
    src = owner > 0
    nearest_owner = owner[src][labels - 1]
    nearest_ink = ink[src][labels - 1]
    C = orig[..., :3].astype(np.float32)
    S = done[..., :3].astype(np.float32)
    F = nearest_ink
    d = F - S
    a = ((C - S) * d).sum(axis=2) / np.maximum((d * d).sum(axis=2), 1e-6)
    # the smallest alpha that reproduces C exactly with an in-range colour
    tol = 1.5
    need = np.where(
        C > S,
        (C - S - tol) / np.maximum(255.0 - S, 1.0),
        np.where(C < S, (S - C - tol) / np.maximum(S, 1.0), 0.0),
    ).max(axis=2)
    a = np.clip(np.maximum(a, need), 0.0, 1.0)
    a8 = np.rint(a * 255.0)
    a8 = np.where(np.abs(C - S).max(axis=2) <= 1.0, 0.0, a8)
    af = np.maximum(a8 / 255.0, 1e-6)[..., None]
    Fp = np.clip(np.rint((C - S * (1.0 - af)) / af), 0, 255)
    keep_back = rim_c & (a8 == 0)  # no mixing measurable: the back part keeps C
    moved = rim_c & (a8 > 0)
    new_back = done.copy()
    new_back[keep_back, :3] = orig[keep_back, :3]
    # rim pixels are the back part's own (inside its crop): write them in place
    back = replace(after, image=after.image.copy())
    ys, xs = np.nonzero(rim_c)
    back.image[ys + y0 - back.y, xs + x0 - back.x] = new_back[ys, xs]
    out_fronts = []
    for i, f in enumerate(fronts, start=1):
        m = moved & (nearest_owner == i)
        if m.any():
            f = _with_pixels(f, (x0, y0, x1, y1), m, Fp.astype(np.uint8), a8.astype(np.uint8))
        out_fronts.append(f)
    return back, out_fronts


def _rim_of(back_vis: np.ndarray, fronts_vis: np.ndarray, width: int) -> np.ndarray:
    """Visible pixels of a back part within `width` px of the parts in front."""
    if not fronts_vis.any():
        return np.zeros_like(back_vis)
    k = 2 * width + 1
    near = cv2.dilate(fronts_vis.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    return back_vis & (near > 0)


def _main_colour(layer: Layer) -> tuple[int, int, int]:
    a = layer.image[..., 3] > 200
    if not a.any():
        return (0, 0, 0)
    px = layer.image[a][:, :3]
    q = (px // 16).astype(np.int32)
    codes = (q[:, 0] << 8) | (q[:, 1] << 4) | q[:, 2]
    best = np.bincount(codes).argmax()
    return tuple(int(v) for v in np.median(px[codes == best], axis=0))
