# SPDX-License-Identifier: GPL-3.0-or-later
"""Stage 7: the idle motion (breath, blinks, a slight sway).

Curves are linear between keys (the runtime format's rule), so smooth cycles
are sampled densely.  Every cycle fits a whole number of times into the loop,
so the motion loops seamlessly; blinks are placed at irregular but
deterministic times (seeded) and never straddle the loop point.
"""
from __future__ import annotations

import math
from typing import Dict, List, Tuple

import numpy as np

from .document import Motion, MotionCurve, RigDocument

IDLE_DURATION = 7.2  # seconds
KEYS_PER_SECOND = 10
IDLE_SEED = 7

# Smooth idle cycles as data: parameter -> (amplitude as a fraction of the
# half range, cycles per loop, phase in turns).  Sums of sines.
SWAY: Dict[str, Tuple[Tuple[float, int, float], ...]] = {
    "ParamBreath": ((0.9, 2, 0.0),),  # default at the range end: swings 0 -> 0.9 -> 0
    "ParamAngleX": ((0.18, 1, 0.0), (0.05, 3, 0.3)),
    "ParamAngleY": ((0.08, 2, 0.15),),
    "ParamAngleZ": ((0.15, 1, 0.25), (0.04, 2, 0.6)),
    "ParamBodyAngleX": ((0.25, 1, 0.1),),
    "ParamEyeBallX": ((0.12, 1, 0.5),),
}

BLINK_CLOSE_S, BLINK_HOLD_S, BLINK_OPEN_S = 0.07, 0.04, 0.1  # ~0.21 s per blink
BLINK_GAP_RANGE_S = (1.4, 3.2)  # time between blinks
BLINK_PARAMS = ("ParamEyeLOpen", "ParamEyeROpen")


def _sway_curve(lo, default, hi, terms, times, duration) -> np.ndarray:
    """Sum of sines that starts and ends at the default.  A parameter whose
    default sits at one end of its range (breath) swings towards the other end."""
    t = times / duration
    if default in (lo, hi):
        sign = 1.0 if default == lo else -1.0
        wave = sum(a * 0.5 * (1.0 - np.cos(2 * math.pi * (n * t + ph)))
                   - a * 0.5 * (1.0 - math.cos(2 * math.pi * ph)) for a, n, ph in terms)
        return np.clip(default + sign * (hi - lo) * wave, lo, hi)
    half = min(hi - default, default - lo)
    wave = sum(a * np.sin(2 * math.pi * (n * t + ph)) - a * math.sin(2 * math.pi * ph)
               for a, n, ph in terms)
    return np.clip(default + half * wave, lo, hi)


def blink_times(duration: float, seed: int = IDLE_SEED) -> List[float]:
    """Start times of the blinks in one loop: irregular, deterministic."""
    rng = np.random.default_rng(seed)
    length = BLINK_CLOSE_S + BLINK_HOLD_S + BLINK_OPEN_S
    starts, t = [], float(rng.uniform(0.6, 1.6))
    while t + length < duration - 0.3:
        starts.append(round(t, 3))
        t += float(rng.uniform(*BLINK_GAP_RANGE_S))
        if rng.random() < 0.25:  # now and then a double blink
            double = starts[-1] + length + 0.12
            if double + length < min(t, duration - 0.3):
                starts.append(round(double, 3))
    return starts


def _blink_curve(lo, default, starts, duration) -> Tuple[np.ndarray, np.ndarray]:
    times, values = [0.0], [default]
    for s in starts:
        times += [s, s + BLINK_CLOSE_S, s + BLINK_CLOSE_S + BLINK_HOLD_S,
                  s + BLINK_CLOSE_S + BLINK_HOLD_S + BLINK_OPEN_S]
        values += [default, lo, lo, default]
    times.append(duration)
    values.append(default)
    return np.array(times), np.array(values, np.float64)


def make_idle(doc: RigDocument, duration: float = IDLE_DURATION, seed: int = IDLE_SEED) -> Motion:
    """The looping idle motion for the parameters `doc` has."""
    params = {p.id: p for p in doc.parameters}
    n = int(round(duration * KEYS_PER_SECOND))
    times = np.linspace(0.0, duration, n + 1)
    curves: List[MotionCurve] = []
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
        t, v = _blink_curve(p.min, p.default, starts, duration)
        curves.append(MotionCurve(pid, t, v))
    return Motion(id="Idle", duration=duration, curves=curves, loop=True)
