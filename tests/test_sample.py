# SPDX-License-Identifier: GPL-3.0-or-later
"""The sample character: ground-truth layers that really compose the image."""

import numpy as np
import pytest

from image_to_rig.core.model.document import SEE_THROUGH_TAGS, Canvas, layer_id
from image_to_rig.devkit.sample import make_sample

EXPECTED_IDS = {
    "back-hair",
    "neck",
    "topwear",
    "ears_l",
    "ears_r",
    "face",
    "eyewhite_l",
    "eyewhite_r",
    "irides_l",
    "irides_r",
    "eyelash_l",
    "eyelash_r",
    "eyebrow_l",
    "eyebrow_r",
    "nose",
    "mouth",
    "front-hair",
}


def _over(layers, canvas: Canvas, background):
    """Independent reference compositing: premultiplied 'over', clip by alpha."""
    h, w = canvas.height, canvas.width
    out = np.zeros((h, w, 4), np.float64)
    alphas = {}
    for layer in layers:
        full = layer.full_canvas(canvas).astype(np.float64) / 255.0
        alphas[layer.id] = full[..., 3].copy()
        a = full[..., 3] * (alphas[layer.clip_to] if layer.clip_to else 1.0)
        src = np.dstack([full[..., :3] * a[..., None], a])
        out = src + out * (1.0 - a[..., None])
    if background is not None:
        bg = np.array(list(background) + [255], np.float64) / 255.0
        out = out + bg * (1.0 - out[..., 3:4])
    a = out[..., 3:4]
    rgb = np.where(a > 1e-9, out[..., :3] / np.maximum(a, 1e-9), 0)
    return np.rint(np.dstack([rgb, a]) * 255).astype(np.int32)


@pytest.fixture(scope="module")
def sample():
    return make_sample(512)


def test_layers_have_see_through_tags_and_ids(sample):
    assert {l.id for l in sample.layers} == EXPECTED_IDS
    for layer in sample.layers:
        assert layer.tag in SEE_THROUGH_TAGS
        assert layer.id == layer_id(layer.tag, layer.side, layer.role)
        assert layer.image.dtype == np.uint8 and layer.image.shape[2] == 4
        assert layer.visible_mask.shape == layer.image.shape[:2]
    assert sample.layer("irides_l").clip_to == "eyewhite_l"
    assert sample.layer("irides_r").clip_to == "eyewhite_r"


def test_layers_compose_the_image(sample):
    assert sample.image.shape == (512, 512, 4)
    assert (sample.image[..., 3] == 255).all()
    ref = _over(sample.layers, sample.canvas, sample.background)
    diff = np.abs(ref - sample.image.astype(np.int32))
    assert diff.max() <= 1


def test_transparent_sample_composes_with_alpha():
    s = make_sample(256, transparent=True)
    assert s.image[0, 0, 3] == 0 and s.image[-1, 128, 3] == 255
    ref = _over(s.layers, s.canvas, None)
    a = s.image[..., 3] > 0
    assert np.abs(ref[..., 3] - s.image[..., 3]).max() <= 1
    assert np.abs(ref[a][:, :3] - s.image[a][:, :3].astype(np.int32)).max() <= 2


def test_visible_masks_are_where_layers_show(sample):
    total = np.zeros((512, 512), np.int32)
    for layer in sample.layers:
        m = np.zeros((512, 512), bool)
        h, w = layer.visible_mask.shape
        m[layer.y : layer.y + h, layer.x : layer.x + w] = layer.visible_mask
        total += m
        # visible pixels are opaque-ish pixels of the layer itself
        assert (layer.image[..., 3][layer.visible_mask] >= 127).all()
    assert total.max() <= 1  # each pixel is visible in at most one layer
    for lid in EXPECTED_IDS - {"ears_l", "ears_r"}:
        assert sample.layer(lid).visible_mask.sum() > 20, lid


def test_layers_are_complete_under_what_covers_them(sample):
    face = sample.layer("face")
    for side in ("l", "r"):
        x0, y0, x1, y1 = getattr(sample.landmarks, f"eye_{side}")
        cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
        px = face.image[cy - face.y, cx - face.x]
        assert px[3] == 255 and px[0] > 200  # skin under the eye
        assert not face.visible_mask[cy - face.y, cx - face.x]
    iris = sample.layer("irides_l")
    assert (iris.image[..., 3] > 0).sum() > 1.2 * iris.visible_mask.sum()


def test_left_is_the_characters_left(sample):
    lm = sample.landmarks
    assert lm.eye_l[0] > 256 > lm.eye_r[2]
    for tag in ("eyewhite", "irides", "eyelash", "eyebrow"):
        left, right = sample.layer(tag + "_l"), sample.layer(tag + "_r")
        assert left.x > 256 > right.x + right.image.shape[1]


def test_sample_is_deterministic_and_copies():
    a, b = make_sample(256), make_sample(256)
    assert np.array_equal(a.image, b.image)
    a.layers[0].image[:] = 0  # callers get their own copy
    assert make_sample(256).layers[0].image.any()


def test_too_small_is_refused():
    with pytest.raises(ValueError):
        make_sample(32)
