# SPDX-License-Identifier: GPL-3.0-or-later
"""The face: skin under the fringe, side locks, eyes, brows, nose and mouth (so
a closed eye or a moved fringe shows skin)."""

from __future__ import annotations


import numpy as np

from ...model.document import Canvas, Layer
from ..landmarks import FaceLandmarks
from .paint import _ellipse, _grown, _hull, _rim_of


def _complete_face(
    face: Layer,
    canvas: Canvas,
    lm: FaceLandmarks,
    covered: np.ndarray,
    features: np.ndarray,
    rim_from: np.ndarray | None = None,
) -> tuple[Layer, np.ndarray, np.ndarray]:
    vis = face.full_mask(canvas)
    shape = _hull(vis | features)
    eye_y = 0.25 * (lm.eye_l[1] + lm.eye_l[3] + lm.eye_r[1] + lm.eye_r[3])
    cx = 0.25 * (lm.eye_l[0] + lm.eye_l[2] + lm.eye_r[0] + lm.eye_r[2])
    rows = np.nonzero(shape[int(min(max(eye_y, 0), canvas.height - 1))])[0]
    half_w = 0.5 * (rows.max() - rows.min() + 1) if len(rows) else 0.5 * (lm.face_box[2] - lm.face_box[0])
    cx = 0.5 * (rows.max() + rows.min()) if len(rows) else cx
    down = max(lm.chin[1] - eye_y, 1.0)
    # the skull: the upper half of an ellipse reaching well above the brows
    skull = _ellipse(shape.shape, (cx, eye_y), (half_w, 1.15 * down))
    skull[int(eye_y) :] = False
    cheeks = _ellipse(shape.shape, (cx, eye_y), (half_w, down))
    amodal = shape | ((skull | cheeks) & covered)
    add = amodal & covered & ~vis
    # skin right at a feature's rim is mixed with it: it is painted clean too (the
    # mix moves into the feature, `_unmix_rims`) and never copied from
    rim_w = _rim_width(lm)
    rim = _rim_of(vis, features, rim_w)
    near_features = _rim_of(np.ones_like(vis), features, 2 * rim_w)
    if rim_from is not None:  # hair strokes end in thin tips: a wider band
        rim |= _rim_of(vis, rim_from, 3 * rim_w)
        near_features |= _rim_of(np.ones_like(vis), rim_from, 4 * rim_w)
    return _grown(face, canvas, add, not_sources=near_features, repaint=rim), amodal, rim


def _rim_width(lm: FaceLandmarks) -> int:
    """How far anti-aliasing reaches around a feature line (px)."""
    return max(2, int(round(0.008 * (lm.face_box[2] - lm.face_box[0]))))
