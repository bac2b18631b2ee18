# SPDX-License-Identifier: GPL-3.0-or-later
"""Delaunay triangulation and nearest-point distances with OpenCV and numpy.

What the meshing stage needs from computational geometry, without SciPy (which
the extension would otherwise bundle, 38.6 MB download / 119.5 MB installed,
for these two functions alone; bench/bench_footprint.py):

* ``delaunay_triangles``: the Delaunay triangulation of a point set, as index
  triples, from OpenCV's incremental ``Subdiv2D``;
* ``nearest_distances``: for each query point, the distance to the nearest of
  a set of points (brute force in blocks; the sets here are thousands of points).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

_BLOCK = 1024  # query points per block of the distance matrix
PAD_SPANS = 500.0


def delaunay_triangles(points: np.ndarray) -> np.ndarray:
    """(M, 3) int32 indices into `points` ((N, 2) float) of its Delaunay triangles.

    Duplicate points share one vertex (the first index).  Winding is not fixed:
    callers orient the triangles themselves."""
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    if len(pts) < 3:
        return np.zeros((0, 3), np.int32)
    # Subdiv2D starts from a finite outer triangle sized by the rect: a rect far
    # larger than the points keeps its corners from stealing thin hull triangles.
    span = float(max(np.ptp(pts[:, 0]), np.ptp(pts[:, 1]), 1.0)) * PAD_SPANS
    x0, y0 = np.floor(pts.min(axis=0) - span)
    x1, y1 = np.ceil(pts.max(axis=0) + span)
    subdiv = cv2.Subdiv2D((int(x0), int(y0), int(x1 - x0) + 1, int(y1 - y0) + 1))
    by_vertex = {}
    for i, (x, y) in enumerate(pts):
        vid = subdiv.insert((float(x), float(y)))
        by_vertex.setdefault(vid, i)
    index_of = {}
    for vid, i in by_vertex.items():
        (vx, vy), _ = subdiv.getVertex(vid)
        index_of[(np.float32(vx), np.float32(vy))] = i
    tris = subdiv.getTriangleList().reshape(-1, 3, 2).astype(np.float32)
    out = []
    for tri in tris:
        try:
            out.append([index_of[(tri[k, 0], tri[k, 1])] for k in range(3)])
        except KeyError:  # a corner of the virtual outer triangle
            continue
    return np.asarray(out, np.int32).reshape(-1, 3)


def nearest_distances(targets: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """(len(queries),) distance from each query point to its nearest target point."""
    t = np.asarray(targets, np.float64).reshape(-1, 2)
    q = np.asarray(queries, np.float64).reshape(-1, 2)
    if len(t) == 0:
        return np.full(len(q), math.inf)
    out = np.empty(len(q))
    for start in range(0, len(q), _BLOCK):
        block = q[start : start + _BLOCK]
        d2 = ((block[:, None, :] - t[None, :, :]) ** 2).sum(axis=2)
        out[start : start + _BLOCK] = np.sqrt(d2.min(axis=1))
    return out
