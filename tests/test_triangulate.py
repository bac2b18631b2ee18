# SPDX-License-Identifier: GPL-3.0-or-later
"""core/stages/triangulate.py: Delaunay triangles and nearest distances without SciPy."""

import cv2
import numpy as np
import pytest

from image_to_rig.core.stages.triangulate import delaunay_triangles, nearest_distances


def _circumcircle_violations(pts, tris) -> int:
    """Triangles whose circumcircle strictly contains another point (0 for Delaunay)."""
    bad = 0
    for a, b, c in pts[tris]:
        d = 2 * (a[0] * (b[1] - c[1]) + b[0] * (c[1] - a[1]) + c[0] * (a[1] - b[1]))
        if abs(d) < 1e-12:
            continue
        ux = ((a @ a) * (b[1] - c[1]) + (b @ b) * (c[1] - a[1]) + (c @ c) * (a[1] - b[1])) / d
        uy = ((a @ a) * (c[0] - b[0]) + (b @ b) * (a[0] - c[0]) + (c @ c) * (b[0] - a[0])) / d
        r2 = (a[0] - ux) ** 2 + (a[1] - uy) ** 2
        inside = ((pts[:, 0] - ux) ** 2 + (pts[:, 1] - uy) ** 2) < r2 * (1 - 1e-9)
        bad += int(inside.sum())
    return bad


@pytest.mark.parametrize("n", [3, 10, 300])
def test_random_points_give_the_delaunay_triangulation(n):
    pts = np.random.default_rng(n).uniform(0, 700, (n, 2))
    tris = delaunay_triangles(pts)
    hull = len(cv2.convexHull(pts.astype(np.float32)))
    assert len(tris) == 2 * n - 2 - hull  # every triangle of the hull is there (Euler)
    assert _circumcircle_violations(pts, tris) == 0
    assert len({tuple(sorted(t)) for t in tris.tolist()}) == len(tris)


def test_a_lattice_with_thin_hull_triangles_is_complete():
    xs, ys = np.meshgrid(np.arange(0.0, 60.0, 3.0), np.arange(0.0, 30.0, 2.6))
    pts = np.stack([xs.ravel() + (ys.ravel() % 5.2 > 1) * 1.5, ys.ravel()], axis=1)
    pts = np.vstack([pts, [[30.0, -0.01], [-0.2, 15.0]]])  # nearly on the hull
    tris = delaunay_triangles(pts)
    area = 0.5 * np.abs(np.cross(pts[tris[:, 1]] - pts[tris[:, 0]], pts[tris[:, 2]] - pts[tris[:, 0]])).sum()
    hull = cv2.convexHull(pts.astype(np.float32)).reshape(-1, 2).astype(np.float64)
    assert area == pytest.approx(cv2.contourArea(hull.astype(np.float32)), rel=1e-4)


def test_nearest_distances_match_brute_force():
    rng = np.random.default_rng(1)
    targets, queries = rng.uniform(0, 500, (700, 2)), rng.uniform(-50, 550, (2500, 2))
    full = np.sqrt(((queries[:, None] - targets[None]) ** 2).sum(axis=2)).min(axis=1)
    assert np.allclose(nearest_distances(targets, queries), full)
    assert np.all(np.isinf(nearest_distances(np.zeros((0, 2)), queries[:3])))
