# SPDX-License-Identifier: GPL-3.0-or-later
"""Layered PSD input (names, groups, hidden and odd layers) and PSD export."""

import numpy as np
import pytest
from PIL import Image
from psd_tools import PSDImage
from psd_tools.api.layers import Group, PixelLayer

from image_to_rig.core.formats.psd_out import write_psd
from image_to_rig.core.formats.psd_in import PsdInputError, classify_name, load_psd
from image_to_rig.devkit.sample import make_sample


@pytest.fixture(scope="module")
def sample():
    return make_sample(512)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("front hair_1", ("front hair", "", "")),
        ("back hair", ("back hair", "", "")),
        ("前髪", ("front hair", "", "")),
        ("後ろ髪", ("back hair", "", "")),
        ("顔", ("face", "", "")),
        ("白目 左", ("eyewhite", "l", "")),
        ("瞳R", ("irides", "r", "")),
        ("まつ毛_右", ("eyelash", "r", "")),
        ("眉毛 (左)", ("eyebrow", "l", "")),
        ("口", ("mouth", "", "")),
        ("mouth_open", ("mouth", "", "open")),
        ("mouth_close", ("mouth", "", "")),
        ("eye_close_l", ("eyelash", "l", "closed")),
        ("Eye White L copy 2", ("eyewhite", "l", "")),
        ("Layer 7", (None, "", "")),
    ],
)
def test_layer_names(name, expected):
    assert classify_name(name) == expected


def test_see_through_names_round_trip(sample, tmp_path):
    path = tmp_path / "sample.psd"
    write_psd(sample.layers, sample.canvas, str(path))
    reopened = PSDImage.open(path)
    pixels = [l.name for l in reopened.descendants() if l.kind == "pixel"]
    assert pixels[:3] == ["back hair", "neck", "topwear"]
    imported = load_psd(str(path))
    assert [l.id for l in imported.layers] == [l.id for l in sample.layers]
    for ours, truth in zip(imported.layers, sample.layers):
        assert ours.tag == truth.tag and ours.side == truth.side
        assert np.array_equal(
            ours.full_canvas(sample.canvas)[..., 3], truth.full_canvas(sample.canvas)[..., 3]
        )
    assert imported.warnings == []


def _pixel(psd_or_group, psd, name, rgba, top=0, left=0, visible=True):
    layer = PixelLayer.frompil(Image.fromarray(np.ascontiguousarray(rgba)), psd, top=top, left=left)
    layer.name = name  # the setter writes the Unicode name block (frompil cannot)
    layer.visible = visible
    psd_or_group.append(layer)
    return layer


def test_hand_made_japanese_psd_with_groups(sample, tmp_path):
    by_id = {l.id: l for l in sample.layers}
    psd = PSDImage.new(mode="RGBA", size=(512, 512))
    _pixel(psd, psd, "後ろ髪", by_id["back-hair"].image, by_id["back-hair"].y, by_id["back-hair"].x)
    _pixel(psd, psd, "顔", by_id["face"].image, by_id["face"].y, by_id["face"].x)
    # both eye whites in one layer: must be split left/right
    both = np.maximum(
        by_id["eyewhite_l"].full_canvas(sample.canvas), by_id["eyewhite_r"].full_canvas(sample.canvas)
    )
    _pixel(psd, psd, "白目", both)
    eyes = Group.new(psd)
    eyes.name = "左目"
    _pixel(eyes, psd, "瞳", by_id["irides_l"].image, by_id["irides_l"].y, by_id["irides_l"].x)
    _pixel(
        eyes,
        psd,
        "閉じ目",
        by_id["eyelash_l"].image,
        by_id["eyelash_l"].y,
        by_id["eyelash_l"].x,
        visible=False,
    )
    _pixel(psd, psd, "sticker", np.full((20, 20, 4), 200, np.uint8), 60, 250)  # unknown, on the forehead
    _pixel(psd, psd, "old sketch", by_id["mouth"].image, by_id["mouth"].y, by_id["mouth"].x, visible=False)
    _pixel(psd, psd, "empty", np.zeros((10, 10, 4), np.uint8))
    _pixel(psd, psd, "前髪", by_id["front-hair"].image, by_id["front-hair"].y, by_id["front-hair"].x)
    path = tmp_path / "hand.psd"
    psd.save(path)
    imported = load_psd(str(path))
    ids = [l.id for l in imported.layers]
    assert ids[:2] == ["back-hair", "face"] and ids[-1] == "front-hair"
    assert "eyewhite_l" in ids and "eyewhite_r" in ids and "irides_l" in ids
    left = next(l for l in imported.layers if l.id == "eyewhite_l")
    assert left.x > 256  # the character's left eye is on the image's right
    assert [v.id for v in imported.variants] == ["eyelash-closed_l"]
    sticker = next(l for l in imported.layers if l.source_name == "sticker")
    assert sticker.tag == "objects" and sticker.follows in ("front-hair", "face")
    assert any("old sketch (hidden)" in s for s in imported.report["skipped"])
    assert any("empty" in s for s in imported.report["skipped"])


def test_bad_psd_fails_in_plain_words(tmp_path):
    bad = tmp_path / "broken.psd"
    bad.write_bytes(b"8BPS" + b"\0" * 40)
    with pytest.raises(PsdInputError, match="not a readable PSD"):
        load_psd(str(bad))
    empty = PSDImage.new(mode="RGBA", size=(64, 64))
    empty.save(tmp_path / "empty.psd")
    with pytest.raises(PsdInputError, match="no pixel layers"):
        load_psd(str(tmp_path / "empty.psd"))


def test_pipeline_rigs_a_layered_psd_and_uses_its_open_mouth(sample, tmp_path):
    from image_to_rig.core.pipeline import run_pipeline

    by_id = {l.id: l for l in sample.layers}
    psd = PSDImage.new(mode="RGBA", size=(512, 512))
    for layer in sample.layers:
        _pixel(psd, psd, layer.tag + (f"_{layer.side}" if layer.side else ""), layer.image, layer.y, layer.x)
    mouth = by_id["mouth"]
    open_mouth = np.zeros((30, mouth.image.shape[1], 4), np.uint8)
    open_mouth[..., 0] = 120
    open_mouth[..., 3] = 255
    _pixel(psd, psd, "mouth_open", open_mouth, mouth.y, mouth.x, visible=False)
    path = tmp_path / "layered.psd"
    psd.save(path)
    result = run_pipeline(str(path))
    doc = result.doc
    doc.validate()
    ids = [l.id for l in doc.layers]
    assert ids.index("mouth-interior") == ids.index("mouth") - 1
    interior = doc.layer("mouth-interior")
    assert not interior.generated and interior.source_name == "mouth_open"
    assert result.found["variants_used"] == ["mouth_open"]
    # nothing of the mouth is generated; the eyes, which have no drawn closed eye,
    # get a closed lid drawn from the open one (and the report says so)
    assert sorted(result.found["generated"]) == ["eyelash-closed_l", "eyelash-closed_r"]
    assert {p.id for p in doc.parameters} >= {"ParamAngleX", "ParamEyeLOpen", "ParamMouthOpenY"}
    assert doc.motions and doc.motions[0].id == "Idle"
