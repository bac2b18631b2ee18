# SPDX-License-Identifier: GPL-3.0-or-later
"""The Blender layer: build a scene from a rig document, gather it back."""

from .build import SceneBuildError, build_scene  # noqa: F401
from .gather import GatherError, gather_document  # noqa: F401
from .keys import find_rig, parameter_groups, rig_in_context  # noqa: F401
