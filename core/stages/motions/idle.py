# SPDX-License-Identifier: GPL-3.0-or-later
"""The idle loop: breath, a slow sway of head, body and gaze, and blinks.

Every cycle fits a whole number of times into the loop, so it loops
seamlessly."""

from __future__ import annotations

import math

import numpy as np

from ...model.document import Motion, MotionCurve, RigDocument
from .blink import BLINK_PARAMS, IDLE_SEED, blink_curve, blink_times
from .curves import KEYS_PER_SECOND

IDLE_DURATION = 7.2  # seconds

# Smooth idle cycles as data: parameter -> (amplitude as a fraction of the
# half range, cycles per loop, phase in turns).  Sums of sines.
SWAY: dict[str, tuple[tuple[float, int, float], ...]] = {
    "ParamBreath": ((0.9, 2, 0.0),),  # default at the range end: swings 0 -> 0.9 -> 0
    "ParamAngleX": ((0.18, 1, 0.0), (0.05, 3, 0.3)),
    "ParamAngleY": ((0.08, 2, 0.15),),
    "ParamAngleZ": ((0.15, 1, 0.25), (0.04, 2, 0.6)),
    "ParamBodyAngleX": ((0.25, 1, 0.1),),
    "ParamEyeBallX": ((0.12, 1, 0.5),),
}


def _sway_curve(lo, default, hi, terms, times, duration) -> np.ndarray:
    """Sum of sines that starts and ends at the default.  A parameter whose
    default sits at one end of its range (breath) swings towards the other end."""
    t = times / duration
    if default in (lo, hi):
        sign = 1.0 if default == lo else -1.0
        wave = sum(
            a * 0.5 * (1.0 - np.cos(2 * math.pi * (n * t + ph)))
            - a * 0.5 * (1.0 - math.cos(2 * math.pi * ph))
            for a, n, ph in terms
        )
        return np.clip(default + sign * (hi - lo) * wave, lo, hi)
    half = min(hi - default, default - lo)
    wave = sum(a * np.sin(2 * math.pi * (n * t + ph)) - a * math.sin(2 * math.pi * ph) for a, n, ph in terms)
    return np.clip(default + half * wave, lo, hi)


def make_idle(doc: RigDocument, duration: float = IDLE_DURATION, seed: int = IDLE_SEED) -> Motion:
    """The looping idle motion for the parameters `doc` has."""
    params = {p.id: p for p in doc.parameters}
    n = int(round(duration * KEYS_PER_SECOND))
    times = np.linspace(0.0, duration, n + 1)
    curves: list[MotionCurve] = []
    for pid, terms in SWAY.items():
        p = params.get(pid)
        if p is None:
            continue
        values = _sway_curve(p.min, p.default, p.max, terms, times, duration)
        values[-1] = values[0]
        curves.append(MotionCurve(pid, times.copy(), values))
    starts = blink_times(duration, seed)
    for pid in BLINK_PARAMS:
        p = params.get(pid)
        if p is None:
            continue
        t, v = blink_curve(p.min, p.default, starts, duration)
        curves.append(MotionCurve(pid, t, v))
    return Motion(id="Idle", duration=duration, curves=curves, loop=True)
