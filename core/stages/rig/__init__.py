# SPDX-License-Identifier: GPL-3.0-or-later
"""Stage 5 of the pipeline (rig): layers -> meshes, deformers, parameters and keyforms.

Built like Rigify builds a rig: the rig as data (templates.py: which tag goes
under which deformer, mesh densities, the deformer tree, every standard
parameter), measured geometry (measure.py), the context the generators share
(context.py), one generator module per part (generators/: head, eyes, brows,
mouth, cheek, hair, body), each declaring the keyforms it owns and the
creator controls it reads (controls.py derives the controls table from
them), the per-parameter confidence (confidence.py) and the builder that runs
the steps (builder.py).  turn_model.py holds the depth models of the turns.

All magnitudes are proportional to the measured face size, and every form at
a parameter's default node is zero, so defaults give exactly the rest pose.
Every standard parameter is built (docs/parameters.md says what each moves).
The rig adds one generated layer, the blush ("face-blush"), and rests two
meshes collapsed (mouth interior, blush) that their parameters open.  Hair
that rests on the shoulders (the lower part of both hair warps) follows the
body, not the head, in head tilt and every body parameter, so it never lifts
off.
"""

from .builder import RiggingError, build_rig, context_from_document, rebuild_owner, regenerate, replace_owner
from .context import Control, Generator, RigContext, mesh_id
from .controls import CONTROL_RANGES, CONTROLS, OWNER_CONTROLS, ControlsError, RigControls
from .generators import GENERATORS
from .measure import Anchors, Box, Profile, alpha_box, column_profile, measure_anchors
from .templates import PARAMETERS, ROLL_SIGN, TAG_DEFORMER

__all__ = [
    "RiggingError",
    "build_rig",
    "context_from_document",
    "rebuild_owner",
    "regenerate",
    "replace_owner",
    "Control",
    "Generator",
    "RigContext",
    "mesh_id",
    "CONTROL_RANGES",
    "CONTROLS",
    "OWNER_CONTROLS",
    "ControlsError",
    "RigControls",
    "GENERATORS",
    "Anchors",
    "Box",
    "Profile",
    "alpha_box",
    "column_profile",
    "measure_anchors",
    "PARAMETERS",
    "ROLL_SIGN",
    "TAG_DEFORMER",
]
