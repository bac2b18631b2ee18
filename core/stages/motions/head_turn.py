# SPDX-License-Identifier: GPL-3.0-or-later
"""The head-turn demo: a looping tour of the AngleX x AngleY grid (all four
corners), the eyes leading the turn, with the idle's breath and blinks."""

from __future__ import annotations


import numpy as np

from ...model.document import Motion, RigDocument
from .blink import BLINK_PARAMS
from .curves import KEYS_PER_SECOND, clamped_curve, eased_path
from .idle import make_idle

HEAD_TURN_DURATION = 8.0
# Waypoints (fraction of the loop, AngleX, AngleY): every corner of the grid.
HEAD_TURN_PATH: tuple[tuple[float, float, float], ...] = (
    (0.0, 0, 0),
    (0.12, 30, 0),
    (0.24, 30, 30),
    (0.38, -30, 30),
    (0.52, -30, -30),
    (0.66, 30, -30),
    (0.8, 0, -10),
    (1.0, 0, 0),
)
GAZE_LEADS = 0.6  # the eyes look the way the head turns (of the full gaze per full turn)


def make_head_turn_demo(doc: RigDocument, duration: float = HEAD_TURN_DURATION) -> Motion:
    """A looping tour of the AngleX x AngleY grid (all four corners), the eyes
    leading the turn, with the idle's breath and blinks."""
    params = {p.id: p for p in doc.parameters}
    times = np.linspace(0.0, duration, int(round(duration * KEYS_PER_SECOND)) + 1)
    ax = eased_path([(f * duration, x) for f, x, _ in HEAD_TURN_PATH], times)
    ay = eased_path([(f * duration, y) for f, _, y in HEAD_TURN_PATH], times)
    curves = clamped_curve(params, "ParamAngleX", times, ax) + clamped_curve(params, "ParamAngleY", times, ay)
    curves += clamped_curve(params, "ParamEyeBallX", times, GAZE_LEADS * ax / 30.0)
    curves += clamped_curve(params, "ParamEyeBallY", times, GAZE_LEADS * ay / 30.0)
    curves += clamped_curve(params, "ParamBodyAngleX", times, ax / 30.0 * 3.0)
    idle = make_idle(doc, duration)
    curves += [c for c in idle.curves if c.param in ("ParamBreath",) + BLINK_PARAMS]
    return Motion(id="HeadTurn", duration=duration, curves=curves, loop=True)
