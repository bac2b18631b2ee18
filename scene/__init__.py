# SPDX-License-Identifier: GPL-3.0-or-later
"""The Blender layer: build a scene from a rig document, gather it back."""
from .build import (SceneBuildError, build_scene, find_rig, parameter_groups,  # noqa: F401
                    rig_in_context)
from .gather import GatherError, gather_document  # noqa: F401
