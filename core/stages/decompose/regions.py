# SPDX-License-Identifier: GPL-3.0-or-later
"""Everything that is not a feature: flat colour regions bounded by line art,
each classified by colour (skin-like, hair-like, other) and position (above or
below the chin, beside the face) as face, neck, ears, hair or topwear; then
line art goes to the front-most neighbouring part and anything left to the
nearest part."""
from __future__ import annotations

from typing import Tuple

import cv2
import numpy as np

from .context import (DEPTH_ORDER, EDGE_THRESHOLD, LINE_CONTRAST, LINE_OWNERS, UNASSIGNED, _Context,
                      _components_in, _label_index)
from .hair import assign_hair


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
        assign_hair(ctx, cls, lab, hair_regions, max_dist, cents, region, line, thin, eye_y)
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

