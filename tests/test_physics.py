# SPDX-License-Identifier: GPL-3.0-or-later
"""Pendulum physics: stability, frame-rate independence, response, physics3 files."""

import json
import math

import numpy as np
import pytest

from image_to_rig.core.formats.cubism_json import physics3
from image_to_rig.core.model.physics import PhysicsError, validate_physics
from image_to_rig.core.runtime import physics as ph
from image_to_rig.core.runtime.evaluate import sample_motion
from image_to_rig.core.stages.hair_physics import default_hair_physics
from image_to_rig.core.model.document import Motion, MotionCurve, Parameter
from image_to_rig.core.formats.model_json import from_runtime, to_runtime, validate_runtime

from web_support import make_test_document

from conftest import cubism_schema

HAIR = ("ParamHairFront", "ParamHairSide", "ParamHairBack")


def hair_document():
    doc = make_test_document()
    doc.parameters.append(Parameter("ParamAngleY", -30, 0, 30, "Angle Y", "Face"))
    for pid in HAIR:
        doc.parameters.append(Parameter(pid, -1, 0, 1, pid, "Hair"))
    doc.physics = default_hair_physics(doc)
    return doc


def smooth_inputs(t):
    """Head turning and tilting smoothly, then still from 2 s on."""
    fade = 0.5 * (1 + math.cos(math.pi * min(t / 2.0, 1.0)))
    return {
        "ParamAngleX": 30 * math.sin(2 * math.pi * 0.8 * t) * fade,
        "ParamAngleZ": 20 * math.sin(2 * math.pi * 0.5 * t) * fade,
        "ParamBodyAngleX": 8 * math.sin(2 * math.pi * 0.3 * t) * fade,
    }


def simulate(doc, fps, seconds, inputs=smooth_inputs):
    sim = ph.PhysicsSimulator(doc)
    times, out = [], {p: [] for p in HAIR}
    for i in range(1, int(round(seconds * fps)) + 1):
        t = i / fps
        values = sim.step(inputs(t), 1.0 / fps)
        times.append(t)
        for p in HAIR:
            out[p].append(values[p])
    return np.array(times), {p: np.array(v) for p, v in out.items()}


def test_default_hair_uses_only_parameters_the_rig_has():
    doc = hair_document()
    assert [s.outputs[0].destination for s in doc.physics] == list(HAIR)
    sources = {i.source for s in doc.physics for i in s.inputs}
    assert sources == {"ParamAngleX", "ParamAngleZ", "ParamBodyAngleX"}  # no BodyAngleZ in the rig
    # Back hair is longer and slower than front hair.
    front, back = doc.physics[0].vertices[1], doc.physics[2].vertices[1]
    assert back.radius > front.radius and back.delay < front.delay
    bare = make_test_document()
    assert default_hair_physics(bare) == []
    validate_physics(doc)


def test_motion_is_bounded_and_decays_to_rest():
    doc = hair_document()
    times, out = simulate(doc, 60, 8.0)
    for p in HAIR:
        v = out[p]
        assert np.all(np.isfinite(v)) and np.all(np.abs(v) <= 1.0)
        assert np.abs(v[times < 2.0]).max() > 0.1, f"{p} moves while the head moves"
        assert np.abs(v[times > 7.0]).max() < 0.01, f"{p} comes to rest after the head stops"


@pytest.mark.parametrize("fps", [30, 144])
def test_frame_rate_independent(fps):
    doc = hair_document()
    t60, ref = simulate(doc, 60, 3.0)
    t, got = simulate(doc, fps, 3.0)
    for p in HAIR:
        other = np.interp(t60, t, got[p])
        assert np.abs(other - ref[p])[t60 > 0.05].max() < 0.02, p  # of a range of 2


def test_step_in_angle_x_trails_then_swings_back():
    doc = hair_document()
    sim = ph.PhysicsSimulator(doc)
    sim.step({}, 1 / 60)
    out = [sim.step({"ParamAngleX": 30}, 1 / 60)["ParamHairBack"] for _ in range(180)]
    out = np.array(out)
    assert out[0] < -0.1, "the hair tip trails behind the head (opposite sign)"
    first_positive = int(np.argmax(out > 0))
    assert first_positive > 6, "it swings back only after a delay"
    assert out.max() > 0.05, "it overshoots like a pendulum"
    assert abs(out[-1]) < 0.05


def test_step_in_angle_z_follows_with_a_delay():
    doc = hair_document()
    sim = ph.PhysicsSimulator(doc)
    out = np.array([sim.step({"ParamAngleZ": 30}, 1 / 60)["ParamHairBack"] for _ in range(300)])
    steady = out[-1]
    assert steady > 0.05, "a tilt toward +angle swings the hair the same way"
    # 6 degrees of gravity tilt (60% of the normalised 10) times the output scale.
    assert steady == pytest.approx(math.radians(6) * doc.physics[2].outputs[0].scale, rel=0.05)
    assert out[0] < 0.4 * steady
    assert 10 < int(np.argmax(out)) < 120, "the peak comes after a delay"


def test_degenerate_inputs_never_give_nan():
    doc = hair_document()
    sim = ph.PhysicsSimulator(doc)
    cases = [
        ({"ParamAngleX": float("nan")}, 1 / 60),
        ({"ParamAngleX": float("inf")}, 1 / 60),
        ({"ParamAngleX": 1e30}, 0.0),
        ({"ParamAngleZ": -1e30}, 1e9),
        ({}, -5),
        ({}, float("nan")),
        ({"ParamAngleX": "x"}, 1 / 30),
    ]
    for values, dt in cases:
        out = sim.step(values, dt)
        assert set(out) == set(HAIR)
        assert all(math.isfinite(v) and -1 <= v <= 1 for v in out.values()), (values, dt)


def test_outputs_blend_and_clamp():
    doc = hair_document()
    doc.physics[0].outputs[0].scale = 50.0
    sim = ph.PhysicsSimulator(doc)
    sim.step({}, 1 / 60)
    out = sim.step({"ParamAngleX": 30}, 1 / 60)
    assert out["ParamHairFront"] == -1.0
    doc.physics[0].outputs[0].weight = 0.0
    sim = ph.PhysicsSimulator(doc)
    assert sim.step({"ParamAngleX": 30, "ParamHairFront": 0.4}, 1 / 60)["ParamHairFront"] == 0.4


def test_validation_names_the_problem():
    doc = hair_document()
    doc.physics[1].inputs[0].source = "ParamNope"
    with pytest.raises(PhysicsError, match="ParamNope"):
        validate_physics(doc)
    doc = hair_document()
    doc.physics[0].vertices[1].delay = 0
    with pytest.raises(ValueError, match="delay > 0"):
        physics3(doc)


def _physics3_schema():
    return cubism_schema("physics3")


def test_physics3_is_schema_valid_with_exact_counts():
    import jsonschema

    schema = _physics3_schema()
    doc = hair_document()
    data = physics3(doc)
    jsonschema.Draft7Validator(schema).validate(data)
    # The published schema misspells "items" of PhysicsSettings ("itmes"), so it
    # never checks the settings: check each one against its own definition.
    setting_schema = dict(schema["properties"]["PhysicsSettings"]["itmes"])
    setting_schema["definitions"] = schema["definitions"]
    for s in data["PhysicsSettings"]:
        jsonschema.Draft7Validator(setting_schema).validate(s)
    meta = data["Meta"]
    assert meta["PhysicsSettingCount"] == len(data["PhysicsSettings"]) == 3
    assert meta["TotalInputCount"] == sum(len(s["Input"]) for s in data["PhysicsSettings"]) == 9
    assert meta["TotalOutputCount"] == sum(len(s["Output"]) for s in data["PhysicsSettings"]) == 3
    assert meta["VertexCount"] == sum(len(s["Vertices"]) for s in data["PhysicsSettings"]) == 6
    assert [d["Id"] for d in meta["PhysicsDictionary"]] == [s["Id"] for s in data["PhysicsSettings"]]
    assert meta["EffectiveForces"] == {"Gravity": {"X": 0.0, "Y": -1.0}, "Wind": {"X": 0.0, "Y": 0.0}}


def test_physics_round_trips_through_model_json():
    doc = hair_document()
    pages = [np.zeros((256, 256, 4), np.uint8)]
    placements = {l.id: (0, 0, 0, l.size[0], l.size[1]) for l in doc.layers}
    pages[0] = np.zeros((256, 256, 4), np.uint8)
    data = json.loads(json.dumps(to_runtime(doc, ["atlas0.png"], [(256, 256)], placements)))
    validate_runtime(data)
    assert len(data["physics"]) == 3
    back = from_runtime(data, pages)
    assert back.physics == doc.physics
    broken = json.loads(json.dumps(data))
    broken["physics"][0]["vertices"][1]["mobility"] = 3
    with pytest.raises(ValueError, match="physics"):
        validate_runtime(broken)


def test_bake_physics_of_a_looping_motion():
    doc = hair_document()
    turn = Motion(
        "Turn",
        2.0,
        [MotionCurve("ParamAngleX", np.array([0.0, 0.5, 1.5, 2.0]), np.array([0.0, 30.0, -30.0, 0.0]))],
        loop=True,
    )
    curves = ph.bake_physics(doc, turn, 30)
    assert set(curves) == set(HAIR)
    times, values = curves["ParamHairFront"]
    assert len(times) == 61 and times[-1] == pytest.approx(2.0)
    assert np.abs(values).max() > 0.1
    assert abs(values[0] - values[-1]) < 0.1, "a looping bake joins up at the loop point"
    # The same as stepping the simulator by hand (second cycle).
    sim = ph.PhysicsSimulator(doc)
    for t in times[:-1]:
        sim.step(sample_motion(doc, turn, t), 1 / 30)
    by_hand = [sim.step(sample_motion(doc, turn, t), 1 / 30)["ParamHairFront"] for t in times]
    np.testing.assert_allclose(values, by_hand, atol=1e-12)
