# SPDX-License-Identifier: GPL-3.0-or-later
"""The names the Blender layer shares: custom-property keys, lookups, constants.

Build writes what gather (and the operators and panels) read back as custom
properties with the prefix ``i2r_``; every such key is named here once, next
to the data it sits on.  This module is a leaf of scene/: it imports no other
scene module, so any of them (and operators/, panels/) can import it.
"""

from __future__ import annotations

import json

RIG_NAME = "rig"  # name of the armature object (and its data) of a built rig

# --- the rig object (the armature): parameters are its custom properties -------
RIG = "i2r_rig"  # True on the rig object
RIG_UID = "i2r_uid"  # unique id; actions and other data point at their rig by it
CANVAS = "i2r_canvas"  # [width, height] in pixels
SOURCE = "i2r_source"  # path of the illustration the rig was made from
VERSION = "i2r_version"  # rig document version
INFO = "i2r_info"  # JSON: the document's info (report, controls, notes)
LAYER_ORDER = "i2r_layer_order"  # JSON: layer ids in document order
KEYFORM_ORDER = "i2r_keyform_order"  # JSON: [[target, owner, params], ...] in document order
OWNERS = "i2r_owners"  # JSON: the keyform generators (owners) the rig has
PARAMETERS = "i2r_parameters"  # JSON: [{id, name, group, confidence, note}, ...]
PHYSICS = "i2r_physics"  # JSON: physics structure (the model.json form)
PHYSICS_PREFIX = "i2r_phys"  # the tunable physics numbers (see physics_* below)
STRENGTH_PREFIX = "i2r_strength_"  # + parameter id: its strength slider
CONFIDENCE_PREFIX = "i2r_confidence_"  # + parameter id: how sure the rig stage was
CONTROL_PREFIX = "i2r_control_"  # + control name: a creator control
CONTROLS_APPLIED = "i2r_controls_applied"  # JSON: control values the shapes were built with
CONTROLS_SKIPPED = "i2r_controls_skipped"  # JSON: {owner: [shapes kept as edited by hand]}
CONTROLS_LIVE = "i2r_controls_live"  # bool: apply controls as soon as they change
ANIMATION_MODE = "i2r_animation_mode"  # "NONE", "POSE" or "MOTION" (scene/pose.py)

# --- pose bones, lattices and mesh objects ---------------------------------------
KEYFORMS = "i2r_keyforms"  # JSON: the target's keyform records (params, keys, nodes/forms)
PIVOT = "i2r_pivot"  # pose bone: rotation pivot in canvas px
DEFORMER_ID = "i2r_deformer_id"  # lattice: id of its warp deformer
RECT = "i2r_rect"  # lattice: warp rect x0, y0, x1, y1 in canvas px
ROWS = "i2r_rows"
COLS = "i2r_cols"
PARENT = "i2r_parent"  # lattice: parent deformer id ("" for none)
MESH_ID = "i2r_mesh_id"  # mesh object: id of its document mesh
LAYER = "i2r_layer"  # mesh object, material and image: id of the layer
TAG = "i2r_tag"
SIDE = "i2r_side"
ROLE = "i2r_role"
CROP = "i2r_crop"  # [x, y] of the layer image on the canvas
OPACITY = "i2r_opacity"  # the layer's own opacity
CLIP_TO = "i2r_clip_to"  # mesh object and material: id of the clip layer ("" for none)
GENERATED = "i2r_generated"  # the layer was painted by the pipeline
DEFORMER = "i2r_deformer"  # mesh object: id of its innermost deformer ("" for none)
OPACITY_KEYFORMS = "i2r_opacity_keyforms"  # JSON: the mesh's opacity keyform records
ALPHA = "i2r_alpha"  # mesh object: driven opacity, read by the material (Object attribute)
KEY_HASHES = "i2r_key_hashes"  # JSON: {shape key: checksum of its generated offsets}
CLIP_OBJECT = "i2r_clip_object"  # mesh object: name of the object it is clipped by

# --- materials, images, nodes, camera ---------------------------------------------
LAYER_INDEX = "i2r_layer_index"  # material: index of its layer in the document
OPACITY_ATTRIBUTE = "i2r_opacity_attribute"  # material: the Object attribute it reads
CLIP_MASK = "i2r_clip_mask"  # image node: a clip mask, not the layer's own texture
CAMERA = "i2r_camera"  # True on the camera a build made

# --- motions (Actions) and sound ----------------------------------------------------
ACTION_RIG = "i2r_rig"  # Action: RIG_UID of the rig it animates
MOTION = "i2r_motion"  # Action: motion id ("Idle", "Talk", ...)
DURATION = "i2r_duration"  # seconds
LOOP = "i2r_loop"
FPS = "i2r_fps"
MOTION_STRENGTH = "i2r_motion_strength"  # the motion's strength (the truth)
BASE_CURVES = "i2r_base_curves"  # JSON: {param: [times, values]} as the pipeline made them
PHYSICS_PARAMS = "i2r_physics_params"  # parameters whose keyframes physics baked
ACTION_STRENGTH_PROP = "i2r_strength"  # registered Action property (reads MOTION_STRENGTH)
TALK = "i2r_talk"  # True on the sound strip of a talk motion
POSE_OF = "i2r_pose_of"  # Action: RIG_UID of the rig whose held pose it is (never a motion)

# Tunable physics numbers, as (field, label, min, max) per pendulum vertex.
PHYSICS_VERTEX_FIELDS = (
    ("radius", "Pendulum length", 0.0, 200.0),
    ("delay", "Delay", 0.01, 3.0),
    ("mobility", "Mobility", 0.0, 1.0),
    ("acceleration", "Acceleration", 0.0, 5.0),
)


def strength_prop(param_id: str) -> str:
    return STRENGTH_PREFIX + param_id


def confidence_prop(param_id: str) -> str:
    return CONFIDENCE_PREFIX + param_id


def control_prop(name: str) -> str:
    return CONTROL_PREFIX + name


def physics_input_prop(s: int, i: int) -> str:
    """Input weight (0..100) of input i of physics setting s."""
    return f"{PHYSICS_PREFIX}{s}_in{i}_weight"


def physics_vertex_prop(s: int, k: int, field: str) -> str:
    """One of PHYSICS_VERTEX_FIELDS of pendulum vertex k (k >= 1) of setting s."""
    return f"{PHYSICS_PREFIX}{s}_v{k}_{field}"


def physics_output_prop(s: int, j: int) -> str:
    """Output scale of output j of setting s."""
    return f"{PHYSICS_PREFIX}{s}_out{j}_scale"


# --- lookups ---------------------------------------------------------------------------
def is_rig(obj) -> bool:
    return obj is not None and obj.type == "ARMATURE" and bool(obj.get(RIG))


def find_rig(collection):
    """The rig object of a built collection (None when there is none)."""
    for obj in collection.all_objects:
        if is_rig(obj):
            return obj
    return None


def rig_in_context(context):
    """The rig the user is working on: the active object's rig, else the scene's first."""
    obj = context.active_object if hasattr(context, "active_object") else None
    while obj is not None:
        if is_rig(obj):
            return obj
        obj = obj.parent
    for obj in context.scene.objects:
        if is_rig(obj):
            return obj
    return None


def rig_of_action(action):
    """The rig object an Image to Rig action animates (None when gone)."""
    import bpy

    uid = action.get(ACTION_RIG)
    if uid is None:
        return None
    for obj in bpy.data.objects:
        if obj.type == "ARMATURE" and obj.get(RIG_UID) == uid:
            return obj
    return None


def parameter_meta(rig) -> list[dict]:
    return json.loads(rig.get(PARAMETERS, "[]"))


def parameter_groups(rig) -> dict[str, list[dict]]:
    """Parameter records of a rig grouped by their group name, in build order."""
    groups: dict[str, list[dict]] = {}
    for meta in parameter_meta(rig):
        groups.setdefault(meta.get("group") or "Other", []).append(meta)
    return groups
