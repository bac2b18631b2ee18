# SPDX-License-Identifier: GPL-3.0-or-later
"""Creator controls of the rig: the handful of magnitudes a person tunes.

`RigControls` holds them (defaults = the automatic rig); `build_rig(...,
controls=)` uses them, and `regenerate(doc, owner, controls)` rebuilds only the
keyforms one generator owns (same targets, parameters and keys, new forms), so
Blender can replace just those shape keys while the person drags a slider.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Dict, List, Tuple

from ...model.document import Keyform, RigDocument


class ControlsError(ValueError):
    """A creator control is out of its range, or an owner is unknown."""


@dataclass
class RigControls:
    """Magnitudes of the generated keyforms (fractions are of the measured part)."""

    turn_depth: float = 1.0  # head-turn parallax: depth of the head model (0 = flat card)
    head_yaw_deg: float = 18.0  # model yaw at ParamAngleX = +-30
    head_pitch_deg: float = 12.0  # model pitch at ParamAngleY = +-30
    head_roll_deg: float = 15.0  # head bone roll at ParamAngleZ = +-30
    feature_lead: float = 0.05  # extra shift of the nose at full turn, of the face width
    far_eye_narrow: float = 0.16  # the far eye's width loss at full turn
    blink_line: float = 0.82  # closed lid line: 0 = eyewhite top, 1 = its bottom (lower lash)
    eye_smile_arc: float = 0.6  # rise of the smiling lid's middle, of the eye height
    gaze_x: float = 0.24  # iris travel, of the eyewhite width
    gaze_y: float = 0.18  # iris travel, of the eyewhite height
    brow_travel: float = 0.35  # ParamBrowY travel, of the eye height
    brow_angle_deg: float = 12.0  # ParamBrowAngle rotation at +-1
    mouth_open: float = 1.0  # 1 = the drawn interior's full height
    jaw_drop: float = 0.35  # chin drop at a wide-open mouth, of the interior height
    mouth_form_curve: float = 0.16  # corner lift, of the mouth width
    mouth_form_width: float = 0.08  # corners move out (smile) / in (frown), of the half width
    blush_size: float = 1.0  # scale of the generated blush
    hair_sway: float = 1.0  # scale of the hair sway keyforms
    body_yaw_deg: float = 8.0  # body model yaw at ParamBodyAngleX = +-10
    body_pitch_deg: float = 4.0  # body model pitch at ParamBodyAngleY = +-10
    body_roll_deg: float = 5.0  # body lean at ParamBodyAngleZ = +-10
    breath_lift: float = 0.03  # shoulder rise, of the face height

    def validate(self) -> None:
        for f in fields(self):
            lo, hi = CONTROL_RANGES[f.name]
            value = getattr(self, f.name)
            if not (lo <= float(value) <= hi):
                raise ControlsError(f"rig control {f.name} = {value} is outside {lo}..{hi}")


# Allowed range of every control (what the Blender sliders offer).
CONTROL_RANGES: Dict[str, Tuple[float, float]] = {
    "turn_depth": (0.0, 2.0), "head_yaw_deg": (0.0, 35.0), "head_pitch_deg": (0.0, 25.0),
    "head_roll_deg": (0.0, 30.0), "feature_lead": (0.0, 0.15), "far_eye_narrow": (0.0, 0.4),
    "blink_line": (0.3, 1.0), "eye_smile_arc": (0.0, 0.8), "gaze_x": (0.0, 0.4),
    "gaze_y": (0.0, 0.4), "brow_travel": (0.0, 1.0), "brow_angle_deg": (0.0, 30.0),
    "mouth_open": (0.2, 1.5), "jaw_drop": (0.0, 0.8), "mouth_form_curve": (0.0, 0.35),
    "mouth_form_width": (0.0, 0.25), "blush_size": (0.3, 2.0), "hair_sway": (0.0, 2.0),
    "body_yaw_deg": (0.0, 20.0), "body_pitch_deg": (0.0, 10.0), "body_roll_deg": (0.0, 15.0),
    "breath_lift": (0.0, 0.1),
}

# Which controls each keyform owner reads (for the Blender panel).
OWNER_CONTROLS: Dict[str, Tuple[str, ...]] = {
    "head_turn": ("turn_depth", "head_yaw_deg", "head_pitch_deg", "feature_lead", "far_eye_narrow"),
    "head_tilt": ("head_roll_deg",),
    "blink": ("blink_line", "eye_smile_arc"),
    "gaze": ("gaze_x", "gaze_y"),
    "brows": ("brow_travel", "brow_angle_deg"),
    "mouth": ("mouth_open", "jaw_drop", "mouth_form_curve", "mouth_form_width"),
    "cheek": ("blush_size",),
    "hair_sway": ("hair_sway",),
    "body_turn": ("body_yaw_deg", "body_pitch_deg", "body_roll_deg"),
    "breath": ("breath_lift",),
}


def regenerate(doc: RigDocument, owner: str, controls: RigControls) -> List[Keyform]:
    """The keyforms of `owner` rebuilt with `controls` (the document is not changed).

    Same targets, parameters and keys as the owner's keyforms in `doc`, in the
    same order; only the forms differ.  Raises ControlsError for an unknown owner.
    """
    from . import rebuild_owner  # rigging imports this module

    if owner not in OWNER_CONTROLS:
        raise ControlsError(f"unknown keyform owner {owner!r}; known: {', '.join(OWNER_CONTROLS)}")
    controls.validate()
    return rebuild_owner(doc, owner, controls)


def replace_owner(doc: RigDocument, owner: str, controls: RigControls) -> None:
    """Regenerate `owner` and swap its keyforms in `doc` in place."""
    new = iter(regenerate(doc, owner, controls))
    doc.keyforms = [next(new) if k.owner == owner else k for k in doc.keyforms]
