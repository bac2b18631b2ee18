# SPDX-License-Identifier: GPL-3.0-or-later
"""Blender registration: settings, operators, panels, the motion strength property."""

from __future__ import annotations

import bpy
from bpy.props import FloatProperty, PointerProperty

from .operators import classes as operator_classes
from .panels import classes as panel_classes
from .preferences import classes as preference_classes
from .properties import ImageToRigAISettings, ImageToRigSettings
from .properties import classes as property_classes


def _get_motion_strength(action):
    from .scene.motion import get_strength_property

    return get_strength_property(action)


def _set_motion_strength(action, value):
    from .scene.motion import set_strength_property

    set_strength_property(action, value)


def _motion_strength_changed(action, context):
    from .scene.motion import on_motion_strength_changed

    on_motion_strength_changed(action, context)


classes = tuple(property_classes) + tuple(operator_classes) + tuple(panel_classes)
classes += tuple(preference_classes)


def register() -> None:
    for cls in classes:
        bpy.utils.register_class(cls)
    bpy.types.Scene.image_to_rig = PointerProperty(type=ImageToRigSettings)
    bpy.types.Scene.image_to_rig_ai = PointerProperty(type=ImageToRigAISettings)
    bpy.types.Action.i2r_strength = FloatProperty(
        name="Strength",
        default=1.0,
        min=0.0,
        max=3.0,
        soft_min=0.0,
        soft_max=2.0,
        description="Scales this motion around the parameter defaults",
        get=_get_motion_strength,
        set=_set_motion_strength,
        update=_motion_strength_changed,
    )


def unregister() -> None:
    from .core.worker import shutdown_idle_worker

    shutdown_idle_worker()  # the pipeline worker and the models it holds
    del bpy.types.Action.i2r_strength
    del bpy.types.Scene.image_to_rig
    del bpy.types.Scene.image_to_rig_ai
    for cls in reversed(classes):
        bpy.utils.unregister_class(cls)
