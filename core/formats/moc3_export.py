# SPDX-License-Identifier: GPL-3.0-or-later
"""Rig document -> .moc3, converted exactly to what the Cubism Core computes.

Our runtime (docs/runtime-format.md) and Cubism differ in four places; each
is converted here so that the Core's vertices and opacities equal our
reference evaluator's (measured against the official Core in
tests/test_moc3.py):

1. Keyforms.  We add the offsets of any number of keyforms per target, each
   over its own parameters; Cubism keeps one grid per art mesh / deformer over
   all of its parameters (first parameter fastest) and interpolates it
   multilinearly.  The union grid (every key of every keyform of the target,
   plus each parameter's min and max) holding our summed offsets at every node
   reproduces ours exactly: each of our keyforms is piecewise multilinear on
   that finer grid.  The Core hides an object whose parameter leaves its
   keys' range, so the keys always span min..max.
2. Deformer chains.  Cubism deforms a child deformer's control points by its
   parent, we map each point through the chain.  For a warp under a rotation
   the two agree (a rotation is affine and commutes with bilinear
   interpolation); a warp under a warp does not, and is refused.
3. Warps interpolate bilinearly only in moc3 3.3+ ("quad" warps; 3.0 splits
   each cell into two triangles), and only for points inside the grid: the
   Core extrapolates differently outside, where we clamp to the edge offsets.
   A warp whose meshes can leave it at some pose gets whole cells added
   around it with the edge offsets repeated, which equals our clamping.
4. Rotations: Cubism rotates counter-clockwise in its y-down file space
   (clockwise on screen), about an origin that is itself a keyform value,
   with child coordinates relative to that origin.  Our [angle, dx, dy]
   becomes angle -a, origin pivot + (dx, dy), scale 1.

Coordinates in the file: root space is canvas pixels relative to the canvas
centre divided by `pixels per unit` (y down; the Core reports y up), children
of a rotation are relative to its pivot in the same units, children of a warp
are normalised to its rectangle (0..1).  UVs are model.json's (v down) and
triangles keep our winding: the Core reports v up and the winding reversed,
together with its y-up positions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from collections.abc import Sequence

import numpy as np

from .cubism_json import part_ids
from ..model.document import RigDocument, RotationDeformer, WarpDeformer, tent_weights
from .moc3 import FIELDS, FIELDS_V3_3, VERSION_3_3, Moc3Canvas, Moc3Error, pack_moc3

MOC3_VERSION = VERSION_3_3  # the lowest version with bilinear warps
# Parameter values closer than 10**-decimals to a key snap onto the key in the
# Core; 6 decimals keep that below a thousandth of a pixel for our rigs.
DECIMAL_PLACES = 6
# Art mesh flag: drawn from both sides (our meshes may wind either way).
FLAG_DOUBLE_SIDED = 1 << 2
# A mesh vertex must stay this far (in cells) inside its warp at every pose.
INSIDE_MARGIN = 1e-3
MAX_KEYFORM_NUMBERS = 40_000_000  # keyform position floats in one file (160 MB)
MAX_INDEX_VERTICES = 32767  # triangle indices are int16


@dataclass
class MeshAtlas:
    """Where a mesh's texture lives: atlas page and per-vertex UVs (0..1, v down)."""

    texture: int
    uvs: np.ndarray


def canvas_info(doc: RigDocument) -> Moc3Canvas:
    w, h = float(doc.canvas.width), float(doc.canvas.height)
    return Moc3Canvas(pixels_per_unit=max(w, h), origin_x=w / 2, origin_y=h / 2, width=w, height=h)


# --------------------------------------------------------------------------- keyform grids


@dataclass
class Grid:
    """One target's Cubism keyform grid: parameters (first fastest in the file)
    and the keys of each."""

    params: list[str]
    keys: list[np.ndarray]

    @property
    def size(self) -> int:
        return int(np.prod([len(k) for k in self.keys])) if self.keys else 1


def target_grid(doc: RigDocument, target: str) -> Grid:
    """The union grid of every keyform of `target` (all channels)."""
    params: list[str] = []
    keys: dict[str, set] = {}
    for kf in doc.keyforms:
        if kf.target != target:
            continue
        for p, ks in zip(kf.params, kf.keys):
            if p not in keys:
                params.append(p)
                keys[p] = set()
            keys[p].update(float(k) for k in ks)
    out = []
    for p in params:
        param = doc.parameter(p)
        lo, hi = float(param.min), float(param.max)
        # Keys outside min..max are never reached (values are clamped first).
        ks = sorted({k for k in keys[p] if lo < k < hi} | {lo, hi})
        out.append(np.array(ks, np.float64))
    return Grid(params, out)


def grid_values(
    doc: RigDocument, target: str, grid: Grid, channel: str, shape: tuple[int, ...]
) -> np.ndarray:
    """Our summed keyform offsets of one channel at every node of `grid`, in
    file order (first parameter fastest): (grid.size,) + shape."""
    dims = [len(k) for k in grid.keys]
    total = np.zeros(dims + list(shape), np.float64)
    axis_of = {p: i for i, p in enumerate(grid.params)}
    for kf in doc.keyforms:
        if kf.target != target or kf.channel != channel:
            continue
        t = np.asarray(kf.forms, np.float64).reshape([len(k) for k in kf.keys] + list(shape))
        # Contract each of the keyform's axes with its tent weights at the grid's keys.
        for axis, (p, ks) in enumerate(zip(kf.params, kf.keys)):
            weights = np.array([tent_weights(ks, v) for v in grid.keys[axis_of[p]]])
            t = np.moveaxis(np.tensordot(weights, t, axes=([1], [axis])), 0, axis)
        # Place the keyform's axes among the grid's (missing ones broadcast).
        order = [axis_of[p] for p in kf.params]
        full_shape = [1] * len(dims) + list(shape)
        for axis, g in enumerate(order):
            full_shape[g] = t.shape[axis]
        perm = sorted(range(len(order)), key=lambda a: order[a])
        t = np.transpose(t, perm + list(range(len(order), t.ndim)))
        total += t.reshape(full_shape)
    n_axes = len(dims)
    file_order = list(reversed(range(n_axes))) + list(range(n_axes, total.ndim))
    return np.transpose(total, file_order).reshape((grid.size,) + tuple(shape))


# --------------------------------------------------------------------------- coordinates


class Frames:
    """Converts canvas-pixel points in a deformer's input space into the
    coordinates its Cubism parent expects (see the module docstring)."""

    def __init__(self, doc: RigDocument, canvas: Moc3Canvas):
        self.doc = doc
        self.ppu = canvas.pixels_per_unit
        self.origin = np.array([canvas.origin_x, canvas.origin_y])

    def into(
        self, parent_id: str | None, points: np.ndarray, rect: tuple[float, float, float, float] | None = None
    ) -> np.ndarray:
        """`points` (.., 2) as children of `parent_id` (None: the root).  `rect`
        overrides a warp parent's rectangle (an extended grid)."""
        if parent_id is None:
            return (points - self.origin) / self.ppu
        parent = self.doc.deformer(parent_id)
        if isinstance(parent, RotationDeformer):
            return (points - np.asarray(parent.pivot, np.float64)) / self.ppu
        x0, y0, x1, y1 = rect or parent.rect
        return (points - np.array([x0, y0])) / np.array([x1 - x0, y1 - y0])


# --------------------------------------------------------------------------- checks


def check_exportable(doc: RigDocument) -> None:
    """Refuse, in words, a rig the Core would move differently."""
    for d in doc.deformers:
        if (
            isinstance(d, WarpDeformer)
            and d.parent is not None
            and isinstance(doc.deformer(d.parent), WarpDeformer)
        ):
            raise Moc3Error(
                f"warp {d.id!r} sits under warp {d.parent!r}: Cubism moves a warp's "
                f"grid by its parent warp, which bends the result differently from "
                f"this rig; give {d.id!r} a rotation parent (or none) to export a .moc3"
            )
    for m in doc.meshes:
        if len(m.vertices) > MAX_INDEX_VERTICES:
            raise Moc3Error(
                f"mesh {m.id!r} has {len(m.vertices)} vertices; a .moc3 mesh holds at "
                f"most {MAX_INDEX_VERTICES} (lower the mesh density)"
            )


@dataclass
class WarpPlan:
    """A warp as written: its (possibly extended) grid."""

    rows: int
    cols: int
    rect: tuple[float, float, float, float]
    pad: tuple[int, int, int, int]  # cells added left, top, right, bottom


def _needed_cells(lo: float, hi: float, cells: int) -> tuple[int, int]:
    """Cells to add below/above so that [lo, hi] (in cell units) lies strictly inside."""
    before = int(math.ceil(-lo + INSIDE_MARGIN)) if lo < INSIDE_MARGIN else 0
    after = int(math.floor(hi - cells + INSIDE_MARGIN)) + 1 if hi > cells - INSIDE_MARGIN else 0
    return before, after


def plan_warps(doc: RigDocument, mesh_positions: dict[str, np.ndarray]) -> dict[str, WarpPlan]:
    """Every warp's grid, extended by whole cells where one of its meshes
    reaches (at some keyform node, hence at some pose) its edge."""
    plans = {}
    for d in doc.deformers:
        if not isinstance(d, WarpDeformer):
            continue
        x0, y0, x1, y1 = d.rect
        cw, ch = (x1 - x0) / d.cols, (y1 - y0) / d.rows
        lo_u = lo_v = math.inf
        hi_u = hi_v = -math.inf
        for m in doc.meshes:
            if m.deformer != d.id:
                continue
            p = mesh_positions[m.id]
            u = (p[..., 0] - x0) / cw
            v = (p[..., 1] - y0) / ch
            lo_u, hi_u = min(lo_u, float(u.min())), max(hi_u, float(u.max()))
            lo_v, hi_v = min(lo_v, float(v.min())), max(hi_v, float(v.max()))
        left = right = top = bottom = 0
        if math.isfinite(lo_u):
            left, right = _needed_cells(lo_u, hi_u, d.cols)
            top, bottom = _needed_cells(lo_v, hi_v, d.rows)
        plans[d.id] = WarpPlan(
            d.rows + top + bottom,
            d.cols + left + right,
            (x0 - left * cw, y0 - top * ch, x1 + right * cw, y1 + bottom * ch),
            (left, top, right, bottom),
        )
    return plans


# --------------------------------------------------------------------------- writer


class _Arrays:
    def __init__(self):
        self.a: dict[str, list] = {name: [] for name, kind, _ in FIELDS + FIELDS_V3_3 if kind != "runtime"}

    def add(self, name: str, *values) -> None:
        self.a[name].extend(values)

    def extend(self, name: str, values) -> None:
        self.a[name].extend(values)

    def count(self, name: str) -> int:
        return len(self.a[name])

    def finish(self) -> dict[str, object]:
        kinds = {name: kind for name, kind, _ in FIELDS + FIELDS_V3_3}
        return {
            name: (v if kinds[name] == "id" else np.asarray(v, kinds[name])) for name, v in self.a.items()
        }


def _depth_order(doc: RigDocument) -> list[str]:
    """Deformer ids, every parent before its children (stable otherwise)."""
    depth = {d.id: len(doc.deformer_chain(d.id)) for d in doc.deformers}
    return [d.id for d in sorted(doc.deformers, key=lambda d: depth[d.id])]


def build_moc3(doc: RigDocument, atlas: dict[str, MeshAtlas]) -> bytes:
    """The .moc3 bytes of `doc` (validated); `atlas` gives every mesh's
    texture page and UVs.  Raises Moc3Error, in words, for a rig the Core
    cannot reproduce."""
    doc.validate()
    check_exportable(doc)
    canvas = canvas_info(doc)
    frames = Frames(doc, canvas)
    out = _Arrays()
    layer_part = part_ids(doc)
    part_index = {lid: i for i, lid in enumerate(layer_part)}
    deformer_order = _depth_order(doc)
    deformer_index = {did: i for i, did in enumerate(deformer_order)}
    mesh_index = {m.id: i for i, m in enumerate(doc.meshes)}
    layers = {l.id: l for l in doc.layers}

    # ---- grids of every target, and mesh positions at every node (our pixels)
    grids = {t: target_grid(doc, t) for t in [m.id for m in doc.meshes] + deformer_order}
    total = sum(
        g.size
        * 2
        * (
            len(doc.mesh(t).vertices)
            if t in mesh_index
            else (doc.deformer(t).rows + 1) * (doc.deformer(t).cols + 1)
            if isinstance(doc.deformer(t), WarpDeformer)
            else 1
        )
        for t, g in grids.items()
    )
    if total > MAX_KEYFORM_NUMBERS:
        worst = max(grids, key=lambda t: grids[t].size)
        raise Moc3Error(
            f"the rig's keyforms need {total:,} numbers in a .moc3 (more than "
            f"{MAX_KEYFORM_NUMBERS:,}); {worst!r} alone combines "
            f"{len(grids[worst].params)} parameters into {grids[worst].size:,} keyforms"
        )
    mesh_pos = {}
    mesh_opacity = {}
    for m in doc.meshes:
        g = grids[m.id]
        n = len(m.vertices)
        mesh_pos[m.id] = m.vertices[None] + grid_values(doc, m.id, g, "offset", (n, 2))
        base = float(layers[m.layer].opacity)
        op = base + grid_values(doc, m.id, g, "opacity", (1,))[:, 0]
        clip = layers[m.layer].clip_to
        if clip is not None and not any(k.layer == clip for k in doc.meshes):
            op = np.zeros_like(op)  # clipped to a layer that draws nothing: never seen
        if np.any(op < -1e-6) or np.any(op > 1 + 1e-6):
            raise Moc3Error(
                f"mesh {m.id!r} reaches opacity {op.min():.3g}..{op.max():.3g} at "
                f"some pose; the Cubism Core does not clamp opacities, so keep its "
                f"layer opacity plus its opacity keyforms within 0..1"
            )
        mesh_opacity[m.id] = np.clip(op, 0.0, 1.0)
    warps = plan_warps(doc, mesh_pos)

    # ---- parameters and their bindings (one per distinct key list of a parameter)
    binding_of: dict[tuple[str, tuple[float, ...]], int] = {}
    by_param: dict[str, list[tuple[float, ...]]] = {p.id: [] for p in doc.parameters}
    for g in grids.values():
        for p, ks in zip(g.params, g.keys):
            key = tuple(float(k) for k in ks)
            if key not in by_param[p]:
                by_param[p].append(key)
    for p in doc.parameters:
        out.add("parameters.ids", p.id)
        out.add("parameters.min", float(p.min))
        out.add("parameters.max", float(p.max))
        out.add("parameters.default", float(p.default))
        out.add("parameters.is_repeat", 0)
        out.add("parameters.decimal_places", DECIMAL_PLACES)
        out.add("parameters.binding_begin", out.count("parameter_bindings.keys_begin"))
        out.add("parameters.binding_count", len(by_param[p.id]))
        for key in by_param[p.id]:
            binding_of[(p.id, key)] = out.count("parameter_bindings.keys_begin")
            out.add("parameter_bindings.keys_begin", out.count("keys.value"))
            out.add("parameter_bindings.keys_count", len(key))
            out.extend("keys.value", key)
    keyform_binding_of: dict[tuple[int, ...], int] = {}

    def keyform_binding(g: Grid) -> int:
        pbs = tuple(binding_of[(p, tuple(float(k) for k in ks))] for p, ks in zip(g.params, g.keys))
        if pbs not in keyform_binding_of:
            keyform_binding_of[pbs] = out.count("keyform_bindings.index_begin")
            out.add("keyform_bindings.index_begin", out.count("parameter_binding_indices.binding"))
            out.add("keyform_bindings.index_count", len(pbs))
            out.extend("parameter_binding_indices.binding", pbs)
        return keyform_binding_of[pbs]

    # ---- parts: one per layer, no parameters
    empty = keyform_binding(Grid([], []))
    for lid, pid in layer_part.items():
        out.add("parts.ids", pid)
        out.add("parts.keyform_binding_index", empty)
        out.add("parts.keyform_begin", out.count("part_keyforms.draw_order"))
        out.add("parts.keyform_count", 1)
        out.add("parts.is_visible", 1)
        out.add("parts.is_enabled", 1)
        out.add("parts.parent_part", -1)
        out.add("part_keyforms.draw_order", 500.0)

    # ---- deformers, parents first
    for did in deformer_order:
        d = doc.deformer(did)
        g = grids[did]
        kb = keyform_binding(g)
        parent = d.parent
        out.add("deformers.ids", did)
        out.add("deformers.keyform_binding_index", kb)
        out.add("deformers.is_visible", 1)
        out.add("deformers.is_enabled", 1)
        out.add("deformers.parent_part", -1)
        out.add("deformers.parent_deformer", -1 if parent is None else deformer_index[parent])
        if isinstance(d, WarpDeformer):
            plan = warps[did]
            offsets = grid_values(doc, did, g, "offset", ((d.rows + 1) * (d.cols + 1), 2))
            left, top, right, bottom = plan.pad
            offsets = np.pad(
                offsets.reshape(g.size, d.rows + 1, d.cols + 1, 2),
                ((0, 0), (top, bottom), (left, right), (0, 0)),
                mode="edge",
            )
            rest = WarpDeformer(did, plan.rect, plan.rows, plan.cols).rest_points()
            points = frames.into(parent, rest[None] + offsets.reshape(g.size, -1, 2))
            out.add("deformers.type", 0)
            out.add("deformers.specific_index", out.count("warp_deformers.rows"))
            out.add("warp_deformers.keyform_binding_index", kb)
            out.add("warp_deformers.keyform_begin", out.count("warp_deformer_keyforms.opacity"))
            out.add("warp_deformers.keyform_count", g.size)
            out.add("warp_deformers.vertex_count", (plan.rows + 1) * (plan.cols + 1))
            out.add("warp_deformers.rows", plan.rows)
            out.add("warp_deformers.columns", plan.cols)
            out.add("warp_deformers.is_quad", 1)
            for node in points:
                out.add("warp_deformer_keyforms.opacity", 1.0)
                out.add("warp_deformer_keyforms.position_begin", out.count("keyform_positions.xy"))
                out.extend("keyform_positions.xy", node.ravel().tolist())
        else:
            forms = grid_values(doc, did, g, "offset", (3,))
            origins = frames.into(parent, np.asarray(d.pivot, np.float64)[None] + forms[:, 1:3])
            out.add("deformers.type", 1)
            out.add("deformers.specific_index", out.count("rotation_deformers.base_angle"))
            out.add("rotation_deformers.keyform_binding_index", kb)
            out.add("rotation_deformers.keyform_begin", out.count("rotation_deformer_keyforms.opacity"))
            out.add("rotation_deformers.keyform_count", g.size)
            out.add("rotation_deformers.base_angle", 0.0)
            for form, origin in zip(forms, origins):
                out.add("rotation_deformer_keyforms.opacity", 1.0)
                out.add("rotation_deformer_keyforms.angle", -float(form[0]))
                out.add("rotation_deformer_keyforms.origin_x", float(origin[0]))
                out.add("rotation_deformer_keyforms.origin_y", float(origin[1]))
                out.add("rotation_deformer_keyforms.scale", 1.0)
                out.add("rotation_deformer_keyforms.reflect_x", 0)
                out.add("rotation_deformer_keyforms.reflect_y", 0)

    # ---- art meshes, in document order; draw order = rank in our draw order
    rank = {mid: i for i, mid in enumerate(doc.draw_order)}
    meshes_of_layer: dict[str, list[int]] = {}
    for m in doc.meshes:
        meshes_of_layer.setdefault(m.layer, []).append(mesh_index[m.id])
    for m in doc.meshes:
        g = grids[m.id]
        kb = keyform_binding(g)
        place = atlas[m.id]
        rect = warps[m.deformer].rect if m.deformer in warps else None
        positions = frames.into(m.deformer, mesh_pos[m.id], rect)
        clip = layers[m.layer].clip_to
        masks = meshes_of_layer.get(clip, []) if clip else []
        out.add("art_meshes.ids", m.id)
        out.add("art_meshes.keyform_binding_index", kb)
        out.add("art_meshes.keyform_begin", out.count("art_mesh_keyforms.opacity"))
        out.add("art_meshes.keyform_count", g.size)
        out.add("art_meshes.is_visible", 1)
        out.add("art_meshes.is_enabled", 1)
        out.add("art_meshes.parent_part", part_index[m.layer])
        out.add("art_meshes.parent_deformer", -1 if m.deformer is None else deformer_index[m.deformer])
        out.add("art_meshes.texture", int(place.texture))
        out.add("art_meshes.flags", FLAG_DOUBLE_SIDED)
        out.add("art_meshes.vertex_count", len(m.vertices))
        out.add("art_meshes.uv_begin", out.count("uvs.uv"))
        # Stored v down, as ours; the Core reports (u, 1 - v) and reversed
        # triangles with its y-up positions, which every Cubism renderer expects.
        out.extend("uvs.uv", np.asarray(place.uvs, np.float64).ravel().tolist())
        out.add("art_meshes.index_begin", out.count("position_indices.index"))
        out.add("art_meshes.index_count", int(m.triangles.size))
        out.extend("position_indices.index", m.triangles.ravel().tolist())
        out.add("art_meshes.mask_begin", out.count("drawable_masks.art_mesh"))
        out.add("art_meshes.mask_count", len(masks))
        out.extend("drawable_masks.art_mesh", masks)
        for node, opacity in zip(positions, mesh_opacity[m.id]):
            out.add("art_mesh_keyforms.opacity", float(opacity))
            out.add("art_mesh_keyforms.draw_order", float(rank[m.id]))
            out.add("art_mesh_keyforms.position_begin", out.count("keyform_positions.xy"))
            out.extend("keyform_positions.xy", node.ravel().tolist())

    # ---- one draw order group holding every art mesh
    n = len(doc.meshes)
    out.add("draw_order_groups.object_begin", 0)
    out.add("draw_order_groups.object_count", n)
    out.add("draw_order_groups.object_total", n)
    out.add("draw_order_groups.max_draw_order", max(n - 1, 0))
    out.add("draw_order_groups.min_draw_order", 0)
    for i in range(n):
        out.add("draw_order_group_objects.type", 0)
        out.add("draw_order_group_objects.index", i)
        out.add("draw_order_group_objects.self_index", -1)
    return pack_moc3(out.finish(), canvas, MOC3_VERSION)


def mesh_atlas_from_runtime(data: dict) -> dict[str, MeshAtlas]:
    """Texture page and UVs of every mesh, as model.json gives them."""
    return {
        m["id"]: MeshAtlas(int(m["texture"]), np.asarray(m["uvs"], np.float64).reshape(-1, 2))
        for m in data["meshes"]
    }


def moc3_from_runtime(data: dict, pages: Sequence[np.ndarray]) -> bytes:
    """The .moc3 of an export: the rig exactly as its model.json describes it
    (strengths baked, numbers rounded as written) and the atlas it uses."""
    from .model_json import from_runtime

    return build_moc3(from_runtime(data, pages), mesh_atlas_from_runtime(data))
