# SPDX-License-Identifier: GPL-3.0-or-later
"""Underlays: what shows when parts move apart.

Two hidden layers at the very bottom of the draw order, made from the other
layers: the head's (under the back hair's warp: a backing moves like the back)
and the body's (under the body warp).  Each is the character's own colours at rest with the line art taken
out (a grey closing: strokes close over with the colour beside them), opaque
and a little inside the silhouette of the layers it lies under, so at rest it
is covered everywhere (the rest image is unchanged) and in a pose it cannot
stick out past the outline.  When a pose moves
neighbouring parts apart (the fringe more than the face, the back hair
against it, the jaw over the neck), the gap shows the colour that was there
instead of the background: no hole, and no outline drawn twice.  They make no
keyforms of their own; they follow their warp.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np

from ....model.document import RIG_MADE_ROLES, Canvas, Layer, layer_id
from ..context import Generator, RigContext
from ..measure import Anchors, Box
from ..templates import TAG_DEFORMER

UNDERLAYS = (  # (tag it takes its warp from, the warps whose layers it lies under)
    ("back hair", ("face_warp", "hair_front_warp", "hair_back_warp")),  # moves with the back
    ("topwear", ("body_warp",)),
)
# The underlay keeps this far inside the silhouette of its layers (of the face
# width, at least 1 px): gaps at the outline are no holes, and an underlay that
# reached the outline could stick out past a part that moved in.
INSET_OF_FACE = 0.03
LINE_WIDTH_OF_FACE = 0.02  # strokes up to this share of the face width are closed over


def _composite(canvas: Canvas, layers: List[Layer]) -> np.ndarray:
    """Straight-alpha RGBA float image of `layers` (back to front) at rest."""
    out = np.zeros((canvas.height, canvas.width, 4), np.float32)
    for layer in layers:
        if layer.opacity <= 0:
            continue
        src = layer.full_canvas(canvas).astype(np.float32) / 255.0
        a = src[..., 3:4] * float(layer.opacity)
        out[..., :3] = src[..., :3] * a + out[..., :3] * (1.0 - a)
        out[..., 3:4] = a + out[..., 3:4] * (1.0 - a)
    return out


def _without_lines(rgb: np.ndarray, width: int) -> np.ndarray:
    """The colours with dark strokes up to `width` px closed over."""
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * width + 1, 2 * width + 1))
    return cv2.morphologyEx(rgb, cv2.MORPH_CLOSE, k)


def make_underlays(canvas: Canvas, layers: Dict[str, Layer], boxes: Dict[str, Box],
                   anchors: Anchors) -> List[Tuple[Layer, Optional[str]]]:
    # what shows at rest: not the rig's own layers, nor parts resting collapsed or hidden
    ordered = [l for l in layers.values() if l.id in boxes and l.opacity > 0
               and l.role not in RIG_MADE_ROLES + ("interior",)]
    if not ordered:
        return []
    face_w = anchors.face[2] - anchors.face[0]
    width = max(1, int(round(LINE_WIDTH_OF_FACE * face_w)))
    inset = max(1, int(round(INSET_OF_FACE * face_w)))
    out: List[Tuple[Layer, Optional[str]]] = []
    for tag, warps in UNDERLAYS:  # each goes to the very bottom: the body's ends up below the head's
        members = [l for l in ordered if TAG_DEFORMER.get(l.tag, "body_warp") in warps]
        if not members:
            continue
        comp = _composite(canvas, members)
        solid = (comp[..., 3] >= 0.98).astype(np.uint8)
        solid = cv2.erode(solid, cv2.getStructuringElement(
            cv2.MORPH_ELLIPSE, (2 * inset + 1, 2 * inset + 1))).astype(bool)
        if solid.sum() < 16:
            continue
        ys, xs = np.nonzero(solid)
        x0, y0, x1, y1 = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
        pad = 2 * width + 1
        cx0, cy0 = max(0, x0 - pad), max(0, y0 - pad)
        cx1, cy1 = min(canvas.width, x1 + pad), min(canvas.height, y1 + pad)
        rgb = np.clip(comp[cy0:cy1, cx0:cx1, :3] * 255.0 + 0.5, 0, 255).astype(np.uint8)
        flat = _without_lines(rgb, width)
        img = np.zeros((y1 - y0, x1 - x0, 4), np.uint8)
        img[..., :3] = flat[y0 - cy0:y1 - cy0, x0 - cx0:x1 - cx0]
        img[..., 3] = solid[y0:y1, x0:x1] * 255
        img[img[..., 3] == 0] = 0
        made = Layer(id=layer_id(tag, role="underlay"), tag=tag, role="underlay", image=img,
                     x=int(x0), y=int(y0), generated=True,
                     visible_mask=np.zeros(img.shape[:2], bool))
        out.append((made, None))
    return out


def _no_keyforms(ctx: RigContext):
    return []


UNDERLAY = Generator("underlay", _no_keyforms, (), add_layers=make_underlays)
