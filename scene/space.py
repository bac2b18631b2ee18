# SPDX-License-Identifier: GPL-3.0-or-later
"""Canvas pixels <-> Blender space: the one place that fixes the mapping.

Canvas x (right) -> world X, canvas y (down) -> world -Z, both scaled by
METRES_PER_PIXEL and centred on the canvas.  Draw order becomes depth along Y:
the front-most mesh is closest to the camera, which looks along +Y from -Y.
"""

from __future__ import annotations

import numpy as np

METRES_PER_PIXEL = 0.01
DEPTH_STEP = 0.001  # world Y between neighbouring meshes in draw order
CAMERA_DISTANCE = 10.0


def canvas_to_world(points: np.ndarray, width: float, height: float, depth: float = 0.0) -> np.ndarray:
    """(N, 2) canvas px -> (N, 3) world XYZ on the XZ plane at Y = depth."""
    p = np.asarray(points, np.float64).reshape(-1, 2)
    out = np.empty((len(p), 3))
    out[:, 0] = (p[:, 0] - width / 2.0) * METRES_PER_PIXEL
    out[:, 1] = depth
    out[:, 2] = (height / 2.0 - p[:, 1]) * METRES_PER_PIXEL
    return out


def world_to_canvas(points: np.ndarray, width: float, height: float) -> np.ndarray:
    """(N, 3) world XYZ -> (N, 2) canvas px (Y is ignored)."""
    p = np.asarray(points, np.float64).reshape(-1, 3)
    out = np.empty((len(p), 2))
    out[:, 0] = p[:, 0] / METRES_PER_PIXEL + width / 2.0
    out[:, 1] = height / 2.0 - p[:, 2] / METRES_PER_PIXEL
    return out


def offsets_to_world(offsets: np.ndarray) -> np.ndarray:
    """(N, 2) canvas px offsets -> (N, 3) world offsets."""
    o = np.asarray(offsets, np.float64).reshape(-1, 2)
    out = np.zeros((len(o), 3))
    out[:, 0] = o[:, 0] * METRES_PER_PIXEL
    out[:, 2] = -o[:, 1] * METRES_PER_PIXEL
    return out


def depth_of(draw_index: int, count: int) -> float:
    """World Y of the mesh at `draw_index` (0 = back) of `count` meshes."""
    return (count - 1 - draw_index) * DEPTH_STEP
