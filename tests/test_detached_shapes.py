# SPDX-License-Identifier: GPL-3.0-or-later
"""A shape drawn apart from the character on a transparent background (a prop
floating by the head, an effect line) is part of the drawing: it is kept, and
goes whole into one layer so it cannot come apart when the rig moves."""

import cv2
import numpy as np
import pytest

from image_to_rig.core.pipeline import run_pipeline
from image_to_rig.core.runtime.render import Renderer
from image_to_rig.core.stages.complete.mouth import mouth_palette
from image_to_rig.devkit.sample import make_sample


@pytest.fixture(scope="module")
def with_prop():
    img = make_sample(512, transparent=True).image.copy()
    # a small orb with a thin line beside the head, apart from the character
    cv2.circle(img, (470, 90), 14, (250, 200, 120, 255), -1, cv2.LINE_AA)
    cv2.circle(img, (470, 90), 14, (200, 120, 40, 255), 2, cv2.LINE_AA)
    cv2.line(img, (470, 76), (500, 40), (200, 120, 40, 255), 2, cv2.LINE_AA)
    prop = np.zeros(img.shape[:2], bool)
    prop[30:110, 450:512] = True
    _, labels = cv2.connectedComponents((img[..., 3] > 0).astype(np.uint8), connectivity=8)
    assert labels[90, 470] != labels[256, 256]  # apart from the character
    return img, prop, run_pipeline(img)


def test_a_detached_prop_is_kept(with_prop):
    img, prop, result = with_prop
    rest = Renderer(result.doc).render({})
    drawn = img[..., 3] >= 128
    assert (rest[..., 3][prop & drawn] >= 128).mean() > 0.95


def test_a_detached_prop_lies_in_one_layer(with_prop):
    _, prop, result = with_prop
    doc = result.doc
    holders = [l.id for l in doc.layers if not l.generated and (l.full_mask(doc.canvas) & prop).sum() > 5]
    assert len(holders) == 1, holders


def test_a_mouth_without_a_drawn_line_is_drawn_in_the_skins_own_hue():
    grey = mouth_palette(None, (235, 235, 235))
    for name in ("cavity", "line", "tongue"):
        r, g, b = grey[name]
        assert max(r, g, b) - min(r, g, b) <= 6, (name, grey[name])
