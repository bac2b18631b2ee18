# SPDX-License-Identifier: GPL-3.0-or-later
"""The eyes: ParamEyeL/ROpen x ParamEyeL/RSmile (the blink, the smiling lid
and the squint) and ParamEyeBallX/Y (the gaze).  A drawn closed eye fades in."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ....model.document import Keyform, Layer
from ..context import Control, Generator, RigContext
from ..measure import Profile
from ..templates import EYE_PARTS

# The eyewhite and iris collapse a little above the lid line, under the lash
# that lands there: after the face warp a collapsed mesh keeps hairline slivers.
TUCK_UNDER_LASH = 0.1  # of the eye height
BROW_BLINK_DROP = 0.0  # of the eye height (artists' blinks leave the brows where they are)
SQUINT_UPPER, SQUINT_LOWER = 0.2, 0.55  # smiling open eye: share of the way to the arc
# A generated closed lid's bow when smiling, of the smiling arc: a gentle one
# (artists' smiling closed eyes, bench/bench_real.py: +0.5 dB over 0.5)
SMILING_LID_RISE = 0.3

# Blink recipe: part tag -> how it moves when the eye closes / smiles.
BLINK_RECIPE: dict[str, str] = {
    "eyewhite": "collapse_to_lid",
    "irides": "collapse_to_lid",
    "eyelash": "lashes_to_lid",
    "eyebrow": "brow_follow",
}
# A drawn closed eye (layer role "closed"): opacity offset per ParamEye?Open key;
# the layer rests at opacity 0, shows fully when closed and is gone from 0.25 up.
CLOSED_EYE_KEYS = (0.0, 0.25, 1.0)
CLOSED_EYE_OPACITY = (1.0, 0.0, 0.0)
OPEN_EYE_OPACITY = (-1.0, 0.0, 0.0)  # the open eye's parts, where a closed eye exists


def closed_eye_layers(layers: dict[str, Layer], side: str) -> list[str]:
    """Ids of the drawn closed-eye layers of one side (role "closed", eye tags)."""
    return [lid for lid, l in layers.items() if l.role == "closed" and l.side == side and l.tag in EYE_PARTS]


@dataclass
class EyeLines:
    """The closed-lid lines of one eye, measured from its eyewhite."""

    white: Profile
    eye_h: float
    x0: float  # the eye's body (columns at least 30 % of the tallest)
    x1: float
    lid_poly: np.ndarray
    arc_h: float
    lash_xs: np.ndarray | None = None  # lower edge of the upper lash per column
    lash_edge: np.ndarray | None = None

    def clamp(self, x):
        return np.clip(x, self.x0, self.x1)

    def lid(self, x):
        """Straight closed lid: a smooth (quadratic) line near the lower lash."""
        return np.polyval(self.lid_poly, self.clamp(x))

    def arc(self, x):
        """Smiling closed lid: the lid line bowed upwards in the middle."""
        u = (self.clamp(x) - 0.5 * (self.x0 + self.x1)) / max(0.5 * (self.x1 - self.x0), 1.0)
        return self.lid(x) - self.arc_h * (1.0 - u**2)

    def top(self, x):
        return self.white.top_at(self.clamp(x))

    def bottom(self, x):
        return self.white.bottom_at(self.clamp(x))

    def upper_edge(self, x):
        """Where the upper lid's lower edge is: the upper lash's lower edge
        (kept between a little above the eyewhite and its middle), else the
        eyewhite's top."""
        top = self.top(x)
        if self.lash_edge is None:
            return top
        edge = np.interp(self.clamp(x), self.lash_xs, self.lash_edge)
        return np.clip(edge, top - 0.5 * self.eye_h, 0.5 * (top + self.bottom(x)))

    def taper(self, x):
        """1 over the eye, fading to 0 a little beyond its corners (lash wings)."""
        span = max(0.25 * (self.x1 - self.x0), 1.0)
        outside = np.maximum(self.x0 - x, 0.0) + np.maximum(x - self.x1, 0.0)
        return np.clip(1.0 - outside / span, 0.0, 1.0)


def eye_lines(ctx: RigContext, side: str) -> EyeLines | None:
    white = ctx.profile(f"eyewhite_{side}")
    if white is None:
        return None
    height = white.bottom - white.top
    eye_h = float(np.median(height))
    body = height >= 0.3 * height.max()
    lid_samples = white.top + ctx.controls.blink_line * height
    deg = 2 if body.sum() >= 3 else 0
    # A smooth lid line: collapsing onto a kinked line would leave slivers.
    lid_poly = np.polyfit(white.xs[body], lid_samples[body], deg)
    lines = EyeLines(
        white,
        eye_h,
        float(white.xs[body].min()),
        float(white.xs[body].max()),
        lid_poly,
        ctx.controls.eye_smile_arc * eye_h,
    )
    lash = ctx.layers.get(f"eyelash_{side}")
    if lash is not None and f"eyelash_{side}" in ctx.boxes:
        opaque = lash.image[..., 3] >= 128
        cols = np.nonzero(opaque.any(axis=0))[0]
        if len(cols) >= 3:
            sub = opaque[:, cols]
            first = np.argmax(sub, axis=0)
            rows = np.arange(sub.shape[0])[:, None]
            after = (rows > first[None, :]) & ~sub
            end = np.where(after.any(axis=0), np.argmax(after, axis=0), sub.shape[0])
            k = max(1, len(cols) // 15)
            edge = np.convolve(
                np.pad(end.astype(np.float64), k, mode="edge"), np.ones(2 * k + 1) / (2 * k + 1), "valid"
            )
            lines.lash_xs = lash.x + cols + 0.5
            lines.lash_edge = lash.y + edge
    return lines


def gen_blink(ctx: RigContext) -> list[Keyform]:
    """ParamEyeOpen x ParamEyeSmile (2 x 2 grid per part) of each eye.

    Closed (open 0): eyewhite and iris squash onto the lid line near the lower
    lash (tucked under the lash), the upper lash comes down onto it, the brow
    follows a little.  Smiling and closed: the same onto an upward arc, the
    lower lash rises to meet it.  Smiling with the eye open: a squint (the
    lower lid rises most of the way, the upper lid a little; the iris stays
    and the eyewhite clips it).
    """
    out = []
    for side in ("l", "r"):
        lines = eye_lines(ctx, side)
        if lines is None:
            continue
        tuck = TUCK_UNDER_LASH * lines.eye_h
        for tag, recipe in BLINK_RECIPE.items():
            mesh = ctx.mesh(f"{tag}_{side}")
            if mesh is None:
                continue
            v = mesh.vertices
            x, y = v[:, 0], v[:, 1]
            top, bottom = lines.top(x), lines.bottom(x)
            closed, happy, squint = np.zeros_like(v), np.zeros_like(v), np.zeros_like(v)
            if recipe == "collapse_to_lid":
                closed[:, 1] = lines.lid(x) - tuck - y
                happy[:, 1] = lines.arc(x) - tuck - y
                if tag == "eyewhite":  # top and bottom edges move in, linearly in between
                    t = np.clip((y - top) / np.maximum(bottom - top, 1.0), 0.0, 1.0)
                    squint[:, 1] = (1 - t) * SQUINT_UPPER * (lines.arc(x) - top) + t * SQUINT_LOWER * (
                        lines.arc(x) - bottom
                    )
            elif recipe == "lashes_to_lid":
                # Squash each column: the upper lash's lower edge (and the
                # lash above it) travels to the lid line, the eyewhite's bottom edge
                # (and the lower lash below it) stays (blink) or rises onto
                # the arc (smile), linearly in between, so a lash that wraps
                # round the corner bends instead of tearing.  Wings past the
                # corners taper.
                edge = lines.upper_edge(x)
                upper = np.clip((bottom - y) / np.maximum(bottom - edge, 1.0), 0.0, 1.0)
                taper = lines.taper(x)
                closed[:, 1] = taper * upper * (lines.lid(x) - edge)
                happy[:, 1] = taper * (
                    upper * (lines.arc(x) - edge) + (1.0 - upper) * (lines.arc(x) - bottom)
                )
                squint[:, 1] = taper * (
                    upper * SQUINT_UPPER * (lines.arc(x) - edge)
                    + (1.0 - upper) * SQUINT_LOWER * (lines.arc(x) - bottom)
                )
            elif recipe == "brow_follow":
                closed[:, 1] = BROW_BLINK_DROP * lines.eye_h
                happy[:, 1] = 0.5 * BROW_BLINK_DROP * lines.eye_h
            else:
                raise ValueError(f"unknown blink recipe {recipe!r}")
            # nodes: (open 0, smile 0), (0, 1), (1, 0) = rest, (1, 1)
            forms = np.stack([closed, happy, np.zeros_like(v), squint])
            out.append(
                Keyform(
                    mesh.id,
                    [f"ParamEye{side.upper()}Open", f"ParamEye{side.upper()}Smile"],
                    [[0.0, 1.0], [0.0, 1.0]],
                    forms,
                    owner="blink",
                )
            )
    for side in ("l", "r"):
        # A closed eye (drawn, or generated from the open one) is not squashed: it
        # fades in as the eye closes, and the open eye's parts fade out, so a
        # closed eye shows the lid line on skin and nothing of the open eye.
        lids = [lid for lid in closed_eye_layers(ctx.layers, side) if ctx.mesh(lid) is not None]
        if not lids:
            continue
        open_key = f"ParamEye{side.upper()}Open"
        for lid in lids:
            mesh = ctx.mesh(lid)
            out.append(
                Keyform(
                    mesh.id,
                    [open_key],
                    [list(CLOSED_EYE_KEYS)],
                    np.array(CLOSED_EYE_OPACITY, np.float64)[:, None],
                    owner="blink",
                    channel="opacity",
                )
            )
            # a generated lid bows into a smiling closed eye; a drawn one stays as drawn
            arch = _smiling_lid(ctx, side, mesh.vertices) if ctx.layers[lid].generated else None
            if arch is not None:
                out.append(
                    Keyform(
                        mesh.id,
                        [f"ParamEye{side.upper()}Smile"],
                        [[0.0, 1.0]],
                        np.stack([np.zeros_like(arch), arch]),
                        owner="blink",
                    )
                )
        for tag in EYE_PARTS:
            mesh = ctx.mesh(f"{tag}_{side}")
            if mesh is None:
                continue
            out.append(
                Keyform(
                    mesh.id,
                    [open_key],
                    [list(CLOSED_EYE_KEYS)],
                    np.array(OPEN_EYE_OPACITY, np.float64)[:, None],
                    owner="blink",
                    channel="opacity",
                )
            )
    return out


def _smiling_lid(ctx: RigContext, side: str, v: np.ndarray) -> np.ndarray | None:
    """Offsets that bow a closed lid line upwards in the middle (a smiling
    closed eye), its ends staying: a rise of SMILING_LID_RISE of the smiling
    arc of the eye."""
    box = ctx.eye_box(side)
    if box is None or len(v) == 0:
        return None
    eye_h = box[3] - box[1]
    x0, x1 = float(v[:, 0].min()), float(v[:, 0].max())
    u = (v[:, 0] - 0.5 * (x0 + x1)) / max(0.5 * (x1 - x0), 1.0)
    off = np.zeros_like(v)
    off[:, 1] = -SMILING_LID_RISE * ctx.controls.eye_smile_arc * eye_h * np.clip(1.0 - u**2, 0.0, 1.0)
    return off


def gen_gaze(ctx: RigContext) -> list[Keyform]:
    """ParamEyeBallX/Y: the irises slide inside the eyewhite (which clips them)."""
    out = []
    keys = [-1.0, 0.0, 1.0]
    for side in ("l", "r"):
        mesh = ctx.mesh(f"irides_{side}")
        box = ctx.boxes.get(f"eyewhite_{side}") or ctx.boxes.get(f"irides_{side}")
        if mesh is None or box is None:
            continue
        dx = ctx.controls.gaze_x * (box[2] - box[0])
        dy = ctx.controls.gaze_y * (box[3] - box[1])
        forms = []
        for bx in keys:
            for by in keys:
                off = np.zeros_like(mesh.vertices)
                off[:, 0] = bx * dx
                off[:, 1] = -by * dy  # +Y looks up
                forms.append(off)
        out.append(
            Keyform(mesh.id, ["ParamEyeBallX", "ParamEyeBallY"], [keys, keys], np.array(forms), owner="gaze")
        )
    return out


BLINK = Generator(
    "blink",
    gen_blink,
    (
        Control(
            "blink_line", 0.82, 0.3, 1.0, "closed lid line: 0 = eyewhite top, 1 = its bottom (lower lash)"
        ),
        Control("eye_smile_arc", 0.6, 0.0, 0.8, "rise of the smiling lid's middle, of the eye height"),
    ),
)
GAZE = Generator(
    "gaze",
    gen_gaze,
    (
        Control("gaze_x", 0.24, 0.0, 0.4, "iris travel, of the eyewhite width"),
        Control("gaze_y", 0.18, 0.0, 0.4, "iris travel, of the eyewhite height"),
    ),
)
