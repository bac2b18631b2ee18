# SPDX-License-Identifier: GPL-3.0-or-later
"""A shape drawn apart from the character on a transparent background (a prop
floating by the head, an effect line) is part of the drawing: it is kept, and
goes whole into one layer so it cannot come apart when the rig moves."""

import cv2
import numpy as np
import pytest

from image_to_rig.core.model.document import Layer
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


def _ink_layer(rgb) -> Layer:
    img = np.zeros((6, 20, 4), np.uint8)
    img[2:4] = (*rgb, 255)
    return Layer(id="mouth", tag="mouth", image=img, x=0, y=0)


def test_an_open_mouth_on_line_art_is_filled_with_its_ink():
    """Line art on white skin (Chyou's pink ink, Eliana's green): artists fill
    the open mouth with the ink, not with a pale grey."""
    for ink in ((255, 55, 133), (91, 155, 108), (64, 64, 64)):
        cavity = np.array(mouth_palette(_ink_layer(ink), (255, 255, 255))["cavity"])
        assert np.abs(cavity - ink).max() <= 30, (ink, cavity)


def test_an_open_mouth_on_painted_skin_is_a_light_pink_red():
    """Sylvie's skin and purple lip line: her artist's open mouths are a light,
    saturated pink-red (about (238, 145, 156)), not the line's dull purple."""
    cavity = mouth_palette(_ink_layer((128, 81, 113)), (255, 237, 226))["cavity"]
    r, g, b = cavity
    assert r > 215 and r - g > 60 and r - b > 50, cavity
