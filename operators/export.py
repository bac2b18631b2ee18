# SPDX-License-Identifier: GPL-3.0-or-later
"""Export the rig the user edited: gather the scene, write the web folder."""
from __future__ import annotations

import logging

import bpy

log = logging.getLogger(__name__)


class IMAGE_TO_RIG_OT_export(bpy.types.Operator):
    """Export the rig (as edited in Blender) as model.json, texture atlas and web viewer"""

    bl_idname = "image_to_rig.export"
    bl_label = "Export Rig"

    directory: bpy.props.StringProperty(
        name="Folder", subtype="DIR_PATH", default="",
        description="Export folder (empty: the one chosen in the panel)")

    def execute(self, context):
        from ..scene import gather_document, rig_in_context
        rig = rig_in_context(context)
        if rig is None:
            self.report({"ERROR"}, "There is no rig to export: run Image to Rig on an image first")
            return {"CANCELLED"}
        folder = self.directory or context.scene.image_to_rig.export_dir
        folder = bpy.path.abspath(folder) if folder else ""
        if not folder or folder.startswith("//"):
            self.report({"ERROR"}, "Choose an export folder (save the .blend first to use a "
                                   "folder relative to it)")
            return {"CANCELLED"}
        try:
            from ..core.formats.export_folder import export_folder
            doc = gather_document(rig.users_collection[0])
            out = export_folder(doc, folder)
        except ValueError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        except Exception as exc:
            log.exception("Image to Rig: the export failed")
            self.report({"ERROR"}, f"Export failed: {type(exc).__name__}: {exc}")
            return {"CANCELLED"}
        context.scene.image_to_rig.status = f"Exported to {out}"
        self.report({"INFO"}, f"Exported the rig to {out}")
        return {"FINISHED"}
