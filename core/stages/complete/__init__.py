# SPDX-License-Identifier: GPL-3.0-or-later
"""Stage 4: amodal completion: paint in what other parts hide, add generated parts.

A part may only grow where a part in front of it covers the canvas, so the
completed layers composited at rest still give the input image.

* face: skin under the fringe, side locks, eyes, brows, nose and mouth (so a
  closed eye or a moved fringe shows skin);
* back hair: the hair mass behind the head, face and neck, its hidden bottom edge
  continuing the visible one smoothly and outlined like it;
* neck: up under the chin and down under the collar, its side outlines running on;
* outline pieces a front part took in the input (a lock's end over the back
  hair's edge, the face over the neck's sides) move back to their own part;
* eyewhite: the whole eye opening under the iris and lashes;
* irides: a full ellipse under the lids;
* topwear: under hair that falls over it;
* generated: the mouth interior (dark red with a tongue), collapsed at rest by
  the rig and opened with ParamMouthOpenY.

Hidden colours are painted by extending the part's shape and blending the
part's own colours (near its commonest colour, off its rim: no strokes, no
background) over the hole, on a downscaled crop (or by an `inpaint` hook).

Rims: a back part's visible pixels next to a feature in front of it (eye, brow,
mouth, fringe) are anti-aliased mixes.  They are painted clean in the back part
and the mix moves into the front part as semi-transparent pixels chosen so the
image at rest is unchanged (`_unmix_rims`): a closed eye or a swaying fringe
leaves no outline ghost on the skin.  The eyewhite is completed as clean white
shaded like its visible part at the same depth below the upper lid.
"""
from __future__ import annotations

import contextvars
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from ...model.document import Canvas, Layer, layer_id
from ..landmarks import FaceLandmarks
from ...model.errors import ImageToRigError

INPAINT_MAX_SIDE = 192  # inpainting runs on crops no larger than this (flat colours survive it)
MOUTH_INTERIOR = {  # the generated mouth, as data
    "height_per_width": 0.62,
    "width_scale": 1.0,
    "cavity_rgb": (110, 28, 40),
    "throat_rgb": (70, 14, 26),
    "tongue_rgb": (222, 104, 112),
    "line_rgb": (70, 26, 30),
}


# An optional painter for hidden regions (core/backends): hook(rgba crop, hole, layer)
# -> RGBA crop where only hole pixels changed.  Set by complete_layers(inpaint=...).
_INPAINT_HOOK: contextvars.ContextVar = contextvars.ContextVar("i2r_inpaint_hook", default=None)


class CompletionError(ImageToRigError):
    """The layers handed to completion are inconsistent."""


# --------------------------------------------------------------------------- helpers
def _hull(mask: np.ndarray) -> np.ndarray:
    pts = cv2.findNonZero(mask.astype(np.uint8))
    out = np.zeros(mask.shape, np.uint8)
    if pts is not None and len(pts) >= 3:
        cv2.fillConvexPoly(out, cv2.convexHull(pts), 1)
    return out.astype(bool)


def _ellipse(shape, centre, axes) -> np.ndarray:
    out = np.zeros(shape, np.uint8)
    cv2.ellipse(out, (int(round(centre[0])), int(round(centre[1]))),
                (max(1, int(round(axes[0]))), max(1, int(round(axes[1])))), 0, 0, 360, 1, -1)
    return out.astype(bool)


def _bbox(mask: np.ndarray) -> Optional[Tuple[int, int, int, int]]:
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
    _, labels = cv2.distanceTransformWithLabels((~have).astype(np.uint8), cv2.DIST_L2, 3,
                                                labelType=cv2.DIST_LABEL_PIXEL)
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


def _grown(layer: Layer, canvas: Canvas, add: np.ndarray, fill_rgb: Optional[Tuple[int, int, int]] = None,
           inpaint: bool = True, not_sources: Optional[np.ndarray] = None,
           repaint: Optional[np.ndarray] = None) -> Layer:
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
    img[oy:oy + lh, ox:ox + lw] = layer.image
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
        vis[oy:oy + lh, ox:ox + lw] = layer.visible_mask
    return Layer(id=layer.id, tag=layer.tag, image=img, x=x0, y=y0, side=layer.side,
                 visible_mask=vis, generated=layer.generated, opacity=layer.opacity,
                 clip_to=layer.clip_to, role=layer.role)



def _with_pixels(layer: Layer, box: Tuple[int, int, int, int], mask: np.ndarray,
                 rgb: np.ndarray, alpha: np.ndarray) -> Layer:
    """The layer with extra pixels (box-local `mask`, colours, alpha) where it is
    empty; its crop grows to hold them and they are not visible."""
    bx0, by0, bx1, by1 = box
    lh, lw = layer.image.shape[:2]
    x0, y0 = min(layer.x, bx0), min(layer.y, by0)
    x1, y1 = max(layer.x + lw, bx1), max(layer.y + lh, by1)
    img = np.zeros((y1 - y0, x1 - x0, 4), np.uint8)
    vis = np.zeros((y1 - y0, x1 - x0), bool)
    img[layer.y - y0:layer.y - y0 + lh, layer.x - x0:layer.x - x0 + lw] = layer.image
    if layer.visible_mask is not None:
        vis[layer.y - y0:layer.y - y0 + lh, layer.x - x0:layer.x - x0 + lw] = layer.visible_mask
    sub = img[by0 - y0:by1 - y0, bx0 - x0:bx1 - x0]
    put = mask & (sub[..., 3] == 0)
    sub[put, :3] = rgb[put]
    sub[put, 3] = alpha[put]
    tx0, ty0, tx1, ty1 = _bbox((img[..., 3] > 0) | vis) or (0, 0, 1, 1)
    img, vis = img[ty0:ty1, tx0:tx1].copy(), vis[ty0:ty1, tx0:tx1].copy()
    x0, y0 = x0 + tx0, y0 + ty0
    return Layer(id=layer.id, tag=layer.tag, image=img, x=x0, y=y0, side=layer.side,
                 visible_mask=vis, generated=layer.generated, opacity=layer.opacity,
                 clip_to=layer.clip_to, role=layer.role)


def _unmix_rims(before: Layer, after: Layer, fronts: Sequence[Layer], rim: np.ndarray,
                canvas: Canvas) -> Tuple[Layer, List[Layer]]:
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
    _, labels = cv2.distanceTransformWithLabels((owner == 0).astype(np.uint8), cv2.DIST_L2, 3,
                                                labelType=cv2.DIST_LABEL_PIXEL)
    src = owner > 0
    nearest_owner = owner[src][labels - 1]
    nearest_ink = ink[src][labels - 1]
    C = orig[..., :3].astype(np.float32)
    S = done[..., :3].astype(np.float32)
    F = nearest_ink
    d = F - S
    a = (((C - S) * d).sum(axis=2) / np.maximum((d * d).sum(axis=2), 1e-6))
    # the smallest alpha that reproduces C exactly with an in-range colour
    tol = 1.5
    need = np.where(C > S, (C - S - tol) / np.maximum(255.0 - S, 1.0),
                    np.where(C < S, (S - C - tol) / np.maximum(S, 1.0), 0.0)).max(axis=2)
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
    back = Layer(id=after.id, tag=after.tag, image=after.image.copy(), x=after.x, y=after.y,
                 side=after.side, visible_mask=after.visible_mask, generated=after.generated,
                 opacity=after.opacity, clip_to=after.clip_to, role=after.role)
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


def _main_colour(layer: Layer) -> Tuple[int, int, int]:
    a = layer.image[..., 3] > 200
    if not a.any():
        return (0, 0, 0)
    px = layer.image[a][:, :3]
    q = (px // 16).astype(np.int32)
    codes = (q[:, 0] << 8) | (q[:, 1] << 4) | q[:, 2]
    best = np.bincount(codes).argmax()
    return tuple(int(v) for v in np.median(px[codes == best], axis=0))


# --------------------------------------------------------------------------- per part
def _complete_face(face: Layer, canvas: Canvas, lm: FaceLandmarks, covered: np.ndarray,
                   features: np.ndarray, rim_from: Optional[np.ndarray] = None
                   ) -> Tuple[Layer, np.ndarray, np.ndarray]:
    vis = face.full_mask(canvas)
    shape = _hull(vis | features)
    eye_y = 0.25 * (lm.eye_l[1] + lm.eye_l[3] + lm.eye_r[1] + lm.eye_r[3])
    cx = 0.25 * (lm.eye_l[0] + lm.eye_l[2] + lm.eye_r[0] + lm.eye_r[2])
    rows = np.nonzero(shape[int(min(max(eye_y, 0), canvas.height - 1))])[0]
    half_w = 0.5 * (rows.max() - rows.min() + 1) if len(rows) else 0.5 * (lm.face_box[2] - lm.face_box[0])
    cx = 0.5 * (rows.max() + rows.min()) if len(rows) else cx
    down = max(lm.chin[1] - eye_y, 1.0)
    # the skull: the upper half of an ellipse reaching well above the brows
    skull = _ellipse(shape.shape, (cx, eye_y), (half_w, 1.15 * down))
    skull[int(eye_y):] = False
    cheeks = _ellipse(shape.shape, (cx, eye_y), (half_w, down))
    amodal = shape | ((skull | cheeks) & covered)
    add = amodal & covered & ~vis
    # skin right at a feature's rim is mixed with it: it is painted clean too (the
    # mix moves into the feature, `_unmix_rims`) and never copied from
    rim_w = _rim_width(lm)
    rim = _rim_of(vis, features, rim_w)
    near_features = _rim_of(np.ones_like(vis), features, 2 * rim_w)
    if rim_from is not None:  # hair strokes end in thin tips: a wider band
        rim |= _rim_of(vis, rim_from, 3 * rim_w)
        near_features |= _rim_of(np.ones_like(vis), rim_from, 4 * rim_w)
    return _grown(face, canvas, add, not_sources=near_features, repaint=rim), amodal, rim


def _rim_width(lm: FaceLandmarks) -> int:
    """How far anti-aliasing reaches around a feature line (px)."""
    return max(2, int(round(0.008 * (lm.face_box[2] - lm.face_box[0]))))


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


def _complete_back_hair(layer: Layer, canvas: Canvas, covered: np.ndarray,
                        head: np.ndarray, body: np.ndarray, chin_y: int) -> Layer:
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
    body_rows[:max(0, min(h, chin_y + 1))] = h
    first_body = body_rows.min(axis=0)
    capped = ~edge & (first_body <= line)
    limit = np.where(capped, np.minimum(line, chin_y), line)
    if capped.any():  # round the corners where the chin cuts the line off
        win = max(3, int(0.03 * w) | 1)
        smooth = np.convolve(np.pad(limit, win // 2, mode="edge"), np.ones(win) / win, mode="valid")
        near_cap = cv2.dilate(capped.astype(np.uint8)[None], np.ones((1, win), np.uint8))[0] > 0
        limit = np.where(near_cap & ~edge, smooth, limit)
    return np.floor(limit + 0.5).astype(np.int64)


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


def _line_style(rgba: np.ndarray, own: np.ndarray, outside: np.ndarray
                ) -> Optional[Tuple[np.ndarray, float, np.ndarray]]:
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
    colour = np.median(rgba[..., :3][band & (rgba[..., 3] >= 250)] if (band & (rgba[..., 3] >= 250)).any()
                       else rgba[..., :3][band], axis=0)
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
        inner = cv2.erode(a8, np.ones((1, 2 * r + 1), np.uint8), borderType=cv2.BORDER_CONSTANT, borderValue=0)
        dist[alpha & (inner == 0)] = r
    return dist


def _outline_new_edges(before: Layer, after: Layer, canvas: Canvas, covered: np.ndarray,
                       sides_only: bool = False) -> Layer:
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
    own[before.y - y0:before.y - y0 + bh, before.x - x0:before.x - x0 + bw] = before.image[..., 3] > 0
    added = alpha & ~own
    if not added.any():
        return after
    cov = covered[y0:y0 + h, x0:x0 + w]
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


def _claim_outline(before: Layer, back: Layer, front: Layer, between: Sequence[Layer],
                   canvas: Canvas, covered: np.ndarray) -> Tuple[Layer, Layer]:
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
    back = Layer(id=back.id, tag=back.tag, image=img, x=back.x, y=back.y, side=back.side,
                 visible_mask=vis, generated=back.generated, opacity=back.opacity,
                 clip_to=back.clip_to, role=back.role)
    fx, fy = front.x, front.y
    ys, xs = np.nonzero(move)
    ys, xs = ys + y0 - fy, xs + x0 - fx
    fimg = front.image.copy()
    fimg[ys, xs] = 0
    fvis_mask = front.visible_mask.copy() if front.visible_mask is not None else fimg[..., 3] > 0
    fvis_mask[ys, xs] = False
    front = Layer(id=front.id, tag=front.tag, image=fimg, x=fx, y=fy, side=front.side,
                  visible_mask=fvis_mask, generated=front.generated, opacity=front.opacity,
                  clip_to=front.clip_to, role=front.role)
    return back, front


def _complete_neck(layer: Layer, canvas: Canvas, lm: FaceLandmarks, covered: np.ndarray) -> Layer:
    vis = layer.full_mask(canvas)
    x0, y0, x1, y1 = _bbox(vis)
    span = max(lm.chin[1] - 0.25 * (lm.eye_l[1] + lm.eye_l[3] + lm.eye_r[1] + lm.eye_r[3]), 4)
    # column of the neck's width, from well under the chin to below the collar
    top_rows = vis[y0:y0 + max(2, (y1 - y0) // 5)]
    cols = np.nonzero(top_rows.any(axis=0))[0]
    cx0, cx1 = int(cols.min()), int(cols.max()) + 1
    col = np.zeros_like(vis)
    col[max(0, int(y0 - 0.6 * span)):min(canvas.height, int(y1 + 0.3 * span)), cx0:cx1] = True
    # its outline runs on up the sides (a turning head shows them)
    return _outline_new_edges(layer, _grown(layer, canvas, col & covered), canvas, covered, sides_only=True)


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


def make_mouth_interior(mouth: Optional[Layer], lm: FaceLandmarks, canvas: Canvas) -> Layer:
    """A wide-open mouth (cavity, throat shadow, tongue) of the mouth's width,
    centred on the mouth line.  Generated; not visible in the input."""
    spec = MOUTH_INTERIOR
    if mouth is not None:
        mx0, my0 = mouth.x, mouth.y
        mx1, my1 = mouth.x + mouth.image.shape[1], mouth.y + mouth.image.shape[0]
    else:
        mx0, my0, mx1, my1 = lm.mouth
    width = max(6.0, (mx1 - mx0) * spec["width_scale"])
    height = max(4.0, width * spec["height_per_width"])
    cx, cy = 0.5 * (mx0 + mx1), 0.5 * (my0 + my1)
    ss = 4  # drawn supersampled for clean edges
    w, h = int(np.ceil(width)) + 4, int(np.ceil(height)) + 4
    W, H = w * ss, h * ss
    pad = 2 * ss
    t = np.linspace(0, np.pi, 48)
    top_y = pad + 0.22 * (H - 2 * pad)  # a gently curved upper lip line
    upper = np.stack([pad + (W - 2 * pad) * (1 - t / np.pi), top_y - 0.18 * (H - 2 * pad) * np.sin(t)], 1)
    lower = np.stack([pad + (W - 2 * pad) * (t / np.pi), top_y + 0.78 * (H - 2 * pad) * np.sin(t)], 1)
    outline = np.vstack([upper, lower]).astype(np.int32)
    shape = np.zeros((H, W), np.uint8)
    cv2.fillPoly(shape, [outline], 255, cv2.LINE_AA)
    rgb = np.zeros((H, W, 3), np.uint8)
    rgb[:] = spec["cavity_rgb"]
    cv2.ellipse(rgb, (W // 2, int(top_y)), (int(W * 0.32), int(H * 0.18)), 0, 0, 360, spec["throat_rgb"], -1, cv2.LINE_AA)
    cv2.ellipse(rgb, (W // 2, int(pad + 0.86 * (H - 2 * pad))), (int(W * 0.30), int(H * 0.30)), 0, 0, 360,
                spec["tongue_rgb"], -1, cv2.LINE_AA)
    cv2.polylines(rgb, [outline], True, spec["line_rgb"], max(1, ss), cv2.LINE_AA)
    rgb = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA)
    alpha = cv2.resize(shape, (w, h), interpolation=cv2.INTER_AREA)
    img = np.dstack([rgb, alpha])
    img[alpha == 0] = 0
    x0 = int(round(cx - w / 2.0))
    y0 = int(round(cy - (2 + 0.22 * (h - 4))))  # the upper lip line sits on the mouth line
    return Layer(id=layer_id("mouth", role="interior"), tag="mouth", image=img, x=x0, y=y0,
                 visible_mask=np.zeros((h, w), bool), generated=True, role="interior")


# --------------------------------------------------------------------------- stage
def complete_layers(layers: Sequence[Layer], canvas: Canvas, lm: FaceLandmarks,
                    inpaint: Optional[Callable] = None) -> List[Layer]:
    """Completed copies of `layers` (same order) plus the generated mouth interior.
    `inpaint(rgba crop, hole mask, layer) -> rgba crop` replaces the built-in
    OpenCV painting of hidden regions (core/backends); only hole pixels are used."""
    token = _INPAINT_HOOK.set(inpaint)
    try:
        return _complete_layers(layers, canvas, lm)
    finally:
        _INPAINT_HOOK.reset(token)


def _complete_layers(layers: Sequence[Layer], canvas: Canvas, lm: FaceLandmarks) -> List[Layer]:
    layers = list(layers)
    ids = [l.id for l in layers]
    if len(set(ids)) != len(ids):
        raise CompletionError("layer ids must be unique")
    vis = {l.id: l.full_mask(canvas, visible=True) for l in layers}
    # what covers each layer: the union of everything drawn opaque in front of it
    in_front: Dict[str, np.ndarray] = {}
    acc = np.zeros((canvas.height, canvas.width), bool)
    for layer in reversed(layers):
        in_front[layer.id] = acc.copy()
        acc |= vis[layer.id] & (layer.full_canvas(canvas)[..., 3] == 255)
    by_id = {l.id: l for l in layers}

    def union(pred) -> np.ndarray:
        out = np.zeros((canvas.height, canvas.width), bool)
        for l in layers:
            if pred(l):
                out |= vis[l.id]
        return out

    out: Dict[str, Layer] = {}
    face_amodal = None
    feature_tags = ("eyewhite", "irides", "eyelash", "eyebrow", "nose", "mouth")
    if "face" in by_id:
        features = union(lambda l: l.tag in feature_tags)
        # the fringe's outline and anti-aliasing on the skin go to the hair too (no
        # dark ghost on the forehead when the fringe sways)
        fringe = union(lambda l: l.tag == "front hair")
        face, face_amodal, rim = _complete_face(by_id["face"], canvas, lm, in_front["face"], features,
                                                rim_from=fringe)
        # clipped parts (irides) show only inside their clip layer: they take no face rim
        fronts = [l for l in layers if (l.tag in feature_tags or l.tag == "front hair") and not l.clip_to]
        face, fronts = _unmix_rims(by_id["face"], face, fronts, rim, canvas)
        out["face"] = face
        for f in fronts:
            by_id[f.id] = f
    rim_w = _rim_width(lm)
    for side in ("l", "r"):
        ew, ir, el = layer_id("eyewhite", side), layer_id("irides", side), layer_id("eyelash", side)
        opening = None
        if ew in by_id:
            opening = _hull(vis[ew] | vis.get(ir, vis[ew]))
            in_eye = [by_id[i] for i in (ir, el) if i in by_id]
            eye_fronts = np.zeros_like(vis[ew])
            for f in in_eye:
                eye_fronts |= vis[f.id]
            rim = _rim_of(vis[ew], eye_fronts, rim_w)
            white = _complete_eyewhite(by_id[ew], canvas, opening & in_front[ew], rim)
            white, in_eye = _unmix_rims(by_id[ew], white, in_eye, rim, canvas)
            out[ew] = white
            for f in in_eye:
                by_id[f.id] = f
            opening = out[ew].full_mask(canvas)
        if ir in by_id:
            out[ir] = _complete_iris(by_id[ir], canvas, in_front[ir], opening)
    for l in layers:  # features that received rim pixels
        if l.id not in out and by_id[l.id] is not l:
            out[l.id] = by_id[l.id]
    if "neck" in by_id:
        out["neck"] = _complete_neck(by_id["neck"], canvas, lm, in_front["neck"])
    if "back-hair" in by_id:
        head = union(lambda l: l.tag in ("front hair", "face"))
        if face_amodal is not None:
            head |= face_amodal
        body = union(lambda l: l.tag in ("neck", "topwear"))
        out["back-hair"] = _complete_back_hair(by_id["back-hair"], canvas, in_front["back-hair"], head, body,
                                               int(lm.chin[1] + 0.04 * (lm.face_box[3] - lm.face_box[1])))
    if "topwear" in by_id:
        tw = vis["topwear"]
        out["topwear"] = _grown(by_id["topwear"], canvas, _hull(tw) & in_front["topwear"] & ~union(
            lambda l: l.tag in ("neck", "face")))
    # outline pieces that parts in front took: the fringe's locks from the back
    # hair's edge, the face from the neck's sides
    for back_id, front_id in (("back-hair", "front-hair"), ("neck", "face")):
        if back_id not in out or front_id not in by_id:
            continue
        i0, i1 = ids.index(back_id), ids.index(front_id)
        if i0 < i1:
            between = [out.get(i, by_id[i]) for i in ids[i0 + 1:i1]]
            out[back_id], out[front_id] = _claim_outline(
                by_id[back_id], out[back_id], out.get(front_id, by_id[front_id]), between,
                canvas, in_front[back_id])
    result = [out.get(l.id, l) for l in layers]
    mouth = by_id.get("mouth")
    interior = make_mouth_interior(mouth, lm, canvas)
    pos = ids.index("mouth") if "mouth" in ids else len(result)
    result.insert(pos, interior)
    return result
