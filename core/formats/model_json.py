# SPDX-License-Identifier: GPL-3.0-or-later
"""The runtime JSON form of the rig document (model.json), both directions.

Writing bakes the creator's strengths into the data (parameter strengths into
keyforms, motion strengths into curves): the runtime plays what Blender shows.
The schema is core/formats/schema/model.schema.json; the prose is docs/runtime-format.md.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

import numpy as np

from ..model.constants import LIMITS
from .model_budget import check_model_budgets
from ..model.physics import PhysicsInput, PhysicsOutput, PhysicsSetting, PhysicsVertex, validate_physics
from ..model.strength import baked_curve, baked_forms
from ..model.document import (
    FORMAT_NAME,
    FORMAT_VERSION,
    Canvas,
    DocumentError,
    Keyform,
    Layer,
    Mesh,
    Motion,
    MotionCurve,
    Parameter,
    RigDocument,
    RotationDeformer,
    WarpDeformer,
)

SCHEMA_PATH = os.path.join(os.path.dirname(__file__), "schema", "model.schema.json")

# Hard limits that keep a hostile file from exhausting memory or time.
MAX_ITEMS = LIMITS["max_items"]
MAX_VERTICES = LIMITS["max_vertices"]
MAX_CANVAS = LIMITS["max_canvas"]

# Atlas placement of one layer: texture index and x, y, w, h in atlas pixels.
AtlasRect = tuple[int, int, int, int, int]


def _flat(a: np.ndarray, ndigits: int = 3) -> list[float]:
    return [round(float(v), ndigits) for v in np.asarray(a, dtype=np.float64).ravel()]


def to_runtime(
    doc: RigDocument,
    textures: Sequence[str],
    atlas_sizes: Sequence[tuple[int, int]],
    placements: dict[str, AtlasRect],
) -> dict:
    """The model.json dictionary; `placements` maps layer id -> atlas rect."""
    layers = []
    for layer in doc.layers:
        tex, ax, ay, aw, ah = placements[layer.id]
        layers.append(
            {
                "id": layer.id,
                "tag": layer.tag,
                "side": layer.side,
                "role": layer.role,
                "generated": bool(layer.generated),
                "opacity": float(layer.opacity),
                "clip_to": layer.clip_to,
                "texture": tex,
                "atlas_rect": [ax, ay, aw, ah],
                "canvas_rect": [int(layer.x), int(layer.y), aw, ah],
            }
        )
    layer_by_id = {l.id: l for l in doc.layers}
    meshes = []
    for mesh in doc.meshes:
        tex, ax, ay, _, _ = placements[mesh.layer]
        tw, th = atlas_sizes[tex]
        uv = (mesh.uvs + np.array([ax, ay])) / np.array([tw, th], np.float64)
        meshes.append(
            {
                "id": mesh.id,
                "layer": mesh.layer,
                "deformer": mesh.deformer,
                "texture": tex,
                "vertices": _flat(mesh.vertices),
                "uvs": _flat(uv, 6),
                "triangles": [int(i) for i in mesh.triangles.ravel()],
            }
        )
        assert mesh.layer in layer_by_id
    deformers = []
    for d in doc.deformers:
        if isinstance(d, RotationDeformer):
            deformers.append(
                {
                    "id": d.id,
                    "type": "rotation",
                    "parent": d.parent,
                    "pivot": [round(float(d.pivot[0]), 3), round(float(d.pivot[1]), 3)],
                }
            )
        else:
            deformers.append(
                {
                    "id": d.id,
                    "type": "warp",
                    "parent": d.parent,
                    "rect": [round(float(v), 3) for v in d.rect],
                    "rows": int(d.rows),
                    "cols": int(d.cols),
                }
            )
    keyforms = []
    for kf in doc.keyforms:
        record = {
            "target": kf.target,
            "params": list(kf.params),
            "keys": [[float(k) for k in keys] for keys in kf.keys],
            "forms": _flat(baked_forms(doc, kf), 6 if kf.channel == "opacity" else 3),
            "owner": kf.owner,
        }
        if kf.channel != "offset":  # "offset" is the default: older files stay the same
            record["channel"] = kf.channel
        keyforms.append(record)
    motions = []
    for m in doc.motions:
        motions.append(
            {
                "id": m.id,
                "duration": float(m.duration),
                "fps": float(m.fps),
                "loop": bool(m.loop),
                "curves": [
                    {"param": c.param, "times": _flat(c.times, 4), "values": _flat(baked_curve(doc, m, c), 4)}
                    for c in m.curves
                ],
            }
        )
    params = [
        {
            "id": p.id,
            "name": p.name or p.id,
            "group": p.group,
            "min": float(p.min),
            "default": float(p.default),
            "max": float(p.max),
            "confidence": round(float(p.confidence), 3),
        }
        for p in doc.parameters
    ]
    groups = {
        "EyeBlink": [p for p in ("ParamEyeLOpen", "ParamEyeROpen") if any(q.id == p for q in doc.parameters)],
        "LipSync": [p for p in ("ParamMouthOpenY",) if any(q.id == p for q in doc.parameters)],
    }
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "canvas": {"width": int(doc.canvas.width), "height": int(doc.canvas.height)},
        "textures": list(textures),
        "parameters": params,
        "groups": groups,
        "layers": layers,
        "deformers": deformers,
        "meshes": meshes,
        "draw_order": list(doc.draw_order),
        "keyforms": keyforms,
        "motions": motions,
        "source": os.path.basename(doc.source) if doc.source else "",
        **_physics_runtime(doc),
    }


def _physics_runtime(doc: RigDocument) -> dict:
    if not doc.physics:
        return {}

    validate_physics(doc)
    return {"physics": physics_to_runtime(doc.physics)}


def load_schema() -> dict:
    with open(SCHEMA_PATH, encoding="utf-8") as fh:
        return json.load(fh)


def _check_numbers(values: list, what: str) -> np.ndarray:
    """The big flat arrays are checked here, in bulk, rather than by the schema."""
    if any(isinstance(v, bool) for v in values[:1]):
        raise DocumentError(f"{what}: expected numbers")
    try:
        arr = np.asarray(values)
    except (TypeError, ValueError):
        raise DocumentError(f"{what}: expected a flat list of numbers") from None
    if arr.size and arr.dtype.kind not in "iuf":  # text such as "1" is not a number (the player agrees)
        raise DocumentError(f"{what}: expected a flat list of numbers")
    arr = arr.astype(np.float64)
    if arr.ndim != 1 or not np.all(np.isfinite(arr)):
        raise DocumentError(f"{what}: expected a flat list of finite numbers")
    return arr


def validate_runtime(data: dict) -> None:
    """Schema check plus the limits and cross references a schema cannot express."""
    import jsonschema

    try:
        jsonschema.validate(data, load_schema())
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "top level"
        raise DocumentError(f"model.json is not valid at {where}: {exc.message}") from None
    canvas = data["canvas"]
    if canvas["width"] > MAX_CANVAS or canvas["height"] > MAX_CANVAS:
        raise DocumentError("model.json canvas is larger than the runtime supports")
    total = 0
    for key in ("parameters", "layers", "deformers", "meshes", "keyforms", "motions"):
        if len(data[key]) > MAX_ITEMS:
            raise DocumentError(f"model.json has too many {key}")
    for m in data["meshes"]:
        n = len(m["vertices"])
        total += n // 2
        if n % 2 or len(m["uvs"]) != n or len(m["triangles"]) % 3:
            raise DocumentError(f"mesh {m['id']!r}: array lengths do not match")
        if total > MAX_VERTICES:
            raise DocumentError("model.json has more vertices than the runtime supports")
        _check_numbers(m["vertices"], f"mesh {m['id']!r} vertices")
        _check_numbers(m["uvs"], f"mesh {m['id']!r} uvs")
        tris = _check_numbers(m["triangles"], f"mesh {m['id']!r} triangles")
        if len(tris) and (tris.min() < 0 or tris.max() >= n // 2 or np.any(tris != np.floor(tris))):
            raise DocumentError(f"mesh {m['id']!r}: triangle index out of range")
    for k in data["keyforms"]:
        _check_numbers(k["forms"], f"keyform of {k.get('target')!r}")
    if total > MAX_VERTICES:
        raise DocumentError("model.json has more vertices than the runtime supports")
    check_model_budgets(data)  # canvas, textures, atlas rects, raster area (the player's budgets)


def from_runtime(data: dict, textures: Sequence[np.ndarray], validated: bool = False) -> RigDocument:
    """Rebuild a rig document from model.json and its decoded atlas images (RGBA);
    `validated` when validate_runtime(data) has already passed."""
    if not validated:
        validate_runtime(data)
    canvas = Canvas(int(data["canvas"]["width"]), int(data["canvas"]["height"]))
    doc = RigDocument(canvas=canvas, source=data.get("source", ""))
    for p in data["parameters"]:
        doc.parameters.append(
            Parameter(
                p["id"],
                p["min"],
                p["default"],
                p["max"],
                name=p.get("name", ""),
                group=p.get("group", ""),
                confidence=p.get("confidence", 1.0),
            )
        )
    rects = {}
    for l in data["layers"]:
        tex = int(l["texture"])
        if tex >= len(textures):
            raise DocumentError(f"layer {l['id']!r} uses missing texture {tex}")
        ax, ay, aw, ah = (int(v) for v in l["atlas_rect"])
        img = textures[tex][ay : ay + ah, ax : ax + aw]
        if img.shape[:2] != (ah, aw):
            raise DocumentError(f"layer {l['id']!r}: atlas rect outside its texture")
        cx, cy = int(l["canvas_rect"][0]), int(l["canvas_rect"][1])
        doc.layers.append(
            Layer(
                l["id"],
                l["tag"],
                np.ascontiguousarray(img),
                cx,
                cy,
                side=l.get("side", ""),
                generated=l.get("generated", False),
                opacity=l.get("opacity", 1.0),
                clip_to=l.get("clip_to"),
                role=l.get("role", ""),
            )
        )
        rects[l["id"]] = (tex, ax, ay)
    for d in data["deformers"]:
        if d["type"] == "rotation":
            doc.deformers.append(RotationDeformer(d["id"], tuple(d["pivot"]), d.get("parent")))
        else:
            doc.deformers.append(
                WarpDeformer(d["id"], tuple(d["rect"]), int(d["rows"]), int(d["cols"]), d.get("parent"))
            )
    for m in data["meshes"]:
        if m["layer"] not in rects:
            raise DocumentError(f"mesh {m['id']!r} uses unknown layer {m['layer']!r}")
        tex, ax, ay = rects[m["layer"]]
        th, tw = textures[tex].shape[:2]
        uv = np.asarray(m["uvs"], np.float64).reshape(-1, 2) * np.array([tw, th]) - np.array([ax, ay])
        doc.meshes.append(
            Mesh(
                m["id"],
                m["layer"],
                np.asarray(m["vertices"], np.float64).reshape(-1, 2),
                np.asarray(m["triangles"], np.int64).reshape(-1, 3).astype(np.int32),
                uv,
                m.get("deformer"),
            )
        )
    doc.draw_order = list(data["draw_order"])
    for k in data["keyforms"]:
        kf = Keyform(
            k["target"],
            list(k["params"]),
            [list(v) for v in k["keys"]],
            np.zeros(0),
            owner=k.get("owner", ""),
            channel=k.get("channel", "offset"),
        )
        doc.keyforms.append(kf)
    # Forms need target shapes, which need meshes and deformers first.
    from ..model.document import expected_form_shape

    for k, kf in zip(data["keyforms"], doc.keyforms):
        try:
            if kf.channel == "opacity" and kf.target not in {m.id for m in doc.meshes}:
                raise DocumentError(f"opacity keyform targets {kf.target!r}, which is not a mesh")
            shape = (kf.node_count(),) + expected_form_shape(doc, kf.target, kf.channel)
        except KeyError:
            raise DocumentError(f"keyform targets unknown object {kf.target!r}") from None
        flat = np.asarray(k["forms"], np.float64)
        if flat.size != int(np.prod(shape)):
            raise DocumentError(
                f"keyform of {kf.target!r}: {flat.size} numbers, expected {int(np.prod(shape))}"
            )
        kf.forms = flat.reshape(shape)
    for m in data["motions"]:
        curves = []
        for c in m["curves"]:
            t = np.asarray(c["times"], np.float64)
            v = np.asarray(c["values"], np.float64)
            if len(t) != len(v) or len(t) == 0:
                raise DocumentError(f"motion {m['id']!r}: times and values differ in length")
            curves.append(MotionCurve(c["param"], t, v))
        doc.motions.append(Motion(m["id"], m["duration"], curves, m.get("loop", True), m.get("fps", 30.0)))
    if data.get("physics"):
        doc.physics = physics_from_runtime(data["physics"])
        validate_physics(doc)
    doc.validate()
    return doc


def load_model(path: str, before_decoding=None) -> RigDocument:
    """Load an exported model.json (and its atlas PNGs beside it).  The JSON is
    read within the size, depth and finite-number rules (core/formats/json_text.py)
    and validated, budgets included, before any atlas page is decoded; the pages
    are checked by their PNG headers first (core/formats/atlas_in.py).
    `before_decoding(data)` may refuse the validated model (raise) before that."""
    from .atlas_in import read_atlas_pages
    from .json_text import read_json

    data = read_json(path, DocumentError)
    if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
        raise DocumentError(f"{path} is not an Image to Rig model.json")
    validate_runtime(data)
    if before_decoding is not None:
        before_decoding(data)
    folder = os.path.dirname(os.path.abspath(path))
    textures = read_atlas_pages(folder, data["textures"], DocumentError)
    return from_runtime(data, textures, validated=True)


def physics_to_runtime(settings: Sequence[PhysicsSetting]) -> list[dict]:
    """The model.json form of the settings (snake case, as the player reads it)."""
    return [
        {
            "id": s.id,
            "name": s.name,
            "inputs": [
                {"source": i.source, "weight": float(i.weight), "type": i.type, "reflect": bool(i.reflect)}
                for i in s.inputs
            ],
            "outputs": [
                {
                    "destination": o.destination,
                    "vertex_index": int(o.vertex_index),
                    "scale": float(o.scale),
                    "weight": float(o.weight),
                    "type": o.type,
                    "reflect": bool(o.reflect),
                }
                for o in s.outputs
            ],
            "vertices": [
                {
                    "position": [float(v.position[0]), float(v.position[1])],
                    "mobility": float(v.mobility),
                    "delay": float(v.delay),
                    "acceleration": float(v.acceleration),
                    "radius": float(v.radius),
                }
                for v in s.vertices
            ],
            "normalization": {
                "position": [float(x) for x in s.normalization_position],
                "angle": [float(x) for x in s.normalization_angle],
            },
        }
        for s in settings
    ]


def physics_from_runtime(items: Sequence[dict]) -> list[PhysicsSetting]:
    out = []
    for s in items:
        out.append(
            PhysicsSetting(
                id=s["id"],
                name=s.get("name", s["id"]),
                inputs=[
                    PhysicsInput(i["source"], float(i["weight"]), i["type"], bool(i.get("reflect", False)))
                    for i in s["inputs"]
                ],
                outputs=[
                    PhysicsOutput(
                        o["destination"],
                        int(o["vertex_index"]),
                        float(o["scale"]),
                        float(o["weight"]),
                        o.get("type", "Angle"),
                        bool(o.get("reflect", False)),
                    )
                    for o in s["outputs"]
                ],
                vertices=[
                    PhysicsVertex(
                        tuple(float(x) for x in v["position"]),
                        float(v["mobility"]),
                        float(v["delay"]),
                        float(v["acceleration"]),
                        float(v["radius"]),
                    )
                    for v in s["vertices"]
                ],
                normalization_position=tuple(float(x) for x in s["normalization"]["position"]),
                normalization_angle=tuple(float(x) for x in s["normalization"]["angle"]),
            )
        )
    return out
