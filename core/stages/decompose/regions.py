# SPDX-License-Identifier: GPL-3.0-or-later
"""Everything that is not a feature: flat colour regions bounded by line art,
each classified by colour (skin-like, hair-like, other) and position (above or
below the chin, beside the face) as face, neck, ears, hair or topwear; then
line art goes to the front-most neighbouring part and anything left to the
nearest part."""

from __future__ import annotations


import cv2
import numpy as np

from .context import (
    DEPTH_ORDER,
    EDGE_THRESHOLD,
    LINE_CONTRAST,
    LINE_OWNERS,
    UNASSIGNED,
    _Context,
    _components_in,
    _label_index,
    hair_lab,
)
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


def _seed_points(ctx: _Context, region: np.ndarray):
    """(part, x, y) points that most likely belong to a part, from the
    landmarks: the cheeks and the bridge of the nose (face), the top of the
    head above the face (hair) and the middle of the body."""
    lm = ctx.lm
    fx0, fy0, fx1, fy1 = lm.face_box
    fw, fh = fx1 - fx0, fy1 - fy0
    eyes = [lm.eye_r, lm.eye_l]
    eye_bottom = max(e[3] for e in eyes)
    mouth_top = max(lm.mouth[1], eye_bottom + 2)
    cx = lm.face_centre_x
    points = []
    for e in eyes:
        ex = 0.5 * (e[0] + e[2])
        points.append(("face", ex, eye_bottom + 0.45 * (mouth_top - eye_bottom)))
    points.append(("face", cx, 0.5 * (eye_bottom + mouth_top)))
    ys_top = []
    for frac in (0.3, 0.5, 0.7):
        x = int(fx0 + frac * fw)
        if 0 <= x < ctx.w:
            column = np.nonzero(region[: max(1, int(fy0)), x])[0]
            if len(column):
                ys_top.append((x, int(column.min())))
    for x, top in ys_top:
        for share in (0.25, 0.5):
            points.append(("hair", x, top + share * max(min(fy0, lm.eye_r[1], lm.eye_l[1]) - top, 1)))
    ys = np.nonzero(region.any(axis=1))[0]
    bottom = int(ys.max()) if len(ys) else ctx.h - 1
    body_y = lm.chin[1] + 1.0 * fh
    if body_y > bottom - 0.05 * fh:
        body_y = lm.chin[1] + 0.6 * (bottom - lm.chin[1])
    if body_y > lm.chin[1] + 0.4 * fh:
        for dx in (-0.3, 0.0, 0.3, -0.15, 0.15):
            points.append(("body", cx + dx * fw, body_y))
        lower = min(lm.chin[1] + 1.6 * fh, bottom - 0.1 * fh)
        if lower > body_y:
            points.append(("body", cx, lower))
    if bottom > lm.chin[1] + 3.0 * fh:  # a full figure: its lowest part is body, not hair
        for dx in (-0.25, 0.0, 0.25):
            points.append(("body", cx + dx * fw, bottom - 0.04 * (bottom - lm.chin[1])))
            points.append(("body", cx + dx * fw, lm.chin[1] + 0.7 * (bottom - lm.chin[1])))
    return points


PARTS = ("face", "neck", "hair", "body")


def _seed_mask(ctx: _Context, region: np.ndarray, features: np.ndarray) -> np.ndarray:
    """Watershed markers: 1 + index in PARTS at the seed points (small discs),
    0 elsewhere.  A seed
    whose colour says it lies on another part (a lock of hair over the cheek, a
    strand over the chest) is left out."""
    lm = ctx.lm
    fh = lm.face_box[3] - lm.face_box[1]
    markers = np.zeros(region.shape, np.int32)
    r = max(2, int(round(4 * ctx.unit)))
    skin = np.array([ctx.skin_L, *ctx.skin_ab], np.float64)
    points = [
        p
        for p in _seed_points(ctx, region)
        if 0 <= int(round(p[1])) < ctx.w
        and 0 <= int(round(p[2])) < ctx.h
        and region[int(round(p[2])), int(round(p[1]))]
    ]
    # the hair's colour (the landmarks' estimate from the fringe): hair seeds of
    # another colour lie on a hat or a hood, and body seeds of its colour on a strand
    hair = hair_lab(lm, np.float64)
    neck = _neck_point(ctx, region, skin)
    if neck is not None:
        points.append(("neck",) + neck)
    # under the neck: clothes, unless it is skin (a long neck)
    jaw = jaw_line_point(ctx, region)
    below = jaw[0], jaw[1] + 0.55 * fh
    bx, by = int(round(below[0])), int(round(below[1]))
    if 0 <= bx < ctx.w and 0 <= by < ctx.h and region[by, bx]:
        hue = np.hypot(ctx.a[by, bx] - skin[1], ctx.b[by, bx] - skin[2])
        if hue > 12 or abs(float(ctx.L[by, bx]) - skin[0]) > 40:  # not skin: a collar, a shirt
            points.append(("body",) + below)

    def put(part, x, y):
        disc = np.zeros_like(markers, np.uint8)
        cv2.circle(disc, (x, y), r, 1, -1)
        markers[(disc > 0) & region & (markers == 0)] = 1 + PARTS.index(part)

    for part, x, y in points:
        xi, yi = int(round(x)), int(round(y))
        if not (0 <= xi < ctx.w and 0 <= yi < ctx.h) or not region[yi, xi]:
            continue
        here = np.array([ctx.L[yi, xi], ctx.a[yi, xi], ctx.b[yi, xi]], np.float64)
        if part == "face" and _lab_distance(here, skin) > 28:
            continue
        if part == "hair" and _lab_distance(here, hair) > 30:
            continue
        if part == "body" and _lab_distance(here, hair) <= 20:
            continue  # a strand of hair over the chest
        put(part, xi, yi)
    markers[~region] = 0  # the background and the features: walls (see _watershed_parts)
    return markers


def _lab_distance(p: np.ndarray, q: np.ndarray) -> float:
    return float(np.hypot(p[1] - q[1], p[2] - q[2]) + 0.5 * abs(p[0] - q[0]))


def _neck_point(ctx: _Context, region: np.ndarray, skin: np.ndarray):
    """A point of the neck's skin just under the chin: the nearest pixel to the
    chin, below it, of the skin's hue (shaded or lit), or None."""
    lm = ctx.lm
    fw, fh = lm.face_box[2] - lm.face_box[0], lm.face_box[3] - lm.face_box[1]
    cx, cy = jaw_line_point(ctx, region)
    x0, x1 = int(max(0, cx - 0.15 * fw)), int(min(ctx.w, cx + 0.15 * fw + 1))
    y0, y1 = int(max(0, cy + 0.03 * fh)), int(min(ctx.h, cy + 0.3 * fh + 1))
    if x1 <= x0 or y1 <= y0:
        return None
    sl = (slice(y0, y1), slice(x0, x1))
    hue = np.hypot(ctx.a[sl] - skin[1], ctx.b[sl] - skin[2])
    dl = ctx.L[sl].astype(np.float64) - skin[0]
    ok = region[sl] & (hue <= 14) & (dl >= -70) & (dl <= 12)
    if not ok.any():
        return None
    ys, xs = np.nonzero(ok)
    d = np.hypot(xs + x0 - cx, ys + y0 - cy)
    k = int(np.argmin(d))
    return float(xs[k] + x0), float(ys[k] + y0)


def jaw_line_point(ctx: _Context, region: np.ndarray) -> tuple:
    """Where the jaw line crosses the face's middle below the mouth: the first
    dark stroke met going down from under the mouth (the landmarks' chin point is
    often the mouth's or a shadow's).  The landmarks' chin when no stroke is
    found (a soft painting without a drawn jaw)."""
    lm = ctx.lm
    fh = lm.face_box[3] - lm.face_box[1]
    x = int(round(0.5 * (lm.mouth[0] + lm.mouth[2])))
    eye_y = 0.25 * (lm.eye_l[1] + lm.eye_l[3] + lm.eye_r[1] + lm.eye_r[3])
    start = int(round(lm.mouth[3] + 0.2 * max(lm.mouth[3] - eye_y, 4)))
    stop = int(round(min(ctx.h - 1, lm.face_box[3] + 0.35 * fh)))
    if not (0 <= x < ctx.w) or start >= stop:
        return lm.chin
    band = slice(max(0, x - 1), min(ctx.w, x + 2))
    column = ctx.L[start:stop, band].astype(np.float64).min(axis=1)
    dark = np.nonzero(column < ctx.skin_L - LINE_CONTRAST - 10)[0]
    if not len(dark):
        return lm.chin
    return (x, start + int(dark[0]))


def _watershed_parts(ctx: _Context, region: np.ndarray, features: np.ndarray, line: np.ndarray) -> np.ndarray:
    """(H, W) int: index into PARTS of every pixel of `region` (-1: undecided),
    by a seeded watershed: each part floods out from its seeds over a height
    map of colour steps and strokes, lowest step first, and stops where it
    meets another.  Hair shading is a low wall, an
    outline between hair and clothes or skin and hair a high one; strokes are
    widened a little so the gaps of a sketchy line do not let one part flood
    into the next.  The background and the features are walls no part crosses."""
    markers = _seed_mask(ctx, region, features)
    if not (markers[region] > 0).any():
        return np.full(region.shape, -1, np.int32)
    grad = np.zeros((ctx.h, ctx.w), np.float32)
    for ch in (ctx.L, ctx.a, ctx.b):
        c = ch.astype(np.float32)
        np.maximum(
            grad,
            np.abs(cv2.Sobel(c, cv2.CV_32F, 1, 0, ksize=3)) + np.abs(cv2.Sobel(c, cv2.CV_32F, 0, 1, ksize=3)),
            out=grad,
        )
    k = max(3, int(round(13 * ctx.unit)) | 1)
    blackhat = cv2.morphologyEx(
        ctx.L.astype(np.uint8), cv2.MORPH_BLACKHAT, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    ).astype(np.float32)
    r = max(1, int(round(1.5 * ctx.unit)))
    walls = cv2.dilate(blackhat, np.ones((2 * r + 1, 2 * r + 1), np.uint8))
    height = np.clip(0.2 * grad + 0.8 * walls, 0, 254).astype(np.uint8)
    height[~region] = 255
    flooded = seeded_flood(height, markers, region)
    out = flooded.astype(np.int32) - 1
    out[(flooded <= 0) | (flooded > len(PARTS)) | ~region] = -1
    return out


FLOOD_LEVELS = 32


def seeded_flood(
    height: np.ndarray, markers: np.ndarray, region: np.ndarray, levels: int = FLOOD_LEVELS
) -> np.ndarray:
    """Seeded watershed with the barrier semantics of a flood: a pixel's label
    is the seed it is joined to by the path whose highest point is lowest.
    The height is taken in `levels` steps; at each, every connected area of
    pixels at or below it takes the one label it holds, and an area holding
    several is split between them by distance to their pixels.  Walls are
    never travelled along (a wall is as hard to cross at its end as in its
    middle), unlike a flood by neighbour differences."""
    labels = np.where(region, markers, 0).astype(np.int32)
    q = (height.astype(np.int32) * levels) // 256
    for level in range(levels):
        allowed = region & (q <= level)
        if not allowed.any():
            continue
        n, comp = cv2.connectedComponents(allowed.astype(np.uint8), connectivity=8)
        held = (labels > 0) & allowed
        if not held.any():
            continue
        pairs = np.unique(comp[held].astype(np.int64) * 64 + labels[held])
        owners = np.zeros(n, np.int64)
        count = np.zeros(n, np.int64)
        np.add.at(count, pairs // 64, 1)
        owners[pairs // 64] = pairs % 64
        todo = allowed & (labels == 0)
        single = (count == 1)[comp] & todo
        labels[single] = owners[comp[single]]
        for c in np.nonzero(count > 1)[0]:
            area = comp == c
            ys, xs = np.nonzero(area)
            y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
            sub = labels[y0:y1, x0:x1]
            inside = area[y0:y1, x0:x1]
            known = inside & (sub > 0)
            open_ = inside & (sub == 0)
            if not open_.any():
                continue
            # nearest labelled pixel of this area (within it: others are walls)
            src = (~known).astype(np.uint8)
            _, nearest = cv2.distanceTransformWithLabels(src, cv2.DIST_L2, 3, labelType=cv2.DIST_LABEL_PIXEL)
            values = sub[known]
            sub[open_] = values[nearest[open_] - 1]
    return labels


FRINGE_CELL_SHARE = 0.5  # of the distance to the skin's colour: a cell this much nearer the hair's is hair
NECK_MAX_BELOW = 0.6  # of the face height: a skin region centred further under the chin is the body
HEADWEAR_ABOVE = 0.2  # of the face height: a skin-coloured region reaching this far above the face box
HEADWEAR_IN_FACE = 0.35  # and with less of itself inside the face box is no face (a hood)
HEADWEAR_AREA = 0.3  # of the face box's area: the least such a region covers
HEADWEAR_SKIN_CHROMA = 5.0  # Lab chroma under which the skin is the paper's white (line art, sketches)
HAIR_SHADE_MIN_SHARE = 0.02  # of the largest hair region above the eyes: a shade the hair is painted in
HAIR_SHADE_REACH = 60  # Lab ab distance from the hair's colour a shadow of it may turn (a hue gradient)
HAIR_SHADE_LIGHTER = 20  # Lab L it may be lighter than the hair (a ribbon or highlight is no shadow)


def _hair_shades(
    lab_mean: np.ndarray,
    area: np.ndarray,
    cy: np.ndarray,
    usable: np.ndarray,
    skin_share: np.ndarray,
    eye_y: float,
    hair: np.ndarray,
) -> tuple[list, float]:
    """The colours (Lab means) the hair above the eyes is painted in where it
    is in shadow, and the least area a region needs to be taken as hair by
    one of them: cells no lighter than the hair's colour (HAIR_SHADE_LIGHTER)
    whose hue turns from it at most HAIR_SHADE_REACH (further than the
    hair's own colour test reaches), each at least HAIR_SHADE_MIN_SHARE of
    the largest region there, as a region so taken must be.  Hair painted
    with a hue gradient (orange in the light, magenta in shadow) is more
    than one colour; a white bow or a pale highlight above the eyes is none
    of them."""
    top = usable & (cy < eye_y) & (skin_share < 0.5)
    top[0] = False
    if not top.any():
        return [], 0.0
    big = area[top].max()
    shade = (lab_mean[:, 0] <= hair[0] + HAIR_SHADE_LIGHTER) & (
        np.hypot(lab_mean[:, 1] - hair[1], lab_mean[:, 2] - hair[2]) <= HAIR_SHADE_REACH
    )
    least = HAIR_SHADE_MIN_SHARE * big
    keep = np.nonzero(top & (area >= least) & shade)[0]
    # (a shade the hair's own colour test already takes is no other colour)
    return [tuple(lab_mean[i]) for i in keep if not _hair_coloured(*lab_mean[i], hair)], least


def _hair_coloured(L: float, a: float, b: float, hair) -> bool:
    """Of the hair's hue, and not far lighter or darker than it."""
    return bool(np.hypot(a - hair[1], b - hair[2]) <= 22 and hair[0] - 60 <= L <= hair[0] + 70)


def _classify_regions(ctx: _Context, region: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Label flat regions of `region`; returns (class map of tag keys as int, line mask).

    Skin-coloured regions are face, neck or ears by their place (the body's
    when centred more than NECK_MAX_BELOW face heights under the chin: a hand,
    or a sketch's paper-white coat the face's flood reached).  Every other
    region is hair or body by its colour and place, corrected where a seeded
    watershed (`_watershed_parts`: the part most of its pixels flood from) is
    sure: a strand of hair over the chest stays hair, a hair-coloured bow on a
    skirt is body."""
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
    hair = hair_lab(lm)
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
    skin_ref = np.array(
        [
            ctx.skin_L,
            *(cv2.cvtColor(np.uint8([[lm.skin_rgb]]), cv2.COLOR_RGB2LAB)[0, 0, 1:].astype(int) - 128),
        ],
        np.float64,
    )
    brow_y = min(lm.eye_l[1], lm.eye_r[1]) - 0.8 * max(lm.eye_l[3] - lm.eye_l[1], lm.eye_r[3] - lm.eye_r[1])
    cls = np.full(n, UNASSIGNED, np.int32)
    hair_regions = []
    thin = 2.5 * ctx.unit
    # regions wider than a stroke are classified; thin ones are line art for
    # the front-most neighbour, except thin hair-coloured ones below the chin
    # that the watershed floods from the head: the strands between the strand
    # lines of painted hair hanging over the body
    usable = max_dist > thin
    usable[0] = False
    ws = _watershed_parts(ctx, region, ctx.features, line)
    paper_skin = float(np.hypot(skin_ref[1], skin_ref[2])) < HEADWEAR_SKIN_CHROMA
    face_box_mask = np.zeros(lab.shape, bool)
    face_box_mask[max(0, int(fy0)) : max(0, int(fy1)), max(0, int(fx0)) : max(0, int(fx1))] = True
    in_face_box = np.bincount(lab[face_box_mask].ravel(), minlength=n)
    shades, shade_area = _hair_shades(
        np.stack([mean_L, mean_a, mean_b], 1),
        st[:, cv2.CC_STAT_AREA],
        cents[:, 1],
        usable,
        skin_share,
        eye_y,
        hair,
    )
    votes = np.zeros((n, len(PARTS)), np.int64)
    inside = (lab > 0) & (ws >= 0)
    np.add.at(votes, (lab[inside], ws[inside]), 1)
    grown = [PARTS[int(np.argmax(v))] if v.sum() > 0 else None for v in votes]
    for i in range(1, n):
        part = grown[i]
        if not usable[i]:
            if (
                part == "hair"
                and cents[i][1] > chin_y
                and _hair_coloured(mean_L[i], mean_a[i], mean_b[i], hair)
            ):
                usable[i] = True
                hair_regions.append(i)
            continue  # treated as line art
        x, y, bw, bh, area = st[i]
        cx, cy = cents[i]
        d_skin = np.hypot(mean_a[i] - skin_ref[1], mean_b[i] - skin_ref[2]) + 0.5 * abs(
            mean_L[i] - skin_ref[0]
        )
        d_hair = np.hypot(mean_a[i] - hair[1], mean_b[i] - hair[2]) + 0.5 * abs(mean_L[i] - hair[0])
        # blonde or pink hair passes for skin: a large region nearer the hair colour
        # than the skin colour, reaching above the brows, is hair
        skin_like = skin_share[i] >= 0.5 and not (d_hair < 0.7 * d_skin and y < brow_y)
        # and a fringe's cell hanging down into the eyes, far nearer the hair's
        # colour (light grey hair on white skin in line art)
        skin_like &= not (d_hair < FRINGE_CELL_SHARE * d_skin and y < eye_y)
        if skin_like and (
            (part == "body" and cy > chin_y + 0.3 * (fy1 - fy0)) or cy > chin_y + NECK_MAX_BELOW * (fy1 - fy0)
        ):
            # skin the body floods: arms, hands, a bare chest; and whatever lies
            # too far under the chin for a neck, wherever the flood came from
            # (paper-white clothes of a sketch, flooded from the cheeks)
            cls[i] = idx[("topwear", "")]
            continue
        if skin_like:
            if cy > chin_y + 0.02 * (fy1 - fy0):
                cls[i] = idx[("neck", "")]
            elif abs(along_eyes(cx, cy)) > ear_reach and area < 0.15 * (fx1 - fx0) ** 2:
                cls[i] = idx[("ears", "r" if along_eyes(cx, cy) < 0 else "l")]
            elif (
                paper_skin
                and y < fy0 - HEADWEAR_ABOVE * (fy1 - fy0)
                and in_face_box[i] < HEADWEAR_IN_FACE * area
                and area >= HEADWEAR_AREA * (fx1 - fx0) * (fy1 - fy0)
            ):
                # of the skin's colour but round the face, not on it, where the
                # skin is the paper's white (line art, a sketch): a large region
                # reaching far above the face's box with little of itself inside
                # it is a hood or hat (a hand raised to the head has colour)
                cls[i] = idx[("headwear", "")]
            else:
                cls[i] = idx[("face", "")]
            continue
        hair_like = _hair_coloured(mean_L[i], mean_a[i], mean_b[i], hair)
        # clothes of the hair's hue: a region starting below the chin, centred under
        # the face, is the body (hair hangs beside it or ends above it)
        body_like = y > chin_y + 0.03 * (fy1 - fy0) and abs(cx - cx_face) < 0.8 * face_half
        # what is not skin: the colour and place decide, corrected by the
        # watershed where it is sure: hair-coloured strands it floods from the
        # head stay hair over the chest, and hair-coloured things far below
        # the chin that the body floods (a bow on a skirt) are body
        by_colour = (hair_like and not body_like) or cy < chin_y - 0.15 * (chin_y - eye_y)
        far_below = cy > chin_y + 0.6 * (fy1 - fy0)
        if by_colour and not (part == "body" and far_below):
            hair_regions.append(i)
        elif part == "hair" and (
            hair_like
            or area >= shade_area
            and any(_hair_coloured(mean_L[i], mean_a[i], mean_b[i], h) for h in shades)
        ):
            # (the watershed floods it from the head, in one of the hair's own shades:
            # a lock in shadow hanging beside the body)
            hair_regions.append(i)
        else:
            cls[i] = idx[("topwear", "")]
    if hair_regions:
        assign_hair(ctx, cls, lab, hair_regions, max_dist, cents, region, line, thin, eye_y)
    cls_full = np.where(lab > 0, cls[lab], UNASSIGNED)
    thin_regions = ~usable
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
