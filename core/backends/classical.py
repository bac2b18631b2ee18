# SPDX-License-Identifier: GPL-3.0-or-later
"""The built-in classical backends: no packages beyond OpenCV, no weights."""

from __future__ import annotations

import cv2
import numpy as np

from .base import ForegroundBackend, InpaintBackend, Needs, PartsBackend, fill_from_nearest

INPAINT_MAX_SIDE = 192  # as core.stages.complete: flat colours survive the downscale


class BorderFloodFillForeground(ForegroundBackend):
    name = "builtin"
    label = "Built-in (background colour from the border)"
    needs = Needs()

    def segment(self, rgba):
        from ..stages.foreground import extract_foreground

        return extract_foreground(rgba)


class BuiltinParts(PartsBackend):
    name = "builtin"
    label = "Built-in (colours and landmarks)"
    needs = Needs()

    def segment(self, rgba, mask):
        return None  # the built-in decomposition decides on its own


class OpenCVInpaint(InpaintBackend):
    name = "builtin"
    label = "Built-in (OpenCV Navier-Stokes)"
    needs = Needs()

    def paint(self, rgba, hole, prompt, seed, steps, strength):
        known = (rgba[..., 3] > 0) & ~hole
        rgb = fill_from_nearest(rgba[..., :3], known) if known.any() else rgba[..., :3].copy()
        h, w = hole.shape
        factor = min(1.0, INPAINT_MAX_SIDE / max(h, w))
        if factor < 1.0:
            size = (max(2, int(round(w * factor))), max(2, int(round(h * factor))))
            small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
            small_hole = cv2.resize(hole.astype(np.uint8) * 255, size, interpolation=cv2.INTER_AREA) > 0
        else:
            small, small_hole = rgb, hole
        small_hole = cv2.dilate(small_hole.astype(np.uint8), np.ones((3, 3), np.uint8))
        painted = cv2.inpaint(np.ascontiguousarray(small), small_hole, 3, cv2.INPAINT_NS)
        if factor < 1.0:
            painted = cv2.resize(painted, (w, h), interpolation=cv2.INTER_LINEAR)
        return painted
