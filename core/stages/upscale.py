# SPDX-License-Identifier: GPL-3.0-or-later
"""A character drawn small (a visual-novel sprite) is enlarged after landmarks.

Below MIN_FACE_WIDTH the eyes are a few pixels and cannot be split, so the
pipeline scales the whole image up until the face is FACE_TARGET_WIDTH wide
(Lanczos on premultiplied colour, so edges against transparency keep their
colour) and runs foreground and landmarks again on it.  The rig is then made at
the larger size, and the run warns that it was.  A face too small to hold eyes
at all (under SMALLEST_FACE_WIDTH) is still refused by decompose.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from .decompose.context import MIN_FACE_WIDTH

FACE_TARGET_WIDTH = 96  # px: what the stages see on a typical portrait's small end
SMALLEST_FACE_WIDTH = 12  # px: below this there is nothing to enlarge
MAX_FACTOR = 4.0
MAX_UPSCALED_PIXELS = 16_000_000  # the enlarged canvas stays a size the stages handle


@dataclass
class Upscale:
    factor: float
    rgba: np.ndarray
    warning: str


def upscale_factor(face_width: float, width: int, height: int) -> float | None:
    """How much to enlarge an image whose face is `face_width` px wide, or None
    when it needs no enlarging or cannot be helped by it."""
    if face_width >= MIN_FACE_WIDTH or face_width < SMALLEST_FACE_WIDTH:
        return None
    factor = min(FACE_TARGET_WIDTH / float(face_width), MAX_FACTOR)
    factor = min(factor, math.sqrt(MAX_UPSCALED_PIXELS / float(max(1, width * height))))
    if face_width * factor < MIN_FACE_WIDTH:
        return None
    return factor


def enlarge(rgba: np.ndarray, factor: float) -> np.ndarray:
    """`rgba` scaled by `factor` with Lanczos resampling of premultiplied colour."""
    h, w = rgba.shape[:2]
    size = (max(1, int(round(w * factor))), max(1, int(round(h * factor))))
    f = rgba.astype(np.float32) / 255.0
    alpha = f[..., 3:4]
    pre = np.concatenate([f[..., :3] * alpha, alpha], axis=2)
    big = np.clip(cv2.resize(pre, size, interpolation=cv2.INTER_LANCZOS4), 0.0, 1.0)
    a = big[..., 3:4]
    rgb = np.where(a > 1e-4, big[..., :3] / np.maximum(a, 1e-4), 0.0)
    out = np.concatenate([np.clip(rgb, 0.0, 1.0), a], axis=2)
    out = np.clip(out * 255.0 + 0.5, 0, 255).astype(np.uint8)
    out[out[..., 3] == 0, :3] = 0
    return out


def upscale_small_face(rgba: np.ndarray, face_width: float) -> Upscale | None:
    """An enlarged copy of `rgba` and the warning that says so, when the face is
    too small to split and enlarging helps; otherwise None."""
    h, w = rgba.shape[:2]
    factor = upscale_factor(face_width, w, h)
    if factor is None:
        return None
    big = enlarge(rgba, factor)
    warning = (
        f"the face is only {int(face_width)} px wide, too small to split eyes, brows and "
        f"mouth: the image was enlarged {factor:.2f} times (to {big.shape[1]}x{big.shape[0]} px) "
        "and rigged at that size; a larger original gives a cleaner rig"
    )
    return Upscale(factor=factor, rgba=big, warning=warning)
