# SPDX-License-Identifier: GPL-3.0-or-later
"""Building the rig, in Rigify-like steps over the generators (generators/):

1. measure the layers (boxes, anchors); generators add the layers they make
   (the blush);
2. mesh every layer (meshing stage) under the deformer its tag hangs under;
3. generators prepare rest shapes (the mouth interior and blush rest collapsed);
4. make the deformers from the tables (templates.py) around their meshes;
5. rate each parameter's confidence (confidence.py);
6. every generator makes its keyforms.

`regenerate` / `replace_owner` rebuild one generator's keyforms with new
creator controls (controls.py) on a built document.
"""

from __future__ import annotations

from dataclasses import replace
from collections.abc import Sequence

import numpy as np

from ...model.document import (
    RIG_MADE_ROLES,
    Canvas,
    Keyform,
    Layer,
    Mesh,
    Parameter,
    RigDocument,
    RotationDeformer,
    WarpDeformer,
)
from ...model.errors import ImageToRigError
from ..meshing import mesh_layer
from .confidence import measure_confidence
from .context import RigContext, mesh_id, mesh_target
from .controls import OWNER_CONTROLS, ControlsError, RigControls
from .generators import GENERATORS
from .measure import Box, alpha_box, grow_box, measure_anchors, union_box
from .templates import EYE_PARTS, FACE_RADIUS, PARAMETERS, ROTATIONS, TAG_DEFORMER, WARP_MARGIN, WARPS


class RiggingError(ImageToRigError):
    """The layers cannot be rigged (for example: none of them has any pixel)."""


def _measure(canvas: Canvas, layers: Sequence[Layer]):
    layer_map: dict[str, Layer] = {}
    for layer in layers:
        if layer.id in layer_map:
            raise RiggingError(f"two layers share the id {layer.id!r}; layer ids must be unique")
        layer_map[layer.id] = layer
    boxes = {l.id: b for l in layers if (b := alpha_box(l)) is not None}
    if not boxes:
        raise RiggingError("every layer is empty: there is nothing to rig")
    found = [l for l in layers if l.role not in RIG_MADE_ROLES]  # the rig's own layers do not count
    anchors = measure_anchors(
        canvas,
        {l.id: l for l in found},
        {k: v for k, v in boxes.items() if layer_map[k].role not in RIG_MADE_ROLES},
    )
    return layer_map, boxes, anchors


def _make_deformers(ctx: RigContext) -> list[object]:
    anchors = ctx.anchors
    anchor_points = {
        "root": anchors.root,
        "waist": anchors.waist,
        "neck_base": anchors.neck_base,
        "chin": anchors.chin,
    }
    deformers: list[object] = [
        RotationDeformer(rid, tuple(map(float, anchor_points[a])), parent) for rid, parent, a in ROTATIONS
    ]
    for wid, parent, rows, cols, _ in WARPS:
        content = ctx.warp_content.get(wid)
        if content is None:
            continue
        if wid == "face_warp":  # the face turn model extends past the face box
            content = union_box([content, grow_box(anchors.face, (FACE_RADIUS - 1) / 2)])
        deformers.append(
            WarpDeformer(wid, tuple(float(v) for v in grow_box(content, WARP_MARGIN)), rows, cols, parent)
        )
    return deformers


def _warp_content(ctx: RigContext) -> dict[str, Box]:
    """The box of each warp's meshes."""
    out = {}
    for wid, *_ in WARPS:
        members = [m for m in ctx.meshes.values() if m.deformer == wid]
        if members:
            out[wid] = union_box([ctx.boxes[m.layer] for m in members])
    return out


def _add_generated_layers(
    canvas: Canvas, layers: list[Layer], layer_map: dict[str, Layer], boxes: dict[str, Box], anchors
) -> None:
    """The generators' own layers (in place): each goes right above the layer
    its generator names, or at the very bottom."""
    for generator in GENERATORS:
        if generator.add_layers is None:
            continue
        for made, above in generator.add_layers(canvas, layer_map, boxes, anchors):
            ids = [l.id for l in layers]
            at = ids.index(above) + 1 if above in ids else 0
            layers.insert(at, made)
            layer_map[made.id] = made
            boxes[made.id] = alpha_box(made)


def build_rig(
    canvas: Canvas, layers: Sequence[Layer], mesh_density: float = 1.0, controls: RigControls | None = None
) -> RigDocument:
    """Mesh every layer and build deformers, parameters and keyforms from the tables.

    `layers` are back to front; empty layers get no mesh.  Mesh ids are the
    layer ids ("neck-mesh" where a deformer already has the id).  A generated
    blush layer ("face-blush", clipped to the face) is added right above the
    face.  The "mouth-interior" and blush meshes rest collapsed (uvs
    unchanged); ParamMouthOpenY / ParamCheek = 1 restore their drawn shapes.
    Every standard parameter is created; those whose parts are missing get a
    lower confidence (and fewer or no keyforms).  A drawn closed eye (role
    "closed", sided eye tag) rests at opacity 0 and gets an opacity keyform on
    its ParamEye?Open.  `controls` tunes the magnitudes (controls.py).
    """
    if mesh_density <= 0:
        raise RiggingError(f"mesh density must be positive, got {mesh_density}")
    controls = controls or RigControls()
    controls.validate()
    layers = [l for l in layers if l.role not in RIG_MADE_ROLES]  # rebuilt below
    # A drawn closed eye rests invisible; its opacity keyform shows it (eyes.gen_blink).
    layers = [
        replace(l, opacity=0.0) if l.role == "closed" and l.side and l.tag in EYE_PARTS else l for l in layers
    ]
    layer_map, boxes, anchors = _measure(canvas, layers)
    _add_generated_layers(canvas, layers, layer_map, boxes, anchors)
    ctx = RigContext(canvas, layer_map, boxes, anchors, controls)

    for layer in layers:  # back to front
        if layer.id not in boxes:
            continue
        verts, tris, uvs = mesh_layer(layer, mesh_target(layer, mesh_density))
        ctx.meshes[layer.id] = Mesh(
            id=mesh_id(layer.id),
            layer=layer.id,
            vertices=verts,
            triangles=tris,
            uvs=uvs,
            deformer=TAG_DEFORMER.get(layer.tag, "body_warp"),
        )
    ctx.warp_content = _warp_content(ctx)
    for generator in GENERATORS:
        if generator.prepare is not None:
            generator.prepare(ctx)
    deformers = _make_deformers(ctx)
    ctx.deformers = {d.id: d for d in deformers}

    conf, reasons = measure_confidence(ctx)
    parameters = [
        Parameter(pid, float(lo), float(default), float(hi), name=name, group=group, confidence=conf[pid])
        for pid, lo, default, hi, name, group, _ in PARAMETERS
    ]
    keyforms: list[Keyform] = []
    for generator in GENERATORS:
        keyforms.extend(generator.make(ctx))

    meshes = list(ctx.meshes.values())
    doc = RigDocument(
        canvas=canvas,
        layers=list(layers),
        meshes=meshes,
        deformers=deformers,
        parameters=parameters,
        keyforms=keyforms,
        draw_order=[m.id for m in meshes],
    )
    doc.info["rig"] = {
        "anchors": {
            k: [round(float(c), 2) for c in v]
            for k, v in (
                ("root", anchors.root),
                ("waist", anchors.waist),
                ("neck_base", anchors.neck_base),
                ("chin", anchors.chin),
            )
        },
        "face_box": [round(float(c), 2) for c in anchors.face],
        "vertices": int(sum(len(m.vertices) for m in meshes)),
        "triangles": int(sum(len(m.triangles) for m in meshes)),
        "missing": sorted({n for row in PARAMETERS for n in row[6] if n not in ctx.meshes}),
        "confidence": reasons,
    }
    return doc


def context_from_document(doc: RigDocument, controls: RigControls) -> RigContext:
    """The generators' context rebuilt from a built document (rest meshes,
    deformers, collapsed parts' drawn shapes from their uvs)."""
    layer_map, boxes, anchors = _measure(doc.canvas, doc.layers)
    ctx = RigContext(doc.canvas, layer_map, boxes, anchors, controls)
    for mesh in doc.meshes:
        ctx.meshes[mesh.layer] = mesh
        layer = layer_map[mesh.layer]
        if layer.role in ("interior", "blush"):
            drawn = mesh.uvs + np.array([layer.x, layer.y], np.float64)
            ctx.restores[mesh.layer] = drawn - mesh.vertices
    ctx.warp_content = _warp_content(ctx)
    ctx.deformers = {d.id: d for d in doc.deformers}
    return ctx


def rebuild_owner(doc: RigDocument, owner: str, controls: RigControls) -> list[Keyform]:
    """The keyforms of `owner` regenerated with `controls`; see `regenerate`."""
    ctx = context_from_document(doc, controls)
    new = [k for g in GENERATORS if g.owner == owner for k in g.make(ctx)]
    old = [k for k in doc.keyforms if k.owner == owner]
    sig = [(k.target, list(k.params), [list(map(float, x)) for x in k.keys]) for k in old]
    if sig != [(k.target, list(k.params), [list(map(float, x)) for x in k.keys]) for k in new]:
        raise RiggingError(
            f"the {owner!r} keyforms of this document do not match what the rig "
            "makes now (was it edited by hand?); rebuild the rig instead"
        )
    return new


def regenerate(doc: RigDocument, owner: str, controls: RigControls) -> list[Keyform]:
    """The keyforms of `owner` rebuilt with `controls` (the document is not changed).

    Same targets, parameters and keys as the owner's keyforms in `doc`, in the
    same order; only the forms differ.  Raises ControlsError for an unknown owner.
    """
    if owner not in OWNER_CONTROLS:
        raise ControlsError(f"unknown keyform owner {owner!r}; known: {', '.join(OWNER_CONTROLS)}")
    controls.validate()
    return rebuild_owner(doc, owner, controls)


def replace_owner(doc: RigDocument, owner: str, controls: RigControls) -> None:
    """Regenerate `owner` and swap its keyforms in `doc` in place."""
    new = iter(regenerate(doc, owner, controls))
    doc.keyforms = [next(new) if k.owner == owner else k for k in doc.keyforms]
