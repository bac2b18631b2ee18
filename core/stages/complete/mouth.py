# SPDX-License-Identifier: GPL-3.0-or-later
"""The generated mouth interior, which the rig rests collapsed and
ParamMouthOpenY opens.

Its colours come from the drawing, as artists colour an open mouth: on
painted art (skin with colour) the cavity is the skin multiplied by a warm
red, a light saturated pink-red; on line art (white or grey skin) it is
filled with the ink.  The tongue is lighter, the upper teeth the eye-white's
colour.  A monochrome drawing stays monochrome.  A fixed dark red read as a
hole on art with light shading, and a dark throat shadow as a second line
(bench/bench_real.py scores the mouth against artists' own open mouths)."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from ...model.document import Canvas, Layer, layer_id
from ..landmarks import FaceLandmarks

RGB = tuple[int, int, int]

MOUTH_INTERIOR = {  # the generated mouth, as data
    "height_per_width": 0.5,
    "width_scale": 0.7,
    # painted art: the cavity is the skin multiplied by a warm red (artists'
    # open mouths on soft-shaded faces are a light, saturated pink-red)
    "painted": (0.93, 0.6, 0.65),
    # line art (white or grey skin): the mouth is filled with the ink
    "ink_to_skin": 0.1,
    "colourful_at": 20.0,  # skin saturation (0-255) from which the art counts as painted
    "tongue_to_skin": 0.35,
    "tongue_pink": (235, 120, 130),
    "teeth_depth": 0.28,  # of the interior's height, under the upper lip
    "fallback_line_rgb": (70, 26, 30),
    "fallback_skin_rgb": (250, 220, 205),
    "fallback_teeth_rgb": (250, 250, 250),
}


def _mix(a: Sequence[float], b: Sequence[float], t: float) -> np.ndarray:
    return (1.0 - t) * np.asarray(a, np.float64) + t * np.asarray(b, np.float64)


def drawn_colour(layer: Layer | None, darkest: float | None = None) -> RGB | None:
    """The median colour of a layer's opaque pixels (or of its darkest share)."""
    if layer is None or layer.image.size == 0:
        return None
    img = layer.image
    rgb = img[..., :3][img[..., 3] > 200].astype(np.float64)
    if len(rgb) < 4:
        return None
    if darkest is not None:
        lum = rgb @ np.array([0.299, 0.587, 0.114])
        rgb = rgb[lum <= np.quantile(lum, darkest)]
    return tuple(int(v) for v in np.median(rgb, axis=0))


def _brightest(layer: Layer | None) -> RGB | None:
    if layer is None or layer.image.size == 0:
        return None
    img = layer.image
    rgb = img[..., :3][img[..., 3] > 200].astype(np.float64)
    if len(rgb) < 4:
        return None
    lum = rgb @ np.array([0.299, 0.587, 0.114])
    return tuple(int(v) for v in np.median(rgb[lum >= np.quantile(lum, 0.8)], axis=0))


def mouth_palette(mouth: Layer | None, skin: RGB | None, eyewhite: Layer | None = None) -> dict:
    """Cavity, tongue, teeth and line colours for this drawing."""
    spec = MOUTH_INTERIOR
    skin = skin or spec["fallback_skin_rgb"]
    # no mouth line was cut: a dark shade of the skin (grey on greyscale art, not a red-brown)
    line = drawn_colour(mouth, darkest=0.3) or (
        _mix(skin, (0, 0, 0), 0.75) if mouth is None and skin is not None else spec["fallback_line_rgb"]
    )
    hsv = cv2.cvtColor(np.uint8([[skin]]), cv2.COLOR_RGB2HSV)[0, 0]
    colourful = float(np.clip(hsv[1] / spec["colourful_at"], 0.0, 1.0))  # white or grey skin: line art
    painted = np.asarray(skin, np.float64) * np.asarray(spec["painted"])
    cavity = _mix(_mix(line, skin, spec["ink_to_skin"]), painted, colourful)
    tongue = _mix(_mix(cavity, skin, spec["tongue_to_skin"]), spec["tongue_pink"], 0.5 * colourful)
    teeth = _brightest(eyewhite) or _mix(skin, spec["fallback_teeth_rgb"], 0.7)
    as_rgb = lambda c: tuple(int(round(v)) for v in np.clip(c, 0, 255))  # noqa: E731
    return {
        "cavity": as_rgb(cavity),
        "tongue": as_rgb(tongue),
        "teeth": as_rgb(teeth),
        "line": as_rgb(line),
    }


def make_mouth_interior(
    mouth: Layer | None,
    lm: FaceLandmarks | None,
    canvas: Canvas,
    skin_rgb: RGB | None = None,
    eyewhite: Layer | None = None,
) -> Layer:
    """An open mouth (cavity, upper teeth, tongue) a little
    narrower than the mouth line, centred on it, in the drawing's colours.
    Generated; not visible in the input."""
    spec = MOUTH_INTERIOR
    if mouth is not None:
        mx0, my0 = mouth.x, mouth.y
        mx1, my1 = mouth.x + mouth.image.shape[1], mouth.y + mouth.image.shape[0]
    else:
        mx0, my0, mx1, my1 = lm.mouth
    skin = skin_rgb or (tuple(lm.skin_rgb) if lm is not None else None)
    pal = mouth_palette(mouth, skin, eyewhite)
    width = max(6.0, (mx1 - mx0) * spec["width_scale"])
    height = max(4.0, width * spec["height_per_width"])
    cx, cy = 0.5 * (mx0 + mx1), 0.5 * (my0 + my1)
    ss = 4  # drawn supersampled for clean edges
    w, h = int(np.ceil(width)) + 4, int(np.ceil(height)) + 4
    W, H = w * ss, h * ss
    pad = 2 * ss
    iw, ih = W - 2 * pad, H - 2 * pad
    t = np.linspace(0, np.pi, 48)
    top_y = pad + 0.22 * ih  # a gently curved upper lip line
    upper = np.stack([pad + iw * (1 - t / np.pi), top_y - 0.18 * ih * np.sin(t)], 1)
    lower = np.stack([pad + iw * (t / np.pi), top_y + 0.78 * ih * np.sin(t)], 1)
    outline = np.vstack([upper, lower]).astype(np.int32)
    shape = np.zeros((H, W), np.uint8)
    cv2.fillPoly(shape, [outline], 255, cv2.LINE_AA)
    rgb = np.zeros((H, W, 3), np.uint8)
    rgb[:] = pal["cavity"]
    cv2.ellipse(
        rgb,
        (W // 2, int(pad + 0.9 * ih)),
        (int(W * 0.3), int(H * 0.28)),
        0,
        0,
        360,
        pal["tongue"],
        -1,
        cv2.LINE_AA,
    )
    # the upper teeth: a band under the upper lip, following its curve
    teeth_lower = np.stack(
        [
            pad + iw * (t / np.pi),
            top_y - 0.18 * ih * np.sin(t) + spec["teeth_depth"] * ih * (0.35 + 0.65 * np.sin(t)),
        ],
        1,
    )
    teeth = np.vstack([upper, teeth_lower]).astype(np.int32)
    cv2.fillPoly(rgb, [teeth], pal["teeth"], cv2.LINE_AA)
    cv2.polylines(rgb, [outline], True, pal["line"], max(1, ss), cv2.LINE_AA)
    rgb = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA)
    alpha = cv2.resize(shape, (w, h), interpolation=cv2.INTER_AREA)
    img = np.dstack([rgb, alpha])
    img[alpha == 0] = 0
    x0 = int(round(cx - w / 2.0))
    y0 = int(round(cy - (2 + 0.22 * (h - 4))))  # the upper lip line sits on the mouth line
    return Layer(
        id=layer_id("mouth", role="interior"),
        tag="mouth",
        image=img,
        x=x0,
        y=y0,
        visible_mask=np.zeros((h, w), bool),
        generated=True,
        role="interior",
    )
