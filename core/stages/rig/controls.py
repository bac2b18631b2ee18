# SPDX-License-Identifier: GPL-3.0-or-later
"""Creator controls of the rig: the handful of magnitudes a person tunes.

Nothing here is written by hand: the generators declare their controls
(name, default, range, meaning; generators/*.py), and `RigControls` (a
dataclass with one field per control, defaults = the automatic rig),
`CONTROL_RANGES` and `OWNER_CONTROLS` are derived from those declarations.
`build_rig(..., controls=)` uses them, and `regenerate(doc, owner, controls)`
(builder.py) rebuilds only the keyforms one generator owns, so Blender can
replace just those shape keys while the person drags a slider.
"""

from __future__ import annotations

from dataclasses import field, fields, make_dataclass

from ...model.errors import ImageToRigError
from .context import Control
from .generators import GENERATORS


class ControlsError(ImageToRigError):
    """A creator control is out of its range, or an owner is unknown."""


def _declared() -> dict[str, Control]:
    out: dict[str, Control] = {}
    for generator in GENERATORS:
        for control in generator.controls:
            if control.name in out:
                raise RuntimeError(f"two generators declare the control {control.name!r}")
            out[control.name] = control
    return out


CONTROLS: dict[str, Control] = _declared()
# Allowed range of every control (what the Blender sliders offer).
CONTROL_RANGES: dict[str, tuple[float, float]] = {n: (c.lo, c.hi) for n, c in CONTROLS.items()}
# Which controls each keyform owner reads (for the Blender panel).
OWNER_CONTROLS: dict[str, tuple[str, ...]] = {g.owner: tuple(c.name for c in g.controls) for g in GENERATORS}


def _validate(self) -> None:
    for f in fields(self):
        lo, hi = CONTROL_RANGES[f.name]
        value = getattr(self, f.name)
        if not (lo <= float(value) <= hi):
            raise ControlsError(f"rig control {f.name} = {value} is outside {lo}..{hi}")


RigControls = make_dataclass(
    "RigControls",
    [(name, float, field(default=c.default)) for name, c in CONTROLS.items()],
    namespace={
        "validate": _validate,
        "__module__": __name__,
        "__doc__": "Magnitudes of the generated keyforms (one field per control the "
        "generators declare; fractions are of the measured part).",
    },
)
