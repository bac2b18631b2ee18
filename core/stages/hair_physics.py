# SPDX-License-Identifier: GPL-3.0-or-later
"""The rig's default hair physics: front (short, quick), side and back (long,
slow) pendulums, as data, driven by the head and body angles."""

from __future__ import annotations


from ..model.document import RigDocument
from ..model.physics import PhysicsInput, PhysicsOutput, PhysicsSetting, PhysicsVertex

# Hair templates as data: (output parameter, name, vertices, output scale).
# Vertices: (position y, mobility, delay, acceleration, radius).
HAIR_TEMPLATES = (
    ("ParamHairFront", "Front hair", [(0, 1.0, 1.0, 1.0, 0), (10, 0.85, 0.9, 1.5, 10)], 1.2),
    ("ParamHairSide", "Side hair", [(0, 1.0, 1.0, 1.0, 0), (13, 0.88, 0.8, 1.2, 13)], 1.1),
    ("ParamHairBack", "Back hair", [(0, 1.0, 1.0, 1.0, 0), (18, 0.9, 0.65, 0.9, 18)], 1.0),
)
# Inputs as data: (parameter, weight, type); those the document lacks are left out.
HAIR_INPUTS = (
    ("ParamAngleX", 60.0, "X"),
    ("ParamAngleZ", 60.0, "Angle"),
    ("ParamBodyAngleX", 40.0, "X"),
    ("ParamBodyAngleZ", 40.0, "Angle"),
)


def default_hair_physics(doc: RigDocument) -> list[PhysicsSetting]:
    """Front (short, quick), side and back (long, slow) hair settings for the
    hair parameters the document has, driven by the head/body angles it has."""
    have = {p.id for p in doc.parameters}
    inputs = [PhysicsInput(pid, w, kind) for pid, w, kind in HAIR_INPUTS if pid in have]
    settings = []
    if not inputs:
        return settings
    for param, name, verts, scale in HAIR_TEMPLATES:
        if param not in have:
            continue
        settings.append(
            PhysicsSetting(
                id=f"PhysicsSetting{len(settings) + 1}",
                name=name,
                inputs=[PhysicsInput(i.source, i.weight, i.type, i.reflect) for i in inputs],
                outputs=[PhysicsOutput(param, len(verts) - 1, scale, 100.0, "Angle", False)],
                vertices=[PhysicsVertex((0.0, float(y)), m, d, a, r) for y, m, d, a, r in verts],
            )
        )
    return settings
