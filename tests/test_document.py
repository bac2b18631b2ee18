# SPDX-License-Identifier: GPL-3.0-or-later
"""The rig document, its keyform maths, the reference evaluator and model.json."""

import math

import numpy as np
import pytest

from image_to_rig.core.model.document import (
    Canvas,
    DocumentError,
    Keyform,
    Layer,
    Mesh,
    Motion,
    MotionCurve,
    Parameter,
    RigDocument,
    RotationDeformer,
    WarpDeformer,
    layer_id,
    node_weights,
    tent_weights,
)
from image_to_rig.core.runtime.evaluate import evaluate, sample_motion
from image_to_rig.core.runtime.render import render
from image_to_rig.core.formats.model_json import from_runtime, to_runtime, validate_runtime


def _quad(x0, y0, x1, y1):
    v = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], float)
    return v, np.array([[0, 1, 2], [0, 2, 3]], np.int32)


def small_doc() -> RigDocument:
    """Two quads: one under a warp inside a rotation, one under a rotation chain."""
    doc = RigDocument(Canvas(120, 100))
    red = np.zeros((20, 40, 4), np.uint8)
    red[..., 0] = 220
    red[..., 3] = 255
    blue = np.zeros((30, 20, 4), np.uint8)
    blue[..., 2] = 200
    blue[..., 3] = 255
    doc.layers = [Layer("face", "face", red, 40, 30), Layer("irides_l", "irides", blue, 10, 50, side="l")]
    v, t = _quad(40, 30, 80, 50)
    doc.meshes.append(Mesh("face", "face", v, t, v - [40, 30], "face_warp"))
    v2, t2 = _quad(10, 50, 30, 80)
    doc.meshes.append(Mesh("iris", "irides_l", v2, t2, v2 - [10, 50], "head"))
    doc.deformers = [
        RotationDeformer("root", (60, 90)),
        RotationDeformer("head", (60, 55), "root"),
        WarpDeformer("face_warp", (30, 20, 90, 60), 2, 2, "head"),
    ]
    doc.parameters = [
        Parameter("ParamAngleX", -30, 0, 30),
        Parameter("ParamAngleY", -30, 0, 30),
        Parameter("ParamAngleZ", -30, 0, 30),
        Parameter("ParamEyeLOpen", 0, 1, 1),
    ]
    grid = np.zeros((9, 9, 2))
    grid[:, 4] = [[-6, 0], [-6, -4], [-6, -8], [0, 0], [0, 0], [0, 0], [6, 0], [6, 4], [6, 8]]
    doc.keyforms = [
        Keyform("face_warp", ["ParamAngleX", "ParamAngleY"], [[-30, 0, 30], [-30, 0, 30]], grid),
        Keyform(
            "head", ["ParamAngleZ"], [[-30, 0, 30]], np.array([[-30, 0, 0], [0, 0, 0], [30, 2, -3]], float)
        ),
        Keyform(
            "iris", ["ParamEyeLOpen"], [[0, 1]], np.stack([np.array([[0, 5]] * 4, float), np.zeros((4, 2))])
        ),
    ]
    doc.draw_order = ["face", "iris"]
    doc.motions = [
        Motion("Idle", 2.0, [MotionCurve("ParamAngleZ", np.array([0, 1, 2.0]), np.array([0, 10, 0.0]))])
    ]
    doc.validate()
    return doc


def test_tent_weights_interpolate_and_clamp():
    assert np.allclose(tent_weights([-30, 0, 30], 15), [0, 0.5, 0.5])
    assert np.allclose(tent_weights([-30, 0, 30], -99), [1, 0, 0])
    assert np.allclose(tent_weights([0, 1], 0.25), [0.75, 0.25])
    kf = Keyform("t", ["a", "b"], [[0, 1], [0, 1]], np.zeros((4, 3)))
    assert np.allclose(node_weights(kf, {"a": 0.5, "b": 1.0}), [0, 0.5, 0, 0.5])


def test_defaults_give_rest_pose():
    doc = small_doc()
    out = evaluate(doc)
    for mesh in doc.meshes:
        assert np.allclose(out[mesh.id], mesh.vertices)


def test_rotation_is_counter_clockwise_on_screen_then_translates():
    doc = small_doc()
    out = evaluate(doc, {"ParamAngleZ": 30})["iris"]
    pivot = np.array([60, 55])
    rel = doc.mesh("iris").vertices - pivot
    a = math.radians(30)
    expected = (
        pivot
        + np.stack(
            [
                math.cos(a) * rel[:, 0] + math.sin(a) * rel[:, 1],
                -math.sin(a) * rel[:, 0] + math.cos(a) * rel[:, 1],
            ],
            1,
        )
        + [2, -3]
    )
    assert np.allclose(out, expected)
    # A point left of the pivot goes down on screen (y grows) under a CCW turn.
    assert out[0, 1] > doc.mesh("iris").vertices[0, 1]


def test_warp_bilinear_with_2d_keyform_corner():
    doc = small_doc()
    out = evaluate(doc, {"ParamAngleX": 30, "ParamAngleY": 30})["face"]
    # Only the centre control point moves, by (6, 8) at this corner node; every face
    # corner sits a third of a cell across and half a cell down from it: weight 1/6.
    moved = out - doc.mesh("face").vertices
    assert np.allclose(moved[:, 0], 1.0) and np.allclose(moved[:, 1], 8 / 6)


def test_validate_rejects_bad_references():
    doc = small_doc()
    doc.meshes[0].deformer = "nope"
    with pytest.raises(DocumentError, match="unknown deformer"):
        doc.validate()
    doc = small_doc()
    doc.deformers[1] = RotationDeformer("head", (0, 0), "face_warp")
    with pytest.raises(DocumentError):
        doc.validate()
    doc = small_doc()
    doc.keyforms[2].forms = np.zeros((3, 4, 2))
    with pytest.raises(DocumentError, match="forms shape"):
        doc.validate()


def test_layer_ids_and_full_canvas():
    assert layer_id("back hair") == "back-hair"
    assert layer_id("eyewhite", "l") == "eyewhite_l"
    assert layer_id("mouth", role="interior") == "mouth-interior"
    doc = small_doc()
    full = doc.layers[0].full_canvas(doc.canvas)
    assert (
        full.shape == (100, 120, 4) and full[30:50, 40:80, 3].min() == 255 and full[..., 3].sum() == 255 * 800
    )


def _runtime_roundtrip(doc):
    placements = {"face": (0, 0, 0, 40, 20), "irides_l": (0, 44, 0, 20, 30)}
    atlas = np.zeros((32, 64, 4), np.uint8)
    atlas[0:20, 0:40] = doc.layers[0].image
    atlas[0:30, 44:64] = doc.layers[1].image
    data = to_runtime(doc, ["atlas0.png"], [(64, 32)], placements)
    validate_runtime(data)
    return data, from_runtime(data, [atlas])


def test_runtime_roundtrip_bakes_strength():
    doc = small_doc()
    doc.parameter("ParamAngleZ").strength = 0.5
    doc.motions[0].strength = 2.0
    data, back = _runtime_roundtrip(doc)
    rng = np.random.default_rng(1)
    for _ in range(5):
        values = {p.id: rng.uniform(p.min, p.max) for p in doc.parameters}
        scaled = dict(values)
        # strength 0.5 on AngleZ halves the head rotation keyform, not the value
        ours = evaluate(back, values)
        doc.parameter("ParamAngleZ").strength = 1.0
        half = Keyform("head", ["ParamAngleZ"], [[-30, 0, 30]], doc.keyforms[1].forms * 0.5)
        ref_doc = small_doc()
        ref_doc.keyforms[1] = half
        ref = evaluate(ref_doc, scaled)
        doc.parameter("ParamAngleZ").strength = 0.5
        for mid in ours:
            assert np.abs(ours[mid] - ref[mid]).max() < 0.01
    assert sample_motion(back, back.motions[0], 1.0)["ParamAngleZ"] == pytest.approx(20.0)
    assert np.array_equal(render(back), render(small_doc()))


def test_runtime_rejects_hostile_data():
    doc = small_doc()
    data, _ = _runtime_roundtrip(doc)
    bad = dict(data)
    bad["meshes"] = [dict(data["meshes"][0], triangles=[0, 1, 99]), data["meshes"][1]]
    with pytest.raises(DocumentError, match="out of range"):
        from_runtime(bad, [np.zeros((32, 64, 4), np.uint8)])
    bad = dict(data, version="1")
    with pytest.raises(DocumentError, match="not valid"):
        validate_runtime(bad)
    bad = dict(data)
    bad["keyforms"] = [dict(data["keyforms"][0], forms=[1.0, 2.0])]
    with pytest.raises(DocumentError, match="numbers, expected"):
        from_runtime(bad, [np.zeros((32, 64, 4), np.uint8)])


def test_render_clips_and_composites():
    doc = small_doc()
    img = render(doc)
    assert tuple(img[40, 60]) == (220, 0, 0, 255)
    assert tuple(img[60, 20]) == (0, 0, 200, 255)
    assert img[5, 5, 3] == 0
    doc.layers[1].clip_to = "face"  # iris lies outside the face: clipped away entirely
    assert render(doc)[60, 20, 3] == 0
