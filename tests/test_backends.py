# SPDX-License-Identifier: GPL-3.0-or-later
"""AI backends: the protocol, the registry, the classical defaults and the parts
hint; needs no torch (the models themselves: test_models_networks.py)."""

import numpy as np
import pytest

from image_to_rig.core.backends import BackendError, InpaintBackend, backend_names, make_backend
from image_to_rig.core.backends.base import PART_INDEX, Needs
from image_to_rig.core.model.document import Layer


def test_registry_has_a_builtin_default_for_every_stage():
    for stage in ("foreground", "parts", "inpaint"):
        assert backend_names(stage)[0] == "builtin"
        assert make_backend(stage, "builtin").available() == (True, "")
    assert "isnet" in backend_names("foreground")
    assert "face_parts_unet" in backend_names("parts")
    assert {"lama", "sd_inpaint"} <= set(backend_names("inpaint"))
    with pytest.raises(BackendError, match="no inpaint backend called 'dalle'"):
        make_backend("inpaint", "dalle")
    with pytest.raises(BackendError, match="unknown pipeline stage"):
        make_backend("colour", "builtin")


def test_a_backend_without_weights_says_where_it_looked(tmp_path):
    missing = str(tmp_path / "nowhere.ckpt")
    for stage, name, model in (
        ("foreground", "isnet", "isnet_anime"),
        ("parts", "face_parts_unet", "anime_face_parts"),
        ("inpaint", "lama", "big_lama"),
        ("inpaint", "sd_inpaint", "sd_inpaint"),
    ):
        ok, why = make_backend(stage, name, {"model_paths": {model: missing}}).available()
        assert not ok
        assert missing in why or "package" in why


def _checker(h=40, w=50):
    rng = np.random.default_rng(0)
    rgba = np.zeros((h, w, 4), np.uint8)
    rgba[..., :3] = rng.integers(0, 255, (h, w, 3))
    rgba[..., 3] = 255
    rgba[:5, :5, 3] = 0
    hole = np.zeros((h, w), bool)
    hole[10:25, 12:30] = True
    return rgba, hole


def test_builtin_inpainting_paints_only_the_hole():
    rgba = np.zeros((60, 80, 4), np.uint8)
    rgba[..., :3] = (200, 120, 90)
    rgba[..., 3] = 255
    hole = np.zeros((60, 80), bool)
    hole[20:40, 30:50] = True
    rgba[hole] = (0, 0, 0, 0)
    out = make_backend("inpaint", "builtin").inpaint(rgba, hole)
    assert np.array_equal(out[~hole], rgba[~hole])
    assert (out[hole, 3] == 255).all()
    assert np.abs(out[hole, :3].astype(int) - (200, 120, 90)).max() <= 3  # flat colour continues


class _Scribbler(InpaintBackend):
    """A model that paints every pixel it is given."""

    name, label, needs = "scribbler", "Scribbler", Needs()

    def paint(self, rgba, hole, prompt, seed, steps, strength):
        return np.full(rgba.shape[:2] + (3,), 7, np.uint8)


def test_visible_pixels_never_change_whatever_the_model_paints():
    rgba, hole = _checker()
    out = _Scribbler().inpaint(rgba, hole, prompt="x", seed=1, steps=1, strength=1.0)
    assert np.array_equal(out[~hole], rgba[~hole])
    assert (out[hole, :3] == 7).all() and (out[hole, 3] == 255).all()
    with pytest.raises(BackendError, match="differ in size"):
        _Scribbler().inpaint(rgba, hole[:-1])


def test_parts_hint_moves_coarse_pixels_and_keeps_fine_parts():
    from image_to_rig.core.backends.parts_hint import apply_parts_hint

    h, w = 80, 60
    rgba = np.zeros((h, w, 4), np.uint8)
    rgba[..., :3] = 180
    rgba[..., 3] = 255
    mask = np.ones((h, w), bool)

    def layer(tag, box, side=""):
        x0, y0, x1, y1 = box
        img = rgba[y0:y1, x0:x1].copy()
        return Layer(
            tag.replace(" ", "-") + ({"l": "_l", "r": "_r"}[side] if side else ""),
            tag,
            img,
            x=x0,
            y=y0,
            side=side,
            visible_mask=np.ones(img.shape[:2], bool),
        )

    face = layer("face", (0, 0, 60, 50))
    eye = layer("eyewhite", (10, 20, 20, 26), side="l")
    face.image[20:26, 10:20] = 0  # the eye is its own layer
    face.visible_mask[20:26, 10:20] = False
    top = layer("topwear", (0, 50, 60, 80))
    labels = np.full((h, w), PART_INDEX["face"], np.uint8)
    labels[50:, :] = PART_INDEX["clothes"]
    labels[0:12, :] = PART_INDEX["hair"]  # the model sees a fringe over the face
    labels[20:26, 10:20] = PART_INDEX["hair"]  # ... and over the eye: the eye must stay
    out = apply_parts_hint(rgba, mask, [top, face, eye], labels, chin_y=48)
    ids = [l.id for l in out]
    assert ids == ["topwear", "face", "eyewhite_l", "front-hair"]  # depth order kept
    fringe = next(l for l in out if l.id == "front-hair")
    assert (fringe.x, fringe.y, fringe.image.shape[:2]) == (0, 0, (12, 60))
    new_face = next(l for l in out if l.id == "face")
    assert new_face.y == 12 and (new_face.image[..., 3] > 0).sum() == 38 * 60 - 60
    assert next(l for l in out if l.id == "eyewhite_l") is eye
