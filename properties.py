# SPDX-License-Identifier: GPL-3.0-or-later
"""The add-on's settings in each scene (property groups), read by operators and panels.

``Scene.image_to_rig`` holds the input and the options of the main panel,
``Scene.image_to_rig_ai`` the AI backend choices and the progress of an
interactive run.  ``backend_settings`` turns them (and the model paths of the
add-on preferences) into what core.pipeline.PipelineOptions takes.
"""

from __future__ import annotations

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty, StringProperty

from .core.backends import REGISTRY
from .core.backends.sd_inpaint import DEFAULT_PROMPT


class ImageToRigSettings(bpy.types.PropertyGroup):
    # No FILE_PATH subtype: its own browse button would show every file; the panel's
    # folder button (image_to_rig.choose_image) shows only PNG, JPEG, WebP and PSD.
    image_path: StringProperty(
        name="Image",
        subtype="NONE",
        description="The character illustration to rig (PNG, JPEG, WebP or PSD); the folder "
        "button browses for one",
    )
    use_animeface: BoolProperty(
        name="Use animeface",
        default=True,
        description="Find the face with the animeface detector when it is installed",
    )
    mesh_density: FloatProperty(
        name="Mesh density",
        default=1.0,
        min=0.25,
        max=4.0,
        description="Scales how many vertices each part's mesh gets",
    )
    export_dir: StringProperty(
        name="Export folder",
        subtype="DIR_PATH",
        default="//rig_export",
        description="Folder that receives model.json, the texture atlas and the web viewer",
    )
    status: StringProperty(name="Status", default="")
    on_rerun: EnumProperty(
        name="If a rig exists",
        default="REPLACE",
        description="What running Image to Rig again does to the rig you are working on",
        items=[
            (
                "REPLACE",
                "Replace it",
                "Rebuild that rig in place, keeping your hand-edited "
                "shape keys and strengths where the layer still matches",
            ),
            ("KEEP", "Keep both", "Add the new rig beside the existing one"),
        ],
    )


def _items(stage):
    return [(cls.name, cls.label, f"Needs {cls.needs.describe()}") for cls in REGISTRY[stage]]


class ImageToRigAISettings(bpy.types.PropertyGroup):
    foreground_backend: EnumProperty(
        name="Foreground",
        items=_items("foreground"),
        description="How the character is cut from the background",
    )
    parts_backend: EnumProperty(
        name="Parts", items=_items("parts"), description="How hair, face, skin and clothes are told apart"
    )
    inpaint_backend: EnumProperty(
        name="Hidden areas",
        items=_items("inpaint"),
        description="How the parts hidden behind others are painted in",
    )
    prompt: StringProperty(
        name="Prompt",
        default=DEFAULT_PROMPT,
        description="Stable Diffusion prompt per layer; {tag} becomes the "
        "layer's name (face, back hair, ...)",
    )
    seed: IntProperty(name="Seed", default=0, min=0, description="Same seed, same painting")
    steps: IntProperty(
        name="Steps", default=20, min=1, max=150, description="Denoising steps (more: slower, finer)"
    )
    strength: FloatProperty(
        name="Strength",
        default=1.0,
        min=0.05,
        max=1.0,
        description="How far the hidden area may depart from the colours around it (1: fully repainted)",
    )
    use_external: BoolProperty(
        name="Use my decomposition command",
        default=False,
        description="Run the decomposition command set in the add-on preferences (e.g. "
        "See-through) and rig the PSD it writes, instead of the stages above",
    )
    # progress of an interactive run (read by the panels)
    running: BoolProperty(name="Running", default=False, options={"SKIP_SAVE"})
    progress: FloatProperty(
        name="Progress", default=0.0, min=0.0, max=1.0, subtype="FACTOR", options={"SKIP_SAVE"}
    )
    progress_text: StringProperty(name="Stage", default="", options={"SKIP_SAVE"})


def backend_settings(context):
    """({stage: backend name}, picklable settings dict) for PipelineOptions."""
    from .preferences import model_settings

    ai = getattr(context.scene, "image_to_rig_ai", None)
    settings = model_settings(context)
    if ai is None:
        return {"foreground": "builtin", "parts": "builtin", "inpaint": "builtin"}, settings
    settings.update(
        {"prompt": ai.prompt, "seed": int(ai.seed), "steps": int(ai.steps), "strength": float(ai.strength)}
    )
    return (
        {"foreground": ai.foreground_backend, "parts": ai.parts_backend, "inpaint": ai.inpaint_backend},
        settings,
    )


classes = (ImageToRigSettings, ImageToRigAISettings)
