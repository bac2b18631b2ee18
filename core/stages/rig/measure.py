# SPDX-License-Identifier: GPL-3.0-or-later
"""Measuring the layers: alpha boxes, per-column top and bottom edges, and the
anchors (face box, chin, neck base, waist, root) the generators work from."""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Sequence

import numpy as np

from ...model.document import Canvas, Layer
from .templates import HEAD_TAGS

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 canvas px


@dataclass
class Profile:
    """Top and bottom alpha edge of a layer per canvas column."""

    xs: np.ndarray
    top: np.ndarray
    bottom: np.ndarray

    def top_at(self, x):
        return np.interp(x, self.xs, self.top)

    def bottom_at(self, x):
        return np.interp(x, self.xs, self.bottom)


def alpha_box(layer: Layer) -> Box | None:
    mask = layer.image[..., 3] > 0
    if not mask.any():
        return None
    ys = np.nonzero(mask.any(axis=1))[0]
    xs = np.nonzero(mask.any(axis=0))[0]
    return (
        layer.x + float(xs[0]),
        layer.y + float(ys[0]),
        layer.x + float(xs[-1] + 1),
        layer.y + float(ys[-1] + 1),
    )


def column_profile(layer: Layer) -> Profile:
    mask = layer.image[..., 3] >= 128
    if not mask.any():
        mask = layer.image[..., 3] > 0
    cols = np.nonzero(mask.any(axis=0))[0]
    sub = mask[:, cols]
    h = mask.shape[0]
    top = np.argmax(sub, axis=0).astype(np.float64)
    bottom = (h - np.argmax(sub[::-1], axis=0)).astype(np.float64)
    return Profile(layer.x + cols + 0.5, layer.y + top, layer.y + bottom)


def union_box(boxes: Sequence[Box | None]) -> Box | None:
    boxes = [b for b in boxes if b is not None]
    if not boxes:
        return None
    b = np.array(boxes)
    return (b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max())


def grow_box(box: Box, fraction: float, minimum: float = 4.0) -> Box:
    x0, y0, x1, y1 = box
    mx = max((x1 - x0) * fraction, minimum)
    my = max((y1 - y0) * fraction, minimum)
    return (x0 - mx, y0 - my, x1 + mx, y1 + my)


@dataclass
class Anchors:
    """Measured geometry the recipes work from (canvas px)."""

    face: Box  # face box (or a head box estimate)
    root: tuple[float, float]
    waist: tuple[float, float]
    neck_base: tuple[float, float]
    chin: tuple[float, float]

    @property
    def face_centre(self) -> tuple[float, float]:
        return ((self.face[0] + self.face[2]) / 2, (self.face[1] + self.face[3]) / 2)

    @property
    def face_size(self) -> tuple[float, float]:
        return (self.face[2] - self.face[0], self.face[3] - self.face[1])


WAIST_BELOW_CHIN = 2.2  # face heights from the chin to the waist (drawn characters: 2-2.5)


def measure_anchors(canvas: Canvas, layers: dict[str, Layer], boxes: dict[str, Box]) -> Anchors:
    """Face box, chin, neck base, waist and root from the layers' alpha, with
    fallbacks (features, hair, content box) when parts are missing."""
    all_box = union_box(list(boxes.values())) or (0, 0, canvas.width, canvas.height)
    face = boxes.get("face")
    if face is None:
        feature = union_box(
            [boxes[i] for i, l in layers.items() if i in boxes and l.tag in HEAD_TAGS and "hair" not in l.tag]
        )
        if feature is not None:
            face = grow_box(feature, 0.25)
        else:
            hair = union_box([boxes[i] for i, l in layers.items() if i in boxes and "hair" in l.tag])
            if hair is not None:  # the face sits inside the hair's box
                w, h = hair[2] - hair[0], hair[3] - hair[1]
                face = (hair[0] + 0.2 * w, hair[1] + 0.2 * h, hair[2] - 0.2 * w, hair[3] - 0.2 * h)
            else:
                w, h = all_box[2] - all_box[0], all_box[3] - all_box[1]
                face = (
                    all_box[0] + 0.3 * w,
                    all_box[1] + 0.1 * h,
                    all_box[0] + 0.7 * w,
                    all_box[1] + 0.1 * h + 0.5 * w,
                )
    cx = (face[0] + face[2]) / 2
    if "face" in layers and "face" in boxes:
        prof = column_profile(layers["face"])
        chin = (cx, float(prof.bottom_at(cx)))
    else:
        chin = (cx, face[3])
    fh = face[3] - face[1]
    if "neck" in boxes and "topwear" in boxes:
        # Where the neck's sides meet the shoulders.
        nb = boxes["neck"]
        inset = 0.1 * (nb[2] - nb[0])
        shoulders = column_profile(layers["topwear"]).top_at(np.array([nb[0] + inset, nb[2] - inset]))
        neck_base = ((nb[0] + nb[2]) / 2, float(np.clip(shoulders.mean(), nb[1], nb[3])))
    elif "neck" in boxes:
        nb = boxes["neck"]
        neck_base = ((nb[0] + nb[2]) / 2, nb[3] - 0.1 * (nb[3] - nb[1]))
    elif "topwear" in boxes:
        neck_base = (cx, boxes["topwear"][1])
    else:
        neck_base = (cx, chin[1] + 0.25 * fh)
    neck_base = (neck_base[0], max(neck_base[1], chin[1] + 1.0))
    if "topwear" in boxes:
        tb = boxes["topwear"]
        waist = ((tb[0] + tb[2]) / 2, max(tb[3], neck_base[1] + 1.0))
    else:
        waist = (neck_base[0], max(all_box[3], neck_base[1] + 0.5 * fh))
    # A full figure's clothes reach the feet: its waist is where a drawn body
    # has it, not at the bottom of the clothes (a lean about the feet swings the
    # shoulders far off the head).
    waist = (waist[0], min(waist[1], chin[1] + WAIST_BELOW_CHIN * fh))
    waist = (waist[0], max(waist[1], neck_base[1] + 1.0))
    root = ((all_box[0] + all_box[2]) / 2, max(all_box[3], waist[1]))
    return Anchors(face=face, root=root, waist=waist, neck_base=neck_base, chin=chin)


def smoothstep(t):
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)
