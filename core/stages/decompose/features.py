# SPDX-License-Identifier: GPL-3.0-or-later
"""The face's features, each cut inside a window the landmarks place: brows,
eyes (split into eyewhite, iris and eyelash by colour and an iris ellipse),
mouth and nose."""

from __future__ import annotations


import cv2
import numpy as np

from ..complete.eyes import _fill_holes
from .context import LINE_CONTRAST, _Context, _components_in, _inner_components, _window, hair_lab


def _cut_brow(ctx: _Context, side: str, across_strands: bool = False) -> np.ndarray | None:
    """The brow of `side`: the stroke at the landmarks' brow box, or the nearest
    elongated one, or an outlined shape against a lock (`_brow_cell`); with
    `across_strands`, as a last resort (after the other brow's mirror image),
    one drawn across the fringe's strands.  A candidate that is the eye's own
    upper lash (`_caps_the_eye`) is passed over."""
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
    core[max(0, by0 - y0) : max(0, by1 - y0), max(0, bx0 - x0) : max(0, bx1 - x0)] = True
    min_area = int(6 * ctx.unit**2)
    # (a way to look, whether what it finds is a whole stroke: a whole upper
    # lash found instead of a brow widens the eye's box up to its top)
    attempts = [
        (lambda: _inner_components(cand, min_area, require=core), True),
        (
            lambda: _line_near(
                cand,
                core,
                min_area,
                max_height=0.6 * eye_h,
                reach=0.5 * (bx1 - bx0),
                free_sides=("left", "right", "bottom"),
            ),
            True,
        ),
        (lambda: _brow_cell(ctx, sl, cand, core, min_area, eye_h), False),
    ]
    if across_strands:
        attempts.append(
            (
                lambda: _brow_across_strands(
                    cand, core, min_area, eye_h, bottom=int(eye[1] - 0.15 * eye_h) - y0, unit=ctx.unit
                ),
                False,
            )
        )
    for attempt, whole_stroke in attempts:
        found = attempt()
        if found is None or not found.any():
            continue
        out = np.zeros_like(ctx.fg)
        out[sl] = found
        if _caps_the_eye(ctx, out, eye):
            # the eye's own upper lash: look on for the brow
            top = int(np.nonzero(out.any(axis=1))[0][0])
            if whole_stroke and top >= eye[1] - LASH_REACH * eye_h:
                ctx.lash_tops[side] = min(top, ctx.lash_tops.get(side, top))
            continue
        return out
    return None


LASH_REACH = 0.4  # of the eye height: how far above the eye box an upper lash may start
LASH_NOT_BROW = 0.3  # share of a brow candidate's columns with the eye's colours right below


def _caps_the_eye(ctx: _Context, found: np.ndarray, eye) -> bool:
    """Whether a brow candidate is the eye's upper lash instead (the landmarks'
    eye box starting at the iris): right below much of it, inside the eye box,
    lies the eye itself (iris, no skin between), where a brow has a band of skin
    between it and the lash."""
    ex0, ey0, ex1, ey1 = (int(round(v)) for v in eye)
    eye_h = max(ey1 - ey0, 1)
    ys, xs = np.nonzero(found)
    cols = np.unique(xs[(xs >= ex0) & (xs < ex1)])
    if len(cols) < 3:
        return False
    bottom = np.full(ctx.w, -1)
    np.maximum.at(bottom, xs, ys)
    reach = max(2, int(round(0.12 * eye_h)))
    eye_colour = ctx.fg & ~ctx.skin & ~found & ~ctx.features
    hits = 0
    for x in cols:
        y0 = max(bottom[x] + 1, ey0)
        y1 = min(bottom[x] + 1 + reach, ey1, ctx.h)
        if y1 > y0 and eye_colour[y0:y1, x].any():
            hits += 1
    return hits >= LASH_NOT_BROW * len(cols)


BROW_CELL_MIN, BROW_CELL_MAX = 0.03, 0.6  # of the eye box's area: a brow's fill is within these
BROW_CELL_SLANT = 60.0  # degrees from level a brow drawn as a cell may slant
BROW_CELL_ON_SKIN = 0.5  # share of skin just outside its outline


def _brow_cell(ctx: _Context, sl, cand: np.ndarray, core: np.ndarray, min_area: int, eye_h: float):
    """A brow drawn as an outlined shape that touches the hair (line art: a brow
    of the hair's colour against a lock): one fill cell inside its outline,
    within the brow box's window and clear of its edges, elongated and lying
    within BROW_CELL_SLANT degrees of level, mostly on skin, with the outline
    around it."""
    L = ctx.L[sl].astype(np.uint8)
    k = max(3, int(round(9 * ctx.unit)) | 1)
    lines = cv2.morphologyEx(L, cv2.MORPH_BLACKHAT, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    line = lines > LINE_CONTRAST
    cells = cand & ~line
    n, lab, st, _ = _components_in(cells)
    h, w = cand.shape
    ys, xs = np.nonzero(core)
    if not len(xs):
        return None
    box_area = (xs.max() - xs.min() + 1) * max(eye_h, 1.0)
    outline = max(1, int(round(2 * ctx.unit)))
    best, best_area = 0, 0
    hit = np.zeros(n, bool)
    hit[np.unique(lab[core & (lab > 0)])] = True
    for i in np.nonzero(hit)[0]:
        x, y, bw, bh, area = st[i]
        if x == 0 or y == 0 or x + bw >= w or y + bh >= h:
            continue  # runs out of the window: hair, not a brow
        if (
            area < max(min_area, BROW_CELL_MIN * box_area)
            or area > BROW_CELL_MAX * box_area
            or bh > 0.8 * eye_h
        ):
            continue
        # elongated and not hanging (a brow slants, an angry one steeply; a strand hangs)
        cell = lab == i
        (_, _), (rw, rh), angle = cv2.minAreaRect(cv2.findNonZero(cell.astype(np.uint8)))
        long_axis = angle if rw >= rh else angle + 90.0
        slant = abs((long_axis + 90.0) % 180.0 - 90.0)
        if max(rw, rh) < 1.8 * max(min(rw, rh), 1.0) or slant > BROW_CELL_SLANT:
            continue
        # a brow lies on skin (it may touch a lock at one end); a cell between a
        # fringe's strand lines has hair all round it
        near = cv2.dilate(cell.astype(np.uint8), np.ones((2 * outline + 3,) * 2, np.uint8)).astype(bool)
        band = near & ~cv2.dilate(cell.astype(np.uint8), np.ones((2 * outline + 1,) * 2, np.uint8)).astype(
            bool
        )
        if ctx.skin[sl][band].mean() < BROW_CELL_ON_SKIN:
            continue
        if area > best_area:
            best, best_area = i, area
    if not best:
        return None
    cell = lab == best
    ring = cv2.dilate(cell.astype(np.uint8), np.ones((2 * outline + 1,) * 2, np.uint8)).astype(bool)
    return cell | (ring & cand & line)


BROW_ACROSS_MIN_SPAN = 0.25  # of the brow box's width: the least a brow found across strands spans


def _brow_across_strands(
    cand: np.ndarray, core: np.ndarray, min_area: int, eye_h: float, bottom: int, unit: float
) -> np.ndarray | None:
    """A brow drawn across the fringe's strands (sketchy line art: the strands
    run through it, so it is no blob of its own): the strokes that run sideways
    (what an opening with a horizontal bar keeps: a brow is a few pixels thick
    but long, a strand crossing it is thin), above the eye's upper lash, then
    the longest elongated one near the brow's place, grown back along the ink
    by a pixel or two."""
    if bottom <= 2:
        return None
    bar = max(4, int(round(4 * unit)))
    upper = cand.copy()
    upper[bottom:] = False
    sideways = cv2.morphologyEx(upper.astype(np.uint8), cv2.MORPH_OPEN, np.ones((1, bar), np.uint8)).astype(
        bool
    )
    ys, xs = np.nonzero(core)
    if not len(xs):
        return None
    found = _line_near(
        sideways,
        core,
        min_area,
        max_height=0.6 * eye_h,
        reach=0.5 * (xs.max() - xs.min() + 1),
        free_sides=("left", "right", "bottom"),
    )
    if found is None:
        return None
    # a brow is long: a speck of a sideways stroke (a lash wing's tip, a strand's
    # kink) is no brow, and left as one it stays behind when the lash moves
    fxs = np.nonzero(found.any(axis=0))[0]
    if fxs.max() + 1 - fxs.min() < BROW_ACROSS_MIN_SPAN * (xs.max() + 1 - xs.min()):
        return None
    grow = np.ones((3, 3), np.uint8)
    for _ in range(2):
        found = cv2.dilate(found.astype(np.uint8), grow).astype(bool) & upper
    return found


def _line_near(
    cand: np.ndarray,
    core: np.ndarray,
    min_area: int,
    max_height: float,
    reach: float,
    free_sides=("left", "right"),
) -> np.ndarray | None:
    """A stroke for a feature whose landmark box missed it: the longest
    elongated component (at least twice as wide as tall, at most `max_height`
    tall) that meets the core box widened by `reach` on both sides.  It may run
    out of the window through `free_sides` (landmark boxes are often off by a
    part of the feature) but not through the others (the top edge of a brow's
    window is where the fringe comes from)."""
    n, lab, st, _ = _components_in(cand)
    h, w = cand.shape
    ys, xs = np.nonzero(core)
    if not len(xs):
        return None
    cx0, cx1 = max(0, int(xs.min() - reach)), min(w, int(xs.max() + 1 + reach))
    wide = np.zeros_like(core)
    wide[ys.min() : ys.max() + 1, cx0:cx1] = True
    best, best_w = 0, 0
    for i in range(1, n):
        x, y, bw, bh, area = st[i]
        touches = {"left": x == 0, "right": x + bw >= w, "top": y == 0, "bottom": y + bh >= h}
        if area < min_area or any(t and side not in free_sides for side, t in touches.items()):
            continue
        if bw < 2 * bh or bh > max_height or not (wide & (lab == i)).any():
            continue
        if bw > best_w:
            best, best_w = i, bw
    return lab == best if best else None


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


def _cut_brow_like(ctx: _Context, side: str, other: np.ndarray) -> np.ndarray | None:
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
    dist = np.hypot(ctx.a[sl] - ref[1], ctx.b[sl] - ref[2]) + 0.5 * np.abs(ctx.L[sl] - ref[0])
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


# How far above the eye box the eye may reach (of its height): the upper lash
# lies inside the box; above it are the fringe's strands.
EYE_WINDOW_ABOVE = 0.15
STRAND_CELL_HUE, STRAND_CELL_L = 10, 15  # Lab distance of a cut-off fill cell to the hair colour
STRAND_DEPTH = 0.45  # how far below the lash top a strand line reaches, of the eye height
STRAND_STEEPNESS = 2.0  # a strand line crossing the eye: its across-gradient this much stronger sideways
# The ellipse the eye lies in: half-axes of the eye box's width and height (the
# lash's wings reach past the box at the sides).
EYE_ELLIPSE = (0.66, 0.62)


def _hue_turn(a: np.ndarray, b: np.ndarray, ab) -> np.ndarray:
    """Degrees (0..180) between the hue of each (a, b) and that of `ab`."""
    return np.degrees(np.abs(np.angle(np.exp(1j * (np.arctan2(b, a) - np.arctan2(ab[1], ab[0]))))))


def _hair_strands(ctx: _Context, sl) -> np.ndarray:
    """Pixels of a window that are strands of the fringe reaching in: of the hair's
    colour and joined, through hair-coloured pixels, to the window's top edge."""
    hair = hair_lab(ctx.lm, np.int16)
    hue = np.hypot(ctx.a[sl] - hair[1], ctx.b[sl] - hair[2])
    skin_hue = np.hypot(ctx.a[sl] - ctx.skin_ab[0], ctx.b[sl] - ctx.skin_ab[1])
    to_hair = np.abs(ctx.L[sl] - hair[0])
    # nearer the hair than the skin in hue, or in lightness where both are grey
    # (monochrome art: light grey hair on white skin)
    nearer = (hue < skin_hue) | ((hue <= 4) & (skin_hue <= 4) & (to_hair < np.abs(ctx.L[sl] - ctx.skin_L)))
    hairish = ctx.fg[sl] & (hue <= 16) & (to_hair <= 35) & nearer
    if not hairish[0].any():
        return np.zeros_like(hairish)
    n, lab = cv2.connectedComponents(hairish.astype(np.uint8), connectivity=8)
    top = np.unique(lab[0][lab[0] > 0])
    strands = np.isin(lab, top)
    # the same strands' fill further down, cut off from the top by their own
    # outlines or by a lash drawn across them: cells of the hair's own colour
    # (closer than the test above: an iris of the hair's hue is darker or
    # lighter) within a line's width of a strand, joined step by step
    close = hairish & (hue <= STRAND_CELL_HUE) & (to_hair <= STRAND_CELL_L)
    cn, clab = cv2.connectedComponents(close.astype(np.uint8), connectivity=8)
    gap = max(2, int(round(3 * ctx.unit)))
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * gap + 1, 2 * gap + 1))
    return strands | _join_near(strands, clab, cn, disc)[clab]


# The hair in shadow (the fringe's shaded strands reaching over an eye): of
# coloured hair only, its hue within HAIR_SHADE_HUE degrees of the hair's and at
# least HAIR_SHADE_CHROMA of its chroma, at any lightness (lashes and line art
# are far greyer; skin has its own hue).
HAIR_SHADE_MIN_CHROMA = 20  # the hair's Lab chroma for it to have shades of its own
HAIR_SHADE_HUE = 25.0
HAIR_SHADE_CHROMA = 0.4
HAIR_SHADE_DARKER = 15  # Lab L under the hair's fill (the fill itself is `_hair_strands`')


def _shaded_strands(ctx: _Context, sl, strands: np.ndarray, box) -> np.ndarray:
    """The fringe's strands in shadow reaching into an eye's window: pieces of the
    hair's shaded colour (`_hair_in_shadow`) joined, through it or the strands
    found, to the window's top edge, that hang no lower than the eye box's
    middle (a piece reaching lower holds an iris of the hair's hue); filled
    areas only, not strokes."""
    hair = hair_lab(ctx.lm, np.int16)
    shade = _hair_in_shadow(ctx, sl, hair) & ~ctx.skin[sl]
    # a shaded strand is a filled area: strokes of line art in the hair's hue
    # (coloured line art) are no shade, and the eye's outline is such a stroke
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (max(3, int(round(3 * ctx.unit)) | 1),) * 2)
    thick = cv2.morphologyEx(shade.astype(np.uint8), cv2.MORPH_OPEN, k)
    shade &= cv2.dilate(thick, k).astype(bool)
    if not shade.any():
        return shade
    n, lab, st, _ = _components_in(shade | strands)
    top = np.unique(lab[0][lab[0] > 0])
    middle = 0.5 * (box[1] + box[3]) - sl[0].start
    hanging = top[st[top, cv2.CC_STAT_TOP] + st[top, cv2.CC_STAT_HEIGHT] <= middle]
    return shade & np.isin(lab, hanging)


def _hair_in_shadow(ctx: _Context, sl, hair: np.ndarray) -> np.ndarray:
    """Pixels of a window that are the hair's colour in shadow (darker, of its
    hue and much of its chroma), away from the skin's hue; none for grey hair."""
    h_chroma = float(np.hypot(hair[1], hair[2]))
    if h_chroma < HAIR_SHADE_MIN_CHROMA:
        return np.zeros(ctx.fg[sl].shape, bool)
    a, b = ctx.a[sl].astype(np.float32), ctx.b[sl].astype(np.float32)
    turn = _hue_turn(a, b, (hair[1], hair[2]))
    shade = (
        ctx.fg[sl]
        & (turn <= HAIR_SHADE_HUE)
        & (np.hypot(a, b) >= HAIR_SHADE_CHROMA * h_chroma)
        & (ctx.L[sl] <= hair[0] - HAIR_SHADE_DARKER)
    )
    if np.hypot(*ctx.skin_ab) >= 6:  # nearer the hair's hue than the skin's
        shade &= turn < _hue_turn(a, b, ctx.skin_ab)
    return shade


def _join_near(seed: np.ndarray, lab: np.ndarray, n: int, disc: np.ndarray, eligible=None, steps: int = 4):
    """Which of the `n` components of `lab` join `seed`: those within `disc` of
    it, then of what has joined, at most `steps` times; `eligible` (a flag per
    label) limits which may.  Returns a flag per label (label 0 never joins)."""
    chosen = np.zeros(n, bool)
    grown = seed.copy()
    for _ in range(steps):
        near = cv2.dilate(grown.astype(np.uint8), disc).astype(bool)
        new = np.unique(lab[near & (lab > 0)])
        new = new[~chosen[new]]
        if eligible is not None:
            new = new[eligible[new]]
        if len(new) == 0:
            break
        chosen[new] = True
        grown |= np.isin(lab, new)
    return chosen


INK_UNDER_SKIN = 45  # Lab L (0..255) a line-art stroke is darker than the skin


def _dark(ctx: _Context, sl) -> np.ndarray:
    """Pixels of a window dark enough to be line art (ink) against the skin."""
    return ctx.L[sl] < ctx.skin_L - INK_UNDER_SKIN


def _upper_lash_top(
    ctx: _Context, sl, cand: np.ndarray, box, ink: np.ndarray | None = None
) -> np.ndarray | None:
    """The top of the eye's upper lash in each column of a window (fitted
    smoothly across the eye; level with its ends beyond them, as lash wings
    run): the top-most horizontal dark band over the eye, kept by an opening
    with a horizontal line, which thin strands do not survive.  None when no
    such band is found."""
    bx0, by0, bx1, by1 = box
    bw, bh = bx1 - bx0, by1 - by0
    ink = cand & (_dark(ctx, sl) if ink is None else ink)
    length = max(3, int(round(0.2 * bw)))
    band = cv2.morphologyEx(ink.astype(np.uint8), cv2.MORPH_OPEN, np.ones((1, length), np.uint8)).astype(bool)
    band[:, : max(0, int(bx0))] = False
    band[:, int(bx1) :] = False
    band[int(by0 + 0.6 * bh) :] = False  # the upper lash lies in the box's upper part
    cols = np.nonzero(band.any(axis=0))[0]
    if len(cols) < max(3, 0.3 * bw):
        return None
    tops = np.argmax(band[:, cols], axis=0).astype(np.float64)
    deg = 2 if len(cols) >= 6 else 1
    fit = np.poly1d(np.polyfit(cols.astype(np.float64), tops, deg))
    xs = np.arange(cand.shape[1], dtype=np.float64)
    return fit(np.clip(xs, cols.min(), cols.max()))


def _above_upper_lash(
    ctx: _Context, sl, cand: np.ndarray, box, lash_top: np.ndarray | None = None
) -> np.ndarray:
    """What lies above the eye's upper lash in a window (strands of the fringe
    crossing the eye box): the upper lash's top (`_upper_lash_top`) bounds
    the eye.  Nothing is cut when no lash band is found."""
    if lash_top is None:
        lash_top = _upper_lash_top(ctx, sl, cand, box)
    if lash_top is None:
        return np.zeros_like(cand)
    limit = lash_top - max(1.0, 0.06 * (box[3] - box[1]))
    rows = np.arange(cand.shape[0])[:, None]
    return rows < limit[None, :]


def _strand_lines(ctx: _Context, sl, cand: np.ndarray, above: np.ndarray, eye_h: float) -> np.ndarray:
    """Outlines of the fringe's strands crossing the eye (line art): thin steep
    strokes that run on from above the upper lash down into the eye box.  They
    are the hair's, drawn over the eye, and stay when the eye closes; the
    lashes run sideways and the iris's steep sides start below the lash."""
    dark = _dark(ctx, sl)
    ink = cand & dark
    if not ink.any():
        return np.zeros_like(cand)
    f = cv2.GaussianBlur(ink.astype(np.float32), (0, 0), 1.0)
    gx = cv2.Sobel(f, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(f, cv2.CV_32F, 0, 1, ksize=3)
    jxx = cv2.GaussianBlur(gx * gx, (0, 0), 1.5)
    jyy = cv2.GaussianBlur(gy * gy, (0, 0), 1.5)
    steep = ink & (jxx > STRAND_STEEPNESS * jyy)
    n, lab, st, _ = _components_in(steep)
    width = max(2.0, 3.0 * ctx.unit)
    thin = np.zeros(n, bool)
    for i in range(1, n):
        x, y, w, h, area = st[i]
        # long enough to be more than a lash's corner, thin (not an iris's side)
        thin[i] = h >= max(3, 0.2 * eye_h) and area <= 1.25 * width * np.hypot(h, w)
    if not thin.any():
        return np.zeros_like(cand)
    # a strand starts in the ink above the lash; where it crosses a lash the
    # stroke is not steep for a few pixels, so pieces join across such gaps
    reach = max(2, int(round(1.5 * width)))
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1))
    strand = above & dark & ctx.fg[sl]
    strand[0] |= ink[0]  # or at the window's top edge, above the eye
    chosen = _join_near(strand, lab, n, disc, eligible=thin)
    # a strand crosses the eye from top to bottom: pieces reaching down nearly
    # half the eye's height below the lash top (shorter ones are lash strokes)
    out = chosen[lab]
    if out.any():
        n2, lab2, st2, _ = _components_in(cv2.dilate(out.astype(np.uint8), disc).astype(bool))
        keep = np.zeros(n2, bool)
        top_line = np.where(above.any(axis=0), above.shape[0] - np.argmax(above[::-1], axis=0), 0)
        for i in range(1, n2):
            x, y, w, h, area = st2[i]
            keep[i] = y + h - top_line[x : x + w].min() >= STRAND_DEPTH * eye_h
        out &= keep[lab2]
    if out.any():  # with the anti-aliased rim along it
        rim = cv2.dilate(out.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        out |= rim & cand & ~ink & (ctx.L[sl] < ctx.skin_L - 12)
    return out


# The upper lash's darkest ink: under this share of the skin's lightness, and
# this much darker than the hair's colour.
LASH_INK_OF_SKIN, LASH_UNDER_HAIR = 0.45, 30
# Skin in shadow beside the eye (the cheek's shading under the fringe): lighter
# than line art, of the skin's hue and at least its chroma, a little further from
# the skin's colour than the skin mask takes.
SHADE_HUE = 30.0  # degrees of Lab hue from the skin's
SHADE_DARKER = 60  # Lab L below the skin
SHADE_REACH = 40  # Lab ab distance from the skin
SHADE_MIN_SHARE = 0.05  # of the eye's core area: specks at the eye's rim are its own anti-aliasing
SHADE_IN_CORE = 0.25  # most of such a shade lies beside the eye's middle, not in it (a warm iris)


def _shaded_skin(ctx: _Context, sl, cand: np.ndarray, core: np.ndarray) -> np.ndarray:
    """Pixels of an eye's candidates that are the skin in shadow: of the skin's
    hue (warm skin only: on white or grey skin any colour is the eye's), not
    much darker, joined to the skin outside the candidates, and beside the
    eye's `core` rather than in it (a brown or golden iris has the skin's hue
    too, and touches the skin where no lower lash is drawn)."""
    sa, sb = ctx.skin_ab
    if np.hypot(sa, sb) < 6:
        return np.zeros_like(cand)
    a, b = ctx.a[sl].astype(np.float32), ctx.b[sl].astype(np.float32)
    L = ctx.L[sl]
    turn = _hue_turn(a, b, (sa, sb))
    shade = (
        cand
        & (turn <= SHADE_HUE)
        & (np.hypot(a, b) >= 0.8 * np.hypot(sa, sb))
        & (np.hypot(a - sa, b - sb) <= SHADE_REACH)
        & (L >= ctx.skin_L - SHADE_DARKER)
        & (L < ctx.skin_L + 10)
    )
    if not shade.any():
        return shade
    n, lab = cv2.connectedComponents(shade.astype(np.uint8), connectivity=8)
    skin_near = cv2.dilate((ctx.skin[sl] & ~cand).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    touching = np.unique(lab[skin_near & (lab > 0)])
    area = np.bincount(lab.ravel(), minlength=n)
    share = np.bincount(lab[core], minlength=n) / np.maximum(area, 1)
    big = area >= SHADE_MIN_SHARE * core.sum()
    beside = touching[(share[touching] < SHADE_IN_CORE) & big[touching]]
    return np.isin(lab, beside) & shade


def _lash_ink(ctx: _Context, sl) -> np.ndarray:
    """The upper lash's darkest ink in a window (`LASH_INK_OF_SKIN`, `LASH_UNDER_HAIR`)."""
    hair_L = int(hair_lab(ctx.lm, np.int16)[0])
    return ctx.L[sl] < min(LASH_INK_OF_SKIN * ctx.skin_L, hair_L - LASH_UNDER_HAIR)


def _cut_eye(ctx: _Context, side: str) -> dict[str, np.ndarray] | None:
    """Eye pixels split into eyewhite, irides and eyelash (full-canvas masks);
    the fringe's shaded strands are left out (`_shaded_strands`), unless the
    eye's opening (eyewhite and iris) then loses more than SHADED_MAX_LOSS of
    what it has without (an iris of the hair's shade, cut by a landmark box
    that starts low, hangs from the window's top like a strand)."""
    box = ctx.lm.eye(side)
    if ctx.lash_tops.get(side, box[1]) < box[1]:  # the eye takes in its own upper lash
        box = (box[0], ctx.lash_tops[side], box[2], box[3])
    x0, y0, x1, y1 = _window(box, 0.3, EYE_WINDOW_ABOVE, 0.3, 0.35, ctx.fg.shape)
    sl = (slice(y0, y1), slice(x0, x1))
    strands = _hair_strands(ctx, sl)
    shade = _shaded_strands(ctx, sl, strands, box)
    plain = _cut_eye_in(ctx, box, sl, strands)
    if plain is None or not shade.any():
        return plain
    shaded = _cut_eye_in(ctx, box, sl, strands | shade)
    if shaded is None:
        return plain

    def opening(parts):
        return int(parts["eyewhite"].sum() + parts["irides"].sum())

    return shaded if opening(shaded) >= (1.0 - SHADED_MAX_LOSS) * opening(plain) else plain


SHADED_MAX_LOSS = 0.3


def _cut_eye_in(ctx: _Context, box, sl, strands: np.ndarray) -> dict[str, np.ndarray] | None:
    """The eye cut in its window `sl` around the landmarks' `box`, `strands` of
    the hair left out (see `_cut_eye`)."""
    x0, y0 = sl[1].start, sl[0].start
    cand = ctx.fg[sl] & ~ctx.skin[sl] & ~ctx.features[sl] & ~strands
    cand = cv2.morphologyEx(cand.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8)).astype(bool)
    # (the closing bridges gaps between eye pieces; a strand's thin tip is no gap)
    cand &= ctx.fg[sl] & ~ctx.features[sl] & ~strands
    bx0, by0, bx1, by1 = box
    bw, bh = bx1 - bx0, by1 - by0
    local_box = (bx0 - x0, by0 - y0, bx1 - x0, by1 - y0)
    lash_top = _upper_lash_top(ctx, sl, cand, local_box)
    above = _above_upper_lash(ctx, sl, cand, local_box, lash_top)
    cand &= ~above
    cand &= ~_strand_lines(ctx, sl, cand, above, bh)
    # an eye is round: what reaches the box's corners is hair or an ear, not eye
    yy, xx = np.mgrid[0 : cand.shape[0], 0 : cand.shape[1]].astype(np.float32) + 0.5
    ex, ey = 0.5 * (bx0 + bx1) - x0, 0.5 * (by0 + by1) - y0
    inside = ((xx - ex) / (EYE_ELLIPSE[0] * bw)) ** 2 + ((yy - ey) / (EYE_ELLIPSE[1] * bh)) ** 2 <= 1.0
    # the landmarks' box may start under the upper lash: the ellipse's upper half
    # reaches up to the top of the lash's darkest band (the lash, drawn darker than
    # the hair's fill and shading, which may touch it), and takes in that dark ink
    lash_ink = _lash_ink(ctx, sl)
    darkest_top = _upper_lash_top(ctx, sl, cand, local_box, ink=lash_ink)
    if darkest_top is not None:
        rx = EYE_ELLIPSE[0] * bw
        ry = (ey - darkest_top + 1.0) / np.sqrt(np.clip(1.0 - ((xx[0] - ex) / rx) ** 2, 0.05, 1.0))
        ry = np.clip(ry, EYE_ELLIPSE[1] * bh, 2.0 * EYE_ELLIPSE[1] * bh)[None, :]
        reach = (yy < ey) & (((xx - ex) / rx) ** 2 + ((yy - ey) / ry) ** 2 <= 1.0)
        inside |= reach & lash_ink
    cand &= inside
    core = np.zeros_like(cand)
    core[
        max(0, int(by0 + 0.2 * bh) - y0) : max(0, int(by1 - 0.2 * bh) - y0),
        max(0, int(bx0 + 0.2 * bw) - x0) : max(0, int(bx1 - 0.2 * bw) - x0),
    ] = True
    cand &= ~_shaded_skin(ctx, sl, cand, core)
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
            eye = (
                keep2[lab2]
                | (grown & cand & ~thin)
                | (cv2.dilate(keep2[lab2].astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & cand)
            )
    if eye.sum() < 10 * ctx.unit**2:
        return None
    # thin strokes around the eye (glasses frames) are not the eye: keep what lies
    # near the hull of the eye's thick parts
    k = max(3, int(round(6 * ctx.unit)) | 1)
    disc_k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    thick = cv2.morphologyEx(eye.astype(np.uint8), cv2.MORPH_OPEN, disc_k).astype(bool)
    if thick.sum() >= 10 * ctx.unit**2:
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
    blob = cv2.morphologyEx(
        _filled(eye & ~white, ~eye, max(2, int(round(0.15 * bh)))).astype(np.uint8), cv2.MORPH_OPEN, big_k
    )
    if blob.sum() < 10 * ctx.unit**2:
        iris_k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (max(3, int(0.25 * bh) | 1),) * 2)
        blob = cv2.morphologyEx(coloured.astype(np.uint8), cv2.MORPH_OPEN, iris_k)
    if blob.sum() >= 10 * ctx.unit**2:
        cn, clab, cst, _ = _components_in(blob)
        colour_count = np.bincount(clab[coloured], minlength=cn)
        colour_count[0] = -1
        big = (
            int(np.argmax(colour_count))
            if colour_count[1:].max() > 0
            else 1 + int(np.argmax(cst[1:, cv2.CC_STAT_AREA]))
        )
        coloured = coloured | (clab == big)
        ix, iy, iw, ih, _ = cst[big]
        cx, cy = ix + iw / 2.0, iy + ih / 2.0
        pad = 0.0
        rx, ry = iw / 2.0 + pad, ih / 2.0 + pad
        yy, xx = np.mgrid[0 : eye.shape[0], 0 : eye.shape[1]]
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
        low = (np.mgrid[0 : eye.shape[0], 0 : eye.shape[1]][0] + 0.5) > cy - 0.2 * ry
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
            to_lash = (
                iris
                & near_lash
                & (L < 0.55 * ctx.skin_L)
                & (d > 0.35)
                & (np.hypot(a - la, b - lb) < np.hypot(a - ia, b - ib))
            )
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
    out["eyelash"] |= _lash_above_window(ctx, out["eyelash"], box, y0, out["eyewhite"] | out["irides"])
    # what the eye's parts enclose is the eye's (the top of the white between the
    # lash and the iris, a catch-light's rim): left to the skin, it stays on a
    # closed eye
    whole = out["eyewhite"] | out["irides"] | out["eyelash"]
    ys, xs = np.nonzero(whole)
    if len(ys):
        esl = (slice(max(0, ys.min() - 1), ys.max() + 2), slice(max(0, xs.min() - 1), xs.max() + 2))
        enclosed = np.zeros_like(whole)
        enclosed[esl] = _enclosed_by(whole[esl]) & ctx.fg[esl] & ~ctx.features[esl]
        enclosed[sl] &= ~strands
        out["eyelash" if out["eyelash"].any() else "eyewhite"] |= enclosed
    return out


ENCLOSED_MAX_SHARE = 0.05  # of the eye's area: the largest remnant it encloses that joins it


def _enclosed_by(parts: np.ndarray) -> np.ndarray:
    """Pixels of the eye as a whole that are none of its `parts`: the gaps of a
    pixel between them, closed, and the holes they then enclose (as
    complete/eyes.eye_region fills them)."""
    if not parts.any():
        return np.zeros_like(parts)
    # (padded: a closing at the crop's edge would bridge to the border)
    padded = cv2.copyMakeBorder(parts.astype(np.uint8), 2, 2, 2, 2, cv2.BORDER_CONSTANT, value=0)
    closed = cv2.morphologyEx(padded, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8)).astype(bool)
    inner = _fill_holes(closed)[2:-2, 2:-2] & ~parts
    # small pieces only: a large region ringed by the eye's lines is skin drawn
    # inside it (an eye white of the skin's colour), not a remnant
    n, lab, st, _ = _components_in(inner)
    small = st[:, cv2.CC_STAT_AREA] <= ENCLOSED_MAX_SHARE * parts.sum()
    small[0] = False
    return small[lab]


def _lash_above_window(ctx: _Context, lash: np.ndarray, box, win_top: int, eye: np.ndarray) -> np.ndarray:
    """The upper lash's top where it runs on above the eye's window (the
    landmarks' box starting under the lash): its darkest ink (`_lash_ink`)
    joined to the eye found inside, up to LASH_REACH of the eye's height
    above the box (full-canvas mask of what is added)."""
    bx0, by0, bx1, by1 = box
    bw, bh = bx1 - bx0, by1 - by0
    top = max(0, int(by0 - LASH_REACH * bh))
    added = np.zeros_like(lash)
    found = lash | eye  # (the lash's lower part may have gone to the iris)
    if top >= win_top or not found[win_top].any():
        return added
    sl = (
        slice(top, win_top + 1),
        slice(max(0, int(bx0 - 0.15 * bw)), min(ctx.w, int(np.ceil(bx1 + 0.15 * bw)))),
    )
    ink = _lash_ink(ctx, sl) & ctx.fg[sl] & ~ctx.skin[sl] & ~ctx.features[sl] & ~found[sl]
    seed = found[sl].copy()
    seed[:-1] = False  # (the window's top row: the lash found inside)
    n, lab = cv2.connectedComponents((ink | seed).astype(np.uint8), connectivity=8)
    joined = np.unique(lab[seed & (lab > 0)])
    added[sl] = np.isin(lab, joined[joined > 0]) & ink
    return added


def _trim_to_ink(ctx: _Context, m: np.ndarray | None) -> np.ndarray | None:
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


MOUTH_WINDOW = {"half_width": 0.24, "above": 0.05, "below": 0.09}  # of the face width
# Where the landmarks' mouth box holds no stroke, the line is looked for in rows
# this far above and below its centre (of the face width), the nearer band
# first; a short dash drawn a few pixels under a detector's box (line art) lies
# in the wider one, which stays this far below the nose and above the chin.
MOUTH_MISSED_BAND = (0.06, 0.1)
MOUTH_CLEAR_OF = 0.03
MOUTH_INK = {"darker": 14, "tint": 16}  # L below the skin, or ab distance from it


def _cut_mouth(ctx: _Context) -> np.ndarray | None:
    """The mouth: the strokes at the landmarks' mouth, and the pieces of the same
    line beside them.  A detector's mouth box often covers only the darkest part
    of a smile line (its ends fade to a lip tint that the skin mask takes as
    skin), so the window is sized from the face and the line is followed
    sideways through pixels a little darker or more tinted than the skin."""
    box = ctx.lm.mouth
    bx0, by0, bx1, by1 = box
    fw = max(8, ctx.lm.face_box[2] - ctx.lm.face_box[0])
    mcx, mcy = 0.5 * (bx0 + bx1), 0.5 * (by0 + by1)
    spec = MOUTH_WINDOW
    wx0, wy0, wx1, wy1 = _window(box, 0.6, 1.2, 0.6, 1.2, ctx.fg.shape)
    x0 = max(0, min(wx0, int(mcx - spec["half_width"] * fw)))
    x1 = min(ctx.w, max(wx1, int(np.ceil(mcx + spec["half_width"] * fw))))
    y0 = max(0, min(wy0, int(mcy - spec["above"] * fw)))
    y1 = min(ctx.h, max(wy1, int(np.ceil(mcy + spec["below"] * fw))))
    sl = (slice(y0, y1), slice(x0, x1))
    free = ctx.fg[sl] & ~ctx.features[sl]
    strict = free & ~ctx.skin[sl]
    tint = np.hypot(ctx.a[sl] - ctx.skin_ab[0], ctx.b[sl] - ctx.skin_ab[1])
    soft = free & ((ctx.L[sl] < ctx.skin_L - MOUTH_INK["darker"]) | (tint > MOUTH_INK["tint"]) | strict)
    core = np.zeros_like(strict)
    core[max(0, by0 - y0) : max(0, by1 - y0), max(0, bx0 - x0) : max(0, bx1 - x0)] = True
    min_area = int(4 * ctx.unit**2)
    found = _inner_components(strict, min_area, require=core)
    if not found.any():
        found = _inner_components(soft, min_area, require=core)
    if not found.any():  # the box missed the line: the stroke nearest to it
        for band in MOUTH_MISSED_BAND:
            rows = np.zeros_like(core)
            top, bottom = mcy - band * fw, mcy + band * fw
            if band > MOUTH_MISSED_BAND[0]:  # a wider search stays between the nose and the chin
                top = max(top, ctx.lm.nose[1] + MOUTH_CLEAR_OF * fw)
                bottom = min(bottom, ctx.lm.chin[1] - MOUTH_CLEAR_OF * fw)
            rows[max(0, int(top) - y0) : max(0, int(bottom) - y0)] = True
            found = _line_near(
                soft, core | (rows & core.any(axis=0)[None, :]), min_area, max_height=0.1 * fw, reach=0.1 * fw
            )
            if found is not None and found.any():
                break
    if found is None or not found.any():
        return None
    # the rest of the line: soft pieces level with it and close beside it
    pieces = _inner_components(soft, max(2, min_area // 2))
    n, lab, st, _ = _components_in(pieces)
    for _ in range(3):
        ys, xs = np.nonzero(found)
        fx0, fx1, fy0, fy1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
        reach = max(2.0, 0.5 * (fx1 - fx0), 0.04 * fw)
        band = max(2.0, 0.03 * fw)
        grown = found.copy()
        for i in range(1, n):
            px, py, pw, ph, _area = st[i]
            if ph > max(3.0 * (fy1 - fy0), 0.08 * fw):  # something tall: not part of a line
                continue
            level = py <= fy1 + band and py + ph >= fy0 - band
            beside = px <= fx1 + reach and px + pw >= fx0 - reach
            if level and beside and (px + pw - min(px, fx0)) <= 0.5 * fw + (fx1 - fx0):
                grown |= lab == i
        if (grown == found).all():
            break
        found = grown
    ys, xs = np.nonzero(found)
    if xs.max() + 1 - xs.min() > 0.6 * fw:  # a shadow or a collar, not a mouth: keep the core's
        found = _inner_components(strict if strict[core].any() else soft, min_area, require=core)
    out = np.zeros_like(ctx.fg)
    out[sl] = found
    return out


def _cut_nose(ctx: _Context) -> np.ndarray | None:
    nx, ny = ctx.lm.nose
    r = 28 * ctx.unit
    box = (int(nx - r), int(ny - r), int(nx + r), int(ny + r))
    x0, y0, x1, y1 = _window(box, 0, 0, 0, 0, ctx.fg.shape)
    sl = (slice(y0, y1), slice(x0, x1))
    darker = ctx.L[sl] < ctx.skin_L - 38
    cand = ctx.fg[sl] & darker & ~ctx.features[sl]
    found = _inner_components(cand, max(2, int(3 * ctx.unit**2)))
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
