# SPDX-License-Identifier: GPL-3.0-or-later
"""Creator controls: regenerate one generator's shapes; explain parameter confidence."""

from __future__ import annotations

import logging

import bpy

log = logging.getLogger(__name__)


@bpy.app.handlers.persistent
def _live_handler(scene, depsgraph=None):
    from ..scene.controls import on_depsgraph_update

    try:
        on_depsgraph_update(scene, depsgraph)
    except KeyboardInterrupt as exc:  # Blender would swallow it: the run raises it after
        from ..core.formats.output_folder import defer_interrupt

        defer_interrupt(exc)


class IMAGE_TO_RIG_OT_apply_controls(bpy.types.Operator):
    """Rebuild the shapes of this group from its controls (shapes you edited by hand are kept)"""

    bl_idname = "image_to_rig.apply_controls"
    bl_label = "Apply"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def register(cls):
        # "Live update" of the Shape Controls panel: rebuild while a slider moves.
        if _live_handler not in bpy.app.handlers.depsgraph_update_post:
            bpy.app.handlers.depsgraph_update_post.append(_live_handler)

    @classmethod
    def unregister(cls):
        if _live_handler in bpy.app.handlers.depsgraph_update_post:
            bpy.app.handlers.depsgraph_update_post.remove(_live_handler)

    owner: bpy.props.StringProperty(name="Group", description="Keyform generator to rebuild")

    def execute(self, context):
        from ..scene.controls import apply_owner_controls
        from .motions import rig_or_report

        rig = rig_or_report(self, context)
        if rig is None:
            return {"CANCELLED"}
        try:
            result = apply_owner_controls(rig, self.owner)
        except ValueError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        except Exception as exc:
            log.exception("Image to Rig: applying the shape controls failed")
            self.report({"ERROR"}, f"Rebuilding {self.owner} failed: {type(exc).__name__}: {exc}")
            return {"CANCELLED"}
        label = self.owner.replace("_", " ")
        if result.skipped:
            self.report(
                {"WARNING"},
                f"{label}: kept {len(result.skipped)} shape(s) you edited "
                f"by hand: {', '.join(result.skipped[:4])}" + (" ..." if len(result.skipped) > 4 else ""),
            )
        count = len(result.updated) + len(result.added) + len(result.bones)
        self.report({"INFO"}, f"{label}: rebuilt {count} shape(s)")
        return {"FINISHED"}


class IMAGE_TO_RIG_OT_confidence_info(bpy.types.Operator):
    """How sure Image to Rig is about this parameter"""

    bl_idname = "image_to_rig.confidence_info"
    bl_label = "Parameter Confidence"

    param: bpy.props.StringProperty(name="Parameter")

    @classmethod
    def description(cls, context, properties):
        from ..scene.keys import confidence_prop, parameter_meta, rig_in_context

        rig = rig_in_context(context)
        if rig is None:
            return cls.__doc__
        meta = next((m for m in parameter_meta(rig) if m["id"] == properties.param), {})
        conf = float(rig.get(confidence_prop(properties.param), meta.get("confidence", 1.0)))
        return f"Confidence {conf:.2f}. {meta.get('note', '')}"

    def execute(self, context):
        self.report({"INFO"}, self.description(context, self).replace("\n", " "))
        return {"FINISHED"}


classes = (IMAGE_TO_RIG_OT_apply_controls, IMAGE_TO_RIG_OT_confidence_info)
