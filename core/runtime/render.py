# SPDX-License-Identifier: GPL-3.0-or-later
"""Reference renderer: a deformed rig document -> RGBA image (numpy + OpenCV).

Same rules as the web player: pixel centres at (x + 0.5, y + 0.5), bilinear
texture sampling of premultiplied colour, "over" compositing in draw order,
clipping multiplies by the clip layer's rendered alpha (without its opacity),
each mesh is multiplied by its opacity at the pose (layer opacity plus opacity
keyforms, core/runtime/evaluate.py).
"""

from __future__ import annotations


import cv2
import numpy as np

from ..model.document import RigDocument
from .evaluate import Evaluator


def _premultiplied(img: np.ndarray) -> np.ndarray:
    f = img.astype(np.float32)
    np.divide(f, 255.0, out=f)  # in place: the same numbers as f / 255, half the memory
    f[..., :3] *= f[..., 3:4]
    return f


def rasterize_uv(
    verts: np.ndarray, uvs: np.ndarray, tris: np.ndarray, size: tuple[int, int], chunk_pixels: int = 1 << 21
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-pixel UV of a mesh drawn on a (w, h) canvas.

    Returns (map_u, map_v, covered) where covered marks pixels whose centre lies
    inside some triangle (later triangles win where they overlap).  Every
    (triangle, pixel of its bounding box) pair is tested at once with numpy, in
    chunks of about `chunk_pixels` pairs to bound memory.
    """
    w, h = size
    map_u = np.zeros((h, w), np.float32)
    map_v = np.zeros((h, w), np.float32)
    covered = np.zeros((h, w), bool)
    if len(tris) == 0:
        return map_u, map_v, covered
    p = verts[tris].astype(np.float64)  # (M, 3, 2)
    t_uv = uvs[tris].astype(np.float64)
    x0 = np.clip(np.floor(p[..., 0].min(1) - 0.5), 0, w).astype(np.int64)
    x1 = np.clip(np.ceil(p[..., 0].max(1) + 0.5), 0, w).astype(np.int64)
    y0 = np.clip(np.floor(p[..., 1].min(1) - 0.5), 0, h).astype(np.int64)
    y1 = np.clip(np.ceil(p[..., 1].max(1) + 0.5), 0, h).astype(np.int64)
    a = p[:, 0]
    e1 = p[:, 1] - a
    e2 = p[:, 2] - a
    det = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    bw = x1 - x0
    counts = bw * (y1 - y0)
    order = np.nonzero((np.abs(det) > 1e-12) & (counts > 0))[0]  # ascending: later wins
    eps = 1e-7
    start = 0
    while start < len(order):
        stop = start + 1
        budget = counts[order[start]]
        while stop < len(order) and budget + counts[order[stop]] <= chunk_pixels:
            budget += counts[order[stop]]
            stop += 1
        sel = order[start:stop]
        start = stop
        n = counts[sel]
        tri = np.repeat(sel, n)
        offsets = np.repeat(np.cumsum(n) - n, n)
        local = np.arange(int(n.sum()), dtype=np.int64) - offsets
        ys = y0[tri] + local // bw[tri]
        xs = x0[tri] + local % bw[tri]
        dx = xs + 0.5 - a[tri, 0]
        dy = ys + 0.5 - a[tri, 1]
        inv = 1.0 / det[tri]
        b1 = (dx * e2[tri, 1] - dy * e2[tri, 0]) * inv
        b2 = (e1[tri, 0] * dy - e1[tri, 1] * dx) * inv
        b0 = 1.0 - b1 - b2
        inside = (b0 >= -eps) & (b1 >= -eps) & (b2 >= -eps)
        tri, ys, xs = tri[inside], ys[inside], xs[inside]
        b0, b1, b2 = b0[inside], b1[inside], b2[inside]
        map_u[ys, xs] = b0 * t_uv[tri, 0, 0] + b1 * t_uv[tri, 1, 0] + b2 * t_uv[tri, 2, 0]
        map_v[ys, xs] = b0 * t_uv[tri, 0, 1] + b1 * t_uv[tri, 1, 1] + b2 * t_uv[tri, 2, 1]
        covered[ys, xs] = True
    return map_u, map_v, covered


class Renderer:
    """Renders a rig document at parameter values; textures are prepared once.

    `scale` renders a smaller (or larger) image of the same pose, e.g. for
    previews: vertices are scaled and textures are resampled once.
    """

    def __init__(self, doc: RigDocument, scale: float = 1.0):
        self.doc = doc
        self.scale = float(scale)
        self.evaluator = Evaluator(doc)
        self._layers = {l.id: l for l in doc.layers}
        self._textures = {}
        self._uv_scale = {}
        for l in doc.layers:
            img = l.image
            if self.scale < 1.0:
                h, w = img.shape[:2]
                size = (max(1, round(w * self.scale)), max(1, round(h * self.scale)))
                img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
                self._uv_scale[l.id] = (size[0] / w, size[1] / h)
            else:
                self._uv_scale[l.id] = (1.0, 1.0)
            self._textures[l.id] = _premultiplied(img)

    def output_size(self) -> tuple[int, int]:
        return (
            max(1, round(self.doc.canvas.width * self.scale)),
            max(1, round(self.doc.canvas.height * self.scale)),
        )

    def render_mesh_region(self, mesh_id: str, verts: np.ndarray, size):
        """Premultiplied RGBA float32 pixels of one mesh (no clipping, no opacity),
        as (image of its bounding box, x0, y0), or None when it covers no pixel."""
        mesh = self.doc.mesh(mesh_id)
        w, h = size
        if len(verts) == 0:
            return None
        x0 = int(max(np.floor(verts[:, 0].min()) - 1, 0))
        y0 = int(max(np.floor(verts[:, 1].min()) - 1, 0))
        x1 = int(min(np.ceil(verts[:, 0].max()) + 1, w))
        y1 = int(min(np.ceil(verts[:, 1].max()) + 1, h))
        if x1 <= x0 or y1 <= y0:
            return None
        sx, sy = self._uv_scale[mesh.layer]
        uvs = mesh.uvs * np.array([sx, sy]) if (sx, sy) != (1.0, 1.0) else mesh.uvs
        map_u, map_v, covered = rasterize_uv(
            verts - np.array([x0, y0]), uvs, mesh.triangles, (x1 - x0, y1 - y0)
        )
        if not covered.any():
            return None
        tex = self._textures[mesh.layer]
        map_u -= 0.5
        map_v -= 0.5
        sampled = cv2.remap(
            tex, map_u, map_v, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 0)
        )
        sampled[~covered] = 0.0
        return sampled, x0, y0

    def render_mesh(self, mesh_id: str, verts: np.ndarray, size) -> np.ndarray:
        """Premultiplied RGBA float32 full-size image of one mesh (no clipping, no opacity)."""
        w, h = size
        out = np.zeros((h, w, 4), np.float32)
        part = self.render_mesh_region(mesh_id, verts, size)
        if part is not None:
            img, x0, y0 = part
            out[y0 : y0 + img.shape[0], x0 : x0 + img.shape[1]] = img
        return out

    def pose(self, values: dict[str, float] | None = None):
        """(mesh id -> output-pixel vertices, mesh id -> opacity) at `values`."""
        verts = self.evaluator.mesh_vertices(values)
        opacity = self.evaluator.mesh_opacity(values)
        if self.scale != 1.0:
            verts = {k: v * self.scale for k, v in verts.items()}
        return verts, opacity

    def render(
        self,
        values: dict[str, float] | None = None,
        size: tuple[int, int] | None = None,
        background: tuple[int, int, int] | None = None,
        rows: tuple[int, int] | None = None,
        pose=None,
    ) -> np.ndarray:
        """Straight-alpha RGBA uint8 image of the canvas (or `size`).  `rows`
        (y0, y1) draws only that band of the image, pixel for pixel the same;
        `pose` is a precomputed `self.pose(values)` (core/runtime/render_bounded.py
        draws a large image band by band with both)."""
        doc = self.doc
        w, h = size or self.output_size()
        verts, opacity = pose if pose is not None else self.pose(values)
        if rows is not None:  # an integer shift keeps every pixel centre where it was
            shift = np.array([0.0, float(rows[0])])
            verts = {k: v - shift for k, v in verts.items()}
            h = rows[1] - rows[0]
        mesh_of_layer: dict[str, list] = {}
        for m in doc.meshes:
            mesh_of_layer.setdefault(m.layer, []).append(m.id)
        alpha_cache: dict[str, np.ndarray] = {}

        def layer_alpha(layer_id: str) -> np.ndarray:
            if layer_id not in alpha_cache:
                acc = np.zeros((h, w), np.float32)
                for mid in mesh_of_layer.get(layer_id, []):
                    part = self.render_mesh_region(mid, verts[mid], (w, h))
                    if part is None:
                        continue
                    img, x0, y0 = part
                    region = acc[y0 : y0 + img.shape[0], x0 : x0 + img.shape[1]]
                    region[...] = img[..., 3] + region * (1.0 - img[..., 3])
                alpha_cache[layer_id] = acc
            return alpha_cache[layer_id]

        out = np.zeros((h, w, 4), np.float32)
        for mesh_id in doc.draw_order:
            mesh = doc.mesh(mesh_id)
            layer = self._layers[mesh.layer]
            if opacity[mesh_id] <= 0.0:
                continue  # fully transparent at this pose
            part = self.render_mesh_region(mesh_id, verts[mesh_id], (w, h))
            if part is None:
                continue
            src, x0, y0 = part
            ys = slice(y0, y0 + src.shape[0])
            xs = slice(x0, x0 + src.shape[1])
            if layer.clip_to:
                src *= layer_alpha(layer.clip_to)[ys, xs, None]
            if opacity[mesh_id] != 1.0:
                src *= float(opacity[mesh_id])
            region = out[ys, xs]
            region[...] = src + region * (1.0 - src[..., 3:4])
        if background is not None:
            bg = np.ones((h, w, 4), np.float32)
            bg[..., :3] = np.array(background, np.float32) / 255.0
            out = out + bg * (1.0 - out[..., 3:4])
        alpha = out[..., 3:4]
        rgb = np.where(alpha > 1e-6, out[..., :3] / np.maximum(alpha, 1e-6), 0.0)
        img = np.concatenate([rgb, alpha], axis=2)
        return np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)


def render(doc: RigDocument, values: dict[str, float] | None = None, **kw) -> np.ndarray:
    return Renderer(doc).render(values, **kw)
