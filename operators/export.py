# SPDX-License-Identifier: GPL-3.0-or-later
"""Export the rig the user edited: gather the scene, write the web folder."""

from __future__ import annotations

import logging
import os

import bpy

log = logging.getLogger(__name__)


def export_folder_path(folder: str, blend_path: str):
    """(absolute folder, None) or (None, the reason in plain words).

    ``//`` means "next to the saved .blend"; on an unsaved file it has no place, and
    a relative folder would land wherever Blender was started, so both are refused."""
    folder = (folder or "").strip()
    if not folder:
        return None, "Choose an export folder (Export > the folder button)"
    if folder.startswith("//"):
        if not blend_path:
            return None, (
                f"The export folder {folder} is relative to the .blend file, and this "
                "file is not saved yet: save it first, or choose a folder with the "
                "folder button"
            )
        folder = os.path.join(os.path.dirname(blend_path), folder[2:])
    elif not os.path.isabs(folder):
        return None, (
            f"The export folder {folder} is a relative path; choose a full path with the folder button"
        )
    return os.path.normpath(folder), None


class IMAGE_TO_RIG_OT_export(bpy.types.Operator):
    """Export the rig (as edited in Blender): model.json, texture atlas, web viewer, a .moc3 model folder for VTube Studio and a layered PSD"""

    bl_idname = "image_to_rig.export"
    bl_label = "Export Rig"

    directory: bpy.props.StringProperty(
        name="Folder",
        subtype="DIR_PATH",
        default="",
        description="Export folder (empty: the one chosen in the panel)",
    )
    filter_folder: bpy.props.BoolProperty(default=True, options={"HIDDEN", "SKIP_SAVE"})

    def invoke(self, context, event):
        """A folder browser, opened next to the saved .blend (or the panel's folder)."""
        if bpy.app.background or context.window is None:
            return self.execute(context)
        folder, _ = export_folder_path(context.scene.image_to_rig.export_dir, bpy.data.filepath)
        if folder is None and bpy.data.filepath:
            folder = os.path.dirname(bpy.data.filepath)
        self.directory = (folder or "") + (os.sep if folder else "")
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context):
        from ..scene import gather_document, rig_in_context

        rig = rig_in_context(context)
        if rig is None:
            self.report({"ERROR"}, "There is no rig to export: run Image to Rig on an image first")
            return {"CANCELLED"}
        folder, problem = export_folder_path(
            self.directory or context.scene.image_to_rig.export_dir, bpy.data.filepath
        )
        if problem:
            self.report({"ERROR"}, problem)
            return {"CANCELLED"}
        try:
            from ..core.formats.export_folder import export_folder

            doc = gather_document(rig.users_collection[0])
            warnings = []
            out = export_folder(doc, folder, warnings=warnings)
        except ValueError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        except Exception as exc:
            log.exception("Image to Rig: the export failed")
            self.report({"ERROR"}, f"Export failed: {type(exc).__name__}: {exc}")
            return {"CANCELLED"}
        if self.directory:  # what the browser chose becomes the panel's folder
            context.scene.image_to_rig.export_dir = self.directory
        context.scene.image_to_rig.status = f"Exported to {out}" + (f" ({warnings[0]})" if warnings else "")
        for warning in warnings:
            self.report({"WARNING"}, warning)
        self.report({"INFO"}, f"Exported the rig to {out}")
        return {"FINISHED"}
