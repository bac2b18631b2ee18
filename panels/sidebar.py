# SPDX-License-Identifier: GPL-3.0-or-later
"""Sidebar panels: input and button, then the rig's sliders, motions and export."""
from __future__ import annotations

import bpy

CATEGORY = "Image to Rig"


def _rig(context):
    from ..scene import rig_in_context
    return rig_in_context(context)


class _Sidebar:
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = CATEGORY


class IMAGE_TO_RIG_PT_main(_Sidebar, bpy.types.Panel):
    bl_idname = "IMAGE_TO_RIG_PT_main"
    bl_label = "Image to Rig"

    def draw(self, context):
        settings = context.scene.image_to_rig
        layout = self.layout
        layout.prop(settings, "image_path")
        col = layout.column(align=True)
        col.prop(settings, "use_animeface")
        col.prop(settings, "mesh_density")
        layout.operator("image_to_rig.generate", icon="ARMATURE_DATA")
        if settings.status:
            layout.label(text=settings.status)


class _RigPanel(_Sidebar):
    bl_parent_id = "IMAGE_TO_RIG_PT_main"

    @classmethod
    def poll(cls, context):
        return _rig(context) is not None


class IMAGE_TO_RIG_PT_parameters(_RigPanel, bpy.types.Panel):
    bl_idname = "IMAGE_TO_RIG_PT_parameters"
    bl_label = "Parameters"

    def draw(self, context):
        from ..scene import parameter_groups
        rig = _rig(context)
        for group, params in parameter_groups(rig).items():
            box = self.layout.box()
            box.label(text=group)
            col = box.column(align=True)
            for meta in params:
                if meta["id"] in rig:
                    text = meta.get("name") or meta["id"]
                    if meta.get("confidence", 1.0) < 0.5:
                        text += " (check)"
                    col.prop(rig, f'["{meta["id"]}"]', text=text, slider=True)


class IMAGE_TO_RIG_PT_strengths(_RigPanel, bpy.types.Panel):
    bl_idname = "IMAGE_TO_RIG_PT_strengths"
    bl_label = "Strengths"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        from ..scene import parameter_groups
        from ..scene.drivers import strength_prop
        rig = _rig(context)
        col = self.layout.column(align=True)
        for params in parameter_groups(rig).values():
            for meta in params:
                prop = strength_prop(meta["id"])
                if prop in rig:
                    col.prop(rig, f'["{prop}"]', text=meta.get("name") or meta["id"], slider=True)


class IMAGE_TO_RIG_PT_motions(_RigPanel, bpy.types.Panel):
    bl_idname = "IMAGE_TO_RIG_PT_motions"
    bl_label = "Motions"

    def draw(self, context):
        from ..scene.motion import motions_of_rig
        rig = _rig(context)
        layout = self.layout
        active = rig.animation_data.action if rig.animation_data else None
        for action in motions_of_rig(rig):
            row = layout.row(align=True)
            row.label(text=action.get("i2r_motion", action.name),
                      icon="PLAY" if action == active else "ACTION")
            if hasattr(action, "i2r_strength"):
                row.prop(action, "i2r_strength", slider=True)
        layout.operator("screen.animation_play", text="Play", icon="PLAY")


class IMAGE_TO_RIG_PT_export(_RigPanel, bpy.types.Panel):
    bl_idname = "IMAGE_TO_RIG_PT_export"
    bl_label = "Export"

    def draw(self, context):
        settings = context.scene.image_to_rig
        self.layout.prop(settings, "export_dir")
        self.layout.operator("image_to_rig.export", icon="EXPORT")
