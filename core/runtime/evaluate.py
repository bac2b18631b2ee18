# SPDX-License-Identifier: GPL-3.0-or-later
"""Reference evaluator of the rig document: parameter values -> deformed vertices.

This is the oracle that Blender's evaluated scene and the web player are tested
against.  The rules are in core/model/document.py and docs/runtime-format.md.
"""

from __future__ import annotations

import math

import numpy as np

from ..model.document import RigDocument, WarpDeformer, node_weights
from ..model.strength import baked_curve


def resolve_values(doc: RigDocument, values: dict[str, float] | None = None) -> dict[str, float]:
    """Defaults overridden by `values`, clamped to each parameter's range (NaN: the default)."""
    out = doc.default_values()
    for key, value in (values or {}).items():
        if key in out:
            v = float(value)
            if v != v:  # NaN reads as the default, as in the web player and the physics
                continue
            p = doc.parameter(key)
            out[key] = min(max(v, p.min), p.max)
    return out


def keyform_offset(
    doc: RigDocument, target: str, values: dict[str, float], channel: str = "offset"
) -> np.ndarray | None:
    """Sum of all keyform offsets of one target in one channel (None when it has none)."""
    total = None
    for kf in doc.keyforms:
        if kf.target != target or kf.channel != channel:
            continue
        w = node_weights(kf, values)
        contrib = np.tensordot(w, kf.forms, axes=(0, 0))
        total = contrib if total is None else total + contrib
    return total


def warp_points(
    rest_grid: np.ndarray, offsets: np.ndarray, warp: WarpDeformer, points: np.ndarray
) -> np.ndarray:
    """Map points through a warp: add the bilinear interpolation of grid offsets."""
    x0, y0, x1, y1 = warp.rect
    cols, rows = warp.cols, warp.rows
    u = (points[:, 0] - x0) / (x1 - x0) * cols
    v = (points[:, 1] - y0) / (y1 - y0) * rows
    iu = np.floor(u).astype(np.int64)
    iv = np.floor(v).astype(np.int64)
    fu = u - iu
    fv = v - iv
    off = offsets.reshape(rows + 1, cols + 1, 2)
    result = points.astype(np.float64).copy()
    # Four corners with clamped indices: outside points take the edge offsets.
    for du, wu in ((0, 1.0 - fu), (1, fu)):
        cu = np.clip(iu + du, 0, cols)
        for dv, wv in ((0, 1.0 - fv), (1, fv)):
            cv = np.clip(iv + dv, 0, rows)
            result += (wu * wv)[:, None] * off[cv, cu]
    return result


def rotate_points(pivot, form: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Rotate counter-clockwise on screen (y down) about pivot, then translate."""
    angle, dx, dy = float(form[0]), float(form[1]), float(form[2])
    a = math.radians(angle)
    c, s = math.cos(a), math.sin(a)
    px, py = pivot
    rx = points[:, 0] - px
    ry = points[:, 1] - py
    out = np.empty_like(points, dtype=np.float64)
    out[:, 0] = px + c * rx + s * ry + dx
    out[:, 1] = py - s * rx + c * ry + dy
    return out


class Evaluator:
    """Evaluates a document at parameter values; caches per-call deformer states."""

    def __init__(self, doc: RigDocument):
        self.doc = doc
        self._rest_grids = {d.id: d.rest_points() for d in doc.deformers if isinstance(d, WarpDeformer)}

    def deformer_form(self, deformer, values):
        off = keyform_offset(self.doc, deformer.id, values)
        if isinstance(deformer, WarpDeformer):
            return np.zeros_like(self._rest_grids[deformer.id]) if off is None else off
        return np.zeros(3) if off is None else off

    def apply_chain(self, deformer_id, points, values, forms_cache):
        for d in self.doc.deformer_chain(deformer_id):
            if d.id not in forms_cache:
                forms_cache[d.id] = self.deformer_form(d, values)
            form = forms_cache[d.id]
            if isinstance(d, WarpDeformer):
                points = warp_points(self._rest_grids[d.id], form, d, points)
            else:
                points = rotate_points(d.pivot, form, points)
        return points

    def mesh_vertices(self, values: dict[str, float] | None = None) -> dict[str, np.ndarray]:
        """Deformed vertex positions (canvas px) of every mesh."""
        vals = resolve_values(self.doc, values)
        cache: dict[str, np.ndarray] = {}
        result = {}
        for mesh in self.doc.meshes:
            pts = mesh.vertices.astype(np.float64)
            off = keyform_offset(self.doc, mesh.id, vals)
            if off is not None:
                pts = pts + off
            result[mesh.id] = self.apply_chain(mesh.deformer, pts, vals, cache)
        return result

    def layer_opacity(self, values: dict[str, float] | None = None) -> dict[str, float]:
        """Opacity of every layer at `values`: that of the mesh it textures (its
        opacity keyforms included, see mesh_opacity); a layer without a mesh keeps
        its own opacity."""
        by_mesh = self.mesh_opacity(values)
        result = {layer.id: float(layer.opacity) for layer in self.doc.layers}
        for mesh in reversed(self.doc.meshes):  # the first mesh of a layer wins
            result[mesh.layer] = by_mesh[mesh.id]
        return result

    def mesh_opacity(self, values: dict[str, float] | None = None) -> dict[str, float]:
        """Opacity of every mesh: its layer's opacity plus its opacity keyforms,
        clamped to [0, 1]."""
        vals = resolve_values(self.doc, values)
        layers = {layer.id: float(layer.opacity) for layer in self.doc.layers}
        with_keyforms = {k.target for k in self.doc.keyforms if k.channel == "opacity"}
        result = {}
        for mesh in self.doc.meshes:
            opacity = layers[mesh.layer]
            if mesh.id in with_keyforms:
                off = keyform_offset(self.doc, mesh.id, vals, channel="opacity")
                opacity = min(max(opacity + float(off[0]), 0.0), 1.0)
            result[mesh.id] = opacity
        return result


def evaluate(doc: RigDocument, values: dict[str, float] | None = None) -> dict[str, np.ndarray]:
    return Evaluator(doc).mesh_vertices(values)


def evaluate_opacity(doc: RigDocument, values: dict[str, float] | None = None) -> dict[str, float]:
    """Per-mesh opacity at parameter values (see Evaluator.mesh_opacity)."""
    return Evaluator(doc).mesh_opacity(values)


def sample_motion(doc: RigDocument, motion, t: float) -> dict[str, float]:
    """Parameter values of a motion at time t (seconds): linear between keys,
    wrapped past the end when the motion loops, held at the ends otherwise.  Strength is
    applied around each parameter's default, as on export."""
    if motion.loop and motion.duration > 0 and t > motion.duration:
        t = t % motion.duration
    values = {}
    for curve in motion.curves:
        vals = baked_curve(doc, motion, curve)
        values[curve.param] = float(np.interp(t, curve.times, vals))
    return values
