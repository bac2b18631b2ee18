# SPDX-License-Identifier: GPL-3.0-or-later
"""Motions as Actions on the rig: keyframes = base curves scaled by strength.

The base curves (what the pipeline made) stay on the Action as JSON, so the
strength slider can rescale around the parameter defaults without drift; the
scaling matches core.model.strength.baked_curve (clamped to the range).
"""

from __future__ import annotations

import json

import bpy
import numpy as np

from . import compat
from . import keys as K
from .keys import rig_of_action

FIRST_FRAME = 1
STRENGTH_KEY = K.MOTION_STRENGTH  # custom property of the Action: the truth
PHYSICS_PARAMS_KEY = K.PHYSICS_PARAMS  # parameters whose keyframes physics baked


def motion_strength(action) -> float:
    return float(action.get(STRENGTH_KEY, 1.0))


def get_strength_property(action) -> float:
    """Getter of the registered Action.i2r_strength (stored as a custom property
    so that build and gather work with or without the add-on registered)."""
    return motion_strength(action)


def set_strength_property(action, value: float) -> None:
    action[STRENGTH_KEY] = float(value)


def action_fcurves(action) -> list:
    """The F-Curves of the action (its first slot's where actions have slots)."""
    return compat.action_fcurves(action)


def remove_fcurve(action, fcurve) -> None:
    compat.remove_fcurve(action, fcurve)


def param_of_path(data_path: str) -> str | None:
    if data_path.startswith('["') and data_path.endswith('"]'):
        return data_path[2:-2]
    return None


def base_curves(action) -> dict[str, tuple[list[float], list[float]]]:
    return json.loads(action.get(K.BASE_CURVES, "{}"))


def scaled_values(rig, param: str, values, strength: float) -> np.ndarray:
    ui = rig.id_properties_ui(param).as_dict()
    default, lo, hi = float(ui.get("default", 0.0)), float(ui["min"]), float(ui["max"])
    v = default + strength * (np.asarray(values, np.float64) - default)
    return np.clip(v, lo, hi)


def scene_fps(scene) -> float:
    return scene.render.fps / scene.render.fps_base


def write_motion_keyframes(action, rig, scene) -> None:
    """(Re)write every curve's keyframes from the base curves and the strength."""
    strength = motion_strength(action)
    curves = base_curves(action)
    fps = scene_fps(scene)
    for fc in action_fcurves(action):
        param = param_of_path(fc.data_path)
        if param not in curves or param not in rig:
            continue
        times, values = curves[param]
        vals = scaled_values(rig, param, values, strength)
        frames = FIRST_FRAME + np.asarray(times, np.float64) * fps
        points = fc.keyframe_points
        if len(points) != len(frames):
            points.clear()
            points.add(len(frames))
        co = np.stack([frames, vals], axis=1).astype(np.float32).ravel()
        points.foreach_set("co", co)
        for kp in points:
            kp.interpolation = "LINEAR"
            kp.handle_left_type = "VECTOR"
            kp.handle_right_type = "VECTOR"
        fc.update()


def on_motion_strength_changed(action, context) -> None:
    """Update callback of Action.i2r_strength (registered in registration.py).

    Physics baked into the motion follows its inputs, so it is baked again."""
    rig = rig_of_action(action)
    if rig is not None:
        write_motion_keyframes(action, rig, context.scene)
        if action.get(PHYSICS_PARAMS_KEY):
            from .physics import bake_action_physics

            bake_action_physics(rig, action, context.scene)


def motions_of_rig(rig) -> list:
    uid = rig.get(K.RIG_UID)
    return [a for a in bpy.data.actions if uid is not None and a.get(K.ACTION_RIG) == uid]


def _as_json(value) -> str:
    return json.dumps(value, separators=(",", ":"))


def create_motion_action(rig, motion, scene):
    """A new Action on the rig for a core Motion (keyframes = base curves x strength).

    Replaces an earlier action of the same motion id on this rig (e.g. a new
    Talk from another recording)."""
    for old in motions_of_rig(rig):
        if old.get(K.MOTION, old.name) == motion.id:
            if rig.animation_data is not None and rig.animation_data.action == old:
                rig.animation_data.action = None
            bpy.data.actions.remove(old)
    ad = rig.animation_data_create()
    act = bpy.data.actions.new(motion.id)
    act.use_fake_user = True
    act[K.ACTION_RIG] = rig[K.RIG_UID]
    act[K.MOTION] = motion.id
    act[K.DURATION] = float(motion.duration)
    act[K.LOOP] = bool(motion.loop)
    act[K.FPS] = float(motion.fps)
    act[STRENGTH_KEY] = float(motion.strength)
    act[K.BASE_CURVES] = _as_json(
        {
            c.param: [np.asarray(c.times, np.float64).tolist(), np.asarray(c.values, np.float64).tolist()]
            for c in motion.curves
        }
    )
    previous = ad.action
    compat.assign_action(rig, act)
    for c in motion.curves:
        compat.ensure_fcurve(act, rig, f'["{c.param}"]')
    write_motion_keyframes(act, rig, scene)
    ad.action = previous
    return act


def motion_frame_range(action, scene) -> tuple[int, int]:
    fps = scene_fps(scene)
    return FIRST_FRAME, max(FIRST_FRAME, int(round(float(action.get(K.DURATION, 0.0)) * fps)))


def activate_motion(rig, action, scene) -> None:
    """Make `action` the rig's playing motion and fit the timeline to it."""
    compat.assign_action(rig, action)
    scene.frame_start, scene.frame_end = motion_frame_range(action, scene)
    scene.frame_set(scene.frame_start)


def find_motion(rig, motion_id: str):
    for action in motions_of_rig(rig):
        if action.get(K.MOTION, action.name) == motion_id:
            return action
    return None


def write_param_keyframes(action, rig, param: str, frames, values) -> None:
    """Linear keyframes of one rig parameter in the action (created when missing)."""
    path = f'["{param}"]'
    fc = compat.ensure_fcurve(action, rig, path)
    points = fc.keyframe_points
    points.clear()
    points.add(len(frames))
    co = np.stack([np.asarray(frames, np.float64), np.asarray(values, np.float64)], axis=1)
    points.foreach_set("co", co.astype(np.float32).ravel())
    for kp in points:
        kp.interpolation = "LINEAR"
        kp.handle_left_type = "VECTOR"
        kp.handle_right_type = "VECTOR"
    fc.update()
