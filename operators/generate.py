# SPDX-License-Identifier: GPL-3.0-or-later
"""Image to Rig: run the pipeline on an image and build the rigged scene.

Interactive (invoke): the heavy stages run in a worker process
(core/worker.py); a window-manager timer polls it, progress shows in the panel
and the status bar, Esc cancels (the worker is terminated and the scene is left
as it was), and the scene is built only at the end, on the main thread.
Headless (execute: scripts, the CLI, tests, background mode where timers never
fire): the same stages run synchronously.
"""

from __future__ import annotations

import logging
import os
import time

import bpy

from ..active_job import active_job, clear_active_job, set_active_job
from ..properties import backend_settings

log = logging.getLogger(__name__)

TIMER_STEP_S = 0.1
PIPELINE_SHARE = 0.9  # of the progress bar; building the scene is the rest
# Main-thread responsiveness of the last interactive run, for the console and the bench:
# timer ticks seen, longest gap between ticks, longest tick while the worker runs,
# longest poll (the last one receives and unpickles the result), the final build.
LAST_RUN_STATS: dict = {}


def pipeline_options(context, use_animeface: bool, mesh_density: float):
    """PipelineOptions from the scene's settings, the AI backend choices and the
    model paths of the add-on preferences."""
    from ..core.pipeline import PipelineOptions

    names, settings = backend_settings(context)
    ai = getattr(context.scene, "image_to_rig_ai", None)
    external = settings.get("external_command", "") if ai is not None and ai.use_external else ""
    return PipelineOptions(
        use_animeface=use_animeface,
        mesh_density=mesh_density,
        foreground_backend=names["foreground"],
        parts_backend=names["parts"],
        inpaint_backend=names["inpaint"],
        backend_settings=settings,
        external_command=external,
    )


def _checked_path(context, path: str, report):
    path = bpy.path.abspath(path) if path else ""
    if not path:
        report({"ERROR"}, "Choose an image first (the Image field of the Image to Rig panel)")
        return None
    if not os.path.isfile(path):
        report({"ERROR"}, f"The image {path} does not exist; check the path")
        return None
    return path


def _build(context, result, path: str, started: float, report):
    """Build the scene from a pipeline result (main thread); the collection or None."""
    from ..scene import build_scene
    from ..scene.replace import REPLACE, describe, replace_rig, rig_to_replace

    settings = context.scene.image_to_rig
    existing = rig_to_replace(context)
    old_name = existing.name if existing is not None else ""
    carried = None
    try:
        if existing is not None and getattr(settings, "on_rerun", REPLACE) == REPLACE:
            collection, carried = replace_rig(existing, result.doc, context.scene)
        else:
            collection = build_scene(result.doc, context.scene)
    except ValueError as exc:
        settings.status = f"Failed: {exc}"
        report({"ERROR"}, str(exc))
        return None
    except Exception as exc:
        log.exception("Image to Rig: building the scene failed")
        settings.status = "Failed (see the system console)"
        report({"ERROR"}, f"Image to Rig failed on {os.path.basename(path)}: {type(exc).__name__}: {exc}")
        return None
    for warning in result.warnings:
        report({"WARNING"}, warning)
    doc = result.doc
    seconds = time.perf_counter() - started
    settings.status = (
        f"Rigged {os.path.basename(path)}: {len(doc.meshes)} parts, "
        f"{len(doc.parameters)} parameters in {seconds:.1f} s"
    )
    rerun = describe(old_name, carried) if existing is not None else ""
    if rerun:
        settings.status += f"; {rerun}"
    report({"INFO"}, settings.status)
    return collection


def run_generate(context, path: str, use_animeface: bool, mesh_density: float, report, options=None):
    """Pipeline + scene build, synchronously; returns the new collection or None
    after reporting."""
    settings = context.scene.image_to_rig
    path = _checked_path(context, path, report)
    if path is None:
        return None
    wm = context.window_manager
    wm.progress_begin(0, 100)
    started = time.perf_counter()

    def progress(label: str, fraction: float) -> None:
        fraction = PIPELINE_SHARE * fraction if label != "building the scene" else fraction
        settings.status = f"Working: {label} ({int(fraction * 100)} %)"
        wm.progress_update(int(fraction * 100))

    try:
        try:
            from ..core.pipeline import PipelineOptions, run_pipeline
        except ImportError as exc:
            report(
                {"ERROR"}, f"Image to Rig is incomplete or missing a library ({exc}); reinstall the extension"
            )
            return None
        if options is None:
            options = PipelineOptions(use_animeface=use_animeface, mesh_density=mesh_density)
        try:
            result = run_pipeline(path, options, progress=progress)
        except ValueError as exc:  # bad input: the message is written for people
            settings.status = f"Failed: {exc}"
            report({"ERROR"}, str(exc))
            return None
        except Exception as exc:  # a bug: say so plainly, keep the details in the console
            log.exception("Image to Rig: the pipeline failed")
            settings.status = "Failed (see the system console)"
            report({"ERROR"}, f"Image to Rig failed on {os.path.basename(path)}: {type(exc).__name__}: {exc}")
            return None
        progress("building the scene", 0.95)
        return _build(context, result, path, started, report)
    finally:
        wm.progress_end()


def select_rig(context, collection) -> None:
    from ..scene import find_rig

    rig = find_rig(collection)
    if rig is None:
        return
    for obj in context.view_layer.objects.selected:
        if obj is not None:  # (a replaced rig's objects are gone)
            obj.select_set(False)
    rig.select_set(True)
    context.view_layer.objects.active = rig


def _redraw(context) -> None:
    screen = getattr(context, "screen", None)
    if screen is None:
        return
    for area in screen.areas:
        if area.type in ("VIEW_3D", "STATUSBAR"):
            area.tag_redraw()


def _status_bar(context, text) -> None:
    workspace = getattr(context, "workspace", None)
    if workspace is not None:
        workspace.status_text_set(text)


class IMAGE_TO_RIG_OT_generate(bpy.types.Operator):
    """Turn the chosen illustration into a rigged, animated 2D character (Esc cancels)"""

    bl_idname = "image_to_rig.generate"
    bl_label = "Image to Rig"
    bl_options = {"REGISTER", "UNDO"}

    filepath: bpy.props.StringProperty(
        name="Image",
        subtype="FILE_PATH",
        default="",
        description="Image to rig (empty: the one chosen in the panel)",
    )
    filter_glob: bpy.props.StringProperty(
        default="*.png;*.jpg;*.jpeg;*.webp;*.psd", options={"HIDDEN", "SKIP_SAVE"}
    )

    # --- headless: synchronous ------------------------------------------------
    def execute(self, context):
        settings = context.scene.image_to_rig
        path = self.filepath or settings.image_path
        options = None
        if getattr(context.scene, "image_to_rig_ai", None) is not None:
            options = pipeline_options(context, settings.use_animeface, settings.mesh_density)
        collection = run_generate(
            context, path, settings.use_animeface, settings.mesh_density, self.report, options=options
        )
        if collection is None:
            return {"CANCELLED"}
        select_rig(context, collection)
        return {"FINISHED"}

    # --- interactive: worker process + timer ------------------------------------
    def invoke(self, context, event):
        if bpy.app.background or context.window is None:
            return self.execute(context)
        started = self._start(context)
        if started != {"RUNNING_MODAL"}:
            return started
        context.window_manager.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def _start(self, context):
        """Start the worker (and the timer when there is a window)."""
        from ..core.worker import PipelineJob

        settings = context.scene.image_to_rig
        ai = context.scene.image_to_rig_ai
        if active_job() is not None:
            self.report({"WARNING"}, "Image to Rig is already working; wait or press Esc")
            return {"CANCELLED"}
        path = _checked_path(context, self.filepath or settings.image_path, self.report)
        if path is None:
            return {"CANCELLED"}
        options = pipeline_options(context, settings.use_animeface, settings.mesh_density)
        self._path = path
        self._started = time.perf_counter()
        try:
            self._job = PipelineJob(path, options).start()
        except Exception as exc:  # could not start a Python process here
            log.exception("Image to Rig: the worker process did not start")
            self.report(
                {"ERROR"},
                f"Image to Rig could not start its worker process ({exc}); "
                "running it in the foreground instead",
            )
            return self.execute(context)
        set_active_job(self._job)
        wm = context.window_manager
        self._timer = wm.event_timer_add(TIMER_STEP_S, window=context.window) if context.window else None
        wm.progress_begin(0, 100)
        self._last_tick = self._started
        self._stats = {
            "timer_ticks": 0,
            "longest_gap_s": 0.0,
            "longest_tick_s": 0.0,
            "longest_poll_s": 0.0,
            "build_s": 0.0,
        }
        ai.running = True
        self._show(context, "starting the worker", 0.0)
        return {"RUNNING_MODAL"}

    def _show(self, context, stage: str, fraction: float) -> None:
        ai = context.scene.image_to_rig_ai
        ai.progress = max(0.0, min(1.0, fraction))
        ai.progress_text = stage
        context.scene.image_to_rig.status = f"Working: {stage} ({int(fraction * 100)} %)"
        context.window_manager.progress_update(int(fraction * 100))
        _status_bar(context, f"Image to Rig: {stage} ({int(fraction * 100)} %), Esc cancels")
        _redraw(context)

    def _stop(self, context) -> None:
        clear_active_job(getattr(self, "_job", None))
        wm = context.window_manager
        if getattr(self, "_timer", None) is not None:
            wm.event_timer_remove(self._timer)
            self._timer = None
        wm.progress_end()
        _status_bar(context, None)
        ai = context.scene.image_to_rig_ai
        ai.running = False
        ai.progress = 0.0
        ai.progress_text = ""
        LAST_RUN_STATS.clear()
        LAST_RUN_STATS.update(self._stats)
        _redraw(context)

    def cancel(self, context):  # Blender calls this when the operator is aborted
        job = getattr(self, "_job", None)
        if job is not None:
            job.cancel()
            self._stop(context)

    def modal(self, context, event):
        if event.type == "ESC" and event.value == "PRESS":
            self._job.cancel()
            self._stop(context)
            context.scene.image_to_rig.status = "Cancelled"
            self.report({"INFO"}, "Image to Rig cancelled; the scene is unchanged")
            return {"CANCELLED"}
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        tick = time.perf_counter()
        self._stats["timer_ticks"] += 1
        self._stats["longest_gap_s"] = max(self._stats["longest_gap_s"], tick - self._last_tick)
        try:
            return self._on_tick(context)
        finally:
            done = time.perf_counter()
            if self._job is not None and not self._job.done:
                self._stats["longest_tick_s"] = max(self._stats["longest_tick_s"], done - tick)
            self._last_tick = done

    def _on_tick(self, context):
        t0 = time.perf_counter()
        messages = self._job.poll()  # includes receiving and unpickling the result
        self._stats["longest_poll_s"] = max(self._stats["longest_poll_s"], time.perf_counter() - t0)
        for message in messages:
            if message.kind == "progress":  # the pipeline fills 90 %, the build the rest
                self._show(context, message.stage, PIPELINE_SHARE * message.fraction)
            elif message.kind == "error":
                self._stop(context)
                settings = context.scene.image_to_rig
                if message.user_error:
                    settings.status = f"Failed: {message.error}"
                    self.report({"ERROR"}, message.error)
                else:
                    log.error("Image to Rig: the worker failed:\n%s", message.error)
                    settings.status = "Failed (see the system console)"
                    self.report(
                        {"ERROR"},
                        "Image to Rig failed on "
                        f"{os.path.basename(self._path)}: {message.error.splitlines()[0]}",
                    )
                return {"CANCELLED"}
            elif message.kind == "result":
                self._show(context, "building the scene", 0.95)
                t0 = time.perf_counter()
                collection = _build(context, message.result, self._path, self._started, self.report)
                self._stats["build_s"] = time.perf_counter() - t0
                self._stop(context)
                if collection is None:
                    return {"CANCELLED"}
                select_rig(context, collection)
                return {"FINISHED"}
        return {"RUNNING_MODAL"}
