# SPDX-License-Identifier: GPL-3.0-or-later
"""Image to Rig: run the pipeline on an image and build the rigged scene."""
from __future__ import annotations

import os
import time
import traceback

import bpy


def run_generate(context, path: str, use_animeface: bool, mesh_density: float, report):
    """Pipeline + scene build; returns the new collection or None after reporting."""
    settings = context.scene.image_to_rig
    path = bpy.path.abspath(path) if path else ""
    if not path:
        report({"ERROR"}, "Choose an image first (the Image field of the Image to Rig panel)")
        return None
    if not os.path.isfile(path):
        report({"ERROR"}, f"The image {path} does not exist; check the path")
        return None
    wm = context.window_manager
    wm.progress_begin(0, 100)
    started = time.perf_counter()

    def progress(label: str, fraction: float) -> None:
        settings.status = f"Working: {label} ({int(fraction * 100)} %)"
        wm.progress_update(int(fraction * 100))

    try:
        try:
            from ..core.pipeline import PipelineOptions, run_pipeline
        except ImportError as exc:
            report({"ERROR"}, f"Image to Rig is incomplete or missing a library ({exc}); "
                              "reinstall the extension")
            return None
        from ..scene import build_scene
        try:
            result = run_pipeline(path, PipelineOptions(use_animeface=use_animeface,
                                                        mesh_density=mesh_density),
                                  progress=progress)
            progress("building the scene", 0.95)
            collection = build_scene(result.doc, context.scene)
        except ValueError as exc:  # bad input: the message is written for people
            settings.status = f"Failed: {exc}"
            report({"ERROR"}, str(exc))
            return None
        except Exception as exc:  # a bug: say so plainly, keep the details in the console
            traceback.print_exc()
            settings.status = "Failed (see the system console)"
            report({"ERROR"}, f"Image to Rig failed on {os.path.basename(path)}: "
                              f"{type(exc).__name__}: {exc}")
            return None
    finally:
        wm.progress_end()
    for warning in result.warnings:
        report({"WARNING"}, warning)
    doc = result.doc
    seconds = time.perf_counter() - started
    settings.status = (f"Rigged {os.path.basename(path)}: {len(doc.meshes)} parts, "
                       f"{len(doc.parameters)} parameters in {seconds:.1f} s")
    report({"INFO"}, settings.status)
    return collection


def select_rig(context, collection) -> None:
    from ..scene import find_rig
    rig = find_rig(collection)
    if rig is None:
        return
    for obj in context.view_layer.objects.selected:
        obj.select_set(False)
    rig.select_set(True)
    context.view_layer.objects.active = rig


class IMAGE_TO_RIG_OT_generate(bpy.types.Operator):
    """Turn the chosen illustration into a rigged, animated 2D character"""

    bl_idname = "image_to_rig.generate"
    bl_label = "Image to Rig"
    bl_options = {"REGISTER", "UNDO"}

    filepath: bpy.props.StringProperty(
        name="Image", subtype="FILE_PATH", default="",
        description="Image to rig (empty: the one chosen in the panel)")

    def execute(self, context):
        settings = context.scene.image_to_rig
        path = self.filepath or settings.image_path
        collection = run_generate(context, path, settings.use_animeface, settings.mesh_density,
                                  self.report)
        if collection is None:
            return {"CANCELLED"}
        select_rig(context, collection)
        return {"FINISHED"}
