# SPDX-License-Identifier: GPL-3.0-or-later
"""Stage 6: the rig.  Layers -> meshes, deformers, parameters and keyforms.

Everything that can be a table is one: which tag goes under which deformer,
how dense each part's mesh is, the parameter list (Cubism standard ids and
ranges), the depth of each warp for the head turn, and the keyform recipes
(which generator moves which part).  The generators below only turn the
geometry measured from the layers' alpha into offsets.

Deformer tree (rotations become one Blender bone chain, warps lattices)::

    root (rotation) > body (rotation) > neck (rotation) > head (rotation)
    body > body_warp                    neck, topwear and other body layers
    head > face_warp                    face, ears, eyes, brows, nose, mouth
    head > hair_back_warp, hair_front_warp

All magnitudes are proportional to the measured face size, and every form at
a parameter's default node is zero, so defaults give exactly the rest pose.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .document import (Canvas, Keyform, Layer, Mesh, Parameter, RigDocument,
                       RotationDeformer, WarpDeformer)
from .evaluate import warp_points
from .meshing import mesh_layer

Box = Tuple[float, float, float, float]  # x0, y0, x1, y1 canvas px


class RiggingError(ValueError):
    """The layers cannot be rigged (for example: none of them has any pixel)."""


# --------------------------------------------------------------------------- tables
# Mesh vertex targets at mesh_density 1.0, per tag (role "interior" via key "mouth-interior").
MESH_VERTICES: Dict[str, int] = {
    "back hair": 360, "front hair": 360, "headwear": 260, "face": 300, "neck": 120,
    "topwear": 360, "neckwear": 160, "bottomwear": 260, "handwear": 160, "legwear": 260,
    "footwear": 160, "tail": 220, "wings": 260, "objects": 200,
    "eyewhite": 110, "irides": 110, "eyelash": 120, "eyebrow": 70, "ears": 80,
    "earwear": 60, "eyewear": 120, "nose": 30, "mouth": 90, "mouth-interior": 90,
}
DEFAULT_MESH_VERTICES = 160

# Which deformer each tag hangs under.
TAG_DEFORMER: Dict[str, str] = {
    "back hair": "hair_back_warp",
    "front hair": "hair_front_warp", "headwear": "hair_front_warp",
    "face": "face_warp", "irides": "face_warp", "eyebrow": "face_warp",
    "eyewhite": "face_warp", "eyelash": "face_warp", "eyewear": "face_warp",
    "ears": "face_warp", "earwear": "face_warp", "nose": "face_warp", "mouth": "face_warp",
    "neck": "body_warp", "neckwear": "body_warp", "topwear": "body_warp",
    "handwear": "body_warp", "bottomwear": "body_warp", "legwear": "body_warp",
    "footwear": "body_warp", "tail": "body_warp", "wings": "body_warp", "objects": "body_warp",
}

# Rotation chain: id, parent, pivot anchor (see Anchors).
ROTATIONS: Tuple[Tuple[str, Optional[str], str], ...] = (
    ("root", None, "root"),
    ("body", "root", "waist"),
    ("neck", "body", "neck_base"),
    ("head", "neck", "chin"),
)

# Warps: id, parent, grid cells (rows, cols), turn model.  Depth is in units of
# the head's depth radius: "face" = an ellipsoid (centre in front), a number =
# a flat layer at that depth (negative = behind the face), "fringe" = in front
# over the forehead, beside the head at the sides.
WARPS: Tuple[Tuple[str, str, int, int, str], ...] = (
    ("body_warp", "body", 4, 4, "body"),
    ("hair_back_warp", "head", 4, 4, "back"),
    ("face_warp", "head", 6, 6, "face"),
    ("hair_front_warp", "head", 5, 5, "fringe"),
)
WARP_MARGIN = 0.15  # of the content size, each side
HAIR_BACK_DEPTH = -0.35
FRINGE_DEPTH_SIDE, FRINGE_DEPTH_FRONT = 0.25, 0.95

# Parameters: id, min, default, max, name, group, the layers they need.
PARAMETERS: Tuple[Tuple[str, float, float, float, str, str, Tuple[str, ...]], ...] = (
    ("ParamAngleX", -30, 0, 30, "Angle X", "Face", ("face", "front-hair", "back-hair")),
    ("ParamAngleY", -30, 0, 30, "Angle Y", "Face", ("face", "front-hair", "back-hair")),
    ("ParamAngleZ", -30, 0, 30, "Angle Z", "Face", ("face",)),
    ("ParamEyeLOpen", 0, 1, 1, "Left Eye Open", "Eyes", ("eyewhite_l", "irides_l", "eyelash_l")),
    ("ParamEyeROpen", 0, 1, 1, "Right Eye Open", "Eyes", ("eyewhite_r", "irides_r", "eyelash_r")),
    ("ParamEyeBallX", -1, 0, 1, "Eyeball X", "Eyes", ("irides_l", "irides_r", "eyewhite_l", "eyewhite_r")),
    ("ParamEyeBallY", -1, 0, 1, "Eyeball Y", "Eyes", ("irides_l", "irides_r", "eyewhite_l", "eyewhite_r")),
    ("ParamMouthOpenY", 0, 0, 1, "Mouth Open", "Mouth", ("mouth", "mouth-interior")),
    ("ParamMouthForm", -1, 0, 1, "Mouth Form", "Mouth", ("mouth",)),
    ("ParamBodyAngleX", -10, 0, 10, "Body Angle X", "Body", ("topwear", "neck")),
    ("ParamBodyAngleZ", -10, 0, 10, "Body Angle Z", "Body", ("topwear", "neck")),
    ("ParamBreath", 0, 0, 1, "Breath", "Body", ("topwear", "neck")),
)

# Keyform recipe magnitudes (fractions of the measured part or face size).
HEAD_YAW_DEG_AT_30 = 18.0  # ParamAngleX = 30 turns the head model by this much
HEAD_PITCH_DEG_AT_30 = 12.0
HEAD_ROLL_PER_UNIT = 0.5  # head bone degrees per ParamAngleZ unit
# Cubism's standard list: ParamAngleZ / ParamBodyAngleZ "+" tilts towards the
# screen's right, i.e. clockwise on screen; our angles are counter-clockwise.
ROLL_SIGN = -1.0
FACE_RADIUS = 1.15  # ellipsoid half-axes = this x half the face box
FACE_DEPTH = 0.9  # depth radius / horizontal radius
BODY_YAW_DEG_AT_10 = 8.0
BODY_DEPTH = 0.8
BODY_ROLL_PER_UNIT = 0.5  # body lean degrees (at the top) per ParamBodyAngleZ unit
BREATH_LIFT = 0.03  # of the face height
LID_LINE = 0.72  # closed lid line between the eyewhite's top (0) and bottom (1) edges
# The eyewhite and iris collapse a little above the lid line, under the lash
# that lands there: after the face warp a collapsed mesh keeps hairline slivers.
TUCK_UNDER_LASH = 0.08  # of the eye height
BROW_BLINK_DROP = 0.12  # of the eye height
GAZE_X, GAZE_Y = 0.24, 0.18  # iris travel, fractions of the eyewhite width/height
MOUTH_FORM_CURVE = 0.16  # corner lift, fraction of the mouth width
MOUTH_OPEN_NO_INTERIOR = 0.35  # drop of the mouth centre without an interior layer

# Blink recipe: part tag -> how it moves when the eye closes.
BLINK_RECIPE: Dict[str, str] = {
    "eyewhite": "collapse_to_lid", "irides": "collapse_to_lid",
    "eyelash": "upper_lash_to_lid", "eyebrow": "brow_follow",
}


# --------------------------------------------------------------------------- geometry
@dataclass
class Profile:
    """Top and bottom alpha edge of a layer per canvas column."""

    xs: np.ndarray
    top: np.ndarray
    bottom: np.ndarray

    def top_at(self, x):
        return np.interp(x, self.xs, self.top)

    def bottom_at(self, x):
        return np.interp(x, self.xs, self.bottom)


def alpha_box(layer: Layer) -> Optional[Box]:
    mask = layer.image[..., 3] > 0
    if not mask.any():
        return None
    ys = np.nonzero(mask.any(axis=1))[0]
    xs = np.nonzero(mask.any(axis=0))[0]
    return (layer.x + float(xs[0]), layer.y + float(ys[0]),
            layer.x + float(xs[-1] + 1), layer.y + float(ys[-1] + 1))


def column_profile(layer: Layer) -> Profile:
    mask = layer.image[..., 3] >= 128
    if not mask.any():
        mask = layer.image[..., 3] > 0
    cols = np.nonzero(mask.any(axis=0))[0]
    sub = mask[:, cols]
    h = mask.shape[0]
    top = np.argmax(sub, axis=0).astype(np.float64)
    bottom = (h - np.argmax(sub[::-1], axis=0)).astype(np.float64)
    return Profile(layer.x + cols + 0.5, layer.y + top, layer.y + bottom)


def union_box(boxes: Sequence[Optional[Box]]) -> Optional[Box]:
    boxes = [b for b in boxes if b is not None]
    if not boxes:
        return None
    b = np.array(boxes)
    return (b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max())


def grow_box(box: Box, fraction: float, minimum: float = 4.0) -> Box:
    x0, y0, x1, y1 = box
    mx = max((x1 - x0) * fraction, minimum)
    my = max((y1 - y0) * fraction, minimum)
    return (x0 - mx, y0 - my, x1 + mx, y1 + my)


@dataclass
class Anchors:
    """Measured geometry the recipes work from (canvas px)."""

    face: Box  # face box (or a head box estimate)
    root: Tuple[float, float]
    waist: Tuple[float, float]
    neck_base: Tuple[float, float]
    chin: Tuple[float, float]

    @property
    def face_centre(self) -> Tuple[float, float]:
        return ((self.face[0] + self.face[2]) / 2, (self.face[1] + self.face[3]) / 2)

    @property
    def face_size(self) -> Tuple[float, float]:
        return (self.face[2] - self.face[0], self.face[3] - self.face[1])


HEAD_TAGS = {t for t, d in TAG_DEFORMER.items() if d in ("face_warp", "hair_front_warp",
                                                         "hair_back_warp")}


def measure_anchors(canvas: Canvas, layers: Dict[str, Layer], boxes: Dict[str, Box]) -> Anchors:
    """Face box, chin, neck base, waist and root from the layers' alpha, with
    fallbacks (features, hair, content box) when parts are missing."""
    all_box = union_box(list(boxes.values())) or (0, 0, canvas.width, canvas.height)
    face = boxes.get("face")
    if face is None:
        feature = union_box([boxes[i] for i, l in layers.items()
                             if i in boxes and l.tag in HEAD_TAGS and "hair" not in l.tag])
        if feature is not None:
            face = grow_box(feature, 0.25)
        else:
            hair = union_box([boxes[i] for i, l in layers.items() if i in boxes and "hair" in l.tag])
            if hair is not None:  # the face sits inside the hair's box
                w, h = hair[2] - hair[0], hair[3] - hair[1]
                face = (hair[0] + 0.2 * w, hair[1] + 0.2 * h, hair[2] - 0.2 * w, hair[3] - 0.2 * h)
            else:
                w, h = all_box[2] - all_box[0], all_box[3] - all_box[1]
                face = (all_box[0] + 0.3 * w, all_box[1] + 0.1 * h,
                        all_box[0] + 0.7 * w, all_box[1] + 0.1 * h + 0.5 * w)
    cx = (face[0] + face[2]) / 2
    if "face" in layers and "face" in boxes:
        prof = column_profile(layers["face"])
        chin = (cx, float(prof.bottom_at(cx)))
    else:
        chin = (cx, face[3])
    fh = face[3] - face[1]
    if "neck" in boxes and "topwear" in boxes:
        # Where the neck's sides meet the shoulders.
        nb = boxes["neck"]
        inset = 0.1 * (nb[2] - nb[0])
        shoulders = column_profile(layers["topwear"]).top_at(np.array([nb[0] + inset, nb[2] - inset]))
        neck_base = ((nb[0] + nb[2]) / 2, float(np.clip(shoulders.mean(), nb[1], nb[3])))
    elif "neck" in boxes:
        nb = boxes["neck"]
        neck_base = ((nb[0] + nb[2]) / 2, nb[3] - 0.1 * (nb[3] - nb[1]))
    elif "topwear" in boxes:
        neck_base = (cx, boxes["topwear"][1])
    else:
        neck_base = (cx, chin[1] + 0.25 * fh)
    neck_base = (neck_base[0], max(neck_base[1], chin[1] + 1.0))
    if "topwear" in boxes:
        tb = boxes["topwear"]
        waist = ((tb[0] + tb[2]) / 2, max(tb[3], neck_base[1] + 1.0))
    else:
        waist = (neck_base[0], max(all_box[3], neck_base[1] + 0.5 * fh))
    root = ((all_box[0] + all_box[2]) / 2, max(all_box[3], waist[1]))
    return Anchors(face=face, root=root, waist=waist, neck_base=neck_base, chin=chin)


# --------------------------------------------------------------------------- context
@dataclass
class RigContext:
    canvas: Canvas
    layers: Dict[str, Layer]
    boxes: Dict[str, Box]
    anchors: Anchors
    meshes: Dict[str, Mesh] = field(default_factory=dict)
    deformers: Dict[str, object] = field(default_factory=dict)
    warp_content: Dict[str, Box] = field(default_factory=dict)  # bbox of each warp's meshes
    mouth_restore: Optional[np.ndarray] = None  # offsets that reopen the collapsed interior

    def mesh(self, layer_id: str) -> Optional[Mesh]:
        return self.meshes.get(layer_id)

    def profile(self, layer_id: str) -> Optional[Profile]:
        layer = self.layers.get(layer_id)
        if layer is None or layer_id not in self.boxes:
            return None
        return column_profile(layer)


DEFORMER_IDS = {r[0] for r in ROTATIONS} | {w[0] for w in WARPS}


def mesh_id(layer_id: str) -> str:
    """A layer's mesh id: the layer id, or "<id>-mesh" where a deformer has that id."""
    return layer_id + "-mesh" if layer_id in DEFORMER_IDS else layer_id


def mesh_target(layer: Layer, density: float) -> int:
    key = "mouth-interior" if layer.tag == "mouth" and layer.role == "interior" else layer.tag
    return max(8, int(round(MESH_VERTICES.get(key, DEFAULT_MESH_VERTICES) * density)))


# --------------------------------------------------------------------------- turn models
def turn_offsets(points: np.ndarray, centre: Tuple[float, float], radii: Tuple[float, float, float],
                 depth_model: str, yaw_deg: float, pitch_deg: float) -> np.ndarray:
    """Offsets of points on a surface turned by yaw (about the vertical axis,
    positive = towards image +x) and pitch (positive = up), orthographic view."""
    rx, ry, rz = radii
    x = points[:, 0] - centre[0]
    y = points[:, 1] - centre[1]
    nx, ny = x / rx, y / ry
    if depth_model == "face":
        z = rz * np.sqrt(np.clip(1.0 - nx ** 2 - ny ** 2, 0.0, None))
    elif depth_model == "body":
        z = rz * np.sqrt(np.clip(1.0 - nx ** 2, 0.0, None))
    elif depth_model == "fringe":
        # In front over the forehead; on the silhouette (depth ~0) at the
        # crown, so looking down does not lift the crown off the back hair.
        upper = np.minimum(ny, 0.0)
        z = rz * np.maximum(FRINGE_DEPTH_SIDE,
                            FRINGE_DEPTH_FRONT * np.sqrt(np.clip(1.0 - nx ** 2 - upper ** 2, 0.0, None)))
        z *= np.clip(1.0 - (upper / 1.35) ** 4, 0.0, 1.0)
    elif depth_model == "back":
        upper = np.minimum(ny, 0.0)
        z = rz * HAIR_BACK_DEPTH * np.clip(1.0 - upper ** 2, 0.0, 1.0)
    else:
        raise ValueError(f"unknown depth model {depth_model!r}")
    a, b = math.radians(yaw_deg), math.radians(pitch_deg)
    x1 = x * math.cos(a) + z * math.sin(a)
    z1 = -x * math.sin(a) + z * math.cos(a)
    y1 = y * math.cos(b) - z1 * math.sin(b)
    return np.stack([x1 - x, y1 - y], axis=1)


# --------------------------------------------------------------------------- generators
def gen_head_turn(ctx: RigContext) -> List[Keyform]:
    """ParamAngleX/Y: every head warp on a 3x3 grid over both angles."""
    keys = [-30.0, 0.0, 30.0]
    cx, cy = ctx.anchors.face_centre
    fw, fh = ctx.anchors.face_size
    rx, ry = FACE_RADIUS * fw / 2, FACE_RADIUS * fh / 2
    out = []
    for wid, _, _, _, model in WARPS:
        warp = ctx.deformers.get(wid)
        if warp is None or model == "body":
            continue
        pts = warp.rest_points()
        forms = []
        for ax in keys:
            for ay in keys:
                forms.append(turn_offsets(pts, (cx, cy), (rx, ry, FACE_DEPTH * rx), model,
                                          ax / 30.0 * HEAD_YAW_DEG_AT_30,
                                          ay / 30.0 * HEAD_PITCH_DEG_AT_30))
        out.append(Keyform(wid, ["ParamAngleX", "ParamAngleY"], [keys, keys],
                           np.array(forms), owner="head_turn"))
    return out


def gen_head_tilt(ctx: RigContext) -> List[Keyform]:
    """ParamAngleZ: the head bone rolls about the chin."""
    a = 30.0 * HEAD_ROLL_PER_UNIT * ROLL_SIGN
    forms = np.array([[-a, 0, 0], [0, 0, 0], [a, 0, 0]], np.float64)
    return [Keyform("head", ["ParamAngleZ"], [[-30.0, 0.0, 30.0]], forms, owner="head_tilt")]


def _collapse_to_lid(verts: np.ndarray, lid_at) -> np.ndarray:
    off = np.zeros_like(verts)
    off[:, 1] = lid_at(verts[:, 0]) - verts[:, 1]
    return off


def gen_blink(ctx: RigContext) -> List[Keyform]:
    """ParamEyeL/ROpen: eyewhite and iris squash onto the lower lid line, the
    upper lash comes down onto it, the brow follows a little."""
    out = []
    for side in ("l", "r"):
        param = f"ParamEye{side.upper()}Open"
        white = ctx.profile(f"eyewhite_{side}")
        if white is None:
            continue
        eye_h = float(np.median(white.bottom - white.top))

        # A smooth (quadratic) lid line: collapsing onto a kinked line would
        # leave slivers of eyewhite with area.
        height = white.bottom - white.top
        body = height >= 0.3 * height.max()
        lid_samples = white.top + LID_LINE * height
        deg = 2 if body.sum() >= 3 else 0
        lid_poly = np.polyfit(white.xs[body], lid_samples[body], deg)

        def lid_at(x, c=lid_poly):
            return np.polyval(c, x)

        def mid_at(x, w=white):
            return 0.5 * (w.top_at(x) + w.bottom_at(x))

        for tag, recipe in BLINK_RECIPE.items():
            mesh = ctx.mesh(f"{tag}_{side}")
            if mesh is None:
                continue
            v = mesh.vertices
            if recipe == "collapse_to_lid":
                closed = _collapse_to_lid(v, lambda x: lid_at(x) - TUCK_UNDER_LASH * eye_h)
            elif recipe == "upper_lash_to_lid":
                # Vertices above the eye's middle travel down as far as the
                # eyewhite's top edge does; the lower lash stays.
                weight = np.clip((mid_at(v[:, 0]) - v[:, 1]) / (0.2 * eye_h) + 0.5, 0.0, 1.0)
                closed = np.zeros_like(v)
                closed[:, 1] = weight * (lid_at(v[:, 0]) - white.top_at(v[:, 0]))
            elif recipe == "brow_follow":
                closed = np.zeros_like(v)
                closed[:, 1] = BROW_BLINK_DROP * eye_h
            else:
                raise ValueError(f"unknown blink recipe {recipe!r}")
            forms = np.stack([closed, np.zeros_like(v)])
            out.append(Keyform(mesh.id, [param], [[0.0, 1.0]], forms, owner="blink"))
    return out


def gen_gaze(ctx: RigContext) -> List[Keyform]:
    """ParamEyeBallX/Y: the irises slide inside the eyewhite (which clips them)."""
    out = []
    keys = [-1.0, 0.0, 1.0]
    for side in ("l", "r"):
        mesh = ctx.mesh(f"irides_{side}")
        box = ctx.boxes.get(f"eyewhite_{side}") or ctx.boxes.get(f"irides_{side}")
        if mesh is None or box is None:
            continue
        dx = GAZE_X * (box[2] - box[0])
        dy = GAZE_Y * (box[3] - box[1])
        forms = []
        for bx in keys:
            for by in keys:
                off = np.zeros_like(mesh.vertices)
                off[:, 0] = bx * dx
                off[:, 1] = -by * dy  # +Y looks up
                forms.append(off)
        out.append(Keyform(mesh.id, ["ParamEyeBallX", "ParamEyeBallY"], [keys, keys],
                           np.array(forms), owner="gaze"))
    return out


def _mouth_ids(ctx: RigContext) -> Tuple[Optional[str], Optional[str]]:
    line = interior = None
    for lid, layer in ctx.layers.items():
        if layer.tag == "mouth" and lid in ctx.meshes:
            if layer.role == "interior":
                interior = interior or lid
            elif layer.role == "":
                line = line or lid
    return line, interior


def collapse_mouth_interior(ctx: RigContext) -> Optional[np.ndarray]:
    """Squash the interior mesh onto the mouth line (its rest pose); returns
    the offsets that restore the open shape, or None without an interior."""
    line_id, interior_id = _mouth_ids(ctx)
    if interior_id is None:
        return None
    mesh = ctx.meshes[interior_id]
    open_verts = mesh.vertices.copy()
    if line_id is not None:
        prof = ctx.profile(line_id)
        line_y = 0.5 * (prof.top_at(open_verts[:, 0]) + prof.bottom_at(open_verts[:, 0]))
    else:
        line_y = np.full(len(open_verts), float(open_verts[:, 1].min()))
    mesh.vertices = open_verts.copy()
    mesh.vertices[:, 1] = line_y
    return open_verts - mesh.vertices


def gen_mouth(ctx: RigContext) -> List[Keyform]:
    """ParamMouthOpenY: the interior opens from the mouth line and the line
    drops onto the interior's lower edge.  ParamMouthForm: corners up/down."""
    out = []
    line_id, interior_id = _mouth_ids(ctx)
    restore = ctx.mouth_restore
    line_prof = ctx.profile(line_id) if line_id else None
    if interior_id is not None and restore is not None:
        mesh = ctx.meshes[interior_id]
        out.append(Keyform(mesh.id, ["ParamMouthOpenY"], [[0.0, 1.0]],
                           np.stack([np.zeros_like(restore), restore]), owner="mouth"))
    if line_id is not None:
        mesh = ctx.meshes[line_id]
        v = mesh.vertices
        box = ctx.boxes[line_id]
        mcx, half_w = (box[0] + box[2]) / 2, max((box[2] - box[0]) / 2, 1.0)
        drop = np.zeros(len(v))
        if interior_id is not None:
            inner = column_profile(ctx.layers[interior_id])
            below = np.interp(v[:, 0], inner.xs, inner.bottom, left=np.nan, right=np.nan)
            drop = np.nan_to_num(below - line_prof.bottom_at(v[:, 0]), nan=0.0)
            drop = np.clip(drop, 0.0, None)
        else:
            u = np.clip((v[:, 0] - mcx) / half_w, -1, 1)
            drop = MOUTH_OPEN_NO_INTERIOR * half_w * (1 - u ** 2)
        opened = np.zeros_like(v)
        opened[:, 1] = drop
        out.append(Keyform(mesh.id, ["ParamMouthOpenY"], [[0.0, 1.0]],
                           np.stack([np.zeros_like(v), opened]), owner="mouth"))
        for mid in (line_id, interior_id):
            if mid is None:
                continue
            m = ctx.meshes[mid]
            u = np.clip((m.vertices[:, 0] - mcx) / half_w, -1.2, 1.2)
            curve = np.zeros_like(m.vertices)
            curve[:, 1] = -MOUTH_FORM_CURVE * 2 * half_w * u ** 2  # smile: corners up
            out.append(Keyform(m.id, ["ParamMouthForm"], [[-1.0, 0.0, 1.0]],
                               np.stack([-curve, np.zeros_like(curve), curve]), owner="mouth"))
    return out


def _warp_point_offset(warp: WarpDeformer, offsets: np.ndarray, point) -> np.ndarray:
    """Where the warp moves one point (used to make bones follow a warp)."""
    p = np.array([point], np.float64)
    return warp_points(warp.rest_points(), offsets, warp, p)[0] - p[0]


def gen_body(ctx: RigContext) -> List[Keyform]:
    """ParamBodyAngleX: the body warp turns like a cylinder (more at the top),
    the neck bone follows the neck base.  ParamBodyAngleZ: the body bends.
    ParamBreath: shoulders and chest rise, the head rides along."""
    out = []
    warp = ctx.deformers.get("body_warp")
    if warp is None:
        return out
    content = ctx.warp_content.get("body_warp") or warp.rect
    cx = (content[0] + content[2]) / 2
    rx = 0.55 * (content[2] - content[0])
    top, bottom = content[1], content[3]
    pts = warp.rest_points()
    height_weight = np.clip(1.0 - 0.7 * (pts[:, 1] - top) / max(bottom - top, 1.0), 0.3, 1.0)
    turn = []
    for value in (-10.0, 0.0, 10.0):
        off = turn_offsets(pts, (cx, 0.0), (rx, 1.0, BODY_DEPTH * rx), "body",
                           value / 10.0 * BODY_YAW_DEG_AT_10, 0.0)
        turn.append(off * height_weight[:, None])
    turn = np.array(turn)
    out.append(Keyform("body_warp", ["ParamBodyAngleX"], [[-10.0, 0.0, 10.0]], turn,
                       owner="body_turn"))
    neck = np.array([np.r_[0.0, _warp_point_offset(warp, t, ctx.anchors.neck_base)] for t in turn])
    out.append(Keyform("neck", ["ParamBodyAngleX"], [[-10.0, 0.0, 10.0]], neck, owner="body_turn"))

    # Lean (BodyAngleZ): the warp bends about the waist, fully at the top and
    # not at all at the bottom edge (often the image border); the head leans along.
    waist = np.array(ctx.anchors.waist)
    bend_weight = np.clip((bottom - pts[:, 1]) / max(bottom - top, 1.0), 0.0, 1.0)
    lean, neck_lean = [], []
    for value in (-10.0, 0.0, 10.0):
        angle = math.radians(value * BODY_ROLL_PER_UNIT * ROLL_SIGN) * bend_weight
        r = pts - waist
        c, s = np.cos(angle), np.sin(angle)
        rotated = np.stack([c * r[:, 0] + s * r[:, 1], -s * r[:, 0] + c * r[:, 1]], axis=1)
        lean.append(rotated - r)
        neck_w = float(np.clip((bottom - ctx.anchors.neck_base[1]) / max(bottom - top, 1.0), 0, 1))
        shift = _warp_point_offset(warp, lean[-1], ctx.anchors.neck_base)
        neck_lean.append([value * BODY_ROLL_PER_UNIT * ROLL_SIGN * neck_w, shift[0], shift[1]])
    out.append(Keyform("body_warp", ["ParamBodyAngleZ"], [[-10.0, 0.0, 10.0]], np.array(lean),
                       owner="body_turn"))
    out.append(Keyform("neck", ["ParamBodyAngleZ"], [[-10.0, 0.0, 10.0]], np.array(neck_lean),
                       owner="body_turn"))

    lift = BREATH_LIFT * ctx.anchors.face_size[1]
    breath = np.zeros_like(pts)
    breath[:, 1] = -lift * np.clip(1.0 - (pts[:, 1] - top) / max(bottom - top, 1.0), 0.0, 1.0)
    out.append(Keyform("body_warp", ["ParamBreath"], [[0.0, 1.0]],
                       np.stack([np.zeros_like(pts), breath]), owner="breath"))
    neck_lift = _warp_point_offset(warp, breath, ctx.anchors.neck_base)
    out.append(Keyform("neck", ["ParamBreath"], [[0.0, 1.0]],
                       np.array([[0.0, 0.0, 0.0], [0.0, neck_lift[0], neck_lift[1]]]), owner="breath"))
    return out


# Keyform generators in the order they run; each owns its keyforms.
KEYFORM_GENERATORS: Tuple[Tuple[str, Callable[[RigContext], List[Keyform]]], ...] = (
    ("head_turn", gen_head_turn),
    ("head_tilt", gen_head_tilt),
    ("blink", gen_blink),
    ("gaze", gen_gaze),
    ("mouth", gen_mouth),
    ("body", gen_body),
)


# --------------------------------------------------------------------------- build
def build_rig(canvas: Canvas, layers: Sequence[Layer], mesh_density: float = 1.0) -> RigDocument:
    """Mesh every layer and build deformers, parameters and keyforms from the tables.

    `layers` are back to front; empty layers get no mesh.  Mesh ids are the
    layer ids ("neck-mesh" where a deformer already has the id).  The
    "mouth-interior" mesh rests collapsed onto the mouth line (uvs unchanged);
    ParamMouthOpenY = 1 restores its drawn, open shape.  Parameters whose parts
    are missing are kept with a lower confidence (and fewer or no keyforms).
    """
    if mesh_density <= 0:
        raise RiggingError(f"mesh density must be positive, got {mesh_density}")
    layer_map: Dict[str, Layer] = {}
    for layer in layers:
        if layer.id in layer_map:
            raise RiggingError(f"two layers share the id {layer.id!r}; layer ids must be unique")
        layer_map[layer.id] = layer
    boxes = {l.id: b for l in layers if (b := alpha_box(l)) is not None}
    if not boxes:
        raise RiggingError("every layer is empty: there is nothing to rig")
    anchors = measure_anchors(canvas, layer_map, boxes)
    ctx = RigContext(canvas, layer_map, boxes, anchors)

    # Meshes, in layer order (back to front).
    for layer in layers:
        if layer.id not in boxes:
            continue
        verts, tris, uvs = mesh_layer(layer, mesh_target(layer, mesh_density))
        ctx.meshes[layer.id] = Mesh(id=mesh_id(layer.id), layer=layer.id, vertices=verts,
                                    triangles=tris, uvs=uvs,
                                    deformer=TAG_DEFORMER.get(layer.tag, "body_warp"))
    ctx.mouth_restore = collapse_mouth_interior(ctx)

    # Deformers: the rotation chain always; warps where they have content.
    anchor_points = {"root": anchors.root, "waist": anchors.waist,
                     "neck_base": anchors.neck_base, "chin": anchors.chin}
    deformers: List[object] = [RotationDeformer(rid, tuple(map(float, anchor_points[a])), parent)
                               for rid, parent, a in ROTATIONS]
    warp_content: Dict[str, Box] = {}
    for wid, parent, rows, cols, _ in WARPS:
        members = [m for m in ctx.meshes.values() if m.deformer == wid]
        if not members:
            continue
        content = union_box([boxes[m.layer] for m in members])
        warp_content[wid] = content
        if wid == "face_warp":  # the face turn model extends past the face box
            content = union_box([content, grow_box(anchors.face, (FACE_RADIUS - 1) / 2)])
        deformers.append(WarpDeformer(wid, tuple(float(v) for v in grow_box(content, WARP_MARGIN)),
                                      rows, cols, parent))
    ctx.warp_content = warp_content
    ctx.deformers = {d.id: d for d in deformers}

    # Parameters with confidence = share of the parts they need that exist.
    parameters = []
    for pid, lo, default, hi, name, group, needs in PARAMETERS:
        have = sum(1 for n in needs if n in ctx.meshes)
        parameters.append(Parameter(pid, float(lo), float(default), float(hi), name=name,
                                    group=group, confidence=round(have / len(needs), 3)))

    keyforms: List[Keyform] = []
    for _, generator in KEYFORM_GENERATORS:
        keyforms.extend(generator(ctx))

    meshes = list(ctx.meshes.values())
    doc = RigDocument(canvas=canvas, layers=list(layers), meshes=meshes, deformers=deformers,
                      parameters=parameters, keyforms=keyforms,
                      draw_order=[m.id for m in meshes])
    doc.info["rig"] = {
        "anchors": {k: [round(float(c), 2) for c in v] for k, v in anchor_points.items()},
        "face_box": [round(float(c), 2) for c in anchors.face],
        "vertices": int(sum(len(m.vertices) for m in meshes)),
        "triangles": int(sum(len(m.triangles) for m in meshes)),
        "missing": sorted({n for row in PARAMETERS for n in row[6] if n not in ctx.meshes}),
    }
    return doc
