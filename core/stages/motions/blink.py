# SPDX-License-Identifier: GPL-3.0-or-later
"""Blinking: when the idle motion blinks and how a blink moves the eyes.

The timing has one home, web/constants.json "blink", which the web player's
automatic blink reads too: close, hold closed, open (seconds), the gap
between blinks, when the first comes, and the chance and pause of a double
blink.  Blinks are placed at irregular but deterministic (seeded) times and
never straddle the loop point.  (The eye shapes a blink moves between are the
rig's eyes generator: core/stages/rig/generators/eyes.py.)"""

from __future__ import annotations


import numpy as np

from ...model.constants import BLINK

BLINK_CLOSE_S = float(BLINK["close_s"])
BLINK_HOLD_S = float(BLINK["hold_s"])
BLINK_OPEN_S = float(BLINK["open_s"])
BLINK_GAP_RANGE_S = tuple(float(v) for v in BLINK["gap_s"])  # time between blinks
BLINK_FIRST_RANGE_S = tuple(float(v) for v in BLINK["first_s"])
DOUBLE_BLINK_CHANCE = float(BLINK["double_chance"])
DOUBLE_BLINK_PAUSE_S = float(BLINK["double_pause_s"])
BLINK_PARAMS = ("ParamEyeLOpen", "ParamEyeROpen")
END_MARGIN_S = 0.3  # no blink this close to the end of a loop
IDLE_SEED = 7  # the idle motion's blinks (deterministic)


def blink_times(duration: float, seed: int = IDLE_SEED) -> list[float]:
    """Start times of the blinks in one loop: irregular, deterministic."""
    rng = np.random.default_rng(seed)
    length = BLINK_CLOSE_S + BLINK_HOLD_S + BLINK_OPEN_S
    starts, t = [], float(rng.uniform(*BLINK_FIRST_RANGE_S))
    while t + length < duration - END_MARGIN_S:
        starts.append(round(t, 3))
        t += float(rng.uniform(*BLINK_GAP_RANGE_S))
        if rng.random() < DOUBLE_BLINK_CHANCE:  # now and then a double blink
            double = starts[-1] + length + DOUBLE_BLINK_PAUSE_S
            if double + length < min(t, duration - END_MARGIN_S):
                starts.append(round(double, 3))
    return starts


def blink_curve(lo, default, starts, duration) -> tuple[np.ndarray, np.ndarray]:
    times, values = [0.0], [default]
    for s in starts:
        times += [
            s,
            s + BLINK_CLOSE_S,
            s + BLINK_CLOSE_S + BLINK_HOLD_S,
            s + BLINK_CLOSE_S + BLINK_HOLD_S + BLINK_OPEN_S,
        ]
        values += [default, lo, lo, default]
    times.append(duration)
    values.append(default)
    return np.array(times), np.array(values, np.float64)
