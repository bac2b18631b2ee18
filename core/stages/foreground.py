# SPDX-License-Identifier: GPL-3.0-or-later
"""Stage 1 of the pipeline (foreground): separate the character from the background.

Images with a meaningful alpha channel are cut by their alpha.  Opaque images
are assumed to have a plain or softly graded background: a smooth colour model
(a quadratic in x and y per channel) is fitted robustly to the border pixels,
everything close to that model and connected to the border is background, and
the largest foreground component(s) with their holes filled are the character.
"""

from __future__ import annotations

import cv2
import numpy as np
from ..model.errors import ImageToRigError

ALPHA_CUT = 128  # alpha >= this is foreground
BACKGROUND_TOLERANCE = 14.0  # max channel difference from the background model
MIN_FOREGROUND_FRACTION = 0.002  # of the image area
ENCLOSED_BACKGROUND_FRACTION = 0.003  # enclosed background-coloured areas this big are background
ENCLOSED_BACKGROUND_TOLERANCE = 4.0  # ... and this close to the background model on average
KEEP_COMPONENT_FRACTION = 0.05  # keep components at least this share of the largest
# With a transparent background every separate shape was drawn on purpose (a
# prop floating beside the head, an effect line): keep all but specks.
KEEP_DRAWN_FRACTION = 0.002
BUSY_BORDER_BREAKS = 16  # more separate off-background runs along the border: a busy background


class ForegroundError(ImageToRigError):
    """No character could be separated from the background."""


def has_meaningful_alpha(rgba: np.ndarray) -> bool:
    """True when some pixels are transparent (the alpha channel cuts something out)."""
    if rgba.ndim != 3 or rgba.shape[2] < 4:
        return False
    alpha = rgba[..., 3]
    return bool((alpha < ALPHA_CUT).mean() > 0.001)


def _border_pixels(img: np.ndarray, step: int):
    h, w = img.shape[:2]
    xs = np.arange(0, w, step)
    ys = np.arange(0, h, step)
    px = np.concatenate([xs, xs, np.zeros_like(ys), np.full_like(ys, w - 1)])
    py = np.concatenate([np.zeros_like(xs), np.full_like(xs, h - 1), ys, ys])
    return px, py


def _design(px: np.ndarray, py: np.ndarray, w: int, h: int) -> np.ndarray:
    x = px.astype(np.float64) / max(w - 1, 1) - 0.5
    y = py.astype(np.float64) / max(h - 1, 1) - 0.5
    return np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], axis=1)


def fit_background(rgb: np.ndarray):
    """Robust quadratic colour model of the border; returns (coefficients (6, 3),
    inlier border points (px, py)).  Raises ForegroundError when no consistent
    background colour exists on the border."""
    h, w = rgb.shape[:2]
    step = max(1, min(h, w) // 256)
    px, py = _border_pixels(rgb, step)
    colours = rgb[py, px].astype(np.float64)
    design = _design(px, py, w, h)
    # two starts: the median border colour, and the commonest one (clothes of
    # nearly the background's colour cut by the frame can drag either start onto
    # themselves); the fit that explains more of the top and side edges wins,
    # the commonest-colour start on a tie
    q = (colours // 8).astype(np.int64)
    codes = (q[:, 0] << 10) | (q[:, 1] << 5) | q[:, 2]
    mode = colours[codes == np.bincount(codes).argmax()].mean(axis=0)
    resid_med = np.abs(colours - np.median(colours, axis=0)).max(axis=1)
    starts = (
        np.abs(colours - mode).max(axis=1) <= BACKGROUND_TOLERANCE,
        resid_med <= max(BACKGROUND_TOLERANCE * 3, np.percentile(resid_med, 50)),
    )
    not_bottom = py < h - 1
    best = None
    for start in starts:
        fit = _grow_fit(design, colours, start)
        if fit is None:
            continue
        score = int((fit[1] & not_bottom).sum())
        if best is None or score > best[0] + 0.01 * not_bottom.sum():
            best = (score, fit)
    coef, inliers = best[1] if best is not None else (None, None)
    if coef is None or inliers.mean() < 0.25:
        raise ForegroundError(
            "could not find a plain background around the character: use an image with a "
            "plain or softly graded background, or one with a transparent background"
        )
    return coef, (px[inliers], py[inliers])


def _grow_fit(design: np.ndarray, colours: np.ndarray, inliers: np.ndarray):
    """Plane then quadratic colour model grown from `inliers`; (coef, inliers) or None."""
    coef = None
    for terms in (3, 3, 3, 6, 6, 6):
        if inliers.sum() < terms * 4:
            break
        coef, *_ = np.linalg.lstsq(design[inliers, :terms], colours[inliers], rcond=None)
        if terms < 6:
            coef = np.vstack([coef, np.zeros((6 - terms, 3))])
        resid = np.abs(design @ coef - colours).max(axis=1)
        inliers = resid <= BACKGROUND_TOLERANCE
    return None if coef is None else (coef, inliers)


def extract_foreground(rgba: np.ndarray) -> np.ndarray:
    """(H, W) bool mask of the character."""
    rgba = np.asarray(rgba)
    if rgba.ndim != 3 or rgba.shape[2] not in (3, 4) or rgba.dtype != np.uint8:
        raise ForegroundError(f"expected an RGBA uint8 image, got shape {rgba.shape} {rgba.dtype}")
    h, w = rgba.shape[:2]
    if has_meaningful_alpha(rgba):
        mask = rgba[..., 3] >= ALPHA_CUT
        mask = _keep_main_components(mask, fill_holes=False, fraction=KEEP_DRAWN_FRACTION)
    else:
        rgb = np.ascontiguousarray(rgba[..., :3])
        try:
            coef, (bx, by) = fit_background(rgb)
            busy = border_breaks(rgb, coef) > BUSY_BORDER_BREAKS
        except ForegroundError:
            busy = True
        if busy:
            raise ForegroundError(
                "the background is busy (scenery or patterns): the built-in cut-out needs a plain or "
                "softly graded background; use an image with a transparent background, or the "
                "segmentation backend (Foreground: isnet)"
            )
        # evaluate the model on a coarse grid and upsample: it is smooth
        gh, gw = max(2, h // 16), max(2, w // 16)
        gy, gx = np.mgrid[0:gh, 0:gw]
        model = (
            (_design((gx.ravel() * (w - 1) / (gw - 1)), (gy.ravel() * (h - 1) / (gh - 1)), w, h) @ coef)
            .reshape(gh, gw, 3)
            .astype(np.float32)
        )
        model = cv2.resize(
            np.clip(model + 0.5, 0, 255).astype(np.uint8), (w, h), interpolation=cv2.INTER_LINEAR
        )
        d = cv2.absdiff(np.ascontiguousarray(rgb), model)
        diff = cv2.max(cv2.max(d[..., 0], d[..., 1]), d[..., 2])
        candidate = (diff <= BACKGROUND_TOLERANCE).astype(np.uint8)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(candidate, connectivity=4)
        is_background = np.zeros(count, bool)
        is_background[np.unique(labels[by, bx])] = True
        # large enclosed areas of exactly the background colour are background seen
        # through a gap (between hair and neck); small or merely similar ones are
        # details (eye whites, a white collar)
        mean_diff = np.bincount(labels.ravel(), diff.ravel().astype(np.float32), count) / np.maximum(
            stats[:, cv2.CC_STAT_AREA], 1
        )
        is_background |= (stats[:, cv2.CC_STAT_AREA] >= ENCLOSED_BACKGROUND_FRACTION * h * w) & (
            mean_diff <= ENCLOSED_BACKGROUND_TOLERANCE
        )
        is_background[0] = False
        background = is_background[labels]
        mask = _keep_main_components(~background, fill_holes=False)
    if mask.sum() < MIN_FOREGROUND_FRACTION * h * w:
        raise ForegroundError(
            "no character found: the image looks empty (one flat colour or fully transparent)"
        )
    return mask


def border_breaks(rgb: np.ndarray, coef: np.ndarray) -> int:
    """How many separate runs (3 px or longer) along the image border differ from
    the background model.  A character crossing the frame makes one to a few; a
    busy background (scenery, patterns) makes many."""
    h, w = rgb.shape[:2]
    xs = np.concatenate([np.arange(w), np.full(h, w - 1), np.arange(w - 1, -1, -1), np.zeros(h, int)])
    ys = np.concatenate([np.zeros(w, int), np.arange(h), np.full(w, h - 1), np.arange(h - 1, -1, -1)])
    model = _design(xs, ys, w, h) @ coef
    off = np.abs(rgb[ys, xs].astype(np.float64) - model).max(axis=1) > BACKGROUND_TOLERANCE
    d = np.diff(np.concatenate([[0], off.astype(np.int8), [0]]))
    starts, ends = np.nonzero(d == 1)[0], np.nonzero(d == -1)[0]
    return int(((ends - starts) >= 3).sum())


def _keep_main_components(
    mask: np.ndarray, fill_holes: bool, fraction: float = KEEP_COMPONENT_FRACTION
) -> np.ndarray:
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if count <= 1:
        return np.zeros_like(mask, bool)
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = np.nonzero(areas >= fraction * areas.max())[0] + 1
    lut = np.zeros(count, bool)
    lut[keep] = True
    out = lut[labels]
    if fill_holes:
        # holes = not-foreground regions that do not touch the border
        inv = (~out).astype(np.uint8)
        n, lab = cv2.connectedComponents(inv, connectivity=4)
        border = np.unique(np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]]))
        hole = np.ones(n, bool)
        hole[border] = False
        hole[0] = False
        out |= hole[lab]
    return out


# An opaque image's character meets its background in pixels the drawing blended
# with it (anti-aliasing).  Left so, a part's rim carries the background's colour
# with it: when a lock of hair swings over the body, a light line runs along its
# edge.  Those rim pixels are un-blended instead: the colour of the nearest pixel
# inside the character, with the share of it the pixel held as alpha.
EDGE_RIM = 1.5  # px: how far into the character the background's blending reaches
EDGE_MIN_CONTRAST = 30.0  # RGB distance between inside and background needed to tell a share
EDGE_MAX_RESIDUAL = 16.0  # a pixel this far off the blend of the two is its own colour


def unblend_edges(rgba: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """`rgba` with the rim of `mask` (the character's pixels next to the
    background) un-blended from the background: each takes the colour of the
    nearest pixel further inside and the share of it it held as its alpha, so
    that it composites over the background as drawn and over anything else
    without a halo; the background becomes transparent.  Images with a
    meaningful alpha channel are returned as they are, and so are rim pixels
    that are no blend of the two (a white collar on white paper)."""
    rgba = np.asarray(rgba)
    mask = np.asarray(mask, bool)
    if has_meaningful_alpha(rgba) or not mask.any():
        return rgba
    out = rgba.copy() if rgba.shape[2] == 4 else np.dstack([rgba, np.full(rgba.shape[:2], 255, np.uint8)])
    out[~mask, 3] = 0  # the image becomes the character cut out
    inside = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 3)
    outside = cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, 3)
    rim = mask & (inside <= EDGE_RIM)
    core = mask & (inside > EDGE_RIM)
    # (the background just outside is blended too, below the cut's tolerance)
    paper = ~mask & (outside > EDGE_RIM)
    if not rim.any() or not core.any() or not paper.any():
        return out
    rgb = rgba[..., :3].astype(np.float32)

    def nearest(source: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The colour of the nearest `source` pixel, and the distance to it, at every pixel."""
        dist, labels = cv2.distanceTransformWithLabels(
            (~source).astype(np.uint8), cv2.DIST_L2, 3, labelType=cv2.DIST_LABEL_PIXEL
        )
        ys, xs = np.nonzero(source)  # label k is the k-th source pixel in scan order
        return rgb[ys, xs][labels - 1], dist

    ys, xs = np.nonzero(rim)
    fore, to_core = nearest(core)
    fore, to_core = fore[ys, xs], to_core[ys, xs]
    back = nearest(paper)[0][ys, xs]
    px = rgb[ys, xs]
    span = fore - back
    length2 = (span * span).sum(axis=1)
    share = np.clip(((px - back) * span).sum(axis=1) / np.maximum(length2, 1e-6), 0.0, 1.0)
    residual = np.linalg.norm(px - (back + share[:, None] * span), axis=1)
    # (a thin stroke, a hair's tip: all rim, nothing inside to take a colour from;
    # it stays opaque, as drawn)
    blended = (
        (to_core <= EDGE_RIM + 1.0)
        & (length2 >= EDGE_MIN_CONTRAST**2)
        & (residual <= EDGE_MAX_RESIDUAL)
        & (share < 0.98)
    )
    ys, xs = ys[blended], xs[blended]
    out[ys, xs, :3] = np.clip(fore[blended] + 0.5, 0, 255).astype(np.uint8)
    out[ys, xs, 3] = np.clip(np.rint(share[blended] * 255.0), 1, 255).astype(np.uint8)
    return out
