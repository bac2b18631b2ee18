# SPDX-License-Identifier: GPL-3.0-or-later
"""Short expression motions (smile, surprise, angry): ease in, hold, ease out,
starting and ending at the defaults."""

from __future__ import annotations


import numpy as np

from ...model.document import Motion, RigDocument
from ...model.errors import ImageToRigError
from .curves import KEYS_PER_SECOND, clamped_curve, eased_path

# Expressions as data: name -> {parameter: value at the hold}.
EXPRESSIONS: dict[str, dict[str, float]] = {
    "smile": {
        "ParamEyeLSmile": 1.0,
        "ParamEyeRSmile": 1.0,
        "ParamMouthForm": 1.0,
        "ParamMouthOpenY": 0.25,
        "ParamCheek": 0.8,
        "ParamBrowLY": 0.3,
        "ParamBrowRY": 0.3,
        "ParamBrowLAngle": 0.2,
        "ParamBrowRAngle": 0.2,
        "ParamAngleY": 5.0,
        "ParamAngleZ": 6.0,
    },
    "surprise": {
        "ParamBrowLY": 1.0,
        "ParamBrowRY": 1.0,
        "ParamBrowLAngle": 0.5,
        "ParamBrowRAngle": 0.5,
        "ParamMouthOpenY": 0.8,
        "ParamMouthForm": -0.7,  # open, the round "o" of shock (rig/generators/mouth.py)
        "ParamEyeBallY": 0.15,
        "ParamAngleY": 8.0,
        "ParamBodyAngleY": -3.0,
    },
    "angry": {
        "ParamBrowLY": -0.6,
        "ParamBrowRY": -0.6,
        "ParamBrowLAngle": -1.0,
        "ParamBrowRAngle": -1.0,
        "ParamMouthForm": -1.0,
        "ParamEyeLOpen": 0.75,
        "ParamEyeROpen": 0.75,
        "ParamAngleY": -6.0,
        "ParamBodyAngleX": -2.0,
    },
}
EXPRESSION_TIMING = (0.35, 1.3, 0.45)  # ease in, hold, ease out (seconds)
EXPRESSION_LEAD_S = 0.15  # a still moment before and after


class MotionError(ImageToRigError):
    """A motion was asked for that cannot be made (for example: an unknown expression)."""


def make_expression_motion(doc: RigDocument, name: str) -> Motion:
    """A short one-shot motion: ease into the expression, hold, ease out."""
    if name not in EXPRESSIONS:
        raise MotionError(f"unknown expression {name!r}; known: {', '.join(EXPRESSIONS)}")
    params = {p.id: p for p in doc.parameters}
    ease_in, hold, ease_out = EXPRESSION_TIMING
    t1 = EXPRESSION_LEAD_S
    t2, t3 = t1 + ease_in, t1 + ease_in + hold
    t4 = t3 + ease_out
    duration = t4 + EXPRESSION_LEAD_S
    times = np.linspace(0.0, duration, int(round(duration * 2 * KEYS_PER_SECOND)) + 1)
    weight = eased_path([(0.0, 0.0), (t1, 0.0), (t2, 1.0), (t3, 1.0), (t4, 0.0), (duration, 0.0)], times)
    curves = []
    for pid, target in EXPRESSIONS[name].items():
        p = params.get(pid)
        if p is None:
            continue
        target = min(max(target, p.min), p.max)
        curves += clamped_curve(params, pid, times, p.default + (target - p.default) * weight)
    return Motion(id=name.capitalize(), duration=duration, curves=curves, loop=False)
