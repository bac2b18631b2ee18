# SPDX-License-Identifier: GPL-3.0-or-later
"""Stage 4: amodal completion: paint in what other parts hide, add generated parts.

A part may only grow where a part in front of it covers the canvas, so the
completed layers composited at rest still give the input image.

* face: skin under the fringe, side locks, eyes, brows, nose and mouth (so a
  closed eye or a moved fringe shows skin);
* back hair: the hair mass behind the head, face and neck;
* neck: up under the chin and down under the collar;
* eyewhite: the whole eye opening under the iris and lashes;
* irides: a full ellipse under the lids;
* topwear: under hair that falls over it;
* generated: the mouth interior (dark red with a tongue), collapsed at rest by
  the rig and opened with ParamMouthOpenY.

Hidden colours are painted by extending the part's shape and inpainting from
its visible pixels (OpenCV Navier-Stokes, run on a downscaled crop).
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from .document import Canvas, Layer, layer_id
from .landmarks import FaceLandmarks

INPAINT_MAX_SIDE = 192  # inpainting runs on crops no larger than this (flat colours survive it)
MOUTH_INTERIOR = {  # the generated mouth, as data
    "height_per_width": 0.62,
    "width_scale": 1.0,
    "cavity_rgb": (110, 28, 40),
    "throat_rgb": (70, 14, 26),
    "tongue_rgb": (222, 104, 112),
    "line_rgb": (70, 26, 30),
}


class CompletionError(ValueError):
    """The layers handed to completion are inconsistent."""


# --------------------------------------------------------------------------- helpers
def _full_mask(layer: Layer, canvas: Canvas, source: str = "alpha") -> np.ndarray:
    out = np.zeros((canvas.height, canvas.width), bool)
    h, w = layer.image.shape[:2]
    x0, y0 = max(layer.x, 0), max(layer.y, 0)
    x1, y1 = min(layer.x + w, canvas.width), min(layer.y + h, canvas.height)
    if x1 <= x0 or y1 <= y0:
        return out
    if source == "visible" and layer.visible_mask is not None:
        m = layer.visible_mask
    else:
        m = layer.image[..., 3] > 0
    out[y0:y1, x0:x1] = m[y0 - layer.y:y1 - layer.y, x0 - layer.x:x1 - layer.x]
    return out


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
    """Known pixels that carry the part's own colours: opaque and near its commonest
    colours (no dark strokes, no rims mixed with the background or other parts)."""
    if not known.any():
        return known
    lum = rgba[..., :3].astype(np.float32) @ np.float32([0.299, 0.587, 0.114])
    med = float(np.median(lum[known & (rgba[..., 3] >= 250)] if (known & (rgba[..., 3] >= 250)).any()
                          else lum[known]))
    src = known & (np.abs(lum - med) <= 0.3 * med + 12) & (rgba[..., 3] >= 250)
    # pixels on the part's own rim are mixed with whatever is next to it
    inner = cv2.erode(known.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    if (src & inner).sum() >= 8:
        src &= inner
    return src if src.sum() >= 8 else known


def _paint_hidden(rgba: np.ndarray, src: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """Colours for `hole` pixels inpainted from `src` pixels (crop-sized arrays)."""
    h, w = src.shape
    rgb = rgba[..., :3].copy()
    # everything that is not a source first takes its nearest source colour, so the
    # inpainting never reads empty pixels
    if (~src).any():
        _, labels = cv2.distanceTransformWithLabels((~src).astype(np.uint8), cv2.DIST_L2, 3,
                                                    labelType=cv2.DIST_LABEL_PIXEL)
        src_colours = rgb[src]
        rgb = src_colours[labels - 1].reshape(h, w, 3)
        rgb[src] = rgba[..., :3][src]
    factor = min(1.0, INPAINT_MAX_SIDE / max(h, w))
    if factor < 1.0:
        sw, sh = max(2, int(round(w * factor))), max(2, int(round(h * factor)))
        small = cv2.resize(rgb, (sw, sh), interpolation=cv2.INTER_AREA)
        small_hole = cv2.resize(hole.astype(np.uint8) * 255, (sw, sh), interpolation=cv2.INTER_AREA) > 0
    else:
        small, small_hole = rgb, hole
    small_hole = cv2.dilate(small_hole.astype(np.uint8), np.ones((3, 3), np.uint8))
    radius = 3
    painted = cv2.inpaint(np.ascontiguousarray(small), small_hole, radius, cv2.INPAINT_NS)
    if factor < 1.0:
        painted = cv2.resize(painted, (w, h), interpolation=cv2.INTER_LINEAR)
    return painted


def _grown(layer: Layer, canvas: Canvas, add: np.ndarray, fill_rgb: Optional[Tuple[int, int, int]] = None,
           inpaint: bool = True, not_sources: Optional[np.ndarray] = None) -> Layer:
    """The layer with `add` (full-canvas mask) painted in; visible_mask kept.
    `not_sources` (full canvas) marks pixels the inpainting must not copy from."""
    own = _full_mask(layer, canvas)
    add = add & ~own
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
        known = own[y0:y1, x0:x1]
        if not_sources is not None:
            known = known & ~not_sources[y0:y1, x0:x1]
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
                   features: np.ndarray) -> Tuple[Layer, np.ndarray]:
    vis = _full_mask(face, canvas)
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
    # skin right at a feature's rim is mixed with it: do not copy it under the feature
    rim = max(3, int(round(0.012 * (lm.face_box[2] - lm.face_box[0]))))
    near_features = cv2.dilate(features.astype(np.uint8), np.ones((2 * rim + 1, 2 * rim + 1), np.uint8)) > 0
    return _grown(face, canvas, add, not_sources=near_features), amodal


def _complete_back_hair(layer: Layer, canvas: Canvas, covered: np.ndarray,
                        head: np.ndarray) -> Layer:
    vis = _full_mask(layer, canvas)
    bottom = _bbox(vis)[3]
    shape = _hull(vis | head)
    shape[bottom:] = False
    return _grown(layer, canvas, shape & covered)


def _complete_neck(layer: Layer, canvas: Canvas, lm: FaceLandmarks, covered: np.ndarray) -> Layer:
    vis = _full_mask(layer, canvas)
    x0, y0, x1, y1 = _bbox(vis)
    span = max(lm.chin[1] - 0.25 * (lm.eye_l[1] + lm.eye_l[3] + lm.eye_r[1] + lm.eye_r[3]), 4)
    # column of the neck's width, from well under the chin to below the collar
    top_rows = vis[y0:y0 + max(2, (y1 - y0) // 5)]
    cols = np.nonzero(top_rows.any(axis=0))[0]
    cx0, cx1 = int(cols.min()), int(cols.max()) + 1
    col = np.zeros_like(vis)
    col[max(0, int(y0 - 0.6 * span)):min(canvas.height, int(y1 + 0.3 * span)), cx0:cx1] = True
    return _grown(layer, canvas, col & covered)


def _complete_iris(layer: Layer, canvas: Canvas, covered: np.ndarray,
                   opening: Optional[np.ndarray]) -> Layer:
    """A full iris ellipse; it may only show where the lids cover it or where
    the eye opening (its clip layer) hides it."""
    vis = _full_mask(layer, canvas)
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
def complete_layers(layers: Sequence[Layer], canvas: Canvas, lm: FaceLandmarks) -> List[Layer]:
    """Completed copies of `layers` (same order) plus the generated mouth interior."""
    layers = list(layers)
    ids = [l.id for l in layers]
    if len(set(ids)) != len(ids):
        raise CompletionError("layer ids must be unique")
    vis = {l.id: _full_mask(l, canvas, "visible") for l in layers}
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
    if "face" in by_id:
        features = union(lambda l: l.tag in ("eyewhite", "irides", "eyelash", "eyebrow", "nose", "mouth"))
        out["face"], face_amodal = _complete_face(by_id["face"], canvas, lm, in_front["face"], features)
    for side in ("l", "r"):
        ew, ir = layer_id("eyewhite", side), layer_id("irides", side)
        opening = None
        if ew in by_id:
            opening = _hull(vis[ew] | vis.get(ir, vis[ew]))
            out[ew] = _grown(by_id[ew], canvas, opening & in_front[ew], fill_rgb=_main_colour(by_id[ew]))
            opening = _full_mask(out[ew], canvas)
        if ir in by_id:
            out[ir] = _complete_iris(by_id[ir], canvas, in_front[ir], opening)
    if "neck" in by_id:
        out["neck"] = _complete_neck(by_id["neck"], canvas, lm, in_front["neck"])
    if "back-hair" in by_id:
        head = union(lambda l: l.tag in ("front hair", "face"))
        if face_amodal is not None:
            head |= face_amodal
        out["back-hair"] = _complete_back_hair(by_id["back-hair"], canvas, in_front["back-hair"], head)
    if "topwear" in by_id:
        tw = vis["topwear"]
        out["topwear"] = _grown(by_id["topwear"], canvas, _hull(tw) & in_front["topwear"] & ~union(
            lambda l: l.tag in ("neck", "face")))
    result = [out.get(l.id, l) for l in layers]
    mouth = by_id.get("mouth")
    interior = make_mouth_interior(mouth, lm, canvas)
    pos = ids.index("mouth") if "mouth" in ids else len(result)
    result.insert(pos, interior)
    return result
