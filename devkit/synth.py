# SPDX-License-Identifier: GPL-3.0-or-later
"""Synthetic anime characters with ground-truth layers, varied like real art.

`make_character(seed, size=..., **overrides)` draws one character as complete
(amodal) layers in See-through tags, composites them and returns the same
`Sample` type as `devkit.sample` (image, canvas, layers with visible masks,
landmarks).  What varies (each drawn from `seed`, each overridable by name):

* hair: style ("bob", "long", "twin tails", "short"), fringe ("bangs", "parted",
  "swept"), side locks over the face or not, colour;
* skin tone, eye colour and size, line colour and weight, cel / soft / flat shading;
* accessories: glasses (eyewear), a ribbon or hair band (headwear);
* pose: head tilt and turn; framing: "portrait" or "full body";
* background: "plain", "gradient", "busy" or "transparent"; 256 to 2048 px.

Geometry is drawn in the 1024-unit design space of `devkit.sample` and mapped to
the canvas by an affine transform; the head group is tilted about the neck.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, fields, replace

import cv2
import numpy as np

from ..core.model.document import Canvas, Layer, layer_id
from ..core.stages.landmarks import FaceLandmarks
from .sample import (
    FACE_OUTLINE,
    Painter,
    Sample,
    catmull_rom,
    composite_layers,
    ellipse_points,
    sharp_path,
    shifted,
)

RGB = tuple[int, int, int]

# Choices, as data ----------------------------------------------------------
HAIR_STYLES = ("bob", "long", "twin tails", "short")
FRINGES = ("bangs", "parted", "swept")
SHADINGS = ("cel", "soft", "flat")
BACKGROUNDS = ("plain", "gradient", "busy", "transparent")
FRAMINGS = ("portrait", "full body")
SKIN_TONES: tuple[RGB, ...] = (
    (255, 233, 220),
    (252, 224, 206),
    (246, 214, 190),
    (255, 240, 232),
    (236, 196, 168),
    (214, 170, 138),
)
HAIR_COLOURS: tuple[RGB, ...] = (
    (132, 86, 72),
    (60, 48, 52),
    (236, 206, 140),
    (214, 96, 74),
    (120, 150, 214),
    (240, 170, 196),
    (220, 222, 230),
    (70, 92, 70),
    (156, 110, 196),
    (40, 40, 60),
)
EYE_COLOURS: tuple[RGB, ...] = (
    (92, 168, 232),
    (74, 160, 96),
    (190, 90, 60),
    (150, 96, 200),
    (220, 80, 100),
    (200, 160, 60),
    (90, 70, 60),
)
CLOTH_COLOURS: tuple[RGB, ...] = (
    (146, 174, 222),
    (60, 64, 92),
    (232, 232, 236),
    (196, 72, 84),
    (96, 150, 110),
    (240, 200, 120),
    (120, 96, 160),
)
LINE_COLOURS: tuple[RGB, ...] = ((46, 34, 40), (20, 20, 24), (90, 52, 50))
SIZE_RANGE = (256, 2048)
PIVOT = (512.0, 640.0)  # the head tilts about the top of the neck


@dataclass
class Spec:
    """Everything that varies between characters."""

    size: int = 768
    hair_style: str = "bob"
    fringe: str = "bangs"
    side_locks: bool = True
    hair_rgb: RGB = (132, 86, 72)
    skin_rgb: RGB = (255, 233, 220)
    eye_rgb: RGB = (92, 168, 232)
    cloth_rgb: RGB = (146, 174, 222)
    line_rgb: RGB = (46, 34, 40)
    line_width: float = 5.0  # design px
    shading: str = "cel"
    glasses: bool = False
    headwear: str | None = None  # None, "ribbon", "band"
    tilt: float = 0.0  # degrees, clockwise positive on screen
    turn: float = 0.0  # -1..1, + looks towards the image right
    eye_scale: float = 1.0
    eye_gap: float = 64.0  # half the distance between eye centres (design px)
    framing: str = "portrait"
    background: str = "plain"
    background_rgb: RGB = (238, 241, 247)
    seed: int = 0

    def validate(self) -> None:
        if not SIZE_RANGE[0] <= self.size <= SIZE_RANGE[1]:
            raise ValueError(
                f"synthetic characters are {SIZE_RANGE[0]} to {SIZE_RANGE[1]} px, got {self.size}"
            )
        for name, value, options in (
            ("hair_style", self.hair_style, HAIR_STYLES),
            ("fringe", self.fringe, FRINGES),
            ("shading", self.shading, SHADINGS),
            ("background", self.background, BACKGROUNDS),
            ("framing", self.framing, FRAMINGS),
        ):
            if value not in options:
                raise ValueError(f"unknown {name} {value!r}: choose one of {', '.join(options)}")
        if self.headwear not in (None, "ribbon", "band"):
            raise ValueError(f"unknown headwear {self.headwear!r}: choose None, 'ribbon' or 'band'")


def random_spec(seed: int, size: int = 768) -> Spec:
    """A varied spec drawn from `seed` (deterministic)."""
    r = np.random.default_rng(seed)

    def pick(options):
        return options[int(r.integers(len(options)))]

    style = pick(HAIR_STYLES)
    return Spec(
        size=size,
        hair_style=style,
        fringe=pick(FRINGES),
        side_locks=bool(r.random() < (0.3 if style == "short" else 0.7)),
        hair_rgb=pick(HAIR_COLOURS),
        skin_rgb=pick(SKIN_TONES),
        eye_rgb=pick(EYE_COLOURS),
        cloth_rgb=pick(CLOTH_COLOURS),
        line_rgb=pick(LINE_COLOURS),
        line_width=float(r.uniform(3.0, 7.0)),
        shading=pick(SHADINGS),
        glasses=bool(r.random() < 0.25),
        headwear=pick((None, None, "ribbon", "band")),
        tilt=float(r.uniform(-12, 12)) if r.random() < 0.6 else 0.0,
        turn=float(r.uniform(-0.5, 0.5)) if r.random() < 0.5 else 0.0,
        eye_scale=float(r.uniform(0.85, 1.15)),
        eye_gap=float(r.uniform(58, 70)),
        framing="full body" if r.random() < 0.25 else "portrait",
        background=pick(BACKGROUNDS),
        background_rgb=tuple(int(v) for v in r.integers(200, 250, 3)),
        seed=int(seed),
    )


# --------------------------------------------------------------------------- colour helpers
def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return tuple(int(round(x * (1 - t) + y * t)) for x, y in zip(a, b))


def _shade(c: RGB, f: float) -> RGB:
    """Darker (f < 1) or lighter (f > 1, towards white) version of a colour."""
    if f <= 1.0:
        return tuple(int(round(v * f)) for v in c)
    return _mix(c, (255, 255, 255), min(1.0, f - 1.0))


# --------------------------------------------------------------------------- geometry
class Frame:
    """Design space -> canvas: global scale/offset, head tilt and turn."""

    def __init__(self, spec: Spec):
        self.spec = spec
        if spec.framing == "portrait":
            self.s = spec.size / 1024.0
            self.off = np.array([0.0, 0.0])
        else:  # full body: the whole figure (design y 120..2300) fits the canvas
            self.s = spec.size / 2300.0
            self.off = np.array([spec.size / 2.0 - 512.0 * self.s, 0.02 * spec.size - 100 * self.s])
        a = np.deg2rad(spec.tilt)
        self.rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])

    def head(self, pts: np.ndarray) -> np.ndarray:
        """Turn then tilt a head-group point set (design px -> design px)."""
        p = np.asarray(pts, np.float64).copy()
        t = self.spec.turn
        if t:
            u = np.clip((p[:, 0] - 512.0) / 170.0, -1.0, 1.0)
            p[:, 0] += 30.0 * t * np.cos(0.5 * np.pi * u) ** 2 - 10.0 * t * u * u * np.sign(u) * np.sign(t)
        return (p - PIVOT) @ self.rot.T + PIVOT

    def px(self, pts: np.ndarray) -> np.ndarray:
        return np.asarray(pts, np.float64) * self.s + self.off


class SynthPainter(Painter):
    """A Painter whose points pass through a Frame (head group or body)."""

    def __init__(self, frame: Frame, box, head: bool):
        self.frame, self.is_head = frame, head
        size = frame.spec.size
        corners = np.array([[box[0], box[1]], [box[2], box[1]], [box[0], box[3]], [box[2], box[3]]], float)
        if head:
            corners = frame.head(corners)
        c = frame.px(corners)
        pad = 4
        self.size = size
        self.scale = frame.s
        self.ox = int(np.clip(np.floor(c[:, 0].min()) - pad, 0, size))
        self.oy = int(np.clip(np.floor(c[:, 1].min()) - pad, 0, size))
        self.w = max(1, int(np.clip(np.ceil(c[:, 0].max()) + pad, 0, size)) - self.ox)
        self.h = max(1, int(np.clip(np.ceil(c[:, 1].max()) + pad, 0, size)) - self.oy)
        self.rgb = np.zeros((self.h, self.w, 3), np.float32)
        self.alpha = np.zeros((self.h, self.w), np.float32)

    def _pts(self, pts) -> np.ndarray:
        p = np.asarray(pts, np.float64)[:, :2]
        if self.is_head:
            p = self.frame.head(p)
        p = self.frame.px(p) - (self.ox, self.oy)
        return np.round(p * (1 << self.SHIFT)).astype(np.int32)

    def shade_y(self, mask, top: RGB, bottom: RGB, y0: float, y1: float) -> None:
        """Vertical gradient tint (soft shading) in canvas space."""
        ys = np.arange(self.h, dtype=np.float32) + self.oy - self.frame.px([[0, y0]])[0, 1]
        t = np.clip(ys / max((y1 - y0) * self.scale, 1e-6), 0, 1)[:, None, None]
        grad = (np.asarray(top, np.float32) * (1 - t) + np.asarray(bottom, np.float32) * t) / 255.0
        self.rgb = self.rgb * (1.0 - mask[..., None]) + grad * mask[..., None]

    def offset(self, mask: np.ndarray, dx: float, dy: float) -> np.ndarray:
        return np.clip(shifted(mask, dx * self.scale, dy * self.scale), 0, 1)


def _mirror(pts, cx: float = 512.0):
    return [(2 * cx - p[0],) + tuple(p[1:]) for p in reversed(pts)]


def _shadow(p: SynthPainter, spec: Spec, mask: np.ndarray, colour: RGB, soft_px: float = 10.0) -> None:
    """A shadow region in the character's shading style."""
    if spec.shading == "flat":
        return
    if spec.shading == "soft":
        mask = cv2.GaussianBlur(mask, (0, 0), max(0.8, soft_px * p.scale)) * (p.alpha > 0)
    p.tint(mask, colour)


def _outline(
    p: SynthPainter,
    spec: Spec,
    pts,
    width_factor: float = 1.0,
    closed: bool = True,
    colour: RGB | None = None,
) -> None:
    p.over(p.stroke_mask(pts, spec.line_width * width_factor, closed=closed), colour or spec.line_rgb)


# --------------------------------------------------------------------------- hair shapes
def back_hair_path(spec: Spec) -> list[tuple[float, float, bool]]:
    top = [(512, 150, False), (624, 164, False), (712, 230, False), (752, 340, False)]
    if spec.hair_style == "short":
        right = [(756, 420, False), (744, 500, False), (724, 560, True), (690, 540, False), (660, 560, False)]
        centre = [(512, 580, False)]
    elif spec.hair_style == "long":
        right = [
            (772, 480, False),
            (792, 640, False),
            (812, 800, False),
            (830, 930, True),
            (790, 910, False),
            (760, 950, True),
            (730, 880, False),
            (700, 760, False),
            (676, 660, False),
        ]
        centre = [(512, 668, False)]
    else:  # bob and the back of twin tails
        right = [
            (764, 480, False),
            (772, 620, False),
            (796, 760, True),
            (752, 736, False),
            (724, 770, True),
            (704, 700, False),
            (676, 640, False),
        ]
        centre = [(512, 660, False)]
    left = [(1024 - x, y, s) for x, y, s in reversed(right)]
    left_top = [(1024 - x, y, s) for x, y, s in reversed(top[1:])]
    return top + right + centre + left + left_top


def twin_tail_path(side: str) -> list[tuple[float, float, bool]]:
    o = 1.0 if side == "l" else -1.0
    pts = [
        (740, 250, True),
        (800, 300, False),
        (850, 420, False),
        (870, 580, False),
        (860, 760, False),
        (830, 900, True),
        (812, 820, False),
        (790, 880, True),
        (786, 760, False),
        (790, 600, False),
        (770, 420, False),
        (730, 320, False),
    ]
    return [(512 + o * (x - 512), y, s) for x, y, s in pts]


def front_hair_path(spec: Spec, rng: np.random.Generator) -> list[tuple[float, float, bool]]:
    crown_r = [(512, 138, False), (620, 154, False), (704, 214, False), (742, 318, False)]
    if spec.side_locks:
        length = {"short": 600, "bob": 716, "twin tails": 716, "long": 800}[spec.hair_style]
        side_r = [
            (744, 430, False),
            (730, 540, False),
            (706, length - 70, False),
            (678, length, True),
            (660, length - 90, False),
            (648, 520, False),
            (640, 420, False),
            (632, 360, True),
        ]
    else:
        side_r = [(738, 380, False), (716, 440, True), (690, 400, False), (660, 370, False), (632, 360, True)]
    # fringe strands from the image right to the image left
    n = int(rng.integers(5, 8))
    xs = np.linspace(616, 408, n)
    fringe = []
    for i, x in enumerate(xs):
        u = (x - 512.0) / 110.0
        if spec.fringe == "parted":
            tip = 350 + 50 * abs(u)
        elif spec.fringe == "swept":
            tip = 392 + 34 * u
        else:
            tip = 398 - 22 * (i % 2)
        tip += float(rng.uniform(-8, 8))
        lean = 10.0 if spec.fringe == "swept" else 0.0
        valley = 326 + float(rng.uniform(-8, 8)) - (20 if spec.fringe == "parted" and abs(u) < 0.3 else 0)
        half = (xs[0] - xs[1]) / 2.0
        fringe += [
            (x + half * 0.55, valley + 10, False),
            (x + half * 0.2 + lean, tip - 24, False),
            (x + lean, tip, True),
            (x - half * 0.3, valley + 24, False),
        ]
    fringe.append((396, 362, True))
    side_l = [(1024 - x, y, s) for x, y, s in reversed(side_r)]
    crown_l = [(1024 - x, y, s) for x, y, s in reversed(crown_r[1:])]
    return crown_r + side_r + fringe + side_l + crown_l


# --------------------------------------------------------------------------- parts
def _eye_geometry(spec: Spec, side: str) -> dict[str, np.ndarray]:
    o = 1.0 if side == "l" else -1.0
    cx, cy = 512 + o * spec.eye_gap, 490.0
    k = spec.eye_scale

    def P(pts):
        return [(cx + o * u * k, cy + v * k) for u, v in pts]

    upper = [(-40, 2), (-30, -20), (-10, -32), (14, -33), (34, -24), (44, -8)]
    lower = [(44, -8), (38, 12), (18, 26), (-8, 27), (-28, 17), (-40, 2)]
    white = catmull_rom(P(upper + lower[1:-1]), closed=True, per_segment=10)
    upper_curve = catmull_rom(P(upper), closed=False, per_segment=10)
    lift = np.linspace(3.0, 12.0, len(upper_curve)) * k * spec.line_width / 5.0
    lash_top = upper_curve.copy()
    lash_top[:, 1] -= lift
    lash_bottom = upper_curve[::-1].copy()
    lash_bottom[:, 1] += 3.0
    wing = np.array(P([(52, -18), (47, -6), (40, 0)]))
    lash = np.vstack([lash_top, wing, lash_bottom])
    lower_lash = catmull_rom(P([(40, 2), (36, 12), (22, 22)]), closed=False, per_segment=8)
    brow_top = catmull_rom(P([(-30, -64), (-6, -76), (20, -78), (44, -70)]), closed=False)
    brow_bottom = catmull_rom(P([(46, -66), (20, -72), (-6, -70), (-30, -60)]), closed=False)
    return {
        "white": white,
        "upper": upper_curve,
        "lash": lash,
        "lower_lash": lower_lash,
        "brow": np.vstack([brow_top, brow_bottom]),
        "iris_c": np.array([cx - o * 3 * k, cy + k]),
        "iris_r": np.array([25.0 * k, 31.0 * k]),
        "box": (cx - 90 * k, cy - 100 * k, cx + 90 * k, cy + 60 * k),
    }


def _draw_layers(spec: Spec) -> tuple[list[Layer], dict[str, np.ndarray]]:
    fr = Frame(spec)
    line = spec.line_rgb
    hair, skin = spec.hair_rgb, spec.skin_rgb
    hair_dark = _shade(hair, 0.74)
    skin_shadow = _mix(skin, (214, 120, 120), 0.22)
    layers: list[Layer] = []
    geo: dict[str, np.ndarray] = {}

    def head_painter(box):
        return SynthPainter(fr, box, head=True)

    def body_painter(box):
        return SynthPainter(fr, box, head=False)

    # back hair (and twin tails, which are back hair too)
    p = head_painter((180, 120, 880, 980))
    path = sharp_path(back_hair_path(spec))
    body = p.poly_mask(path)
    paths = [path]
    if spec.hair_style == "twin tails":
        for side in ("l", "r"):
            tp = sharp_path(twin_tail_path(side))
            body = np.maximum(body, p.poly_mask(tp))
            paths.append(tp)
    p.over(body, _shade(hair, 0.86))
    _shadow(p, spec, p.ellipse_mask((512, 560), (150, 130)) * body, _shade(hair, 0.7), 20)
    for pth in paths:
        _outline(p, spec, pth)
    layers.append(p.to_layer("back hair"))

    # body: neck, topwear (and lower body for full figures)
    p = head_painter((430, 560, 600, 860))
    neck = catmull_rom(
        [(470, 590), (554, 590), (558, 700), (566, 760), (560, 840), (464, 840), (458, 760), (466, 700)],
        closed=True,
        per_segment=6,
    )
    # the neck is not tilted with the head below the jaw: draw it upright
    p.is_head = False
    nb = p.poly_mask(neck)
    p.over(nb, skin)
    p.is_head = True
    _shadow(
        p,
        spec,
        np.clip(p.offset(p.poly_mask(catmull_rom(FACE_OUTLINE, True)), 0, 30), 0, 1) * nb,
        skin_shadow,
        6,
    )
    p.is_head = False
    for side_pts in ([(470, 600), (466, 700), (458, 744)], [(554, 600), (558, 700), (566, 744)]):
        _outline(p, spec, catmull_rom(side_pts, False), 0.8, closed=False)
    layers.append(p.to_layer("neck"))

    if spec.framing == "full body":
        p = body_painter((300, 1300, 724, 2300))
        legs = [
            catmull_rom([(440, 1350), (436, 1800), (448, 2230), (496, 2230), (500, 1800), (504, 1350)], True),
            catmull_rom([(520, 1350), (524, 1800), (528, 2230), (576, 2230), (588, 1800), (584, 1350)], True),
        ]
        for lg in legs:
            p.over(p.poly_mask(lg), _shade(spec.cloth_rgb, 0.5))
            _outline(p, spec, lg)
        layers.append(p.to_layer("legwear"))
    p = body_painter((120, 690, 904, 1024 if spec.framing == "portrait" else 1420))
    if spec.framing == "portrait":
        tw = [
            (458, 716, True),
            (400, 734, False),
            (300, 762, False),
            (214, 812, False),
            (168, 900, False),
            (150, 1060, True),
            (874, 1060, True),
            (856, 900, False),
            (810, 812, False),
            (724, 762, False),
            (624, 734, False),
            (566, 716, True),
            (512, 812, True),
        ]
    else:
        tw = [
            (458, 716, True),
            (360, 740, False),
            (300, 800, False),
            (290, 1000, False),
            (330, 1200, False),
            (300, 1400, True),
            (724, 1400, True),
            (694, 1200, False),
            (734, 1000, False),
            (724, 800, False),
            (664, 740, False),
            (566, 716, True),
            (512, 812, True),
        ]
    tpath = sharp_path(tw)
    tb = p.poly_mask(tpath)
    cloth = spec.cloth_rgb
    p.over(tb, cloth)
    _shadow(
        p,
        spec,
        p.poly_mask(
            catmull_rom(
                [
                    (330, 752),
                    (440, 730),
                    (512, 850),
                    (584, 730),
                    (694, 752),
                    (640, 790),
                    (512, 880),
                    (384, 790),
                ],
                True,
            )
        )
        * tb,
        _shade(cloth, 0.8),
        12,
    )
    p.tint(p.stroke_mask([(512, 840), (512, 1040)], spec.line_width * 0.6) * tb, line)
    collar_r = [(458, 714, True), (512, 812, True), (470, 846, True), (430, 770, False), (404, 738, True)]
    collar_rgb = (250, 250, 252) if sum(cloth) < 600 else (60, 64, 92)
    for pts in (collar_r, [(1024 - x, y, s) for x, y, s in collar_r]):
        cp = sharp_path(pts)
        p.over(p.poly_mask(cp), collar_rgb)
        _outline(p, spec, cp, 0.8)
    _outline(p, spec, tpath)
    layers.append(p.to_layer("topwear"))

    # ears (visible with short hair or without side locks)
    for side in ("r", "l"):
        o = 1.0 if side == "l" else -1.0
        cx = 512 + o * 138
        p = head_painter((cx - 44, 436, cx + 44, 550))
        pts = ellipse_points((cx, 492), (22, 40), angle=-o * 12)
        eb = p.poly_mask(pts)
        p.over(eb, skin)
        _shadow(p, spec, p.ellipse_mask((cx + o * 4, 494), (10, 24), angle=-o * 12) * eb, skin_shadow, 4)
        _outline(p, spec, pts, 0.8)
        layers.append(p.to_layer("ears", side))

    # face
    p = head_painter((340, 220, 690, 700))
    fpath = catmull_rom(FACE_OUTLINE, True)
    fb = p.poly_mask(fpath)
    p.over(fb, skin)
    fringe_path = sharp_path(front_hair_path(spec, np.random.default_rng(spec.seed + 31)))
    _shadow(p, spec, p.offset(p.poly_mask(fringe_path), 6, 22) * fb, skin_shadow, 6)
    blush = np.zeros_like(fb)
    for bx in (512 - 1.3 * spec.eye_gap, 512 + 1.3 * spec.eye_gap):
        blush = np.maximum(blush, p.ellipse_mask((bx, 562), (34, 16)))
    p.tint(cv2.GaussianBlur(blush, (0, 0), max(0.5, 6.0 * p.scale)) * 0.5 * fb, (255, 170, 170))
    _outline(
        p,
        spec,
        catmull_rom(FACE_OUTLINE[4:13], closed=False),
        0.8,
        closed=False,
        colour=_mix(line, skin, 0.25),
    )
    layers.append(p.to_layer("face"))

    eyes = {side: _eye_geometry(spec, side) for side in ("l", "r")}
    for side in ("r", "l"):
        e = eyes[side]
        p = head_painter(e["box"])
        wb = p.poly_mask(e["white"])
        p.over(wb, (255, 255, 255))
        _shadow(
            p, spec, p.offset(p.stroke_mask(e["upper"], 14 * spec.eye_scale), 0, 6) * wb, (214, 218, 236), 3
        )
        white = p.to_layer("eyewhite", side)
        p = head_painter(e["box"])
        (cx, cy), (rx, ry) = e["iris_c"], e["iris_r"]
        disc = p.ellipse_mask((cx, cy), (rx, ry))
        iris = spec.eye_rgb
        p.over(disc, iris)
        p.shade_y(disc, _shade(iris, 0.45), iris, cy - ry, cy + 0.7 * ry)
        p.tint(p.ellipse_mask((cx, cy + 3), (0.44 * rx, 0.48 * ry)) * disc, _shade(iris, 0.25))
        p.over(p.stroke_mask(ellipse_points((cx, cy), (rx, ry)), 3, True), _shade(iris, 0.3))
        o = 1.0 if side == "l" else -1.0
        p.over(p.ellipse_mask((cx + o * 0.36 * rx, cy - 0.42 * ry), (0.32 * rx, 0.23 * ry)), (255, 255, 255))
        p.over(p.ellipse_mask((cx - o * 0.4 * rx, cy + 0.45 * ry), (0.14 * rx, 0.11 * ry)), (255, 255, 255))
        iris_layer = p.to_layer("irides", side, clip_to=layer_id("eyewhite", side))
        layers += [white, iris_layer]
    for side in ("r", "l"):
        e = eyes[side]
        p = head_painter(e["box"])
        p.over(p.poly_mask(e["lash"]), _shade(line, 1.0))
        p.over(p.stroke_mask(e["lower_lash"], 3), line)
        layers.append(p.to_layer("eyelash", side))
    brow_rgb = _mix(_shade(hair, 0.7), line, 0.3)
    for side in ("r", "l"):
        e = eyes[side]
        p = head_painter(e["box"])
        p.over(p.poly_mask(e["brow"]), brow_rgb)
        layers.append(p.to_layer("eyebrow", side))
    p = head_painter((486, 526, 546, 594))
    p.over(p.poly_mask(catmull_rom([(514, 550), (520, 570), (508, 574), (512, 566)], True)), skin_shadow)
    layers.append(p.to_layer("nose"))
    p = head_painter((466, 586, 564, 634))
    top = catmull_rom([(488, 606), (500, 611), (512, 612), (524, 611), (538, 604)], False)
    bottom = catmull_rom([(536, 609), (524, 617), (512, 619), (500, 617), (490, 611)], False)
    p.over(p.poly_mask(np.vstack([top, bottom])), _mix((160, 66, 70), line, 0.2))
    layers.append(p.to_layer("mouth"))

    if spec.glasses:
        p = head_painter((380, 420, 650, 560))
        frame_rgb = _pick_frame(spec)
        for side in ("r", "l"):
            e = eyes[side]
            c = (e["iris_c"][0], 492)
            rim = ellipse_points(c, (54 * spec.eye_scale, 38 * spec.eye_scale))
            p.over(p.poly_mask(rim) * 0.18, (200, 225, 255))
            p.over(p.stroke_mask(rim, 4.5, True), frame_rgb)
        gap = spec.eye_gap
        p.over(
            p.stroke_mask(catmull_rom([(512 - gap + 52, 486), (512, 478), (512 + gap - 52, 486)], False), 4),
            frame_rgb,
        )
        layers.append(p.to_layer("eyewear"))

    # front hair
    p = head_painter((250, 110, 780, 900))
    fh = p.poly_mask(fringe_path)
    p.over(fh, hair)
    for pts in (
        [(430, 250), (446, 330), (444, 390)],
        [(520, 240), (512, 300), (516, 360)],
        [(596, 250), (580, 320), (584, 370)],
        [(676, 380), (668, 520), (670, 640)],
        [(348, 380), (356, 520), (354, 640)],
    ):
        _shadow(p, spec, p.stroke_mask(catmull_rom(pts, False), 16) * fh * 0.9, hair_dark, 6)
    if spec.shading != "flat":
        ring = np.clip(p.ellipse_mask((512, 272), (170, 96)) - p.ellipse_mask((512, 262), (154, 80)), 0, 1)
        ring *= p.poly_mask([(330, 150), (694, 150), (694, 262), (330, 262)])
        p.tint(ring * fh * 0.8, _shade(hair, 1.35))
    for pts in (
        [(512, 170), (500, 250), (476, 330)],
        [(512, 170), (540, 250), (566, 318)],
        [(464, 170), (404, 250), (400, 356)],
        [(560, 170), (620, 250), (640, 362)],
    ):
        p.tint(p.stroke_mask(catmull_rom(pts, False), 0.6 * spec.line_width) * fh, _mix(line, hair, 0.3))
    _outline(p, spec, fringe_path)
    layers.append(p.to_layer("front hair"))

    if spec.headwear == "ribbon":
        p = head_painter((600, 120, 780, 300))
        bow = [
            catmull_rom([(690, 200), (740, 150), (770, 190), (740, 240)], True),
            catmull_rom([(690, 200), (640, 150), (610, 190), (640, 240)], True),
        ]
        rib = _pick_accent(spec)
        for b in bow:
            p.over(p.poly_mask(b), rib)
            _shadow(p, spec, p.offset(p.poly_mask(b), 0, 14) * p.poly_mask(b), _shade(rib, 0.78), 3)
            _outline(p, spec, b, 0.8)
        knot = ellipse_points((690, 200), (16, 20))
        p.over(p.poly_mask(knot), _shade(rib, 0.9))
        _outline(p, spec, knot, 0.8)
        layers.append(p.to_layer("headwear"))
    elif spec.headwear == "band":
        p = head_painter((320, 150, 710, 280))
        band_pts = catmull_rom([(338, 262), (400, 196), (512, 170), (624, 196), (690, 262)], False)
        rib = _pick_accent(spec)
        p.over(p.stroke_mask(band_pts, 22), rib)
        p.over(p.stroke_mask(band_pts, 6) * 0.5, _shade(rib, 1.3))
        layers.append(p.to_layer("headwear"))
    geo["eyes"] = eyes
    geo["frame"] = fr
    return layers, geo


def _pick_frame(spec: Spec) -> RGB:
    return ((40, 40, 48), (150, 40, 50), (120, 90, 60))[spec.seed % 3]


def _pick_accent(spec: Spec) -> RGB:
    return ((220, 60, 80), (250, 250, 250), (60, 90, 200), (250, 200, 60))[spec.seed % 4]


# --------------------------------------------------------------------------- backgrounds
def _background(spec: Spec) -> np.ndarray | None:
    n = spec.size
    if spec.background == "transparent":
        return None
    base = np.asarray(spec.background_rgb, np.float32)
    if spec.background == "plain":
        return np.broadcast_to(base, (n, n, 3)).copy()
    t = np.linspace(0.0, 1.0, n, dtype=np.float32)[:, None, None]
    other = np.asarray(_mix(spec.background_rgb, (150, 170, 220), 0.5), np.float32)
    bg = base * (1 - t) + other * t + np.zeros((1, n, 1), np.float32)
    if spec.background == "gradient":
        return bg
    # busy: soft blobs, stripes and small shapes in other colours
    r = np.random.default_rng(spec.seed + 101)
    img = bg.astype(np.uint8).copy()
    for _ in range(14):
        c = tuple(int(v) for v in r.integers(60, 255, 3))
        centre = (int(r.integers(0, n)), int(r.integers(0, n)))
        rad = int(r.integers(n // 20, n // 6))
        if r.random() < 0.5:
            cv2.circle(img, centre, rad, c, -1, cv2.LINE_AA)
        else:
            cv2.rectangle(img, centre, (centre[0] + rad, centre[1] + 2 * rad), c, -1, cv2.LINE_AA)
    for k in range(0, n, max(8, n // 24)):
        cv2.line(img, (k, 0), (0, k), (255, 255, 255), max(1, n // 200), cv2.LINE_AA)
    return img.astype(np.float32)


def _composite_over(image: np.ndarray, bg: np.ndarray) -> np.ndarray:
    a = image[..., 3:4].astype(np.float32) / 255.0
    rgb = image[..., :3].astype(np.float32) * a + bg * (1 - a)
    out = np.dstack([np.clip(np.rint(rgb), 0, 255), np.full(image.shape[:2], 255)])
    return out.astype(np.uint8)


# --------------------------------------------------------------------------- landmarks
def _box_px(pts: np.ndarray) -> tuple[int, int, int, int]:
    return (
        int(np.floor(pts[:, 0].min())),
        int(np.floor(pts[:, 1].min())),
        int(np.ceil(pts[:, 0].max())),
        int(np.ceil(pts[:, 1].max())),
    )


def _landmarks(spec: Spec, geo) -> FaceLandmarks:
    fr: Frame = geo["frame"]
    eyes = geo["eyes"]

    def H(pts):
        return fr.px(fr.head(np.asarray(pts, np.float64)))

    eb = {s: _box_px(H(np.vstack([eyes[s]["white"], eyes[s]["lash"]]))) for s in eyes}
    face = H(np.asarray(FACE_OUTLINE, float))
    nose = H([[514, 566]])[0]
    mouth = _box_px(H([[488, 604], [538, 604], [488, 619], [538, 619]]))
    chin = H([[512, 664]])[0]
    return FaceLandmarks(
        face_box=_box_px(face),
        eye_l=eb["l"],
        eye_r=eb["r"],
        nose=(int(round(nose[0])), int(round(nose[1]))),
        mouth=mouth,
        chin=(int(round(chin[0])), int(round(chin[1]))),
        skin_rgb=spec.skin_rgb,
        hair_rgb=spec.hair_rgb,
        source="ground truth",
        confidence=1.0,
        brow_l=_box_px(H(eyes["l"]["brow"])),
        brow_r=_box_px(H(eyes["r"]["brow"])),
        iris_rgb_l=spec.eye_rgb,
        iris_rgb_r=spec.eye_rgb,
    )


# --------------------------------------------------------------------------- entry point
def make_character(seed: int, size: int = 768, **overrides) -> Sample:
    """A synthetic character drawn from `seed`; any `Spec` field may be overridden
    (e.g. ``hair_style="twin tails", background="transparent"``)."""
    names = {f.name for f in fields(Spec)}
    unknown = set(overrides) - names
    if unknown:
        raise ValueError(
            f"unknown character option(s) {', '.join(sorted(unknown))}: "
            f"choose from {', '.join(sorted(names))}"
        )
    spec = replace(random_spec(int(seed), int(size)), **overrides)
    spec.size = int(spec.size)
    spec.validate()
    return copy.deepcopy(_make_cached(spec_key(spec)))


def spec_key(spec: Spec) -> tuple:
    return tuple(getattr(spec, f.name) for f in fields(Spec))


@functools.lru_cache(maxsize=8)
def _make_cached(key: tuple) -> Sample:
    spec = Spec(*key)
    return draw_character(spec)


def draw_character(spec: Spec) -> Sample:
    """Draw `spec` (no randomness beyond its seed) into a Sample."""
    spec.validate()
    layers, geo = _draw_layers(spec)
    canvas = Canvas(spec.size, spec.size)
    image, visible = composite_layers(layers, canvas, None)
    for layer in layers:
        h, w = layer.image.shape[:2]
        layer.visible_mask = visible[layer.id][layer.y : layer.y + h, layer.x : layer.x + w].copy()
    bg = _background(spec)
    background = None
    if bg is not None:
        image = _composite_over(image, bg)
        background = spec.background_rgb if spec.background == "plain" else None
    lm = _landmarks(spec, geo)
    sample = Sample(image=image, canvas=canvas, layers=layers, landmarks=lm, background=background)
    sample.spec = spec  # what was drawn, for reports
    return sample
