# SPDX-License-Identifier: GPL-3.0-or-later
"""The rig of the sample character: structure, what each parameter moves, idle motion.

Contact sheets of every parameter at its extremes are written to
/tmp/rig/contact_*.png for people to look at.
"""
import math
import os
import time

import cv2
import numpy as np
import pytest

from image_to_rig.core import motions, rigging
from image_to_rig.core.document import (Layer, RotationDeformer, WarpDeformer,
                                        node_weights)
from image_to_rig.core.evaluate import Evaluator
from image_to_rig.core.render import Renderer
from image_to_rig.core.sample import make_sample

STANDARD = {
    "ParamAngleX": (-30, 0, 30), "ParamAngleY": (-30, 0, 30), "ParamAngleZ": (-30, 0, 30),
    "ParamEyeLOpen": (0, 1, 1), "ParamEyeROpen": (0, 1, 1),
    "ParamEyeBallX": (-1, 0, 1), "ParamEyeBallY": (-1, 0, 1),
    "ParamMouthOpenY": (0, 0, 1), "ParamMouthForm": (-1, 0, 1),
    "ParamBodyAngleX": (-10, 0, 10), "ParamBreath": (0, 0, 1),
}
CONTACT_DIR = "/tmp/rig"


def mouth_interior_layer(sample) -> Layer:
    """A stand-in for the generated open-mouth interior (complete.py makes the real one):
    dark inside, a tongue, hanging below the mouth line."""
    mouth = sample.layer("mouth")
    mw, mh = mouth.size
    w, h = int(mw * 0.8), int(mw * 0.75)
    img = np.zeros((h, w, 4), np.uint8)
    cv2.ellipse(img, (w // 2, 0), (w // 2 - 1, h - 2), 0, 0, 180, (110, 30, 40, 255), -1, cv2.LINE_AA)
    cv2.ellipse(img, (w // 2, int(h * 0.7)), (w // 4, h // 6), 0, 0, 360, (220, 110, 120, 255), -1,
                cv2.LINE_AA)
    img[..., 3] = np.where(img[..., 3] > 0, img[..., 3], 0)
    return Layer(id="mouth-interior", tag="mouth", role="interior", generated=True, image=img,
                 x=mouth.x + (mw - w) // 2, y=mouth.y + mh // 2)


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
    return img[box[1]:box[3], box[0]:box[2]]


# --------------------------------------------------------------------------- structure
def test_document_is_valid_and_complete(rig):
    rig.validate()
    ids = {p.id: p for p in rig.parameters}
    for pid, (lo, default, hi) in STANDARD.items():
        p = ids[pid]
        assert (p.min, p.default, p.max) == (lo, default, hi), pid
        assert p.name and p.group and p.confidence == 1.0, pid
    rotations = {d.id: d for d in rig.deformers if isinstance(d, RotationDeformer)}
    assert [rotations[i].parent for i in ("root", "body", "neck", "head")] == [None, "root", "body", "neck"]
    warps = {d.id: d for d in rig.deformers if isinstance(d, WarpDeformer)}
    assert {"face_warp", "hair_front_warp", "hair_back_warp", "body_warp"} <= set(warps)
    assert warps["face_warp"].parent == "head" and warps["body_warp"].parent == "body"
    assert rig.draw_order == [m.id for m in rig.meshes]
    assert [rig.mesh(m).layer for m in rig.draw_order] == [l.id for l in rig.layers]
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


def test_build_is_fast(rig):
    sample, layers = sample_layers(1024)
    t0 = time.perf_counter()
    doc = rigging.build_rig(sample.canvas, layers)
    doc.motions = [motions.make_idle(doc)]
    elapsed = time.perf_counter() - t0
    assert elapsed < 1.5, f"build_rig + make_idle took {elapsed:.2f} s (budget ~0.5 s)"
    vertices = doc.info["rig"]["vertices"]
    assert 1500 < vertices < 5000


def test_defaults_give_the_rest_pose(rig):
    verts = Evaluator(rig).mesh_vertices()
    interior = "mouth-interior"
    for mesh in rig.meshes:
        np.testing.assert_allclose(verts[mesh.id], mesh.vertices, atol=1e-9, err_msg=mesh.id)
        if mesh.id != interior:  # its rest pose is collapsed on purpose
            np.testing.assert_allclose(mesh.vertices - mesh.uvs,
                                       np.tile([[rig.layer(mesh.layer).x, rig.layer(mesh.layer).y]],
                                               (len(mesh.uvs), 1)), atol=1e-9)
    defaults = rig.default_values()
    for kf in rig.keyforms:
        w = node_weights(kf, defaults)
        assert np.isclose(w.max(), 1.0)
        assert np.abs(kf.forms[int(np.argmax(w))]).max() == 0.0, (kf.target, kf.params)


def _deformer_inputs(doc, values):
    """Points each warp receives (its meshes after mesh keyforms), per warp id."""
    from image_to_rig.core.evaluate import keyform_offset, resolve_values
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
def test_angle_z_rotates_the_head_about_the_chin(rig):
    ev = Evaluator(rig)
    rest = ev.mesh_vertices()
    tilted = ev.mesh_vertices({"ParamAngleZ": 30})
    pivot = np.array(rig.deformer("head").pivot)
    angle = math.radians(30 * rigging.HEAD_ROLL_PER_UNIT * rigging.ROLL_SIGN)
    c, s = math.cos(angle), math.sin(angle)
    for mid in ("face", "eyewhite_l", "front-hair", "back-hair"):
        r = rest[mid] - pivot
        expected = pivot + np.stack([c * r[:, 0] + s * r[:, 1], -s * r[:, 0] + c * r[:, 1]], axis=1)
        np.testing.assert_allclose(tilted[mid], expected, atol=1e-6, err_msg=mid)
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
    np.testing.assert_allclose(open_v["mouth-interior"],
                               doc.mesh("mouth-interior").uvs + [interior.x, interior.y], atol=1e-6,
                               err_msg="open = the drawn shape")
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


# --------------------------------------------------------------------------- idle motion
def test_idle_motion_loops_within_ranges(rig):
    motion = motions.make_idle(rig)
    assert motion.id == "Idle" and motion.loop and 6.0 <= motion.duration <= 8.0
    params = {p.id: p for p in rig.parameters}
    animated = {c.param for c in motion.curves}
    assert {"ParamBreath", "ParamEyeLOpen", "ParamEyeROpen", "ParamAngleX", "ParamAngleZ",
            "ParamBodyAngleX"} <= animated
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


# --------------------------------------------------------------------------- look at it
def test_write_contact_sheets(small_rig):
    """Every parameter at its extremes, whole figure and face close-up."""
    doc, renderer = small_rig
    os.makedirs(CONTACT_DIR, exist_ok=True)
    cases = [("rest", {})]
    for p in doc.parameters:
        cases += [(f"{p.id}={v:g}", {p.id: v}) for v in (p.min, p.max) if v != p.default]
    face = rigging.alpha_box(doc.layer("face"))
    fw, fh = face[2] - face[0], face[3] - face[1]
    views = {"figure": (0, 0, doc.canvas.width, doc.canvas.height),
             "face": (int(face[0] - 0.1 * fw), int(face[1] + 0.3 * fh),
                      int(face[2] + 0.1 * fw), int(face[3] + 0.1 * fh))}
    images = [(name, renderer.render(vals, background=(255, 255, 255))) for name, vals in cases]
    for view, box in views.items():
        tiles = []
        for name, img in images:
            tile = np.ascontiguousarray(cv2.resize(crop(img, box)[..., :3], (256, 256 * (box[3] - box[1]) // (box[2] - box[0])),
                                                   interpolation=cv2.INTER_AREA))
            cv2.putText(tile, name, (3, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (200, 0, 0), 1)
            tiles.append(tile)
        while len(tiles) % 6:
            tiles.append(np.full_like(tiles[0], 255))
        sheet = np.vstack([np.hstack(tiles[i:i + 6]) for i in range(0, len(tiles), 6)])
        path = os.path.join(CONTACT_DIR, f"contact_{view}.png")
        cv2.imwrite(path, cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
        assert os.path.getsize(path) > 0
    # No tearing: wherever the rest render is opaque inside the figure's
    # silhouette, small poses stay opaque too (holes would show the background).
    rest_alpha = images[0][1][..., 3]
    inner = cv2.erode((rest_alpha == 255).astype(np.uint8), np.ones((25, 25), np.uint8)) > 0
    for name, img in images[1:]:
        holes = inner & (img[..., 3] < 128)
        assert holes.sum() < 0.002 * inner.sum(), f"{name}: {holes.sum()} torn pixels"
