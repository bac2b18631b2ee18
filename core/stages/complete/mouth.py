# SPDX-License-Identifier: GPL-3.0-or-later
"""The generated mouth interior (dark red with a tongue), which the rig rests
collapsed and ParamMouthOpenY opens."""
from __future__ import annotations

from typing import Optional

import cv2
import numpy as np

from ...model.document import Canvas, Layer, layer_id
from ..landmarks import FaceLandmarks

MOUTH_INTERIOR = {  # the generated mouth, as data
    "height_per_width": 0.62,
    "width_scale": 1.0,
    "cavity_rgb": (110, 28, 40),
    "throat_rgb": (70, 14, 26),
    "tongue_rgb": (222, 104, 112),
    "line_rgb": (70, 26, 30),
}



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

