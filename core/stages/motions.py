# SPDX-License-Identifier: GPL-3.0-or-later
"""Stage 7: motions: the idle loop, a head-turn demo and short expressions.

Curves are linear between keys (the runtime format's rule), so smooth cycles
and eased segments are sampled densely.  Idle: every cycle fits a whole
number of times into the loop, so it loops seamlessly; blinks are placed at
irregular but deterministic times (seeded) and never straddle the loop point.
Expressions ease in, hold and ease out, and start and end at the defaults.
Every motion animates only parameters the document has, inside their ranges.
"""
from __future__ import annotations

import math
from typing import Dict, List, Sequence, Tuple

import numpy as np

from ..model.document import Motion, MotionCurve, RigDocument

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


# --------------------------------------------------------------------------- head turn demo
HEAD_TURN_DURATION = 8.0
# Waypoints (fraction of the loop, AngleX, AngleY): every corner of the grid.
HEAD_TURN_PATH: Tuple[Tuple[float, float, float], ...] = (
    (0.0, 0, 0), (0.12, 30, 0), (0.24, 30, 30), (0.38, -30, 30), (0.52, -30, -30),
    (0.66, 30, -30), (0.8, 0, -10), (1.0, 0, 0))
GAZE_LEADS = 0.6  # the eyes look the way the head turns (of the full gaze per full turn)


def _eased_path(points: Sequence[Tuple[float, float]], times: np.ndarray) -> np.ndarray:
    """Values through (time, value) waypoints with smoothstep easing between them."""
    tp = np.array([p[0] for p in points])
    vp = np.array([p[1] for p in points], np.float64)
    i = np.clip(np.searchsorted(tp, times, side="right") - 1, 0, len(tp) - 2)
    u = np.clip((times - tp[i]) / np.maximum(tp[i + 1] - tp[i], 1e-9), 0.0, 1.0)
    u = u * u * (3.0 - 2.0 * u)
    return vp[i] + (vp[i + 1] - vp[i]) * u


def _curve(params, pid, times, values) -> List[MotionCurve]:
    p = params.get(pid)
    if p is None:
        return []
    return [MotionCurve(pid, times.copy(), np.clip(values, p.min, p.max))]


def make_head_turn_demo(doc: RigDocument, duration: float = HEAD_TURN_DURATION) -> Motion:
    """A looping tour of the AngleX x AngleY grid (all four corners), the eyes
    leading the turn, with the idle's breath and blinks."""
    params = {p.id: p for p in doc.parameters}
    times = np.linspace(0.0, duration, int(round(duration * KEYS_PER_SECOND)) + 1)
    ax = _eased_path([(f * duration, x) for f, x, _ in HEAD_TURN_PATH], times)
    ay = _eased_path([(f * duration, y) for f, _, y in HEAD_TURN_PATH], times)
    curves = _curve(params, "ParamAngleX", times, ax) + _curve(params, "ParamAngleY", times, ay)
    curves += _curve(params, "ParamEyeBallX", times, GAZE_LEADS * ax / 30.0)
    curves += _curve(params, "ParamEyeBallY", times, GAZE_LEADS * ay / 30.0)
    curves += _curve(params, "ParamBodyAngleX", times, ax / 30.0 * 3.0)
    idle = make_idle(doc, duration)
    curves += [c for c in idle.curves if c.param in ("ParamBreath",) + BLINK_PARAMS]
    return Motion(id="HeadTurn", duration=duration, curves=curves, loop=True)


# --------------------------------------------------------------------------- expressions
# Expressions as data: name -> {parameter: value at the hold}.
EXPRESSIONS: Dict[str, Dict[str, float]] = {
    "smile": {"ParamEyeLSmile": 1.0, "ParamEyeRSmile": 1.0, "ParamMouthForm": 1.0,
              "ParamMouthOpenY": 0.25, "ParamCheek": 0.8, "ParamBrowLY": 0.3, "ParamBrowRY": 0.3,
              "ParamBrowLAngle": 0.2, "ParamBrowRAngle": 0.2, "ParamAngleY": 5.0, "ParamAngleZ": 6.0},
    "surprise": {"ParamBrowLY": 1.0, "ParamBrowRY": 1.0, "ParamBrowLAngle": 0.5,
                 "ParamBrowRAngle": 0.5, "ParamMouthOpenY": 0.8, "ParamMouthForm": -0.3,
                 "ParamEyeBallY": 0.15, "ParamAngleY": 8.0, "ParamBodyAngleY": -3.0},
    "angry": {"ParamBrowLY": -0.6, "ParamBrowRY": -0.6, "ParamBrowLAngle": -1.0,
              "ParamBrowRAngle": -1.0, "ParamMouthForm": -1.0, "ParamEyeLOpen": 0.75,
              "ParamEyeROpen": 0.75, "ParamAngleY": -6.0, "ParamBodyAngleX": -2.0},
}
EXPRESSION_TIMING = (0.35, 1.3, 0.45)  # ease in, hold, ease out (seconds)
EXPRESSION_LEAD_S = 0.15  # a still moment before and after


class MotionError(ValueError):
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
    weight = _eased_path([(0.0, 0.0), (t1, 0.0), (t2, 1.0), (t3, 1.0), (t4, 0.0), (duration, 0.0)],
                         times)
    curves = []
    for pid, target in EXPRESSIONS[name].items():
        p = params.get(pid)
        if p is None:
            continue
        target = min(max(target, p.min), p.max)
        curves += _curve(params, pid, times, p.default + (target - p.default) * weight)
    return Motion(id=name.capitalize(), duration=duration, curves=curves, loop=False)


def make_all_motions(doc: RigDocument) -> List[Motion]:
    """Idle, the head-turn demo and every expression, for the parameters `doc` has."""
    return ([make_idle(doc), make_head_turn_demo(doc)]
            + [make_expression_motion(doc, name) for name in EXPRESSIONS])
