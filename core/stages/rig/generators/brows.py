# SPDX-License-Identifier: GPL-3.0-or-later
"""The brows: ParamBrowL/RY (up and down) and ParamBrowL/RAngle (turn)."""

from __future__ import annotations

import math

import numpy as np

from ....model.document import Keyform
from ..context import Control, Generator, RigContext


def gen_brows(ctx: RigContext) -> list[Keyform]:
    """ParamBrowY: the brow moves up (+) or down.  ParamBrowAngle: it turns
    about its middle; + lifts the inner end (worried), - drops it (angry)."""
    out = []
    keys = [-1.0, 0.0, 1.0]
    cx = ctx.anchors.face_centre[0]
    for side in ("l", "r"):
        mesh = ctx.mesh(f"eyebrow_{side}")
        box = ctx.boxes.get(f"eyebrow_{side}")
        if mesh is None or box is None:
            continue
        eye = ctx.eye_box(side)
        eye_h = (eye[3] - eye[1]) if eye is not None else 2.0 * (box[3] - box[1])
        v = mesh.vertices
        travel = ctx.controls.brow_travel * eye_h
        lift = np.zeros_like(v)
        lift[:, 1] = -travel
        out.append(
            Keyform(
                mesh.id,
                [f"ParamBrow{side.upper()}Y"],
                [keys],
                np.stack([-lift, np.zeros_like(v), lift]),
                owner="brows",
            )
        )
        bcx, bcy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        inward = -1.0 if bcx > cx else 1.0  # image-x direction towards the nose
        # Counter-clockwise on screen lifts the end at +x: lift the inner end.
        a = math.radians(ctx.controls.brow_angle_deg) * inward
        rx, ry = v[:, 0] - bcx, v[:, 1] - bcy
        turned = np.stack(
            [math.cos(a) * rx + math.sin(a) * ry - rx, -math.sin(a) * rx + math.cos(a) * ry - ry], axis=1
        )
        turned_back = np.stack(
            [math.cos(a) * rx - math.sin(a) * ry - rx, math.sin(a) * rx + math.cos(a) * ry - ry], axis=1
        )
        out.append(
            Keyform(
                mesh.id,
                [f"ParamBrow{side.upper()}Angle"],
                [keys],
                np.stack([turned_back, np.zeros_like(v), turned]),
                owner="brows",
            )
        )
    return out


BROWS = Generator(
    "brows",
    gen_brows,
    (
        Control("brow_travel", 0.35, 0.0, 1.0, "ParamBrowY travel, of the eye height"),
        Control("brow_angle_deg", 12.0, 0.0, 30.0, "ParamBrowAngle rotation at +-1"),
    ),
)
