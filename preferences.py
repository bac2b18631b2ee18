# SPDX-License-Identifier: GPL-3.0-or-later
"""Add-on preferences: the model weights of the AI backends.

Each model shows where it is on disk, its size and recorded SHA-256, a path
field, a Check button (loads it and says what is wrong) and a Download button
that works only when Blender's online access is on AND the user clicks it.
Downloads run on a background thread (network I/O only; Blender stays
responsive), show progress, verify checksums, and Esc cancels them.
"""

from __future__ import annotations

import threading

import bpy
from bpy.props import EnumProperty, StringProperty

from .core.backends.weights import MODELS

ADDON_ID = __package__  # "image_to_rig", or "bl_ext.<repo>.image_to_rig" as an extension


def _default_models_dir() -> str:
    try:  # the extension's own writable folder (Blender 4.2+)
        return bpy.utils.extension_path_user(ADDON_ID, path="models", create=False)
    except (ValueError, AttributeError, RuntimeError):
        from .core.backends.weights import models_dir

        return models_dir()


def get_prefs(context=None):
    context = context or bpy.context
    addon = context.preferences.addons.get(ADDON_ID)
    return addon.preferences if addon is not None else None


def model_path(context, name: str) -> str:
    from .core.backends.weights import default_model_path

    prefs = get_prefs(context)
    if prefs is not None:
        path = getattr(prefs, f"{name}_path", "")
        if path:
            return bpy.path.abspath(path)
        base = bpy.path.abspath(prefs.models_dir) if prefs.models_dir else _default_models_dir()
        return default_model_path(name, base)
    return default_model_path(name, None)


def model_settings(context) -> dict:
    """The part of the backend settings that comes from the preferences."""
    prefs = get_prefs(context)
    return {
        "model_paths": {name: model_path(context, name) for name in MODELS},
        "device": prefs.device.lower() if prefs is not None else "auto",
        "external_command": prefs.external_command if prefs is not None else "",
    }


_STATUS: dict = {}  # model name -> last check / download message (not saved)
_DOWNLOADS: dict = {}  # model name -> {"done", "total", "file", "error", "thread", "cancel"}


def _path_prop(name, spec):
    subtype = "DIR_PATH" if spec.kind == "folder" else "FILE_PATH"
    return StringProperty(
        name="Path",
        subtype=subtype,
        default="",
        description=f"Where the {spec.label} weights are (empty: the models folder)",
    )


class ImageToRigPreferences(bpy.types.AddonPreferences):
    bl_idname = ADDON_ID

    models_dir: StringProperty(
        name="Models folder",
        subtype="DIR_PATH",
        default="",
        description="Where downloaded weights go (empty: the extension's own folder)",
    )
    device: EnumProperty(
        name="Device",
        default="AUTO",
        items=[
            ("AUTO", "Auto", "CUDA or Apple MPS when present, else CPU"),
            ("CPU", "CPU", "Always the CPU"),
            ("CUDA", "CUDA", "An NVIDIA GPU"),
            ("MPS", "Apple MPS", "Apple silicon GPU"),
        ],
    )
    external_command: StringProperty(
        name="Decomposition command",
        default="",
        description="Your own layered decomposition (e.g. a See-through installation), run "
        "instead of the built-in stages when chosen in the panel: a command with "
        "{input} (the illustration) and {output} (the PSD it writes) or {output_dir}",
    )

    def draw(self, context):
        from .core.backends.weights import model_status

        layout = self.layout
        layout.prop(self, "models_dir")
        layout.prop(self, "device")
        layout.prop(self, "external_command")
        online = bool(getattr(bpy.app, "online_access", False))
        if not online:
            layout.label(
                text="Online access is off (Preferences > System > Network): Download is disabled.",
                icon="INFO",
            )
        for name, spec in MODELS.items():
            box = layout.box()
            box.label(text=spec.label, icon="FILE_3D")
            box.prop(self, f"{name}_path")
            status = model_status(name, model_path(context, name))
            box.label(text=f"{status.path}: {status.describe()}")
            if name in _STATUS:
                box.label(text=_STATUS[name])
            job = _DOWNLOADS.get(name)
            if job and not job.get("finished"):
                total = job.get("total") or 0
                frac = job["done"] / total if total else 0.0
                text = f"Downloading {job['file']}: {job['done'] / 2**20:.0f} MiB"
                if hasattr(box, "progress"):
                    box.progress(factor=frac, type="BAR", text=text)
                else:
                    box.label(text=text)
            row = box.row()
            row.operator("image_to_rig.model_check", text="Check").model = name
            sub = row.row()
            sub.enabled = online and not (job and not job.get("finished"))
            sub.operator("image_to_rig.model_download", text="Download", icon="IMPORT").model = name
            box.label(text=f"From huggingface.co/{spec.repo_id} ({spec.source})")


for _name, _spec in MODELS.items():  # one path field per model
    ImageToRigPreferences.__annotations__[f"{_name}_path"] = _path_prop(_name, _spec)


class IMAGE_TO_RIG_OT_model_check(bpy.types.Operator):
    """Load this model's weights and say whether they work"""

    bl_idname = "image_to_rig.model_check"
    bl_label = "Check Model"
    bl_options = {"INTERNAL"}

    model: StringProperty()

    def execute(self, context):
        from .core.backends import check_model
        from .core.backends.weights import ModelError

        try:
            message = check_model(self.model, model_path(context, self.model))
        except ModelError as exc:
            _STATUS[self.model] = f"Not usable: {exc}"
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        _STATUS[self.model] = message
        self.report({"INFO"}, message)
        return {"FINISHED"}


class IMAGE_TO_RIG_OT_model_download(bpy.types.Operator):
    """Download this model from the Hugging Face Hub (needs online access; Esc cancels)"""

    bl_idname = "image_to_rig.model_download"
    bl_label = "Download Model"
    bl_options = {"INTERNAL"}

    model: StringProperty()

    def _refused(self):
        from .core.backends.weights import DownloadRefused, download_model

        try:
            download_model(self.model, online_access=False)
        except DownloadRefused as exc:
            _STATUS[self.model] = str(exc)
            self.report({"ERROR"}, str(exc))
        return {"CANCELLED"}

    def execute(self, context):  # headless: synchronous
        from .core.backends.weights import ModelError, download_model

        if not getattr(bpy.app, "online_access", False):
            return self._refused()
        try:
            path, sums = download_model(self.model, model_path(context, self.model), online_access=True)
        except ModelError as exc:
            _STATUS[self.model] = f"Download failed: {exc}"
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        _STATUS[self.model] = f"Downloaded and verified: {path}"
        self.report({"INFO"}, _STATUS[self.model])
        return {"FINISHED"}

    def invoke(self, context, event):
        if not getattr(bpy.app, "online_access", False):
            return self._refused()
        if bpy.app.background or context.window is None:
            return self.execute(context)
        from .core.backends.weights import ModelError, download_model

        state = {
            "done": 0,
            "total": None,
            "file": "",
            "error": "",
            "finished": False,
            "cancel": False,
            "path": "",
        }
        dest = model_path(context, self.model)
        name = self.model

        def progress(file, done, total):
            state.update(file=file, done=done, total=total)

        def work():
            try:
                state["path"], _ = download_model(
                    name, dest, online_access=True, progress=progress, cancelled=lambda: state["cancel"]
                )
            except ModelError as exc:
                state["error"] = str(exc)
            except Exception as exc:  # keep the thread from dying silently
                state["error"] = f"{type(exc).__name__}: {exc}"
            finally:
                state["finished"] = True

        state["thread"] = threading.Thread(target=work, name=f"i2r-download-{name}", daemon=True)
        _DOWNLOADS[name] = state
        state["thread"].start()
        wm = context.window_manager
        self._timer = wm.event_timer_add(0.25, window=context.window)
        wm.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        state = _DOWNLOADS[self.model]
        if event.type == "ESC" and event.value == "PRESS":
            state["cancel"] = True
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        for area in context.screen.areas if context.screen else ():
            if area.type == "PREFERENCES":
                area.tag_redraw()
        if not state["finished"]:
            return {"RUNNING_MODAL"}
        context.window_manager.event_timer_remove(self._timer)
        if state["error"]:
            _STATUS[self.model] = f"Download failed: {state['error']}"
            self.report({"ERROR"}, _STATUS[self.model])
            return {"CANCELLED"}
        _STATUS[self.model] = f"Downloaded and verified: {state['path']}"
        self.report({"INFO"}, _STATUS[self.model])
        return {"FINISHED"}


classes = (ImageToRigPreferences, IMAGE_TO_RIG_OT_model_check, IMAGE_TO_RIG_OT_model_download)
