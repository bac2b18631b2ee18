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

All magnitudes are proportional to the measured face size (the ones a creator
tunes live in `RigControls`, core/controls.py), and every form at a
parameter's default node is zero, so defaults give exactly the rest pose.
Every standard parameter is built (docs/parameters.md says what each moves);
`measure_confidence` rates each from the parts found.  The rig adds one
generated layer, the blush ("face-blush"), and rests two meshes collapsed
(mouth interior, blush) that their parameters open.  Hair that rests on the
shoulders (the lower part of both hair warps) follows the body, not the
head, in head tilt and every body parameter, so it never lifts off.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .controls import RigControls
from ...model.document import (Canvas, Keyform, Layer, Mesh, Parameter, RigDocument,
                       RotationDeformer, WarpDeformer, layer_id)
from ...runtime.evaluate import warp_points
from ..meshing import mesh_layer

Box = Tuple[float, float, float, float]  # x0, y0, x1, y1 canvas px


class RiggingError(ValueError):
    """The layers cannot be rigged (for example: none of them has any pixel)."""


# --------------------------------------------------------------------------- tables
# Mesh vertex targets at mesh_density 1.0, per tag (role "interior" via key "mouth-interior").
MESH_VERTICES: Dict[str, int] = {
    "back hair": 360, "front hair": 360, "headwear": 260, "face": 300, "neck": 120,
    "topwear": 360, "neckwear": 160, "bottomwear": 260, "handwear": 160, "legwear": 260,
    "footwear": 160, "tail": 220, "wings": 260, "objects": 200,
    "eyewhite": 110, "irides": 110, "eyelash": 120, "eyebrow": 70, "ears": 80, "blush": 60,
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
    ("ParamEyeLSmile", 0, 0, 1, "Left Eye Smile", "Eyes", ("eyewhite_l", "irides_l", "eyelash_l")),
    ("ParamEyeROpen", 0, 1, 1, "Right Eye Open", "Eyes", ("eyewhite_r", "irides_r", "eyelash_r")),
    ("ParamEyeRSmile", 0, 0, 1, "Right Eye Smile", "Eyes", ("eyewhite_r", "irides_r", "eyelash_r")),
    ("ParamEyeBallX", -1, 0, 1, "Eyeball X", "Eyes", ("irides_l", "irides_r", "eyewhite_l", "eyewhite_r")),
    ("ParamEyeBallY", -1, 0, 1, "Eyeball Y", "Eyes", ("irides_l", "irides_r", "eyewhite_l", "eyewhite_r")),
    ("ParamBrowLY", -1, 0, 1, "Left Brow Y", "Brows", ("eyebrow_l",)),
    ("ParamBrowRY", -1, 0, 1, "Right Brow Y", "Brows", ("eyebrow_r",)),
    ("ParamBrowLAngle", -1, 0, 1, "Left Brow Angle", "Brows", ("eyebrow_l",)),
    ("ParamBrowRAngle", -1, 0, 1, "Right Brow Angle", "Brows", ("eyebrow_r",)),
    ("ParamMouthForm", -1, 0, 1, "Mouth Form", "Mouth", ("mouth",)),
    ("ParamMouthOpenY", 0, 0, 1, "Mouth Open", "Mouth", ("mouth", "mouth-interior")),
    ("ParamCheek", 0, 0, 1, "Cheek", "Face", ("face",)),
    ("ParamBodyAngleX", -10, 0, 10, "Body Angle X", "Body", ("topwear", "neck")),
    ("ParamBodyAngleY", -10, 0, 10, "Body Angle Y", "Body", ("topwear", "neck")),
    ("ParamBodyAngleZ", -10, 0, 10, "Body Angle Z", "Body", ("topwear", "neck")),
    ("ParamBreath", 0, 0, 1, "Breath", "Body", ("topwear", "neck")),
    ("ParamHairFront", -1, 0, 1, "Hair Front", "Hair", ("front-hair",)),
    ("ParamHairSide", -1, 0, 1, "Hair Side", "Hair", ("front-hair",)),
    ("ParamHairBack", -1, 0, 1, "Hair Back", "Hair", ("back-hair",)),
)

# Magnitudes the creator tunes live in RigControls (core/controls.py); these
# are the fixed shape constants of the recipes.
# Cubism's standard list: ParamAngleZ / ParamBodyAngleZ "+" tilts towards the
# screen's right, i.e. clockwise on screen; our angles are counter-clockwise.
ROLL_SIGN = -1.0
FACE_RADIUS = 1.15  # ellipsoid half-axes = this x half the face box
FACE_DEPTH = 0.9  # depth radius / horizontal radius
BODY_DEPTH = 0.8
# The eyewhite and iris collapse a little above the lid line, under the lash
# that lands there: after the face warp a collapsed mesh keeps hairline slivers.
TUCK_UNDER_LASH = 0.1  # of the eye height
BROW_BLINK_DROP = 0.12  # of the eye height
SQUINT_UPPER, SQUINT_LOWER = 0.2, 0.55  # smiling open eye: share of the way to the arc
MOUTH_OPEN_NO_INTERIOR = 0.35  # drop of the mouth centre without an interior layer
HAIR_HANG = 1.0  # share of the head roll the hair tips undo (they hang)
NEAR_EYE_WIDEN = 0.3  # the near eye widens by this share of the far eye's narrowing
HAIR_SWAY = {  # tip travel at +-1, of the face width; lift of the tips, of the travel
    "front": (0.07, 0.2), "side": (0.10, 0.0), "back": (0.12, 0.0)}  # tips on the shoulders slide
BLUSH = {  # the generated blush: colour, layer opacity, size of each cheek (of the eye width)
    "rgb": (255, 128, 140), "alpha": 0.55, "width": 0.8, "height": 0.32,
    "below_eye": 0.55,  # centre below the eye's bottom, of the eye-to-mouth distance
    "outward": 0.12}  # centre shifted away from the nose, of the eye width

# Blink recipe: part tag -> how it moves when the eye closes / smiles.
BLINK_RECIPE: Dict[str, str] = {
    "eyewhite": "collapse_to_lid", "irides": "collapse_to_lid",
    "eyelash": "lashes_to_lid", "eyebrow": "brow_follow",
}
# Parts of an eye that narrow when the head turns away from it.
EYE_PARTS = ("eyewhite", "irides", "eyelash")
# A drawn closed eye (layer role "closed"): opacity offset per ParamEye?Open key;
# the layer rests at opacity 0, shows fully when closed and is gone from 0.25 up.
CLOSED_EYE_KEYS = (0.0, 0.25, 1.0)
CLOSED_EYE_OPACITY = (1.0, 0.0, 0.0)


def closed_eye_layers(layers: Dict[str, Layer], side: str) -> List[str]:
    """Ids of the drawn closed-eye layers of one side (role "closed", eye tags)."""
    return [lid for lid, l in layers.items()
            if l.role == "closed" and l.side == side and l.tag in EYE_PARTS]

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
    controls: RigControls = field(default_factory=RigControls)
    meshes: Dict[str, Mesh] = field(default_factory=dict)  # by layer id
    deformers: Dict[str, object] = field(default_factory=dict)
    warp_content: Dict[str, Box] = field(default_factory=dict)  # bbox of each warp's meshes
    # Offsets that restore the drawn shape of meshes resting collapsed
    # (mouth interior, blush), by layer id.
    restores: Dict[str, np.ndarray] = field(default_factory=dict)

    def mesh(self, layer_id: str) -> Optional[Mesh]:
        return self.meshes.get(layer_id)

    def profile(self, layer_id: str) -> Optional[Profile]:
        layer = self.layers.get(layer_id)
        if layer is None or layer_id not in self.boxes:
            return None
        return column_profile(layer)

    def eye_box(self, side: str) -> Optional[Box]:
        return (self.boxes.get(f"eyewhite_{side}") or self.boxes.get(f"eyelash_{side}")
                or self.boxes.get(f"irides_{side}"))


DEFORMER_IDS = {r[0] for r in ROTATIONS} | {w[0] for w in WARPS}


def mesh_id(layer_id: str) -> str:
    """A layer's mesh id: the layer id, or "<id>-mesh" where a deformer has that id."""
    return layer_id + "-mesh" if layer_id in DEFORMER_IDS else layer_id


def mesh_target(layer: Layer, density: float) -> int:
    key = "mouth-interior" if layer.tag == "mouth" and layer.role == "interior" else layer.tag
    if layer.role == "blush":
        key = "blush"
    return max(8, int(round(MESH_VERTICES.get(key, DEFAULT_MESH_VERTICES) * density)))


def _smoothstep(t):
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


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
ANGLE_KEYS = [-30.0, 0.0, 30.0]


def _angle_grid(make: Callable[[float, float], np.ndarray]) -> np.ndarray:
    """Forms over ParamAngleX (slowest) x ParamAngleY at -30/0/30."""
    return np.array([make(ax, ay) for ax in ANGLE_KEYS for ay in ANGLE_KEYS])


def gen_head_turn(ctx: RigContext) -> List[Keyform]:
    """ParamAngleX/Y on a 3x3 grid (corners included) with parallax: every head
    warp turns with its depth model (the features on the face's front move
    more than its outline, the back hair moves against the face), the nose
    leads the turn and the eye turning away narrows."""
    c = ctx.controls
    cx, cy = ctx.anchors.face_centre
    fw, fh = ctx.anchors.face_size
    rx, ry = FACE_RADIUS * fw / 2, FACE_RADIUS * fh / 2
    rz = FACE_DEPTH * rx * c.turn_depth
    out = []
    for wid, _, _, _, model in WARPS:
        warp = ctx.deformers.get(wid)
        if warp is None or model == "body":
            continue
        pts = warp.rest_points()
        forms = _angle_grid(lambda ax, ay: turn_offsets(
            pts, (cx, cy), (rx, ry, rz), model, ax / 30.0 * c.head_yaw_deg, ay / 30.0 * c.head_pitch_deg))
        out.append(Keyform(wid, ["ParamAngleX", "ParamAngleY"], [ANGLE_KEYS, ANGLE_KEYS],
                           forms, owner="head_turn"))
    nose = ctx.mesh("nose")
    if nose is not None:
        lead_x, lead_y = c.feature_lead * fw * c.turn_depth, 0.6 * c.feature_lead * fh * c.turn_depth

        def nose_form(ax, ay, n=len(nose.vertices)):
            return np.tile([[lead_x * ax / 30.0, -lead_y * ay / 30.0]], (n, 1))
        out.append(Keyform(nose.id, ["ParamAngleX", "ParamAngleY"], [ANGLE_KEYS, ANGLE_KEYS],
                           _angle_grid(nose_form), owner="head_turn"))
    for side in ("l", "r"):
        box = ctx.eye_box(side)
        if box is None:
            continue
        ecx = (box[0] + box[2]) / 2
        toward = 1.0 if ecx > cx else -1.0  # the turn direction that takes this eye away

        for part in [f"{tag}_{side}" for tag in EYE_PARTS] + closed_eye_layers(ctx.layers, side):
            mesh = ctx.mesh(part)
            if mesh is None:
                continue

            def eye_form(ax, ay, v=mesh.vertices, toward=toward, ecx=ecx):
                amount = abs(ax) / 30.0 * c.far_eye_narrow
                scale = 1.0 - amount if ax * toward > 0 else 1.0 + NEAR_EYE_WIDEN * amount
                off = np.zeros_like(v)
                off[:, 0] = (scale - 1.0) * (v[:, 0] - ecx)
                return off
            out.append(Keyform(mesh.id, ["ParamAngleX", "ParamAngleY"], [ANGLE_KEYS, ANGLE_KEYS],
                               _angle_grid(eye_form), owner="head_turn"))
    return out


def gen_head_tilt(ctx: RigContext) -> List[Keyform]:
    """ParamAngleZ: the head bone rolls about the chin; the lower hair (on both
    hair warps) turns back towards hanging straight, fully at its tips."""
    a = ctx.controls.head_roll_deg * ROLL_SIGN
    keys = [-30.0, 0.0, 30.0]
    out = [Keyform("head", ["ParamAngleZ"], [keys],
                   np.array([[-a, 0, 0], [0, 0, 0], [a, 0, 0]], np.float64), owner="head_tilt")]
    pivot = np.array(ctx.anchors.chin)
    cy = ctx.anchors.face_centre[1]
    for wid in ("hair_back_warp", "hair_front_warp"):
        warp = ctx.deformers.get(wid)
        if warp is None:
            continue
        pts = warp.rest_points()
        bottom = ctx.warp_content[wid][3]
        hang = HAIR_HANG * _smoothstep((pts[:, 1] - cy) / max(bottom - cy, 1.0))
        forms = []
        for angle in (-a, 0.0, a):
            # The head rotation R(p) turns the warp's output; R^-1 undoes it.
            r = math.radians(-angle)
            q = pts - pivot
            back = np.stack([math.cos(r) * q[:, 0] + math.sin(r) * q[:, 1],
                             -math.sin(r) * q[:, 0] + math.cos(r) * q[:, 1]], axis=1) + pivot
            forms.append((back - pts) * hang[:, None])
        out.append(Keyform(wid, ["ParamAngleZ"], [keys], np.array(forms), owner="head_tilt"))
    return out


@dataclass
class EyeLines:
    """The closed-lid lines of one eye, measured from its eyewhite."""

    white: Profile
    eye_h: float
    x0: float  # the eye's body (columns at least 30 % of the tallest)
    x1: float
    lid_poly: np.ndarray
    arc_h: float
    lash_xs: Optional[np.ndarray] = None  # lower edge of the upper lash per column
    lash_edge: Optional[np.ndarray] = None

    def clamp(self, x):
        return np.clip(x, self.x0, self.x1)

    def lid(self, x):
        """Straight closed lid: a smooth (quadratic) line near the lower lash."""
        return np.polyval(self.lid_poly, self.clamp(x))

    def arc(self, x):
        """Smiling closed lid: the lid line bowed upwards in the middle."""
        u = (self.clamp(x) - 0.5 * (self.x0 + self.x1)) / max(0.5 * (self.x1 - self.x0), 1.0)
        return self.lid(x) - self.arc_h * (1.0 - u ** 2)

    def top(self, x):
        return self.white.top_at(self.clamp(x))

    def bottom(self, x):
        return self.white.bottom_at(self.clamp(x))

    def upper_edge(self, x):
        """Where the upper lid's lower edge is: the upper lash's lower edge
        (kept between a little above the eyewhite and its middle), else the
        eyewhite's top."""
        top = self.top(x)
        if self.lash_edge is None:
            return top
        edge = np.interp(self.clamp(x), self.lash_xs, self.lash_edge)
        return np.clip(edge, top - 0.5 * self.eye_h, 0.5 * (top + self.bottom(x)))

    def taper(self, x):
        """1 over the eye, fading to 0 a little beyond its corners (lash wings)."""
        span = max(0.25 * (self.x1 - self.x0), 1.0)
        outside = np.maximum(self.x0 - x, 0.0) + np.maximum(x - self.x1, 0.0)
        return np.clip(1.0 - outside / span, 0.0, 1.0)


def eye_lines(ctx: RigContext, side: str) -> Optional[EyeLines]:
    white = ctx.profile(f"eyewhite_{side}")
    if white is None:
        return None
    height = white.bottom - white.top
    eye_h = float(np.median(height))
    body = height >= 0.3 * height.max()
    lid_samples = white.top + ctx.controls.blink_line * height
    deg = 2 if body.sum() >= 3 else 0
    # A smooth lid line: collapsing onto a kinked line would leave slivers.
    lid_poly = np.polyfit(white.xs[body], lid_samples[body], deg)
    lines = EyeLines(white, eye_h, float(white.xs[body].min()), float(white.xs[body].max()),
                     lid_poly, ctx.controls.eye_smile_arc * eye_h)
    lash = ctx.layers.get(f"eyelash_{side}")
    if lash is not None and f"eyelash_{side}" in ctx.boxes:
        opaque = lash.image[..., 3] >= 128
        cols = np.nonzero(opaque.any(axis=0))[0]
        if len(cols) >= 3:
            sub = opaque[:, cols]
            first = np.argmax(sub, axis=0)
            rows = np.arange(sub.shape[0])[:, None]
            after = (rows > first[None, :]) & ~sub
            end = np.where(after.any(axis=0), np.argmax(after, axis=0), sub.shape[0])
            k = max(1, len(cols) // 15)
            edge = np.convolve(np.pad(end.astype(np.float64), k, mode="edge"),
                               np.ones(2 * k + 1) / (2 * k + 1), "valid")
            lines.lash_xs = lash.x + cols + 0.5
            lines.lash_edge = lash.y + edge
    return lines


def gen_blink(ctx: RigContext) -> List[Keyform]:
    """ParamEyeOpen x ParamEyeSmile (2 x 2 grid per part) of each eye.

    Closed (open 0): eyewhite and iris squash onto the lid line near the lower
    lash (tucked under the lash), the upper lash comes down onto it, the brow
    follows a little.  Smiling and closed: the same onto an upward arc, the
    lower lash rises to meet it.  Smiling with the eye open: a squint (the
    lower lid rises most of the way, the upper lid a little; the iris stays
    and the eyewhite clips it).
    """
    out = []
    for side in ("l", "r"):
        lines = eye_lines(ctx, side)
        if lines is None:
            continue
        tuck = TUCK_UNDER_LASH * lines.eye_h
        for tag, recipe in BLINK_RECIPE.items():
            mesh = ctx.mesh(f"{tag}_{side}")
            if mesh is None:
                continue
            v = mesh.vertices
            x, y = v[:, 0], v[:, 1]
            top, bottom = lines.top(x), lines.bottom(x)
            closed, happy, squint = np.zeros_like(v), np.zeros_like(v), np.zeros_like(v)
            if recipe == "collapse_to_lid":
                closed[:, 1] = lines.lid(x) - tuck - y
                happy[:, 1] = lines.arc(x) - tuck - y
                if tag == "eyewhite":  # top and bottom edges move in, linearly in between
                    t = np.clip((y - top) / np.maximum(bottom - top, 1.0), 0.0, 1.0)
                    squint[:, 1] = ((1 - t) * SQUINT_UPPER * (lines.arc(x) - top)
                                    + t * SQUINT_LOWER * (lines.arc(x) - bottom))
            elif recipe == "lashes_to_lid":
                # Squash each column: the upper lash's lower edge (and the
                # lash above it) travels to the lid line, the eyewhite's bottom edge
                # (and the lower lash below it) stays (blink) or rises onto
                # the arc (smile), linearly in between, so a lash that wraps
                # round the corner bends instead of tearing.  Wings past the
                # corners taper.
                edge = lines.upper_edge(x)
                upper = np.clip((bottom - y) / np.maximum(bottom - edge, 1.0), 0.0, 1.0)
                taper = lines.taper(x)
                closed[:, 1] = taper * upper * (lines.lid(x) - edge)
                happy[:, 1] = taper * (upper * (lines.arc(x) - edge)
                                       + (1.0 - upper) * (lines.arc(x) - bottom))
                squint[:, 1] = taper * (upper * SQUINT_UPPER * (lines.arc(x) - edge)
                                        + (1.0 - upper) * SQUINT_LOWER * (lines.arc(x) - bottom))
            elif recipe == "brow_follow":
                closed[:, 1] = BROW_BLINK_DROP * lines.eye_h
                happy[:, 1] = 0.5 * BROW_BLINK_DROP * lines.eye_h
            else:
                raise ValueError(f"unknown blink recipe {recipe!r}")
            # nodes: (open 0, smile 0), (0, 1), (1, 0) = rest, (1, 1)
            forms = np.stack([closed, happy, np.zeros_like(v), squint])
            out.append(Keyform(mesh.id, [f"ParamEye{side.upper()}Open", f"ParamEye{side.upper()}Smile"],
                               [[0.0, 1.0], [0.0, 1.0]], forms, owner="blink"))
    for side in ("l", "r"):
        # A drawn closed eye is not squashed: it fades in as the eye closes.
        for lid in closed_eye_layers(ctx.layers, side):
            mesh = ctx.mesh(lid)
            if mesh is None:
                continue
            out.append(Keyform(mesh.id, [f"ParamEye{side.upper()}Open"], [list(CLOSED_EYE_KEYS)],
                               np.array(CLOSED_EYE_OPACITY, np.float64)[:, None], owner="blink",
                               channel="opacity"))
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
        dx = ctx.controls.gaze_x * (box[2] - box[0])
        dy = ctx.controls.gaze_y * (box[3] - box[1])
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


def gen_brows(ctx: RigContext) -> List[Keyform]:
    """ParamBrowY: the brow moves up (+) or down.  ParamBrowAngle: it turns
    about its middle; + lifts the inner end (worried), - drops it (angry)."""
    out = []
    keys = [-1.0, 0.0, 1.0]
    cx = ctx.anchors.face_centre[0]
    for side in ("l", "r"):
        mesh = ctx.mesh(f"eyebrow_{side}")
        box = ctx.boxes.get(f"eyebrow_{side}")
        if mesh is None or box is None:
            continue
        eye = ctx.eye_box(side)
        eye_h = (eye[3] - eye[1]) if eye is not None else 2.0 * (box[3] - box[1])
        v = mesh.vertices
        travel = ctx.controls.brow_travel * eye_h
        lift = np.zeros_like(v)
        lift[:, 1] = -travel
        out.append(Keyform(mesh.id, [f"ParamBrow{side.upper()}Y"], [keys],
                           np.stack([-lift, np.zeros_like(v), lift]), owner="brows"))
        bcx, bcy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        inward = -1.0 if bcx > cx else 1.0  # image-x direction towards the nose
        # Counter-clockwise on screen lifts the end at +x: lift the inner end.
        a = math.radians(ctx.controls.brow_angle_deg) * inward
        rx, ry = v[:, 0] - bcx, v[:, 1] - bcy
        turned = np.stack([math.cos(a) * rx + math.sin(a) * ry - rx,
                           -math.sin(a) * rx + math.cos(a) * ry - ry], axis=1)
        turned_back = np.stack([math.cos(a) * rx - math.sin(a) * ry - rx,
                                math.sin(a) * rx + math.cos(a) * ry - ry], axis=1)
        out.append(Keyform(mesh.id, [f"ParamBrow{side.upper()}Angle"], [keys],
                           np.stack([turned_back, np.zeros_like(v), turned]), owner="brows"))
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


def _collapse(ctx: RigContext, layer_id: str, target: np.ndarray) -> None:
    """Rest a mesh collapsed at `target` (N, 2); remember the drawn shape."""
    mesh = ctx.meshes[layer_id]
    ctx.restores[layer_id] = mesh.vertices - target
    mesh.vertices = target.astype(np.float64)


def collapse_mouth_interior(ctx: RigContext) -> None:
    """Squash the interior mesh onto the mouth line (its rest pose)."""
    line_id, interior_id = _mouth_ids(ctx)
    if interior_id is None:
        return
    open_verts = ctx.meshes[interior_id].vertices
    target = open_verts.copy()
    if line_id is not None:
        prof = ctx.profile(line_id)
        target[:, 1] = 0.5 * (prof.top_at(open_verts[:, 0]) + prof.bottom_at(open_verts[:, 0]))
    else:
        target[:, 1] = float(open_verts[:, 1].min())
    _collapse(ctx, interior_id, target)


def _jaw_field(ctx: RigContext, points: np.ndarray, drop: float) -> np.ndarray:
    """Offsets of a wide-open jaw: nothing above the mouth line, `drop` at the
    chin and below, fading towards the cheeks."""
    line_id, interior_id = _mouth_ids(ctx)
    box = ctx.boxes.get(line_id or interior_id)
    cx = ctx.anchors.face_centre[0]
    fw = ctx.anchors.face_size[0]
    mouth_y = (box[1] + box[3]) / 2
    chin_y = max(ctx.anchors.chin[1], mouth_y + 1.0)
    t = _smoothstep((points[:, 1] - mouth_y) / (chin_y - mouth_y))
    wx = np.clip(1.0 - ((points[:, 0] - cx) / (0.8 * fw)) ** 2, 0.0, 1.0)
    off = np.zeros_like(points)
    off[:, 1] = drop * t * wx
    return off


def _through_warp(warp: WarpDeformer, offsets: np.ndarray, rest: np.ndarray,
                  wanted: np.ndarray) -> np.ndarray:
    """Mesh offsets that land `rest` points at `rest + wanted` after the warp
    (which moves them too): a few fixed-point steps (the warp is smooth)."""
    grid = warp.rest_points()
    off = wanted.copy()
    for _ in range(8):
        moved = warp_points(grid, offsets, warp, rest + off) - (rest + off)
        off = wanted - moved
    return off


def gen_mouth(ctx: RigContext) -> List[Keyform]:
    """ParamMouthOpenY: the interior opens from the mouth line, the line drops
    onto the interior's lower edge and the chin follows (face-warp keyform);
    the mouth parts land where drawn.  ParamMouthForm: corners up and out
    (smile, +) or down and in (frown, -)."""
    c = ctx.controls
    out = []
    line_id, interior_id = _mouth_ids(ctx)
    restore = ctx.restores.get(interior_id) if interior_id else None
    face_warp = ctx.deformers.get("face_warp")
    jaw = None
    if restore is not None and face_warp is not None:
        drop = c.jaw_drop * c.mouth_open * float(restore[:, 1].max())
        jaw = _jaw_field(ctx, face_warp.rest_points(), drop)
        out.append(Keyform("face_warp", ["ParamMouthOpenY"], [[0.0, 1.0]],
                           np.stack([np.zeros_like(jaw), jaw]), owner="mouth"))

    if jaw is not None:
        # Parts above the mouth line that share the jaw's warp cells (the nose)
        # stay put: mesh keyforms cancel the jaw there.
        mouth_box = ctx.boxes.get(line_id or interior_id)
        mouth_y = (mouth_box[1] + mouth_box[3]) / 2
        grid = face_warp.rest_points()
        for lid, m in ctx.meshes.items():
            if m.deformer != "face_warp" or lid in (line_id, interior_id, "face"):
                continue
            moved = warp_points(grid, jaw, face_warp, m.vertices) - m.vertices
            if np.abs(moved).max() < 0.01:
                continue
            above = (m.vertices[:, 1] < mouth_y)[:, None]
            stay = _through_warp(face_warp, jaw, m.vertices, np.zeros_like(m.vertices)) * above
            out.append(Keyform(m.id, ["ParamMouthOpenY"], [[0.0, 1.0]],
                               np.stack([np.zeros_like(stay), stay]), owner="mouth"))

    def landed(mesh, wanted):
        if jaw is None or mesh.deformer != "face_warp":
            return wanted
        return _through_warp(face_warp, jaw, mesh.vertices, wanted)

    if restore is not None:
        mesh = ctx.meshes[interior_id]
        opened = landed(mesh, restore * c.mouth_open)
        out.append(Keyform(mesh.id, ["ParamMouthOpenY"], [[0.0, 1.0]],
                           np.stack([np.zeros_like(opened), opened]), owner="mouth"))
    if line_id is None:
        return out
    line_prof = ctx.profile(line_id)
    mesh = ctx.meshes[line_id]
    v = mesh.vertices
    box = ctx.boxes[line_id]
    mcx, half_w = (box[0] + box[2]) / 2, max((box[2] - box[0]) / 2, 1.0)
    if restore is not None:
        inner = column_profile(ctx.layers[interior_id])
        below = np.interp(v[:, 0], inner.xs, inner.bottom, left=np.nan, right=np.nan)
        rest_line = 0.5 * (line_prof.top_at(v[:, 0]) + line_prof.bottom_at(v[:, 0]))
        # the interior's bottom at this opening: it hangs from the line
        below = rest_line + (below - rest_line) * c.mouth_open
        drop = np.clip(np.nan_to_num(below - line_prof.bottom_at(v[:, 0]), nan=0.0), 0.0, None)
    else:
        u = np.clip((v[:, 0] - mcx) / half_w, -1, 1)
        drop = MOUTH_OPEN_NO_INTERIOR * c.mouth_open * half_w * (1 - u ** 2)
    wanted = np.zeros_like(v)
    wanted[:, 1] = drop
    opened = landed(mesh, wanted)
    out.append(Keyform(mesh.id, ["ParamMouthOpenY"], [[0.0, 1.0]],
                       np.stack([np.zeros_like(v), opened]), owner="mouth"))
    for mid in (line_id, interior_id):
        if mid is None:
            continue
        m = ctx.meshes[mid]
        u = np.clip((m.vertices[:, 0] - mcx) / half_w, -1.2, 1.2)
        smile = np.zeros_like(m.vertices)
        smile[:, 1] = -c.mouth_form_curve * 2 * half_w * u ** 2  # corners up
        smile[:, 0] = c.mouth_form_width * half_w * u  # and out
        out.append(Keyform(m.id, ["ParamMouthForm"], [[-1.0, 0.0, 1.0]],
                           np.stack([-smile, np.zeros_like(smile), smile]), owner="mouth"))
    return out


def make_blush_layer(layers: Dict[str, Layer], boxes: Dict[str, Box], anchors: Anchors,
                     size: float = 1.0) -> Optional[Layer]:
    """A generated blush (two soft ellipses on the cheeks, clipped to the face),
    placed from the eyes and the mouth; None without a face layer."""
    if "face" not in boxes:
        return None
    fx0, fy0, fx1, fy1 = anchors.face
    fw, fh = fx1 - fx0, fy1 - fy0
    cx = (fx0 + fx1) / 2
    mouth = boxes.get("mouth")
    mouth_y = mouth[1] if mouth is not None else fy0 + 0.8 * fh
    blobs = []
    for side, sign in (("r", -1.0), ("l", 1.0)):
        eye = (boxes.get(f"eyewhite_{side}") or boxes.get(f"eyelash_{side}"))
        if eye is not None:
            ex, eb, ew = (eye[0] + eye[2]) / 2, eye[3], eye[2] - eye[0]
        else:
            ex, eb, ew = cx + sign * 0.22 * fw, fy0 + 0.55 * fh, 0.22 * fw
        by = eb + BLUSH["below_eye"] * max(mouth_y - eb, 0.05 * fh)
        bx = ex + sign * BLUSH["outward"] * ew
        blobs.append((bx, by, 0.5 * BLUSH["width"] * ew * size, 0.5 * BLUSH["height"] * ew * size))
    x0 = int(math.floor(min(b[0] - b[2] for b in blobs))) - 2
    x1 = int(math.ceil(max(b[0] + b[2] for b in blobs))) + 2
    y0 = int(math.floor(min(b[1] - b[3] for b in blobs))) - 2
    y1 = int(math.ceil(max(b[1] + b[3] for b in blobs))) + 2
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float64) + 0.5
    alpha = np.zeros(xs.shape)
    for bx, by, ax, ay in blobs:
        r2 = ((xs - bx) / max(ax, 1.0)) ** 2 + ((ys - by) / max(ay, 1.0)) ** 2
        alpha = np.maximum(alpha, _smoothstep((1.0 - r2) / 0.75))  # soft rim, full middle
    img = np.zeros(xs.shape + (4,), np.uint8)
    img[..., :3] = BLUSH["rgb"]
    img[..., 3] = np.clip(np.rint(alpha * 255), 0, 255).astype(np.uint8)
    img[img[..., 3] == 0] = 0
    return Layer(id=layer_id("face", role="blush"), tag="face", role="blush", image=img, x=x0, y=y0,
                 generated=True, clip_to="face", opacity=BLUSH["alpha"],
                 visible_mask=np.zeros(xs.shape, bool))


def collapse_blush(ctx: RigContext) -> None:
    """Rest the blush collapsed onto the middle of each cheek (invisible)."""
    for lid, layer in ctx.layers.items():
        if layer.role != "blush" or lid not in ctx.meshes:
            continue
        v = ctx.meshes[lid].vertices
        target = np.empty_like(v)
        cx = ctx.anchors.face_centre[0]
        for left in (True, False):
            sel = (v[:, 0] < cx) if left else (v[:, 0] >= cx)
            if sel.any():
                box = (v[sel, 0].min(), v[sel, 1].min(), v[sel, 0].max(), v[sel, 1].max())
                target[sel] = [(box[0] + box[2]) / 2, (box[1] + box[3]) / 2]
        _collapse(ctx, lid, target)


def gen_cheek(ctx: RigContext) -> List[Keyform]:
    """ParamCheek: the generated blush grows from nothing to its drawn size."""
    out = []
    for lid, restore in ctx.restores.items():
        if ctx.layers[lid].role != "blush":
            continue
        mesh = ctx.meshes[lid]
        out.append(Keyform(mesh.id, ["ParamCheek"], [[0.0, 1.0]],
                           np.stack([np.zeros_like(restore), restore * ctx.controls.blush_size]),
                           owner="cheek"))
    return out


def gen_hair(ctx: RigContext) -> List[Keyform]:
    """ParamHairFront / Side / Back (physics outputs): the hair warps swing
    their tips sideways (+ = towards image +x), more the further from the
    roots; front = the fringe over the forehead, side = the locks at the
    face's sides, back = the back hair below the crown."""
    out = []
    s = ctx.controls.hair_sway
    cx, _ = ctx.anchors.face_centre
    fw, fh = ctx.anchors.face_size
    top = ctx.anchors.face[1]
    keys = [-1.0, 0.0, 1.0]

    shoulders = ctx.profile("topwear")
    if shoulders is not None and len(shoulders.xs) > 8:
        k = max(3, len(shoulders.xs) // 40)
        smooth = np.convolve(np.pad(shoulders.top, k, mode="edge"), np.ones(2 * k + 1) / (2 * k + 1), "valid")
        slope_of = lambda x: np.interp(x, shoulders.xs, np.gradient(smooth, shoulders.xs))
    else:
        slope_of = lambda x: np.zeros_like(x)

    def sway(pts, weight, kind, wid):
        amp, lift = HAIR_SWAY[kind]
        dx = amp * fw * s * weight
        # Tips resting on the shoulders slide down along them (never up and off).
        rest_on = _hang_weight(ctx, wid, pts) if wid in ctx.warp_content else np.zeros(len(pts))
        dy = -lift * np.abs(dx) * weight + np.abs(slope_of(pts[:, 0]) * dx) * rest_on
        right = np.stack([dx, dy], axis=1)
        left = np.stack([-dx, dy], axis=1)
        return np.stack([left, np.zeros_like(pts), right])

    front = ctx.deformers.get("hair_front_warp")
    if front is not None:
        pts = front.rest_points()
        nx = np.abs(pts[:, 0] - cx) / (fw / 2)
        w_front = _smoothstep((pts[:, 1] - (top - 0.05 * fh)) / (0.5 * fh)) \
            * np.clip((1.3 - nx) / 0.6, 0.0, 1.0)
        out.append(Keyform(front.id, ["ParamHairFront"], [keys], sway(pts, w_front, "front", front.id),
                           owner="hair_sway"))
        w_side = np.clip((pts[:, 1] - (top + 0.3 * fh)) / (0.9 * fh), 0.0, 1.0) ** 1.5 \
            * np.clip((nx - 0.6) / 0.5, 0.0, 1.0)
        out.append(Keyform(front.id, ["ParamHairSide"], [keys], sway(pts, w_side, "side", front.id),
                           owner="hair_sway"))
    back = ctx.deformers.get("hair_back_warp")
    if back is not None:
        pts = back.rest_points()
        content = ctx.warp_content.get("hair_back_warp") or back.rect
        span = max(content[3] - (top - 0.1 * fh), 1.0)
        w_back = np.clip((pts[:, 1] - (top - 0.1 * fh)) / span, 0.0, 1.0) ** 2
        out.append(Keyform(back.id, ["ParamHairBack"], [keys], sway(pts, w_back, "back", back.id),
                           owner="hair_sway"))
    return out


def _warp_point_offset(warp: WarpDeformer, offsets: np.ndarray, point) -> np.ndarray:
    """Where the warp moves one point (used to make bones follow a warp)."""
    p = np.array([point], np.float64)
    return warp_points(warp.rest_points(), offsets, warp, p)[0] - p[0]


def _hang_weight(ctx: RigContext, wid: str, pts: np.ndarray) -> np.ndarray:
    """0 on the head, rising to 1 at the lowest hair (which rests on the shoulders)."""
    cy = ctx.anchors.face_centre[1]
    bottom = ctx.warp_content[wid][3]
    return _smoothstep((pts[:, 1] - cy) / max(bottom - cy, 1.0))


def _inverse_rotation(pivot, form, points: np.ndarray) -> np.ndarray:
    """Points that a rotation deformer with `form` [angle, dx, dy] maps onto `points`."""
    angle, dx, dy = float(form[0]), float(form[1]), float(form[2])
    r = math.radians(-angle)
    q = points - np.array([dx, dy]) - np.asarray(pivot)
    c, s = math.cos(r), math.sin(r)
    return np.stack([c * q[:, 0] + s * q[:, 1], -s * q[:, 0] + c * q[:, 1]], axis=1) + np.asarray(pivot)


def gen_body(ctx: RigContext) -> List[Keyform]:
    """ParamBodyAngleX: the body warp turns like a cylinder (more at the top),
    the neck bone follows the neck base.  ParamBodyAngleY: the chest pitches
    up (+) or down, fading to nothing at the bottom edge.  ParamBodyAngleZ:
    the body bends.  ParamBreath: shoulders and chest rise, the head rides
    along.  In every one the hair's lower part (it rests on the shoulders)
    moves with the body under it rather than with the head."""
    c = ctx.controls
    out = []
    warp = ctx.deformers.get("body_warp")
    if warp is None:
        return out
    content = ctx.warp_content.get("body_warp") or warp.rect
    cx = (content[0] + content[2]) / 2
    rx = 0.55 * (content[2] - content[0])
    top, bottom = content[1], content[3]
    pts = warp.rest_points()
    neck_base = ctx.anchors.neck_base
    neck_pivot = ctx.deformers["neck"].pivot
    keys = [-10.0, 0.0, 10.0]
    height_weight = np.clip(1.0 - 0.7 * (pts[:, 1] - top) / max(bottom - top, 1.0), 0.3, 1.0)
    bend_weight = np.clip((bottom - pts[:, 1]) / max(bottom - top, 1.0), 0.0, 1.0)
    hair = [(wid, ctx.deformers[wid].rest_points()) for wid in ("hair_back_warp", "hair_front_warp")
            if wid in ctx.deformers]

    def add(param, keys, forms, neck, owner):
        out.append(Keyform("body_warp", [param], [keys], np.asarray(forms), owner=owner))
        out.append(Keyform("neck", [param], [keys], np.asarray(neck, np.float64), owner=owner))
        for wid, hp in hair:
            w = _hang_weight(ctx, wid, hp)
            hf = []
            for form, nform in zip(forms, neck):
                under = warp_points(pts, form, warp, hp)  # where the body under the hair goes
                hf.append((_inverse_rotation(neck_pivot, nform, under) - hp) * w[:, None])
            out.append(Keyform(wid, [param], [keys], np.array(hf), owner=owner))

    def follow_neck(forms):
        return [np.r_[0.0, _warp_point_offset(warp, f, neck_base)] for f in forms]

    turn = [turn_offsets(pts, (cx, 0.0), (rx, 1.0, BODY_DEPTH * rx), "body",
                         value / 10.0 * c.body_yaw_deg, 0.0) * height_weight[:, None] for value in keys]
    add("ParamBodyAngleX", keys, turn, follow_neck(turn), "body_turn")
    chest_y = top + 0.3 * (bottom - top)
    pitch = [turn_offsets(pts, (cx, chest_y), (rx, 1.0, BODY_DEPTH * rx), "body",
                          0.0, value / 10.0 * c.body_pitch_deg) * bend_weight[:, None] for value in keys]
    add("ParamBodyAngleY", keys, pitch, follow_neck(pitch), "body_turn")

    # Lean (BodyAngleZ): the warp bends about the waist, fully at the top and
    # not at all at the bottom edge (often the image border); the head leans along.
    waist = np.array(ctx.anchors.waist)
    lean, neck_lean = [], []
    neck_w = float(np.clip((bottom - neck_base[1]) / max(bottom - top, 1.0), 0, 1))
    for value in keys:
        deg = value / 10.0 * c.body_roll_deg * ROLL_SIGN
        angle = math.radians(deg) * bend_weight
        r = pts - waist
        co, si = np.cos(angle), np.sin(angle)
        rotated = np.stack([co * r[:, 0] + si * r[:, 1], -si * r[:, 0] + co * r[:, 1]], axis=1)
        lean.append(rotated - r)
        shift = _warp_point_offset(warp, lean[-1], neck_base)
        neck_lean.append([deg * neck_w, shift[0], shift[1]])
    add("ParamBodyAngleZ", keys, lean, neck_lean, "body_turn")

    lift = c.breath_lift * ctx.anchors.face_size[1]
    breath = np.zeros_like(pts)
    breath[:, 1] = -lift * np.clip(1.0 - (pts[:, 1] - top) / max(bottom - top, 1.0), 0.0, 1.0)
    forms = [np.zeros_like(pts), breath]
    add("ParamBreath", [0.0, 1.0], forms, follow_neck(forms), "breath")
    return out


# Keyform generators in the order they run; each owns its keyforms (by owner name).
KEYFORM_GENERATORS: Tuple[Tuple[str, Callable[[RigContext], List[Keyform]]], ...] = (
    ("head_turn", gen_head_turn),
    ("head_tilt", gen_head_tilt),
    ("blink", gen_blink),
    ("gaze", gen_gaze),
    ("brows", gen_brows),
    ("mouth", gen_mouth),
    ("cheek", gen_cheek),
    ("hair_sway", gen_hair),
    ("body", gen_body),  # owners "body_turn" and "breath"
)


# --------------------------------------------------------------------------- confidence
def _centre(box: Box) -> Tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def measure_confidence(ctx: RigContext) -> Tuple[Dict[str, float], Dict[str, List[str]]]:
    """Per parameter: how sure the rig is that the parts it needs were found
    and look right.  Presence (share of the needed parts), then factors for
    implausible size or position relative to the face, left/right asymmetry,
    and parts the tool generated instead of finding.  Returns (confidence,
    reasons) by parameter id."""
    fx0, fy0, fx1, fy1 = ctx.anchors.face
    fw, fh = max(fx1 - fx0, 1.0), max(fy1 - fy0, 1.0)
    fcx = (fx0 + fx1) / 2
    face_found = "face" in ctx.boxes

    def eye_factor(side) -> Tuple[float, List[str]]:
        box = ctx.eye_box(side)
        if box is None:
            return 0.0, [f"no {side} eye"]
        f, why = 1.0, []
        ex, ey = _centre(box)
        ratio = (box[2] - box[0]) / fw
        if not 0.08 <= ratio <= 0.45:
            f *= 0.6
            why.append(f"{side} eye is {ratio:.2f} of the face width (expected 0.08-0.45)")
        if not fy0 + 0.2 * fh <= ey <= fy0 + 0.75 * fh:
            f *= 0.6
            why.append(f"{side} eye sits outside the face's middle band")
        if (ex > fcx) != (side == "l"):
            f *= 0.5
            why.append(f"{side} eye is on the wrong side of the face")
        ir = ctx.boxes.get(f"irides_{side}")
        if ir is not None and not (box[0] <= _centre(ir)[0] <= box[2] and box[1] <= _centre(ir)[1] <= box[3]):
            f *= 0.7
            why.append(f"{side} iris is not inside its eye")
        return f, why

    def symmetry() -> Tuple[float, List[str]]:
        a, b = ctx.eye_box("l"), ctx.eye_box("r")
        if a is None or b is None:
            return 1.0, []
        f, why = 1.0, []
        wa, wb = a[2] - a[0], b[2] - b[0]
        if max(wa, wb) > 1.45 * min(wa, wb):
            f *= 0.8
            why.append(f"the eyes differ in width ({wa:.0f} vs {wb:.0f} px)")
        (ax, ay), (bx, by) = _centre(a), _centre(b)
        if abs(ay - by) > 0.5 * max(a[3] - a[1], b[3] - b[1]):
            f *= 0.8
            why.append("the eyes are at different heights")
        if abs((ax - fcx) + (bx - fcx)) > 0.12 * fw:
            f *= 0.85
            why.append("the eyes are not mirrored about the face's middle (turned face?)")
        return f, why

    conf: Dict[str, float] = {}
    reasons: Dict[str, List[str]] = {}
    for pid, *_, needs in PARAMETERS:
        have = [n for n in needs if n in ctx.meshes]
        missing = [n for n in needs if n not in ctx.meshes]
        f = len(have) / len(needs)
        why = [f"missing {', '.join(missing)}"] if missing else []
        generated = [n for n in have if ctx.layers[n].generated]
        if generated:
            f *= 0.85 ** len(generated)
            why.append(f"generated, not found: {', '.join(generated)}")
        if pid.startswith("ParamAngle") and not face_found:
            f *= 0.7
            why.append("no face layer: the head box is estimated")
        side = {"ParamEyeLOpen": "l", "ParamEyeLSmile": "l", "ParamEyeROpen": "r",
                "ParamEyeRSmile": "r", "ParamBrowLY": "l", "ParamBrowLAngle": "l",
                "ParamBrowRY": "r", "ParamBrowRAngle": "r"}.get(pid)
        if pid.startswith("ParamEye") and side and f > 0:
            g, w = eye_factor(side)
            s, w2 = symmetry()
            f *= g * s
            why += w + w2
            if "Smile" in pid:
                f *= 0.9
                why.append("the smiling lid is a synthesised arc")
        if pid.startswith("ParamEyeBall") and f > 0:
            g = [eye_factor(sd) for sd in ("l", "r") if ctx.eye_box(sd) is not None]
            f *= float(np.mean([x[0] for x in g])) if g else 1.0
            why += [r for x in g for r in x[1]]
        if pid.startswith("ParamBrow") and f > 0:
            brow, eye = ctx.boxes.get(f"eyebrow_{side}"), ctx.eye_box(side)
            if eye is not None and not (brow[3] < _centre(eye)[1] and brow[0] < eye[2] and eye[0] < brow[2]):
                f *= 0.6
                why.append(f"the {side} brow is not above its eye")
        if pid.startswith("ParamMouth") and "mouth" in ctx.boxes:
            mx, my = _centre(ctx.boxes["mouth"])
            mw = ctx.boxes["mouth"][2] - ctx.boxes["mouth"][0]
            if not (fy0 + 0.5 * fh <= my <= fy1 and abs(mx - fcx) < 0.15 * fw and 0.05 * fw <= mw <= 0.5 * fw):
                f *= 0.6
                why.append("the mouth's size or place in the face looks wrong")
        if pid == "ParamCheek" and f > 0:
            f *= 0.6
            why.append("the blush is generated (the format has no opacity keyform): it grows from nothing")
            if ctx.eye_box("l") is None or ctx.eye_box("r") is None:
                f *= 0.7
                why.append("eyes missing: the blush is placed by the face box only")
        if pid == "ParamHairSide" and "front-hair" in ctx.layers and "front-hair" in ctx.boxes:
            a = ctx.layers["front-hair"]
            m = a.image[..., 3] >= 128
            ys, xs = np.nonzero(m)
            xs = xs + a.x
            ys = ys + a.y
            locks = (np.abs(xs - fcx) > 0.75 * (fw / 2)) & (ys > fy0 + 0.5 * fh)
            if locks.sum() < 0.01 * max(len(xs), 1):
                f *= 0.3
                why.append("no side locks found: ParamHairSide sways the outer front hair")
        conf[pid] = round(float(np.clip(f, 0.0, 1.0)), 3)
        reasons[pid] = why
    return conf, reasons


# --------------------------------------------------------------------------- build
def _measure(canvas: Canvas, layers: Sequence[Layer]):
    layer_map: Dict[str, Layer] = {}
    for layer in layers:
        if layer.id in layer_map:
            raise RiggingError(f"two layers share the id {layer.id!r}; layer ids must be unique")
        layer_map[layer.id] = layer
    boxes = {l.id: b for l in layers if (b := alpha_box(l)) is not None}
    if not boxes:
        raise RiggingError("every layer is empty: there is nothing to rig")
    found = [l for l in layers if l.role != "blush"]  # the rig's own blush does not count
    anchors = measure_anchors(canvas, {l.id: l for l in found},
                              {k: v for k, v in boxes.items() if layer_map[k].role != "blush"})
    return layer_map, boxes, anchors


def _make_deformers(ctx: RigContext) -> List[object]:
    anchors = ctx.anchors
    anchor_points = {"root": anchors.root, "waist": anchors.waist,
                     "neck_base": anchors.neck_base, "chin": anchors.chin}
    deformers: List[object] = [RotationDeformer(rid, tuple(map(float, anchor_points[a])), parent)
                               for rid, parent, a in ROTATIONS]
    for wid, parent, rows, cols, _ in WARPS:
        content = ctx.warp_content.get(wid)
        if content is None:
            continue
        if wid == "face_warp":  # the face turn model extends past the face box
            content = union_box([content, grow_box(anchors.face, (FACE_RADIUS - 1) / 2)])
        deformers.append(WarpDeformer(wid, tuple(float(v) for v in grow_box(content, WARP_MARGIN)),
                                      rows, cols, parent))
    return deformers


def _warp_content(ctx: RigContext) -> Dict[str, Box]:
    out = {}
    for wid, *_ in WARPS:
        members = [m for m in ctx.meshes.values() if m.deformer == wid]
        if members:
            out[wid] = union_box([ctx.boxes[m.layer] for m in members])
    return out


def build_rig(canvas: Canvas, layers: Sequence[Layer], mesh_density: float = 1.0,
              controls: Optional[RigControls] = None) -> RigDocument:
    """Mesh every layer and build deformers, parameters and keyforms from the tables.

    `layers` are back to front; empty layers get no mesh.  Mesh ids are the
    layer ids ("neck-mesh" where a deformer already has the id).  A generated
    blush layer ("face-blush", clipped to the face) is added right above the
    face.  The "mouth-interior" and blush meshes rest collapsed (uvs
    unchanged); ParamMouthOpenY / ParamCheek = 1 restore their drawn shapes.
    Every standard parameter is created; those whose parts are missing get a
    lower confidence (and fewer or no keyforms).  A drawn closed eye (role
    "closed", sided eye tag) rests at opacity 0 and gets an opacity keyform on
    its ParamEye?Open.  `controls` tunes the magnitudes (core/controls.py).
    """
    if mesh_density <= 0:
        raise RiggingError(f"mesh density must be positive, got {mesh_density}")
    controls = controls or RigControls()
    controls.validate()
    layers = [l for l in layers if l.role != "blush"]  # rebuilt below
    # A drawn closed eye rests invisible; its opacity keyform shows it (gen_blink).
    layers = [replace(l, opacity=0.0) if l.role == "closed" and l.side and l.tag in EYE_PARTS
              else l for l in layers]
    layer_map, boxes, anchors = _measure(canvas, layers)
    blush = make_blush_layer(layer_map, boxes, anchors, 1.0)
    if blush is not None:
        at = [l.id for l in layers].index("face") + 1
        layers.insert(at, blush)
        layer_map[blush.id] = blush
        boxes[blush.id] = alpha_box(blush)
    ctx = RigContext(canvas, layer_map, boxes, anchors, controls)

    for layer in layers:  # back to front
        if layer.id not in boxes:
            continue
        verts, tris, uvs = mesh_layer(layer, mesh_target(layer, mesh_density))
        ctx.meshes[layer.id] = Mesh(id=mesh_id(layer.id), layer=layer.id, vertices=verts,
                                    triangles=tris, uvs=uvs,
                                    deformer=TAG_DEFORMER.get(layer.tag, "body_warp"))
    ctx.warp_content = _warp_content(ctx)
    collapse_mouth_interior(ctx)
    collapse_blush(ctx)
    deformers = _make_deformers(ctx)
    ctx.deformers = {d.id: d for d in deformers}

    conf, reasons = measure_confidence(ctx)
    parameters = [Parameter(pid, float(lo), float(default), float(hi), name=name, group=group,
                            confidence=conf[pid])
                  for pid, lo, default, hi, name, group, _ in PARAMETERS]
    keyforms: List[Keyform] = []
    for _, generator in KEYFORM_GENERATORS:
        keyforms.extend(generator(ctx))

    meshes = list(ctx.meshes.values())
    doc = RigDocument(canvas=canvas, layers=list(layers), meshes=meshes, deformers=deformers,
                      parameters=parameters, keyforms=keyforms,
                      draw_order=[m.id for m in meshes])
    doc.info["rig"] = {
        "anchors": {k: [round(float(c), 2) for c in v] for k, v in
                    (("root", anchors.root), ("waist", anchors.waist),
                     ("neck_base", anchors.neck_base), ("chin", anchors.chin))},
        "face_box": [round(float(c), 2) for c in anchors.face],
        "vertices": int(sum(len(m.vertices) for m in meshes)),
        "triangles": int(sum(len(m.triangles) for m in meshes)),
        "missing": sorted({n for row in PARAMETERS for n in row[6] if n not in ctx.meshes}),
        "confidence": reasons,
    }
    return doc


def context_from_document(doc: RigDocument, controls: RigControls) -> RigContext:
    """The generators' context rebuilt from a built document (rest meshes,
    deformers, collapsed parts' drawn shapes from their uvs)."""
    layer_map, boxes, anchors = _measure(doc.canvas, doc.layers)
    ctx = RigContext(doc.canvas, layer_map, boxes, anchors, controls)
    for mesh in doc.meshes:
        ctx.meshes[mesh.layer] = mesh
        layer = layer_map[mesh.layer]
        if layer.role in ("interior", "blush"):
            drawn = mesh.uvs + np.array([layer.x, layer.y], np.float64)
            ctx.restores[mesh.layer] = drawn - mesh.vertices
    ctx.warp_content = _warp_content(ctx)
    ctx.deformers = {d.id: d for d in doc.deformers}
    return ctx


def rebuild_owner(doc: RigDocument, owner: str, controls: RigControls) -> List[Keyform]:
    """The keyforms of `owner` regenerated with `controls`; see controls.regenerate."""
    ctx = context_from_document(doc, controls)
    new = [k for _, generator in KEYFORM_GENERATORS for k in generator(ctx) if k.owner == owner]
    old = [k for k in doc.keyforms if k.owner == owner]
    sig = [(k.target, list(k.params), [list(map(float, x)) for x in k.keys]) for k in old]
    if sig != [(k.target, list(k.params), [list(map(float, x)) for x in k.keys]) for k in new]:
        raise RiggingError(f"the {owner!r} keyforms of this document do not match what the rig "
                           "makes now (was it edited by hand?); rebuild the rig instead")
    return new
