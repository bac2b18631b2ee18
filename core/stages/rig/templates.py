# SPDX-License-Identifier: GPL-3.0-or-later
"""The rig as data: which tag hangs under which deformer, how dense each part's
mesh is, the deformer tree, every standard parameter (Cubism ids and ranges)
with the layers it needs, and the fixed shape constants of the generators.
The magnitudes a creator tunes are the generators' controls (controls.py).

Deformer tree (rotations become one Blender bone chain, warps lattices)::

    root (rotation) > body (rotation) > neck (rotation) > head (rotation)
    body > body_warp                    neck, topwear and other body layers
    head > face_warp                    face, ears, eyes, brows, nose, mouth
    head > hair_back_warp, hair_front_warp
"""

from __future__ import annotations


# Mesh vertex targets at mesh_density 1.0, per tag (role "interior" via key "mouth-interior").
MESH_VERTICES: dict[str, int] = {
    "back hair": 360,
    "front hair": 360,
    "headwear": 260,
    "face": 300,
    "neck": 120,
    "topwear": 360,
    "neckwear": 160,
    "bottomwear": 260,
    "handwear": 160,
    "legwear": 260,
    "footwear": 160,
    "tail": 220,
    "wings": 260,
    "objects": 200,
    "eyewhite": 110,
    "irides": 110,
    "eyelash": 120,
    "eyebrow": 70,
    "ears": 80,
    "blush": 60,
    "underlay": 240,
    "earwear": 60,
    "eyewear": 120,
    "nose": 30,
    "mouth": 90,
    "mouth-interior": 90,
}
DEFAULT_MESH_VERTICES = 160

# Which deformer each tag hangs under.
TAG_DEFORMER: dict[str, str] = {
    "back hair": "hair_back_warp",
    "front hair": "hair_front_warp",
    "headwear": "hair_front_warp",
    "face": "face_warp",
    "irides": "face_warp",
    "eyebrow": "face_warp",
    "eyewhite": "face_warp",
    "eyelash": "face_warp",
    "eyewear": "face_warp",
    "ears": "face_warp",
    "earwear": "face_warp",
    "nose": "face_warp",
    "mouth": "face_warp",
    "neck": "body_warp",
    "neckwear": "body_warp",
    "topwear": "body_warp",
    "handwear": "body_warp",
    "bottomwear": "body_warp",
    "legwear": "body_warp",
    "footwear": "body_warp",
    "tail": "body_warp",
    "wings": "body_warp",
    "objects": "body_warp",
}

# Rotation chain: id, parent, pivot anchor (see Anchors).
ROTATIONS: tuple[tuple[str, str | None, str], ...] = (
    ("root", None, "root"),
    ("body", "root", "waist"),
    ("neck", "body", "neck_base"),
    ("head", "neck", "chin"),
)

# Warps: id, parent, grid cells (rows, cols), turn model.  Depth is in units of
# the head's depth radius: "face" = an ellipsoid (centre in front), a number =
# a flat layer at that depth (negative = behind the face), "fringe" = in front
# over the forehead, beside the head at the sides.
WARPS: tuple[tuple[str, str, int, int, str], ...] = (
    ("body_warp", "body", 4, 4, "body"),
    ("hair_back_warp", "head", 4, 4, "back"),
    ("face_warp", "head", 6, 6, "face"),
    ("hair_front_warp", "head", 5, 5, "fringe"),
)
WARP_MARGIN = 0.15  # of the content size, each side
HAIR_BACK_DEPTH = -0.35
FRINGE_DEPTH_SIDE, FRINGE_DEPTH_FRONT = 0.25, 0.95

# Parameters: id, min, default, max, name, group, the layers they need.
PARAMETERS: tuple[tuple[str, float, float, float, str, str, tuple[str, ...]], ...] = (
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

# Fixed shape constants of the head and body models (the magnitudes a creator
# tunes are the generators' controls).
# Cubism's standard list: ParamAngleZ / ParamBodyAngleZ "+" tilts towards the
# screen's right, i.e. clockwise on screen; our angles are counter-clockwise.
ROLL_SIGN = -1.0
FACE_RADIUS = 1.15  # ellipsoid half-axes = this x half the face box
FACE_DEPTH = 0.9  # depth radius / horizontal radius
BODY_DEPTH = 0.8
HEAD_TAGS = {t for t, d in TAG_DEFORMER.items() if d in ("face_warp", "hair_front_warp", "hair_back_warp")}
DEFORMER_IDS = {r[0] for r in ROTATIONS} | {w[0] for w in WARPS}
# Parts of an eye (they blink, and narrow when the head turns away from them).
EYE_PARTS = ("eyewhite", "irides", "eyelash")
ANGLE_KEYS = [-30.0, 0.0, 30.0]
