# SPDX-License-Identifier: GPL-3.0-or-later
"""Synthetic characters: varied, and their ground-truth layers really compose the image."""

import numpy as np
import pytest

from image_to_rig.core.model.document import SEE_THROUGH_TAGS, layer_id
from image_to_rig.devkit.sample import composite_layers
from image_to_rig.devkit.synth import HAIR_STYLES, make_character, random_spec


def _canvas_mask(layer, canvas):
    out = np.zeros((canvas.height, canvas.width), bool)
    h, w = layer.visible_mask.shape
    out[layer.y : layer.y + h, layer.x : layer.x + w] = layer.visible_mask
    return out


@pytest.mark.parametrize("seed", [0, 4, 7, 11])
def test_layers_compose_the_transparent_image(seed):
    s = make_character(seed, size=320, background="transparent")
    img, _ = composite_layers(s.layers, s.canvas, None)
    assert np.abs(img.astype(int) - s.image.astype(int)).max() <= 1
    total = np.zeros((320, 320), int)
    for layer in s.layers:
        assert layer.tag in SEE_THROUGH_TAGS
        assert layer.id == layer_id(layer.tag, layer.side, layer.role)
        total += _canvas_mask(layer, s.canvas)
    assert total.max() <= 1
    solid = s.image[..., 3] >= 128
    assert not (total.astype(bool) & ~solid).any()  # visible only where the image is
    assert (total.astype(bool) & solid).sum() >= 0.995 * solid.sum()


def test_backgrounds_fill_the_canvas_and_keep_the_character():
    base = make_character(3, size=256, background="transparent")
    inside = base.image[..., 3] == 255
    outside = base.image[..., 3] == 0
    for bg in ("plain", "gradient", "busy"):
        s = make_character(3, size=256, background=bg)
        assert (s.image[..., 3] == 255).all(), bg
        assert np.array_equal(s.image[inside, :3], base.image[inside, :3]), bg
    busy = make_character(3, size=256, background="busy").image[outside, :3].astype(int)
    plain = make_character(3, size=256, background="plain").image[outside, :3].astype(int)
    assert busy.std(axis=0).mean() > 3 * plain.std(axis=0).mean() + 5


def test_hair_styles_differ_and_short_hair_shows_the_ears():
    areas = {}
    for style in HAIR_STYLES:
        s = make_character(
            1,
            size=256,
            hair_style=style,
            side_locks=False,
            background="transparent",
            tilt=0.0,
            turn=0.0,
            headwear=None,
            framing="portrait",
        )
        areas[style] = int((s.layer("back-hair").image[..., 3] > 0).sum())
        if style == "short":
            assert s.layer("ears_l").visible_mask.sum() > 20 and s.layer("ears_r").visible_mask.sum() > 20
    assert areas["long"] > areas["bob"] > areas["short"]
    assert areas["twin tails"] > areas["bob"]


def test_options_draw_their_parts():
    s = make_character(2, size=256, glasses=True, headwear="ribbon")
    ids = {l.id for l in s.layers}
    assert {"eyewear", "headwear"} <= ids
    s = make_character(2, size=256, glasses=False, headwear=None, framing="full body")
    ids = {l.id for l in s.layers}
    assert "eyewear" not in ids and "headwear" not in ids and "legwear" in ids


def test_landmarks_follow_tilt_and_sides():
    upright = make_character(5, size=512, tilt=0.0, turn=0.0).landmarks
    tilted = make_character(5, size=512, tilt=12.0, turn=0.0).landmarks
    assert upright.eye_l[0] > upright.eye_r[2]  # the character's left eye is on the image right
    assert abs(upright.eye_l[1] - upright.eye_r[1]) <= 1
    assert tilted.eye_l[1] > tilted.eye_r[1] + 5  # clockwise tilt lowers the image-right eye
    s = make_character(5, size=512, tilt=12.0, turn=0.0)
    for tag in ("eyewhite", "irides", "eyelash", "eyebrow"):
        assert s.layer(tag + "_l").x > s.layer(tag + "_r").x


def test_seeds_vary_and_repeat():
    a, b = make_character(8, size=256), make_character(8, size=256)
    assert np.array_equal(a.image, b.image)
    specs = [random_spec(i) for i in range(24)]
    assert len({s.hair_style for s in specs}) == len(HAIR_STYLES)
    assert len({s.hair_rgb for s in specs}) >= 6 and len({s.background for s in specs}) == 4
    assert any(s.glasses for s in specs) and any(s.framing == "full body" for s in specs)


@pytest.mark.parametrize(
    "bad", [dict(size=100), dict(hair_style="mohawk"), dict(colour=3), dict(headwear="crown")]
)
def test_bad_options_are_clear_errors(bad):
    with pytest.raises(ValueError):
        make_character(0, **bad)
