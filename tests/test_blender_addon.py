# SPDX-License-Identifier: GPL-3.0-or-later
"""The add-on: registration, the panel, the Image to Rig and Export operators."""

import json
import os

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from blender_support import (
    baked_document,
    ensure_addon_registered,  # noqa: E402
    evaluated_vertices,
    max_vertex_error,
    reset_blender,
    synthetic_document,
    unregister_addon,
)
from image_to_rig.core import pipeline  # noqa: E402
from image_to_rig.core.runtime.evaluate import evaluate  # noqa: E402
from image_to_rig.scene import find_rig  # noqa: E402

PANELS = (
    "IMAGE_TO_RIG_PT_main",
    "IMAGE_TO_RIG_PT_parameters",
    "IMAGE_TO_RIG_PT_strengths",
    "IMAGE_TO_RIG_PT_motions",
    "IMAGE_TO_RIG_PT_physics",
    "IMAGE_TO_RIG_PT_controls",
    "IMAGE_TO_RIG_PT_export",
)
DATA = (
    "objects",
    "meshes",
    "materials",
    "images",
    "collections",
    "actions",
    "armatures",
    "lattices",
    "shape_keys",
    "cameras",
)


def _counts():
    return {name: len(getattr(bpy.data, name)) for name in DATA}


@pytest.fixture
def addon():
    reset_blender()
    ensure_addon_registered()
    yield
    bpy.context.scene.image_to_rig.status = ""


def test_register_and_unregister():
    reset_blender()
    ensure_addon_registered()
    for name in PANELS:
        panel = getattr(bpy.types, name)
        assert panel.bl_space_type == "VIEW_3D" and panel.bl_category == "Image to Rig"
    for op in (
        "generate",
        "export",
        "play_motion",
        "bake_physics",
        "talk",
        "apply_controls",
        "confidence_info",
    ):
        assert hasattr(bpy.ops.image_to_rig, op), op
    assert hasattr(bpy.context.scene, "image_to_rig")
    unregister_addon()
    for name in PANELS:
        assert not hasattr(bpy.types, name)
    assert not hasattr(bpy.types.Scene, "image_to_rig")
    with pytest.raises((AttributeError, RuntimeError, KeyError)):
        bpy.ops.image_to_rig.generate()
    ensure_addon_registered()
    assert hasattr(bpy.types, "IMAGE_TO_RIG_PT_main")


def test_rig_panels_show_only_with_a_rig(addon):
    from image_to_rig.scene import build_scene

    assert not bpy.types.IMAGE_TO_RIG_PT_parameters.poll(bpy.context)
    build_scene(synthetic_document())
    assert bpy.types.IMAGE_TO_RIG_PT_parameters.poll(bpy.context)


def test_bad_image_path_fails_cleanly(addon):
    before = _counts()
    with pytest.raises(RuntimeError, match="does not exist"):
        bpy.ops.image_to_rig.generate(filepath="/nowhere/character.png")
    assert _counts() == before


def test_unreadable_image_fails_cleanly(addon, tmp_path):
    bad = tmp_path / "character.png"
    bad.write_bytes(b"this is not a PNG")
    before = _counts()
    with pytest.raises(RuntimeError) as info:
        bpy.ops.image_to_rig.generate(filepath=str(bad))
    assert "Traceback" not in str(info.value)
    assert _counts() == before
    assert bpy.context.scene.image_to_rig.status.startswith("Failed")


def _fake_pipeline(doc):
    def run(source, options=None, progress=None):
        for i, stage in enumerate(pipeline.STAGES):
            progress(stage, i / len(pipeline.STAGES))
        return pipeline.PipelineResult(doc, warnings=["ParamMouthForm has low confidence"])

    return run


def test_generate_builds_the_rig_from_the_pipeline(addon, tmp_path, monkeypatch):
    image = tmp_path / "character.png"
    image.write_bytes(b"\x89PNG placeholder: the pipeline is replaced")
    doc = synthetic_document()
    monkeypatch.setattr(pipeline, "run_pipeline", _fake_pipeline(doc))
    assert bpy.ops.image_to_rig.generate(filepath=str(image)) == {"FINISHED"}
    rig = bpy.context.view_layer.objects.active
    assert rig is not None and rig.get("i2r_rig")
    assert "3 parts, 8 parameters" in bpy.context.scene.image_to_rig.status
    rig["ParamAngleZ"] = 17.0
    rig.update_tag()
    collection = rig.users_collection[0]
    assert (
        max_vertex_error(evaluated_vertices(collection), evaluate(baked_document(doc), {"ParamAngleZ": 17.0}))
        < 1e-3
    )


def test_generate_failing_in_build_leaves_nothing(addon, tmp_path, monkeypatch):
    image = tmp_path / "character.png"
    image.write_bytes(b"placeholder")
    doc = synthetic_document()
    doc.meshes[1].triangles[2] = [4, 4, 5]
    monkeypatch.setattr(pipeline, "run_pipeline", _fake_pipeline(doc))
    before = _counts()
    with pytest.raises(RuntimeError, match="degenerate"):
        bpy.ops.image_to_rig.generate(filepath=str(image))
    assert _counts() == before
    assert len(bpy.context.scene.collection.children) == 0


def test_generate_on_the_sample_end_to_end(addon, tmp_path):
    from image_to_rig.devkit.sample import write_sample_png

    path = write_sample_png(str(tmp_path / "sample.png"), 512)
    assert bpy.ops.image_to_rig.generate(filepath=path) == {"FINISHED"}
    rig = bpy.context.view_layer.objects.active
    collection = rig.users_collection[0]
    from image_to_rig.scene import gather_document

    doc = gather_document(collection)
    doc.validate()
    assert len(doc.meshes) >= 5 and len(doc.parameters) >= 5
    rng = np.random.default_rng(0)
    baked = baked_document(doc)
    for _ in range(3):
        values = {p.id: float(rng.uniform(p.min, p.max)) for p in doc.parameters}
        for key, value in values.items():
            rig[key] = value
        rig.update_tag()
        assert max_vertex_error(evaluated_vertices(collection), evaluate(baked, values)) < 1e-2


def test_export_without_a_rig_says_so(addon, tmp_path):
    with pytest.raises(RuntimeError, match="no rig to export"):
        bpy.ops.image_to_rig.export(directory=str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_export_writes_what_the_scene_shows(addon, tmp_path):
    from image_to_rig.core.formats.model_json import load_model
    from image_to_rig.scene import build_scene

    doc = synthetic_document()
    collection = build_scene(doc)
    rig = find_rig(collection)
    rig["i2r_strength_ParamAngleZ"] = 2.0  # an edit made in Blender
    out = tmp_path / "export"
    assert bpy.ops.image_to_rig.export(directory=str(out)) == {"FINISHED"}
    assert (out / "model.json").is_file()
    with open(out / "model.json", encoding="utf-8") as fh:
        assert json.load(fh)
    exported = load_model(str(out / "model.json"))
    values = {"ParamAngleZ": 12.0, "ParamAngleX": 20.0}
    for key, value in values.items():
        rig[key] = value
    rig.update_tag()
    # The runtime file stores 3 decimals; the exported rig is what Blender shows.
    assert max_vertex_error(evaluated_vertices(collection), evaluate(exported, values)) < 0.05
    # This rig nests a warp in a warp, which the Cubism Core moves differently:
    # no .moc3, and the panel says why.
    assert not any(n.endswith(".moc3") for n in os.listdir(out))
    status = bpy.context.scene.image_to_rig.status
    assert "sits under warp" in status and "the export has no .moc3" in status


def test_export_writes_a_moc3_that_moves_as_the_scene_shows(addon, tmp_path):
    from image_to_rig.core.formats.moc3_runtime import open_cubism_model
    from image_to_rig.scene import build_scene
    from web_support import make_test_document

    collection = build_scene(make_test_document())
    rig = find_rig(collection)
    out = tmp_path / "export"
    assert bpy.ops.image_to_rig.export(directory=str(out)) == {"FINISHED"}
    assert bpy.context.scene.image_to_rig.status == f"Exported to {out}"
    moc, model, _ = open_cubism_model(str(out / "synthetic.moc3"))
    values = {"ParamAngleZ": -17.0, "ParamAngleX": 22.0, "ParamEyeBallX": 0.6, "ParamBreath": 0.4}
    for key, value in values.items():
        rig[key] = value
    rig.update_tag()
    cubism = dict(zip(moc["art_meshes.ids"], model.evaluate(values).pixels(moc)))
    assert max_vertex_error(evaluated_vertices(collection), cubism) < 0.05
