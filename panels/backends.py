# SPDX-License-Identifier: GPL-3.0-or-later
"""The "AI backends" sub-panel: which backend runs each stage, the inpainting
prompt and seed, whether each backend can run here, and the progress of a run."""

from __future__ import annotations

import bpy

from ..properties import backend_settings

STAGE_LABELS = {"foreground": "Foreground", "parts": "Parts", "inpaint": "Hidden areas"}


def draw_progress(layout, context) -> bool:
    """Draw the running job's progress bar (for the main panel too); True if drawn."""
    from ..active_job import active_job

    ai = getattr(context.scene, "image_to_rig_ai", None)
    if ai is None or not ai.running or active_job() is None:  # (a file saved mid-run)
        return False
    text = f"{ai.progress_text} ({int(ai.progress * 100)} %), Esc cancels"
    if hasattr(layout, "progress"):
        layout.progress(factor=ai.progress, type="BAR", text=text)
    else:
        layout.label(text=text, icon="TIME")
    return True


class IMAGE_TO_RIG_PT_backends(bpy.types.Panel):
    bl_idname = "IMAGE_TO_RIG_PT_backends"
    bl_label = "AI Backends"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Image to Rig"
    bl_parent_id = "IMAGE_TO_RIG_PT_main"
    bl_options = {"DEFAULT_CLOSED"}
    bl_order = 0  # an input option: before Generate

    def draw(self, context):
        from ..core.backends import make_backend

        ai = context.scene.image_to_rig_ai
        layout = self.layout
        running = draw_progress(layout, context)
        names, settings = backend_settings(context)
        col = layout.column()
        col.enabled = not running
        col.prop(ai, "use_external")
        if ai.use_external:
            from ..core.backends.external import available

            ok, why = available(settings.get("external_command", ""))
            if not ok:
                col.label(text=why, icon="ERROR")
        for stage in ("foreground", "parts", "inpaint"):
            col.prop(ai, f"{stage}_backend", text=STAGE_LABELS[stage])
            ok, why = make_backend(stage, names[stage], settings).available()
            if not ok:
                box = col.box()
                for i, line in enumerate(_wrap(why, 48)):
                    box.label(text=line, icon="ERROR" if i == 0 else "BLANK1")
        if ai.inpaint_backend == "sd_inpaint":
            sub = col.column(align=True)
            sub.prop(ai, "prompt")
            sub.prop(ai, "seed")
            sub.prop(ai, "steps")
            sub.prop(ai, "strength", slider=True)
        layout.label(text="Models: Edit > Preferences > Add-ons > Image to Rig", icon="PREFERENCES")


def _wrap(text: str, width: int):
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    if line:
        lines.append(line)
    return lines or [""]


classes = (IMAGE_TO_RIG_PT_backends,)
