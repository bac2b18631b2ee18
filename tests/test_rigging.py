# SPDX-License-Identifier: GPL-3.0-or-later
"""The rig of the sample character: structure, what each parameter moves (where
and by about how much), confidence, creator controls, idle motion.

Contact sheets of every parameter at its extremes: `python bench/bench_tearing.py
--contact-sheets docs/images` (see docs/parameters.md).
"""

import math

import cv2
import numpy as np
import pytest

from image_to_rig.core.stages import motions, rig as rigging
from image_to_rig.core.model.document import Layer, RotationDeformer, WarpDeformer, node_weights
from image_to_rig.core.runtime.evaluate import Evaluator
from image_to_rig.core.runtime.render import Renderer
from image_to_rig.devkit.sample import make_sample

STANDARD = {
    "ParamAngleX": (-30, 0, 30),
    "ParamAngleY": (-30, 0, 30),
    "ParamAngleZ": (-30, 0, 30),
    "ParamEyeLOpen": (0, 1, 1),
    "ParamEyeROpen": (0, 1, 1),
    "ParamEyeLSmile": (0, 0, 1),
    "ParamEyeRSmile": (0, 0, 1),
    "ParamEyeBallX": (-1, 0, 1),
    "ParamEyeBallY": (-1, 0, 1),
    "ParamBrowLY": (-1, 0, 1),
    "ParamBrowRY": (-1, 0, 1),
    "ParamBrowLAngle": (-1, 0, 1),
    "ParamBrowRAngle": (-1, 0, 1),
    "ParamMouthOpenY": (0, 0, 1),
    "ParamMouthForm": (-1, 0, 1),
    "ParamCheek": (0, 0, 1),
    "ParamBodyAngleX": (-10, 0, 10),
    "ParamBodyAngleY": (-10, 0, 10),
    "ParamBodyAngleZ": (-10, 0, 10),
    "ParamBreath": (0, 0, 1),
    "ParamHairFront": (-1, 0, 1),
    "ParamHairSide": (-1, 0, 1),
    "ParamHairBack": (-1, 0, 1),
}
# Parameters whose parts the tool makes up (or shapes) itself: below full confidence.
SYNTHESISED = {"ParamEyeLSmile", "ParamEyeRSmile", "ParamMouthOpenY", "ParamCheek"}


def mouth_interior_layer(sample) -> Layer:
    """A stand-in for the generated open-mouth interior (complete.py makes the real one):
    dark inside, a tongue, hanging below the mouth line."""
    mouth = sample.layer("mouth")
    mw, mh = mouth.size
    w, h = int(mw * 0.8), int(mw * 0.75)
    img = np.zeros((h, w, 4), np.uint8)
    cv2.ellipse(img, (w // 2, 0), (w // 2 - 1, h - 2), 0, 0, 180, (110, 30, 40, 255), -1, cv2.LINE_AA)
    cv2.ellipse(
        img, (w // 2, int(h * 0.7)), (w // 4, h // 6), 0, 0, 360, (220, 110, 120, 255), -1, cv2.LINE_AA
    )
    img[..., 3] = np.where(img[..., 3] > 0, img[..., 3], 0)
    return Layer(
        id="mouth-interior",
        tag="mouth",
        role="interior",
        generated=True,
        image=img,
        x=mouth.x + (mw - w) // 2,
        y=mouth.y + mh // 2,
    )


def sample_layers(size):
    sample = make_sample(size)
    layers = list(sample.layers)
    ids = [l.id for l in layers]
    layers.insert(ids.index("mouth"), mouth_interior_layer(sample))
    return sample, layers


@pytest.fixture(scope="module")
def rig():
    sample, layers = sample_layers(1024)
    doc = rigging.build_rig(sample.canvas, layers)
    return doc


@pytest.fixture(scope="module")
def small_rig():
    """A lighter rig for pixel tests (rendering cost grows with the triangle count)."""
    sample, layers = sample_layers(512)
    doc = rigging.build_rig(sample.canvas, layers, mesh_density=0.6)
    return doc, Renderer(doc)


def layer_box(doc, lid, pad=0):
    box = rigging.alpha_box(doc.layer(lid))
    return (int(box[0]) - pad, int(box[1]) - pad, int(box[2]) + pad, int(box[3]) + pad)


def crop(img, box):
    return img[box[1] : box[3], box[0] : box[2]]


# --------------------------------------------------------------------------- structure
def test_document_is_valid_and_complete(rig):
    rig.validate()
    ids = {p.id: p for p in rig.parameters}
    assert set(ids) == set(STANDARD)
    for pid, (lo, default, hi) in STANDARD.items():
        p = ids[pid]
        assert (p.min, p.default, p.max) == (lo, default, hi), pid
        assert p.name and p.group, pid
        reasons = rig.info["rig"]["confidence"][pid]
        if pid in SYNTHESISED:
            assert 0.5 <= p.confidence < 1.0 and reasons, pid
        else:
            assert p.confidence == 1.0 and not reasons, (pid, reasons)
    rotations = {d.id: d for d in rig.deformers if isinstance(d, RotationDeformer)}
    assert [rotations[i].parent for i in ("root", "body", "neck", "head")] == [None, "root", "body", "neck"]
    warps = {d.id: d for d in rig.deformers if isinstance(d, WarpDeformer)}
    assert {"face_warp", "hair_front_warp", "hair_back_warp", "body_warp"} <= set(warps)
    assert warps["face_warp"].parent == "head" and warps["body_warp"].parent == "body"
    assert rig.draw_order == [m.id for m in rig.meshes]
    assert [rig.mesh(m).layer for m in rig.draw_order] == [l.id for l in rig.layers]
    blush = rig.layer("face-blush")
    assert blush.generated and blush.clip_to == "face" and blush.tag == "face"
    assert [l.id for l in rig.layers].index("face-blush") == [l.id for l in rig.layers].index("face") + 1
    assert rig.mesh("face").deformer == "face_warp"
    assert rig.mesh("front-hair").deformer == "hair_front_warp"
    assert rig.mesh("topwear").deformer == "body_warp"
    assert all(k.owner for k in rig.keyforms)


def test_pivots_sit_on_the_body(rig):
    face = rigging.alpha_box(rig.layer("face"))
    neck = rigging.alpha_box(rig.layer("neck"))
    head = rig.deformer("head").pivot
    assert abs(head[0] - (face[0] + face[2]) / 2) < 5 and abs(head[1] - face[3]) < 8, "chin"
    neck_pivot = rig.deformer("neck").pivot
    assert neck[0] < neck_pivot[0] < neck[2] and head[1] < neck_pivot[1] <= neck[3]
    assert rig.deformer("body").pivot[1] >= neck_pivot[1]


def test_a_1024_character_gets_a_moderate_vertex_count(rig):
    """(Its build time is measured by bench/bench_pipeline.py, not here.)"""
    sample, layers = sample_layers(1024)
    doc = rigging.build_rig(sample.canvas, layers)
    doc.motions = motions.make_all_motions(doc)
    vertices = doc.info["rig"]["vertices"]
    assert 1500 < vertices < 5000


def test_defaults_give_the_rest_pose(rig):
    verts = Evaluator(rig).mesh_vertices()
    collapsed = ("mouth-interior", "face-blush")
    for mesh in rig.meshes:
        np.testing.assert_allclose(verts[mesh.id], mesh.vertices, atol=1e-9, err_msg=mesh.id)
        if mesh.id not in collapsed:  # their rest poses are collapsed on purpose
            np.testing.assert_allclose(
                mesh.vertices - mesh.uvs,
                np.tile([[rig.layer(mesh.layer).x, rig.layer(mesh.layer).y]], (len(mesh.uvs), 1)),
                atol=1e-9,
            )
    defaults = rig.default_values()
    for kf in rig.keyforms:
        w = node_weights(kf, defaults)
        assert np.isclose(w.max(), 1.0)
        assert np.abs(kf.forms[int(np.argmax(w))]).max() == 0.0, (kf.target, kf.params)


def _deformer_inputs(doc, values):
    """Points each warp receives (its meshes after mesh keyforms), per warp id."""
    from image_to_rig.core.runtime.evaluate import keyform_offset, resolve_values

    vals = resolve_values(doc, values)
    out = {}
    for mesh in doc.meshes:
        pts = mesh.vertices + (keyform_offset(doc, mesh.id, vals) if doc.keyforms_of(mesh.id) else 0)
        out.setdefault(mesh.deformer, []).append(pts)
    return {k: np.vstack(v) for k, v in out.items()}


def test_warp_rects_have_margin_in_every_extreme(rig):
    extremes = [{}]
    for p in rig.parameters:
        extremes += [{p.id: p.min}, {p.id: p.max}]
    extremes.append({p.id: (p.min if p.default != p.min else p.max) for p in rig.parameters})
    for values in extremes:
        for wid, pts in _deformer_inputs(rig, values).items():
            warp = rig.deformer(wid)
            if not isinstance(warp, WarpDeformer):
                continue
            x0, y0, x1, y1 = warp.rect
            mx, my = 0.09 * (x1 - x0), 0.09 * (y1 - y0)
            assert pts[:, 0].min() >= x0 + mx and pts[:, 0].max() <= x1 - mx, (wid, values)
            assert pts[:, 1].min() >= y0 + my and pts[:, 1].max() <= y1 - my, (wid, values)


# --------------------------------------------------------------------------- effects
def test_angle_z_rotates_the_head_about_the_chin_and_the_hair_hangs(rig):
    ev = Evaluator(rig)
    rest = ev.mesh_vertices()
    tilted = ev.mesh_vertices({"ParamAngleZ": 30})
    pivot = np.array(rig.deformer("head").pivot)
    angle = math.radians(rigging.RigControls().head_roll_deg * rigging.ROLL_SIGN)
    c, s = math.cos(angle), math.sin(angle)

    def rotated(points):
        r = points - pivot
        return pivot + np.stack([c * r[:, 0] + s * r[:, 1], -s * r[:, 0] + c * r[:, 1]], axis=1)

    for mid in ("face", "eyewhite_l", "nose", "mouth"):
        np.testing.assert_allclose(tilted[mid], rotated(rest[mid]), atol=1e-6, err_msg=mid)
    # The crown and the hair beside the cheeks turn with the head (from below
    # the mouth down the hair starts turning back: off the head's rotation by
    # 0.13 and 0.14 of it on average between the face's centre and the chin,
    # 0.31 and 0.28 when it started at the centre); the hair tips hanging below the chin
    # turn back towards hanging, by more than half the roll (the front locks'
    # ends just under the jaw and the back hair's on the shoulders: 0.40 and
    # 0.38 of it left; 0.10 and 0.16 when the turning back began at the centre).
    face_box = rig.info["rig"]["face_box"]
    centre_y = 0.5 * (face_box[1] + face_box[3])
    for mid in ("front-hair", "back-hair"):
        y = rest[mid][:, 1]
        crown = y < np.percentile(y, 10)
        beside = (y > centre_y) & (y < pivot[1])
        tips = y > np.percentile(y, 97)
        np.testing.assert_allclose(tilted[mid][crown], rotated(rest[mid])[crown], atol=2.0, err_msg=mid)
        off = np.linalg.norm(tilted[mid][beside] - rotated(rest[mid])[beside], axis=1)
        turn = np.linalg.norm(rotated(rest[mid])[beside] - rest[mid][beside], axis=1)
        assert beside.sum() > 10 and (off / turn).mean() < 0.2, (mid, (off / turn).mean())
        assert (
            np.abs(tilted[mid][tips] - rest[mid][tips]).max()
            < 0.5 * np.abs(rotated(rest[mid])[tips] - rest[mid][tips]).max()
        ), mid
    # Cubism: + tilts towards the screen's right, so the top of the head goes to image-right.
    assert tilted["front-hair"][:, 0].mean() > rest["front-hair"][:, 0].mean() + 10
    np.testing.assert_array_equal(tilted["topwear"], rest["topwear"])


def test_angle_x_turns_features_more_than_outline_and_back_hair_against(rig):
    ev = Evaluator(rig)
    rest = ev.mesh_vertices()
    fw = rigging.alpha_box(rig.layer("face"))
    face_w = fw[2] - fw[0]
    for sign in (1, -1):
        turned = ev.mesh_vertices({"ParamAngleX": 30 * sign})
        shift = {mid: (turned[mid] - rest[mid])[:, 0].mean() for mid in turned}
        assert sign * shift["nose"] > 0.08 * face_w, "features follow the turn"
        assert sign * shift["nose"] > sign * shift["face"] + 0.03 * face_w, "outline moves less"
        assert sign * shift["back-hair"] < 0, "back hair moves against the face"
        assert sign * shift["front-hair"] > 0
        assert sign * shift["eyewhite_l"] > 0 and sign * shift["eyewhite_r"] > 0
        assert shift["topwear"] == 0
    up = ev.mesh_vertices({"ParamAngleY": 30})
    assert (up["nose"] - rest["nose"])[:, 1].mean() < -0.03 * face_w, "looking up lifts features"


def _blue(img):
    f = img.astype(int)
    return (f[..., 2] > f[..., 0] + 40) & (f[..., 3] > 0)


def test_eye_close_hides_the_iris_and_leaves_the_other_eye(small_rig):
    doc, renderer = small_rig
    rest = renderer.render()
    for side, other in (("l", "r"), ("r", "l")):
        closed = renderer.render({f"ParamEye{side.upper()}Open": 0})
        eye = layer_box(doc, f"eyelash_{side}", pad=4)
        assert _blue(crop(rest, eye)).sum() > 100, "the sample's iris is blue"
        assert _blue(crop(closed, eye)).sum() == 0, f"iris pixels remain in the closed {side} eye"
        dark_rows = np.nonzero((crop(closed, eye)[..., :3].max(axis=2) < 90).any(axis=1))[0]
        white = rigging.alpha_box(doc.layer(f"eyewhite_{side}"))
        assert dark_rows.min() + eye[1] > white[1] + 0.3 * (white[3] - white[1]), "lash came down"
        other_box = layer_box(doc, f"eyelash_{other}", pad=4)
        np.testing.assert_array_equal(crop(closed, other_box), crop(rest, other_box))
    half = renderer.render({"ParamEyeLOpen": 0.5})
    eye = layer_box(doc, "eyelash_l", pad=4)
    assert 0 < _blue(crop(half, eye)).sum() < _blue(crop(rest, eye)).sum()


def test_eyeballs_move_the_irises_inside_the_eyewhite(rig):
    ev = Evaluator(rig)
    rest = ev.mesh_vertices()
    white = rigging.alpha_box(rig.layer("eyewhite_l"))
    ew, eh = white[2] - white[0], white[3] - white[1]
    right = ev.mesh_vertices({"ParamEyeBallX": 1})
    up = ev.mesh_vertices({"ParamEyeBallY": 1})
    for side in ("l", "r"):
        d = (right[f"irides_{side}"] - rest[f"irides_{side}"]).mean(axis=0)
        assert 0.1 * ew < d[0] < 0.4 * ew and abs(d[1]) < 1e-9
        d = (up[f"irides_{side}"] - rest[f"irides_{side}"]).mean(axis=0)
        assert -0.4 * eh < d[1] < -0.05 * eh
        np.testing.assert_array_equal(right[f"eyewhite_{side}"], rest[f"eyewhite_{side}"])
    assert rig.layer("irides_l").clip_to == "eyewhite_l"


def test_mouth_opens_from_a_collapsed_interior(small_rig):
    doc, renderer = small_rig
    ev = renderer.evaluator
    rest_v = ev.mesh_vertices()
    open_v = ev.mesh_vertices({"ParamMouthOpenY": 1})
    size = (doc.canvas.width, doc.canvas.height)
    interior_rest = renderer.render_mesh("mouth-interior", rest_v["mouth-interior"], size)[..., 3]
    interior_open = renderer.render_mesh("mouth-interior", open_v["mouth-interior"], size)[..., 3]
    layer_alpha = doc.layer("mouth-interior").image[..., 3] > 0
    assert (interior_rest > 0.1).sum() <= 0.05 * layer_alpha.sum(), "interior hidden at rest"
    assert (interior_open > 0.1).sum() >= 0.8 * layer_alpha.sum(), "interior shown when open"
    interior = doc.layer("mouth-interior")
    np.testing.assert_allclose(
        open_v["mouth-interior"],
        doc.mesh("mouth-interior").uvs + [interior.x, interior.y],
        atol=1e-6,
        err_msg="open = the drawn shape",
    )
    line_drop = (open_v["mouth"] - rest_v["mouth"])[:, 1]
    assert line_drop.max() > 0.5 * doc.layer("mouth-interior").size[1], "lower lip moves down"
    # And the opening shows in the final image: more dark-red pixels in the mouth box.
    box = layer_box(doc, "mouth-interior", pad=6)
    closed_img, open_img = crop(renderer.render(), box), crop(renderer.render({"ParamMouthOpenY": 1}), box)

    def dark_red(img):
        f = img.astype(int)
        return ((f[..., 0] > f[..., 2] + 30) & (f[..., 0] < 180)).sum()

    assert dark_red(open_img) > dark_red(closed_img) + 20


def test_mouth_form_curves_the_corners(rig):
    ev = Evaluator(rig)
    rest = ev.mesh_vertices()
    box = rigging.alpha_box(rig.layer("mouth"))
    cx = (box[0] + box[2]) / 2
    for value, sign in ((1, -1), (-1, 1)):
        moved = ev.mesh_vertices({"ParamMouthForm": value})["mouth"] - rest["mouth"]
        x = rest["mouth"][:, 0]
        corners = np.abs(x - cx) > 0.4 * (box[2] - box[0])
        centre = np.abs(x - cx) < 0.1 * (box[2] - box[0])
        assert sign * moved[corners, 1].mean() > 2.0, "smile lifts the corners, frown lowers them"
        assert np.abs(moved[centre, 1]).max() < 1.0


def test_an_open_smile_is_a_wide_grin(rig):
    ev = Evaluator(rig)
    opened = ev.mesh_vertices({"ParamMouthOpenY": 1})["mouth-interior"]
    grin = ev.mesh_vertices({"ParamMouthOpenY": 1, "ParamMouthForm": 1})["mouth-interior"]
    span = lambda v: v.max(axis=0) - v.min(axis=0)  # noqa: E731
    assert span(grin)[0] > 1.2 * span(opened)[0], "wider, out to the mouth line's corners"
    # the corrective keyform is zero where either parameter rests; its nodes
    # (open 0, 1) x (form -1, 0, +1): the round mouth at 3, the grin at 5
    both = [k for k in rig.keyforms if k.owner == "mouth" and len(k.params) == 2]
    assert both and all(np.abs(k.forms[[0, 1, 2, 4]]).max() == 0 for k in both)
    assert all(np.abs(k.forms[5]).max() > 1 and np.abs(k.forms[3]).max() > 1 for k in both)
    assert grin[:, 1].max() < opened[:, 1].max() - 0.1 * span(opened)[1], "shallower"


def test_an_open_frown_is_a_round_mouth(rig):
    ev = Evaluator(rig)
    opened = ev.mesh_vertices({"ParamMouthOpenY": 1})["mouth-interior"]
    round_o = ev.mesh_vertices({"ParamMouthOpenY": 1, "ParamMouthForm": -1})["mouth-interior"]
    span = lambda v: v.max(axis=0) - v.min(axis=0)  # noqa: E731
    assert span(round_o)[0] < 0.7 * span(opened)[0], "narrower"
    assert span(round_o)[1] > 0.9 * span(opened)[1], "about as tall"
    # the upper lip arches: the top of the middle is higher than at the corners
    u = (round_o[:, 0] - round_o[:, 0].mean()) / (0.5 * span(round_o)[0])
    top_mid = round_o[np.abs(u) < 0.3, 1].min()
    top_side = round_o[np.abs(u) > 0.7, 1].min()
    assert top_mid < top_side
    # closed, form -1 is still the plain frown (no round mouth without an opening)
    frown = ev.mesh_vertices({"ParamMouthForm": -1})["mouth-interior"]
    rest = ev.mesh_vertices()["mouth-interior"]
    assert np.abs(span(frown)[0] - span(rest)[0]) < 0.2 * span(rest)[0]


def test_body_turn_and_breath_carry_the_head(rig):
    ev = Evaluator(rig)
    rest = ev.mesh_vertices()
    fw = rigging.alpha_box(rig.layer("face"))
    face_h = fw[3] - fw[1]
    turned = ev.mesh_vertices({"ParamBodyAngleX": 10})
    body_shift = (turned["topwear"] - rest["topwear"])[:, 0]
    head_shift = (turned["face"] - rest["face"])[:, 0].mean()
    assert body_shift.max() > 0.03 * face_h and head_shift > 0.03 * face_h
    neck_shift = (turned["neck-mesh"] - rest["neck-mesh"])[:, 0]
    assert abs(neck_shift.mean() - head_shift) < 0.5 * head_shift, "head stays on the neck"
    breath = ev.mesh_vertices({"ParamBreath": 1})
    lift = -(breath["topwear"] - rest["topwear"])[:, 1]
    top = rest["topwear"][:, 1] < np.percentile(rest["topwear"][:, 1], 20)
    assert 0.01 * face_h < lift[top].mean() < 0.06 * face_h, "shoulders rise slightly"
    head_lift = -(breath["face"] - rest["face"])[:, 1].mean()
    assert 0.005 * face_h < head_lift < 0.06 * face_h


# --------------------------------------------------------------------------- missing parts
def test_missing_parts_lower_confidence_and_still_validate():
    sample, layers = sample_layers(512)
    kept = [l for l in layers if not l.id.endswith("_l") and l.tag != "mouth"]
    doc = rigging.build_rig(sample.canvas, kept, mesh_density=0.5)
    doc.motions = [motions.make_idle(doc)]
    doc.validate()
    conf = {p.id: p.confidence for p in doc.parameters}
    assert conf["ParamEyeLOpen"] == 0.0 and conf["ParamEyeROpen"] == 1.0
    assert conf["ParamMouthOpenY"] == 0.0 and 0 < conf["ParamEyeBallX"] < 1
    assert set(STANDARD) <= set(conf)
    assert not [k for k in doc.keyforms if "ParamEyeLOpen" in k.params]
    only_hair = [l for l in layers if "hair" in l.tag]
    doc = rigging.build_rig(sample.canvas, only_hair, mesh_density=0.5)
    doc.validate()
    with pytest.raises(rigging.RiggingError):
        rigging.build_rig(sample.canvas, [])


def test_implausible_or_asymmetric_parts_lower_confidence():
    import copy

    sample, layers = sample_layers(512)
    moved = copy.deepcopy(layers)
    for layer in moved:  # the left eye slides down onto the cheek
        if layer.id.endswith("_l") and layer.tag in ("eyewhite", "irides", "eyelash"):
            layer.y += 90
    doc = rigging.build_rig(sample.canvas, moved, mesh_density=0.4)
    conf = {p.id: p.confidence for p in doc.parameters}
    reasons = doc.info["rig"]["confidence"]
    assert conf["ParamEyeLOpen"] <= 0.6 and any("middle band" in r for r in reasons["ParamEyeLOpen"])
    assert conf["ParamEyeROpen"] < 1.0 and any("different heights" in r for r in reasons["ParamEyeROpen"])
    # a fringe without side locks: ParamHairSide has nothing of its own to sway
    short = copy.deepcopy(layers)
    hair = next(l for l in short if l.id == "front-hair")
    hair.image = hair.image[: int(hair.image.shape[0] * 0.35)].copy()
    doc = rigging.build_rig(sample.canvas, short, mesh_density=0.4)
    conf = {p.id: p.confidence for p in doc.parameters}
    assert conf["ParamHairSide"] <= 0.3 and conf["ParamHairFront"] == 1.0
    doc.validate()


# --------------------------------------------------------------------------- idle motion
def test_idle_motion_loops_within_ranges(rig):
    motion = motions.make_idle(rig)
    assert motion.id == "Idle" and motion.loop and 6.0 <= motion.duration <= 8.0
    params = {p.id: p for p in rig.parameters}
    animated = {c.param for c in motion.curves}
    assert {
        "ParamBreath",
        "ParamEyeLOpen",
        "ParamEyeROpen",
        "ParamAngleX",
        "ParamAngleZ",
        "ParamBodyAngleX",
    } <= animated
    for c in motion.curves:
        p = params[c.param]
        assert np.all(np.diff(c.times) > 0) and c.times[0] == 0 and c.times[-1] == motion.duration
        assert c.values.min() >= p.min and c.values.max() <= p.max, c.param
        assert c.values[0] == c.values[-1] == p.default, c.param
        assert np.ptp(c.values) > 0.02 * (p.max - p.min), f"{c.param} barely moves"
        if c.param not in motions.BLINK_PARAMS:
            assert len(c.times) >= 10 * motion.duration
            # smooth: no jump between keys larger than a fifth of the swing
            assert np.abs(np.diff(c.values)).max() < 0.2 * np.ptp(c.values) + 1e-9
    blink = next(c for c in motion.curves if c.param == "ParamEyeLOpen")
    closed = np.nonzero(blink.values == 0)[0]
    assert len(closed) >= 2 * 2, "at least two blinks"
    starts = motions.blink_times(motion.duration)
    gaps = np.diff(starts)
    assert len(set(np.round(gaps, 2))) > 1, "blinks at irregular intervals"
    length = motions.BLINK_CLOSE_S + motions.BLINK_HOLD_S + motions.BLINK_OPEN_S
    assert 0.15 <= length <= 0.25
    again = motions.make_idle(rig)
    for a, b in zip(motion.curves, again.curves):
        np.testing.assert_array_equal(a.values, b.values)


def test_idle_only_animates_existing_parameters(rig):
    import copy

    doc = copy.copy(rig)
    doc.parameters = [p for p in rig.parameters if p.id not in ("ParamBreath", "ParamEyeROpen")]
    doc.keyforms = [k for k in rig.keyforms if not set(k.params) & {"ParamBreath", "ParamEyeROpen"}]
    motion = motions.make_idle(doc)
    assert {c.param for c in motion.curves} <= {p.id for p in doc.parameters}
    doc.motions = [motion]
    doc.validate()


# --------------------------------------------------------------------------- head turn grid
def test_head_turn_is_a_full_3x3_grid_with_parallax(rig):
    head_warps = [k for k in rig.keyforms if k.owner == "head_turn" and k.target.endswith("_warp")]
    assert {k.target for k in head_warps} == {"face_warp", "hair_front_warp", "hair_back_warp"}
    for k in head_warps:
        assert k.params == ["ParamAngleX", "ParamAngleY"] and k.keys == [[-30, 0, 30]] * 2
        forms = k.forms.reshape(3, 3, -1, 2)
        corner = forms[2, 2]
        assert np.abs(corner).max() > 1.0, k.target
        # a real corner form, not the sum of the two edge forms
        assert np.abs(corner - (forms[2, 1] + forms[1, 2])).max() > 0.05, k.target
    ev = Evaluator(rig)
    rest = ev.mesh_vertices()
    fw = rigging.alpha_box(rig.layer("face"))
    face_w = fw[2] - fw[0]

    def width(v):
        return v[:, 0].max() - v[:, 0].min()

    for ax, far, near in ((30, "l", "r"), (-30, "r", "l")):
        turned = ev.mesh_vertices({"ParamAngleX": ax, "ParamAngleY": 15})
        assert width(turned[f"eyewhite_{far}"]) < 0.9 * width(rest[f"eyewhite_{far}"]), "far eye narrows"
        assert width(turned[f"eyewhite_{near}"]) > 0.97 * width(rest[f"eyewhite_{near}"])
        shift = {m: (turned[m] - rest[m])[:, 0].mean() for m in ("nose", "eyewhite_l", "eyewhite_r", "face")}
        sign = np.sign(ax)
        eyes = 0.5 * (shift["eyewhite_l"] + shift["eyewhite_r"])
        assert sign * shift["nose"] > sign * eyes + 0.02 * face_w, "the nose leads"
        assert sign * eyes > sign * shift["face"], "features move more than the outline"
    corner = ev.mesh_vertices({"ParamAngleX": 30, "ParamAngleY": 30})
    d = (corner["nose"] - rest["nose"]).mean(axis=0)
    assert d[0] > 0.08 * face_w and d[1] < -0.05 * face_w, "corner: right and up"


# --------------------------------------------------------------------------- eyes
def test_eye_smile_closes_onto_an_upward_arc(small_rig):
    doc, renderer = small_rig
    ev = renderer.evaluator
    rest = ev.mesh_vertices()
    happy = ev.mesh_vertices({"ParamEyeLOpen": 0, "ParamEyeLSmile": 1})
    white = rigging.alpha_box(doc.layer("eyewhite_l"))
    cx, w = (white[0] + white[2]) / 2, white[2] - white[0]
    lash = happy["eyelash_l"]
    upper = rest["eyelash_l"][:, 1] < white[1] + 0.2 * (white[3] - white[1])
    middle = upper & (np.abs(rest["eyelash_l"][:, 0] - cx) < 0.15 * w)
    ends = upper & (np.abs(rest["eyelash_l"][:, 0] - cx) > 0.35 * w)
    assert lash[middle, 1].mean() < lash[ends, 1].mean() - 0.1 * (white[3] - white[1]), "arc bows upwards"
    img = renderer.render({"ParamEyeLOpen": 0, "ParamEyeLSmile": 1})
    box = layer_box(doc, "eyelash_l", pad=4)
    assert _blue(crop(img, box)).sum() == 0, "no iris in the closed smiling eye"
    squint = renderer.render({"ParamEyeLSmile": 1})
    assert 0 < _blue(crop(squint, box)).sum() < 0.8 * _blue(crop(renderer.render(), box)).sum()
    np.testing.assert_array_equal(ev.mesh_vertices({"ParamEyeLSmile": 1})["eyelash_r"], rest["eyelash_r"])


def test_brows_move_and_turn(rig):
    ev = Evaluator(rig)
    rest = ev.mesh_vertices()
    eye_h = rigging.alpha_box(rig.layer("eyewhite_l"))
    eye_h = eye_h[3] - eye_h[1]
    up = ev.mesh_vertices({"ParamBrowLY": 1})
    d = (up["eyebrow_l"] - rest["eyebrow_l"]).mean(axis=0)
    assert -0.6 * eye_h < d[1] < -0.15 * eye_h and abs(d[0]) < 1e-9
    np.testing.assert_array_equal(up["eyebrow_r"], rest["eyebrow_r"])
    down = ev.mesh_vertices({"ParamBrowRY": -1})
    assert (down["eyebrow_r"] - rest["eyebrow_r"])[:, 1].mean() > 0.15 * eye_h
    face_cx = rig.deformer("head").pivot[0]
    for side, value in (("l", 1), ("r", 1), ("l", -1)):
        moved = ev.mesh_vertices({f"ParamBrow{side.upper()}Angle": value})[f"eyebrow_{side}"]
        x = rest[f"eyebrow_{side}"][:, 0]
        inner = np.abs(x - face_cx) < np.percentile(np.abs(x - face_cx), 20)
        outer = np.abs(x - face_cx) > np.percentile(np.abs(x - face_cx), 80)
        dy = (moved - rest[f"eyebrow_{side}"])[:, 1]
        # +1: the inner end rises (worried); -1: it drops (angry)
        assert value * (dy[outer].mean() - dy[inner].mean()) > 0.1 * eye_h, (side, value)


# --------------------------------------------------------------------------- mouth, jaw, cheek
def test_the_chin_follows_a_wide_open_mouth(rig):
    ev = Evaluator(rig)
    rest = ev.mesh_vertices()
    opened = ev.mesh_vertices({"ParamMouthOpenY": 1})
    face = rest["face"]
    chin = face[:, 1] > np.percentile(face[:, 1], 97)
    interior_h = rig.layer("mouth-interior").size[1]
    drop = (opened["face"] - face)[chin, 1].mean()
    # a little (artists' open mouths leave the chin almost where it is), not nothing
    assert 0.05 * interior_h < drop < 0.3 * interior_h, drop
    forehead = face[:, 1] < np.percentile(face[:, 1], 50)
    assert np.abs(opened["face"][forehead] - face[forehead]).max() < 1e-6
    for mid in ("eyewhite_l", "nose", "eyebrow_r"):
        np.testing.assert_allclose(opened[mid], rest[mid], atol=1e-6, err_msg=mid)
    # MouthForm also reshapes the interior (the open mouth smiles too)
    smile = ev.mesh_vertices({"ParamMouthOpenY": 1, "ParamMouthForm": 1})
    inner = opened["mouth-interior"]
    x = inner[:, 0]
    corners = np.abs(x - x.mean()) > 0.4 * np.ptp(x)
    assert (smile["mouth-interior"] - inner)[corners, 1].mean() < -1.0


def test_cheek_grows_a_blush_from_nothing(small_rig):
    doc, renderer = small_rig
    ev = renderer.evaluator
    size = (doc.canvas.width, doc.canvas.height)
    rest_alpha = renderer.render_mesh("face-blush", ev.mesh_vertices()["face-blush"], size)[..., 3]
    full_alpha = renderer.render_mesh("face-blush", ev.mesh_vertices({"ParamCheek": 1})["face-blush"], size)[
        ..., 3
    ]
    assert rest_alpha.max() < 0.05
    assert (full_alpha > 0.2).sum() > 0.5 * (doc.layer("face-blush").image[..., 3] > 0.2 * 255).sum()
    box = layer_box(doc, "face-blush", pad=2)

    def redness(img):
        f = crop(img, box).astype(float)
        return (f[..., 0] - f[..., 2]).mean()

    assert redness(renderer.render({"ParamCheek": 1})) > redness(renderer.render()) + 3


# --------------------------------------------------------------------------- hair and body
def test_hair_parameters_sway_their_own_hair(rig):
    ev = Evaluator(rig)
    rest = ev.mesh_vertices()
    face = rigging.alpha_box(rig.layer("face"))
    cx, cy, fw = (face[0] + face[2]) / 2, (face[1] + face[3]) / 2, face[2] - face[0]
    front = rest["front-hair"]
    fringe = (np.abs(front[:, 0] - cx) < 0.3 * fw) & (front[:, 1] > face[1]) & (front[:, 1] < cy)
    locks = (np.abs(front[:, 0] - cx) > 0.5 * fw) & (front[:, 1] > cy + 0.2 * (face[3] - face[1]))
    assert fringe.sum() > 5 and locks.sum() > 5

    def dx(values, mid, sel):
        return (ev.mesh_vertices(values)[mid] - rest[mid])[sel, 0].mean()

    assert dx({"ParamHairFront": 1}, "front-hair", fringe) > 0.03 * fw
    assert dx({"ParamHairFront": -1}, "front-hair", fringe) < -0.03 * fw
    assert abs(dx({"ParamHairFront": 1}, "front-hair", locks)) < 0.3 * dx(
        {"ParamHairFront": 1}, "front-hair", fringe
    )
    assert dx({"ParamHairSide": 1}, "front-hair", locks) > 0.04 * fw
    assert abs(dx({"ParamHairSide": 1}, "front-hair", fringe)) < 0.01 * fw
    back = rest["back-hair"]
    low = back[:, 1] > np.percentile(back[:, 1], 85)
    top = back[:, 1] < np.percentile(back[:, 1], 5)
    assert dx({"ParamHairBack": -1}, "back-hair", low) < -0.05 * fw
    assert abs(dx({"ParamHairBack": -1}, "back-hair", top)) < 0.01 * fw
    np.testing.assert_array_equal(ev.mesh_vertices({"ParamHairBack": 1})["front-hair"], front)


def test_body_pitch_and_lean(rig):
    ev = Evaluator(rig)
    rest = ev.mesh_vertices()
    fh = rigging.alpha_box(rig.layer("face"))
    face_h = fh[3] - fh[1]
    top = rest["topwear"][:, 1] < np.percentile(rest["topwear"][:, 1], 10)
    bottom = rest["topwear"][:, 1] >= np.percentile(rest["topwear"][:, 1], 95)
    for value in (10, -10):
        moved = ev.mesh_vertices({"ParamBodyAngleY": value})
        d = (moved["topwear"] - rest["topwear"])[:, 1]
        assert -np.sign(value) * d[top].mean() > 0.01 * face_h, "+ lifts the chest"
        assert np.abs(d[bottom]).max() < 0.2 * np.abs(d[top]).mean(), "the bottom edge stays"
        head = (moved["face"] - rest["face"])[:, 1].mean()
        assert np.sign(head) == np.sign(d[top].mean()), "the head rides along"
    lean = ev.mesh_vertices({"ParamBodyAngleZ": 10})
    assert (lean["face"] - rest["face"])[:, 0].mean() > 0.02 * face_h, "+ leans to the screen's right"


# --------------------------------------------------------------------------- controls
def test_regenerate_rebuilds_only_one_owner(rig):
    from image_to_rig.core.stages.rig import (
        OWNER_CONTROLS,
        ControlsError,
        RigControls,
        regenerate,
        replace_owner,
    )

    owners = {k.owner for k in rig.keyforms}
    assert owners <= set(OWNER_CONTROLS)
    defaults = RigControls()
    for owner in owners:
        again = regenerate(rig, owner, defaults)
        old = [k for k in rig.keyforms if k.owner == owner]
        assert len(again) == len(old)
        for a, b in zip(again, old):
            assert (a.target, a.params, a.keys) == (b.target, b.params, b.keys)
            np.testing.assert_allclose(a.forms, b.forms, atol=1e-6, err_msg=owner)
    import copy

    doc = copy.deepcopy(rig)
    closed_before = Evaluator(doc).mesh_vertices({"ParamEyeLOpen": 0})["eyelash_l"][:, 1].mean()
    replace_owner(doc, "blink", RigControls(blink_line=0.5))
    doc.validate()
    closed_after = Evaluator(doc).mesh_vertices({"ParamEyeLOpen": 0})["eyelash_l"][:, 1].mean()
    assert closed_after < closed_before - 1.0, "a higher lid line closes the lash higher"
    untouched = [k for k in doc.keyforms if k.owner != "blink"]
    assert all(
        a is b or np.array_equal(a.forms, b.forms)
        for a, b in zip(untouched, [k for k in rig.keyforms if k.owner != "blink"])
    )
    deeper = regenerate(rig, "head_turn", RigControls(turn_depth=1.6))
    base = [k for k in rig.keyforms if k.owner == "head_turn"]
    face_new = next(k for k in deeper if k.target == "face_warp")
    face_old = next(k for k in base if k.target == "face_warp")
    assert np.abs(face_new.forms).max() > np.abs(face_old.forms).max() * 1.1
    built = rigging.build_rig(rig.canvas, rig.layers, controls=RigControls(mouth_open=0.6))
    redo = regenerate(built, "mouth", RigControls(mouth_open=0.6))
    for a, b in zip(redo, [k for k in built.keyforms if k.owner == "mouth"]):
        np.testing.assert_allclose(a.forms, b.forms, atol=1e-6)
    with pytest.raises(ControlsError):
        regenerate(rig, "nonsense", defaults)
    with pytest.raises(ControlsError):
        regenerate(rig, "blink", RigControls(blink_line=3.0))
