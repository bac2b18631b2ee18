# SPDX-License-Identifier: GPL-3.0-or-later
"""Opacity keyforms (channel "opacity"): format, evaluator, renderer, runtime
JSON, Blender, and their use for a layered PSD's drawn closed eyes."""

import copy
import json

import numpy as np
import pytest

from image_to_rig.core.model.document import DocumentError, Keyform, Layer
from image_to_rig.core.runtime.evaluate import Evaluator, evaluate, evaluate_opacity
from image_to_rig.core.runtime.render import render
from image_to_rig.core.model.strength import baked_forms
from image_to_rig.core.formats.model_json import from_runtime, to_runtime, validate_runtime

from blender_support import grid_mesh, synthetic_document


def opacity_document():
    """The Blender test rig plus a drawn closed eye (rest opacity 0) that shows
    as ParamEyeLOpen goes to 0, and opacity keyforms that clamp at both ends."""
    doc = synthetic_document()
    img = np.zeros((18, 30, 4), np.uint8)
    img[..., :3] = (150, 40, 60)
    img[6:12, 2:-2, 3] = 255
    closed = Layer("eyelash-closed_l", "eyelash", img, x=108, y=50, side="l", role="closed", opacity=0.0)
    doc.layers.append(closed)
    doc.meshes.append(grid_mesh("eyelash-closed_l", closed, 3, 2, "eye_warp"))
    doc.draw_order.append("eyelash-closed_l")
    doc.keyforms += [
        Keyform(
            "eyelash-closed_l",
            ["ParamEyeLOpen"],
            [[0.0, 0.25, 1.0]],
            np.array([[1.0], [0.0], [0.0]]),
            owner="blink",
            channel="opacity",
        ),
        # Two parameters with strengths (0.5 and 2.0): negative and > 1 sums.
        Keyform(
            "face",
            ["ParamAngleX", "ParamMouthForm"],
            [[-30, 0, 30], [-1, 0, 1]],
            np.array([[-0.6], [-0.3], [0.0], [-0.4], [0.0], [0.2], [-1.2], [0.1], [0.5]]),
            owner="test",
            channel="opacity",
        ),
        Keyform(
            "eyewhite_l", ["ParamBreath"], [[0, 1]], np.array([[0.0], [0.5]]), owner="test", channel="opacity"
        ),
    ]
    doc.validate()
    return doc


# --------------------------------------------------------------------------- format
def test_documents_without_channel_are_unchanged():
    doc = synthetic_document()
    assert all(k.channel == "offset" for k in doc.keyforms)
    ev = Evaluator(doc)
    assert ev.mesh_opacity({}) == {"topwear": 1.0, "face": 1.0, "eyewhite_l": 0.9}
    data = to_runtime(doc, ["a.png"], [(256, 256)], {l.id: (0, 0, 0, *l.size) for l in doc.layers})
    assert all("channel" not in k for k in data["keyforms"])


def test_validate_rejects_bad_opacity_keyforms():
    doc = opacity_document()
    bad = copy.deepcopy(doc)
    bad.keyforms[-1].channel = "colour"
    with pytest.raises(DocumentError, match="unknown channel"):
        bad.validate()
    bad = copy.deepcopy(doc)
    bad.keyforms.append(Keyform("face_warp", ["ParamBreath"], [[0, 1]], np.zeros((2, 1)), channel="opacity"))
    with pytest.raises(DocumentError, match="not a mesh"):
        bad.validate()
    bad = copy.deepcopy(doc)
    bad.keyforms[-1].forms = np.zeros((2, len(doc.mesh("eyewhite_l").vertices), 2))
    with pytest.raises(DocumentError, match="forms shape"):
        bad.validate()


def test_opacity_is_layer_opacity_plus_keyforms_clamped():
    doc = opacity_document()
    ev = Evaluator(doc)
    closed = lambda v: ev.mesh_opacity({"ParamEyeLOpen": v})["eyelash-closed_l"]
    assert [closed(v) for v in (1.0, 0.6, 0.25, 0.125, 0.0, -3.0)] == pytest.approx(
        [0.0, 0.0, 0.0, 0.5, 1.0, 1.0]
    )
    assert ev.mesh_opacity({"ParamBreath": 1.0})["eyewhite_l"] == 1.0  # 0.9 + 0.5, clamped
    assert ev.mesh_opacity({"ParamBreath": 0.1})["eyewhite_l"] == pytest.approx(0.95)
    assert ev.mesh_opacity({"ParamAngleX": 30, "ParamMouthForm": -1})["face"] == 0.0  # 1 - 1.2
    # Bilinear between nodes: (-15, 0.5) weighs nodes (0,1) (0,2) (1,1) (1,2) by 1/4.
    got = ev.mesh_opacity({"ParamAngleX": -15, "ParamMouthForm": 0.5})["face"]
    assert got == pytest.approx(1.0 + 0.25 * (-0.3 + 0.0 + 0.0 + 0.2))
    assert evaluate_opacity(doc, {"ParamEyeLOpen": 0.0})["eyelash-closed_l"] == 1.0
    # Opacity keyforms do not move vertices.
    plain = synthetic_document()
    for values in ({}, {"ParamEyeLOpen": 0.0, "ParamAngleX": 20, "ParamBreath": 1}):
        a, b = evaluate(doc, values), evaluate(plain, values)
        for mid in b:
            np.testing.assert_array_equal(a[mid], b[mid])


def test_layer_opacity_reads_its_values():
    """Evaluator.layer_opacity(values) is the pose's opacity per layer, not the rest one."""
    doc = opacity_document()
    ev = Evaluator(doc)
    rest = ev.layer_opacity()
    assert rest["eyelash-closed_l"] == 0.0 and rest == ev.layer_opacity({})
    closed = ev.layer_opacity({"ParamEyeLOpen": 0.0})
    assert closed["eyelash-closed_l"] == 1.0 != rest["eyelash-closed_l"]
    assert ev.layer_opacity({"ParamEyeLOpen": 0.125})["eyelash-closed_l"] == pytest.approx(0.5)
    assert ev.layer_opacity({"ParamAngleX": 30, "ParamMouthForm": -1})["face"] == 0.0
    for values in ({}, {"ParamEyeLOpen": 0.0}, {"ParamBreath": 0.1, "ParamAngleX": -15}):
        by_mesh = ev.mesh_opacity(values)
        assert ev.layer_opacity(values) == {m.layer: by_mesh[m.id] for m in doc.meshes}


def test_render_uses_the_pose_opacity():
    doc = opacity_document()
    doc_without = copy.deepcopy(doc)
    doc_without.layer("eyelash-closed_l").image[..., 3] = 0
    rest = render(doc, {})
    for v in (1.0, 0.6, 0.25):  # the lid is invisible from 0.25 up
        assert np.array_equal(render(doc, {"ParamEyeLOpen": v}), render(doc_without, {"ParamEyeLOpen": v}))
    closed = render(doc, {"ParamEyeLOpen": 0.0}).astype(int)
    half = render(doc, {"ParamEyeLOpen": 0.125}).astype(int)
    lid = np.array((150, 40, 60))
    box = (slice(40, 75), slice(100, 145))  # around the eye (it moves with the warp)
    near = lambda img, tol: (np.abs(img[box][..., :3] - lid).max(axis=2) <= tol).sum()
    assert near(closed, 2) > 60 and near(rest.astype(int), 30) == 0
    # Half on: halfway between the eye white below and the lid colour.
    below = render(doc_without, {"ParamEyeLOpen": 0.125}).astype(int)
    doc_full = copy.deepcopy(doc)
    doc_full.layer("eyelash-closed_l").opacity = 1.0  # same pose, lid fully on
    full = render(doc_full, {"ParamEyeLOpen": 0.125}).astype(int)
    drawn = (full[..., 3] == 255) & (np.abs(full[..., :3] - lid).max(axis=2) <= 2)
    drawn &= below[..., 3] == 255
    assert drawn.sum() > 40
    mix = 0.5 * below[..., :3] + 0.5 * lid
    assert np.abs(half[..., :3][drawn] - mix[drawn]).max() <= 1.5


def test_runtime_json_round_trips_channel_and_bakes_strengths():
    doc = opacity_document()
    placements, x = {}, 0
    for l in doc.layers:
        w, h = l.size
        placements[l.id] = (0, x, 0, w, h)
        x += w
    atlas = np.zeros((96, x, 4), np.uint8)
    for l in doc.layers:
        _, ax, _, w, h = placements[l.id]
        atlas[:h, ax : ax + w] = l.image
    data = json.loads(json.dumps(to_runtime(doc, ["atlas0.png"], [(x, 96)], placements)))
    validate_runtime(data)
    channels = [k.get("channel", "offset") for k in data["keyforms"]]
    assert channels.count("opacity") == 3
    face = next(k for k in data["keyforms"] if k["target"] == "face" and k.get("channel"))
    np.testing.assert_allclose(face["forms"], baked_forms(doc, doc.keyforms[-2]).ravel())
    assert face["forms"] != list(doc.keyforms[-2].forms.ravel())  # strengths 0.5, 2 baked
    back = from_runtime(data, [atlas])
    assert [k.channel for k in back.keyforms] == [k.channel for k in doc.keyforms]
    rng = np.random.default_rng(4)
    baked = copy.deepcopy(doc)
    for kf, orig in zip(baked.keyforms, doc.keyforms):
        kf.forms = baked_forms(doc, orig)
    for _ in range(10):
        values = {p.id: float(rng.uniform(p.min, p.max)) for p in doc.parameters}
        a, b = Evaluator(back).mesh_opacity(values), Evaluator(baked).mesh_opacity(values)
        assert a == pytest.approx(b, abs=1e-6)
    data["keyforms"][-1]["channel"] = "colour"
    with pytest.raises(DocumentError, match="channel"):
        validate_runtime(data)
    data["keyforms"][-1]["channel"] = "opacity"
    data["keyforms"][-1]["target"] = "face_warp"
    with pytest.raises(DocumentError, match="not a mesh"):
        from_runtime(data, [atlas])


# --------------------------------------------------------------------------- Blender
def _blender():
    return pytest.importorskip("bpy")


def _driven_alpha(collection):
    bpy = _blender()
    dg = bpy.context.evaluated_depsgraph_get()
    dg.update()
    return {
        o["i2r_mesh_id"]: float(o.evaluated_get(dg)["i2r_alpha"])
        for o in collection.all_objects
        if "i2r_mesh_id" in o and "i2r_alpha" in o
    }


def test_blender_alpha_follows_opacity_keyforms():
    _blender()
    from blender_support import (
        baked_document,
        ensure_addon_registered,
        random_values,
        reset_blender,
        set_parameters,
    )
    from image_to_rig.scene import build_scene, find_rig, gather_document

    reset_blender()
    ensure_addon_registered()
    doc = opacity_document()
    collection = build_scene(doc)
    rig = find_rig(collection)
    rig.animation_data.action = None
    baked = baked_document(doc)
    rng = np.random.default_rng(8)
    seen = []
    value_sets = [random_values(doc, rng) for _ in range(20)]
    value_sets += [
        {**doc.default_values(), **v}
        for v in (
            {"ParamEyeLOpen": 0.125},
            {"ParamEyeLOpen": 0.0, "ParamAngleX": 30, "ParamMouthForm": -1, "ParamBreath": 1},
        )
    ]
    for values in value_sets:
        set_parameters(rig, values)
        got = _driven_alpha(collection)
        expected = Evaluator(baked).mesh_opacity(values)
        assert sorted(got) == ["eyelash-closed_l", "eyewhite_l", "face"]
        for mid, alpha in got.items():
            assert alpha == pytest.approx(expected[mid], abs=1e-4), (mid, values)
        seen.append(got["eyelash-closed_l"])
    assert min(seen) == 0.0 and max(seen) == 1.0 and any(0.1 < s < 0.9 for s in seen)
    # The materials multiply by the object attribute; static layers are untouched.
    mats = {
        s.material["i2r_layer"]: s.material
        for o in collection.all_objects
        if o.type == "MESH"
        for s in o.material_slots
    }
    attrs = [n for n in mats["eyelash-closed_l"].node_tree.nodes if n.type == "ATTRIBUTE"]
    assert [(n.attribute_type, n.attribute_name) for n in attrs] == [("OBJECT", "i2r_alpha")]
    assert not [n for n in mats["topwear"].node_tree.nodes if n.type == "ATTRIBUTE"]
    # Gather reads them back.
    gathered = gather_document(collection)
    gathered.validate()
    ops = [k for k in gathered.keyforms if k.channel == "opacity"]
    assert [(k.target, k.params, k.owner) for k in ops] == [
        (k.target, k.params, k.owner) for k in doc.keyforms if k.channel == "opacity"
    ]
    for g, k in zip(ops, [k for k in doc.keyforms if k.channel == "opacity"]):
        np.testing.assert_allclose(g.forms, k.forms)
    assert gathered.layer("eyelash-closed_l").opacity == 0.0


def test_blender_render_shows_the_half_faded_lid(tmp_path):
    """Cycles (CPU) render at a pose with the closed-eye keyform half on."""
    bpy = _blender()
    from PIL import Image
    from blender_support import baked_document, reset_blender, set_parameters
    from image_to_rig.scene import build_scene, find_rig

    reset_blender()
    doc = opacity_document()
    collection = build_scene(doc)
    rig = find_rig(collection)
    rig.animation_data.action = None
    values = {"ParamEyeLOpen": 0.125, "ParamBreath": 0.1}
    set_parameters(rig, values)
    scene = bpy.context.scene
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = 8
    scene.render.filter_size = 0.01
    out = str(tmp_path / "blender.png")
    scene.render.filepath = out
    bpy.ops.render.render(write_still=True)
    got = np.asarray(Image.open(out).convert("RGBA")).astype(np.int16)
    ref = render(baked_document(doc), values).astype(np.int16)
    hidden = copy.deepcopy(doc)
    hidden.layer("eyelash-closed_l").image[..., 3] = 0
    without = render(baked_document(hidden), values).astype(np.int16)
    full_doc = copy.deepcopy(doc)
    full_doc.layer("eyelash-closed_l").opacity = 1.0
    full = render(baked_document(full_doc), values).astype(np.int16)
    lid = np.abs(ref - without).max(axis=2) > 30  # where the half-faded lid shows
    assert lid.sum() > 40
    # Cycles mixes partial alpha in linear light (the reference in sRGB values),
    # so at half opacity the colours differ by a known amount; what must hold
    # is that the lid is there and only partly: clearly between off and on.
    g_got, g_off, g_on = (img[lid][:, 1].astype(float).mean() for img in (got, without, full))
    assert g_on + 20 < g_got < g_off - 10, (g_on, g_got, g_off)
    assert np.abs(got - ref)[~lid].mean() < 4.0


# --------------------------------------------------------------------------- layered PSD
def _psd_with_closed_eyes(tmp_path):
    from image_to_rig.core.formats.psd_out import write_psd
    from image_to_rig.devkit.sample import make_sample

    sample = make_sample(512)
    layers = list(sample.layers)
    for side in "lr":
        white = next(l for l in layers if l.id == f"eyewhite_{side}")
        h, w = white.image.shape[:2]
        img = np.zeros((h, w, 4), np.uint8)
        xs = np.arange(w)
        line = (0.6 * h - 0.2 * h * (1 - ((xs - w / 2) / (w / 2)) ** 2)).astype(int)
        for x, y in zip(xs, line):
            img[y - 2 : y + 2, x] = (150, 40, 60, 255)
        layers.append(
            Layer(f"eyelash-closed_{side}", "eyelash", img, white.x, white.y, side=side, role="closed")
        )
    path = str(tmp_path / "closed_eyes.psd")
    write_psd(layers, sample.canvas, path)
    return path, {l.id: l for l in layers}


def test_layered_psd_blinks_with_its_drawn_closed_eyes(tmp_path):
    from image_to_rig.core.pipeline import run_pipeline

    path, source = _psd_with_closed_eyes(tmp_path)
    result = run_pipeline(path)
    doc = result.doc
    doc.validate()
    assert sorted(result.found["variants_used"]) == ["eyelash_closed_l", "eyelash_closed_r"]
    assert not [w for w in result.warnings if "not used" in w]
    ids = [l.id for l in doc.layers]
    for side in "lr":
        lid = f"eyelash-closed_{side}"
        parts = [ids.index(f"{t}_{side}") for t in ("eyewhite", "irides", "eyelash")]
        assert ids.index(lid) == max(parts) + 1, "right above that eye's parts"
        assert doc.layer(lid).opacity == 0.0
        kfs = doc.keyforms_of(lid, None)
        op = [k for k in kfs if k.channel == "opacity"]
        assert [(k.params, k.keys) for k in op] == [([f"ParamEye{side.upper()}Open"], [[0.0, 0.25, 1.0]])]
        np.testing.assert_array_equal(op[0].forms[:, 0], [1.0, 0.0, 0.0])
        assert not [k for k in kfs if k.owner == "blink" and k.channel == "offset"], "not squashed"
    rest = render(doc, {})
    assert np.array_equal(rest, render(doc, {"ParamEyeLOpen": 1.0}))
    closed = render(doc, {"ParamEyeLOpen": 0.0})
    white = source["eyewhite_l"]
    y0, x0 = white.y - 4, white.x - 4
    box = (slice(y0, white.y + white.image.shape[0] + 4), slice(x0, white.x + white.image.shape[1] + 4))
    lid_colour = np.array((150, 40, 60))

    def lid_pixels(img):
        return int((np.abs(img[box][..., :3].astype(int) - lid_colour).max(axis=2) <= 3).sum())

    assert lid_pixels(closed) > 0.6 * (source["eyelash-closed_l"].image[..., 3] > 0).sum()
    assert lid_pixels(rest) == 0
    # No iris: where the iris shows, removing it changes the picture.
    no_iris = copy.deepcopy(doc)
    no_iris.layer("irides_l").image[..., 3] = 0

    def iris_shows(values):
        a = render(doc, values)[box].astype(int)
        b = render(no_iris, values)[box].astype(int)
        return int((np.abs(a - b).max(axis=2) > 8).sum())

    assert iris_shows({}) > 300
    assert iris_shows({"ParamEyeLOpen": 0.0}) == 0
    # The other eye is untouched.
    other = source["eyewhite_r"]
    obox = (
        slice(other.y - 4, other.y + other.image.shape[0] + 4),
        slice(other.x - 4, other.x + other.image.shape[1] + 4),
    )
    assert np.array_equal(rest[obox], closed[obox])
