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

(the keys are made in scene/keys.py; gather reads them back in scene/gather.py).

Timers never run in background Blender and scrubbing must be deterministic,
so physics is not simulated live: "Bake Physics" runs core.runtime.physics.bake_physics
for a motion and writes keyframes on the output (hair) parameters into that
motion's Action (export carries them; the web player simulates live anyway).
"""

from __future__ import annotations

import json

import numpy as np

from . import keys as K
from .keys import PHYSICS_VERTEX_FIELDS as VERTEX_FIELDS  # noqa: F401 (the panel reads it)
from .keys import physics_input_prop as input_prop
from .keys import physics_output_prop as output_prop
from .keys import physics_vertex_prop as vertex_prop
from .motion import FIRST_FRAME, PHYSICS_PARAMS_KEY, action_fcurves, base_curves, param_of_path
from .motion import remove_fcurve, scene_fps, write_param_keyframes

PHYSICS_KEY = K.PHYSICS


def _set_prop(rig, name: str, value: float, lo: float, hi: float, description: str) -> None:
    rig[name] = float(value)
    rig.id_properties_ui(name).update(
        min=lo, max=hi, soft_min=lo, soft_max=hi, default=float(value), description=description
    )


def store_physics(rig, settings) -> None:
    """Keep physics settings on the rig (structure as JSON, numbers as properties)."""
    from ..core.formats.model_json import physics_to_runtime

    for key in [k for k in rig.keys() if k.startswith(K.PHYSICS_PREFIX) and k != PHYSICS_KEY]:
        del rig[key]
    rig[PHYSICS_KEY] = json.dumps(physics_to_runtime(settings), separators=(",", ":"))
    for s, setting in enumerate(settings):
        for i, inp in enumerate(setting.inputs):
            _set_prop(
                rig,
                input_prop(s, i),
                inp.weight,
                0.0,
                100.0,
                f"{setting.name}: how much {inp.source} ({inp.type}) moves the pendulum",
            )
        for k, vert in enumerate(setting.vertices):
            if k == 0:
                continue
            for field, label, lo, hi in VERTEX_FIELDS:
                _set_prop(
                    rig,
                    vertex_prop(s, k, field),
                    getattr(vert, field),
                    lo,
                    hi,
                    f"{setting.name}: {label.lower()} of pendulum vertex {k}",
                )
        for j, out in enumerate(setting.outputs):
            _set_prop(
                rig,
                output_prop(s, j),
                out.scale,
                -10.0,
                10.0,
                f"{setting.name}: scale of the swing written to {out.destination}",
            )


def bake_action_physics(rig, action, scene) -> dict[str, tuple]:
    """Simulate the rig's physics over one motion; write the outputs as keyframes.

    Returns {parameter: (times, values)} as core.runtime.physics.bake_physics does."""
    from ..core.model.physics import validate_physics
    from ..core.runtime.physics import bake_physics
    from .gather import motion_of_action, rig_document

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
            remove_fcurve(action, fc)
    for param, (times, values) in baked.items():
        if param in rig:
            write_param_keyframes(action, rig, param, FIRST_FRAME + np.asarray(times) * fps, values)
    action[PHYSICS_PARAMS_KEY] = sorted(p for p in baked if p in rig)
    return baked


def physics_settings_for_panel(rig) -> list:
    """[(setting index, name, inputs, vertex count, outputs)] for drawing the panel."""
    text = rig.get(PHYSICS_KEY)
    if not text:
        return []
    out = []
    for s, item in enumerate(json.loads(text)):
        out.append((s, item.get("name", item["id"]), item["inputs"], len(item["vertices"]), item["outputs"]))
    return out
