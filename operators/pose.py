# SPDX-License-Identifier: GPL-3.0-or-later
"""What drives the sliders: no motion, pose from sliders, a motion; key the sliders."""

from __future__ import annotations

import bpy

from .motions import rig_or_report


class IMAGE_TO_RIG_OT_no_motion(bpy.types.Operator):
    """Stop the motion: the sliders keep what you set on every frame, in Play and in renders"""

    bl_idname = "image_to_rig.no_motion"
    bl_label = "No Motion"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        from ..scene.pose import clear_motion

        rig = rig_or_report(self, context)
        if rig is None:
            return {"CANCELLED"}
        clear_motion(rig, context.scene)
        self.report({"INFO"}, "No motion: the sliders hold what you set")
        return {"FINISHED"}


class IMAGE_TO_RIG_OT_pose_from_sliders(bpy.types.Operator):
    """Hold the pose the sliders show now: every frame, Play and F12 render show exactly it"""

    bl_idname = "image_to_rig.pose_from_sliders"
    bl_label = "Pose from Sliders"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        from ..scene.pose import pose_from_sliders

        rig = rig_or_report(self, context)
        if rig is None:
            return {"CANCELLED"}
        action = pose_from_sliders(rig, context.scene)
        self.report({"INFO"}, f"Holding the pose of the sliders (action {action.name!r}); renders show it")
        return {"FINISHED"}


class IMAGE_TO_RIG_OT_key_sliders(bpy.types.Operator):
    """Insert keyframes of every parameter slider at the current frame (into the rig's action)"""

    bl_idname = "image_to_rig.key_sliders"
    bl_label = "Key Sliders"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        from ..scene.pose import key_sliders

        rig = rig_or_report(self, context)
        if rig is None:
            return {"CANCELLED"}
        count = key_sliders(rig, context.scene)
        self.report({"INFO"}, f"Keyed {count} sliders at frame {context.scene.frame_current}")
        return {"FINISHED"}


classes = (IMAGE_TO_RIG_OT_no_motion, IMAGE_TO_RIG_OT_pose_from_sliders, IMAGE_TO_RIG_OT_key_sliders)
