# SPDX-License-Identifier: GPL-3.0-or-later
"""Reference renderer: a deformed rig document -> RGBA image (numpy + OpenCV).

Same rules as the web player: pixel centres at (x + 0.5, y + 0.5), bilinear
texture sampling of premultiplied colour, "over" compositing in draw order,
clipping multiplies by the clip layer's rendered alpha.
"""
from __future__ import annotations

from typing import Dict, Optional, Tuple

import cv2
import numpy as np

from .document import RigDocument
from .evaluate import Evaluator


def _premultiplied(img: np.ndarray) -> np.ndarray:
    f = img.astype(np.float32) / 255.0
    f[..., :3] *= f[..., 3:4]
    return f


def rasterize_uv(verts: np.ndarray, uvs: np.ndarray, tris: np.ndarray,
                 size: Tuple[int, int]) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-pixel UV of a mesh drawn on a (w, h) canvas.

    Returns (map_u, map_v, covered) where covered marks pixels whose centre lies
    inside some triangle (later triangles win where they overlap).
    """
    w, h = size
    map_u = np.zeros((h, w), np.float32)
    map_v = np.zeros((h, w), np.float32)
    covered = np.zeros((h, w), bool)
    if len(tris) == 0:
        return map_u, map_v, covered
    p = verts[tris]  # (M, 3, 2)
    t = uvs[tris]
    x0 = np.clip(np.floor(p[..., 0].min(1) - 0.5), 0, w).astype(int)
    x1 = np.clip(np.ceil(p[..., 0].max(1) + 0.5), 0, w).astype(int)
    y0 = np.clip(np.floor(p[..., 1].min(1) - 0.5), 0, h).astype(int)
    y1 = np.clip(np.ceil(p[..., 1].max(1) + 0.5), 0, h).astype(int)
    a = p[:, 0]
    e1 = p[:, 1] - a
    e2 = p[:, 2] - a
    det = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    eps = 1e-7
    for i in np.nonzero((np.abs(det) > 1e-12) & (x1 > x0) & (y1 > y0))[0]:
        ys, xs = np.mgrid[y0[i]:y1[i], x0[i]:x1[i]]
        dx = xs + 0.5 - a[i, 0]
        dy = ys + 0.5 - a[i, 1]
        b1 = (dx * e2[i, 1] - dy * e2[i, 0]) / det[i]
        b2 = (e1[i, 0] * dy - e1[i, 1] * dx) / det[i]
        b0 = 1.0 - b1 - b2
        inside = (b0 >= -eps) & (b1 >= -eps) & (b2 >= -eps)
        if not inside.any():
            continue
        u = b0 * t[i, 0, 0] + b1 * t[i, 1, 0] + b2 * t[i, 2, 0]
        v = b0 * t[i, 0, 1] + b1 * t[i, 1, 1] + b2 * t[i, 2, 1]
        sub_u = map_u[y0[i]:y1[i], x0[i]:x1[i]]
        sub_v = map_v[y0[i]:y1[i], x0[i]:x1[i]]
        sub_c = covered[y0[i]:y1[i], x0[i]:x1[i]]
        sub_u[inside] = u[inside]
        sub_v[inside] = v[inside]
        sub_c[inside] = True
    return map_u, map_v, covered


class Renderer:
    """Renders a rig document at parameter values; textures are prepared once."""

    def __init__(self, doc: RigDocument):
        self.doc = doc
        self.evaluator = Evaluator(doc)
        self._textures = {l.id: _premultiplied(l.image) for l in doc.layers}
        self._layers = {l.id: l for l in doc.layers}

    def render_mesh(self, mesh_id: str, verts: np.ndarray, size) -> np.ndarray:
        """Premultiplied RGBA float32 image of one mesh (no clipping, no opacity)."""
        mesh = self.doc.mesh(mesh_id)
        w, h = size
        map_u, map_v, covered = rasterize_uv(verts, mesh.uvs, mesh.triangles, (w, h))
        tex = self._textures[mesh.layer]
        sampled = cv2.remap(tex, map_u - 0.5, map_v - 0.5, cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 0))
        sampled[~covered] = 0.0
        return sampled

    def render(self, values: Optional[Dict[str, float]] = None,
               size: Optional[Tuple[int, int]] = None,
               background: Optional[Tuple[int, int, int]] = None) -> np.ndarray:
        """Straight-alpha RGBA uint8 image of the canvas (or `size`)."""
        doc = self.doc
        w, h = size or (doc.canvas.width, doc.canvas.height)
        verts = self.evaluator.mesh_vertices(values)
        mesh_of_layer: Dict[str, list] = {}
        for m in doc.meshes:
            mesh_of_layer.setdefault(m.layer, []).append(m.id)
        alpha_cache: Dict[str, np.ndarray] = {}

        def layer_alpha(layer_id: str) -> np.ndarray:
            if layer_id not in alpha_cache:
                acc = np.zeros((h, w), np.float32)
                for mid in mesh_of_layer.get(layer_id, []):
                    a = self.render_mesh(mid, verts[mid], (w, h))[..., 3]
                    acc = a + acc * (1.0 - a)
                alpha_cache[layer_id] = acc
            return alpha_cache[layer_id]

        out = np.zeros((h, w, 4), np.float32)
        for mesh_id in doc.draw_order:
            mesh = doc.mesh(mesh_id)
            layer = self._layers[mesh.layer]
            src = self.render_mesh(mesh_id, verts[mesh_id], (w, h))
            if layer.clip_to:
                src *= layer_alpha(layer.clip_to)[..., None]
            if layer.opacity != 1.0:
                src *= float(layer.opacity)
            out = src + out * (1.0 - src[..., 3:4])
        if background is not None:
            bg = np.ones((h, w, 4), np.float32)
            bg[..., :3] = np.array(background, np.float32) / 255.0
            out = out + bg * (1.0 - out[..., 3:4])
        alpha = out[..., 3:4]
        rgb = np.where(alpha > 1e-6, out[..., :3] / np.maximum(alpha, 1e-6), 0.0)
        img = np.concatenate([rgb, alpha], axis=2)
        return np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)


def render(doc: RigDocument, values: Optional[Dict[str, float]] = None, **kw) -> np.ndarray:
    return Renderer(doc).render(values, **kw)
