# SPDX-License-Identifier: GPL-3.0-or-later
"""Stage 5 of the pipeline (rig): the auto mesh of one layer.

Outline from the alpha (traced on a slightly grown mask, so every pixel with
alpha > 0 lies inside the triangles), simplified and resampled evenly; interior
points on a hexagonal grid; a conforming Delaunay triangulation (outline edges
are split until Delaunay keeps them all) from which the triangles outside the
outline are dropped (even-odd rule), so concave shapes are never bridged.
Several islands are allowed; large holes stay holes, small ones are filled
(transparent texels draw nothing anyway).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from ..model.document import Layer
from ..model.errors import ImageToRigError
from .triangulate import delaunay_triangles, nearest_distances


class MeshingError(ImageToRigError):
    """A layer cannot be meshed (for example: it has no opaque pixel)."""


GROW_PX = 2  # the outline lies this far outside the last pixel with alpha > 0
MIN_SPACING_PX = 3.0  # never place mesh points closer than this
MAX_SPLIT_ROUNDS = 8


def _island_outlines(alpha: np.ndarray, spacing: float) -> list[np.ndarray]:
    """Closed outlines (K, 2) in crop pixel coordinates (pixel centres at +0.5)."""
    mask = (alpha > 0).astype(np.uint8)
    # Simplifying cuts corners by up to `eps`, so grow the mask by more than that.
    eps = min(max(0.5, 0.15 * spacing), 2.0)
    grow = GROW_PX + int(math.ceil(eps))
    pad = grow + 2
    padded = cv2.copyMakeBorder(mask, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
    grown = cv2.dilate(padded, kernel)
    contours, hierarchy = cv2.findContours(grown, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
    outlines = []
    min_hole = max(4.0 * spacing * spacing, 64.0)
    for c, link in zip(contours, hierarchy[0]):
        is_hole = link[3] != -1
        # Small holes are filled (transparent texels draw nothing anyway).
        if is_hole and cv2.contourArea(c) < min_hole:
            continue
        simple = cv2.approxPolyDP(c, eps, True).reshape(-1, 2).astype(np.float64)
        if len(simple) < 3:
            simple = c.reshape(-1, 2).astype(np.float64)
        if len(simple) < 3 or abs(_signed_area(simple)) < 1e-9:
            x, y, w, h = cv2.boundingRect(c)
            simple = np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], np.float64)
        outlines.append(_resample_closed(simple, spacing) - pad + 0.5)
    return outlines


def _signed_area(poly: np.ndarray) -> float:
    x, y = poly[:, 0], poly[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def _resample_closed(poly: np.ndarray, spacing: float) -> np.ndarray:
    """Keep the corners, subdivide every edge longer than `spacing`."""
    nxt = np.roll(poly, -1, axis=0)
    lengths = np.linalg.norm(nxt - poly, axis=1)
    pieces = np.maximum(1, np.ceil(lengths / spacing).astype(int))
    out = []
    for p, q, n in zip(poly, nxt, pieces):
        t = np.arange(n, dtype=np.float64)[:, None] / n
        out.append(p + (q - p) * t)
    return np.vstack(out)


def _points_in_polygons(points: np.ndarray, outlines: list[np.ndarray]) -> np.ndarray:
    """Even-odd point-in-polygon test against all outlines (vectorised)."""
    inside = np.zeros(len(points), bool)
    px = points[:, 0][:, None]
    py = points[:, 1][:, None]
    for poly in outlines:
        a = poly[None, :, :]
        b = np.roll(poly, -1, axis=0)[None, :, :]
        ay, by = a[..., 1], b[..., 1]
        crosses = (ay > py) != (by > py)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_at = a[..., 0] + (py - ay) * (b[..., 0] - a[..., 0]) / (by - ay)
        inside ^= (np.count_nonzero(crosses & (px < x_at), axis=1) % 2).astype(bool)
    return inside


def _hex_points(alpha_shape, outlines: list[np.ndarray], spacing: float) -> np.ndarray:
    """Interior points on a hexagonal grid, at least ~half a spacing from the outline."""
    h, w = alpha_shape
    pad = GROW_PX + 4
    fill = np.zeros((h + 2 * pad, w + 2 * pad), np.uint8)
    for o in outlines:  # even-odd: holes and islands inside holes
        one = np.zeros_like(fill)
        cv2.fillPoly(one, [np.round((o + pad - 0.5) * 4).astype(np.int32)], 1, shift=2)
        fill ^= one
    dist = cv2.distanceTransform(fill, cv2.DIST_L2, 3)
    row_h = spacing * math.sqrt(3.0) / 2.0
    ys = np.arange(-pad + row_h / 2, h + pad, row_h)
    pts = []
    for i, y in enumerate(ys):
        off = spacing / 2 if i % 2 else 0.0
        xs = np.arange(-pad + off + spacing / 2, w + pad, spacing)
        pts.append(np.stack([xs, np.full_like(xs, y)], axis=1))
    if not pts:
        return np.zeros((0, 2))
    grid = np.vstack(pts)
    ix = np.clip(np.floor(grid[:, 0] + pad).astype(int), 0, fill.shape[1] - 1)
    iy = np.clip(np.floor(grid[:, 1] + pad).astype(int), 0, fill.shape[0] - 1)
    keep = dist[iy, ix] >= 0.6 * spacing
    return grid[keep]


def _conforming_delaunay(outline_pts: list[np.ndarray], interior: np.ndarray):
    """Delaunay triangulation that contains every outline edge (splitting as needed)."""
    outlines = [o.copy() for o in outline_pts]
    for _ in range(MAX_SPLIT_ROUNDS):
        boundary = np.vstack(outlines)
        pts = np.vstack([boundary, interior]) if len(interior) else boundary
        simplices = delaunay_triangles(pts)
        edges = np.sort(
            np.concatenate([simplices[:, [0, 1]], simplices[:, [1, 2]], simplices[:, [2, 0]]]), axis=1
        )
        n_all = len(pts)
        edge_keys = set((edges[:, 0] * n_all + edges[:, 1]).tolist())
        missing_any = False
        start = 0
        new_outlines = []
        for o in outlines:
            k = len(o)
            a = np.arange(k) + start
            b = np.roll(a, -1)
            lo, hi = np.minimum(a, b), np.maximum(a, b)
            keys = lo * n_all + hi
            missing = np.array([key not in edge_keys for key in keys.tolist()])
            if missing.any():
                missing_any = True
                mids = (o + np.roll(o, -1, axis=0)) / 2
                out = np.empty((k + int(missing.sum()), 2))
                j = 0
                for i in range(k):
                    out[j] = o[i]
                    j += 1
                    if missing[i]:
                        out[j] = mids[i]
                        j += 1
                o = out
            new_outlines.append(o)
            start += k
        if not missing_any:
            return pts, simplices, outlines
        outlines = new_outlines
        # Interior points crowding a split edge would keep breaking it: drop them.
        if len(interior):
            boundary = np.vstack(outlines)
            d = nearest_distances(boundary, interior)
            seg = min(
                float(np.median(np.linalg.norm(np.diff(o, axis=0), axis=1))) for o in outlines if len(o) > 1
            )
            interior = interior[d > 0.5 * seg]
    pts = np.vstack(outlines + ([interior] if len(interior) else []))
    return pts, delaunay_triangles(pts), outlines


def mesh_layer(layer: Layer, target_vertices: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Triangle mesh covering every pixel of `layer` with alpha > 0.

    Returns (vertices (N, 2) canvas px float64, triangles (M, 3) int32 wound
    counter-clockwise in image coordinates (positive cross product, y down),
    uvs (N, 2) crop px float64).  `target_vertices` is approximate.
    """
    alpha = layer.image[..., 3]
    if not np.any(alpha > 0):
        raise MeshingError(f"layer {layer.id!r} is fully transparent, there is nothing to mesh")
    target = max(int(target_vertices), 8)
    mask = alpha > 0
    area = float(np.count_nonzero(mask)) + 1.0
    # Rough perimeter of the grown shape: boundary pixels of the mask.
    eroded = cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8))
    perimeter = float(np.count_nonzero(mask & (eroded == 0))) + 8.0 * GROW_PX
    # area / (s^2 * 0.866) + perimeter / s = target  ->  solve for the spacing s.
    a, b, c = float(target), -perimeter, -area / 0.866
    spacing = (-b + math.sqrt(b * b - 4 * a * c)) / (2 * a)
    spacing = max(spacing, MIN_SPACING_PX)
    outlines = _island_outlines(alpha, spacing)
    interior = _hex_points(alpha.shape, outlines, spacing)
    pts, simplices, outlines = _conforming_delaunay(outlines, interior)

    p = pts[simplices]
    centroids = p.mean(axis=1)
    keep = _points_in_polygons(centroids, outlines)
    cross = (p[:, 1, 0] - p[:, 0, 0]) * (p[:, 2, 1] - p[:, 0, 1]) - (p[:, 1, 1] - p[:, 0, 1]) * (
        p[:, 2, 0] - p[:, 0, 0]
    )
    keep &= np.abs(cross) > 1e-6
    tris = simplices[keep]
    cross = cross[keep]
    flip = cross < 0
    tris[flip] = tris[flip][:, [0, 2, 1]]
    # Drop points no kept triangle uses and renumber.
    used = np.zeros(len(pts), bool)
    used[tris.ravel()] = True
    remap = np.full(len(pts), -1, np.int64)
    remap[used] = np.arange(int(used.sum()))
    uvs = pts[used].astype(np.float64)
    tris = remap[tris].astype(np.int32)
    vertices = uvs + np.array([layer.x, layer.y], np.float64)
    return vertices, tris, uvs
