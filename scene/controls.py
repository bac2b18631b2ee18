# SPDX-License-Identifier: GPL-3.0-or-later
"""Creator controls: regenerate the keyforms one generator owns, keep hand edits.

The controls of core.stages.rig.RigControls are custom properties of the rig
(``i2r_control_<name>``).  Applying the controls of one owner (e.g. "blink")
runs core.stages.rig.regenerate and rewrites only that owner's shape keys
(meshes and lattices) and bone keyforms.

Hand edits are never overwritten: at build (and after every rewrite) the
checksum of each generated shape key's offsets from the basis is stored on its
object (``i2r_key_hashes``); a key whose offsets no longer match was edited
by hand and is skipped with a warning (kept on the rig as
``i2r_controls_skipped`` for the panel).  Offsets from the basis are what is
hashed, so moving rest vertices in Edit Mode does not count as an edit.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import logging

import numpy as np

from ..core.stages.rig import CONTROLS, OWNER_CONTROLS, RigControls
from . import keys as K
from .keys import control_prop

log = logging.getLogger(__name__)
HASHES_KEY = K.KEY_HASHES
SKIPPED_KEY = K.CONTROLS_SKIPPED
APPLIED_KEY = K.CONTROLS_APPLIED  # control values the shapes were last built with
LIVE_KEY = K.CONTROLS_LIVE  # rig property: apply controls as soon as they change
HASH_RESOLUTION = 1e5  # offsets rounded to 1e-5 (0.001 px) before hashing


class ControlsApplyError(ValueError):
    """The controls cannot be applied (no rig, unknown owner, ...)."""


def offsets_hash(offsets: np.ndarray) -> str:
    q = np.rint(np.asarray(offsets, np.float64) * HASH_RESOLUTION).astype(np.int64)
    return hashlib.blake2b(q.tobytes(), digest_size=12).hexdigest()


def _coords(block, count: int) -> np.ndarray:
    co = np.empty(count * 3, np.float32)
    block.data.foreach_get("co", co)
    return co.reshape(count, 3).astype(np.float64)


def _point_count(obj) -> int:
    return len(obj.data.points) if obj.type == "LATTICE" else len(obj.data.vertices)


def key_offsets(obj, name: str) -> np.ndarray:
    keys = obj.data.shape_keys
    n = _point_count(obj)
    return _coords(keys.key_blocks[name], n) - _coords(keys.reference_key, n)


def record_key_hashes(obj, names: list[str] | None = None) -> None:
    """Remember the checksums of the generated shape keys (all, or `names`)."""
    keys = obj.data.shape_keys
    if keys is None:
        return
    hashes = json.loads(obj.get(HASHES_KEY, "{}"))
    for block in keys.key_blocks:
        if block == keys.reference_key or (names is not None and block.name not in names):
            continue
        hashes[block.name] = offsets_hash(key_offsets(obj, block.name))
    obj[HASHES_KEY] = json.dumps(hashes, separators=(",", ":"))


def key_edited_by_hand(obj, name: str) -> bool:
    stored = json.loads(obj.get(HASHES_KEY, "{}")).get(name)
    return stored is None or stored != offsets_hash(key_offsets(obj, name))


def bone_record(kf) -> dict:
    forms = np.asarray(kf.forms, np.float64)
    return {
        "params": list(kf.params),
        "keys": [list(map(float, k)) for k in kf.keys],
        "owner": kf.owner,
        "forms": forms.tolist(),
        "hash": offsets_hash(forms),
    }


# ------------------------------------------------------------------ properties


def store_controls(rig, values: dict | None = None) -> None:
    """Custom properties for every creator control (defaults: the automatic rig)."""
    values = values if isinstance(values, dict) else {}
    applied = {}
    for name, control in CONTROLS.items():
        value = float(values.get(name, control.default))
        prop = control_prop(name)
        rig[prop] = value
        applied[name] = value
        rig.id_properties_ui(prop).update(
            min=float(control.lo),
            max=float(control.hi),
            soft_min=float(control.lo),
            soft_max=float(control.hi),
            default=float(control.default),
            description=_describe(name),
        )
    rig[APPLIED_KEY] = json.dumps(applied, separators=(",", ":"))
    if LIVE_KEY not in rig:
        rig[LIVE_KEY] = False
        rig.id_properties_ui(LIVE_KEY).update(
            description="Rebuild a group's shapes as soon as one of its controls changes"
        )


def pending_owners(rig) -> list[str]:
    """Owners whose controls were changed since their shapes were last built."""
    applied = json.loads(rig.get(APPLIED_KEY, "{}"))
    out = []
    for owner, names in OWNER_CONTROLS.items():
        for n in names:
            prop = control_prop(n)
            if prop in rig and abs(float(rig[prop]) - float(applied.get(n, rig[prop]))) > 1e-9:
                out.append(owner)
                break
    return out


def _describe(name: str) -> str:
    doc = CONTROLS[name].doc
    return f"Creator control: {doc[0].upper() + doc[1:]}. Press Apply of its group to rebuild those shapes"


def rig_controls(rig):
    from .gather import gather_controls

    controls = RigControls()
    for name, value in (gather_controls(rig) or {}).items():
        setattr(controls, name, value)
    return controls


def owner_controls() -> dict[str, tuple]:
    return dict(OWNER_CONTROLS)


# ------------------------------------------------------------------ applying


@dataclass
class ApplyResult:
    owner: str
    updated: list[str] = field(default_factory=list)  # "object: key" rewritten
    added: list[str] = field(default_factory=list)  # new shape keys (formerly zero nodes)
    skipped: list[str] = field(default_factory=list)  # edited by hand, left alone
    bones: list[str] = field(default_factory=list)  # bones whose keyforms changed


def apply_owner_controls(rig, owner: str) -> ApplyResult:
    """Regenerate `owner`'s keyforms from the rig's controls and rewrite them in place."""
    import bpy

    from ..core.stages.rig import regenerate
    from . import drivers as drv
    from .gather import gather_document
    from .space import offsets_to_world

    collection = rig.users_collection[0]
    doc = gather_document(collection)
    old = [k for k in doc.keyforms if k.owner == owner]
    new = regenerate(doc, owner, rig_controls(rig))
    if len(new) != len(old):
        raise ControlsApplyError(
            f"regenerating {owner!r} gave {len(new)} keyforms for "
            f"{len(old)} in the scene; build the rig again"
        )
    result = ApplyResult(owner)
    params = {p.id: p for p in doc.parameters}
    weights = drv.WeightNetwork(rig, params, resume=True)
    objects = {}
    for obj in collection.all_objects:
        if K.MESH_ID in obj:
            objects[obj[K.MESH_ID]] = obj
        elif K.DEFORMER_ID in obj:
            objects[obj[K.DEFORMER_ID]] = obj
    by_target: dict[str, list] = {}
    for kf in new:
        if kf.channel == "offset":  # opacity keyforms read no controls
            by_target.setdefault(kf.target, []).append(kf)
    bone_names = set(rig.data.bones.keys()) if rig.type == "ARMATURE" else set()
    for target, kfs in by_target.items():
        if target in bone_names:
            pb = rig.pose.bones[target]
            records = json.loads(pb.get(K.KEYFORMS, "[]"))
            mine = [r for r in records if r.get("owner") == owner]
            changed = False
            for rec, kf in zip(mine, kfs):
                forms = np.asarray(rec["forms"], np.float64)
                if rec.get("hash") not in (None, offsets_hash(forms)):
                    result.skipped.append(f"bone {target}: {owner} keyform")
                    continue
                rec.update(bone_record(kf))
                changed = True
            if changed:
                pb[K.KEYFORMS] = json.dumps(records, separators=(",", ":"))
                from .drivers import build_bone_drivers, keyforms_from_bone_records

                build_bone_drivers(
                    rig, target, keyforms_from_bone_records(target, records), weights, replace=True
                )
                result.bones.append(target)
            continue
        obj = objects.get(target)
        if obj is None:
            continue
        records = json.loads(obj.get(K.KEYFORMS, "[]"))
        mine = [(i, r) for i, r in enumerate(records) if r.get("owner") == owner]
        n = _point_count(obj)
        if obj.type == "LATTICE":
            x0, y0, x1, y1 = (float(v) for v in obj[K.RECT])
            rest = np.array([p.co for p in obj.data.points], np.float64)
            scale = np.array([np.ptp(rest[:, 0]) / (x1 - x0), np.ptp(rest[:, 1]) / (y1 - y0)])

            def to_local(form, scale=scale):
                out = np.zeros((len(form), 3))
                out[:, :2] = np.asarray(form, np.float64) * scale
                return out
        else:
            m = np.array(rig.matrix_world.inverted() @ obj.matrix_world, np.float64)
            inv = np.linalg.inv(m[:3, :3])

            def to_local(form, inv=inv):
                return offsets_to_world(form) @ inv.T

        if obj.data.shape_keys is None:
            obj.shape_key_add(name="Basis", from_mix=False)
        keys = obj.data.shape_keys
        basis = _coords(keys.reference_key, n)
        rewritten = []
        for (k_index, rec), kf in zip(mine, kfs):
            for node, name in enumerate(rec["nodes"]):
                form = np.asarray(kf.forms[node], np.float64)
                if name is None:
                    if np.abs(form).max(initial=0.0) <= 1e-9:
                        continue
                    name = f"kf{k_index}.{node}"
                    while name in keys.key_blocks:
                        name += "+"
                    block = obj.shape_key_add(name=name, from_mix=False)
                    block.data.foreach_set("co", (basis + to_local(form)).astype(np.float32).ravel())
                    drv.shape_key_driver(block, weights.node(kf, node), weights.store)
                    rec["nodes"][node] = name
                    result.added.append(f"{obj.name}: {name}")
                    rewritten.append(name)
                    continue
                if name not in keys.key_blocks:
                    result.skipped.append(f"{obj.name}: {name} (deleted)")
                    continue
                if key_edited_by_hand(obj, name):
                    result.skipped.append(f"{obj.name}: {name}")
                    continue
                keys.key_blocks[name].data.foreach_set(
                    "co", (basis + to_local(form)).astype(np.float32).ravel()
                )
                result.updated.append(f"{obj.name}: {name}")
                rewritten.append(name)
            records[k_index] = rec
        obj[K.KEYFORMS] = json.dumps(records, separators=(",", ":"))
        record_key_hashes(obj, rewritten)
        obj.data.update_tag()
        obj.update_tag()
    skipped = json.loads(rig.get(SKIPPED_KEY, "{}"))
    if result.skipped:
        skipped[owner] = result.skipped
    else:
        skipped.pop(owner, None)
    rig[SKIPPED_KEY] = json.dumps(skipped, separators=(",", ":"))
    applied = json.loads(rig.get(APPLIED_KEY, "{}"))
    applied.update(
        {n: float(rig[control_prop(n)]) for n in owner_controls().get(owner, ()) if control_prop(n) in rig}
    )
    rig[APPLIED_KEY] = json.dumps(applied, separators=(",", ":"))
    rig.update_tag()
    bpy.context.view_layer.update()
    return result


# ------------------------------------------------------------------ live update

_applying = False


def apply_pending_live(scene) -> list[ApplyResult]:
    """Apply the changed controls of every rig of `scene` that has live update on.

    Called from a depsgraph handler (operators/controls.py registers it): a
    slider drag rebuilds its group's shapes as it goes.  Re-entry (the rebuild
    itself updates the depsgraph) is ignored; on an error live update is
    switched off for that rig and the error logged, never raised in the UI."""
    global _applying
    if _applying:
        return []
    results = []
    _applying = True
    try:
        for obj in scene.objects:
            if obj.type != "ARMATURE" or not obj.get(K.RIG) or not obj.get(LIVE_KEY):
                continue
            for owner in pending_owners(obj):
                try:
                    results.append(apply_owner_controls(obj, owner))
                except Exception as exc:  # keep the UI alive; say what happened
                    obj[LIVE_KEY] = False
                    log.warning(
                        "Image to Rig: live update of %s stopped: %s: %s", owner, type(exc).__name__, exc
                    )
                    break
    finally:
        _applying = False
    return results


def on_depsgraph_update(scene, depsgraph=None) -> None:
    import bpy

    for update in depsgraph.updates if depsgraph is not None else ():
        target = update.id
        if isinstance(target, bpy.types.Object) and target.get(LIVE_KEY):
            apply_pending_live(scene)
            return
