# SPDX-License-Identifier: GPL-3.0-or-later
"""What drives the rig's sliders: no motion, a held pose, or a motion.

With a motion on the timeline every parameter it animates snaps back to its
curve on each frame change, Play and F12 render, so a slider a user set is lost.
The rig says plainly which of three states it is in (``K.ANIMATION_MODE``):

* ``NONE``   no action: the sliders are what you set, everywhere on the timeline;
* ``POSE``   "pose from sliders": the current values of every parameter are
             keyed (constant) into the rig's own Pose action, so frame changes,
             Play and F12 show and render exactly that pose;
* ``MOTION`` one of the rig's motions plays (scene/motion.py).

The sliders are ordinary keyable custom properties: ``key_sliders`` keys them
at a frame into whatever action drives the rig (the Pose action when none does).
The Pose action is not a motion: it is never exported as one.
"""

from __future__ import annotations


import bpy

from . import compat
from . import keys as K
from .motion import FIRST_FRAME, activate_motion, find_motion

MODES = ("NONE", "POSE", "MOTION")
POSE_ACTION_SUFFIX = " pose"


def parameter_ids(rig) -> list[str]:
    return [m["id"] for m in K.parameter_meta(rig) if m["id"] in rig]


def slider_values(rig) -> dict[str, float]:
    return {p: float(rig[p]) for p in parameter_ids(rig)}


def animation_mode(rig) -> str:
    """The rig's state, as stored, checked against what actually drives it."""
    action = compat.active_action(rig)
    if action is None:
        return "NONE"
    if action.get(K.POSE_OF) == rig.get(K.RIG_UID):
        return "POSE"
    return "MOTION"


def pose_action(rig, create: bool = False):
    """The rig's own Pose action (made when `create`)."""
    uid = rig.get(K.RIG_UID)
    for action in bpy.data.actions:
        if uid is not None and action.get(K.POSE_OF) == uid:
            return action
    if not create:
        return None
    action = bpy.data.actions.new(rig.name + POSE_ACTION_SUFFIX)
    action.use_fake_user = True
    action[K.POSE_OF] = uid
    return action


def _key_constant(action, rig, param: str, frame: float, value: float) -> None:
    fc = compat.ensure_fcurve(action, rig, f'["{param}"]')
    for kp in list(fc.keyframe_points):
        if abs(kp.co[0] - frame) < 1e-6:
            fc.keyframe_points.remove(kp)
    kp = fc.keyframe_points.insert(frame, value, options={"FAST"})
    kp.interpolation = "CONSTANT"
    fc.update()


def clear_motion(rig, scene=None) -> None:
    """No action on the rig: the sliders hold what the user sets."""
    values = slider_values(rig)
    compat.assign_action(rig, None)
    for param, value in values.items():  # what was on screen stays on screen
        rig[param] = value
    rig[K.ANIMATION_MODE] = "NONE"
    rig.update_tag()


def pose_from_sliders(rig, scene) -> object:
    """Key the current value of every parameter (constant) into the rig's Pose
    action and make it the rig's action: frames, Play and F12 show this pose."""
    values = slider_values(rig)
    action = pose_action(rig, create=True)
    compat.assign_action(rig, None)
    for fc in compat.action_fcurves(action):  # a fresh pose, not a mix with an old one
        compat.remove_fcurve(action, fc)
    for param, value in values.items():
        _key_constant(action, rig, param, float(FIRST_FRAME), value)
    compat.assign_action(rig, action)
    for param, value in values.items():
        rig[param] = value
    rig[K.ANIMATION_MODE] = "POSE"
    rig.update_tag()
    return action


def play_motion(rig, scene, motion_id: str):
    action = find_motion(rig, motion_id)
    if action is None:
        raise ValueError(f"The rig has no motion called {motion_id!r}")
    activate_motion(rig, action, scene)
    rig[K.ANIMATION_MODE] = "MOTION"
    return action


def key_sliders(rig, scene, frame=None, params=None) -> int:
    """Key the sliders' current values at `frame` (the current frame) into the
    rig's action; with no action, into the Pose action.  Returns how many were keyed."""
    frame = float(scene.frame_current if frame is None else frame)
    action = compat.active_action(rig)
    if action is None:
        action = pose_action(rig, create=True)
        compat.assign_action(rig, action)
        rig[K.ANIMATION_MODE] = "POSE"
    values = slider_values(rig)
    chosen = [p for p in (params or values) if p in values]
    holding = action.get(K.POSE_OF) is not None
    for param in chosen:
        fc = compat.ensure_fcurve(action, rig, f'["{param}"]')
        fc.keyframe_points.insert(frame, values[param], options={"FAST"})
        if holding:  # keying over a held pose animates it: its keys ease from one to the next
            for kp in fc.keyframe_points:
                kp.interpolation = "BEZIER"
        fc.update()
    return len(chosen)
