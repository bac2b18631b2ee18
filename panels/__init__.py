# SPDX-License-Identifier: GPL-3.0-or-later
"""The sidebar panels of the 3D Viewport (tab "Image to Rig"), in the order of the work:
input and options, AI Backends, Generate, Parameters, Strengths, Motions, Hair
Physics, Shape Controls, Export (each sub-panel's bl_order says the same)."""

from .backends import IMAGE_TO_RIG_PT_backends
from .sidebar import (
    IMAGE_TO_RIG_PT_controls,
    IMAGE_TO_RIG_PT_export,
    IMAGE_TO_RIG_PT_generate,
    IMAGE_TO_RIG_PT_main,
    IMAGE_TO_RIG_PT_motions,
    IMAGE_TO_RIG_PT_parameters,
    IMAGE_TO_RIG_PT_physics,
    IMAGE_TO_RIG_PT_strengths,
)

classes = (
    IMAGE_TO_RIG_PT_main,
    IMAGE_TO_RIG_PT_backends,
    IMAGE_TO_RIG_PT_generate,
    IMAGE_TO_RIG_PT_parameters,
    IMAGE_TO_RIG_PT_strengths,
    IMAGE_TO_RIG_PT_motions,
    IMAGE_TO_RIG_PT_physics,
    IMAGE_TO_RIG_PT_controls,
    IMAGE_TO_RIG_PT_export,
)
