# SPDX-License-Identifier: GPL-3.0-or-later
"""Blender scene -> rig document (the reverse of scene/build.py).

What the user edited in Blender is what gets exported: rest vertices come from
the mesh basis, mesh and warp keyforms from the shape keys (key - basis), mesh opacity
keyforms from their records on the mesh object,
rotation pivots from the bones, strengths from the rig's sliders, motions from
the Actions, draw order from depth.
"""

from __future__ import annotations

import json

import bpy
import numpy as np

from ..core.model.document import (
    Canvas,
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
from . import keys as K
from .keys import PHYSICS_VERTEX_FIELDS as VERTEX_FIELDS
from .keys import confidence_prop, control_prop, find_rig, parameter_meta, strength_prop
from .keys import physics_input_prop as input_prop
from .keys import physics_output_prop as output_prop
from .keys import physics_vertex_prop as vertex_prop
from .motion import (
    FIRST_FRAME,
    PHYSICS_PARAMS_KEY,
    action_fcurves,
    base_curves,
    motion_strength,
    motions_of_rig,
    param_of_path,
    scaled_values,
    scene_fps,
)
from .space import METRES_PER_PIXEL, world_to_canvas


class GatherError(ValueError):
    """The collection does not hold an Image to Rig scene."""


def _json(obj, key, default):
    text = obj.get(key)
    return default if text is None else json.loads(text)


def _image_pixels(image) -> np.ndarray:
    w, h = image.size
    buf = np.empty(w * h * 4, np.float32)
    image.pixels.foreach_get(buf)
    rgba = np.clip(np.rint(buf.reshape(h, w, 4) * 255.0), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(rgba[::-1])


def _material_image(obj):
    """The layer's own texture (not helper images such as a clip mask)."""
    found = []
    for slot in obj.material_slots:
        mat = slot.material
        if mat is None or mat.node_tree is None:
            continue
        for node in mat.node_tree.nodes:
            if node.type == "TEX_IMAGE" and node.image is not None and not node.get(K.CLIP_MASK):
                found.append(node.image)
    for image in found:
        if image.get(K.LAYER) == obj.get(K.LAYER):
            return image
    return found[0] if found else None


def _rig_space(rig, obj) -> np.ndarray:
    """4x4 matrix from obj's local space to the rig's space."""
    return np.array(rig.matrix_world.inverted() @ obj.matrix_world, np.float64)


def _key_coords(block, count: int) -> np.ndarray:
    co = np.empty(count * 3, np.float32)
    block.data.foreach_get("co", co)
    return co.reshape(count, 3).astype(np.float64)


def _keyforms_from_shape_keys(obj, target: str, basis: np.ndarray, to_px_offsets) -> list[Keyform]:
    """Keyforms recorded on obj; node forms are (shape key - basis) in canvas px."""
    records = _json(obj, K.KEYFORMS, [])
    blocks = obj.data.shape_keys.key_blocks if obj.data.shape_keys else {}
    out = []
    for rec in records:
        nodes = rec["nodes"]
        forms = np.zeros((len(nodes), len(basis), 2))
        for n, name in enumerate(nodes):
            if name is not None and name in blocks:
                forms[n] = to_px_offsets(_key_coords(blocks[name], len(basis)) - basis)
        out.append(
            Keyform(
                target, list(rec["params"]), [list(k) for k in rec["keys"]], forms, owner=rec.get("owner", "")
            )
        )
    return out


def gather_document(collection) -> RigDocument:
    """Read an Image to Rig collection back into a RigDocument."""
    rig = find_rig(collection)
    if rig is None:
        raise GatherError(f"the collection {collection.name!r} has no Image to Rig rig in it")
    W, H = (int(v) for v in rig[K.CANVAS])
    doc = RigDocument(Canvas(W, H), source=str(rig.get(K.SOURCE, "")), version=int(rig.get(K.VERSION, 1)))
    doc.info = _json(rig, K.INFO, {})

    # Parameters (strengths, confidences), physics and creator controls.
    doc.parameters = gather_parameters(rig)
    doc.physics = gather_physics(rig)
    controls = gather_controls(rig)
    if controls is not None:
        doc.info["controls"] = controls

    # Rotation deformers from the bones (pivot = bone head, which the user may move).
    for bone in rig.data.bones:
        head = np.array(bone.head_local, np.float64)
        pivot = world_to_canvas(head[None], W, H)[0]
        doc.deformers.append(
            RotationDeformer(
                bone.name,
                (float(pivot[0]), float(pivot[1])),
                parent=bone.parent.name if bone.parent else None,
            )
        )
        pb = rig.pose.bones[bone.name]
        for rec in _json(pb, K.KEYFORMS, []):
            doc.keyforms.append(
                Keyform(
                    bone.name,
                    list(rec["params"]),
                    [list(k) for k in rec["keys"]],
                    np.asarray(rec["forms"], np.float64).reshape(-1, 3),
                    owner=rec.get("owner", ""),
                )
            )

    objects = list(collection.all_objects)
    # Warps from the lattices: the grid rect is kept as a property.
    for obj in objects:
        if obj.type != "LATTICE" or K.DEFORMER_ID not in obj:
            continue
        x0, y0, x1, y1 = (float(v) for v in obj[K.RECT])
        warp = WarpDeformer(
            obj[K.DEFORMER_ID],
            (x0, y0, x1, y1),
            int(obj[K.ROWS]),
            int(obj[K.COLS]),
            parent=obj.get(K.PARENT) or None,
        )
        doc.deformers.append(warp)
        count = len(obj.data.points)
        if obj.data.shape_keys:
            basis = _key_coords(obj.data.shape_keys.reference_key, count)
        else:
            basis = np.array([p.co for p in obj.data.points], np.float64)
        rest = np.array([p.co for p in obj.data.points], np.float64)
        size = np.array([(x1 - x0) / float(np.ptp(rest[:, 0])), (y1 - y0) / float(np.ptp(rest[:, 1]))])
        doc.keyforms.extend(_keyforms_from_shape_keys(obj, warp.id, basis, lambda d, s=size: d[:, :2] * s))

    # Meshes and their layers.
    meshes = [o for o in objects if o.type == "MESH" and K.MESH_ID in o]
    layers: dict[str, Layer] = {}
    depth = {}
    for obj in meshes:
        me = obj.data
        n = len(me.vertices)
        m = _rig_space(rig, obj)
        if me.shape_keys:
            local = _key_coords(me.shape_keys.reference_key, n)
        else:
            local = np.empty(n * 3, np.float32)
            me.vertices.foreach_get("co", local)
            local = local.reshape(n, 3).astype(np.float64)
        rest_world = local @ m[:3, :3].T + m[:3, 3]
        verts = world_to_canvas(rest_world, W, H)
        loops = np.empty(len(me.loops), np.int32)
        me.loops.foreach_get("vertex_index", loops)
        tris = loops.reshape(-1, 3) if len(me.loops) == 3 * len(me.polygons) else _triangulate(me)
        layer_id = obj[K.LAYER]
        if layer_id not in layers:
            image = _material_image(obj)
            if image is None:
                raise GatherError(f"the mesh {obj.name!r} lost its image texture")
            cx, cy = (int(v) for v in obj[K.CROP])
            layers[layer_id] = Layer(
                layer_id,
                obj.get(K.TAG, ""),
                _image_pixels(image),
                x=cx,
                y=cy,
                side=obj.get(K.SIDE, ""),
                generated=bool(obj.get(K.GENERATED, False)),
                opacity=float(obj.get(K.OPACITY, 1.0)),
                clip_to=obj.get(K.CLIP_TO) or None,
                role=obj.get(K.ROLE, ""),
            )
        layer = layers[layer_id]
        lw, lh = layer.size
        uv_loop = np.empty(len(me.loops) * 2, np.float32)
        me.uv_layers[0].data.foreach_get("uv", uv_loop)
        uv_loop = uv_loop.reshape(-1, 2).astype(np.float64)
        uvs = np.zeros((n, 2))
        uvs[loops] = uv_loop
        uvs[:, 0] *= lw
        uvs[:, 1] = (1.0 - uvs[:, 1]) * lh
        mesh_id = obj[K.MESH_ID]
        doc.meshes.append(
            Mesh(mesh_id, layer_id, verts, tris.astype(np.int32), uvs, deformer=obj.get(K.DEFORMER) or None)
        )
        lin = m[:3, :3]
        doc.keyforms.extend(
            _keyforms_from_shape_keys(
                obj,
                mesh_id,
                local,
                lambda d, lin=lin: np.stack(
                    [(d @ lin.T)[:, 0] / METRES_PER_PIXEL, -(d @ lin.T)[:, 2] / METRES_PER_PIXEL], axis=1
                ),
            )
        )
        depth[mesh_id] = float(rest_world[:, 1].mean()) if n else float(m[1, 3])
        for rec in _json(obj, K.OPACITY_KEYFORMS, []):
            doc.keyforms.append(
                Keyform(
                    mesh_id,
                    list(rec["params"]),
                    [list(k) for k in rec["keys"]],
                    np.asarray(rec["forms"], np.float64).reshape(-1, 1),
                    owner=rec.get("owner", ""),
                    channel="opacity",
                )
            )
    doc.keyforms = _in_build_order(rig, doc.keyforms)
    order = _json(rig, K.LAYER_ORDER, [])
    rank = {lid: i for i, lid in enumerate(order)}
    doc.layers = sorted(layers.values(), key=lambda l: rank.get(l.id, len(rank)))
    # Back (largest Y) to front; ties keep the build order.
    doc.draw_order = [mid for mid, _ in sorted(depth.items(), key=lambda kv: -kv[1])]
    doc.motions = gather_motions(rig, bpy.context.scene)
    return doc


def _in_build_order(rig, keyforms: list[Keyform]) -> list[Keyform]:
    """Keyforms in the document's original order (generators rely on it);
    ones the build did not know go last."""
    ranks: dict[tuple, list[int]] = {}
    for i, (target, owner, params) in enumerate(_json(rig, K.KEYFORM_ORDER, [])):
        ranks.setdefault((target, owner, tuple(params)), []).append(i)
    keyed = []
    for j, kf in enumerate(keyforms):
        free = ranks.get((kf.target, kf.owner, tuple(kf.params)))
        rank = free.pop(0) if free else len(keyforms) + j
        keyed.append((rank, j, kf))
    return [kf for _, _, kf in sorted(keyed, key=lambda t: (t[0], t[1]))]


def _triangulate(me) -> np.ndarray:
    me.calc_loop_triangles()
    tris = np.empty(len(me.loop_triangles) * 3, np.int32)
    me.loop_triangles.foreach_get("vertices", tris)
    return tris.reshape(-1, 3)


def gather_motions(rig, scene) -> list[Motion]:
    motions = []
    fps_scene = scene_fps(scene)
    for action in motions_of_rig(rig):
        strength = motion_strength(action)
        base = base_curves(action)
        curves = []
        for fc in action_fcurves(action):
            param = param_of_path(fc.data_path)
            if param is None or param not in rig:
                continue
            k = len(fc.keyframe_points)
            co = np.empty(k * 2, np.float32)
            fc.keyframe_points.foreach_get("co", co)
            co = co.reshape(k, 2).astype(np.float64)
            times = (co[:, 0] - FIRST_FRAME) / fps_scene
            values = co[:, 1]
            if param in base:
                bt, bv = (np.asarray(a, np.float64) for a in base[param])
                if (
                    len(bt) == k
                    and np.allclose(scaled_values(rig, param, bv, strength), values, atol=1e-4)
                    and np.allclose(bt, times, atol=1e-3)
                ):
                    curves.append(MotionCurve(param, bt, bv))
                    continue
            # Edited by hand: the keyframes already include the strength.
            default = float(rig.id_properties_ui(param).as_dict().get("default", 0.0))
            if strength > 1e-6:
                values = default + (values - default) / strength
            curves.append(MotionCurve(param, times, values))
        motions.append(
            Motion(
                action.get(K.MOTION, action.name),
                float(action.get(K.DURATION, 0.0)),
                curves,
                loop=bool(action.get(K.LOOP, True)),
                fps=float(action.get(K.FPS, fps_scene)),
                strength=strength,
            )
        )
    motions.sort(key=lambda m: (m.id != "Idle", m.id))
    return motions


def gather_parameters(rig) -> list[Parameter]:
    out = []
    for meta in parameter_meta(rig):
        pid = meta["id"]
        if pid not in rig:
            continue
        ui = rig.id_properties_ui(pid).as_dict()
        out.append(
            Parameter(
                pid,
                float(ui["min"]),
                float(ui["default"]),
                float(ui["max"]),
                name=meta.get("name", ""),
                group=meta.get("group", ""),
                confidence=float(rig.get(confidence_prop(pid), meta.get("confidence", 1.0))),
                strength=float(rig.get(strength_prop(pid), 1.0)),
            )
        )
    return out


def gather_physics(rig) -> list:
    """The rig's physics settings with the numbers as edited in the panel."""
    from ..core.formats.model_json import physics_from_runtime

    text = rig.get(K.PHYSICS)
    if not text:
        return []
    settings = physics_from_runtime(json.loads(text))
    for s, setting in enumerate(settings):
        for i, inp in enumerate(setting.inputs):
            inp.weight = float(rig.get(input_prop(s, i), inp.weight))
        for k, vert in enumerate(setting.vertices):
            for field, _, _, _ in VERTEX_FIELDS:
                name = vertex_prop(s, k, field)
                if k and name in rig:
                    setattr(vert, field, float(rig[name]))
        for j, out in enumerate(setting.outputs):
            out.scale = float(rig.get(output_prop(s, j), out.scale))
    return settings


def rig_document(rig, scene=None) -> RigDocument:
    """A light document of the rig: canvas, parameters, physics (no meshes).

    Enough for motion makers and physics baking, and fast (no images read)."""
    W, H = (int(v) for v in rig[K.CANVAS])
    doc = RigDocument(Canvas(W, H), source=str(rig.get(K.SOURCE, "")))
    doc.parameters = gather_parameters(rig)
    doc.physics = gather_physics(rig)
    return doc


def motion_of_action(rig, action, scene) -> Motion:
    """The action's motion without the curves physics wrote (its inputs only)."""
    physics_params = set(action.get(PHYSICS_PARAMS_KEY, []))
    fps = scene_fps(scene)
    base = base_curves(action)
    strength = motion_strength(action)
    curves = [
        MotionCurve(p, np.asarray(t, np.float64), np.asarray(v, np.float64))
        for p, (t, v) in base.items()
        if p not in physics_params and p in rig
    ]
    for fc in action_fcurves(action):  # curves added by hand
        param = param_of_path(fc.data_path)
        if param is None or param in base or param in physics_params or param not in rig:
            continue
        co = np.empty(len(fc.keyframe_points) * 2, np.float32)
        fc.keyframe_points.foreach_get("co", co)
        co = co.reshape(-1, 2).astype(np.float64)
        default = float(rig.id_properties_ui(param).as_dict().get("default", 0.0))
        values = co[:, 1] if strength <= 1e-6 else default + (co[:, 1] - default) / strength
        curves.append(MotionCurve(param, (co[:, 0] - FIRST_FRAME) / fps, values))
    return Motion(
        action.get(K.MOTION, action.name),
        float(action.get(K.DURATION, 0.0)),
        curves,
        loop=bool(action.get(K.LOOP, True)),
        fps=fps,
        strength=strength,
    )


def gather_controls(rig) -> dict[str, float] | None:
    from ..core.stages.rig import CONTROLS

    if not any(control_prop(n) in rig for n in CONTROLS):
        return None
    return {n: float(rig[control_prop(n)]) for n in CONTROLS if control_prop(n) in rig}
