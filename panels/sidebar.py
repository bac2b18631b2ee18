# SPDX-License-Identifier: GPL-3.0-or-later
"""Sidebar panels: input and button, then the rig's sliders, motions and export."""

from __future__ import annotations

import bpy

from ..scene import keys as K

CATEGORY = "Image to Rig"
LOW_CONFIDENCE = 0.5


def confidence_of(rig, meta) -> float:
    return float(rig.get(K.confidence_prop(meta["id"]), meta.get("confidence", 1.0)))


def _rig(context):
    return K.rig_in_context(context)


class _Sidebar:
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = CATEGORY


class IMAGE_TO_RIG_PT_main(_Sidebar, bpy.types.Panel):
    """Input and options; the sub-panels follow the work: AI Backends, Generate,
    Parameters, Strengths, Motions, Hair Physics, Shape Controls, Export."""

    bl_idname = "IMAGE_TO_RIG_PT_main"
    bl_label = "Image to Rig"

    def draw_header_preset(self, context):
        self.layout.operator("image_to_rig.help", text="", icon="HELP", emboss=False)

    def draw(self, context):
        settings = context.scene.image_to_rig
        layout = self.layout
        row = layout.row(align=True)
        row.prop(settings, "image_path")
        row.operator("image_to_rig.choose_image", text="", icon="FILEBROWSER")
        col = layout.column(align=True)
        col.prop(settings, "use_animeface")
        col.prop(settings, "mesh_density")


class IMAGE_TO_RIG_PT_generate(_Sidebar, bpy.types.Panel):
    bl_idname = "IMAGE_TO_RIG_PT_generate"
    bl_label = "Generate"
    bl_parent_id = "IMAGE_TO_RIG_PT_main"
    bl_order = 1

    def draw(self, context):
        settings = context.scene.image_to_rig
        layout = self.layout
        from .backends import draw_progress

        if draw_progress(layout, context):
            return
        existing = _rig(context)
        if existing is not None:
            layout.prop(settings, "on_rerun", expand=True)
            if settings.on_rerun == "REPLACE":
                layout.label(
                    text=f"Replaces {existing.users_collection[0].name}, keeps your shape edits",
                    icon="FILE_REFRESH",
                )
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
    bl_order = 2

    def draw(self, context):
        rig = _rig(context)
        for group, params in K.parameter_groups(rig).items():
            box = self.layout.box()
            box.label(text=group)
            col = box.column(align=True)
            for meta in params:
                if meta["id"] in rig:
                    row = col.row(align=True)
                    row.prop(rig, f'["{meta["id"]}"]', text=meta.get("name") or meta["id"], slider=True)
                    conf = confidence_of(rig, meta)
                    if conf < 1.0:
                        # Low confidence: a warning icon; its tooltip says what is missing.
                        sub = row.row(align=True)
                        sub.alert = conf < LOW_CONFIDENCE
                        op = sub.operator(
                            "image_to_rig.confidence_info",
                            text="",
                            icon="ERROR" if conf < LOW_CONFIDENCE else "INFO",
                            emboss=False,
                        )
                        op.param = meta["id"]


class IMAGE_TO_RIG_PT_strengths(_RigPanel, bpy.types.Panel):
    bl_idname = "IMAGE_TO_RIG_PT_strengths"
    bl_label = "Strengths"
    bl_order = 3
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        rig = _rig(context)
        col = self.layout.column(align=True)
        for params in K.parameter_groups(rig).values():
            for meta in params:
                prop = K.strength_prop(meta["id"])
                if prop in rig:
                    col.prop(rig, f'["{prop}"]', text=meta.get("name") or meta["id"], slider=True)


class IMAGE_TO_RIG_PT_motions(_RigPanel, bpy.types.Panel):
    bl_idname = "IMAGE_TO_RIG_PT_motions"
    bl_label = "Motions"
    bl_order = 4

    def draw(self, context):
        from ..scene.motion import motions_of_rig
        from ..scene.pose import animation_mode

        rig = _rig(context)
        layout = self.layout
        mode = animation_mode(rig)
        active = rig.animation_data.action if rig.animation_data else None
        layout.label(
            text={
                "NONE": "No motion: the sliders hold what you set",
                "POSE": "Holding the pose from the sliders",
                "MOTION": f"Playing {active.get(K.MOTION, active.name) if active else ''}: "
                "it moves the sliders it animates",
            }[mode],
            icon={"NONE": "PAUSE", "POSE": "POSE_HLT", "MOTION": "PLAY"}[mode],
        )
        row = layout.row(align=True)
        row.operator("image_to_rig.no_motion", icon="PAUSE", depress=mode == "NONE")
        row.operator("image_to_rig.pose_from_sliders", icon="POSE_HLT", depress=mode == "POSE")
        layout.operator("image_to_rig.key_sliders", icon="KEY_HLT")
        col = layout.column(align=True)
        for action in motions_of_rig(rig):
            motion_id = action.get(K.MOTION, action.name)
            row = col.row(align=True)
            op = row.operator(
                "image_to_rig.play_motion",
                text=motion_id,
                icon="PLAY" if action == active else "ACTION",
                depress=action == active,
            )
            op.motion = motion_id
            if hasattr(action, K.ACTION_STRENGTH_PROP):
                row.prop(action, K.ACTION_STRENGTH_PROP, text="Strength", slider=True)
        row = layout.row(align=True)
        row.operator("screen.animation_play", text="Play", icon="PLAY")
        row.operator("image_to_rig.talk", text="Talk from Audio", icon="SPEAKER")
        layout.operator("image_to_rig.bake_physics", icon="PHYSICS")


class IMAGE_TO_RIG_PT_physics(_RigPanel, bpy.types.Panel):
    bl_idname = "IMAGE_TO_RIG_PT_physics"
    bl_label = "Hair Physics"
    bl_order = 5
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        from ..scene.physics import (
            VERTEX_FIELDS,
            input_prop,
            output_prop,
            physics_settings_for_panel,
            vertex_prop,
        )

        rig = _rig(context)
        layout = self.layout
        settings = physics_settings_for_panel(rig)
        if not settings:
            layout.label(text="No physics yet: Bake Physics adds hair physics")
        for s, name, inputs, vertex_count, outputs in settings:
            box = layout.box()
            box.label(text=name, icon="FORCE_WIND")
            col = box.column(align=True)
            for i, inp in enumerate(inputs):
                prop = input_prop(s, i)
                if prop in rig:
                    col.prop(rig, f'["{prop}"]', text=f"{inp['source']} ({inp['type']})", slider=True)
            for k in range(1, vertex_count):
                col = box.column(align=True)
                for field, label, _, _ in VERTEX_FIELDS:
                    prop = vertex_prop(s, k, field)
                    if prop in rig:
                        text = label if vertex_count == 2 else f"{label} {k}"
                        col.prop(rig, f'["{prop}"]', text=text)
            col = box.column(align=True)
            for j, out in enumerate(outputs):
                prop = output_prop(s, j)
                if prop in rig:
                    col.prop(rig, f'["{prop}"]', text=f"Scale -> {out['destination']}")
        layout.operator("image_to_rig.bake_physics", icon="PHYSICS")


class IMAGE_TO_RIG_PT_controls(_RigPanel, bpy.types.Panel):
    bl_idname = "IMAGE_TO_RIG_PT_controls"
    bl_label = "Shape Controls"
    bl_order = 6
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        import json
        from ..scene.controls import SKIPPED_KEY, control_prop, owner_controls, pending_owners

        rig = _rig(context)
        layout = self.layout
        owners = json.loads(rig.get(K.OWNERS, "[]"))
        skipped = json.loads(rig.get(SKIPPED_KEY, "{}"))
        pending = set(pending_owners(rig))
        if K.CONTROLS_LIVE in rig:
            layout.prop(rig, f'["{K.CONTROLS_LIVE}"]', text="Live update (rebuild while dragging)")
        shown = False
        for owner, names in owner_controls().items():
            if owner not in owners or not any(control_prop(n) in rig for n in names):
                continue
            shown = True
            box = layout.box()
            row = box.row()
            row.label(text=owner.replace("_", " ").capitalize())
            apply = row.row()
            apply.alert = owner in pending  # changed since the shapes were built
            apply.operator("image_to_rig.apply_controls", text="Apply", icon="FILE_REFRESH").owner = owner
            col = box.column(align=True)
            for name in names:
                if control_prop(name) in rig:
                    col.prop(
                        rig,
                        f'["{control_prop(name)}"]',
                        text=name.replace("_deg", " (deg)").replace("_", " ").capitalize(),
                    )
            if skipped.get(owner):
                note = box.column(align=True)
                note.alert = True
                note.label(text=f"Kept {len(skipped[owner])} shape(s) edited by hand:", icon="ERROR")
                for item in skipped[owner][:3]:
                    note.label(text=item)
        if not shown:
            layout.label(text="This rig has no generated shapes to control")


class IMAGE_TO_RIG_PT_export(_RigPanel, bpy.types.Panel):
    bl_idname = "IMAGE_TO_RIG_PT_export"
    bl_label = "Export"
    bl_order = 7

    def draw(self, context):
        settings = context.scene.image_to_rig
        layout = self.layout
        layout.prop(settings, "export_dir")
        if settings.export_dir.startswith("//") and not bpy.data.filepath:
            layout.label(text="Save the .blend first, or pick a folder", icon="INFO")
        layout.operator("image_to_rig.export", icon="EXPORT")
