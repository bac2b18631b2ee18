# SPDX-License-Identifier: GPL-3.0-or-later
"""Building motion curves: keys are linear in between (the runtime format's
rule), so smooth cycles and eased segments are sampled densely."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...model.document import MotionCurve, Parameter

KEYS_PER_SECOND = 10


def eased_path(points: Sequence[tuple[float, float]], times: np.ndarray) -> np.ndarray:
    """Values through (time, value) waypoints with smoothstep easing between them."""
    tp = np.array([p[0] for p in points])
    vp = np.array([p[1] for p in points], np.float64)
    i = np.clip(np.searchsorted(tp, times, side="right") - 1, 0, len(tp) - 2)
    u = np.clip((times - tp[i]) / np.maximum(tp[i + 1] - tp[i], 1e-9), 0.0, 1.0)
    u = u * u * (3.0 - 2.0 * u)
    return vp[i] + (vp[i + 1] - vp[i]) * u


def clamped_curve(
    params: dict[str, Parameter], pid: str, times: np.ndarray, values: np.ndarray
) -> list[MotionCurve]:
    p = params.get(pid)
    if p is None:
        return []
    return [MotionCurve(pid, times.copy(), np.clip(values, p.min, p.max))]
