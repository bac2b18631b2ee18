# SPDX-License-Identifier: GPL-3.0-or-later
"""Hair physics settings in Cubism physics3 terms (typed), and their check.

A physics setting is a chain of pendulum vertices driven by input parameters
(head and body angles) whose outputs move parameters (the hair sway).  How
they move is the simulator's (core/runtime/physics.py); how they are written
is model.json's and physics3.json's (core/formats/)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .errors import DocumentError


class PhysicsError(DocumentError):
    """A physics setting is not usable; the message says which and why."""


@dataclass
class PhysicsInput:
    source: str
    weight: float  # 0..100
    type: str  # "X" or "Angle"
    reflect: bool = False


@dataclass
class PhysicsOutput:
    destination: str
    vertex_index: int
    scale: float
    weight: float  # 0..100
    type: str = "Angle"
    reflect: bool = False


@dataclass
class PhysicsVertex:
    position: tuple[float, float]
    mobility: float
    delay: float
    acceleration: float
    radius: float


@dataclass
class PhysicsSetting:
    id: str
    name: str
    inputs: list[PhysicsInput] = field(default_factory=list)
    outputs: list[PhysicsOutput] = field(default_factory=list)
    vertices: list[PhysicsVertex] = field(default_factory=list)
    normalization_position: tuple[float, float, float] = (-10.0, 0.0, 10.0)
    normalization_angle: tuple[float, float, float] = (-10.0, 0.0, 10.0)


def _finite(*values: float) -> bool:
    return all(isinstance(v, (int, float)) and math.isfinite(v) for v in values)


def validate_physics(doc) -> None:
    """Check every physics setting of the RigDocument `doc` against its parameters;
    raise PhysicsError on the first problem."""
    params = {p.id for p in doc.parameters}
    ids = set()
    for s in getattr(doc, "physics", []) or []:
        where = f"physics setting {s.id!r}"
        if s.id in ids:
            raise PhysicsError(f"two physics settings share the id {s.id!r}")
        ids.add(s.id)
        if len(s.vertices) < 2:
            raise PhysicsError(f"{where} needs at least two vertices (a root and one pendulum)")
        if not s.inputs or not s.outputs:
            raise PhysicsError(f"{where} needs at least one input and one output")
        for i in s.inputs:
            if i.source not in params:
                raise PhysicsError(f"{where}: input parameter {i.source!r} is not in the rig")
            if i.type not in ("X", "Angle"):
                raise PhysicsError(f"{where}: input type must be 'X' or 'Angle', not {i.type!r}")
            if not _finite(i.weight) or not 0 <= i.weight <= 100:
                raise PhysicsError(f"{where}: input weight of {i.source} must be 0..100")
        for o in s.outputs:
            if o.destination not in params:
                raise PhysicsError(f"{where}: output parameter {o.destination!r} is not in the rig")
            if o.type != "Angle":
                raise PhysicsError(f"{where}: only 'Angle' outputs are supported, not {o.type!r}")
            if not (1 <= int(o.vertex_index) < len(s.vertices)):
                raise PhysicsError(
                    f"{where}: output vertex index {o.vertex_index} must be 1..{len(s.vertices) - 1}"
                )
            if not _finite(o.scale, o.weight) or not 0 <= o.weight <= 100:
                raise PhysicsError(
                    f"{where}: output of {o.destination} needs a finite scale and a weight 0..100"
                )
        for k, v in enumerate(s.vertices):
            if not _finite(v.position[0], v.position[1], v.mobility, v.delay, v.acceleration, v.radius):
                raise PhysicsError(f"{where}: vertex {k} has a value that is not a number")
            if not (0 <= v.mobility <= 1) or v.delay <= 0 or v.radius < 0 or v.acceleration < 0:
                raise PhysicsError(
                    f"{where}: vertex {k} needs mobility 0..1, delay > 0, acceleration >= 0 and radius >= 0"
                )
        for label, norm in (("position", s.normalization_position), ("angle", s.normalization_angle)):
            if len(norm) != 3 or not _finite(*norm) or not norm[0] <= norm[1] <= norm[2]:
                raise PhysicsError(f"{where}: {label} normalisation must be min <= default <= max")
