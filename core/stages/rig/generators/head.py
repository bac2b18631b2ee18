# SPDX-License-Identifier: GPL-3.0-or-later
"""The head: ParamAngleX/Y (the turn, with parallax) and ParamAngleZ (the tilt)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ....model.document import Keyform
from ..context import Control, Generator, RigContext
from ..measure import smoothstep
from ..templates import ANGLE_KEYS, EYE_PARTS, FACE_DEPTH, FACE_RADIUS, ROLL_SIGN, WARPS
from ..turn_model import turn_offsets
from .eyes import closed_eye_layers

HAIR_HANG = 1.0  # share of the head roll the hair tips undo (they hang)
# The hair starts turning back towards hanging this share of the way from the
# face's centre down to the chin (below the mouth): a lock beside the cheek
# rolls with the face it lies on, or the two part and the cheek's edge shows
# through (Eileen's side locks at AngleZ +-30, when it began at the centre).
HANG_FROM = 0.7
NEAR_EYE_WIDEN = 0.3  # the near eye widens by this share of the far eye's narrowing


def _angle_grid(make: Callable[[float, float], np.ndarray]) -> np.ndarray:
    """Forms over ParamAngleX (slowest) x ParamAngleY at -30/0/30."""
    return np.array([make(ax, ay) for ax in ANGLE_KEYS for ay in ANGLE_KEYS])


def gen_head_turn(ctx: RigContext) -> list[Keyform]:
    """ParamAngleX/Y on a 3x3 grid (corners included) with parallax: every head
    warp turns with its depth model (the features on the face's front move
    more than its outline, the back hair moves against the face), the nose
    leads the turn and the eye turning away narrows."""
    c = ctx.controls
    cx, cy = ctx.anchors.face_centre
    fw, fh = ctx.anchors.face_size
    rx, ry = FACE_RADIUS * fw / 2, FACE_RADIUS * fh / 2
    rz = FACE_DEPTH * rx * c.turn_depth
    out = []
    for wid, _, _, _, model in WARPS:
        warp = ctx.deformers.get(wid)
        if warp is None or model == "body":
            continue
        pts = warp.rest_points()
        forms = _angle_grid(
            lambda ax, ay: turn_offsets(
                pts, (cx, cy), (rx, ry, rz), model, ax / 30.0 * c.head_yaw_deg, ay / 30.0 * c.head_pitch_deg
            )
        )
        out.append(
            Keyform(wid, ["ParamAngleX", "ParamAngleY"], [ANGLE_KEYS, ANGLE_KEYS], forms, owner="head_turn")
        )
    nose = ctx.mesh("nose")
    if nose is not None:
        lead_x, lead_y = c.feature_lead * fw * c.turn_depth, 0.6 * c.feature_lead * fh * c.turn_depth

        def nose_form(ax, ay, n=len(nose.vertices)):
            return np.tile([[lead_x * ax / 30.0, -lead_y * ay / 30.0]], (n, 1))

        out.append(
            Keyform(
                nose.id,
                ["ParamAngleX", "ParamAngleY"],
                [ANGLE_KEYS, ANGLE_KEYS],
                _angle_grid(nose_form),
                owner="head_turn",
            )
        )
    for side in ("l", "r"):
        box = ctx.eye_box(side)
        if box is None:
            continue
        ecx = (box[0] + box[2]) / 2
        toward = 1.0 if ecx > cx else -1.0  # the turn direction that takes this eye away

        for part in [f"{tag}_{side}" for tag in EYE_PARTS] + closed_eye_layers(ctx.layers, side):
            mesh = ctx.mesh(part)
            if mesh is None:
                continue

            def eye_form(ax, ay, v=mesh.vertices, toward=toward, ecx=ecx):
                amount = abs(ax) / 30.0 * c.far_eye_narrow
                scale = 1.0 - amount if ax * toward > 0 else 1.0 + NEAR_EYE_WIDEN * amount
                off = np.zeros_like(v)
                off[:, 0] = (scale - 1.0) * (v[:, 0] - ecx)
                return off

            out.append(
                Keyform(
                    mesh.id,
                    ["ParamAngleX", "ParamAngleY"],
                    [ANGLE_KEYS, ANGLE_KEYS],
                    _angle_grid(eye_form),
                    owner="head_turn",
                )
            )
    return out


def gen_head_tilt(ctx: RigContext) -> list[Keyform]:
    """ParamAngleZ: the head bone rolls about the chin; the lower hair (on both
    hair warps), from below the mouth down, turns back towards
    hanging straight, fully at its tips."""
    a = ctx.controls.head_roll_deg * ROLL_SIGN
    keys = [-30.0, 0.0, 30.0]
    out = [
        Keyform(
            "head",
            ["ParamAngleZ"],
            [keys],
            np.array([[-a, 0, 0], [0, 0, 0], [a, 0, 0]], np.float64),
            owner="head_tilt",
        )
    ]
    pivot = np.array(ctx.anchors.chin)
    cy, chin_y = ctx.anchors.face_centre[1], ctx.anchors.chin[1]
    cheek_y = cy + HANG_FROM * (chin_y - cy)
    for wid in ("hair_back_warp", "hair_front_warp"):
        warp = ctx.deformers.get(wid)
        if warp is None:
            continue
        pts = warp.rest_points()
        bottom = ctx.warp_content[wid][3]
        hang = HAIR_HANG * smoothstep((pts[:, 1] - cheek_y) / max(bottom - cheek_y, 1.0))
        forms = []
        for angle in (-a, 0.0, a):
            # The head rotation R(p) turns the warp's output; R^-1 undoes it.
            r = math.radians(-angle)
            q = pts - pivot
            back = (
                np.stack(
                    [
                        math.cos(r) * q[:, 0] + math.sin(r) * q[:, 1],
                        -math.sin(r) * q[:, 0] + math.cos(r) * q[:, 1],
                    ],
                    axis=1,
                )
                + pivot
            )
            forms.append((back - pts) * hang[:, None])
        out.append(Keyform(wid, ["ParamAngleZ"], [keys], np.array(forms), owner="head_tilt"))
    return out


TURN = Generator(
    "head_turn",
    gen_head_turn,
    (
        Control("turn_depth", 1.0, 0.0, 2.0, "head-turn parallax: depth of the head model (0 = flat card)"),
        Control("head_yaw_deg", 18.0, 0.0, 35.0, "model yaw at ParamAngleX = +-30"),
        Control("head_pitch_deg", 12.0, 0.0, 25.0, "model pitch at ParamAngleY = +-30"),
        Control("feature_lead", 0.05, 0.0, 0.15, "extra shift of the nose at full turn, of the face width"),
        Control("far_eye_narrow", 0.16, 0.0, 0.4, "the far eye's width loss at full turn"),
    ),
)
TILT = Generator(
    "head_tilt",
    gen_head_tilt,
    (Control("head_roll_deg", 15.0, 0.0, 30.0, "head bone roll at ParamAngleZ = +-30"),),
)
