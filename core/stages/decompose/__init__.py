# SPDX-License-Identifier: GPL-3.0-or-later
"""Stage 3: split the character into tagged layers (See-through tags).

1. Face features are cut first, each inside a window placed by the landmarks:
   eyes (split into eyewhite, iris and eyelash by colour and an iris ellipse),
   brows, mouth and nose.
2. The rest is split into flat colour regions bounded by line art.  Each region
   is classified by colour (skin-like, hair-like, other) and position (above or
   below the chin, beside the face): face, neck, ears, front hair, back hair,
   topwear.
3. Line art goes to the front-most neighbouring part (an outline belongs to the
   part it outlines, which is the one in front), anything left to the nearest.

Layers are crops holding only visible pixels, ordered back to front by
`DEPTH_ORDER`.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np

from ...model.document import Layer, layer_id
from ..foreground import has_meaningful_alpha
from ..landmarks import FaceLandmarks, flatten_over_white, skin_mask
from ...model.errors import ImageToRigError

# Back to front.  Layers the decomposition finds are emitted in this order.
DEPTH_ORDER: Tuple[Tuple[str, str], ...] = (
    ("back hair", ""), ("neck", ""), ("topwear", ""), ("ears", "r"), ("ears", "l"),
    ("face", ""), ("eyewhite", "r"), ("irides", "r"), ("eyewhite", "l"), ("irides", "l"),
    ("eyelash", "r"), ("eyelash", "l"), ("eyebrow", "r"), ("eyebrow", "l"),
    ("nose", ""), ("mouth", ""), ("front hair", ""),
)
# Who wins a line between two parts: the front-most (index in this tuple, first wins).
LINE_OWNERS = ("front hair", "face", "ears", "topwear", "neck", "back hair")

DESIGN_FACE_WIDTH = 280.0  # sizes below are in px of a face this wide
MIN_FACE_WIDTH = 48  # px: smaller faces have eyes of a few pixels, too small to split

UNASSIGNED = -1
EDGE_THRESHOLD = 48.0
LINE_CONTRAST = 24  # Lab L (0..255) a stroke is darker than its surroundings  # Sobel |gx| + |gy| of Lab channels that marks a colour step


class DecomposeError(ImageToRigError):
    """The image could not be split into parts."""


def _label_index() -> Dict[Tuple[str, str], int]:
    return {key: i for i, key in enumerate(DEPTH_ORDER)}


def _window(box, pad_x0, pad_y0, pad_x1, pad_y1, shape):
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    h_img, w_img = shape[:2]
    return (max(0, int(x0 - pad_x0 * w)), max(0, int(y0 - pad_y0 * h)),
            min(w_img, int(np.ceil(x1 + pad_x1 * w))), min(h_img, int(np.ceil(y1 + pad_y1 * h))))


def _components_in(mask: np.ndarray):
    if mask.size == 0:  # a window squeezed to nothing (OpenCV would crash on it)
        return 1, np.zeros(mask.shape, np.int32), np.zeros((1, 5), np.int32), np.zeros((1, 2))
    return cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)


def _inner_components(cand: np.ndarray, min_area: int, require=None) -> np.ndarray:
    """Components of `cand` that do not touch the window border (and overlap `require`)."""
    n, lab, st, _ = _components_in(cand)
    h, w = cand.shape
    keep = np.zeros(n, bool)
    for i in range(1, n):
        x, y, bw, bh, area = st[i]
        if area < min_area or x == 0 or y == 0 or x + bw >= w or y + bh >= h:
            continue
        keep[i] = True
    if require is not None:
        hit = np.zeros(n, bool)
        hit[np.unique(lab[require & (lab > 0)])] = True
        keep &= hit
    return keep[lab]


class _Context:
    def __init__(self, rgba: np.ndarray, mask: np.ndarray, lm: FaceLandmarks):
        self.rgba = rgba
        # colours as seen over white, so transparent surroundings read as light paper
        self.rgb = flatten_over_white(rgba)
        self.fg = mask.astype(bool)
        self.lm = lm
        self.h, self.w = mask.shape
        lab = cv2.cvtColor(self.rgb, cv2.COLOR_RGB2LAB)
        self.L = lab[..., 0].astype(np.int16)
        self.a = lab[..., 1].astype(np.int16) - 128
        self.b = lab[..., 2].astype(np.int16) - 128
        self.skin, skin_rgb = skin_mask(self.rgb, self.fg, lm.skin_rgb)
        ref = cv2.cvtColor(np.uint8([[skin_rgb]]), cv2.COLOR_RGB2LAB)[0, 0].astype(int)
        self.skin_L = int(ref[0])
        fw = max(8, lm.face_box[2] - lm.face_box[0])
        eye_span = (lm.eye_l[2] - lm.eye_r[0]) * 1.45  # eyes span ~0.69 of a face width
        self.unit = max(0.25, min(fw, eye_span) / DESIGN_FACE_WIDTH)
        self.features = np.zeros((self.h, self.w), bool)

    def chroma(self, sl) -> np.ndarray:
        a, b = self.a[sl].astype(np.float32), self.b[sl].astype(np.float32)
        return np.sqrt(a * a + b * b)


# --------------------------------------------------------------------------- features
def _cut_brow(ctx: _Context, side: str) -> Optional[np.ndarray]:
    lm = ctx.lm
    box = lm.brow(side)
    eye = lm.eye(side)
    eye_h = eye[3] - eye[1]
    if box is None:
        box = (eye[0], int(eye[1] - 1.1 * eye_h), eye[2], int(eye[1] - 0.1 * eye_h))
    x0, y0, x1, y1 = _window(box, 0.3, 0.8, 0.3, 0.8, ctx.fg.shape)
    y1 = min(y1, eye[1] + 1)
    if y1 <= y0 or x1 <= x0:
        return None
    sl = (slice(y0, y1), slice(x0, x1))
    cand = ctx.fg[sl] & ~ctx.skin[sl] & ~ctx.features[sl]
    core = np.zeros_like(cand)
    bx0, by0, bx1, by1 = box
    core[max(0, by0 - y0):max(0, by1 - y0), max(0, bx0 - x0):max(0, bx1 - x0)] = True
    found = _inner_components(cand, int(6 * ctx.unit ** 2), require=core)
    if not found.any():
        return None
    out = np.zeros_like(ctx.fg)
    out[sl] = found
    return out


def _filled(mask: np.ndarray, outside: np.ndarray, margin: int) -> np.ndarray:
    """`mask` with its holes filled where they keep `margin` px away from
    `outside`: catch-lights inside an iris, not the eyewhite beside it (which
    reaches the eye's rim)."""
    n, lab = cv2.connectedComponents((~mask).astype(np.uint8), connectivity=4)
    near_out = cv2.dilate(outside.astype(np.uint8), np.ones((2 * margin + 1,) * 2, np.uint8)).astype(bool)
    hole = np.ones(n, bool)
    hole[np.unique(np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]]))] = False
    hole[np.unique(lab[near_out])] = False
    hole[0] = False
    return mask | hole[lab]


def _cut_brow_like(ctx: _Context, side: str, other: np.ndarray) -> Optional[np.ndarray]:
    """The brow of `side` where the other brow's mirror image lies, by its colour:
    for a brow that touches the fringe and so is no separate blob."""
    lm = ctx.lm
    ys, xs = np.nonzero(other)
    cx = lm.face_centre_x
    me, them = lm.eye(side), lm.eye("l" if side == "r" else "r")
    dy = 0.5 * (me[1] + me[3]) - 0.5 * (them[1] + them[3])
    bw, bh = xs.max() - xs.min() + 1, ys.max() - ys.min() + 1
    x0, x1 = 2 * cx - xs.max() - 0.3 * bw, 2 * cx - xs.min() + 0.3 * bw
    y0, y1 = ys.min() + dy - 0.6 * bh, ys.max() + dy + 0.6 * bh
    y1 = min(y1, me[1] + 1)
    x0, y0 = max(0, int(x0)), max(0, int(y0))
    x1, y1 = min(ctx.w, int(np.ceil(x1))), min(ctx.h, int(np.ceil(y1)))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    sl = (slice(y0, y1), slice(x0, x1))
    ref = np.array([np.median(ctx.L[other]), np.median(ctx.a[other]), np.median(ctx.b[other])], np.float32)
    dist = (np.hypot(ctx.a[sl] - ref[1], ctx.b[sl] - ref[2]) + 0.5 * np.abs(ctx.L[sl] - ref[0]))
    cand = ctx.fg[sl] & ~ctx.skin[sl] & ~ctx.features[sl] & (dist <= 16)
    n, lab, st, _ = _components_in(cand)
    if n <= 1:
        return None
    area = int(other.sum())
    keep = np.zeros(n, bool)
    for i in range(1, n):
        # a brow-sized, brow-shaped (wider than tall) piece
        if st[i, cv2.CC_STAT_AREA] >= 0.2 * area and st[i, cv2.CC_STAT_WIDTH] >= st[i, cv2.CC_STAT_HEIGHT]:
            keep[i] = True
    if not keep.any():
        return None
    out = np.zeros_like(ctx.fg)
    out[sl] = keep[lab]
    if out.sum() > 2.0 * area:
        return None  # hair of the brow's colour, not a brow
    return out


def _cut_eye(ctx: _Context, side: str) -> Optional[Dict[str, np.ndarray]]:
    """Eye pixels split into eyewhite, irides and eyelash (full-canvas masks)."""
    box = ctx.lm.eye(side)
    x0, y0, x1, y1 = _window(box, 0.3, 0.35, 0.3, 0.35, ctx.fg.shape)
    sl = (slice(y0, y1), slice(x0, x1))
    cand = ctx.fg[sl] & ~ctx.skin[sl] & ~ctx.features[sl]
    cand = cv2.morphologyEx(cand.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8)).astype(bool)
    cand &= ctx.fg[sl] & ~ctx.features[sl]
    core = np.zeros_like(cand)
    bx0, by0, bx1, by1 = box
    bw, bh = bx1 - bx0, by1 - by0
    core[max(0, int(by0 + 0.2 * bh) - y0):max(0, int(by1 - 0.2 * bh) - y0),
         max(0, int(bx0 + 0.2 * bw) - x0):max(0, int(bx1 - 0.2 * bw) - x0)] = True
    n, lab, st, _ = _components_in(cand)
    keep = np.zeros(n, bool)
    hit = np.unique(lab[core & (lab > 0)])
    for i in hit:
        x, y, cw, ch, area = st[i]
        # hair reaching into the window is far bigger than the eye box
        if cw > 1.8 * bw or ch > 1.8 * bh:
            continue
        keep[i] = True
    eye = keep[lab]
    if not keep.any() and len(hit):
        # the eye joined to something thin around it (glasses frames, a strand of
        # hair): cut thin strokes away, keep the eye-sized piece, then take back its
        # own anti-aliased rim
        k = max(3, int(round(6 * ctx.unit)) | 1)
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
        thick = cv2.morphologyEx(cand.astype(np.uint8), cv2.MORPH_OPEN, kernel)
        n2, lab2, st2, _ = _components_in(thick)
        keep2 = np.zeros(n2, bool)
        for i in np.unique(lab2[core & (lab2 > 0)]):
            if st2[i, cv2.CC_STAT_WIDTH] <= 1.8 * bw and st2[i, cv2.CC_STAT_HEIGHT] <= 1.8 * bh:
                keep2[i] = True
        if keep2.any():
            grown = cv2.dilate(keep2[lab2].astype(np.uint8), kernel).astype(bool)
            thin = cand & ~thick.astype(bool)
            eye = keep2[lab2] | (grown & cand & ~thin) | (cv2.dilate(keep2[lab2].astype(np.uint8),
                                                                      np.ones((3, 3), np.uint8)).astype(bool) & cand)
    if eye.sum() < 10 * ctx.unit ** 2:
        return None
    # thin strokes around the eye (glasses frames) are not the eye: keep what lies
    # near the hull of the eye's thick parts
    k = max(3, int(round(6 * ctx.unit)) | 1)
    disc_k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    thick = cv2.morphologyEx(eye.astype(np.uint8), cv2.MORPH_OPEN, disc_k).astype(bool)
    if thick.sum() >= 10 * ctx.unit ** 2:
        hull = np.zeros(eye.shape, np.uint8)
        pts = cv2.findNonZero(thick.astype(np.uint8))
        cv2.fillConvexPoly(hull, cv2.convexHull(pts), 1)
        hull = cv2.dilate(hull, np.ones((3, 3), np.uint8), iterations=max(1, int(round(2 * ctx.unit))))
        eye &= hull.astype(bool)
    L = ctx.L[sl]
    chroma = ctx.chroma(sl)
    white = eye & (L >= 0.82 * max(ctx.skin_L, 200)) & (chroma < 18)
    coloured = eye & (chroma >= 18) & ~white
    iris = np.zeros_like(eye)
    rx = ry = 1.0
    cy = 0.0
    d = np.full(eye.shape, np.inf)
    # the iris is the thick non-white disc of the eye: an opening wider than the
    # lash band is thick removes the lash (and thin coloured strokes: frames); of
    # what is left, the piece holding most of the eye's colour is the iris
    big_k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (max(3, int(0.4 * bh) | 1),) * 2)
    blob = cv2.morphologyEx(_filled(eye & ~white, ~eye, max(2, int(round(0.15 * bh)))).astype(np.uint8),
                            cv2.MORPH_OPEN, big_k)
    if blob.sum() < 10 * ctx.unit ** 2:
        iris_k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (max(3, int(0.25 * bh) | 1),) * 2)
        blob = cv2.morphologyEx(coloured.astype(np.uint8), cv2.MORPH_OPEN, iris_k)
    if blob.sum() >= 10 * ctx.unit ** 2:
        cn, clab, cst, _ = _components_in(blob)
        colour_count = np.bincount(clab[coloured], minlength=cn)
        colour_count[0] = -1
        big = int(np.argmax(colour_count)) if colour_count[1:].max() > 0 else \
            1 + int(np.argmax(cst[1:, cv2.CC_STAT_AREA]))
        coloured = coloured | (clab == big)
        ix, iy, iw, ih, _ = cst[big]
        cx, cy = ix + iw / 2.0, iy + ih / 2.0
        pad = 0.0
        rx, ry = iw / 2.0 + pad, ih / 2.0 + pad
        yy, xx = np.mgrid[0:eye.shape[0], 0:eye.shape[1]]
        d = ((xx + 0.5 - cx) / rx) ** 2 + ((yy + 0.5 - cy) / ry) ** 2
        inside = d <= 1.0
        dark_neutral = (L < 0.45 * ctx.skin_L) & (chroma < 14)
        # neutral dark inside the iris's upper half is the lash crossing it, unless it
        # is the pupil core; lower down it is the iris's own outline or pupil
        upper = (yy + 0.5) < cy - 0.2 * ry
        iris = eye & inside & (~dark_neutral | (d <= 0.35) | ~upper)
    white &= ~iris
    lash_core = eye & ~iris & ~white & (L < 0.55 * ctx.skin_L)
    if iris.any():
        # the iris's own dark outline just outside the fitted ellipse, below the lid
        # line, is iris (the lash only crosses the iris's top)
        ring = max(1.5, 2.0 * ctx.unit)
        near = d <= (1.0 + ring / max(min(rx, ry), 1.0)) ** 2
        low = (np.mgrid[0:eye.shape[0], 0:eye.shape[1]][0] + 0.5) > cy - 0.2 * ry
        outline = lash_core & near & low
        iris |= outline
        lash_core &= ~outline
    if iris.any() and lash_core.any():
        # the iris outline reaches just past the fitted ellipse: dark pixels there
        # with the iris's hue (not the lash's) belong to the iris
        a, b = ctx.a[sl].astype(np.float32), ctx.b[sl].astype(np.float32)
        dark_iris = iris & (L < 0.55 * ctx.skin_L)
        ref = dark_iris if dark_iris.sum() >= 4 else iris
        ia, ib = float(np.median(a[ref])), float(np.median(b[ref]))
        far = lash_core & ~(cv2.dilate(iris.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0)
        la, lb = (float(np.median(a[far])), float(np.median(b[far]))) if far.any() else (0.0, 0.0)
        if np.hypot(ia - la, ib - lb) >= 10:
            reach = 1.0 + 2.0 * max(2.0, 3.0 * ctx.unit) / max(min(rx, ry), 1.0)
            iris_hue = np.hypot(a - ia, b - ib) < np.hypot(a - la, b - lb)
            to_iris = lash_core & (d <= reach) & iris_hue
            iris |= to_iris
            lash_core &= ~to_iris
            # and the lash's anti-aliased edge crossing the iris top belongs to the lash
            near_lash = cv2.dilate(lash_core.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
            to_lash = (iris & near_lash & (L < 0.55 * ctx.skin_L) & (d > 0.35)
                       & (np.hypot(a - la, b - lb) < np.hypot(a - ia, b - ib)))
            iris &= ~to_lash
            lash_core |= to_lash
    rest = eye & ~iris & ~white & ~lash_core
    if rest.any() and (white.any() or lash_core.any()):
        # anti-aliased in-betweens go to the nearer of eyewhite and lash
        dw = cv2.distanceTransform((~white).astype(np.uint8), cv2.DIST_L2, 3) if white.any() else None
        dl = cv2.distanceTransform((~lash_core).astype(np.uint8), cv2.DIST_L2, 3) if lash_core.any() else None
        if dw is None:
            to_lash = rest
        elif dl is None:
            to_lash = np.zeros_like(rest)
        else:
            to_lash = rest & (dl <= dw)
        lash_core |= to_lash
        white |= rest & ~to_lash
    out = {}
    for name, m in (("eyewhite", white), ("irides", iris), ("eyelash", lash_core)):
        full = np.zeros_like(ctx.fg)
        full[sl] = m
        out[name] = full
    return out


def _trim_to_ink(ctx: _Context, m: Optional[np.ndarray]) -> Optional[np.ndarray]:
    """Keep the pixels of a dark feature on skin that are at least half ink
    (anti-aliased rims that are mostly skin stay with the face)."""
    if m is None or not m.any():
        return m
    Ls = ctx.L[m]
    ink = float(np.percentile(Ls, 20))
    if ink >= ctx.skin_L - 10:
        return m
    keep = m & (ctx.L <= 0.5 * (ink + ctx.skin_L))
    return keep if keep.any() else m


def _cut_mouth(ctx: _Context) -> Optional[np.ndarray]:
    box = ctx.lm.mouth
    x0, y0, x1, y1 = _window(box, 0.6, 1.2, 0.6, 1.2, ctx.fg.shape)
    sl = (slice(y0, y1), slice(x0, x1))
    cand = ctx.fg[sl] & ~ctx.skin[sl] & ~ctx.features[sl]
    core = np.zeros_like(cand)
    bx0, by0, bx1, by1 = box
    core[max(0, by0 - y0):max(0, by1 - y0), max(0, bx0 - x0):max(0, bx1 - x0)] = True
    found = _inner_components(cand, int(4 * ctx.unit ** 2), require=core)
    if not found.any():
        return None
    out = np.zeros_like(ctx.fg)
    out[sl] = found
    return out


def _cut_nose(ctx: _Context) -> Optional[np.ndarray]:
    nx, ny = ctx.lm.nose
    r = 28 * ctx.unit
    box = (int(nx - r), int(ny - r), int(nx + r), int(ny + r))
    x0, y0, x1, y1 = _window(box, 0, 0, 0, 0, ctx.fg.shape)
    sl = (slice(y0, y1), slice(x0, x1))
    darker = ctx.L[sl] < ctx.skin_L - 38
    cand = ctx.fg[sl] & darker & ~ctx.features[sl]
    found = _inner_components(cand, max(2, int(3 * ctx.unit ** 2)))
    if not found.any():
        return None
    n, lab, st, cents = _components_in(found)
    d = [np.hypot(cents[i][0] + x0 - nx, cents[i][1] + y0 - ny) for i in range(1, n)]
    best = 1 + int(np.argmin(d))
    if d[best - 1] > r:
        return None
    out = np.zeros_like(ctx.fg)
    out[sl] = lab == best
    return out


# --------------------------------------------------------------------------- regions
def _line_art(ctx: _Context, region: np.ndarray) -> np.ndarray:
    """Strokes: pixels clearly darker than what surrounds them within a stroke width
    (a black-hat filter), so outlines are found next to dark hair too."""
    k = max(5, int(round(13 * ctx.unit)) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    L = ctx.L.astype(np.uint8)
    blackhat = cv2.morphologyEx(L, cv2.MORPH_BLACKHAT, kernel)
    return region & (blackhat > LINE_CONTRAST) & (ctx.L < 0.75 * ctx.skin_L)


def _colour_edges(ctx: _Context) -> np.ndarray:
    """Pixels on a colour step (anti-aliased borders between flat colours)."""
    mag = np.zeros((ctx.h, ctx.w), np.float32)
    for ch in (ctx.L, ctx.a, ctx.b):
        c = ch.astype(np.float32)
        gx = cv2.Sobel(c, cv2.CV_32F, 1, 0, ksize=3)
        gy = cv2.Sobel(c, cv2.CV_32F, 0, 1, ksize=3)
        np.maximum(mag, np.abs(gx) + np.abs(gy), out=mag)
    return mag > EDGE_THRESHOLD


def _classify_regions(ctx: _Context, region: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Label flat regions of `region`; returns (class map of tag keys as int, line mask)."""
    idx = _label_index()
    lm = ctx.lm
    line = _line_art(ctx, region)
    flat = region & ~line & ~_colour_edges(ctx)
    n, lab, st, cents = _components_in(flat)
    # thin flat regions (outline strokes in a lighter colour) are line art too
    dist = cv2.distanceTransform(flat.astype(np.uint8), cv2.DIST_L2, 3)
    max_dist = np.zeros(n, np.float32)
    np.maximum.at(max_dist, lab.ravel(), dist.ravel())
    counts = np.maximum(st[:, cv2.CC_STAT_AREA], 1).astype(np.float64)
    mean_L = np.bincount(lab.ravel(), ctx.L.ravel(), n) / counts
    mean_a = np.bincount(lab.ravel(), ctx.a.ravel(), n) / counts
    mean_b = np.bincount(lab.ravel(), ctx.b.ravel(), n) / counts
    skin_share = np.bincount(lab.ravel(), ctx.skin.ravel().astype(np.float64), n) / counts
    hair = cv2.cvtColor(np.uint8([[lm.hair_rgb]]), cv2.COLOR_RGB2LAB)[0, 0].astype(int) - (0, 128, 128)
    fx0, fy0, fx1, fy1 = lm.face_box
    chin_y = lm.chin[1]
    eye_y = 0.5 * (lm.eye_l[1] + lm.eye_l[3] + lm.eye_r[1] + lm.eye_r[3]) / 2.0
    cx_face = 0.5 * (lm.eye_l[0] + lm.eye_l[2] + lm.eye_r[0] + lm.eye_r[2]) / 2.0
    face_half = max(lm.eye_l[2] - cx_face, cx_face - lm.eye_r[0]) * 1.15
    # ears lie beyond the eyes' outer corners along the line through the eyes (so a
    # tilted head's raised ear is not taken for the face's edge)
    el = (0.5 * (lm.eye_l[0] + lm.eye_l[2]), 0.5 * (lm.eye_l[1] + lm.eye_l[3]))
    er = (0.5 * (lm.eye_r[0] + lm.eye_r[2]), 0.5 * (lm.eye_r[1] + lm.eye_r[3]))
    ux, uy = el[0] - er[0], el[1] - er[1]
    norm = max(np.hypot(ux, uy), 1e-6)
    ux, uy = ux / norm, uy / norm
    cy_face = 0.5 * (el[1] + er[1])

    def along_eyes(px: float, py: float) -> float:
        return (px - cx_face) * ux + (py - cy_face) * uy
    ear_reach = 1.15 * max(along_eyes(lm.eye_l[2], el[1]), -along_eyes(lm.eye_r[0], er[1]))
    skin_ref = np.array([ctx.skin_L, *(cv2.cvtColor(np.uint8([[lm.skin_rgb]]), cv2.COLOR_RGB2LAB)[0, 0, 1:]
                                        .astype(int) - 128)], np.float64)
    brow_y = min(lm.eye_l[1], lm.eye_r[1]) - 0.8 * max(lm.eye_l[3] - lm.eye_l[1], lm.eye_r[3] - lm.eye_r[1])
    cls = np.full(n, UNASSIGNED, np.int32)
    hair_regions = []
    thin = 2.5 * ctx.unit
    for i in range(1, n):
        if max_dist[i] <= thin:
            continue  # treated as line art
        x, y, bw, bh, area = st[i]
        cx, cy = cents[i]
        d_skin = np.hypot(mean_a[i] - skin_ref[1], mean_b[i] - skin_ref[2]) + 0.5 * abs(mean_L[i] - skin_ref[0])
        d_hair = np.hypot(mean_a[i] - hair[1], mean_b[i] - hair[2]) + 0.5 * abs(mean_L[i] - hair[0])
        # blonde or pink hair passes for skin: a large region nearer the hair colour
        # than the skin colour, reaching above the brows, is hair
        skin_like = skin_share[i] >= 0.5 and not (d_hair < 0.7 * d_skin and y < brow_y)
        if skin_like:
            if cy > chin_y + 0.02 * (fy1 - fy0):
                cls[i] = idx[("neck", "")]
            elif abs(along_eyes(cx, cy)) > ear_reach and area < 0.15 * (fx1 - fx0) ** 2:
                cls[i] = idx[("ears", "r" if along_eyes(cx, cy) < 0 else "l")]
            else:
                cls[i] = idx[("face", "")]
            continue
        dab = np.hypot(mean_a[i] - hair[1], mean_b[i] - hair[2])
        hair_like = dab <= 22 and hair[0] - 60 <= mean_L[i] <= hair[0] + 70
        # clothes of the hair's hue: a region starting below the chin, centred under
        # the face, is the body (hair hangs beside it or ends above it)
        body_like = y > chin_y + 0.03 * (fy1 - fy0) and abs(cx - cx_face) < 0.8 * face_half
        if (hair_like and not body_like) or cy < chin_y - 0.15 * (chin_y - eye_y):
            hair_regions.append(i)
        else:
            cls[i] = idx[("topwear", "")]
    if hair_regions:
        # shading splits hair into many flat regions; pieces only dark line art
        # separates are the hair parts (front fringe and locks vs. back hair)
        is_hair = np.zeros(n, bool)
        is_hair[hair_regions] = True
        hair_px = is_hair[lab].astype(np.uint8)
        thin_px = (max_dist <= thin)[lab] & (lab > 0)
        bridged = cv2.dilate(hair_px, np.ones((5, 5), np.uint8)).astype(bool) & region & ~line & ~thin_px
        gn, glab, gst, gcents = _components_in(bridged)
        # each hair region joins the group holding most of its pixels
        counts_rg = {}
        sel = hair_px.astype(bool) & (glab > 0)
        pairs = lab[sel].astype(np.int64) * (gn + 1) + glab[sel]
        uniq, cnt = np.unique(pairs, return_counts=True)
        for u, c in zip(uniq, cnt):
            r, g = divmod(int(u), gn + 1)
            if c > counts_rg.get(r, (0, 0))[0]:
                counts_rg[r] = (c, g)
        group_of = {r: counts_rg.get(r, (0, 0))[1] for r in hair_regions}
        largest = 1 + int(np.argmax(gst[1:, cv2.CC_STAT_AREA])) if gn > 1 else 0
        front_group = np.zeros(gn, bool)
        for g in range(1, gn):
            front_group[g] = g == largest or gcents[g][1] < eye_y
        for i in hair_regions:
            front = front_group[group_of[i]] if group_of[i] > 0 else cents[i][1] < eye_y
            cls[i] = idx[("front hair", "")] if front else idx[("back hair", "")]
    cls_full = np.where(lab > 0, cls[lab], UNASSIGNED)
    thin_regions = (max_dist <= thin)
    thin_regions[0] = False
    return cls_full.astype(np.int32), line | thin_regions[lab]


def _claim_lines(ctx: _Context, cls: np.ndarray, line: np.ndarray, strokes: np.ndarray) -> None:
    """Give unassigned pixels (`line`: strokes and anti-aliased rims) to the front-most
    neighbouring part (in place): first those within a stroke width of it, then the
    rest of the dark `strokes` running on from it (pointed hair tips are all outline)."""
    idx = _label_index()
    steps = max(2, int(np.ceil(7 * ctx.unit)))
    more = 2 * steps
    kernel = np.ones((3, 3), np.uint8)
    free = line.copy()
    for tag in LINE_OWNERS:
        keys = [k for k in DEPTH_ORDER if k[0] == tag]
        for key in keys:
            own = cls == idx[key]
            if not own.any():
                continue
            ys, xs = np.nonzero(own)
            reach = steps + more + 2
            y0, y1 = max(0, ys.min() - reach), min(cls.shape[0], ys.max() + reach)
            x0, x1 = max(0, xs.min() - reach), min(cls.shape[1], xs.max() + reach)
            sl = (slice(y0, y1), slice(x0, x1))
            grown = own[sl].astype(np.uint8)
            allowed = (own[sl] | free[sl]).astype(np.uint8)
            for _ in range(steps):
                grown = cv2.dilate(grown, kernel) & allowed
            if tag == "front hair":  # only the front-most part runs on along its strokes
                allowed = (grown.astype(bool) | (free[sl] & strokes[sl])).astype(np.uint8)
                for _ in range(more):
                    grown = cv2.dilate(grown, kernel) & allowed
            claimed = grown.astype(bool) & free[sl]
            cls[sl][claimed] = idx[key]
            free[sl] &= ~claimed


def _fill_nearest(cls: np.ndarray, todo: np.ndarray, sources: np.ndarray) -> None:
    """Pixels in `todo` take the class of the nearest `sources` pixel (in place)."""
    assigned = sources & (cls != UNASSIGNED)
    if not todo.any() or not assigned.any():
        return
    ys, xs = np.nonzero(todo)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    pad = 32
    y0, x0 = max(0, y0 - pad), max(0, x0 - pad)
    y1, x1 = min(cls.shape[0], y1 + pad), min(cls.shape[1], x1 + pad)
    sub = cls[y0:y1, x0:x1]
    src = (~assigned[y0:y1, x0:x1]).astype(np.uint8)
    if src.all():
        return
    _, labels = cv2.distanceTransformWithLabels(src, cv2.DIST_L2, 3, labelType=cv2.DIST_LABEL_PIXEL)
    zero_classes = sub[src == 0]  # labels number zero pixels in scan order, from 1
    nearest = zero_classes[labels - 1]
    t = todo[y0:y1, x0:x1]
    sub[t] = nearest[t]


def _layer_from_mask(rgba: np.ndarray, mask: np.ndarray, visible: np.ndarray, tag: str,
                     side: str) -> Optional[Layer]:
    if not (mask & visible).any():
        return None
    ys, xs = np.nonzero(mask)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    m = mask[y0:y1, x0:x1]
    img = rgba[y0:y1, x0:x1].copy()
    if img.shape[2] == 3:
        img = np.dstack([img, np.full(img.shape[:2], 255, np.uint8)])
    img[~m] = 0
    return Layer(id=layer_id(tag, side), tag=tag, image=img, x=int(x0), y=int(y0), side=side,
                 visible_mask=m & visible[y0:y1, x0:x1])


def decompose(rgba: np.ndarray, mask: np.ndarray, lm: FaceLandmarks) -> List[Layer]:
    """Tagged layers, back to front, holding only the visible pixels of each part."""
    rgba = np.asarray(rgba)
    if rgba.ndim != 3 or rgba.shape[2] not in (3, 4) or rgba.shape[:2] != mask.shape:
        raise DecomposeError("image and foreground mask do not match")
    if not mask.any():
        raise DecomposeError("the foreground mask is empty: nothing to split into parts")
    face_w = lm.face_box[2] - lm.face_box[0]
    if face_w < MIN_FACE_WIDTH:
        raise DecomposeError(
            f"the face is only {face_w} px wide; at least {MIN_FACE_WIDTH} px are needed to split "
            "eyes, brows and mouth: use a larger image (or a closer crop of the character)")
    ctx = _Context(rgba, mask, lm)
    idx = _label_index()
    cls = np.full(mask.shape, UNASSIGNED, np.int32)

    def put(m: Optional[np.ndarray], key: Tuple[str, str]) -> None:
        if m is None:
            return
        m = m & ~ctx.features & ctx.fg
        cls[m] = idx[key]
        ctx.features |= m

    brows = {side: _trim_to_ink(ctx, _cut_brow(ctx, side)) for side in ("r", "l")}
    for side, other in (("r", "l"), ("l", "r")):
        if (brows[side] is None or not brows[side].any()) and brows[other] is not None and brows[other].any():
            # a brow touching the fringe merges with it: find it as the mirror of the other
            brows[side] = _trim_to_ink(ctx, _cut_brow_like(ctx, side, brows[other]))
    for side in ("r", "l"):
        put(brows[side], ("eyebrow", side))
    for side in ("r", "l"):
        parts = _cut_eye(ctx, side)
        if parts is None:
            lm.warnings.append(f"the character's {'right' if side == 'r' else 'left'} eye was not "
                               "found where the landmarks put it")
            continue
        for name in ("irides", "eyelash", "eyewhite"):
            put(parts[name], (name, side))
    put(_trim_to_ink(ctx, _cut_mouth(ctx)), ("mouth", ""))
    put(_trim_to_ink(ctx, _cut_nose(ctx)), ("nose", ""))

    region = ctx.fg & ~ctx.features
    region_cls, line = _classify_regions(ctx, region)
    cls[region] = region_cls[region]
    # strokes and the anti-aliased rims along them go to the front-most neighbour
    _claim_lines(ctx, cls, ctx.fg & ~ctx.features & (cls == UNASSIGNED), line)
    _fill_nearest(cls, ctx.fg & (cls == UNASSIGNED), ~ctx.features)
    if has_meaningful_alpha(rgba):
        # the soft rim of a transparent image (alpha below the cut) joins the nearest part
        # so edges stay anti-aliased; it is not counted as visible
        near = cv2.dilate(ctx.fg.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
        soft = (rgba[..., 3] > 0) & ~ctx.fg & near
        if soft.any():
            _fill_nearest(cls, soft, ctx.fg & ~ctx.features)

    layers: List[Layer] = []
    for key in DEPTH_ORDER:
        layer = _layer_from_mask(rgba, cls == idx[key], ctx.fg, *key)
        if layer is None:
            continue
        layers.append(layer)
    ids = {l.id for l in layers}
    for layer in layers:
        if layer.tag == "irides" and layer_id("eyewhite", layer.side) in ids:
            layer.clip_to = layer_id("eyewhite", layer.side)
    missing = [t for t in ("face", "eyewhite", "irides", "mouth") if t not in {l.tag for l in layers}]
    if "face" in missing:
        raise DecomposeError("no face skin found where the landmarks put the face")
    for tag in missing:
        lm.warnings.append(f"no {tag} layer found")
    return layers
