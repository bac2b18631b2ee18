# SPDX-License-Identifier: GPL-3.0-or-later
"""The body: ParamBodyAngleX/Y/Z (turn, pitch, lean) and ParamBreath."""

from __future__ import annotations

import math

import numpy as np

from ....model.document import Keyform
from ....runtime.evaluate import warp_points
from ..context import Control, Generator, RigContext, hang_weight, inverse_rotation, warp_point_offset
from ..measure import smoothstep
from ..templates import BODY_DEPTH, ROLL_SIGN
from ..turn_model import turn_offsets


class _BodyFrame:
    """The body warp's geometry both body generators work from, and how one
    body keyform is written: the body warp, the neck bone following the neck
    base, and the hair's lower part (it rests on the shoulders) following the
    body under it rather than the head."""

    def __init__(self, ctx: RigContext, warp):
        self.ctx, self.warp = ctx, warp
        content = ctx.warp_content.get("body_warp") or warp.rect
        self.cx = (content[0] + content[2]) / 2
        self.rx = 0.55 * (content[2] - content[0])
        self.top, self.bottom = content[1], content[3]
        self.pts = warp.rest_points()
        self.neck_base = ctx.anchors.neck_base
        self.neck_pivot = ctx.deformers["neck"].pivot
        span = max(self.bottom - self.top, 1.0)
        self.height_weight = np.clip(1.0 - 0.7 * (self.pts[:, 1] - self.top) / span, 0.3, 1.0)
        self.bend_weight = np.clip((self.bottom - self.pts[:, 1]) / span, 0.0, 1.0)
        self.hair = [
            (wid, ctx.deformers[wid].rest_points())
            for wid in ("hair_back_warp", "hair_front_warp")
            if wid in ctx.deformers
        ]

    def follow_neck(self, forms):
        return [np.r_[0.0, warp_point_offset(self.warp, f, self.neck_base)] for f in forms]

    def keyforms(self, param, keys, forms, neck, owner) -> list[Keyform]:
        out = [
            Keyform("body_warp", [param], [keys], np.asarray(forms), owner=owner),
            Keyform("neck", [param], [keys], np.asarray(neck, np.float64), owner=owner),
        ]
        for wid, hp in self.hair:
            w = hang_weight(self.ctx, wid, hp)
            hf = []
            for form, nform in zip(forms, neck):
                under = warp_points(self.pts, form, self.warp, hp)  # the body under the hair
                hf.append((inverse_rotation(self.neck_pivot, nform, under) - hp) * w[:, None])
            out.append(Keyform(wid, [param], [keys], np.array(hf), owner=owner))
        return out


BODY_KEYS = [-10.0, 0.0, 10.0]
LEAN_RIGID_FROM = 0.5  # of the way from the waist up to the body's top: rigid above


def gen_body_turn(ctx: RigContext) -> list[Keyform]:
    """ParamBodyAngleX: the body warp turns like a cylinder (more at the top),
    the neck bone follows the neck base.  ParamBodyAngleY: the chest pitches
    up (+) or down, fading to nothing at the bottom edge.  ParamBodyAngleZ:
    the body bends about the waist and the head leans along."""
    warp = ctx.deformers.get("body_warp")
    if warp is None:
        return []
    c, b, keys = ctx.controls, _BodyFrame(ctx, warp), BODY_KEYS
    radii = (b.rx, 1.0, BODY_DEPTH * b.rx)
    turn = [
        turn_offsets(b.pts, (b.cx, 0.0), radii, "body", value / 10.0 * c.body_yaw_deg, 0.0)
        * b.height_weight[:, None]
        for value in keys
    ]
    out = b.keyforms("ParamBodyAngleX", keys, turn, b.follow_neck(turn), "body_turn")
    chest_y = b.top + 0.3 * (b.bottom - b.top)
    pitch = [
        turn_offsets(b.pts, (b.cx, chest_y), radii, "body", 0.0, value / 10.0 * c.body_pitch_deg)
        * b.bend_weight[:, None]
        for value in keys
    ]
    out += b.keyforms("ParamBodyAngleY", keys, pitch, b.follow_neck(pitch), "body_turn")

    # Lean (BodyAngleZ): the body above the chest turns rigidly about the waist,
    # bending in between, and below the waist nothing moves (often the image
    # border there); the neck turns with the chest, so the head leans along and
    # meets the body where it did.
    waist = np.array(ctx.anchors.waist)
    lean, neck_lean = [], []
    reach = max(LEAN_RIGID_FROM * (waist[1] - b.top), 1.0)
    lean_w = smoothstep((waist[1] - b.pts[:, 1]) / reach)
    neck_w = float(smoothstep(np.array([(waist[1] - b.neck_base[1]) / reach]))[0])
    for value in keys:
        deg = value / 10.0 * c.body_roll_deg * ROLL_SIGN
        angle = math.radians(deg) * lean_w
        r = b.pts - waist
        co, si = np.cos(angle), np.sin(angle)
        rotated = np.stack([co * r[:, 0] + si * r[:, 1], -si * r[:, 0] + co * r[:, 1]], axis=1)
        lean.append(rotated - r)
        shift = warp_point_offset(warp, lean[-1], b.neck_base)
        neck_lean.append([deg * neck_w, shift[0], shift[1]])
    out += b.keyforms("ParamBodyAngleZ", keys, lean, neck_lean, "body_turn")
    return out


def gen_breath(ctx: RigContext) -> list[Keyform]:
    """ParamBreath: shoulders and chest rise, the head rides along."""
    warp = ctx.deformers.get("body_warp")
    if warp is None:
        return []
    b = _BodyFrame(ctx, warp)
    lift = ctx.controls.breath_lift * ctx.anchors.face_size[1]
    breath = np.zeros_like(b.pts)
    breath[:, 1] = -lift * np.clip(1.0 - (b.pts[:, 1] - b.top) / max(b.bottom - b.top, 1.0), 0.0, 1.0)
    forms = [np.zeros_like(b.pts), breath]
    return b.keyforms("ParamBreath", [0.0, 1.0], forms, b.follow_neck(forms), "breath")


TURN = Generator(
    "body_turn",
    gen_body_turn,
    (
        Control("body_yaw_deg", 8.0, 0.0, 20.0, "body model yaw at ParamBodyAngleX = +-10"),
        Control("body_pitch_deg", 4.0, 0.0, 10.0, "body model pitch at ParamBodyAngleY = +-10"),
        Control("body_roll_deg", 5.0, 0.0, 15.0, "body lean at ParamBodyAngleZ = +-10"),
    ),
)
BREATH = Generator(
    "breath", gen_breath, (Control("breath_lift", 0.03, 0.0, 0.1, "shoulder rise, of the face height"),)
)
