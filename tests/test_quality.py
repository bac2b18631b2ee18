# SPDX-License-Identifier: GPL-3.0-or-later
"""Layers a rigger would accept: clean skin under features, clean eyewhite under
the iris, no iris pixels in the lashes, plausible hidden hair; robustness of the
stages on awkward input; the quality bench's scoring."""

import importlib.util
import os

import cv2
import numpy as np
import pytest

from image_to_rig.core.stages import complete, decompose, foreground, landmarks
from image_to_rig.core.model.document import Canvas
from image_to_rig.devkit.sample import PALETTE, make_sample

SIZE = 512


def _full(layer, canvas):
    return layer.full_canvas(canvas).astype(np.int32)


def _truth_mask(sample, ids, alpha=False):
    out = np.zeros((sample.canvas.height, sample.canvas.width), bool)
    for lid in ids:
        l = sample.layer(lid)
        h, w = l.image.shape[:2]
        m = l.image[..., 3] > 0 if alpha else l.visible_mask
        out[l.y : l.y + h, l.x : l.x + w] |= m
    return out


def _stages(img, use_animeface=False):
    mask = foreground.extract_foreground(img)
    lm = landmarks.detect_landmarks(img, mask, use_animeface=use_animeface)
    layers = decompose.decompose(img, mask, lm)
    return lm, layers, complete.complete_layers(layers, Canvas(img.shape[1], img.shape[0]), lm)


@pytest.fixture(scope="module")
def done():
    s = make_sample(SIZE)
    lm, layers, out = _stages(s.image)
    return s, layers, {l.id: l for l in out}


def test_face_under_the_eyes_is_clean_skin(done):
    """(a) no eye-outline ring in the face when the eyes close."""
    s, _, by = done
    face = _full(by["face"], s.canvas)
    eyes = _truth_mask(
        s,
        [
            "eyewhite_l",
            "irides_l",
            "eyelash_l",
            "eyewhite_r",
            "irides_r",
            "eyelash_r",
            "eyebrow_l",
            "eyebrow_r",
        ],
    )
    around = cv2.dilate(eyes.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    px = face[around]
    assert (px[:, 3] == 255).all()
    lum = px[:, :3] @ np.array([0.299, 0.587, 0.114])
    shadow_lum = np.dot(PALETTE["skin_shadow"], [0.299, 0.587, 0.114])
    assert (lum < shadow_lum - 25).sum() == 0, np.sort(lum)[:10]  # no line-dark pixel left


def test_eyewhite_under_the_iris_is_white(done):
    """(b) no pale-blue iris ghost in the eyewhite: under and around the iris it
    matches the true eyewhite (white with the lid's shadow)."""
    s, _, by = done
    for side in ("l", "r"):
        white = _full(by[f"eyewhite_{side}"], s.canvas)
        truth = _full(s.layer(f"eyewhite_{side}"), s.canvas)
        iris = _truth_mask(s, [f"irides_{side}"])
        ring = cv2.dilate(iris.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        sel = ring & (white[..., 3] == 255) & (truth[..., 3] == 255)
        assert sel.sum() > 50
        err = np.abs(white[sel][:, :3] - truth[sel][:, :3]).max(axis=1)
        assert err.mean() <= 10 and np.percentile(err, 90) <= 25, (side, err.mean(), np.percentile(err, 90))


def test_eyelash_holds_no_iris_colour(done):
    """(c) the lash that stays under a closed eye has no blue iris outline."""
    s, _, by = done
    for side in ("l", "r"):
        lash = by[f"eyelash_{side}"].image
        solid = lash[..., 3] >= 128
        rgb = lash[solid][:, :3].astype(np.int32)
        bluish = rgb[:, 2] > rgb[:, 0] + 25
        assert bluish.mean() < 0.02, (side, bluish.sum())


def test_hidden_back_hair_is_hair_coloured_and_stays_behind_the_head(done):
    """(d) no grey or dark slabs behind the head and the neck."""
    s, _, by = done
    back = by["back-hair"]
    full = _full(back, s.canvas)
    vis = np.zeros(full.shape[:2], bool)
    h, w = back.visible_mask.shape
    vis[back.y : back.y + h, back.x : back.x + w] = back.visible_mask
    painted = (full[..., 3] > 0) & ~vis
    rgb = full[painted][:, :3]
    tones = np.array([PALETTE[k] for k in ("hair_back", "hair_shadow", "hair", "hair_line")])
    dist = np.abs(rgb[:, None] - tones[None]).max(axis=2).min(axis=1)
    assert (dist <= 30).mean() >= 0.95
    # under the neck, below the chin, nothing was invented
    chin_y = s.landmarks.chin[1]
    neck_col = full[int(chin_y + 0.08 * SIZE) :, int(0.5 * SIZE)]
    assert (neck_col[:, 3] == 0).all()


def test_rims_moved_into_features_keep_the_image(done):
    s, layers, by = done
    from image_to_rig.devkit.sample import composite_layers

    order = [l.id for l in layers]
    img, _ = composite_layers([by[i] for i in order], s.canvas, s.background)
    fg = foreground.extract_foreground(s.image)
    diff = np.abs(img.astype(int) - s.image.astype(int)).max(axis=2)
    assert diff[fg].max() <= 2
    # some eyelash pixels are now semi-transparent rim (they were face pixels)
    lash = by["eyelash_l"].image[..., 3]
    assert ((lash > 0) & (lash < 255)).sum() > 10


# --------------------------------------------------------------------------- robustness
def test_tiny_image_is_a_clear_error():
    img = cv2.resize(make_sample(512).image, (64, 64), interpolation=cv2.INTER_AREA)
    with pytest.raises(ValueError, match="px wide"):
        _stages(img)


def test_greyscale_is_a_clear_error():
    img = make_sample(256).image.copy()
    grey = cv2.cvtColor(img[..., :3], cv2.COLOR_RGB2GRAY)
    img[..., :3] = grey[..., None]
    with pytest.raises(landmarks.LandmarkError, match="greyscale"):
        _stages(img)


@pytest.mark.parametrize("crop", ["left", "top"])
def test_character_touching_the_border(crop):
    img = make_sample(512).image
    img = np.ascontiguousarray(img[:, 150:] if crop == "left" else img[100:, :])
    _, layers, out = _stages(img)
    ids = {l.id for l in out}
    assert {"face", "eyewhite_l", "eyewhite_r", "irides_l", "irides_r", "mouth"} <= ids


def test_soft_transparent_edges_stay_soft():
    s = make_sample(384, transparent=True)
    img = s.image.copy()
    a = img[..., 3].astype(np.float32)
    img[..., 3] = cv2.GaussianBlur(a, (0, 0), 2.0).astype(np.uint8)  # a feathered cut-out
    _, layers, out = _stages(img)
    alpha = np.zeros(img.shape[:2], np.float32)
    for l in layers:
        h, w = l.image.shape[:2]
        alpha[l.y : l.y + h, l.x : l.x + w] = np.maximum(alpha[l.y : l.y + h, l.x : l.x + w], l.image[..., 3])
    soft = (img[..., 3] > 10) & (img[..., 3] < 128)
    assert (alpha[soft] > 0).mean() > 0.9  # the feathered rim is kept, not cut hard


# --------------------------------------------------------------------------- bench scoring
def _bench():
    path = os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench", "bench_quality.py"
    )
    spec = importlib.util.spec_from_file_location("bench_quality", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_score_of_the_truth_is_perfect_and_of_a_swap_is_not():
    bq = _bench()
    from image_to_rig.devkit.synth import make_character

    s = make_character(3, size=384)
    row = bq.score(s.layers, s.layers, s.layers, s.canvas)
    assert all(v == 1.0 for v in row["iou"].values() if v is not None)
    assert row["order_errors"] == 0 and not row["wrong_side"] and not row["lost"]
    import copy

    swapped = copy.deepcopy(list(reversed(s.layers)))
    for l in swapped:
        if l.side:
            l.side = "l" if l.side == "r" else "r"
    row = bq.score(s.layers, swapped, swapped, s.canvas)
    assert row["wrong_side"] and row["order_errors"] > 10


def test_bench_runs_one_character():
    bq = _bench()
    row = bq.run_one(1, 512, use_animeface=False)
    assert "error" not in row
    assert bq.mean_iou(row) > 0.8 and not row["lost"] and not row["wrong_side"]


@pytest.mark.parametrize("seed", [1, 3])  # yellow and dark-brown irises
def test_lash_and_iris_split_on_other_eye_colours(seed):
    from image_to_rig.devkit.synth import make_character

    s = make_character(seed, size=512)
    _, layers, _ = _stages(s.image, use_animeface=True)
    by = {l.id: l for l in layers}
    for side in ("l", "r"):
        truth_iris = _truth_mask(s, [f"irides_{side}"])
        lash = np.zeros_like(truth_iris)
        l = by[f"eyelash_{side}"]
        h, w = l.visible_mask.shape
        lash[l.y : l.y + h, l.x : l.x + w] = l.visible_mask
        iris = np.zeros_like(truth_iris)
        l = by[f"irides_{side}"]
        h, w = l.visible_mask.shape
        iris[l.y : l.y + h, l.x : l.x + w] = l.visible_mask
        assert (lash & truth_iris).sum() <= 0.12 * truth_iris.sum(), side  # little iris left in the lash
        assert (iris & truth_iris).sum() >= 0.75 * truth_iris.sum(), side


def test_hidden_back_hair_edge_behind_the_neck_continues_the_visible_one(done):
    """(e) turning the head uncovers the back hair behind the neck: its bottom edge
    runs on from the visible edge beside the neck as a smooth outlined contour, not
    a block with a staircase edge and no outline."""
    s, _, by = done
    back = by["back-hair"]
    full = _full(back, s.canvas)
    alpha = full[..., 3] > 0
    vis = back.full_mask(s.canvas, visible=True)
    h = SIZE
    neck = _truth_mask(s, ["neck"])
    chin_y = int(s.landmarks.chin[1])
    neck_cols = np.nonzero(neck[chin_y + 2])[0]
    x0, x1 = int(neck_cols.min()), int(neck_cols.max())
    low = np.where(alpha.any(axis=0), h - 1 - np.argmax(alpha[::-1], axis=0), -1)
    vis_low = np.where(vis.any(axis=0), h - 1 - np.argmax(vis[::-1], axis=0), -1)
    # the visible bottom edge of the hair just beside the neck, on both sides
    left = vis_low[x0 - 12 : x0 - 2]
    right = vis_low[x1 + 3 : x1 + 13]
    assert (left > chin_y - 0.1 * h).all() and (right > chin_y - 0.1 * h).all(), (left, right)
    inner = np.arange(x0 + 4, x1 - 3)  # columns behind the neck, all painted in
    assert (low[inner] >= 0).all() and (~vis[low[inner], inner]).all()
    expect = np.interp(inner, [x0 - 7, x1 + 8], [left.mean(), right.mean()])
    assert np.abs(low[inner] - expect).max() <= 0.01 * h, (low[inner], expect)
    assert np.abs(np.diff(low[inner])).max() <= 2  # no staircase
    # and it is outlined in the hair's line colour, like the visible edge
    line = np.array(PALETTE["hair_line"])
    edge_px = full[low[inner] - 1, inner][:, :3]
    assert (np.abs(edge_px - line).max(axis=1) <= 40).mean() >= 0.9, edge_px[:5]


def test_hidden_neck_keeps_its_side_outlines(done):
    """(f) the neck painted in under the chin has the visible neck's side outlines
    running on up (a turning head shows them), and a skin-coloured middle."""
    s, _, by = done
    neck = by["neck"]
    full = _full(neck, s.canvas)
    vis = neck.full_mask(s.canvas, visible=True)
    alpha = full[..., 3] > 0
    top = int(np.nonzero(vis.any(axis=1))[0].min())
    rows = [y for y in range(top - 12, top - 2) if alpha[y].any() and not vis[y].any()]
    assert len(rows) >= 5
    line = np.array(PALETTE["skin_line"])
    skin = np.array([PALETTE["skin"], PALETTE["skin_shadow"]])
    for y in rows:
        xs = np.nonzero(alpha[y])[0]
        x0, x1 = int(xs.min()), int(xs.max())
        for x in (x0 + 1, x1 - 1):  # just inside each side
            assert np.abs(full[y, x, :3] - line).max() <= 40, (y, x, full[y, x, :3])
        mid = full[y, (x0 + x1) // 2, :3]
        assert np.abs(skin - mid).max(axis=1).min() <= 30, (y, mid)


# --------------------------------------------------------------------------- hard faces (built-in finder)
def _eye_boxes_overlap(found, truth):
    return min(found[2], truth[2]) > max(found[0], truth[0]) and min(found[3], truth[3]) > max(
        found[1], truth[1]
    )


def test_small_face_with_glasses_keeps_both_eyes():
    """A 512 px full-body figure with glasses (face ~60 px wide, thin lines, soft
    shading): the frames join both eyes into one blob, the downscaled chin line
    leaves the face joined to the neck, and fringe strands look like eyes.  The
    eyes must still be found where they are, with the brows above them."""
    from image_to_rig.devkit.synth import make_character

    s = make_character(20, size=512)
    assert s.spec.glasses and s.landmarks.face_box[2] - s.landmarks.face_box[0] < 70
    mask = foreground.extract_foreground(s.image)
    lm = landmarks.detect_landmarks(s.image, mask, use_animeface=False)
    for side in ("l", "r"):
        assert _eye_boxes_overlap(lm.eye(side), s.landmarks.eye(side)), (
            side,
            lm.eye(side),
            s.landmarks.eye(side),
        )
    assert abs(lm.chin[1] - s.landmarks.chin[1]) <= 0.1 * (s.landmarks.chin[1] - s.landmarks.eye_l[1])
    row = _bench().run_one(20, 512, use_animeface=False)
    assert not row["lost"] and not row["wrong_side"], row["lost"]
    assert row["iou"]["eyes"] >= 0.45 and row["iou"]["brows"] >= 0.8 and row["iou"]["face"] >= 0.85, row[
        "iou"
    ]


def test_hair_near_the_skin_tone_does_not_hide_the_face():
    """Blonde hair passes for skin, so the largest skin-coloured region high up is
    the hair, not the face: the face is the region that holds a pair of eyes."""
    from image_to_rig.devkit.synth import make_character

    s = make_character(15, size=512)
    mask = foreground.extract_foreground(s.image)
    lm = landmarks.detect_landmarks(s.image, mask, use_animeface=False)
    for side in ("l", "r"):
        assert _eye_boxes_overlap(lm.eye(side), s.landmarks.eye(side)), (
            side,
            lm.eye(side),
            s.landmarks.eye(side),
        )
    row = _bench().run_one(15, 512, use_animeface=False)
    assert not row["lost"] and _bench().mean_iou(row) >= 0.85, (row["lost"], row["iou"])


def test_a_golden_iris_on_warm_skin_stays_the_eyes():
    """Skin in shadow beside an eye is left to the face (features._shaded_skin),
    but a golden iris has the skin's hue too and touches the skin where no lower
    lash is drawn: it lies in the eye's middle, and stays the eye's.  Seed 7
    (golden irises, glasses): eyes IoU 0.788 when written, 0.725 when the shade
    rule took the iris's light half."""
    row = _bench().run_one(7, 1024, use_animeface=False)
    assert row["iou"]["eyes"] >= 0.76, row["iou"]


def test_a_feature_window_squeezed_to_nothing_is_no_crash():
    """Landmarks that put the mouth in a zero-width box (a face finder's guess from
    proportions on a tiny face) must give a layer set without the mouth, not crash
    OpenCV (which dies on an empty image)."""
    from image_to_rig.devkit.synth import make_character

    s = make_character(20, size=640)
    mask = foreground.extract_foreground(s.image)
    lm = landmarks.detect_landmarks(s.image, mask, use_animeface=False)
    nx, ny = lm.mouth[0], lm.mouth[1]
    lm.mouth = (nx, ny, nx, ny + 3)
    lm.nose = (nx, ny)
    layers = decompose.decompose(s.image, mask, lm)
    assert "face" in {l.tag for l in layers}
