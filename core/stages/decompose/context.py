# SPDX-License-Identifier: GPL-3.0-or-later
"""What every part of the decomposition reads: the image in Lab, the
foreground, the skin, the landmarks, the size unit, the table of layers in
depth order, and small mask helpers."""

from __future__ import annotations


import cv2
import numpy as np

from ..landmarks import FaceLandmarks, cheek_colour, flatten_over_white, skin_mask


# Back to front.  Layers the decomposition finds are emitted in this order.
DEPTH_ORDER: tuple[tuple[str, str], ...] = (
    ("back hair", ""),
    ("headwear", ""),
    ("neck", ""),
    ("topwear", ""),
    ("ears", "r"),
    ("ears", "l"),
    ("face", ""),
    ("eyewhite", "r"),
    ("irides", "r"),
    ("eyewhite", "l"),
    ("irides", "l"),
    ("eyelash", "r"),
    ("eyelash", "l"),
    ("eyebrow", "r"),
    ("eyebrow", "l"),
    ("nose", ""),
    ("mouth", ""),
    ("front hair", ""),
)
# Who wins a line between two parts: the front-most (index in this tuple, first wins).
LINE_OWNERS = ("front hair", "face", "ears", "headwear", "topwear", "neck", "back hair")

DESIGN_FACE_WIDTH = 280.0  # sizes below are in px of a face this wide
MIN_FACE_WIDTH = 48  # px: smaller faces have eyes of a few pixels, too small to split

UNASSIGNED = -1
EDGE_THRESHOLD = 48.0
LINE_CONTRAST = 24  # Lab L (0..255) a stroke is darker than its surroundings  # Sobel |gx| + |gy| of Lab channels that marks a colour step


def _label_index() -> dict[tuple[str, str], int]:
    return {key: i for i, key in enumerate(DEPTH_ORDER)}


def _window(box, pad_x0, pad_y0, pad_x1, pad_y1, shape):
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    h_img, w_img = shape[:2]
    return (
        max(0, int(x0 - pad_x0 * w)),
        max(0, int(y0 - pad_y0 * h)),
        min(w_img, int(np.ceil(x1 + pad_x1 * w))),
        min(h_img, int(np.ceil(y1 + pad_y1 * h))),
    )


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


SKIN_DISAGREEMENT = 12.0  # Lab distance at which the cheeks' colour replaces the estimate


def _lab_gap(p, q) -> float:
    a, b = cv2.cvtColor(np.uint8([[p, q]]), cv2.COLOR_RGB2LAB)[0].astype(np.float64)
    return float(np.hypot(a[1] - b[1], a[2] - b[2]) + 0.5 * abs(a[0] - b[0]))


def hair_lab(lm: FaceLandmarks, dtype=int) -> np.ndarray:
    """The landmarks' hair colour as Lab (L 0..255, a and b centred on 0), as `dtype`."""
    lab = cv2.cvtColor(np.uint8([[lm.hair_rgb]]), cv2.COLOR_RGB2LAB)[0, 0].astype(int) - np.array(
        [0, 128, 128]
    )
    return lab.astype(dtype)


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
        # the skin as the cheeks show it, where the landmarks' estimate is far from
        # it (a monochrome drawing's paper or tint; a detector's sample off the skin)
        skin_rgb = lm.skin_rgb
        cheeks = cheek_colour(self.rgb, self.fg, lm)
        if cheeks is not None and _lab_gap(cheeks, skin_rgb) > SKIN_DISAGREEMENT:
            skin_rgb = cheeks
        self.skin, skin_rgb = skin_mask(self.rgb, self.fg, skin_rgb)
        ref = cv2.cvtColor(np.uint8([[skin_rgb]]), cv2.COLOR_RGB2LAB)[0, 0].astype(int)
        self.skin_L = int(ref[0])
        self.skin_ab = (int(ref[1]) - 128, int(ref[2]) - 128)
        fw = max(8, lm.face_box[2] - lm.face_box[0])
        eye_span = (lm.eye_l[2] - lm.eye_r[0]) * 1.45  # eyes span ~0.69 of a face width
        self.unit = max(0.25, min(fw, eye_span) / DESIGN_FACE_WIDTH)
        self.features = np.zeros((self.h, self.w), bool)
        # per side, the top of an upper lash that lies above the landmarks' eye box
        # (found where a brow was looked for: the box then starts at the iris);
        # the eye is cut from a box reaching up to it
        self.lash_tops: dict[str, int] = {}

    def chroma(self, sl) -> np.ndarray:
        a, b = self.a[sl].astype(np.float32), self.b[sl].astype(np.float32)
        return np.sqrt(a * a + b * b)
