# SPDX-License-Identifier: GPL-3.0-or-later
"""The hair: ParamHairFront / Side / Back (the physics outputs) swing the hair
warps' tips sideways, more the further from the roots."""

from __future__ import annotations


import numpy as np

from ....model.document import Keyform
from ..context import Control, Generator, RigContext, hang_weight
from ..measure import smoothstep

HAIR_SWAY = {  # tip travel at +-1, of the face width; lift of the tips, of the travel
    "front": (0.07, 0.2),
    "side": (0.10, 0.0),
    "back": (0.12, 0.0),
}  # tips on the shoulders slide
SLIDE_MAX_SLOPE = 2.0  # the steepest shoulder a tip slides down along


def gen_hair(ctx: RigContext) -> list[Keyform]:
    """ParamHairFront / Side / Back (physics outputs): the hair warps swing
    their tips sideways (+ = towards image +x), more the further from the
    roots; front = the fringe over the forehead, side = the locks at the
    face's sides, back = the back hair below the crown."""
    out = []
    s = ctx.controls.hair_sway
    cx, _ = ctx.anchors.face_centre
    fw, fh = ctx.anchors.face_size
    top = ctx.anchors.face[1]
    keys = [-1.0, 0.0, 1.0]

    shoulders = ctx.profile("topwear")
    if shoulders is not None and len(shoulders.xs) > 8:
        k = max(3, len(shoulders.xs) // 40)
        smooth = np.convolve(np.pad(shoulders.top, k, mode="edge"), np.ones(2 * k + 1) / (2 * k + 1), "valid")
        # (no steeper than SLIDE_MAX_SLOPE: a tip does not rest on an arm's steep outline)
        slope = np.clip(np.gradient(smooth, shoulders.xs), -SLIDE_MAX_SLOPE, SLIDE_MAX_SLOPE)
        slope_of = lambda x: np.interp(x, shoulders.xs, slope)
    else:
        slope_of = lambda x: np.zeros_like(x)

    def sway(pts, weight, kind, wid):
        amp, lift = HAIR_SWAY[kind]
        dx = amp * fw * s * weight
        # Tips resting on the shoulders slide down along them (never up and off).
        rest_on = hang_weight(ctx, wid, pts) if wid in ctx.warp_content else np.zeros(len(pts))
        dy = -lift * np.abs(dx) * weight + np.abs(slope_of(pts[:, 0]) * dx) * rest_on
        right = np.stack([dx, dy], axis=1)
        left = np.stack([-dx, dy], axis=1)
        return np.stack([left, np.zeros_like(pts), right])

    front = ctx.deformers.get("hair_front_warp")
    if front is not None:
        pts = front.rest_points()
        nx = np.abs(pts[:, 0] - cx) / (fw / 2)
        w_front = smoothstep((pts[:, 1] - (top - 0.05 * fh)) / (0.5 * fh)) * np.clip(
            (1.3 - nx) / 0.6, 0.0, 1.0
        )
        out.append(
            Keyform(
                front.id, ["ParamHairFront"], [keys], sway(pts, w_front, "front", front.id), owner="hair_sway"
            )
        )
        w_side = np.clip((pts[:, 1] - (top + 0.3 * fh)) / (0.9 * fh), 0.0, 1.0) ** 1.5 * np.clip(
            (nx - 0.6) / 0.5, 0.0, 1.0
        )
        out.append(
            Keyform(
                front.id, ["ParamHairSide"], [keys], sway(pts, w_side, "side", front.id), owner="hair_sway"
            )
        )
    back = ctx.deformers.get("hair_back_warp")
    if back is not None:
        pts = back.rest_points()
        content = ctx.warp_content.get("hair_back_warp") or back.rect
        span = max(content[3] - (top - 0.1 * fh), 1.0)
        w_back = np.clip((pts[:, 1] - (top - 0.1 * fh)) / span, 0.0, 1.0) ** 2
        out.append(
            Keyform(back.id, ["ParamHairBack"], [keys], sway(pts, w_back, "back", back.id), owner="hair_sway")
        )
    return out


SWAY = Generator(
    "hair_sway", gen_hair, (Control("hair_sway", 1.0, 0.0, 2.0, "scale of the hair sway keyforms"),)
)
