# SPDX-License-Identifier: GPL-3.0-or-later
"""The creator's strengths, baked: a parameter's strength scales the keyform
offsets of the nodes away from its default, a motion's strength scales its
curves around each parameter's default (clamped to the range).  Export bakes
them into the data so the runtime plays what Blender shows."""

from __future__ import annotations

import numpy as np

from .document import Keyform, Motion, MotionCurve, RigDocument


def baked_forms(doc: RigDocument, kf: Keyform) -> np.ndarray:
    """Forms scaled by the strengths of the parameters each node moves away from."""
    params = [doc.parameter(p) for p in kf.params]
    if all(p.strength == 1.0 for p in params):
        return kf.forms
    scale = np.ones(1)
    for p, keys in zip(params, kf.keys):
        s = np.array([1.0 if abs(k - p.default) < 1e-9 else p.strength for k in keys])
        scale = np.outer(scale, s).ravel()
    return kf.forms * scale.reshape((-1,) + (1,) * (kf.forms.ndim - 1))


def baked_curve(doc: RigDocument, motion: Motion, curve: MotionCurve) -> np.ndarray:
    p = doc.parameter(curve.param)
    vals = p.default + motion.strength * (np.asarray(curve.values, np.float64) - p.default)
    return np.clip(vals, p.min, p.max)
