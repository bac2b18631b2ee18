# SPDX-License-Identifier: GPL-3.0-or-later
"""A character drawn small (a visual-novel sprite: the face under 48 px) is
enlarged with a warning and rigged, instead of refused (issue 11, item 8)."""

import cv2
import numpy as np
import pytest

from image_to_rig.core.model.errors import ImageToRigError
from image_to_rig.core.pipeline import run_pipeline
from image_to_rig.core.runtime.render import Renderer
from image_to_rig.core.stages import upscale
from image_to_rig.core.stages.decompose.context import MIN_FACE_WIDTH
from image_to_rig.devkit.sample import make_sample

BIG = 512


def _truth_mask(sample, tags, size):
    out = np.zeros((sample.canvas.height, sample.canvas.width), np.uint8)
    for l in sample.layers:
        if l.tag in tags:
            h, w = l.image.shape[:2]
            out[l.y : l.y + h, l.x : l.x + w] |= l.visible_mask.astype(np.uint8)
    return cv2.resize(out, (size, size), interpolation=cv2.INTER_NEAREST).astype(bool)


@pytest.fixture(scope="module")
def small():
    sample = make_sample(BIG)
    img = cv2.resize(sample.image, (128, 128), interpolation=cv2.INTER_AREA)
    return sample, img, run_pipeline(img)


def test_small_face_is_enlarged_with_a_warning(small):
    _, img, result = small
    factor = result.found["upscaled"]
    assert 1.5 < factor <= upscale.MAX_FACTOR
    assert result.doc.canvas.width == int(round(128 * factor))
    assert any("enlarged" in w and "px wide" in w for w in result.warnings)
    face = result.doc.info["rig"]["face_box"]
    assert face[2] - face[0] >= MIN_FACE_WIDTH


def test_enlarged_rig_has_the_face_parts_where_the_drawing_has_them(small):
    sample, _, result = small
    doc = result.doc
    tags = {l.tag for l in doc.layers}
    assert {"eyewhite", "irides", "eyelash", "eyebrow", "mouth", "face"} <= tags
    size = doc.canvas.width
    for wanted in (("eyewhite", "irides", "eyelash"), ("mouth",)):
        truth = _truth_mask(sample, wanted, size)
        masks = [
            l.full_mask(doc.canvas, visible=True) for l in doc.layers if l.tag in wanted and not l.generated
        ]
        ours = np.any(masks, axis=0)
        iou = (ours & truth).sum() / max((ours | truth).sum(), 1)
        assert iou > 0.5, (wanted, iou)


def test_enlarged_rig_at_rest_is_the_enlarged_drawing(small):
    _, img, result = small
    doc = result.doc
    rest = Renderer(doc).render({}).astype(np.float64)
    expected = upscale.enlarge(img, result.found["upscaled"]).astype(np.float64)
    assert rest.shape == expected.shape
    # the character (the sample's flat background is not part of the rig)
    body = rest[..., 3] >= 255
    assert body.mean() > 0.2
    err = np.abs(rest[..., :3] - expected[..., :3]).max(axis=2)[body]
    assert float(np.median(err)) <= 2.0 and float(np.mean(err)) < 8.0
    # and it moves: eyes close
    closed = Renderer(doc).render({"ParamEyeLOpen": 0.0, "ParamEyeROpen": 0.0})
    assert np.abs(closed.astype(int) - rest.astype(int)).max() > 60


def test_normal_faces_are_not_enlarged():
    assert upscale.upscale_factor(MIN_FACE_WIDTH, 400, 400) is None
    assert upscale.upscale_factor(200, 2000, 2000) is None


def test_enlarging_keeps_the_canvas_within_its_budget():
    f = upscale.upscale_factor(30, 2000, 2000)
    assert f is not None and (2000 * f) ** 2 <= upscale.MAX_UPSCALED_PIXELS + 1 and 30 * f >= MIN_FACE_WIDTH
    # a sprite so large that enlarging it past the budget would not reach 48 px: refused later
    assert upscale.upscale_factor(20, 3900, 3900) is None


def test_enlarge_keeps_colour_at_transparent_edges():
    img = np.zeros((20, 20, 4), np.uint8)
    img[5:15, 5:15] = (200, 40, 40, 255)
    big = upscale.enlarge(img, 3.0)
    edge = (big[..., 3] > 20) & (big[..., 3] < 235)
    assert edge.any()
    # no dark fringe: colour at the soft edge stays the square's red
    assert big[edge][:, 0].min() >= 150 and big[edge][:, 1].max() <= 90


def test_a_face_too_small_for_anything_is_still_a_clear_error():
    img = cv2.resize(make_sample(BIG).image, (40, 40), interpolation=cv2.INTER_AREA)
    with pytest.raises(ImageToRigError):
        run_pipeline(img)
