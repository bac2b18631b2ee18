# SPDX-License-Identifier: GPL-3.0-or-later
"""Hair physics on the rig: settings in Cubism physics3 terms, baked onto the timeline.

The structure of ``doc.physics`` (which parameters feed and receive each
pendulum) is kept as JSON on the rig (``i2r_physics``, the model.json form);
the numbers a person tunes are custom properties of the rig, shown in the
panel and read back by gather:

* ``i2r_phys<s>_in<i>_weight``   input weight (0..100) of input i of setting s
* ``i2r_phys<s>_v<k>_radius``    pendulum length of vertex k (k >= 1)
* ``i2r_phys<s>_v<k>_delay``     delay (reaction speed) of vertex k
* ``i2r_phys<s>_v<k>_mobility``  mobility (how much swing is kept) of vertex k
* ``i2r_phys<s>_v<k>_acceleration``
* ``i2r_phys<s>_out<j>_scale``   output scale of output j

Timers never run in background Blender and scrubbing must be deterministic,
so physics is not simulated live: "Bake Physics" runs core.runtime.physics.bake_physics
for a motion and writes keyframes on the output (hair) parameters into that
motion's Action (export carries them; the web player simulates live anyway).
"""
from __future__ import annotations

import json
from typing import Dict, List

import numpy as np

from ..core.model.document import Canvas, Motion, MotionCurve, Parameter, RigDocument
from . import drivers as drv
from .motion import (FIRST_FRAME, PHYSICS_PARAMS_KEY, action_fcurves, base_curves,
                     motion_strength, param_of_path, scene_fps, write_param_keyframes)

PHYSICS_KEY = "i2r_physics"
VERTEX_FIELDS = (  # (field, label, min, max)
    ("radius", "Pendulum length", 0.0, 200.0),
    ("delay", "Delay", 0.01, 3.0),
    ("mobility", "Mobility", 0.0, 1.0),
    ("acceleration", "Acceleration", 0.0, 5.0),
)


def input_prop(s: int, i: int) -> str:
    return f"i2r_phys{s}_in{i}_weight"


def vertex_prop(s: int, k: int, field: str) -> str:
    return f"i2r_phys{s}_v{k}_{field}"


def output_prop(s: int, j: int) -> str:
    return f"i2r_phys{s}_out{j}_scale"


def _set_prop(rig, name: str, value: float, lo: float, hi: float, description: str) -> None:
    rig[name] = float(value)
    rig.id_properties_ui(name).update(min=lo, max=hi, soft_min=lo, soft_max=hi,
                                      default=float(value), description=description)


def store_physics(rig, settings) -> None:
    """Keep physics settings on the rig (structure as JSON, numbers as properties)."""
    from ..core.formats.model_json import physics_to_runtime
    for key in [k for k in rig.keys() if k.startswith("i2r_phys") and k != PHYSICS_KEY]:
        del rig[key]
    rig[PHYSICS_KEY] = json.dumps(physics_to_runtime(settings), separators=(",", ":"))
    for s, setting in enumerate(settings):
        for i, inp in enumerate(setting.inputs):
            _set_prop(rig, input_prop(s, i), inp.weight, 0.0, 100.0,
                      f"{setting.name}: how much {inp.source} ({inp.type}) moves the pendulum")
        for k, vert in enumerate(setting.vertices):
            if k == 0:
                continue
            for field, label, lo, hi in VERTEX_FIELDS:
                _set_prop(rig, vertex_prop(s, k, field), getattr(vert, field), lo, hi,
                          f"{setting.name}: {label.lower()} of pendulum vertex {k}")
        for j, out in enumerate(setting.outputs):
            _set_prop(rig, output_prop(s, j), out.scale, -10.0, 10.0,
                      f"{setting.name}: scale of the swing written to {out.destination}")


def gather_physics(rig) -> list:
    """The rig's physics settings with the numbers as edited in the panel."""
    from ..core.formats.model_json import physics_from_runtime
    text = rig.get(PHYSICS_KEY)
    if not text:
        return []
    settings = physics_from_runtime(json.loads(text))
    for s, setting in enumerate(settings):
        for i, inp in enumerate(setting.inputs):
            inp.weight = float(rig.get(input_prop(s, i), inp.weight))
        for k, vert in enumerate(setting.vertices):
            for field, _, _, _ in VERTEX_FIELDS:
                name = vertex_prop(s, k, field)
                if k and name in rig:
                    setattr(vert, field, float(rig[name]))
        for j, out in enumerate(setting.outputs):
            out.scale = float(rig.get(output_prop(s, j), out.scale))
    return settings


def gather_parameters(rig) -> List[Parameter]:
    from .build import parameter_meta
    out = []
    for meta in parameter_meta(rig):
        pid = meta["id"]
        if pid not in rig:
            continue
        ui = rig.id_properties_ui(pid).as_dict()
        out.append(Parameter(
            pid, float(ui["min"]), float(ui["default"]), float(ui["max"]),
            name=meta.get("name", ""), group=meta.get("group", ""),
            confidence=float(rig.get(confidence_prop(pid), meta.get("confidence", 1.0))),
            strength=float(rig.get(drv.strength_prop(pid), 1.0))))
    return out


def confidence_prop(param_id: str) -> str:
    return "i2r_confidence_" + param_id


def rig_document(rig, scene=None) -> RigDocument:
    """A light document of the rig: canvas, parameters, physics (no meshes).

    Enough for motion makers and physics baking, and fast (no images read)."""
    W, H = (int(v) for v in rig["i2r_canvas"])
    doc = RigDocument(Canvas(W, H), source=str(rig.get("i2r_source", "")))
    doc.parameters = gather_parameters(rig)
    doc.physics = gather_physics(rig)
    return doc


def motion_of_action(rig, action, scene) -> Motion:
    """The action's motion without the curves physics wrote (its inputs only)."""
    physics_params = set(action.get(PHYSICS_PARAMS_KEY, []))
    fps = scene_fps(scene)
    base = base_curves(action)
    strength = motion_strength(action)
    curves = [MotionCurve(p, np.asarray(t, np.float64), np.asarray(v, np.float64))
              for p, (t, v) in base.items() if p not in physics_params and p in rig]
    for fc in action_fcurves(action):  # curves added by hand
        param = param_of_path(fc.data_path)
        if param is None or param in base or param in physics_params or param not in rig:
            continue
        co = np.empty(len(fc.keyframe_points) * 2, np.float32)
        fc.keyframe_points.foreach_get("co", co)
        co = co.reshape(-1, 2).astype(np.float64)
        default = float(rig.id_properties_ui(param).as_dict().get("default", 0.0))
        values = co[:, 1] if strength <= 1e-6 else default + (co[:, 1] - default) / strength
        curves.append(MotionCurve(param, (co[:, 0] - FIRST_FRAME) / fps, values))
    return Motion(action.get("i2r_motion", action.name), float(action.get("i2r_duration", 0.0)),
                  curves, loop=bool(action.get("i2r_loop", True)), fps=fps, strength=strength)


def bake_action_physics(rig, action, scene) -> Dict[str, tuple]:
    """Simulate the rig's physics over one motion; write the outputs as keyframes.

    Returns {parameter: (times, values)} as core.runtime.physics.bake_physics does."""
    from ..core.model.physics import validate_physics
    from ..core.runtime.physics import bake_physics
    doc = rig_document(rig, scene)
    if not doc.physics:
        return {}
    validate_physics(doc)
    fps = scene_fps(scene)
    motion = motion_of_action(rig, action, scene)
    baked = bake_physics(doc, motion, fps)
    # Remove keyframes of an earlier bake whose output is gone.
    stale = set(action.get(PHYSICS_PARAMS_KEY, [])) - set(baked)
    for fc in list(action_fcurves(action)):
        if param_of_path(fc.data_path) in stale and param_of_path(fc.data_path) not in base_curves(action):
            _channelbag_remove(action, fc)
    for param, (times, values) in baked.items():
        if param in rig:
            write_param_keyframes(action, rig, param, FIRST_FRAME + np.asarray(times) * fps, values)
    action[PHYSICS_PARAMS_KEY] = sorted(p for p in baked if p in rig)
    return baked


def _channelbag_remove(action, fcurve) -> None:
    from bpy_extras import anim_utils
    bag = anim_utils.action_get_channelbag_for_slot(action, action.slots[0])
    bag.fcurves.remove(fcurve)


def physics_settings_for_panel(rig) -> list:
    """[(setting index, name, inputs, vertex count, outputs)] for drawing the panel."""
    text = rig.get(PHYSICS_KEY)
    if not text:
        return []
    out = []
    for s, item in enumerate(json.loads(text)):
        out.append((s, item.get("name", item["id"]), item["inputs"], len(item["vertices"]),
                    item["outputs"]))
    return out
