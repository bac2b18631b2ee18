# SPDX-License-Identifier: GPL-3.0-or-later
"""The sidebar panel of the 3D Viewport (tab "Image to Rig")."""
from .sidebar import (IMAGE_TO_RIG_PT_export, IMAGE_TO_RIG_PT_main, IMAGE_TO_RIG_PT_motions,
                      IMAGE_TO_RIG_PT_parameters, IMAGE_TO_RIG_PT_strengths)

classes = (IMAGE_TO_RIG_PT_main, IMAGE_TO_RIG_PT_parameters, IMAGE_TO_RIG_PT_strengths,
           IMAGE_TO_RIG_PT_motions, IMAGE_TO_RIG_PT_export)
