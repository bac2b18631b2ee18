# SPDX-License-Identifier: GPL-3.0-or-later
"""Motions: switch the playing motion, bake physics, talk from a recording."""

from __future__ import annotations

import logging

import bpy

from ..scene import keys as K

log = logging.getLogger(__name__)


def rig_or_report(op, context):
    """The rig the operator works on, or None after telling the user there is none."""
    from ..scene import rig_in_context

    rig = rig_in_context(context)
    if rig is None:
        op.report({"ERROR"}, "There is no rig here: run Image to Rig on an image first")
    return rig


class IMAGE_TO_RIG_OT_play_motion(bpy.types.Operator):
    """Make this motion the one on the timeline (sets the action and the frame range)"""

    bl_idname = "image_to_rig.play_motion"
    bl_label = "Use Motion"
    bl_options = {"REGISTER", "UNDO"}

    motion: bpy.props.StringProperty(name="Motion", description="Id of the motion to play")

    def execute(self, context):
        from ..scene.motion import activate_motion, find_motion

        rig = rig_or_report(self, context)
        if rig is None:
            return {"CANCELLED"}
        action = find_motion(rig, self.motion)
        if action is None:
            self.report({"ERROR"}, f"The rig has no motion called {self.motion!r}")
            return {"CANCELLED"}
        activate_motion(rig, action, context.scene)
        return {"FINISHED"}


class IMAGE_TO_RIG_OT_bake_physics(bpy.types.Operator):
    """Simulate the hair physics over the motion and key the hair parameters on the timeline"""

    bl_idname = "image_to_rig.bake_physics"
    bl_label = "Bake Physics"
    bl_options = {"REGISTER", "UNDO"}

    all_motions: bpy.props.BoolProperty(
        name="All motions",
        default=False,
        description="Bake every motion of the rig, not only the one on the timeline",
    )

    def execute(self, context):
        from ..core.stages.hair_physics import default_hair_physics
        from ..scene.motion import motions_of_rig
        from ..scene.gather import rig_document
        from ..scene.physics import bake_action_physics, store_physics

        rig = rig_or_report(self, context)
        if rig is None:
            return {"CANCELLED"}
        doc = rig_document(rig)
        if not doc.physics:
            settings = default_hair_physics(doc)
            if not settings:
                self.report(
                    {"ERROR"},
                    "This rig has no hair parameters (ParamHairFront, "
                    "ParamHairSide, ParamHairBack) for physics to move",
                )
                return {"CANCELLED"}
            store_physics(rig, settings)
        active = rig.animation_data.action if rig.animation_data else None
        actions = motions_of_rig(rig) if self.all_motions or active is None else [active]
        if not actions:
            self.report({"ERROR"}, "The rig has no motion to bake physics into")
            return {"CANCELLED"}
        try:
            baked = {}
            for action in actions:
                baked.update(bake_action_physics(rig, action, context.scene))
        except ValueError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        except Exception as exc:
            log.exception("Image to Rig: baking physics failed")
            self.report({"ERROR"}, f"Baking physics failed: {type(exc).__name__}: {exc}")
            return {"CANCELLED"}
        names = ", ".join(a.get(K.MOTION, a.name) for a in actions)
        self.report({"INFO"}, f"Baked physics of {len(baked)} hair parameters into {names}")
        return {"FINISHED"}


class IMAGE_TO_RIG_OT_talk(bpy.types.Operator):
    """Lip-sync the rig to a recording (WAV, MP3 or OGG): a Talk motion plus the sound on the timeline"""

    bl_idname = "image_to_rig.talk"
    bl_label = "Talk from Audio"
    bl_options = {"REGISTER", "UNDO"}

    filepath: bpy.props.StringProperty(name="Recording", subtype="FILE_PATH", default="")
    filter_glob: bpy.props.StringProperty(default="*.wav;*.mp3;*.ogg;*.flac", options={"HIDDEN"})

    def invoke(self, context, event):
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context):
        from ..scene.talk import add_talk

        rig = rig_or_report(self, context)
        if rig is None:
            return {"CANCELLED"}
        path = bpy.path.abspath(self.filepath) if self.filepath else ""
        try:
            action = add_talk(rig, path, context.scene)
        except ValueError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        except Exception as exc:
            log.exception("Image to Rig: the talk motion failed")
            self.report({"ERROR"}, f"Talk failed: {type(exc).__name__}: {exc}")
            return {"CANCELLED"}
        seconds = float(action.get(K.DURATION, 0.0))
        from ..scene.compat import has_audio

        if not has_audio():
            self.report(
                {"WARNING"},
                f"Talk motion of {seconds:.1f} s made; this Blender was built "
                "without audio, so the recording is not on the timeline",
            )
            return {"FINISHED"}
        self.report({"INFO"}, f"Talk motion of {seconds:.1f} s made; press Play to hear it")
        return {"FINISHED"}


classes = (IMAGE_TO_RIG_OT_play_motion, IMAGE_TO_RIG_OT_bake_physics, IMAGE_TO_RIG_OT_talk)
