# SPDX-License-Identifier: GPL-3.0-or-later
"""Running Image to Rig again: replace the rig in place, or keep both.

Replace builds the new rig first (a failed build leaves the old one untouched),
carries over what the user made by hand where it still fits, then removes the
old rig's collection and everything only it used (objects, meshes, lattices,
armature, materials, images, actions, its camera) and gives the new one the
old name:

* hand-edited shape keys (their offsets no longer match the checksum recorded
  at build, scene/controls.py) of a mesh or lattice whose id is in the new rig
  with the same number of points and the same key: the offsets are applied to
  the new basis, and the key stays "edited by hand";
* parameter strengths and motion strengths, for parameters and motions the new
  rig has.

This is also how a PSD fixed in a paint app is rigged back into the same rig.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import bpy
import numpy as np

from . import keys as K
from .controls import key_edited_by_hand, key_offsets

REPLACE, KEEP = "REPLACE", "KEEP"


@dataclass
class Carried:
    """What a replace kept from the old rig (and what it could not)."""

    shape_keys: list[str] = field(default_factory=list)  # "object: key"
    dropped: list[str] = field(default_factory=list)  # edited keys whose layer changed
    strengths: list[str] = field(default_factory=list)
    motions: list[str] = field(default_factory=list)


@dataclass
class _Edits:
    keys: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)  # (target, key) -> offsets
    strengths: dict[str, float] = field(default_factory=dict)
    motion_strengths: dict[str, float] = field(default_factory=dict)
    params: dict[str, float] = field(default_factory=dict)


def _target_id(obj) -> str | None:
    return obj.get(K.MESH_ID) or obj.get(K.DEFORMER_ID)


def _shaped_objects(collection):
    for obj in collection.all_objects:
        if obj.type in ("MESH", "LATTICE") and _target_id(obj) and obj.data.shape_keys:
            yield obj


def read_edits(rig) -> _Edits:
    """Hand edits and strengths of a built rig."""
    from .motion import motion_strength, motions_of_rig

    edits = _Edits()
    collection = rig.users_collection[0]
    for obj in _shaped_objects(collection):
        keys = obj.data.shape_keys
        for block in keys.key_blocks:
            if block == keys.reference_key or not key_edited_by_hand(obj, block.name):
                continue
            edits.keys[(_target_id(obj), block.name)] = key_offsets(obj, block.name)
    for meta in K.parameter_meta(rig):
        prop = K.strength_prop(meta["id"])
        if prop in rig:
            edits.strengths[meta["id"]] = float(rig[prop])
        if meta["id"] in rig:
            edits.params[meta["id"]] = float(rig[meta["id"]])
    for action in motions_of_rig(rig):
        edits.motion_strengths[action.get(K.MOTION, action.name)] = motion_strength(action)
    return edits


def apply_edits(rig, edits: _Edits, scene) -> Carried:
    """Put the old rig's edits on a new rig where its parts still match."""
    from .controls import _coords
    from .motion import find_motion, set_strength_property, write_motion_keyframes

    carried = Carried()
    objects = {
        _target_id(o): o
        for o in rig.users_collection[0].all_objects
        if o.type in ("MESH", "LATTICE") and _target_id(o)
    }
    for (target, name), offsets in edits.keys.items():
        obj = objects.get(target)
        keys = obj.data.shape_keys if obj is not None else None
        count = (
            (len(obj.data.points) if obj.type == "LATTICE" else len(obj.data.vertices))
            if obj is not None
            else -1
        )
        if keys is None or name not in keys.key_blocks or count != len(offsets):
            carried.dropped.append(f"{target}: {name}")
            continue
        basis = _coords(keys.reference_key, count)
        keys.key_blocks[name].data.foreach_set("co", (basis + offsets).astype(np.float32).ravel())
        carried.shape_keys.append(f"{obj.name}: {name}")
        obj.data.update_tag()
    for param, value in edits.strengths.items():
        prop = K.strength_prop(param)
        if prop in rig and abs(float(rig[prop]) - value) > 1e-9:
            rig[prop] = value
            carried.strengths.append(param)
    for motion_id, strength in edits.motion_strengths.items():
        action = find_motion(rig, motion_id)
        if action is not None and abs(float(action.get(K.MOTION_STRENGTH, 1.0)) - strength) > 1e-9:
            set_strength_property(action, strength)
            write_motion_keyframes(action, rig, scene)
            carried.motions.append(motion_id)
    rig.update_tag()
    return carried


def remove_rig(collection) -> None:
    """Remove a built rig's collection and the data only it used."""
    rig = K.find_rig(collection)
    doomed = set()
    objects = list(collection.all_objects)
    for obj in objects:
        doomed.add(obj)
        if obj.data is not None and obj.data.users <= 1:
            doomed.add(obj.data)
            keys = getattr(obj.data, "shape_keys", None)
            if keys is not None:
                doomed.add(keys)
        for slot in getattr(obj, "material_slots", ()):
            mat = slot.material
            if mat is not None and mat.users <= 1:
                doomed.add(mat)
                for node in mat.node_tree.nodes if mat.node_tree else ():
                    image = getattr(node, "image", None)
                    if image is not None and image.get(K.LAYER) is not None:
                        doomed.add(image)
    if rig is not None:
        from .motion import motions_of_rig
        from .pose import pose_action

        doomed.update(motions_of_rig(rig))
        pose = pose_action(rig)
        if pose is not None:
            doomed.add(pose)
    for child in list(collection.children_recursive):
        doomed.add(child)
    doomed.add(collection)
    alive = []
    for block in doomed:
        try:
            block.name
            alive.append(block)
        except ReferenceError:
            pass
    bpy.data.batch_remove(alive)


def replace_rig(old_collection, doc, scene):
    """Build `doc` as the rig of `old_collection`, carrying the user's edits over;
    returns (new collection, Carried).  On a failed build the old rig is untouched."""
    from .build import build_scene

    old_rig = K.find_rig(old_collection)
    edits = read_edits(old_rig) if old_rig is not None else _Edits()
    name = old_collection.name
    mode = old_rig.get(K.ANIMATION_MODE) if old_rig is not None else None
    collection = build_scene(doc, scene, name=name + " (new)")
    try:
        rig = K.find_rig(collection)
        carried = apply_edits(rig, edits, scene)
        if mode in ("NONE", "POSE"):  # the user's choice of what drives the sliders
            from .pose import clear_motion, pose_from_sliders

            for param, value in edits.params.items():
                if param in rig:
                    rig[param] = value
            (clear_motion if mode == "NONE" else pose_from_sliders)(rig, scene)
    except BaseException:
        remove_rig(collection)
        raise
    remove_rig(old_collection)
    collection.name = name
    _restore_names(collection, rig, name)
    return collection, carried


def _restore_names(collection, rig, name: str) -> None:
    """The new rig's data-blocks got ".001" names beside the old ones: name them
    as a first build does, now that the old ones are gone."""
    from .motion import motions_of_rig

    rig.name = rig.data.name = K.RIG_NAME
    for obj in collection.all_objects:
        base = obj.get(K.MESH_ID) or obj.get(K.DEFORMER_ID)
        if obj.get(K.CAMERA):
            base = f"{name} camera"
        if base and obj.name != base:
            obj.name = base
            if obj.data is not None and obj.data.users == 1:
                obj.data.name = base
        for slot in getattr(obj, "material_slots", ()):
            mat = slot.material
            layer = mat.get(K.LAYER) if mat is not None else None
            if layer and mat.name != layer:
                mat.name = layer
                for node in mat.node_tree.nodes if mat.node_tree else ():
                    image = getattr(node, "image", None)
                    if image is not None and image.get(K.LAYER) == layer and image.name != layer:
                        image.name = layer
    for action in motions_of_rig(rig):
        motion_id = action.get(K.MOTION)
        if motion_id and action.name != motion_id:
            action.name = motion_id


def describe(old_name: str, carried: Carried | None) -> str:
    """Plain words on what a re-run did."""
    if carried is None:
        return f"added as a new rig beside {old_name!r} (kept both)" if old_name else ""
    kept = []
    if carried.shape_keys:
        kept.append(f"{len(carried.shape_keys)} hand-edited shape key(s)")
    if carried.strengths:
        kept.append(f"{len(carried.strengths)} strength(s)")
    if carried.motions:
        kept.append(f"{len(carried.motions)} motion strength(s)")
    text = f"replaced the rig {old_name!r}" + (f", kept {', '.join(kept)}" if kept else "")
    if carried.dropped:
        text += (
            f"; {len(carried.dropped)} edited shape key(s) no longer fit their layer and "
            f"were dropped ({', '.join(carried.dropped[:3])})"
        )
    return text


def rig_to_replace(context):
    """The collection a re-run replaces: the rig the user is working on."""
    rig = K.rig_in_context(context)
    return rig.users_collection[0] if rig is not None else None
