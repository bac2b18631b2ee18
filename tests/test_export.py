# SPDX-License-Identifier: GPL-3.0-or-later
"""Atlas packing and the export folder: schema, padding and bleed, atomicity,
and a render round trip through model.json."""

import json
import os
import stat

import numpy as np
import pytest

from image_to_rig.core.formats import export_folder as export_module
from image_to_rig.core.formats.atlas import AtlasError, bleed_transparent_colours, pack_atlas
from image_to_rig.core.model.document import Layer
from image_to_rig.core.formats.export_folder import ExportError, export_folder
from image_to_rig.core.runtime.render import render
from image_to_rig.core.formats.model_json import load_model, validate_runtime

from web_support import make_test_document


def _random_layers(count, seed=0, max_side=300):
    rng = np.random.default_rng(seed)
    layers = []
    for i in range(count):
        w, h = (int(v) for v in rng.integers(1, max_side, 2))
        img = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
        img[..., 3][rng.random((h, w)) < 0.3] = 0
        layers.append(Layer(f"layer{i}", "objects", img))
    return layers


# ------------------------------------------------------------------ atlas


def test_atlas_places_every_crop_unchanged_without_overlap():
    layers = _random_layers(40)
    pad = 4
    pages, placements = pack_atlas(layers, padding=pad, max_size=1024)
    assert set(placements) == {l.id for l in layers}
    used = [np.zeros(p.shape[:2], bool) for p in pages]
    for layer in layers:
        page, x, y, w, h = placements[layer.id]
        assert (w, h) == layer.size
        crop = pages[page][y : y + h, x : x + w]
        visible = layer.image[..., 3] > 0
        # Visible pixels are copied exactly, alpha everywhere.
        np.testing.assert_array_equal(crop[visible], layer.image[visible])
        np.testing.assert_array_equal(crop[..., 3], layer.image[..., 3])
        # Padded boxes lie inside the page and do not overlap.
        assert x - pad >= 0 and y - pad >= 0
        assert x + w + pad <= pages[page].shape[1] and y + h + pad <= pages[page].shape[0]
        box = used[page][y - pad : y + h + pad, x - pad : x + w + pad]
        assert not box.any(), f"{layer.id} overlaps another crop's padding"
        box[:] = True
    for page in pages:
        assert max(page.shape[:2]) <= 1024
        assert page.shape[1] & (page.shape[1] - 1) == 0, "page width is a power of two"


def test_atlas_uses_several_pages_when_one_is_too_small():
    layers = _random_layers(12, seed=1, max_side=250)
    pages, placements = pack_atlas(layers, padding=2, max_size=256)
    assert len(pages) > 1
    assert {placements[l.id][0] for l in layers} == set(range(len(pages)))


def test_atlas_rejects_a_crop_larger_than_a_page():
    big = Layer("face", "face", np.zeros((300, 10, 4), np.uint8))
    with pytest.raises(AtlasError, match="face.*too big"):
        pack_atlas([big], padding=4, max_size=256)


def test_padding_and_hidden_pixels_carry_the_nearest_visible_colour():
    img = np.zeros((20, 30, 4), np.uint8)
    img[..., :3] = (0, 0, 0)
    img[5:15, 5:12] = (255, 0, 0, 255)  # red block on the left
    img[5:15, 18:25] = (0, 0, 255, 255)  # blue block on the right
    img[8, 8] = (0, 255, 0, 0)  # hidden pixel with junk colour inside red
    pad = 4
    pages, placements = pack_atlas([Layer("a", "objects", img)], padding=pad)
    _, x, y, w, h = placements["a"]
    page = pages[0]
    region = page[y - pad : y + h + pad, x - pad : x + w + pad]
    assert (region[..., 3] == 0).sum() == (img[..., 3] == 0).sum() + region[..., 3].size - img[..., 3].size
    # Every transparent pixel is red or blue (never black), by nearest side.
    transparent = region[..., 3] == 0
    colours = {tuple(c) for c in region[transparent][:, :3]}
    assert colours <= {(255, 0, 0), (0, 0, 255)}
    assert tuple(region[0, 0, :3]) == (255, 0, 0)  # top-left padding corner
    assert tuple(region[-1, -1, :3]) == (0, 0, 255)  # bottom-right padding corner
    assert tuple(page[y + 8, x + 8, :3]) == (255, 0, 0)  # the hidden pixel inside
    assert page[y + 8, x + 8, 3] == 0


def test_bleed_of_a_fully_transparent_image_is_black():
    img = np.full((4, 4, 4), 200, np.uint8)
    img[..., 3] = 0
    assert not bleed_transparent_colours(img)[..., :3].any()


def test_atlas_packs_the_crops_of_a_1024_character_into_one_page():
    """(Its speed is measured by bench/bench_pipeline.py's export stage, not here.)"""
    # Roughly the layer crops of a 1024x1024 character.
    sizes = [
        (700, 900),
        (520, 560),
        (600, 380),
        (500, 420),
        (420, 200),
        (300, 260),
        (90, 60),
        (90, 60),
        (70, 50),
        (70, 50),
        (80, 30),
        (80, 30),
        (120, 60),
        (200, 120),
        (260, 90),
        (100, 140),
        (100, 140),
        (60, 40),
    ]
    layers = []
    for i, (w, h) in enumerate(sizes):
        img = np.zeros((h, w, 4), np.uint8)
        img[h // 8 : -h // 8, w // 8 : -w // 8] = (200, 120, 90, 255)
        layers.append(Layer(f"l{i}", "objects", img))
    pages, placements = pack_atlas(layers)
    assert len(pages) == 1 and sorted(placements) == sorted(l.id for l in layers)
    boxes = [placements[l.id][1:] for l in layers]
    for i, (x, y, w, h) in enumerate(boxes):  # no two crops overlap
        for x2, y2, w2, h2 in boxes[i + 1 :]:
            assert x + w <= x2 or x2 + w2 <= x or y + h <= y2 or y2 + h2 <= y


# ------------------------------------------------------------------ export folder


def test_export_writes_a_schema_valid_self_contained_folder(tmp_path):
    doc = make_test_document()
    out = export_folder(doc, tmp_path / "export")
    assert sorted(os.listdir(out)) == [
        "LICENSE-MIT",
        "atlas0.png",
        "constants.json",
        "hotkeys.js",
        "index.html",
        "live.html",
        "live.js",
        "model.json",
        "motions",
        "player",
        "player.js",
        "synthetic.cdi3.json",
        "synthetic.moc3",
        "synthetic.model3.json",
        "synthetic.psd",
        "vendor",
        "viewer.js",
    ]
    from image_to_rig.core.formats.export_folder import viewer_files

    for name in viewer_files():  # every run-time file of the player, and no developer files
        assert os.path.isfile(os.path.join(out, *name.split("/"))), name
    assert not {"package.json", "README.md", "CHANGELOG.md", "player.d.ts"} & set(os.listdir(out))
    assert os.path.isfile(os.path.join(out, "vendor", "face-api", "model", "tiny_face_detector_model.bin"))
    with open(os.path.join(out, "synthetic.model3.json"), encoding="utf-8") as fh:
        assert json.load(fh)["HitAreas"] == [
            {"Id": "face", "Name": "Head"},
            {"Id": "topwear", "Name": "Body"},
        ]
    with open(os.path.join(out, "model.json"), encoding="utf-8") as fh:
        data = json.load(fh)
    validate_runtime(data)
    assert data["textures"] == ["atlas0.png"]
    assert [p["group"] for p in data["parameters"]][:2] == ["Face", "Face"]
    assert {l["id"]: l["clip_to"] for l in data["layers"]}["irides_l"] == "eyewhite_l"
    assert [m["id"] for m in data["motions"]] == ["Idle"]
    # Nothing else (no temporary or backup folders) is left beside it.
    assert os.listdir(tmp_path) == ["export"]


def test_export_round_trip_renders_the_same(tmp_path):
    doc = make_test_document()
    out = export_folder(doc, tmp_path / "export")
    loaded = load_model(os.path.join(out, "model.json"))
    rng = np.random.default_rng(3)
    for values in ({}, {p.id: float(rng.uniform(p.min, p.max)) for p in doc.parameters}):
        a = render(doc, values).astype(np.float64)
        b = render(loaded, values).astype(np.float64)
        assert a[..., 3].sum() > 1000, "the test character is visible"
        assert np.abs(a - b).mean() < 1.0, values


def test_export_replaces_an_earlier_export(tmp_path):
    doc = make_test_document()
    out = tmp_path / "export"
    export_folder(doc, out)
    (out / "stale.txt").write_text("from the old export")
    export_folder(doc, out)
    assert not (out / "stale.txt").exists()
    assert sorted(os.listdir(tmp_path)) == ["export"]


def test_failure_mid_export_leaves_the_old_folder_intact(tmp_path, monkeypatch):
    doc = make_test_document()
    out = tmp_path / "export"
    export_folder(doc, out)

    def contents():
        return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}

    before = contents()

    def broken_copy(folder):
        # The atlas and model.json are already in the staging folder here.
        assert os.path.exists(os.path.join(folder, "model.json"))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export_module, "_copy_viewer", broken_copy)
    doc.parameters[0].max = 45.0  # a change that would alter model.json
    with pytest.raises(ExportError, match="the disk is full"):
        export_folder(doc, out)
    assert contents() == before
    assert sorted(os.listdir(tmp_path)) == ["export"], "no staging folder left behind"


def test_failure_of_a_first_export_leaves_nothing(tmp_path, monkeypatch):
    def broken_png(path, rgba):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(export_module, "_write_png", broken_png)
    with pytest.raises(ExportError, match="Input/output error"):
        export_folder(make_test_document(), tmp_path / "export")
    assert os.listdir(tmp_path) == []


def test_unwritable_folder_gives_a_clear_error(tmp_path):
    if os.geteuid() == 0:
        # Root ignores permission bits; a path below a file is unwritable for everyone.
        blocker = tmp_path / "not-a-folder"
        blocker.write_text("x")
        target = blocker / "export"
        expected = "not-a-folder is a file, not a folder"
    else:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
        target = locked / "export"
        expected = "cannot write into .*locked \\(permission denied\\)"
    with pytest.raises(ExportError, match=expected):
        export_folder(make_test_document(), target)


def test_export_refuses_to_replace_a_folder_of_other_files(tmp_path):
    folder = tmp_path / "my-drawings"
    folder.mkdir()
    (folder / "sketch.png").write_bytes(b"precious")
    with pytest.raises(ExportError, match="not an earlier export"):
        export_folder(make_test_document(), folder)
    assert (folder / "sketch.png").read_bytes() == b"precious"


def test_export_reports_a_broken_document(tmp_path):
    doc = make_test_document()
    doc.draw_order.pop()
    with pytest.raises(ExportError, match="draw order"):
        export_folder(doc, tmp_path / "export")
    assert os.listdir(tmp_path) == []


# ------------------------------------------------------------------ Cubism interchange files + PSD

from conftest import cubism_schema as _schema  # noqa: E402


def _hair_document(source="/home/artist/My Girl (final).png"):
    from image_to_rig.core.model.document import Parameter
    from image_to_rig.core.stages.hair_physics import default_hair_physics

    doc = make_test_document()
    doc.source = source
    for pid in (
        "ParamEyeLOpen",
        "ParamEyeROpen",
        "ParamMouthOpenY",
        "ParamMouthForm",
        "ParamHairFront",
        "ParamHairBack",
    ):
        lo = -1 if pid in ("ParamMouthForm", "ParamHairFront", "ParamHairBack") else 0
        doc.parameters.append(Parameter(pid, lo, 1 if "EyeL" in pid or "EyeR" in pid else 0, 1))
    doc.physics = default_hair_physics(doc)
    return doc


def test_export_writes_schema_valid_cubism_files_that_model3_lists(tmp_path):
    import jsonschema

    from image_to_rig.core.formats.cubism_json import check_motion3_counts

    doc = _hair_document()
    out = export_folder(doc, tmp_path / "export")
    stem = "My_Girl_final"
    files = {
        os.path.relpath(os.path.join(r, f), out).replace(os.sep, "/") for r, _, fs in os.walk(out) for f in fs
    }
    expected = {
        f"{stem}.model3.json",
        f"{stem}.moc3",
        f"{stem}.cdi3.json",
        f"{stem}.physics3.json",
        f"{stem}.psd",
        "motions/Idle.motion3.json",
        "expressions/smile.exp3.json",
        "expressions/surprise.exp3.json",
        "expressions/angry.exp3.json",
    }
    assert expected <= files
    load = lambda rel: json.loads((tmp_path / "export" / rel).read_text(encoding="utf-8"))  # noqa: E731
    kinds = {
        ".model3.json": "model3",
        ".cdi3.json": "cdi3",
        ".physics3.json": "physics3",
        ".motion3.json": "motion3",
        ".exp3.json": "exp3",
    }
    checked = 0
    for rel in sorted(files):
        for suffix, kind in kinds.items():
            if rel.endswith(suffix):
                jsonschema.Draft7Validator(_schema(kind)).validate(load(rel))
                checked += 1
    assert checked == 7
    check_motion3_counts(load("motions/Idle.motion3.json"))
    model3 = load(f"{stem}.model3.json")
    refs = model3["FileReferences"]
    assert refs["Moc"] == f"{stem}.moc3" and refs["Textures"] == ["atlas0.png"]
    assert refs["Physics"] == f"{stem}.physics3.json" and refs["DisplayInfo"] == f"{stem}.cdi3.json"
    assert refs["Motions"] == {
        "Idle": [{"File": "motions/Idle.motion3.json", "FadeInTime": 0.5, "FadeOutTime": 0.5}]
    }
    assert sorted(e["Name"] for e in refs["Expressions"]) == ["angry", "smile", "surprise"]
    every_ref = [
        refs["Moc"],
        refs["Physics"],
        refs["DisplayInfo"],
        *refs["Textures"],
        *(e["File"] for e in refs["Expressions"]),
        *(m["File"] for group in refs["Motions"].values() for m in group),
    ]
    assert all(r in files for r in every_ref), "model3.json names only files that exist"
    assert {g["Name"]: g["Ids"] for g in model3["Groups"]} == {
        "EyeBlink": ["ParamEyeLOpen", "ParamEyeROpen"],
        "LipSync": ["ParamMouthOpenY"],
    }
    physics = load(f"{stem}.physics3.json")
    assert physics["Meta"]["PhysicsSettingCount"] == 2
    assert physics["Meta"]["TotalInputCount"] == sum(len(s["Input"]) for s in physics["PhysicsSettings"])
    # model.json carries the same physics for the web player.
    assert [s["id"] for s in load("model.json")["physics"]] == [s["Id"] for s in physics["PhysicsSettings"]]


def test_export_without_physics_or_source_name(tmp_path):
    doc = make_test_document()
    doc.source = ""
    out = export_folder(doc, tmp_path / "export")
    names = os.listdir(out)
    assert "model.model3.json" in names and "model.psd" in names
    assert not any(n.endswith(".physics3.json") for n in names)
    with open(os.path.join(out, "model.model3.json"), encoding="utf-8") as fh:
        refs = json.load(fh)["FileReferences"]
    assert "Physics" not in refs and "Expressions" not in refs  # no face parameters for them


def test_psd_reopens_with_layer_names_in_depth_order(tmp_path):
    from psd_tools import PSDImage

    doc = make_test_document()
    # Shuffle the layer list: the PSD must follow the draw order, not the list.
    doc.layers = [doc.layers[i] for i in (3, 0, 4, 2, 1)]
    out = export_folder(doc, tmp_path / "export")
    psd = PSDImage.open(os.path.join(out, "synthetic.psd"))
    assert (psd.width, psd.height) == (doc.canvas.width, doc.canvas.height)
    layers = [layer for layer in psd.descendants() if layer.kind == "pixel"]
    names = [layer.name for layer in layers]
    assert names == ["topwear", "face", "eyewhite_l", "irides_l", "objects"]  # back to front
    face = next(layer for layer in layers if layer.name == "face")
    src = doc.layer("face")
    assert (face.left, face.top) == (src.x, src.y)
    pixels = np.asarray(face.topil().convert("RGBA"))
    visible = src.image[..., 3] > 0
    assert np.abs(pixels[..., 3].astype(int) - src.image[..., 3]).max() <= 1
    assert np.abs(pixels[..., :3].astype(int) - src.image[..., :3])[visible].max() <= 1
    blush = next(layer for layer in layers if layer.name == "objects")
    assert blush.opacity == round(0.55 * 255)
