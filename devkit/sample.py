# SPDX-License-Identifier: GPL-3.0-or-later
"""The sample character: an anime head-and-shoulders portrait drawn in code.

It is the product's demo face and the ground truth of the decomposition
tests: every part is drawn as its own complete (amodal) layer, the layers are
composited back to front into `Sample.image`, and each layer records where it
is visible in that image.

Run ``python scripts/make_sample.py [out.png] [size]`` to write
``samples/sample.png``.
"""

from __future__ import annotations

import copy
import functools
import os
from dataclasses import dataclass
from collections.abc import Sequence

import cv2
import numpy as np

from ..core.model.document import Canvas, Layer, layer_id
from ..core.stages.landmarks import FaceLandmarks

RGB = tuple[int, int, int]

# Palette: templates as data.
PALETTE: dict[str, RGB] = {
    "background": (238, 241, 247),
    "skin": (255, 233, 220),
    "skin_shadow": (243, 196, 184),
    "skin_line": (150, 92, 82),
    "blush": (255, 170, 170),
    "hair": (132, 86, 72),
    "hair_shadow": (100, 62, 56),
    "hair_back": (104, 66, 58),
    "hair_highlight": (184, 132, 112),
    "hair_line": (56, 32, 32),
    "eyewhite": (255, 255, 255),
    "eyewhite_shadow": (214, 218, 236),
    "iris_top": (36, 52, 120),
    "iris_bottom": (92, 168, 232),
    "pupil": (22, 26, 64),
    "iris_line": (28, 34, 80),
    "lash": (48, 30, 36),
    "brow": (92, 58, 52),
    "nose": (214, 150, 138),
    "mouth": (160, 66, 70),
    "shirt": (146, 174, 222),
    "shirt_shadow": (112, 138, 194),
    "collar": (250, 250, 252),
    "collar_shadow": (212, 218, 232),
    "cloth_line": (46, 48, 74),
}

# Layer geometry lives in a 1024 x 1024 design space and is scaled to `size`.
DESIGN = 1024.0
EYE_CENTRES = {"r": (448.0, 490.0), "l": (576.0, 490.0)}  # character's right eye = image left
OUTWARD = {"r": -1.0, "l": 1.0}  # image-x direction pointing away from the nose


@dataclass
class Sample:
    image: np.ndarray  # (H, W, 4) uint8, straight alpha
    canvas: Canvas
    layers: list[Layer]  # ground truth, back to front, complete images + visible_mask
    landmarks: FaceLandmarks
    background: RGB | None = None  # None when transparent

    def layer(self, lid: str) -> Layer:
        for layer in self.layers:
            if layer.id == lid:
                return layer
        raise KeyError(lid)


# --------------------------------------------------------------------------- curves
def catmull_rom(points: Sequence[tuple[float, float]], closed: bool, per_segment: int = 12) -> np.ndarray:
    """A smooth curve through `points` (centripetal-free uniform Catmull-Rom)."""
    p = np.asarray(points, np.float64)
    n = len(p)
    if n < 3:
        return p
    if closed:
        ext = np.vstack([p[-1], p, p[0], p[1]])
        segments = n
    else:
        ext = np.vstack([p[0], p, p[-1]])
        segments = n - 1
    t = np.linspace(0.0, 1.0, per_segment, endpoint=False)[:, None]
    out = []
    for i in range(segments):
        p0, p1, p2, p3 = ext[i], ext[i + 1], ext[i + 2], ext[i + 3]
        out.append(
            0.5
            * (
                (2 * p1)
                + (-p0 + p2) * t
                + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2
                + (-p0 + 3 * p1 - 3 * p2 + p3) * t**3
            )
        )
    if not closed:
        out.append(p[-1][None])
    return np.vstack(out)


def sharp_path(points: Sequence[tuple[float, float, bool]], per_segment: int = 10) -> np.ndarray:
    """Closed outline through (x, y, sharp) points: smooth runs between sharp corners
    (hair strand tips)."""
    pts = list(points)
    first_sharp = next(i for i, p in enumerate(pts) if p[2])
    pts = pts[first_sharp:] + pts[:first_sharp]
    pts.append(pts[0])
    out = []
    run = [pts[0][:2]]
    for p in pts[1:]:
        run.append(p[:2])
        if p[2]:
            out.append(catmull_rom(run, closed=False, per_segment=per_segment)[:-1])
            run = [p[:2]]
    return np.vstack(out)


# --------------------------------------------------------------------------- raster
class Painter:
    """Full-canvas straight-alpha float layer with AA shape and stroke helpers."""

    SHIFT = 4  # sub-pixel bits for OpenCV drawing

    def __init__(self, size: int, box: tuple[float, float, float, float] | None = None):
        """`box` (design px) bounds everything this layer draws; smaller is faster."""
        self.size = size
        self.scale = size / DESIGN
        x0, y0, x1, y1 = box if box is not None else (0, 0, DESIGN, DESIGN)
        self.ox = max(0, int(np.floor(x0 * self.scale)))
        self.oy = max(0, int(np.floor(y0 * self.scale)))
        self.w = min(size, int(np.ceil(x1 * self.scale))) - self.ox
        self.h = min(size, int(np.ceil(y1 * self.scale))) - self.oy
        self.rgb = np.zeros((self.h, self.w, 3), np.float32)
        self.alpha = np.zeros((self.h, self.w), np.float32)

    # shape masks, float 0..1 -------------------------------------------------
    def _pts(self, pts: np.ndarray) -> np.ndarray:
        p = np.asarray(pts, np.float64) * self.scale - (self.ox, self.oy)
        return np.round(p * (1 << self.SHIFT)).astype(np.int32)

    def _blank(self) -> np.ndarray:
        return np.zeros((self.h, self.w), np.uint8)

    def poly_mask(self, pts) -> np.ndarray:
        m = self._blank()
        cv2.fillPoly(m, [self._pts(pts)], 255, cv2.LINE_AA, self.SHIFT)
        return m.astype(np.float32) / 255.0

    def stroke_mask(self, pts, width: float, closed: bool = False) -> np.ndarray:
        m = self._blank()
        thick = max(1, int(round(width * self.scale)))
        cv2.polylines(m, [self._pts(pts)], closed, 255, thick, cv2.LINE_AA, self.SHIFT)
        return m.astype(np.float32) / 255.0

    def ellipse_mask(self, centre, axes, angle: float = 0.0) -> np.ndarray:
        pts = ellipse_points(centre, axes, angle)
        return self.poly_mask(pts)

    # painting ----------------------------------------------------------------
    def over(self, mask: np.ndarray, colour) -> None:
        """Paint `colour` with coverage `mask` over this layer (grows its alpha)."""
        c = np.asarray(colour, np.float32) / 255.0
        a0 = self.alpha
        a = mask + a0 * (1.0 - mask)
        safe = np.maximum(a, 1e-6)
        self.rgb = (c * mask[..., None] + self.rgb * (a0 * (1.0 - mask))[..., None]) / safe[..., None]
        self.alpha = a

    def tint(self, mask: np.ndarray, colour) -> None:
        """Recolour inside the existing alpha only (cel shading, details)."""
        c = np.asarray(colour, np.float32) / 255.0
        self.rgb = self.rgb * (1.0 - mask[..., None]) + c * mask[..., None]

    def tint_gradient(self, mask: np.ndarray, top, bottom, y0: float, y1: float) -> None:
        ys = ((np.arange(self.h, dtype=np.float32) + self.oy) / self.scale - y0) / max(y1 - y0, 1e-6)
        t = np.clip(ys, 0.0, 1.0)[:, None, None]
        grad = (np.asarray(top, np.float32) * (1 - t) + np.asarray(bottom, np.float32) * t) / 255.0
        self.rgb = self.rgb * (1.0 - mask[..., None]) + grad * mask[..., None]

    def to_layer(self, tag: str, side: str = "", role: str = "", clip_to: str | None = None) -> Layer:
        rgba = np.dstack([self.rgb * 255.0, self.alpha * 255.0])
        rgba = np.clip(np.rint(rgba), 0, 255).astype(np.uint8)
        rgba[rgba[..., 3] == 0, :3] = 0
        ys, xs = np.nonzero(rgba[..., 3])
        if len(xs) == 0:
            raise ValueError(f"sample layer {tag!r} is empty")
        x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
        return Layer(
            id=layer_id(tag, side, role),
            tag=tag,
            image=rgba[y0:y1, x0:x1].copy(),
            x=int(x0) + self.ox,
            y=int(y0) + self.oy,
            side=side,
            role=role,
            clip_to=clip_to,
        )


def ellipse_points(centre, axes, angle: float = 0.0, n: int = 72) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    x = axes[0] * np.cos(t)
    y = axes[1] * np.sin(t)
    a = np.deg2rad(angle)
    return np.stack(
        [centre[0] + x * np.cos(a) - y * np.sin(a), centre[1] + x * np.sin(a) + y * np.cos(a)], axis=1
    )


def shifted(mask: np.ndarray, dx: float, dy: float) -> np.ndarray:
    m = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(mask, m, (mask.shape[1], mask.shape[0]), flags=cv2.INTER_LINEAR)


# --------------------------------------------------------------------------- shapes (design px)
FACE_OUTLINE = [
    (512, 250),
    (584, 258),
    (636, 300),
    (652, 380),
    (652, 460),
    (644, 530),
    (622, 590),
    (576, 638),
    (512, 664),
    (448, 638),
    (402, 590),
    (380, 530),
    (372, 460),
    (372, 380),
    (388, 300),
    (440, 258),
]

BACK_HAIR = [
    (512, 150, False),
    (624, 164, False),
    (712, 230, False),
    (752, 340, False),
    (764, 480, False),
    (772, 620, False),
    (796, 760, True),
    (752, 736, False),
    (724, 770, True),
    (704, 700, False),
    (676, 640, False),
    (512, 660, False),
    (348, 640, False),
    (320, 700, False),
    (300, 770, True),
    (272, 736, False),
    (228, 760, True),
    (252, 620, False),
    (260, 480, False),
    (272, 340, False),
    (312, 230, False),
    (400, 164, False),
]

FRONT_HAIR = [
    (512, 138, False),
    (620, 154, False),
    (704, 214, False),
    (742, 318, False),
    (744, 430, False),
    (728, 540, False),
    (704, 640, False),
    (676, 716, True),  # right-of-image side lock tip
    (660, 620, False),
    (648, 520, False),
    (640, 420, False),
    (632, 360, True),
    # fringe: curved strands with pointed tips, right to left
    (618, 374, False),
    (606, 380, False),
    (596, 396, True),
    (594, 372, False),
    (584, 340, False),
    (568, 320, True),
    (562, 352, False),
    (552, 378, False),
    (538, 402, True),
    (534, 374, False),
    (522, 342, False),
    (506, 322, True),
    (500, 352, False),
    (488, 376, False),
    (474, 398, True),
    (472, 372, False),
    (460, 344, False),
    (446, 328, True),
    (440, 358, False),
    (428, 378, False),
    (414, 394, True),
    (410, 376, False),
    (398, 362, True),
    (384, 420, False),
    (376, 520, False),
    (364, 620, False),
    (348, 716, True),  # left lock tip
    (320, 640, False),
    (296, 540, False),
    (280, 430, False),
    (282, 318, False),
    (320, 214, False),
    (404, 154, False),
]

NECK = [(470, 590), (554, 590), (558, 700), (566, 760), (560, 840), (464, 840), (458, 760), (466, 700)]

TOPWEAR = [
    (458, 716, True),
    (400, 734, False),
    (300, 762, False),
    (214, 812, False),
    (168, 900, False),
    (150, 1040, True),
    (874, 1040, True),
    (856, 900, False),
    (810, 812, False),
    (724, 762, False),
    (624, 734, False),
    (566, 716, True),
    (512, 812, True),
]

COLLAR_R = [(458, 714, True), (512, 812, True), (470, 846, True), (430, 770, False), (404, 738, True)]


def eye_shape(side: str) -> dict[str, np.ndarray]:
    """Eye part outlines of one eye; u is measured outward from the nose."""
    cx, cy = EYE_CENTRES[side]
    o = OUTWARD[side]

    def P(pts):
        return [(cx + o * u, cy + v) for u, v in pts]

    upper = [(-40, 2), (-30, -20), (-10, -32), (14, -33), (34, -24), (44, -8)]
    lower = [(44, -8), (38, 12), (18, 26), (-8, 27), (-28, 17), (-40, 2)]
    white = catmull_rom(P(upper + lower[1:-1]), closed=True, per_segment=10)
    upper_curve = catmull_rom(P(upper), closed=False, per_segment=10)
    # thick upper lash: outer edge lifted more towards the outer corner, a small wing
    lift = np.linspace(3.0, 12.0, len(upper_curve))
    lash_top = upper_curve.copy()
    lash_top[:, 1] -= lift
    wing = P([(52, -18), (47, -6), (40, 0)])
    lash_bottom = upper_curve[::-1].copy()
    lash_bottom[:, 1] += 3.0
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
        "iris_centre": np.array([cx - o * 3.0, cy + 1.0]),
    }


# --------------------------------------------------------------------------- drawing
def _eye_box(side: str) -> tuple[float, float, float, float]:
    cx, cy = EYE_CENTRES[side]
    return (cx - 80, cy - 100, cx + 80, cy + 60)


def _outline(p: Painter, shape_mask_pts, colour, width: float) -> None:
    p.over(p.stroke_mask(shape_mask_pts, width, closed=True), colour)


def draw_back_hair(size: int) -> Layer:
    p = Painter(size, (200, 120, 830, 800))
    path = sharp_path(BACK_HAIR)
    body = p.poly_mask(path)
    p.over(body, PALETTE["hair_back"])
    # darker inner shadow right behind the head
    p.tint(p.ellipse_mask((512, 560), (150, 130)) * body, PALETTE["hair_shadow"])
    for pts in ([(300, 600), (286, 690), (290, 740)], [(724, 600), (738, 690), (734, 740)]):
        p.tint(p.stroke_mask(catmull_rom(pts, False), 3) * body, PALETTE["hair_line"])
    _outline(p, path, PALETTE["hair_line"], 5)
    return p.to_layer("back hair")


def draw_neck(size: int) -> Layer:
    p = Painter(size, (430, 560, 600, 860))
    path = catmull_rom(NECK, closed=True, per_segment=6)
    body = p.poly_mask(path)
    p.over(body, PALETTE["skin"])
    face = p.poly_mask(catmull_rom(FACE_OUTLINE, True))
    p.tint(np.clip(shifted(face, 0, 34), 0, 1) * body, PALETTE["skin_shadow"])
    for side_pts in ([(470, 600), (466, 700), (458, 744)], [(554, 600), (558, 700), (566, 744)]):
        p.over(p.stroke_mask(catmull_rom(side_pts, False), 4), PALETTE["skin_line"])
    return p.to_layer("neck")


def draw_topwear(size: int) -> Layer:
    p = Painter(size, (130, 690, 900, 1024))
    path = sharp_path(TOPWEAR)
    body = p.poly_mask(path)
    p.over(body, PALETTE["shirt"])
    # cel shadow falling from the hair and the neck, and the arm folds
    p.tint(
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
        * body,
        PALETTE["shirt_shadow"],
    )
    p.tint(
        p.stroke_mask(catmull_rom([(250, 900), (262, 980), (256, 1030)], False), 4) * body,
        PALETTE["cloth_line"],
    )
    p.tint(
        p.stroke_mask(catmull_rom([(774, 900), (762, 980), (768, 1030)], False), 4) * body,
        PALETTE["cloth_line"],
    )
    p.tint(p.stroke_mask([(512, 840), (512, 1030)], 3) * body, PALETTE["cloth_line"])
    for pts in (COLLAR_R, [(2 * 512 - x, y, s) for x, y, s in COLLAR_R]):
        cpath = sharp_path(pts)
        collar = p.poly_mask(cpath)
        p.over(collar, PALETTE["collar"])
        p.tint(
            p.poly_mask(catmull_rom([(512, 812), (470, 846), (456, 800)], True)) * collar,
            PALETTE["collar_shadow"],
        )
        _outline(p, cpath, PALETTE["cloth_line"], 4)
    for cx in (512,):
        for cy in (868, 930, 992):
            p.over(p.ellipse_mask((cx + 14, cy), (6, 6)), PALETTE["collar"])
            p.over(p.stroke_mask(ellipse_points((cx + 14, cy), (6, 6)), 2, True), PALETTE["cloth_line"])
    _outline(p, path, PALETTE["cloth_line"], 5)
    return p.to_layer("topwear")


def draw_ear(size: int, side: str) -> Layer:
    o = OUTWARD[side]
    cx = 512 + o * 138
    p = Painter(size, (cx - 40, 440, cx + 40, 545))
    pts = ellipse_points((cx, 492), (22, 40), angle=-o * 12)
    body = p.poly_mask(pts)
    p.over(body, PALETTE["skin"])
    p.tint(p.ellipse_mask((cx + o * 4, 494), (10, 24), angle=-o * 12) * body, PALETTE["skin_shadow"])
    _outline(p, pts, PALETTE["skin_line"], 4)
    return p.to_layer("ears", side)


def draw_face(size: int) -> Layer:
    p = Painter(size, (350, 230, 680, 690))
    path = catmull_rom(FACE_OUTLINE, True)
    body = p.poly_mask(path)
    p.over(body, PALETTE["skin"])
    # the fringe casts a cel shadow onto the forehead
    bangs = p.poly_mask(sharp_path(FRONT_HAIR))
    p.tint(np.clip(shifted(bangs, 6, 22), 0, 1) * body, PALETTE["skin_shadow"])
    blush = np.zeros_like(body)
    for cx in (430.0, 594.0):
        blush = np.maximum(blush, p.ellipse_mask((cx, 562), (34, 16)))
    blush = cv2.GaussianBlur(blush, (0, 0), 6.0 * p.scale) * 0.55 * body
    p.tint(blush, PALETTE["blush"])
    # jaw line only (the top of the face is under the hair anyway)
    jaw = catmull_rom(FACE_OUTLINE[4:13], closed=False)
    p.over(p.stroke_mask(jaw, 4), PALETTE["skin_line"])
    return p.to_layer("face")


def draw_eyewhite(size: int, side: str) -> Layer:
    p = Painter(size, _eye_box(side))
    shape = eye_shape(side)
    body = p.poly_mask(shape["white"])
    p.over(body, PALETTE["eyewhite"])
    # the upper lid casts a soft shadow on the eyeball
    shadow = np.clip(shifted(p.stroke_mask(shape["upper"], 14), 0, 6), 0, 1)
    p.tint(shadow * body, PALETTE["eyewhite_shadow"])
    return p.to_layer("eyewhite", side)


def draw_iris(size: int, side: str) -> Layer:
    p = Painter(size, _eye_box(side))
    shape = eye_shape(side)
    cx, cy = shape["iris_centre"]
    o = OUTWARD[side]
    disc = p.ellipse_mask((cx, cy), (25, 31))
    p.over(disc, PALETTE["iris_bottom"])
    p.tint_gradient(disc, PALETTE["iris_top"], PALETTE["iris_bottom"], cy - 31, cy + 22)
    p.tint(p.ellipse_mask((cx, cy + 3), (11, 15)) * disc, PALETTE["pupil"])
    # a lighter crescent low in the iris gives it depth
    crescent = np.clip(p.ellipse_mask((cx, cy + 12), (18, 14)) - p.ellipse_mask((cx, cy + 4), (18, 16)), 0, 1)
    p.tint(crescent * disc * 0.8, (150, 214, 250))
    p.over(p.stroke_mask(ellipse_points((cx, cy), (25, 31)), 3, True), PALETTE["iris_line"])
    p.over(p.ellipse_mask((cx + o * 9, cy - 13), (8, 7)), (255, 255, 255))
    p.over(p.ellipse_mask((cx - o * 10, cy + 14), (3.5, 3.5)), (255, 255, 255))
    return p.to_layer("irides", side, clip_to=layer_id("eyewhite", side))


def draw_eyelash(size: int, side: str) -> Layer:
    p = Painter(size, _eye_box(side))
    shape = eye_shape(side)
    p.over(p.poly_mask(shape["lash"]), PALETTE["lash"])
    p.over(p.stroke_mask(shape["lower_lash"], 3), PALETTE["lash"])
    return p.to_layer("eyelash", side)


def draw_eyebrow(size: int, side: str) -> Layer:
    p = Painter(size, _eye_box(side))
    p.over(p.poly_mask(eye_shape(side)["brow"]), PALETTE["brow"])
    return p.to_layer("eyebrow", side)


def draw_nose(size: int) -> Layer:
    p = Painter(size, (490, 530, 540, 590))
    p.over(p.poly_mask(catmull_rom([(514, 550), (520, 570), (508, 574), (512, 566)], True)), PALETTE["nose"])
    return p.to_layer("nose")


def draw_mouth(size: int) -> Layer:
    p = Painter(size, (470, 590, 560, 630))
    top = catmull_rom([(488, 606), (500, 611), (512, 612), (524, 611), (538, 604)], False)
    bottom = catmull_rom([(536, 609), (524, 617), (512, 619), (500, 617), (490, 611)], False)
    p.over(p.poly_mask(np.vstack([top, bottom])), PALETTE["mouth"])
    return p.to_layer("mouth")


def draw_front_hair(size: int) -> Layer:
    p = Painter(size, (260, 120, 770, 740))
    path = sharp_path(FRONT_HAIR)
    body = p.poly_mask(path)
    p.over(body, PALETTE["hair"])
    # darker tone in the clefts between the fringe strands and inside the side locks
    for pts in (
        [(430, 250), (446, 330), (444, 390)],
        [(520, 240), (512, 300), (516, 360)],
        [(596, 250), (580, 320), (584, 370)],
        [(676, 380), (668, 520), (670, 640)],
        [(348, 380), (356, 520), (354, 640)],
    ):
        p.tint(p.stroke_mask(catmull_rom(pts, False), 16) * body * 0.9, PALETTE["hair_shadow"])
    # angel-ring highlight: short arcs across the crown
    ring = np.clip(p.ellipse_mask((512, 272), (170, 96)) - p.ellipse_mask((512, 262), (154, 80)), 0, 1)
    ring *= p.poly_mask([(330, 150), (694, 150), (694, 262), (330, 262)])
    cuts = np.zeros_like(ring)
    for x in (408, 462, 560, 616):
        cuts = np.maximum(cuts, p.stroke_mask([(x, 150), (x + 10, 300)], 14))
    p.tint(np.clip(ring - cuts, 0, 1) * body, PALETTE["hair_highlight"])
    # strand lines
    for pts in (
        [(512, 170), (500, 250), (476, 330)],
        [(512, 170), (540, 250), (566, 318)],
        [(560, 170), (620, 250), (640, 362)],
        [(464, 170), (404, 250), (400, 356)],
        [(690, 300), (700, 460), (690, 600)],
        [(334, 300), (324, 460), (334, 600)],
    ):
        p.tint(p.stroke_mask(catmull_rom(pts, False), 3) * body, PALETTE["hair_line"])
    _outline(p, path, PALETTE["hair_line"], 5)
    return p.to_layer("front hair")


# --------------------------------------------------------------------------- compositing
def composite_layers(
    layers: Sequence[Layer], canvas: Canvas, background: RGB | None = None
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Composite layers back to front (clip_to honoured, premultiplied "over").

    Returns the straight-alpha RGBA uint8 image and, per layer id, the visible
    mask on the canvas: where that layer contributes at least half of the pixel.
    """
    h, w = canvas.height, canvas.width
    alphas: dict[str, np.ndarray] = {}  # full-canvas alpha of each layer
    srcs = []
    for layer in layers:
        lh, lw = layer.image.shape[:2]
        x0, y0 = max(layer.x, 0), max(layer.y, 0)
        x1, y1 = min(layer.x + lw, w), min(layer.y + lh, h)
        crop = (
            layer.image[y0 - layer.y : y1 - layer.y, x0 - layer.x : x1 - layer.x].astype(np.float32) / 255.0
        )
        a = crop[..., 3]
        full_a = np.zeros((h, w), np.float32)
        full_a[y0:y1, x0:x1] = a
        alphas[layer.id] = full_a
        if layer.clip_to:
            a = a * alphas[layer.clip_to][y0:y1, x0:x1]
        a = a * float(layer.opacity)
        srcs.append((layer.id, (slice(y0, y1), slice(x0, x1)), crop[..., :3] * a[..., None], a))
    out_rgb = np.zeros((h, w, 3), np.float32)
    out_a = np.zeros((h, w), np.float32)
    for _, region, rgb, a in srcs:
        out_rgb[region] = rgb + out_rgb[region] * (1.0 - a[..., None])
        out_a[region] = a + out_a[region] * (1.0 - a)
    visible: dict[str, np.ndarray] = {}
    transmit = np.ones((h, w), np.float32)
    for lid, region, _, a in reversed(srcs):
        vis = np.zeros((h, w), bool)
        vis[region] = a * transmit[region] >= 0.5
        visible[lid] = vis
        transmit[region] *= 1.0 - a
    if background is not None:
        bg = np.asarray(background, np.float32) / 255.0
        out_rgb = out_rgb + bg * (1.0 - out_a[..., None])
        out_a = np.ones_like(out_a)
    rgb = np.where(out_a[..., None] > 1e-6, out_rgb / np.maximum(out_a, 1e-6)[..., None], 0.0)
    img = np.dstack([rgb, out_a])
    return np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8), visible


def _box(pts: np.ndarray, scale: float, pad: float = 0.0) -> tuple[int, int, int, int]:
    p = np.asarray(pts) * scale
    return (
        int(np.floor(p[:, 0].min() - pad)),
        int(np.floor(p[:, 1].min() - pad)),
        int(np.ceil(p[:, 0].max() + pad)),
        int(np.ceil(p[:, 1].max() + pad)),
    )


def make_sample(size: int = 1024, seed: int = 0, transparent: bool = False) -> Sample:
    """Draw the sample character at `size` x `size` with its ground truth.

    `seed` jitters nothing yet and is kept so callers can ask for variants later;
    the drawing is deterministic.
    """
    if size < 128:
        raise ValueError(f"the sample needs at least 128 px, got {size}")
    del seed
    return copy.deepcopy(_make_sample_cached(int(size), bool(transparent)))


@functools.lru_cache(maxsize=4)
def _make_sample_cached(size: int, transparent: bool) -> Sample:
    layers = [
        draw_back_hair(size),
        draw_neck(size),
        draw_topwear(size),
        draw_ear(size, "r"),
        draw_ear(size, "l"),
        draw_face(size),
        draw_eyewhite(size, "r"),
        draw_iris(size, "r"),
        draw_eyewhite(size, "l"),
        draw_iris(size, "l"),
        draw_eyelash(size, "r"),
        draw_eyelash(size, "l"),
        draw_eyebrow(size, "r"),
        draw_eyebrow(size, "l"),
        draw_nose(size),
        draw_mouth(size),
        draw_front_hair(size),
    ]
    canvas = Canvas(size, size)
    background = None if transparent else PALETTE["background"]
    image, visible = composite_layers(layers, canvas, background)
    for layer in layers:
        h, w = layer.image.shape[:2]
        layer.visible_mask = visible[layer.id][layer.y : layer.y + h, layer.x : layer.x + w].copy()
    s = size / DESIGN
    eyes = {side: eye_shape(side) for side in ("l", "r")}
    eye_boxes = {side: _box(np.vstack([eyes[side]["white"], eyes[side]["lash"]]), s) for side in eyes}
    face_pts = np.asarray(FACE_OUTLINE, np.float64)
    lm = FaceLandmarks(
        face_box=_box(face_pts, s),
        eye_l=eye_boxes["l"],
        eye_r=eye_boxes["r"],
        nose=(int(round(514 * s)), int(round(566 * s))),
        mouth=_box(np.array([[488, 604], [538, 619]]), s, pad=1),
        chin=(int(round(512 * s)), int(round(664 * s))),
        skin_rgb=PALETTE["skin"],
        hair_rgb=PALETTE["hair"],
        source="ground truth",
        confidence=1.0,
        brow_l=_box(eyes["l"]["brow"], s),
        brow_r=_box(eyes["r"]["brow"], s),
        iris_rgb_l=PALETTE["iris_bottom"],
        iris_rgb_r=PALETTE["iris_bottom"],
    )
    return Sample(image=image, canvas=canvas, layers=layers, landmarks=lm, background=background)


def write_sample_png(path: str, size: int = 1024) -> str:
    sample = make_sample(size)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    cv2.imwrite(path, cv2.cvtColor(sample.image, cv2.COLOR_RGBA2BGRA))
    return path
