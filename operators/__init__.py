# SPDX-License-Identifier: GPL-3.0-or-later
"""Operators: collect inputs, call core/scene, report in plain words."""

from . import controls, files, help, motions, pose
from .export import IMAGE_TO_RIG_OT_export
from .generate import IMAGE_TO_RIG_OT_generate

classes = (
    (IMAGE_TO_RIG_OT_generate, IMAGE_TO_RIG_OT_export)
    + motions.classes
    + controls.classes
    + pose.classes
    + files.classes
    + help.classes
)
