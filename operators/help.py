# SPDX-License-Identifier: GPL-3.0-or-later
"""Help: open the walk-through that ships with the extension (docs/blender.md)."""

from __future__ import annotations

import os

import bpy

DOC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "blender.md")


class IMAGE_TO_RIG_OT_help(bpy.types.Operator):
    """Open the Image to Rig walk-through (install, rig, poses, re-runs, PSD round trip, export)"""

    bl_idname = "image_to_rig.help"
    bl_label = "Image to Rig Help"

    def execute(self, context):
        if not os.path.isfile(DOC):
            self.report({"ERROR"}, f"The help file {DOC} is missing; reinstall the extension")
            return {"CANCELLED"}
        if not bpy.app.background:
            bpy.ops.wm.path_open(filepath=DOC)
        self.report({"INFO"}, f"Help: {DOC}")
        return {"FINISHED"}


classes = (IMAGE_TO_RIG_OT_help,)
