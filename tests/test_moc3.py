# SPDX-License-Identifier: GPL-3.0-or-later
"""The .moc3 export: the official Cubism Core accepts it and computes what
our reference evaluator computes; our own tools refuse a broken one.

The Core comes from the live2d-py wheel (a test dependency; tests/cubism_core.py).
Where it is not installed the Core tests skip with the reason, and the
same checks run against our own moc3 runtime (core/formats/moc3_runtime.py).
"""

import json
import os
import struct

import numpy as np
import pytest
from PIL import Image

from image_to_rig.core.model.document import Keyform, WarpDeformer
from image_to_rig.core.runtime.evaluate import Evaluator
from image_to_rig.core.formats.export_folder import build_runtime, export_folder
from image_to_rig.core.formats.moc3 import DATA_START, SECTION_TABLE_OFFSET, Moc3Error, fields_for, read_moc3
from image_to_rig.core.formats.moc3_export import (
    MOC3_VERSION,
    build_moc3,
    grid_values,
    mesh_atlas_from_runtime,
    moc3_from_runtime,
    plan_warps,
    target_grid,
)
from image_to_rig.core.formats.moc3_runtime import Moc3Model
from image_to_rig.core.formats.model_json import from_runtime

from cubism_core import cubism_core
from moc3_check import assert_export_matches, compare_export, random_vectors
from web_support import make_face_document, make_test_document


# ------------------------------------------------------------------ test models


def _pipeline_doc(source):
    from image_to_rig.core.pipeline import PipelineOptions, run_pipeline

    return run_pipeline(source, PipelineOptions(use_animeface=False)).doc


def _sample_doc():
    from image_to_rig.devkit.sample import make_sample

    return _pipeline_doc(make_sample(512).image)


def _synth_doc():
    from image_to_rig.devkit.synth import make_character

    return _pipeline_doc(make_character(5, size=512, background="transparent").image)


def _psd_doc(folder):
    """A layered PSD as an artist hands it over: the sample's parts plus hidden
    closed-eye layers (which blink by fading in: opacity keyforms)."""
    from psd_tools import PSDImage
    from psd_tools.api.layers import PixelLayer

    from image_to_rig.core.formats.psd_out import write_psd
    from image_to_rig.devkit.sample import make_sample

    sample = make_sample(512)
    path = os.path.join(folder, "layered.psd")
    write_psd(sample.layers, sample.canvas, path)
    psd = PSDImage.open(path)
    by_id = {l.id: l for l in sample.layers}
    for side in ("l", "r"):
        lash = by_id[f"eyelash_{side}"]
        h, w = lash.image.shape[:2]
        closed = np.zeros((h, w, 4), np.uint8)
        cols = lash.image[..., 3].max(axis=0) > 0
        closed[int(0.6 * h) : int(0.6 * h) + 3, cols] = (70, 45, 40, 255)
        layer = PixelLayer.frompil(Image.fromarray(closed), psd, top=lash.y, left=lash.x)
        layer.name = f"eye_close_{side}"
        layer.visible = False
        psd.append(layer)
    psd.save(path)
    doc = _pipeline_doc(path)
    assert any(k.channel == "opacity" for k in doc.keyforms), "closed eyes fade in"
    return doc


MODELS = {
    "test_document": lambda folder: make_test_document(),
    "face_document": lambda folder: make_face_document(),
    "sample": lambda folder: _sample_doc(),
    "synth": lambda folder: _synth_doc(),
    "layered_psd": _psd_doc,
}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    cache = {}

    def get(name):
        if name not in cache:
            folder = tmp_path_factory.mktemp(name)
            doc = MODELS[name](str(folder))
            cache[name] = export_folder(doc, folder / "export")
        return cache[name]

    return get


# ------------------------------------------------------------------ the official Core


@pytest.mark.parametrize("name", list(MODELS))
def test_official_core_accepts_the_moc3_and_computes_our_rig(name, exported, tmp_path):
    core = cubism_core()
    assert core.latest_moc_version() >= MOC3_VERSION
    result = compare_export(
        exported(name), core, vectors=20, seed=1, render_poses=3, images_to=str(tmp_path / "renders")
    )
    assert_export_matches(result)
    # Our own runtime agrees with the Core to float32 precision.
    assert result["runtime_vs_core_units"] < 1e-5


def test_core_and_our_reader_refuse_the_same_broken_files():
    core = cubism_core()
    data = moc3_from_runtime(*build_runtime(make_test_document()))
    assert core.has_consistency(data)
    for label, broken in _corruptions(data):
        with pytest.raises(Moc3Error):
            read_moc3(broken)
        if label in CORE_ACCEPTS:
            continue  # our reader is stricter than the Core here
        assert not core.has_consistency(broken), f"the Core accepted a moc3 with {label}"
        assert "csmHasMocConsistency" in core.log[-1], "the Core says why"


# ------------------------------------------------------------------ without the Core


@pytest.mark.parametrize("name", ["test_document", "face_document", "sample"])
def test_our_moc3_runtime_reproduces_the_reference_evaluator(name, exported):
    folder = exported(name)
    model3 = json.loads(
        next(
            open(os.path.join(folder, n), encoding="utf-8").read()
            for n in os.listdir(folder)
            if n.endswith(".model3.json")
        )
    )
    with open(os.path.join(folder, model3["FileReferences"]["Moc"]), "rb") as fh:
        moc = read_moc3(fh.read())
    from image_to_rig.core.formats.model_json import load_model

    doc = load_model(os.path.join(folder, "model.json"))
    runtime, evaluator = Moc3Model(moc), Evaluator(doc)
    worst = 0.0
    for values in random_vectors(doc, 20, seed=2):
        state = runtime.evaluate(values)
        ours = evaluator.mesh_vertices(values)
        opacity = evaluator.mesh_opacity(values)
        for m, px, op, shown in zip(doc.meshes, state.pixels(moc), state.opacities, state.visible):
            worst = max(worst, float(np.abs(px - ours[m.id]).max()))
            assert abs(op - opacity[m.id]) < 1e-4 and shown
        assert [doc.meshes[i].id for i in np.argsort(state.render_orders)] == doc.draw_order
    assert worst < 0.01


def test_model3_names_the_moc3_with_groups_and_hit_areas(exported):
    folder = exported("sample")
    names = os.listdir(folder)
    model3_name = next(n for n in names if n.endswith(".model3.json"))
    model3 = json.loads(open(os.path.join(folder, model3_name), encoding="utf-8").read())
    refs = model3["FileReferences"]
    assert refs["Moc"].endswith(".moc3") and refs["Moc"] in names
    assert refs["Textures"] == ["atlas0.png"] and "Physics" in refs and "DisplayInfo" in refs
    assert refs["Motions"] and refs["Expressions"]
    assert {g["Name"] for g in model3["Groups"]} == {"EyeBlink", "LipSync"}
    assert model3["HitAreas"] == [{"Id": "face", "Name": "Head"}, {"Id": "topwear", "Name": "Body"}]
    moc = read_moc3(open(os.path.join(folder, refs["Moc"]), "rb").read())
    assert {"face", "topwear"} <= set(moc["art_meshes.ids"]), "hit areas name drawables"
    cdi3 = json.loads(open(os.path.join(folder, refs["DisplayInfo"]), encoding="utf-8").read())
    assert [p["Id"] for p in cdi3["Parts"]] == moc["parts.ids"]


def test_union_grid_reproduces_overlapping_keyforms():
    """Two keyforms of one mesh share a parameter with different keys, and
    neither spans the parameter's range: the union grid is still exact."""
    doc = make_test_document()
    iris = doc.mesh("irides_l")
    n = len(iris.vertices)
    rng = np.random.default_rng(4)
    doc.keyforms.append(
        Keyform(
            "irides_l",
            ["ParamEyeBallX", "ParamAngleX"],
            [[-0.5, 0.25], [0, 10, 20]],
            rng.normal(0, 3, (6, n, 2)),
        )
    )
    doc.keyforms.append(Keyform("irides_l", ["ParamBreath"], [[0.5]], rng.normal(0, 2, (1, n, 2))))
    doc.validate()
    grid = target_grid(doc, "irides_l")
    assert grid.params == ["ParamEyeBallX", "ParamAngleX", "ParamBreath"]
    assert list(grid.keys[0]) == [-1, -0.5, 0, 0.25, 1] and list(grid.keys[1]) == [-30, 0, 10, 20, 30]
    nodes = grid_values(doc, "irides_l", grid, "offset", (n, 2))
    from image_to_rig.core.runtime.evaluate import keyform_offset

    for flat in range(grid.size):
        i0 = flat % 5
        i1 = (flat // 5) % 5
        i2 = flat // 25
        values = {
            "ParamEyeBallX": grid.keys[0][i0],
            "ParamAngleX": grid.keys[1][i1],
            "ParamBreath": grid.keys[2][i2],
        }
        assert np.allclose(nodes[flat], keyform_offset(doc, "irides_l", values))
    data = moc3_from_runtime(*build_runtime(doc))
    _runtime_matches(doc, data)


def _runtime_matches(doc, data, vectors=20):
    runtime_doc = from_runtime(*_runtime(doc))
    moc = read_moc3(data)
    runtime, evaluator = Moc3Model(moc), Evaluator(runtime_doc)
    for values in random_vectors(runtime_doc, vectors, seed=5):
        state = runtime.evaluate(values)
        ours = evaluator.mesh_vertices(values)
        for m, px in zip(runtime_doc.meshes, state.pixels(moc)):
            assert np.abs(px - ours[m.id]).max() < 0.01, m.id
    core = None
    try:
        core = cubism_core()
    except pytest.skip.Exception:
        return
    model = core.load(data)
    canvas = model.canvas()
    for values in random_vectors(runtime_doc, vectors, seed=6):
        model.update(values)
        ours = evaluator.mesh_vertices(values)
        for mid, pos in zip(model.drawable_ids, model.vertex_positions()):
            assert np.abs(canvas.to_pixels(pos) - ours[mid]).max() < 0.01, mid


def _runtime(doc):
    return build_runtime(doc)


def test_a_mesh_on_the_root_and_a_clip_layer_that_draws_nothing():
    from image_to_rig.core.model.document import Layer
    from image_to_rig.core.formats.moc3_runtime import render_drawables
    from image_to_rig.core.runtime.render import Renderer
    from moc3_check import render_difference

    doc = make_test_document()
    doc.mesh("topwear").deformer = None  # straight on the canvas, no deformer
    doc.layers.append(Layer("sticker", "objects", np.zeros((4, 4, 4), np.uint8), 5, 5))
    doc.layer("blush").clip_to = "sticker"  # a clip layer without a mesh hides the blush
    doc.validate()
    data, pages = build_runtime(doc)
    moc = moc3_from_runtime(data, pages)
    _runtime_matches(doc, moc)
    parsed = read_moc3(moc)
    state = Moc3Model(parsed).evaluate({"ParamAngleX": 12})
    assert state.opacities[parsed["art_meshes.ids"].index("blush")] == 0
    ours = Renderer(from_runtime(data, pages)).render({"ParamAngleX": 12})
    assert render_difference(render_drawables(parsed, state, pages), ours) < 0.05


def test_meshes_that_leave_their_warp_get_a_wider_grid_that_moves_the_same():
    """The Core extrapolates outside a warp differently from our edge clamp:
    the exporter adds whole cells (edge offsets repeated) instead."""
    doc = make_test_document()
    iris = doc.mesh("irides_l")
    forms = np.zeros((3, len(iris.vertices), 2))
    forms[0, :, 0], forms[2, :, 0] = -70.0, 60.0  # far past the face warp on both sides
    forms[2, :, 1] = 45.0
    doc.keyforms = [k for k in doc.keyforms if k.target != "irides_l"]
    doc.keyforms.append(Keyform("irides_l", ["ParamEyeBallX"], [[-1, 0, 1]], forms))
    data, pages = build_runtime(doc)
    runtime_doc = from_runtime(data, pages)
    positions = {
        m.id: m.vertices[None]
        + grid_values(runtime_doc, m.id, target_grid(runtime_doc, m.id), "offset", (len(m.vertices), 2))
        for m in runtime_doc.meshes
    }
    plan = plan_warps(runtime_doc, positions)["face-warp"]
    left, top, right, bottom = plan.pad
    assert left >= 1 and right >= 1 and bottom >= 1
    assert (plan.rows, plan.cols) == (3 + top + bottom, 4 + left + right)
    moc = moc3_from_runtime(data, pages)
    parsed = read_moc3(moc)
    warp = parsed["deformers.specific_index"][parsed["deformers.ids"].index("face-warp")]
    assert parsed["warp_deformers.columns"][warp] == plan.cols
    assert parsed["warp_deformers.rows"][warp] == plan.rows
    _runtime_matches(doc, moc)


def test_a_warp_under_a_warp_is_refused_in_words(tmp_path):
    doc = make_test_document()
    doc.deformers.append(WarpDeformer("cheek-warp", (50.0, 30.0, 110.0, 70.0), 2, 2, parent="face-warp"))
    doc.mesh("blush").deformer = "cheek-warp"
    doc.validate()
    with pytest.raises(Moc3Error, match="sits under warp 'face-warp'"):
        build_moc3(doc, mesh_atlas_from_runtime(build_runtime(doc)[0]))
    # The rest of the export goes ahead without a .moc3, and says why.
    warnings = []
    out = export_folder(doc, tmp_path / "export", warnings=warnings)
    assert not any(n.endswith(".moc3") for n in os.listdir(out))
    assert (
        len(warnings) == 1
        and "cannot write the .moc3" in warnings[0]
        and "sits under warp 'face-warp'" in warnings[0]
        and "the export has no .moc3" in warnings[0]
    )
    model3 = json.loads(open(os.path.join(out, "synthetic.model3.json"), encoding="utf-8").read())
    assert model3["FileReferences"]["Moc"] == "model.json"


def test_opacity_the_core_would_not_clamp_is_refused():
    doc = make_test_document()
    doc.layer("blush").opacity = 0.9
    doc.keyforms.append(
        Keyform("blush", ["ParamBreath"], [[0, 1]], np.array([[0.0], [0.5]]), channel="opacity")
    )
    data, pages = build_runtime(doc)
    with pytest.raises(Moc3Error, match="does not clamp opacities"):
        moc3_from_runtime(data, pages)


def test_ids_a_moc3_cannot_hold_are_refused():
    doc = make_test_document()
    data, _ = build_runtime(doc)
    atlas = mesh_atlas_from_runtime(data)
    long_id = "blush-" + "x" * 70
    doc.mesh("blush").id = long_id
    doc.draw_order = [long_id if m == "blush" else m for m in doc.draw_order]
    atlas[long_id] = atlas.pop("blush")
    with pytest.raises(Moc3Error, match="cannot be stored in a moc3"):
        build_moc3(doc, atlas)


# ------------------------------------------------------------------ broken files


def _table(data):
    fields = fields_for(data[4])
    return list(struct.unpack_from("<%dI" % (2 + len(fields)), data, SECTION_TABLE_OFFSET)), fields


def _patch_u32(data, offset, value):
    out = bytearray(data)
    struct.pack_into("<I", out, offset, value & 0xFFFFFFFF)
    return bytes(out)


def _corruptions(data):
    """(label, bytes) pairs that a reader must refuse."""
    table, fields = _table(data)
    where = {name: table[2 + i] for i, (name, _, _) in enumerate(fields)}
    count_at = table[0]
    yield "a truncated file", data[: len(data) // 2]
    yield "only a header", data[:DATA_START]
    yield "another magic", b"MOC4" + data[4:]
    yield "a version from the future", data[:4] + bytes([99]) + data[5:]
    yield (
        "an art mesh count one too high",
        _patch_u32(data, count_at + 4 * 4, struct.unpack_from("<I", data, count_at + 16)[0] + 1000),
    )
    yield (
        "an array offset past the end",
        _patch_u32(data, SECTION_TABLE_OFFSET + 4 * 2 + 4 * 1, len(data) + 4096),
    )
    yield "a parent deformer index out of range", _patch_u32(data, where["deformers.parent_deformer"], 77)
    yield (
        "a keyform count that does not match its keys",
        _patch_u32(data, where["art_meshes.keyform_count"], 5),
    )


# Measured with Core 6.0.1: csmHasMocConsistency does not compare an object's
# keyform count with its keys' grid (it reads the grid); our reader refuses it.
CORE_ACCEPTS = {"a keyform count that does not match its keys"}


CORRUPTION_LABELS = [
    label for label, _ in _corruptions(moc3_from_runtime(*build_runtime(make_test_document())))
]


@pytest.mark.parametrize("label", CORRUPTION_LABELS)
def test_a_broken_moc3_is_refused_plainly(label, tmp_path):
    data = moc3_from_runtime(*build_runtime(make_test_document()))
    broken = dict(_corruptions(data))[label]
    with pytest.raises(Moc3Error) as info:
        read_moc3(broken)
    message = str(info.value)
    assert "Traceback" not in message and len(message) < 300
    assert message.startswith(
        ("this is not a .moc3", "the moc3 is corrupt", "unknown moc3 version", "moc3 version")
    )


def test_random_damage_is_refused_or_read_never_crashes():
    data = moc3_from_runtime(*build_runtime(make_test_document()))
    rng = np.random.default_rng(8)
    refused = 0
    for trial in range(300):
        broken = bytearray(data)
        for _ in range(int(rng.integers(1, 6))):
            pos = int(rng.integers(0, len(broken)))
            broken[pos] = int(rng.integers(0, 256))
        if trial % 10 == 0:
            broken = broken[: int(rng.integers(0, len(broken)))]
        try:
            Moc3Model(read_moc3(bytes(broken))).evaluate({})
        except Moc3Error:
            refused += 1
    assert refused > 0


# ------------------------------------------------------------------ real art (when the folder is there)


def _realart():
    import sys

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench"))
    from bench_moc3 import REALART, realart_folder

    return REALART, realart_folder(None)


# The MIT and CC0 drawings ship in tests/data/realart; Anki-tan (CC BY-SA) does not.
VENDORED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "realart")
VENDORED_CHARACTERS = {
    "Sylvie": "renpy/sylvie blue normal.png",
    "Eileen": "renpy/eileen happy.png",
    "Lucy": "renpy/lucy happy.png",
    "Jane": "dialogic-cc0/pl3 concept.png",
}


@pytest.mark.parametrize("character", ["Sylvie", "Eileen", "Lucy", "Anki-tan", "Jane"])
def test_real_characters_play_the_same_in_the_core(character, tmp_path):
    from image_to_rig.core.pipeline import run_pipeline

    if character in VENDORED_CHARACTERS:
        path = os.path.join(VENDORED, VENDORED_CHARACTERS[character])
    else:
        table, folder = _realart()
        if folder is None:
            pytest.skip(
                "the real-art folder (../shared/realart) is not beside this checkout; this "
                "drawing is CC BY-SA and does not ship with the tests (bench/bench_moc3.py checks it)"
            )
        path = os.path.join(folder, dict(table)[character])
    core = cubism_core()
    doc = run_pipeline(path).doc
    out = export_folder(doc, tmp_path / "export")
    assert_export_matches(compare_export(out, core, vectors=20, seed=7, render_poses=1))
