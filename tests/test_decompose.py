# SPDX-License-Identifier: GPL-3.0-or-later
"""Foreground, landmarks, decomposition and completion against the sample's ground truth."""

import numpy as np
import pytest

from image_to_rig.core.stages import complete, decompose, foreground, landmarks
from image_to_rig.core.model.document import Canvas, Layer, layer_id
from image_to_rig.devkit.sample import PALETTE, composite_layers, make_sample

SIZE = 512
# groups of tags scored together, and the IoU each must reach
IOU_GROUPS = {
    "face": (("face",), 0.85),
    "hair": (("back hair", "front hair"), 0.85),
    "eye_l": (("eyewhite_l", "irides_l", "eyelash_l"), 0.85),
    "eye_r": (("eyewhite_r", "irides_r", "eyelash_r"), 0.85),
    "brows": (("eyebrow",), 0.85),
    "mouth": (("mouth",), 0.85),
    "body": (("neck", "topwear"), 0.85),
}


def _canvas_mask(layer: Layer, canvas: Canvas) -> np.ndarray:
    out = np.zeros((canvas.height, canvas.width), bool)
    h, w = layer.visible_mask.shape
    out[layer.y : layer.y + h, layer.x : layer.x + w] = layer.visible_mask
    return out


def _group_mask(layers, names, canvas) -> np.ndarray:
    out = np.zeros((canvas.height, canvas.width), bool)
    for layer in layers:
        if layer.tag in names or layer.id in names:
            out |= _canvas_mask(layer, canvas)
    return out


def iou_table(truth, found, canvas):
    rows = {}
    for group, (names, _) in IOU_GROUPS.items():
        a, b = _group_mask(truth, names, canvas), _group_mask(found, names, canvas)
        rows[group] = float((a & b).sum() / max((a | b).sum(), 1))
    return rows


@pytest.fixture(scope="module")
def sample():
    return make_sample(SIZE)


RUNS = {  # landmark path, transparent background
    "animeface": ("animeface", False),
    "fallback": ("fallback", False),
    "fallback-transparent": ("fallback", True),
}


@pytest.fixture(scope="module", params=list(RUNS))
def run(request):
    path, transparent = RUNS[request.param]
    if path == "animeface":
        pytest.importorskip("animeface")
    sample = make_sample(SIZE, transparent=transparent)
    mask = foreground.extract_foreground(sample.image)
    lm = landmarks.detect_landmarks(sample.image, mask, use_animeface=path == "animeface")
    layers = decompose.decompose(sample.image, mask, lm)
    done = complete.complete_layers(layers, sample.canvas, lm)
    return path, mask, lm, layers, done, sample


# --------------------------------------------------------------------------- foreground
def _truth_alpha():
    return make_sample(SIZE, transparent=True).image[..., 3] >= 128


def _iou(a, b):
    return (a & b).sum() / max((a | b).sum(), 1)


def test_foreground_on_plain_background(sample):
    assert _iou(foreground.extract_foreground(sample.image), _truth_alpha()) >= 0.97


def test_foreground_on_transparent_background():
    img = make_sample(SIZE, transparent=True).image
    assert _iou(foreground.extract_foreground(img), img[..., 3] >= 128) >= 0.999


def test_foreground_on_gradient_background():
    tr = make_sample(SIZE, transparent=True).image.astype(np.float64) / 255.0
    t = np.linspace(0.0, 1.0, SIZE)[:, None, None]
    bg = np.array([250, 222, 200]) * (1 - t) + np.array([176, 198, 250]) * t
    a = tr[..., 3:4]
    rgb = tr[..., :3] * 255 * a + bg * (1 - a)
    img = np.dstack([np.rint(rgb), np.full((SIZE, SIZE), 255)]).astype(np.uint8)
    assert _iou(foreground.extract_foreground(img), _truth_alpha()) >= 0.97


def _premultiplied(rgba):
    return rgba[..., :3].astype(np.float64) * rgba[..., 3:4] / 255.0


def test_an_opaque_images_rim_is_unblended_from_its_background():
    """The opaque sample's rim mixes the character with the paper; un-blended,
    it matches the transparent sample's own anti-aliased edge (colour and
    alpha), the background is cut out and the inside is left as drawn."""
    opaque = make_sample(SIZE).image
    truth = make_sample(SIZE, transparent=True).image
    mask = foreground.extract_foreground(opaque)
    out = foreground.unblend_edges(opaque, mask)
    edge = mask & (truth[..., 3] > 0) & (truth[..., 3] < 250)
    assert edge.sum() > 500
    before = np.abs(_premultiplied(opaque) - _premultiplied(truth)).max(axis=2)[edge].mean()
    after = np.abs(_premultiplied(out) - _premultiplied(truth)).max(axis=2)[edge].mean()
    assert before > 50 and after < 6, (before, after)
    assert (out[~mask, 3] == 0).all()
    kept = mask & (out[..., 3] == 255)
    assert kept.sum() > 0.95 * mask.sum()
    assert (out[kept] == opaque[kept]).all()
    # over the paper it is still the drawing
    paper = opaque[0, 0, :3].astype(np.float64)
    a = out[..., 3:4] / 255.0
    over = out[..., :3] * a + paper * (1.0 - a)
    assert np.abs(over - opaque[..., :3])[mask].max() <= 20
    assert np.abs(over - opaque[..., :3])[mask].mean() <= 0.5


def test_a_rig_of_an_opaque_image_carries_no_paper_along_its_edges():
    """Rigged from the opaque sample, the character's edge at rest is the
    transparent sample's edge (no paper colour baked into the parts' rims, which
    would show as a light line when a lock moves over the body)."""
    from image_to_rig.core.pipeline import run_pipeline
    from image_to_rig.core.runtime.render import Renderer

    truth = make_sample(384, transparent=True).image
    rest = Renderer(run_pipeline(make_sample(384).image).doc).render({})
    edge = (truth[..., 3] > 0) & (truth[..., 3] < 250)
    err = np.abs(_premultiplied(rest) - _premultiplied(truth)).max(axis=2)[edge]
    assert err.mean() < 8, err.mean()  # 90 with the paper left in the rims


def test_unblending_leaves_cut_outs_and_unmixed_rims_alone():
    transparent = make_sample(256, transparent=True).image
    assert foreground.unblend_edges(transparent, transparent[..., 3] >= 128) is transparent
    # a pale patch on white paper: too close to the paper to tell a share, stays opaque
    img = np.full((64, 64, 4), 255, np.uint8)
    img[16:48, 16:48, :3] = 240
    img[16:48, 15, :3] = 248
    mask = np.zeros((64, 64), bool)
    mask[16:48, 15:48] = True
    out = foreground.unblend_edges(img, mask)
    assert (out[mask, 3] == 255).all() and (out[mask, :3] == img[mask, :3]).all()
    assert (out[~mask, 3] == 0).all()


@pytest.mark.parametrize(
    "image",
    [
        np.full((128, 128, 4), 255, np.uint8),  # blank white
        np.zeros((128, 128, 4), np.uint8),  # fully transparent
    ],
)
def test_blank_image_is_a_clear_error(image):
    with pytest.raises(foreground.ForegroundError, match="no character"):
        foreground.extract_foreground(image)


def test_foreground_error_is_a_value_error():
    assert issubclass(foreground.ForegroundError, ValueError)
    assert issubclass(landmarks.LandmarkError, ValueError)
    assert issubclass(decompose.DecomposeError, ValueError)


# --------------------------------------------------------------------------- landmarks
def _inside(point, box, slack=0):
    return box[0] - slack <= point[0] <= box[2] + slack and box[1] - slack <= point[1] <= box[3] + slack


def _centre(box):
    return (0.5 * (box[0] + box[2]), 0.5 * (box[1] + box[3]))


def test_landmarks_match_ground_truth(run):
    path, _, lm, _, _, sample = run
    gt = sample.landmarks
    assert lm.source == path
    for side in ("l", "r"):
        assert _inside(_centre(gt.eye(side)), lm.eye(side)), side
        assert _inside(_centre(lm.eye(side)), gt.eye(side)), side
    assert _inside(_centre(lm.mouth), gt.mouth, slack=SIZE * 0.02)
    assert abs(lm.chin[1] - gt.chin[1]) < SIZE * 0.03
    assert abs(lm.nose[1] - gt.nose[1]) < SIZE * 0.04
    assert lm.eye_l[0] > SIZE / 2 > lm.eye_r[2]  # the character's left is the image's right
    assert 0.0 <= lm.confidence <= 1.0
    assert np.abs(np.array(lm.skin_rgb) - np.array(gt.skin_rgb)).max() <= 20


def _shrunk(box, factor):
    cx, cy = _centre(box)
    hw, hh = 0.5 * (box[2] - box[0]) / factor, 0.5 * (box[3] - box[1]) / factor
    return (int(cx - hw), int(cy - hh), int(np.ceil(cx + hw)), int(np.ceil(cy + hh)))


@pytest.mark.parametrize("factor,takes_ours", [(1.2, True), (4.0, False)])
def test_our_eye_blobs_refine_animefaces_eyes_only_when_about_their_size(sample, factor, takes_ours):
    """animeface's eye boxes are replaced by our own blobs' tighter boxes, but
    not by blobs several times larger (a sketch's line art joined up from brow
    to chin, Pepper's face); the skin and hair colours are ours either way."""
    mask = foreground.extract_foreground(sample.image)
    own = landmarks.detect_fallback(sample.image, mask)
    theirs = landmarks.FaceLandmarks(
        face_box=own.face_box,
        eye_l=_shrunk(own.eye_l, factor),
        eye_r=_shrunk(own.eye_r, factor),
        nose=own.nose,
        mouth=own.mouth,
        chin=own.chin,
        skin_rgb=(1, 2, 3),
        hair_rgb=(4, 5, 6),
        source="animeface",
    )
    given = (theirs.eye_l, theirs.eye_r)
    assert landmarks.refine_with_colours(theirs, sample.image, mask)
    assert (theirs.eye_l, theirs.eye_r) == ((own.eye_l, own.eye_r) if takes_ours else given)
    assert (theirs.brow_l is not None) == takes_ours
    assert (theirs.skin_rgb, theirs.hair_rgb) == (own.skin_rgb, own.hair_rgb)


def test_no_face_is_a_clear_error():
    img = np.full((256, 256, 4), 255, np.uint8)
    img[60:200, 60:200, :3] = (40, 60, 200)  # a blue square: no skin, no eyes
    mask = foreground.extract_foreground(img)
    with pytest.raises(landmarks.LandmarkError, match="no face"):
        landmarks.detect_landmarks(img, mask, use_animeface=False)


# --------------------------------------------------------------------------- decompose
def test_decomposition_matches_ground_truth(run):
    path, _, _, layers, _, sample = run
    table = iou_table(sample.layers, layers, sample.canvas)
    print(
        f"\nIoU of visible masks ({path} landmarks, {SIZE}px, "
        f"{'transparent' if sample.background is None else 'plain'} background):"
    )
    for group, value in table.items():
        print(f"  {group:8s} {value:.3f}  (need {IOU_GROUPS[group][1]:.2f})")
    for group, value in table.items():
        assert value >= IOU_GROUPS[group][1], (group, value)


def test_no_part_lost_and_sides_right(run):
    _, _, _, layers, _, _ = run
    ids = [l.id for l in layers]
    for lid in (
        "face",
        "back-hair",
        "front-hair",
        "neck",
        "topwear",
        "mouth",
        "nose",
        "eyewhite_l",
        "eyewhite_r",
        "irides_l",
        "irides_r",
        "eyelash_l",
        "eyelash_r",
        "eyebrow_l",
        "eyebrow_r",
    ):
        assert lid in ids, lid
    by_id = {l.id: l for l in layers}
    for tag in ("eyewhite", "irides", "eyelash", "eyebrow"):
        left, right = by_id[tag + "_l"], by_id[tag + "_r"]
        assert left.side == "l" and right.side == "r"
        assert left.x > SIZE / 2 > right.x + right.image.shape[1]
    assert by_id["irides_l"].clip_to == "eyewhite_l"


def test_layers_are_ordered_crops_of_visible_pixels(run):
    _, mask, _, layers, _, sample = run
    order = [decompose.DEPTH_ORDER.index((l.tag, l.side)) for l in layers]
    assert order == sorted(order)
    union = np.zeros(mask.shape, np.int32)
    for layer in layers:
        assert layer.visible_mask.shape == layer.image.shape[:2]
        assert (layer.image[..., 3][~layer.visible_mask] < 128).all()
        opaque = layer.image[..., 3] > 0
        assert opaque[0].any() and opaque[:, 0].any() and opaque[-1].any() and opaque[:, -1].any()
        union += _canvas_mask(layer, sample.canvas)
    assert union.max() == 1 and np.array_equal(union == 1, mask)


# --------------------------------------------------------------------------- complete
def test_completed_layers_still_compose_the_input(run):
    _, mask, _, _, done, sample = run
    rest = [l for l in done if not l.generated]
    img, _ = composite_layers(rest, sample.canvas, sample.background)
    diff = np.abs(img.astype(np.int32) - sample.image.astype(np.int32)).max(axis=2)
    assert diff[mask].max() <= 2
    if sample.background is None:  # soft edges of a transparent image are kept too
        assert np.abs(img[..., 3].astype(np.int32) - sample.image[..., 3]).max() <= 1


def test_face_has_skin_under_eyes_brows_mouth_and_fringe(run):
    _, _, _, _, done, sample = run
    face = next(l for l in done if l.id == "face")
    face_full = face.full_canvas(sample.canvas).astype(np.int32)
    tones = np.array([PALETTE["skin"], PALETTE["skin_shadow"]], np.int32)
    gt = sample.landmarks
    for names in (
        ("eyewhite_l", "irides_l", "eyelash_l"),
        ("eyewhite_r", "irides_r", "eyelash_r"),
        ("eyebrow_l",),
        ("eyebrow_r",),
        ("mouth",),
        ("nose",),
    ):
        hidden = _group_mask(sample.layers, names, sample.canvas)
        px = face_full[hidden]
        assert (px[:, 3] == 255).all(), names  # no hole when the part moves or closes
        dist = np.abs(px[:, None, :3] - tones[None]).max(axis=2).min(axis=1)
        assert (dist <= 40).mean() >= 0.9, (names, np.median(dist))  # skin, not line colour
    x, y = gt.chin[0], int(gt.eye_l[1] - 0.35 * (gt.chin[1] - gt.eye_l[1]))  # forehead under the fringe
    assert face_full[y, x, 3] == 255


def test_iris_completed_as_a_disc(run):
    _, _, _, layers, done, _ = run
    for side in ("l", "r"):
        before = next(l for l in layers if l.id == layer_id("irides", side))
        after = next(l for l in done if l.id == layer_id("irides", side))
        opaque = after.image[..., 3] > 0
        assert opaque.sum() > 1.1 * before.visible_mask.sum()
        h, w = opaque.shape
        assert 0.95 < opaque.sum() / (np.pi * w * h / 4) < 1.1  # an ellipse filling its box
        assert after.visible_mask.sum() == before.visible_mask.sum()


def test_back_hair_fills_behind_the_head(run):
    _, _, _, _, done, sample = run
    back = next(l for l in done if l.id == "back-hair")
    gt = sample.landmarks
    x, y = int(_centre(gt.eye_l)[0] + _centre(gt.eye_r)[0]) // 2, int(gt.eye_l[1])
    assert back.image[y - back.y, x - back.x, 3] == 255


def test_mouth_interior_is_generated_on_the_mouth_line(run):
    _, _, lm, layers, done, _ = run
    ids = [l.id for l in done]
    interior = done[ids.index("mouth-interior")]
    mouth = next(l for l in layers if l.id == "mouth")
    assert interior.generated and interior.role == "interior" and interior.tag == "mouth"
    assert ids.index("mouth-interior") == ids.index("mouth") - 1  # just behind the mouth line
    assert not interior.visible_mask.any()
    mw = mouth.image.shape[1]
    # a little narrower than the closed line (artists' open mouths are)
    assert abs(interior.image.shape[1] - (0.7 * mw + 4)) <= 3
    mid = mouth.x + mw / 2.0
    assert abs(interior.x + interior.image.shape[1] / 2.0 - mid) <= 2
    assert interior.y <= mouth.y + mouth.image.shape[0] and interior.y + interior.image.shape[0] > mouth.y
    opaque = interior.image[interior.image[..., 3] == 255][:, :3].astype(np.int32)
    teeth = opaque.min(axis=1) > 200  # the upper teeth: near white
    assert 0.05 < teeth.mean() < 0.5
    inside = opaque[~teeth]
    assert (inside[:, 0] > inside[:, 1] + 40).mean() > 0.8  # cavity and tongue lean red on coloured art
