# SPDX-License-Identifier: GPL-3.0-or-later
"""Cubism interchange files written to the public Cubism JSON specifications:
motion3.json (motions), exp3.json (expressions), cdi3.json (display info) and
physics3.json (from core/runtime/physics.py settings, when the rig has physics).

They reference only standard parameter ids, so they can be reused with a
Live2D model of the same character made later.
"""

from __future__ import annotations


import numpy as np

from ..model.document import Motion, RigDocument
from ..model.errors import DocumentError
from ..model.constants import PHYSICS
from ..model.physics import validate_physics
from ..model.strength import baked_curve

# Expressions as data: (parameter id, value, blend).  Parameters the rig lacks are left out.
EXPRESSIONS: dict[str, list[tuple[str, float, str]]] = {
    "smile": [
        ("ParamEyeLSmile", 1.0, "Add"),
        ("ParamEyeRSmile", 1.0, "Add"),
        ("ParamMouthForm", 1.0, "Add"),
        ("ParamCheek", 1.0, "Add"),
        ("ParamBrowLY", 0.3, "Add"),
        ("ParamBrowRY", 0.3, "Add"),
    ],
    "surprise": [
        ("ParamEyeLOpen", 1.2, "Multiply"),
        ("ParamEyeROpen", 1.2, "Multiply"),
        ("ParamBrowLY", 1.0, "Add"),
        ("ParamBrowRY", 1.0, "Add"),
        ("ParamMouthOpenY", 0.6, "Add"),
        ("ParamMouthForm", -0.7, "Add"),  # the round "o" of shock (the mouth generator)
    ],
    "angry": [
        ("ParamBrowLAngle", -1.0, "Add"),
        ("ParamBrowRAngle", -1.0, "Add"),
        ("ParamBrowLY", -0.5, "Add"),
        ("ParamBrowRY", -0.5, "Add"),
        ("ParamBrowLForm", -1.0, "Add"),
        ("ParamBrowRForm", -1.0, "Add"),
        ("ParamMouthForm", -1.0, "Add"),
        ("ParamEyeLOpen", 0.8, "Multiply"),
        ("ParamEyeROpen", 0.8, "Multiply"),
    ],
}

GROUP_NAMES = {
    "face": "Face",
    "eyes": "Eyes",
    "brows": "Brows",
    "mouth": "Mouth",
    "body": "Body",
    "hair": "Hair",
    "other": "Other",
}


def motion3(doc: RigDocument, motion: Motion) -> dict:
    """A motion3.json dictionary: linear segments, strength baked, exact meta counts."""
    curves = []
    segments_total = 0
    points_total = 0
    for curve in motion.curves:
        values = baked_curve(doc, motion, curve)
        times = np.asarray(curve.times, np.float64)
        flat: list[float] = [round(float(times[0]), 4), round(float(values[0]), 4)]
        points_total += 1
        for t, v in zip(times[1:], values[1:]):
            flat += [0, round(float(t), 4), round(float(v), 4)]  # 0 = linear segment
            segments_total += 1
            points_total += 1
        curves.append({"Target": "Parameter", "Id": curve.param, "Segments": flat})
    return {
        "Version": 3,
        "Meta": {
            "Duration": round(float(motion.duration), 4),
            "Fps": float(motion.fps),
            "Loop": bool(motion.loop),
            "AreBeziersRestricted": True,
            "CurveCount": len(curves),
            "TotalSegmentCount": segments_total,
            "TotalPointCount": points_total,
            "UserDataCount": 0,
            "TotalUserDataSize": 0,
        },
        "Curves": curves,
    }


def exp3(doc: RigDocument, name: str, fade: float = 0.5) -> dict:
    have = {p.id for p in doc.parameters}
    params = [
        {"Id": pid, "Value": value, "Blend": blend} for pid, value, blend in EXPRESSIONS[name] if pid in have
    ]
    return {"Type": "Live2D Expression", "FadeInTime": fade, "FadeOutTime": fade, "Parameters": params}


def cdi3(doc: RigDocument) -> dict:
    groups = []
    seen = set()
    for p in doc.parameters:
        gid = "ParamGroup" + (p.group or "other").capitalize()
        if gid not in seen:
            seen.add(gid)
            groups.append(
                {
                    "Id": gid,
                    "GroupId": "",
                    "Name": GROUP_NAMES.get(p.group or "other", (p.group or "Other").capitalize()),
                }
            )
    return {
        "Version": 3,
        "Parameters": [
            {"Id": p.id, "GroupId": "ParamGroup" + (p.group or "other").capitalize(), "Name": p.name or p.id}
            for p in doc.parameters
        ],
        "ParameterGroups": groups,
        "Parts": [
            {"Id": pid, "Name": l.source_name or l.id} for l, pid in zip(doc.layers, part_ids(doc).values())
        ],
    }


def part_ids(doc: RigDocument) -> dict[str, str]:
    """Cubism part id of every layer (layer id -> "Part" + CamelCase), unique:
    the same ids in cdi3.json and the .moc3."""
    out: dict[str, str] = {}
    used = set()
    for layer in doc.layers:
        base = "Part" + "".join(w.capitalize() for w in layer.id.replace("_", "-").split("-"))
        pid, n = base, 2
        while pid in used:
            pid, n = f"{base}{n}", n + 1
        used.add(pid)
        out[layer.id] = pid
    return out


def interchange_files(doc: RigDocument, stem: str) -> dict[str, dict]:
    """Every interchange file for a document: relative path -> JSON dictionary."""
    files: dict[str, dict] = {}
    for motion in doc.motions:
        files[f"motions/{motion.id}.motion3.json"] = motion3(doc, motion)
    for name in EXPRESSIONS:
        expression = exp3(doc, name)
        if expression["Parameters"]:
            files[f"expressions/{name}.exp3.json"] = expression
    files[f"{stem}.cdi3.json"] = cdi3(doc)
    physics = getattr(doc, "physics", None)
    if physics:
        files[f"{stem}.physics3.json"] = physics3(doc)
    return files


def check_motion3_counts(data: dict) -> None:
    """The meta counts the motion3 specification defines, recomputed from the curves."""
    points_per_type = {0: 1, 1: 3, 2: 1, 3: 1}
    segments = points = 0
    for curve in data["Curves"]:
        s = curve["Segments"]
        points += 1
        i = 2
        while i < len(s):
            kind = int(s[i])
            n = points_per_type[kind]
            segments += 1
            points += n
            i += 1 + 2 * n
        if i != len(s):
            raise DocumentError(f"curve {curve['Id']}: segment data has the wrong length")
    meta = data["Meta"]
    if meta["CurveCount"] != len(data["Curves"]):
        raise DocumentError("CurveCount does not match")
    if meta["TotalSegmentCount"] != segments or meta["TotalPointCount"] != points:
        raise DocumentError(
            f"segment/point counts {meta['TotalSegmentCount']}/{meta['TotalPointCount']} "
            f"do not match the curves ({segments}/{points})"
        )


def _r(v: float) -> float:
    return round(float(v), 6)


def physics3(doc: RigDocument) -> dict:
    """A Cubism physics3.json dictionary of the document's settings."""
    validate_physics(doc)
    settings = []
    inputs = outputs = vertices = 0
    for s in doc.physics:
        settings.append(
            {
                "Id": s.id,
                "Input": [
                    {
                        "Source": {"Target": "Parameter", "Id": i.source},
                        "Weight": _r(i.weight),
                        "Type": i.type,
                        "Reflect": bool(i.reflect),
                    }
                    for i in s.inputs
                ],
                "Output": [
                    {
                        "Destination": {"Target": "Parameter", "Id": o.destination},
                        "VertexIndex": int(o.vertex_index),
                        "Scale": _r(o.scale),
                        "Weight": _r(o.weight),
                        "Type": o.type,
                        "Reflect": bool(o.reflect),
                    }
                    for o in s.outputs
                ],
                "Vertices": [
                    {
                        "Position": {"X": _r(v.position[0]), "Y": _r(v.position[1])},
                        "Mobility": _r(v.mobility),
                        "Delay": _r(v.delay),
                        "Acceleration": _r(v.acceleration),
                        "Radius": _r(v.radius),
                    }
                    for v in s.vertices
                ],
                "Normalization": {
                    "Position": dict(
                        zip(("Minimum", "Default", "Maximum"), map(_r, s.normalization_position))
                    ),
                    "Angle": dict(zip(("Minimum", "Default", "Maximum"), map(_r, s.normalization_angle))),
                },
            }
        )
        inputs += len(s.inputs)
        outputs += len(s.outputs)
        vertices += len(s.vertices)
    return {
        "Version": 3,
        "Meta": {
            "PhysicsSettingCount": len(settings),
            "TotalInputCount": inputs,
            "TotalOutputCount": outputs,
            "VertexCount": vertices,
            "Fps": float(PHYSICS["step_hz"]),
            "EffectiveForces": {
                "Gravity": {"X": float(PHYSICS["gravity"][0]), "Y": float(PHYSICS["gravity"][1])},
                "Wind": {"X": float(PHYSICS["wind"][0]), "Y": float(PHYSICS["wind"][1])},
            },
            "PhysicsDictionary": [{"Id": s.id, "Name": s.name} for s in doc.physics],
        },
        "PhysicsSettings": settings,
    }
