# SPDX-License-Identifier: GPL-3.0-or-later
"""What changed in Blender's Python API between 4.2 LTS, 4.5 LTS and 5.0, in one place.

The rest of the Blender layer calls these functions and never checks a version.
Each one asks Blender what it has (a property or a function), not which
version it is, so a point release that back-ports something still works.

* Slotted (layered) actions, Blender 4.4+: an Action's F-Curves live in a
  channel bag per slot, and ``AnimData.action_slot`` says which slot animates
  the ID.  4.2 has neither: the F-Curves are ``Action.fcurves``.  5.0 removed
  ``Action.fcurves``; 4.4/4.5 still have it (for the first slot) but lack
  ``anim_utils.action_ensure_channelbag_for_slot``.
* Sequencer strips: ``SequenceEditor.strips`` (4.4+) was ``sequences`` (4.2;
  5.0 removed the old name).
* The EEVEE render engine is ``BLENDER_EEVEE_NEXT`` in 4.2 - 4.5 and
  ``BLENDER_EEVEE`` in 5.0.
* A new material has its node tree at once in 5.0; before, ``use_nodes`` makes it.
* Sound: the bpy 4.2 module (not the Blender 4.2 application) is built without
  Audaspace, so a sound strip cannot be added there.
"""

from __future__ import annotations


# --- slotted actions ---------------------------------------------------------------------
def has_slots(action) -> bool:
    """Whether this Blender has slotted actions (4.4+)."""
    return hasattr(action, "slots")


def _first_slot(action):
    return action.slots[0] if has_slots(action) and len(action.slots) else None


def _channelbag(action, slot, ensure: bool):
    """The channel bag of `slot` in the action's first layer/strip (made when `ensure`)."""
    from bpy_extras import anim_utils

    if not ensure:
        return anim_utils.action_get_channelbag_for_slot(action, slot)
    ensure_bag = getattr(anim_utils, "action_ensure_channelbag_for_slot", None)
    if ensure_bag is not None:  # 5.0
        return ensure_bag(action, slot)
    # 4.4 / 4.5: make the layer and keyframe strip when missing, then ask the strip.
    layer = action.layers[0] if len(action.layers) else action.layers.new("Layer")
    strip = layer.strips[0] if len(layer.strips) else layer.strips.new(type="KEYFRAME")
    return strip.channelbag(slot, ensure=True)


def assign_action(id_block, action) -> None:
    """Make `action` animate `id_block` (None clears it); with slots, the first slot
    is assigned when Blender did not choose one."""
    ad = id_block.animation_data_create()
    ad.action = action
    if action is None or not has_slots(action):
        return
    if getattr(ad, "action_slot", None) is None and len(action.slots):
        ad.action_slot = action.slots[0]


def action_fcurves(action) -> list:
    """The F-Curves of the action (of its first slot where there are slots)."""
    if not has_slots(action):
        return list(action.fcurves)
    slot = _first_slot(action)
    if slot is None:
        return []
    bag = _channelbag(action, slot, ensure=False)
    return list(bag.fcurves) if bag is not None else []


def find_fcurve(action, data_path: str, index: int = 0):
    for fc in action_fcurves(action):
        if fc.data_path == data_path and fc.array_index == index:
            return fc
    return None


def ensure_fcurve(action, id_block, data_path: str):
    """The action's F-Curve of `id_block`'s `data_path` (created when missing).

    With slots, an action that has none yet gets its slot by being assigned to
    `id_block` for a moment (what it was animating is restored)."""
    fc = find_fcurve(action, data_path)
    if fc is not None:
        return fc
    if not has_slots(action):
        return action.fcurves.new(data_path)
    slot = _first_slot(action)
    if slot is not None:
        return _channelbag(action, slot, ensure=True).fcurves.new(data_path)
    ad = id_block.animation_data_create()
    previous = ad.action
    assign_action(id_block, action)
    try:
        return action.fcurve_ensure_for_datablock(id_block, data_path)
    finally:
        ad.action = previous


def remove_fcurve(action, fcurve) -> None:
    if not has_slots(action):
        action.fcurves.remove(fcurve)
        return
    _channelbag(action, _first_slot(action), ensure=False).fcurves.remove(fcurve)


# --- sequencer ---------------------------------------------------------------------------
def sequencer_strips(editor):
    """The strip collection of a sequence editor (``strips`` 4.4+, ``sequences`` 4.2)."""
    strips = getattr(editor, "strips", None)
    return strips if strips is not None else editor.sequences


def has_audio() -> bool:
    """Whether this Blender can load sound (the bpy 4.2 wheel is built without Audaspace)."""
    import bpy

    return bool(getattr(bpy.app.build_options, "audaspace", True))


# --- render and materials ----------------------------------------------------------------
def eevee_engine() -> str:
    """The identifier of the EEVEE render engine in this Blender."""
    import bpy

    items = bpy.types.RenderSettings.bl_rna.properties["engine"].enum_items
    names = {item.identifier for item in items}
    return "BLENDER_EEVEE_NEXT" if "BLENDER_EEVEE_NEXT" in names else "BLENDER_EEVEE"


def material_node_tree(material):
    """The material's node tree, made on request where Blender does not make it at once."""
    if material.node_tree is None:
        material.use_nodes = True
    return material.node_tree


def active_action(id_block) -> object | None:
    ad = id_block.animation_data
    return ad.action if ad is not None else None
