# SPDX-License-Identifier: GPL-3.0-or-later
"""Tearing check: does a pose open holes in the character that show the background?

Definition (the one the tests and bench/bench_tearing.py use):

* Render the character's alpha at a pose (same rules as core/render.py:
  texture alpha sampled bilinearly through each deformed mesh, clipping and
  opacity applied, layers combined with "over", i.e. 1 - prod(1 - a)).
* The silhouette S is alpha >= 0.5.  Its *body* is S closed with a 3 x 3
  disc (cracks up to 2 px wide that reach the outline count; wider notches
  are outline, not holes) with every enclosed region filled in.
* Hole pixels at a pose are body pixels that are not in S: background showing
  through inside the figure, including hairline cracks that reach the outline.
* Gaps the drawing itself has at rest (between a lock of hair, the neck and
  the shoulder, say) are not tearing even when the pose changes their shape:
  a connected region of hole pixels that touches (within 2 px) a hole of the
  rest pose is not counted.  So a tear that runs into a drawn gap is missed,
  and a drawn gap that moves farther than its own size is counted (the
  check errs towards reporting).
* Specks are not counted either: regions smaller than MIN_HOLE_PX x
  (min(w, h) / 512) pixels, which resampling leaves where two anti-aliased
  outlines cross.  Every other hole region is tearing.

`count_holes(doc, values)` is the number of counted hole pixels at canvas
resolution; `tearing_report(doc)` runs every parameter's extremes, the corners
and edges of the AngleX x AngleY grid and a few combined extremes.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np

from .document import RigDocument
from .evaluate import Evaluator

HOLE_ALPHA = 0.5
REST_TOLERANCE_PX = 2
CLOSING_RADIUS_PX = 1  # closes cracks up to 2 px wide that reach the outline
MIN_HOLE_PX = 12  # smaller hole regions (at 512 px, scaled linearly) are specks
CHUNK = 256  # triangles rasterised together


def closing_radius(width: int, height: int) -> int:
    return CLOSING_RADIUS_PX


def rasterize_alpha(verts: np.ndarray, uvs: np.ndarray, tris: np.ndarray, texture_alpha: np.ndarray,
                    size: Tuple[int, int]) -> np.ndarray:
    """Alpha of one mesh on a (w, h) canvas: pixel centres inside a triangle
    take the bilinearly sampled texture alpha at their interpolated uv.
    Vectorised over triangles (the reference renderer loops over them)."""
    w, h = size
    out = np.zeros((h, w), np.float32)
    if len(tris) == 0:
        return out
    p = verts[tris]
    t = uvs[tris]
    x0 = np.clip(np.floor(p[..., 0].min(1) - 0.5), 0, w).astype(np.int64)
    x1 = np.clip(np.ceil(p[..., 0].max(1) + 0.5), 0, w).astype(np.int64)
    y0 = np.clip(np.floor(p[..., 1].min(1) - 0.5), 0, h).astype(np.int64)
    y1 = np.clip(np.ceil(p[..., 1].max(1) + 0.5), 0, h).astype(np.int64)
    a = p[:, 0]
    e1 = p[:, 1] - a
    e2 = p[:, 2] - a
    det = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    ok = (np.abs(det) > 1e-12) & (x1 > x0) & (y1 > y0)
    idx = np.nonzero(ok)[0]
    if not len(idx):
        return out
    area = (x1 - x0)[idx] * (y1 - y0)[idx]
    idx = idx[np.argsort(area)]
    th, tw = texture_alpha.shape
    tex = np.pad(texture_alpha.astype(np.float32), 1)  # zero border for bilinear reads
    eps = 1e-7
    for s in range(0, len(idx), CHUNK):
        sel = idx[s:s + CHUNK]
        bw = int((x1 - x0)[sel].max())
        bh = int((y1 - y0)[sel].max())
        gy, gx = np.mgrid[0:bh, 0:bw]
        px = x0[sel, None, None] + gx[None]
        py = y0[sel, None, None] + gy[None]
        valid = (px < x1[sel, None, None]) & (py < y1[sel, None, None])
        dx = px + 0.5 - a[sel, 0, None, None]
        dy = py + 0.5 - a[sel, 1, None, None]
        d = det[sel, None, None]
        b1 = (dx * e2[sel, 1, None, None] - dy * e2[sel, 0, None, None]) / d
        b2 = (e1[sel, 0, None, None] * dy - e1[sel, 1, None, None] * dx) / d
        b0 = 1.0 - b1 - b2
        inside = valid & (b0 >= -eps) & (b1 >= -eps) & (b2 >= -eps)
        if not inside.any():
            continue
        k, iy, ix = np.nonzero(inside)
        tri = sel[k]
        B0, B1, B2 = b0[k, iy, ix], b1[k, iy, ix], b2[k, iy, ix]
        u = B0 * t[tri, 0, 0] + B1 * t[tri, 1, 0] + B2 * t[tri, 2, 0] - 0.5
        v = B0 * t[tri, 0, 1] + B1 * t[tri, 1, 1] + B2 * t[tri, 2, 1] - 0.5
        u = np.clip(u, -1.0, tw) + 1.0  # padded texture coordinates
        v = np.clip(v, -1.0, th) + 1.0
        u0 = np.floor(u).astype(np.int64)
        v0 = np.floor(v).astype(np.int64)
        fu, fv = (u - u0).astype(np.float32), (v - v0).astype(np.float32)
        u1 = np.minimum(u0 + 1, tw + 1)
        v1 = np.minimum(v0 + 1, th + 1)
        val = ((1 - fu) * (1 - fv) * tex[v0, u0] + fu * (1 - fv) * tex[v0, u1]
               + (1 - fu) * fv * tex[v1, u0] + fu * fv * tex[v1, u1])
        np.maximum.at(out, (py[k, iy, ix], px[k, iy, ix]), val)
    return out


class AlphaRenderer:
    """The character's alpha at any pose (textures prepared once)."""

    def __init__(self, doc: RigDocument):
        self.doc = doc
        self.evaluator = Evaluator(doc)
        self._alpha = {l.id: l.image[..., 3].astype(np.float32) / 255.0 for l in doc.layers}
        self._layers = {l.id: l for l in doc.layers}

    def render(self, values: Optional[Dict[str, float]] = None) -> np.ndarray:
        doc = self.doc
        size = (doc.canvas.width, doc.canvas.height)
        verts = self.evaluator.mesh_vertices(values)
        per_layer: Dict[str, np.ndarray] = {}
        for mesh in doc.meshes:
            a = rasterize_alpha(verts[mesh.id], mesh.uvs, mesh.triangles, self._alpha[mesh.layer], size)
            prev = per_layer.get(mesh.layer)
            per_layer[mesh.layer] = a if prev is None else a + prev * (1.0 - a)
        transmit = np.ones((size[1], size[0]), np.float32)
        for lid, a in per_layer.items():
            layer = self._layers[lid]
            if layer.clip_to:
                a = a * per_layer.get(layer.clip_to, 0.0)
            transmit *= 1.0 - a * float(layer.opacity)
        return 1.0 - transmit


def hole_mask(alpha: np.ndarray, radius: int) -> np.ndarray:
    """Pixels inside the figure's body (closed, holes filled) with alpha < 0.5."""
    solid = (alpha >= HOLE_ALPHA).astype(np.uint8)
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    pad = radius + 2
    padded = cv2.copyMakeBorder(solid, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    closed = cv2.morphologyEx(padded, cv2.MORPH_CLOSE, k)
    outside = (1 - closed).astype(np.uint8)
    mask = np.zeros((outside.shape[0] + 2, outside.shape[1] + 2), np.uint8)
    cv2.floodFill(outside, mask, (0, 0), 2)
    body = (outside != 2)[pad:-pad, pad:-pad]
    return body & (solid == 0)


class TearingChecker:
    """Counts hole pixels of poses against the rest pose of one document."""

    def __init__(self, doc: RigDocument):
        self.renderer = AlphaRenderer(doc)
        self.radius = closing_radius(doc.canvas.width, doc.canvas.height)
        self.min_area = max(1, int(round(MIN_HOLE_PX * min(doc.canvas.width, doc.canvas.height) / 512)))
        rest = hole_mask(self.renderer.render({}), self.radius)
        k = np.ones((2 * REST_TOLERANCE_PX + 1,) * 2, np.uint8)
        self.rest_holes = int(rest.sum())
        self._allowed = cv2.dilate(rest.astype(np.uint8), k) > 0

    def holes(self, values: Dict[str, float]) -> np.ndarray:
        mask = hole_mask(self.renderer.render(values), self.radius)
        if not mask.any():
            return mask
        n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
        drawn = set(np.unique(labels[mask & self._allowed]).tolist())
        specks = {i for i in range(1, n) if stats[i, cv2.CC_STAT_AREA] < self.min_area}
        return mask & ~np.isin(labels, sorted(drawn | specks))

    def count(self, values: Dict[str, float]) -> int:
        return int(self.holes(values).sum())


def count_holes(doc: RigDocument, values: Dict[str, float]) -> int:
    """Hole pixels (background showing inside the figure) at a pose; see the module doc."""
    return TearingChecker(doc).count(values)


@dataclass
class TearingRow:
    pose: str
    values: Dict[str, float]
    holes: int


def report_poses(doc: RigDocument) -> List[Tuple[str, Dict[str, float]]]:
    """Every parameter's extremes, the AngleX x AngleY grid nodes and combined extremes."""
    params = {p.id: p for p in doc.parameters}
    poses: List[Tuple[str, Dict[str, float]]] = []
    for p in doc.parameters:
        for v in (p.min, p.max):
            if v != p.default:
                poses.append((f"{p.id}={v:g}", {p.id: v}))
    if "ParamAngleX" in params and "ParamAngleY" in params:
        for ax in (-30.0, 30.0):
            for ay in (-30.0, 30.0):
                poses.append((f"AngleX={ax:g},AngleY={ay:g}", {"ParamAngleX": ax, "ParamAngleY": ay}))
    away = {p.id: (p.max if p.max != p.default else p.min) for p in doc.parameters}
    low = {p.id: (p.min if p.min != p.default else p.max) for p in doc.parameters}
    poses.append(("all at max", away))
    poses.append(("all at min", low))
    combos = {
        "talk turning right-down": {"ParamAngleX": 30, "ParamAngleY": -30, "ParamMouthOpenY": 1,
                                    "ParamMouthForm": 1, "ParamEyeLOpen": 0, "ParamHairSide": 1,
                                    "ParamHairFront": 1},
        "tilt and lean": {"ParamAngleZ": 30, "ParamBodyAngleZ": -10, "ParamBodyAngleX": 10,
                          "ParamBodyAngleY": -10, "ParamHairBack": -1, "ParamBreath": 1},
        "turn left-up, hair against": {"ParamAngleX": -30, "ParamAngleY": 30, "ParamAngleZ": -30,
                                       "ParamHairFront": 1, "ParamHairSide": 1, "ParamHairBack": 1,
                                       "ParamBodyAngleX": 10},
    }
    for name, values in combos.items():
        vals = {k: v for k, v in values.items() if k in params}
        if vals:
            poses.append((name, vals))
    return poses


def tearing_report(doc: RigDocument) -> List[TearingRow]:
    """Hole count of every pose of `report_poses`."""
    checker = TearingChecker(doc)
    return [TearingRow(name, values, checker.count(values)) for name, values in report_poses(doc)]
