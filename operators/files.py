# SPDX-License-Identifier: GPL-3.0-or-later
"""Getting an illustration in: drag and drop onto the 3D Viewport, an image-only browser.

Dropping a PNG, JPEG, WebP or PSD onto the 3D Viewport offers "Image to Rig"
(Blender 4.1+ file handlers; Blender lists it beside its own image-empty import
and the user picks).  The panel's browse button shows only those files.
"""

from __future__ import annotations

import os

import bpy

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".psd")
IMAGE_GLOB = ";".join(f"*{ext}" for ext in IMAGE_EXTENSIONS)


class IMAGE_TO_RIG_FH_illustration(bpy.types.FileHandler):
    bl_idname = "IMAGE_TO_RIG_FH_illustration"
    bl_label = "Image to Rig"
    bl_import_operator = "image_to_rig.generate"
    bl_file_extensions = ";".join(IMAGE_EXTENSIONS)

    @classmethod
    def poll_drop(cls, context):
        area = getattr(context, "area", None)
        return area is not None and area.type == "VIEW_3D"


class IMAGE_TO_RIG_OT_choose_image(bpy.types.Operator):
    """Choose the illustration to rig (PNG, JPEG, WebP or a layered PSD)"""

    bl_idname = "image_to_rig.choose_image"
    bl_label = "Choose Illustration"
    bl_options = {"INTERNAL"}

    filepath: bpy.props.StringProperty(subtype="FILE_PATH", options={"SKIP_SAVE"})
    filter_glob: bpy.props.StringProperty(default=IMAGE_GLOB, options={"HIDDEN"})
    filter_image: bpy.props.BoolProperty(default=True, options={"HIDDEN"})
    filter_folder: bpy.props.BoolProperty(default=True, options={"HIDDEN"})

    def invoke(self, context, event):
        current = context.scene.image_to_rig.image_path
        if current:
            self.filepath = bpy.path.abspath(current)
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context):
        if not self.filepath.lower().endswith(IMAGE_EXTENSIONS):
            self.report(
                {"ERROR"}, f"{os.path.basename(self.filepath) or 'That'} is not a PNG, JPEG, WebP or PSD file"
            )
            return {"CANCELLED"}
        context.scene.image_to_rig.image_path = self.filepath
        return {"FINISHED"}


classes = (IMAGE_TO_RIG_FH_illustration, IMAGE_TO_RIG_OT_choose_image)
