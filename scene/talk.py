# SPDX-License-Identifier: GPL-3.0-or-later
"""Talk from a recording: a lip-sync motion on the rig, the sound on the timeline.

core.stages.lipsync turns the audio's loudness envelope into mouth curves; here the
motion becomes the "Talk" Action (replacing an earlier one), the recording a
sound strip at frame 1 of the scene's sequencer, and the scene plays with
AV-sync so the mouth stays on the voice.
"""

from __future__ import annotations

import os

from . import compat
from . import keys as K
from .motion import activate_motion, create_motion_action, scene_fps

TALK_STRIP = "i2r talk"
AUDIO_EXTENSIONS = (".wav", ".mp3", ".ogg", ".flac")


class TalkError(ValueError):
    """The recording cannot be used for a talk motion; the message says why."""


def add_talk(rig, path: str, scene):
    """Build the Talk motion of the recording at `path`; returns the Action."""
    if not path or not os.path.isfile(path):
        raise TalkError(f"The recording {path or '(none)'} does not exist; choose a WAV, MP3 or OGG file")
    try:
        from ..core.stages.lipsync import load_audio, talk_motion
    except ImportError as exc:
        raise TalkError(f"Lip sync is not available in this build ({exc})") from exc
    from .gather import rig_document
    from .physics import bake_action_physics

    try:
        audio = load_audio(path)
    except ValueError as exc:
        name = os.path.basename(path)
        text = str(exc)
        raise TalkError(text if name in text else f"Could not use the recording {name}: {text}") from exc
    except Exception as exc:  # a decoder failing on a broken file
        raise TalkError(
            f"Could not read the recording {os.path.basename(path)}: {type(exc).__name__}: {exc}"
        ) from exc
    samples, rate = audio if isinstance(audio, tuple) else (audio.samples, audio.rate)
    doc = rig_document(rig, scene)
    fps = scene_fps(scene)
    motion = talk_motion(doc, samples, rate, fps)
    if not motion.curves:
        raise TalkError("This rig has no mouth parameter (ParamMouthOpenY) to lip-sync")
    action = create_motion_action(rig, motion, scene)
    if doc.physics:
        bake_action_physics(rig, action, scene)
    activate_motion(rig, action, scene)
    strip = add_sound_strip(scene, path)
    if strip is not None:
        scene.frame_end = max(scene.frame_end, strip.frame_final_end - 1)
    return action


def add_sound_strip(scene, path: str):
    """The recording at frame 1 of the sequencer (an earlier talk strip is removed);
    None where this Blender has no audio (the bpy 4.2 module is built without it)."""
    editor = scene.sequence_editor_create()
    strips = compat.sequencer_strips(editor)
    for strip in list(strips):
        if strip.get(K.TALK):
            strips.remove(strip)
    if not compat.has_audio():
        return None
    strip = strips.new_sound(TALK_STRIP, path, 1, 1)
    strip[K.TALK] = True
    scene.sync_mode = "AUDIO_SYNC"
    return strip
