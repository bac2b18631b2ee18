# SPDX-License-Identifier: GPL-3.0-or-later
"""How a turned surface projects: the depth models of the head and body turns
(an ellipsoid face, a cylinder body, the fringe in front, the back hair behind)."""

from __future__ import annotations

import math

import numpy as np

from .templates import FRINGE_DEPTH_FRONT, FRINGE_DEPTH_SIDE, HAIR_BACK_DEPTH


def turn_offsets(
    points: np.ndarray,
    centre: tuple[float, float],
    radii: tuple[float, float, float],
    depth_model: str,
    yaw_deg: float,
    pitch_deg: float,
) -> np.ndarray:
    """Offsets of points on a surface turned by yaw (about the vertical axis,
    positive = towards image +x) and pitch (positive = up), orthographic view."""
    rx, ry, rz = radii
    x = points[:, 0] - centre[0]
    y = points[:, 1] - centre[1]
    nx, ny = x / rx, y / ry
    if depth_model == "face":
        z = rz * np.sqrt(np.clip(1.0 - nx**2 - ny**2, 0.0, None))
    elif depth_model == "body":
        z = rz * np.sqrt(np.clip(1.0 - nx**2, 0.0, None))
    elif depth_model == "fringe":
        # In front over the forehead; on the silhouette (depth ~0) at the
        # crown, so looking down does not lift the crown off the back hair.
        upper = np.minimum(ny, 0.0)
        z = rz * np.maximum(
            FRINGE_DEPTH_SIDE, FRINGE_DEPTH_FRONT * np.sqrt(np.clip(1.0 - nx**2 - upper**2, 0.0, None))
        )
        z *= np.clip(1.0 - (upper / 1.35) ** 4, 0.0, 1.0)
    elif depth_model == "back":
        upper = np.minimum(ny, 0.0)
        z = rz * HAIR_BACK_DEPTH * np.clip(1.0 - upper**2, 0.0, 1.0)
    else:
        raise ValueError(f"unknown depth model {depth_model!r}")
    a, b = math.radians(yaw_deg), math.radians(pitch_deg)
    x1 = x * math.cos(a) + z * math.sin(a)
    z1 = -x * math.sin(a) + z * math.cos(a)
    y1 = y * math.cos(b) - z1 * math.sin(b)
    return np.stack([x1 - x, y1 - y], axis=1)
