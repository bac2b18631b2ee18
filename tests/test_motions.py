# SPDX-License-Identifier: GPL-3.0-or-later
"""Motions: head-turn demo and expressions stay in range, use only existing
parameters, ease in and out, and reach what they promise."""

import copy

import numpy as np
import pytest

from image_to_rig.core.stages import motions, rig as rigging
from image_to_rig.core.runtime.evaluate import sample_motion
from image_to_rig.devkit.sample import make_sample


@pytest.fixture(scope="module")
def doc():
    sample = make_sample(256)
    return rigging.build_rig(sample.canvas, sample.layers, mesh_density=0.5)


def _check_in_range(doc, motion):
    params = {p.id: p for p in doc.parameters}
    for c in motion.curves:
        p = params[c.param]
        assert np.all(np.diff(c.times) > 0) and c.times[0] == 0, c.param
        assert abs(c.times[-1] - motion.duration) < 1e-9, c.param
        assert p.min <= c.values.min() and c.values.max() <= p.max, (motion.id, c.param)


def test_all_motions_are_valid_and_distinct(doc):
    all_motions = motions.make_all_motions(doc)
    ids = [m.id for m in all_motions]
    assert ids == ["Idle", "HeadTurn", "Smile", "Surprise", "Angry"]
    for m in all_motions:
        _check_in_range(doc, m)
    d = copy.copy(doc)
    d.motions = all_motions
    d.validate()


def test_head_turn_demo_visits_every_corner(doc):
    m = motions.make_head_turn_demo(doc)
    assert m.loop and 5 <= m.duration <= 12
    t = np.linspace(0, m.duration, 400)
    vals = [sample_motion(doc, m, x) for x in t]
    ax = np.array([v["ParamAngleX"] for v in vals])
    ay = np.array([v["ParamAngleY"] for v in vals])
    for sx in (-1, 1):
        for sy in (-1, 1):
            assert np.any((sx * ax > 28) & (sy * ay > 28)), (sx, sy)
    gaze = np.array([v["ParamEyeBallX"] for v in vals])
    assert np.corrcoef(gaze, ax)[0, 1] > 0.95, "the eyes lead the turn"
    assert ax[0] == ax[-1] == 0 and ay[0] == ay[-1] == 0
    # smooth: no jump larger than 2 degrees between samples 0.02 s apart
    assert np.abs(np.diff(ax)).max() < 2.0


@pytest.mark.parametrize(
    "name, param, sign",
    [
        ("smile", "ParamEyeLSmile", 1),
        ("smile", "ParamMouthForm", 1),
        ("surprise", "ParamBrowLY", 1),
        ("surprise", "ParamMouthOpenY", 1),
        ("angry", "ParamBrowRAngle", -1),
        ("angry", "ParamMouthForm", -1),
    ],
)
def test_expressions_ease_in_hold_and_out(doc, name, param, sign):
    m = motions.make_expression_motion(doc, name)
    assert not m.loop and 1.5 <= m.duration <= 4.0
    curve = next(c for c in m.curves if c.param == param)
    default = doc.parameter(param).default
    assert curve.values[0] == default and curve.values[-1] == default
    peak = curve.values[np.argmax(sign * (curve.values - default))]
    assert sign * (peak - default) >= 0.5
    held = np.abs(curve.values - peak) < 1e-9
    hold_time = curve.times[held][-1] - curve.times[held][0]
    assert hold_time > 0.8, "holds the expression"
    rise = np.diff(sign * curve.values[: np.argmax(held)])
    assert np.all(rise >= -1e-9), "eases in monotonically"
    first_step = np.abs(np.diff(curve.values))[np.abs(np.diff(curve.values)) > 0][0]
    assert first_step < 0.2 * abs(peak - default), "starts gently"


def test_unknown_expression_and_missing_parameters(doc):
    with pytest.raises(motions.MotionError):
        motions.make_expression_motion(doc, "bored")
    d = copy.copy(doc)
    d.parameters = [p for p in doc.parameters if not p.id.startswith("ParamBrow")]
    d.keyforms = [k for k in doc.keyforms if not any(p.startswith("ParamBrow") for p in k.params)]
    for m in motions.make_all_motions(d):
        assert all(not c.param.startswith("ParamBrow") for c in m.curves)
    d.motions = motions.make_all_motions(d)
    d.validate()
