# SPDX-License-Identifier: GPL-3.0-or-later
"""Rig document -> Blender scene (the reverse of scene/gather.py).

The scene reproduces core/runtime/evaluate.py exactly:

* mesh keyforms are shape keys on the mesh, warp keyforms shape keys on a
  Lattice (KEY_LINEAR, one point deep) whose rest points are the warp grid;
* each mesh's modifier stack follows its deformer chain innermost first:
  Lattice modifiers (inner warp first), then an Armature modifier bound with a
  100 % vertex group to the innermost rotation's bone;
* rotation keyforms drive the bone's pose rotation and location;
* every keyform node weight is a driver (scene/drivers.py), parameters are
  custom properties of the "rig" object, motions are Actions on it
  (scene/motion.py), with the hair physics baked in (scene/physics.py);
* mesh opacity keyforms drive the mesh object's ``i2r_alpha`` property
  (clamp(layer opacity + weighted node sum, 0, 1)); the layer's material
  multiplies its alpha by that Object attribute;
* a layer with ``clip_to`` gets a Geometry Nodes clip modifier and a material
  that multiplies by the clip layer's alpha (scene/clip.py);
* creator controls, physics settings and parameter confidences are custom
  properties of the rig; each generated shape key's checksum is kept so that
  regenerating never overwrites a hand edit (scene/controls.py).

What gather needs is kept as custom properties (prefix ``i2r_``).
"""

from __future__ import annotations

import json
import math
import os
import uuid

import bpy
import numpy as np

from ..core.model.document import Layer, Mesh, RigDocument, RotationDeformer, WarpDeformer
from . import drivers as drv
from . import keys as K
from .controls import bone_record, record_key_hashes
from .drivers import FORM_EPSILON, build_bone_drivers
from .keys import RIG_NAME, confidence_prop
from .materials import layer_material
from .space import CAMERA_DISTANCE, METRES_PER_PIXEL, canvas_to_world, depth_of, offsets_to_world

BONE_LENGTH_FRACTION = 0.08  # of the canvas's longest side


class SceneBuildError(RuntimeError):
    """Building the Blender scene failed; nothing was left behind."""


def _as_json(value) -> str:
    return json.dumps(value, separators=(",", ":"))


def collection_name_for(doc: RigDocument) -> str:
    base = os.path.splitext(os.path.basename(doc.source))[0] if doc.source else ""
    return base or "Image to Rig"


class _Builder:
    def __init__(self, doc: RigDocument, scene, name: str | None):
        self.doc = doc
        self.scene = scene
        self.name = name or collection_name_for(doc)
        self.created: list[object] = []  # ID blocks, removed again on failure
        self.W = float(doc.canvas.width)
        self.H = float(doc.canvas.height)
        self.params = {p.id: p for p in doc.parameters}

    # --- bookkeeping -------------------------------------------------------
    def track(self, id_block):
        self.created.append(id_block)
        return id_block

    def link(self, obj):
        self.collection.objects.link(obj)
        return obj

    def remove_created(self) -> None:
        alive = []
        for id_block in self.created:
            try:
                id_block.name  # raises ReferenceError when already freed
                alive.append(id_block)
            except ReferenceError:
                pass
        if alive:
            bpy.data.batch_remove(alive)
        self.created.clear()

    # --- build -------------------------------------------------------------
    def build(self):
        doc = self.doc
        doc.validate()
        self.collection = self.track(bpy.data.collections.new(self.name))
        self.scene.collection.children.link(self.collection)
        self.setup_scene()
        self.rig = self.build_armature()
        self.build_parameters()
        self.build_physics()
        self.build_controls()
        self.weights = drv.WeightNetwork(self.rig, self.params)
        self.lattices: dict[str, bpy.types.Object] = {}
        for d in doc.deformers:
            if isinstance(d, WarpDeformer):
                self.lattices[d.id] = self.build_lattice(d)
        self.build_rotation_drivers()
        self.materials: dict[str, bpy.types.Material] = {}
        self.images: dict[str, bpy.types.Image] = {}
        layer_index = {l.id: i for i, l in enumerate(doc.layers)}
        mesh_layer = {m.id: m.layer for m in doc.meshes}
        self.faded_layers = {mesh_layer[k.target] for k in doc.keyforms if k.channel == "opacity"}
        for layer in doc.layers:
            self.materials[layer.id] = self.build_material(layer, layer_index[layer.id])
        order = {mid: i for i, mid in enumerate(doc.draw_order)}
        self.mesh_objects: dict[str, bpy.types.Object] = {}
        for mesh in doc.meshes:
            self.mesh_objects[mesh.id] = self.build_mesh(mesh, order[mesh.id])
        self.build_clipping()
        self.build_motions()
        self.build_camera()
        return self.collection

    def setup_scene(self) -> None:
        scene = self.scene
        scene.view_settings.view_transform = "Standard"
        scene.view_settings.look = "None"
        scene.render.resolution_x = self.doc.canvas.width
        scene.render.resolution_y = self.doc.canvas.height
        scene.render.resolution_percentage = 100
        scene.render.film_transparent = True

    def build_camera(self) -> None:
        cam_data = self.track(bpy.data.cameras.new(f"{self.name} camera"))
        cam_data.type = "ORTHO"
        cam_data.ortho_scale = max(self.W, self.H) * METRES_PER_PIXEL
        cam_data.sensor_fit = "AUTO"
        cam_data.clip_start = 0.01
        cam_data.clip_end = CAMERA_DISTANCE * 4
        cam = self.track(bpy.data.objects.new(f"{self.name} camera", cam_data))
        cam.location = (0.0, -CAMERA_DISTANCE, 0.0)
        cam.rotation_euler = (math.pi / 2, 0.0, 0.0)
        cam[K.CAMERA] = True
        self.link(cam)
        self.scene.camera = cam

    # --- armature ----------------------------------------------------------
    def build_armature(self):
        doc = self.doc
        arm = self.track(bpy.data.armatures.new(RIG_NAME))
        rig = self.track(bpy.data.objects.new(RIG_NAME, arm))
        self.link(rig)
        rig[K.RIG] = True
        rig[K.RIG_UID] = uuid.uuid4().hex
        rig[K.CANVAS] = [doc.canvas.width, doc.canvas.height]
        rig[K.SOURCE] = doc.source
        rig[K.VERSION] = int(doc.version)
        rig[K.INFO] = _as_json(_jsonable(doc.info))
        rig[K.LAYER_ORDER] = _as_json([l.id for l in doc.layers])
        rig[K.KEYFORM_ORDER] = _as_json([[k.target, k.owner, list(k.params)] for k in doc.keyforms])
        rig[K.OWNERS] = _as_json(sorted({k.owner for k in doc.keyforms if k.owner}))
        rotations = [d for d in doc.deformers if isinstance(d, RotationDeformer)]
        if not rotations:
            return rig
        view_layer = bpy.context.view_layer
        if bpy.context.mode != "OBJECT":  # e.g. the user was editing a mesh
            bpy.ops.object.mode_set(mode="OBJECT")
        previous_active = view_layer.objects.active
        view_layer.objects.active = rig
        bone_length = BONE_LENGTH_FRACTION * max(self.W, self.H) * METRES_PER_PIXEL
        bpy.ops.object.mode_set(mode="EDIT")
        try:
            edit_bones = arm.edit_bones
            for d in rotations:
                bone = edit_bones.new(d.id)
                head = canvas_to_world([d.pivot], self.W, self.H)[0]
                bone.head = head
                bone.tail = head + np.array([0.0, 0.0, bone_length])
                bone.roll = 0.0
                bone.use_deform = True
            for d in rotations:
                if d.parent is not None:
                    edit_bones[d.id].parent = edit_bones[d.parent]
                    edit_bones[d.id].use_connect = False
        finally:
            bpy.ops.object.mode_set(mode="OBJECT")
            view_layer.objects.active = previous_active
        for d in rotations:
            pb = rig.pose.bones[d.id]
            pb.rotation_mode = "XYZ"
            pb[K.PIVOT] = [float(d.pivot[0]), float(d.pivot[1])]
        return rig

    def build_parameters(self) -> None:
        rig = self.rig
        meta = []
        for p in self.doc.parameters:
            rig[p.id] = float(p.default)
            ui = rig.id_properties_ui(p.id)
            ui.update(
                min=float(p.min),
                max=float(p.max),
                soft_min=float(p.min),
                soft_max=float(p.max),
                default=float(p.default),
                description=p.name or p.id,
                step=1,
                precision=3,
            )
            sp = drv.strength_prop(p.id)
            rig[sp] = float(p.strength)
            ui = rig.id_properties_ui(sp)
            ui.update(
                min=0.0,
                max=3.0,
                soft_min=0.0,
                soft_max=3.0,
                default=1.0,
                description=f"Strength of {p.name or p.id} (scales its keyforms)",
            )
            note = confidence_note(self.doc, p)
            cp = confidence_prop(p.id)
            rig[cp] = float(p.confidence)
            rig.id_properties_ui(cp).update(
                min=0.0,
                max=1.0,
                soft_min=0.0,
                soft_max=1.0,
                default=float(p.confidence),
                description=f"How sure Image to Rig is that {p.name or p.id} looks right. {note}",
            )
            meta.append(
                {
                    "id": p.id,
                    "name": p.name,
                    "group": p.group,
                    "confidence": float(p.confidence),
                    "note": note,
                }
            )
        rig[K.PARAMETERS] = _as_json(meta)

    def build_physics(self) -> None:
        if self.doc.physics:
            from ..core.model.physics import validate_physics
            from .physics import store_physics

            validate_physics(self.doc)
            store_physics(self.rig, self.doc.physics)

    def build_controls(self) -> None:
        from .controls import store_controls

        store_controls(self.rig, self.doc.info.get("controls"))

    def keyform_records(self, target: str, node_name) -> list:
        """JSON records of a target's keyforms; node_name(k, n) names non-zero nodes."""
        records = []
        for k_index, kf in enumerate(self.doc.keyforms_of(target)):
            nodes = []
            for n in range(kf.node_count()):
                form = np.asarray(kf.forms[n], np.float64)
                nodes.append(node_name(k_index, n) if np.abs(form).max(initial=0.0) > FORM_EPSILON else None)
            records.append(
                {
                    "params": list(kf.params),
                    "keys": [list(map(float, k)) for k in kf.keys],
                    "owner": kf.owner,
                    "nodes": nodes,
                }
            )
        return records

    def build_rotation_drivers(self) -> None:
        for d in self.doc.deformers:
            if not isinstance(d, RotationDeformer):
                continue
            keyforms = self.doc.keyforms_of(d.id)
            self.rig.pose.bones[d.id][K.KEYFORMS] = _as_json([bone_record(kf) for kf in keyforms])
            build_bone_drivers(self.rig, d.id, keyforms, self.weights)

    # --- warps ---------------------------------------------------------------
    def build_lattice(self, warp: WarpDeformer):
        x0, y0, x1, y1 = (float(v) for v in warp.rect)
        lat = self.track(bpy.data.lattices.new(warp.id))
        lat.points_u = warp.cols + 1
        lat.points_v = warp.rows + 1
        lat.points_w = 1
        lat.interpolation_type_u = "KEY_LINEAR"
        lat.interpolation_type_v = "KEY_LINEAR"
        lat.interpolation_type_w = "KEY_LINEAR"
        lat.use_outside = False
        obj = self.track(bpy.data.objects.new(warp.id, lat))
        self.link(obj)
        obj.parent = self.rig
        centre = canvas_to_world([((x0 + x1) / 2, (y0 + y1) / 2)], self.W, self.H)[0]
        obj.location = centre
        # Local X = canvas x, local Y = canvas y (down), so point index
        # u + v*(cols+1) is the warp's row-major control point order.
        obj.rotation_euler = (-math.pi / 2, 0.0, 0.0)
        # Blender spaces the rest points itself (1 apart, or -1..1): scale the
        # object so they land exactly on the warp's rest grid.
        rest = np.array([p.co for p in lat.points], np.float64)
        span_u = float(rest[:, 0].max() - rest[:, 0].min())
        span_v = float(rest[:, 1].max() - rest[:, 1].min())
        mid_u = float(rest[:, 0].max() + rest[:, 0].min()) / 2
        mid_v = float(rest[:, 1].max() + rest[:, 1].min()) / 2
        if abs(mid_u) > 1e-6 or abs(mid_v) > 1e-6:
            raise SceneBuildError(f"lattice of warp {warp.id!r} is not centred")
        obj.scale = ((x1 - x0) * METRES_PER_PIXEL / span_u, (y1 - y0) * METRES_PER_PIXEL / span_v, 1.0)
        obj.display_type = "WIRE"
        obj[K.DEFORMER_ID] = warp.id
        obj[K.RECT] = [x0, y0, x1, y1]
        obj[K.ROWS] = int(warp.rows)
        obj[K.COLS] = int(warp.cols)
        obj[K.PARENT] = warp.parent or ""
        scale = np.array([span_u / (x1 - x0), span_v / (y1 - y0)])  # px -> lattice local
        records = self.keyform_records(warp.id, lambda k, n: f"kf{k}.{n}")
        keyforms = self.doc.keyforms_of(warp.id)
        if any(n is not None for r in records for n in r["nodes"]):
            obj.shape_key_add(name="Basis", from_mix=False)
            for k_index, (kf, rec) in enumerate(zip(keyforms, records)):
                for n, key_name in enumerate(rec["nodes"]):
                    if key_name is None:
                        continue
                    block = obj.shape_key_add(name=key_name, from_mix=False)
                    co = rest.copy()
                    co[:, :2] += np.asarray(kf.forms[n], np.float64) * scale
                    block.data.foreach_set("co", co.astype(np.float32).ravel())
                    drv.shape_key_driver(block, self.weights.node(kf, n), self.weights.store)
            record_key_hashes(obj)
        obj[K.KEYFORMS] = _as_json(records)
        return obj

    # --- layers and meshes ---------------------------------------------------
    def build_material(self, layer: Layer, index: int):
        image, material = layer_material(layer, index, layer.id in self.faded_layers, self.track)
        self.images[layer.id] = image
        return material

    def build_mesh(self, mesh: Mesh, draw_index: int):
        doc = self.doc
        layer = doc.layer(mesh.layer)
        n = len(mesh.vertices)
        tris = np.asarray(mesh.triangles, np.int32).reshape(-1, 3)
        me = self.track(bpy.data.meshes.new(mesh.id))
        local = canvas_to_world(mesh.vertices, self.W, self.H)
        me.vertices.add(n)
        me.vertices.foreach_set("co", local.astype(np.float32).ravel())
        me.loops.add(len(tris) * 3)
        me.loops.foreach_set("vertex_index", tris.ravel())
        me.polygons.add(len(tris))
        me.polygons.foreach_set("loop_start", np.arange(0, len(tris) * 3, 3, dtype=np.int32))
        me.polygons.foreach_set("loop_total", np.full(len(tris), 3, np.int32))
        uv_layer = me.uv_layers.new(name="layer")
        lw, lh = layer.size
        uv = np.empty((n, 2), np.float64)
        uv[:, 0] = mesh.uvs[:, 0] / max(lw, 1)
        uv[:, 1] = 1.0 - mesh.uvs[:, 1] / max(lh, 1)
        uv_layer.data.foreach_set("uv", uv[tris.ravel()].astype(np.float32).ravel())
        me.update(calc_edges=True)
        me.validate(clean_customdata=False)
        if len(me.vertices) != n or len(me.polygons) != len(tris):
            raise SceneBuildError(f"mesh {mesh.id!r} has degenerate triangles Blender cannot keep")
        me.materials.append(self.materials[layer.id])
        obj = self.track(bpy.data.objects.new(mesh.id, me))
        self.link(obj)
        obj.parent = self.rig
        obj.location = (0.0, depth_of(draw_index, len(doc.draw_order)), 0.0)
        obj[K.MESH_ID] = mesh.id
        obj[K.LAYER] = layer.id
        obj[K.TAG] = layer.tag
        obj[K.SIDE] = layer.side
        obj[K.ROLE] = layer.role
        obj[K.CROP] = [int(layer.x), int(layer.y)]
        obj[K.OPACITY] = float(layer.opacity)
        obj[K.CLIP_TO] = layer.clip_to or ""
        obj[K.GENERATED] = bool(layer.generated)
        obj[K.DEFORMER] = mesh.deformer or ""
        # Mesh keyforms -> shape keys.
        records = self.keyform_records(mesh.id, lambda k, n: f"kf{k}.{n}")
        keyforms = doc.keyforms_of(mesh.id)
        if any(name is not None for r in records for name in r["nodes"]):
            obj.shape_key_add(name="Basis", from_mix=False)
            self.track(me.shape_keys)
            for kf, rec in zip(keyforms, records):
                for node, key_name in enumerate(rec["nodes"]):
                    if key_name is None:
                        continue
                    block = obj.shape_key_add(name=key_name, from_mix=False)
                    co = local + offsets_to_world(kf.forms[node])
                    block.data.foreach_set("co", co.astype(np.float32).ravel())
                    drv.shape_key_driver(block, self.weights.node(kf, node), self.weights.store)
            record_key_hashes(obj)
        obj[K.KEYFORMS] = _as_json(records)
        if layer.id in self.faded_layers:
            self.build_opacity(obj, mesh, layer)
        # Deformer chain, innermost first: lattices, then the armature.
        chain = doc.deformer_chain(mesh.deformer)
        bone = None
        for d in chain:
            if isinstance(d, WarpDeformer):
                mod = obj.modifiers.new(name=f"warp {d.id}", type="LATTICE")
                mod.object = self.lattices[d.id]
                mod.strength = 1.0
            elif bone is None:
                bone = d.id
        if bone is not None:
            group = obj.vertex_groups.new(name=bone)
            group.add(range(n), 1.0, "REPLACE")
            mod = obj.modifiers.new(name="rig", type="ARMATURE")
            mod.object = self.rig
            mod.use_vertex_groups = True
            mod.use_bone_envelopes = False
            mod.use_deform_preserve_volume = False
        return obj

    def build_opacity(self, obj, mesh: Mesh, layer: Layer) -> None:
        """The object's driven opacity (K.ALPHA) and the records gather reads back."""
        keyforms = self.doc.keyforms_of(mesh.id, "opacity")
        obj[K.ALPHA] = float(layer.opacity)
        obj[K.OPACITY_KEYFORMS] = _as_json(
            [
                {
                    "params": list(kf.params),
                    "keys": [list(map(float, k)) for k in kf.keys],
                    "owner": kf.owner,
                    "forms": [float(v) for v in np.asarray(kf.forms).ravel()],
                }
                for kf in keyforms
            ]
        )
        drv.build_opacity_driver(obj, K.ALPHA, float(layer.opacity), keyforms, self.weights)

    def build_clipping(self) -> None:
        """Clipped layers (irides) are masked by their clip layer's alpha (scene/clip.py)."""
        from . import clip

        doc = self.doc
        clipped_materials = set()
        had_group = bpy.data.node_groups.get(clip.CLIP_GROUP) is not None
        for mesh in doc.meshes:
            layer = doc.layer(mesh.layer)
            if not layer.clip_to:
                continue
            clip_meshes = [m.id for m in doc.meshes if m.layer == layer.clip_to]
            if not clip_meshes:
                continue  # an empty clip layer: nothing to sample
            obj = self.mesh_objects[mesh.id]
            clip.add_clip_modifier(
                obj,
                self.mesh_objects[clip_meshes[0]],
                clip.subdivision_level(mesh.vertices, mesh.triangles, mesh.uvs),
            )
            if layer.id not in clipped_materials:
                clip.add_clip_to_material(self.materials[layer.id], self.images[layer.clip_to])
                clipped_materials.add(layer.id)
        group = bpy.data.node_groups.get(clip.CLIP_GROUP)
        if group is not None and not had_group:
            self.track(group)  # made by this build: removed again on failure

    # --- motions ---------------------------------------------------------------
    def build_motions(self) -> None:
        rig = self.rig
        if not self.doc.motions:
            return
        from .motion import activate_motion, create_motion_action

        fps = self.doc.motions[0].fps or 30.0
        self.scene.render.fps = max(1, int(round(fps)))
        self.scene.render.fps_base = self.scene.render.fps / fps if fps else 1.0
        active = None
        for motion in self.doc.motions:
            act = self.track(create_motion_action(rig, motion, self.scene))
            if motion.id == "Idle" or active is None:
                active = act
        if self.doc.physics:
            from .physics import bake_action_physics

            for act in [a for a in self.created if isinstance(a, bpy.types.Action)]:
                bake_action_physics(rig, act, self.scene)
        activate_motion(rig, active, self.scene)


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def build_scene(doc: RigDocument, scene=None, name: str | None = None):
    """Build the rig of `doc` into a new collection of `scene` and return it.

    On any failure everything created so far is removed again and the error
    is raised (SceneBuildError or the document's DocumentError).
    """
    builder = _Builder(doc, scene or bpy.context.scene, name)
    try:
        return builder.build()
    except BaseException:
        if bpy.context.object is not None and bpy.context.object.mode != "OBJECT":
            bpy.ops.object.mode_set(mode="OBJECT")
        builder.remove_created()
        raise


def confidence_note(doc: RigDocument, param) -> str:
    """Plain words on what a parameter with low confidence lacks (the rig
    stage's reasons when it gave some)."""
    if param.confidence >= 1.0:
        return "All the parts it needs were found."
    info = doc.info if isinstance(doc.info, dict) else {}
    reasons = (info.get("rig") or {}).get("confidence", {}) if isinstance(info.get("rig"), dict) else {}
    notes = info.get("confidence_notes") or {}
    for source in (reasons, notes):
        if isinstance(source, dict) and source.get(param.id):
            why = source[param.id]
            text = "; ".join(map(str, why)) if isinstance(why, (list, tuple)) else str(why)
            return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")
    needs = ()
    try:
        from ..core.stages.rig import PARAMETERS

        needs = next((row[6] for row in PARAMETERS if row[0] == param.id), ())
    except ImportError:
        pass
    have = {m.layer for m in doc.meshes}
    missing = [n for n in needs if n not in have]
    if missing:
        return "Missing parts: " + ", ".join(missing) + ". Check it by moving the slider."
    return "Some parts it needs look unreliable. Check it by moving the slider."
