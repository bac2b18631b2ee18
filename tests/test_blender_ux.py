# SPDX-License-Identifier: GPL-3.0-or-later
"""Blender behaves the way a Blender user expects (issue 13), headless, one test per point:
poses, re-runs, export folders, drag and drop, the PSD round trip, help and panel
order, the PSD export, and the footprint of the bundled wheels."""

import importlib.util
import os
import stat
import zipfile

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from blender_support import ensure_addon_registered, reset_blender, synthetic_document  # noqa: E402
from image_to_rig.scene import build_scene, find_rig, gather_document  # noqa: E402
from image_to_rig.scene import keys as K  # noqa: E402
from image_to_rig.scene.controls import key_edited_by_hand, key_offsets  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def addon():
    reset_blender()
    ensure_addon_registered()
    yield
    reset_blender()


@pytest.fixture(scope="module")
def sample_png(tmp_path_factory):
    from image_to_rig.devkit.sample import write_sample_png

    return write_sample_png(str(tmp_path_factory.mktemp("sample") / "sample.png"), 384)


def _rigs():
    return [o for o in bpy.data.objects if o.type == "ARMATURE" and o.get(K.RIG)]


def _cameras():
    return [o for o in bpy.data.objects if o.type == "CAMERA"]


def _generate(path, **settings):
    for key, value in settings.items():
        setattr(bpy.context.scene.image_to_rig, key, value)
    assert bpy.ops.image_to_rig.generate(filepath=path) == {"FINISHED"}
    return find_rig(bpy.context.view_layer.objects.active.users_collection[0])


# --------------------------------------------------------------------- 1. poses
def test_poses_no_motion_hold_pose_and_play(addon):
    rig = find_rig(build_scene(synthetic_document()))
    scene = bpy.context.scene
    assert rig.animation_data.action.get(K.MOTION) == "Idle"  # the default: Idle plays
    rig["ParamAngleZ"] = 25.0  # animated by Idle: snaps back on a frame change
    scene.frame_set(10)
    assert abs(rig["ParamAngleZ"] - 25.0) > 1.0

    assert bpy.ops.image_to_rig.no_motion() == {"FINISHED"}
    rig["ParamAngleZ"], rig["ParamAngleX"] = 25.0, -12.0
    for frame in (1, 17, 40):
        scene.frame_set(frame)
        assert rig["ParamAngleZ"] == pytest.approx(25.0)
        assert rig["ParamAngleX"] == pytest.approx(-12.0)

    assert bpy.ops.image_to_rig.play_motion(motion="Idle") == {"FINISHED"}
    rig["ParamAngleZ"], rig["ParamMouthForm"] = -20.0, 0.7
    assert bpy.ops.image_to_rig.pose_from_sliders() == {"FINISHED"}
    from image_to_rig.scene.pose import animation_mode

    assert animation_mode(rig) == "POSE"
    for frame in (1, 29, 75):  # frame changes, Play and F12 evaluate the same keys
        scene.frame_set(frame)
        assert rig["ParamAngleZ"] == pytest.approx(-20.0)
        assert rig["ParamMouthForm"] == pytest.approx(0.7)
    # The held pose is not a motion: the export knows only Idle.
    assert [m.id for m in gather_document(rig.users_collection[0]).motions] == ["Idle"]

    # Keyable sliders: keys at two frames interpolate in between.
    scene.frame_set(1)
    rig["ParamAngleX"] = 0.0
    assert bpy.ops.image_to_rig.key_sliders() == {"FINISHED"}
    scene.frame_set(21)
    rig["ParamAngleX"] = 20.0
    assert bpy.ops.image_to_rig.key_sliders() == {"FINISHED"}
    scene.frame_set(11)
    assert 2.0 < rig["ParamAngleX"] < 18.0


def test_pose_from_sliders_renders_as_seen(addon, tmp_path):
    """F12 of a held pose shows that pose (not the Idle motion's first frame)."""
    from blender_support import evaluated_vertices

    collection = build_scene(synthetic_document())
    rig = find_rig(collection)
    scene = bpy.context.scene
    rig["ParamAngleZ"], rig["ParamBodyAngleZ"] = 28.0, -9.0
    bpy.ops.image_to_rig.pose_from_sliders()
    scene.frame_set(1)
    posed = evaluated_vertices(collection)
    scene.frame_set(50)
    assert max(float(np.abs(posed[k] - v).max()) for k, v in evaluated_vertices(collection).items()) < 1e-4
    scene.render.engine = "BLENDER_WORKBENCH"
    scene.render.resolution_percentage = 100
    scene.render.filepath = str(tmp_path / "pose.png")
    bpy.ops.render.render(write_still=True)
    assert os.path.getsize(tmp_path / "pose.png") > 1000


# --------------------------------------------------------------------- 2. re-runs
def test_rerun_replaces_the_rig_and_keeps_hand_edits(addon, sample_png):
    rig = _generate(sample_png)
    assert len(_rigs()) == 1 and len(_cameras()) == 1
    shaped = sorted(
        (o for o in rig.users_collection[0].all_objects if K.MESH_ID in o and o.data.shape_keys),
        key=lambda o: o[K.MESH_ID],
    )
    face = shaped[0]
    mesh_id = face[K.MESH_ID]
    key = next(b.name for b in face.data.shape_keys.key_blocks[1:])
    block = face.data.shape_keys.key_blocks[key]
    co = np.empty(len(block.data) * 3, np.float32)
    block.data.foreach_get("co", co)
    co[2::3] += 0.05  # the user sculpts the key: 5 px up
    block.data.foreach_set("co", co)
    edited = key_offsets(face, key)
    rig[K.strength_prop("ParamAngleX")] = 1.7
    assert bpy.ops.image_to_rig.no_motion() == {"FINISHED"}

    rig = _generate(sample_png, on_rerun="REPLACE")
    assert len(_rigs()) == 1 and len(_cameras()) == 1  # no sample.001, no second camera
    collection = rig.users_collection[0]
    assert collection.name == "sample" and rig.name == "rig"
    assert not [c for c in bpy.data.collections if c.name.startswith("sample.")]
    face = next(o for o in collection.all_objects if o.get(K.MESH_ID) == mesh_id)
    assert face.name == mesh_id
    assert np.allclose(key_offsets(face, key), edited, atol=1e-6)
    assert key_edited_by_hand(face, key)
    assert rig[K.strength_prop("ParamAngleX")] == pytest.approx(1.7)
    assert rig.animation_data is None or rig.animation_data.action is None  # "no motion" kept
    status = bpy.context.scene.image_to_rig.status
    assert "replaced the rig 'sample'" in status and "1 hand-edited shape key" in status
    assert "1 strength" in status

    rig2 = _generate(sample_png, on_rerun="KEEP")
    assert len(_rigs()) == 2 and rig2 != rig
    assert "kept both" in bpy.context.scene.image_to_rig.status


def test_a_failed_replace_leaves_the_old_rig(addon, sample_png, monkeypatch):
    _generate(sample_png)
    names = sorted(o.name for o in bpy.data.objects)
    from image_to_rig.scene import build as build_module

    def broken(self, mesh, draw_index):
        raise RuntimeError("simulated failure while building")

    monkeypatch.setattr(build_module._Builder, "build_mesh", broken)
    with pytest.raises(RuntimeError):
        bpy.ops.image_to_rig.generate(filepath=sample_png)
    assert sorted(o.name for o in bpy.data.objects) == names


# --------------------------------------------------------------------- 3. export folder
def test_export_of_an_unsaved_file_refuses_a_relative_folder(addon, tmp_path, monkeypatch):
    build_scene(synthetic_document())
    monkeypatch.chdir(tmp_path)
    assert bpy.data.filepath == ""
    assert bpy.context.scene.image_to_rig.export_dir == "//rig_export"
    with pytest.raises(RuntimeError, match="not saved yet"):
        bpy.ops.image_to_rig.export()
    with pytest.raises(RuntimeError, match="relative path"):
        bpy.ops.image_to_rig.export(directory="rig_export")
    assert os.listdir(tmp_path) == []  # nothing written into the start folder
    blend = tmp_path / "work" / "char.blend"
    blend.parent.mkdir()
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    assert bpy.ops.image_to_rig.export() == {"FINISHED"}
    assert (tmp_path / "work" / "rig_export" / "model.json").is_file()
    props = bpy.ops.image_to_rig.export.get_rna_type().properties
    assert props["directory"].subtype == "DIR_PATH" and props["filter_folder"].default


# --------------------------------------------------------------------- 4. drag and drop
def test_dropping_an_image_offers_image_to_rig(addon):
    from types import SimpleNamespace

    from image_to_rig.operators.files import IMAGE_TO_RIG_FH_illustration as handler

    assert "IMAGE_TO_RIG_FH_illustration" in dir(bpy.types)
    assert handler.bl_import_operator == "image_to_rig.generate"
    assert set(handler.bl_file_extensions.split(";")) == {".png", ".jpg", ".jpeg", ".webp", ".psd"}
    assert handler.poll_drop(SimpleNamespace(area=SimpleNamespace(type="VIEW_3D")))
    assert not handler.poll_drop(SimpleNamespace(area=SimpleNamespace(type="IMAGE_EDITOR")))
    generate = bpy.ops.image_to_rig.generate.get_rna_type().properties
    assert "filepath" in generate and generate["filter_glob"].default == "*.png;*.jpg;*.jpeg;*.webp;*.psd"
    choose = bpy.ops.image_to_rig.choose_image.get_rna_type().properties
    assert choose["filter_glob"].default == generate["filter_glob"].default
    assert choose["filter_image"].default
    # The field itself has no unfiltered browse button of its own.
    assert (
        bpy.types.Scene.bl_rna.properties["image_to_rig"].fixed_type.properties["image_path"].subtype
        == "NONE"
    )
    with pytest.raises(RuntimeError, match="not a PNG, JPEG, WebP or PSD"):
        bpy.ops.image_to_rig.choose_image(filepath="/tmp/voice.wav")
    assert bpy.ops.image_to_rig.choose_image(filepath="/tmp/girl.webp") == {"FINISHED"}
    assert bpy.context.scene.image_to_rig.image_path == "/tmp/girl.webp"


# --------------------------------------------------------------------- 5. PSD round trip
def test_psd_round_trip_through_a_paint_app_into_the_same_rig(addon, sample_png, tmp_path):
    from PIL import Image
    from psd_tools import PSDImage

    rig = _generate(sample_png)
    out = tmp_path / "export"
    assert bpy.ops.image_to_rig.export(directory=str(out)) == {"FINISHED"}
    # The artist repaints the shirt in a paint app (here psd-tools edits the file).
    psd = PSDImage.open(out / "sample.psd")
    shirt = next(l for l in psd.descendants() if l.name == "topwear")
    pixels = np.asarray(shirt.topil().convert("RGBA")).copy()
    pixels[..., :3] = np.where(pixels[..., 3:] > 0, [200, 40, 40], pixels[..., :3])
    from psd_tools.api.layers import PixelLayer

    fixed = PixelLayer.frompil(Image.fromarray(pixels), psd, shirt.name, shirt.top, shirt.left)
    shirt.parent.insert(shirt.parent.index(shirt), fixed)
    shirt.parent.remove(shirt)
    fixed_psd = tmp_path / "sample_fixed.psd"
    psd.save(fixed_psd)

    objects = {o[K.MESH_ID]: o for o in rig.users_collection[0].all_objects if K.MESH_ID in o}
    old_layers = sorted({o[K.LAYER] for o in objects.values()})
    rig = _generate(str(fixed_psd), on_rerun="REPLACE")
    assert len(_rigs()) == 1 and len(_cameras()) == 1
    collection = rig.users_collection[0]
    assert collection.name == "sample"  # the same rig, rebuilt from the corrected PSD
    layers = {l.id: l for l in gather_document(collection).layers}
    assert sorted(layers) == old_layers
    shirt_px = layers["topwear"].image
    opaque = shirt_px[..., 3] > 200
    assert opaque.sum() > 100
    assert np.abs(shirt_px[opaque][:, :3].astype(int) - [200, 40, 40]).max() <= 2


# --------------------------------------------------------------------- 6. help, panel order
def test_help_link_and_panels_in_the_order_of_the_work(addon):
    import tomllib
    from image_to_rig.operators.help import DOC
    from image_to_rig.panels import classes

    assert os.path.isfile(DOC) and os.path.basename(DOC) == "blender.md"
    assert bpy.ops.image_to_rig.help() == {"FINISHED"}
    subs = sorted((c for c in classes if getattr(c, "bl_parent_id", "")), key=lambda c: c.bl_order)
    assert [c.bl_label for c in subs] == [
        "AI Backends",
        "Generate",
        "Parameters",
        "Strengths",
        "Motions",
        "Hair Physics",
        "Shape Controls",
        "Export",
    ]
    assert [c for c in classes if c in subs] == subs  # registered in that order too
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as fh:
        readme = fh.read()
    listed = [line for line in readme.splitlines() if line.startswith("| ") and "bl_idname" not in line]
    for c in [classes[0]] + subs:  # the README's Blender section lists them in order
        assert any(c.bl_idname in line for line in listed), c.bl_idname
    with open(os.path.join(REPO, "blender_manifest.toml"), "rb") as fh:
        manifest = tomllib.load(fh)
    assert manifest["maintainer"]


# --------------------------------------------------------------------- 7. PSD export
def test_psd_export_alpha_preview_closed_mouth_one_blush_groups_and_mode(addon, sample_png, tmp_path):
    from psd_tools import PSDImage

    _generate(sample_png)
    out = tmp_path / "export"
    old = os.umask(0o022)
    try:
        assert bpy.ops.image_to_rig.export(directory=str(out)) == {"FINISHED"}
    finally:
        os.umask(old)
    path = out / "sample.psd"
    assert stat.S_IMODE(os.stat(path).st_mode) == stat.S_IMODE(os.stat(out / "model.json").st_mode) == 0o644
    psd = PSDImage.open(path)
    preview = np.asarray(psd.topil())
    assert preview.shape[2] == 4 and preview[0, 0, 3] == 0  # transparent, not black
    assert preview[..., 3].max() == 255
    pixels = {l.name: l for l in psd.descendants() if l.kind == "pixel"}
    assert not pixels["mouth_interior"].visible  # opens with the mouth closed
    assert not pixels["face_blush"].visible  # the blush is drawn on the face: shown once
    # every other hidden layer is one the pipeline made (underlays, generated closed lids)
    hidden = {name for name, l in pixels.items() if not l.visible}
    made = ("_interior", "_blush", "_underlay", "_closed")
    assert all(any(role in name for role in made) for name in hidden), hidden
    assert pixels["face"].visible and pixels["mouth"].visible
    groups = {l.name: l for l in psd.descendants() if l.kind == "group"}
    assert {"head", "body", "eyes"} <= set(groups)
    assert pixels["irides_l"].parent.name == "eyes" and pixels["irides_l"].parent.parent.name == "head"
    assert pixels["topwear"].parent.name == "body"
    # The preview is the visible layers only: where the blush sits it equals the face.
    from image_to_rig.core.formats.psd_in import load_psd

    again = load_psd(str(path))
    assert {l.id for l in again.layers} >= {"face", "mouth", "topwear"}
    assert "mouth-interior" not in {l.id for l in again.layers}  # hidden: made again by the rig


# --------------------------------------------------------------------- 8. footprint
def test_footprint_is_measured_per_wheel_and_no_unneeded_wheel_is_bundled(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location(
        "bench_footprint", os.path.join(REPO, "bench", "bench_footprint.py")
    )
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    # Sizes: what the wheel file weighs and what it unpacks to.
    name = "demo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(tmp_path / name, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("demo/__init__.py", "x = 1\n" * 5000)
    (row,) = bench.wheel_rows([name], str(tmp_path))
    assert row["installed"] == 6 * 5000 and row["download"] == os.path.getsize(tmp_path / name)
    # Every bundled project is imported by the add-on's code or required by one that is ...
    assert bench.unused_projects() == []
    why = bench.why_bundled()
    assert "scipy" not in why  # dropped: OpenCV's Subdiv2D and numpy do its two jobs
    assert any("core/stages/triangulate.py" in r for r in why["opencv-python-headless"])
    assert "required by jsonschema" in why["rpds-py"]
    # ... and one that nothing needs is found.
    be = bench.build_extension()
    monkeypatch.setattr(bench, "build_extension", lambda: be)
    monkeypatch.setitem(be.WHEELS, "six", "1.17.0")
    assert bench.unused_projects() == ["six"]
