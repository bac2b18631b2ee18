# SPDX-License-Identifier: GPL-3.0-or-later
"""The cheeks: ParamCheek grows the blush the rig generates (two soft ellipses
on the cheeks, clipped to the face) from nothing to its drawn size."""

from __future__ import annotations

import math

import numpy as np

from ....model.document import Keyform, Layer, layer_id
from ..context import Control, Generator, RigContext, collapse
from ..measure import Anchors, Box, smoothstep

BLUSH = {  # the generated blush: colour, layer opacity, size of each cheek (of the eye width)
    "rgb": (255, 128, 140),
    "alpha": 0.55,
    "width": 0.8,
    "height": 0.32,
    "below_eye": 0.55,  # centre below the eye's bottom, of the eye-to-mouth distance
    "outward": 0.12,
}  # centre shifted away from the nose, of the eye width


def make_blush_layer(
    layers: dict[str, Layer], boxes: dict[str, Box], anchors: Anchors, size: float = 1.0
) -> Layer | None:
    """A generated blush (two soft ellipses on the cheeks, clipped to the face),
    placed from the eyes and the mouth; None without a face layer."""
    if "face" not in boxes:
        return None
    fx0, fy0, fx1, fy1 = anchors.face
    fw, fh = fx1 - fx0, fy1 - fy0
    cx = (fx0 + fx1) / 2
    mouth = boxes.get("mouth")
    mouth_y = mouth[1] if mouth is not None else fy0 + 0.8 * fh
    blobs = []
    for side, sign in (("r", -1.0), ("l", 1.0)):
        eye = boxes.get(f"eyewhite_{side}") or boxes.get(f"eyelash_{side}")
        if eye is not None:
            ex, eb, ew = (eye[0] + eye[2]) / 2, eye[3], eye[2] - eye[0]
        else:
            ex, eb, ew = cx + sign * 0.22 * fw, fy0 + 0.55 * fh, 0.22 * fw
        by = eb + BLUSH["below_eye"] * max(mouth_y - eb, 0.05 * fh)
        bx = ex + sign * BLUSH["outward"] * ew
        blobs.append((bx, by, 0.5 * BLUSH["width"] * ew * size, 0.5 * BLUSH["height"] * ew * size))
    x0 = int(math.floor(min(b[0] - b[2] for b in blobs))) - 2
    x1 = int(math.ceil(max(b[0] + b[2] for b in blobs))) + 2
    y0 = int(math.floor(min(b[1] - b[3] for b in blobs))) - 2
    y1 = int(math.ceil(max(b[1] + b[3] for b in blobs))) + 2
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float64) + 0.5
    alpha = np.zeros(xs.shape)
    for bx, by, ax, ay in blobs:
        r2 = ((xs - bx) / max(ax, 1.0)) ** 2 + ((ys - by) / max(ay, 1.0)) ** 2
        alpha = np.maximum(alpha, smoothstep((1.0 - r2) / 0.75))  # soft rim, full middle
    img = np.zeros(xs.shape + (4,), np.uint8)
    img[..., :3] = BLUSH["rgb"]
    img[..., 3] = np.clip(np.rint(alpha * 255), 0, 255).astype(np.uint8)
    img[img[..., 3] == 0] = 0
    return Layer(
        id=layer_id("face", role="blush"),
        tag="face",
        role="blush",
        image=img,
        x=x0,
        y=y0,
        generated=True,
        clip_to="face",
        opacity=BLUSH["alpha"],
        visible_mask=np.zeros(xs.shape, bool),
    )


def collapse_blush(ctx: RigContext) -> None:
    """Rest the blush collapsed onto the middle of each cheek (invisible)."""
    for lid, layer in ctx.layers.items():
        if layer.role != "blush" or lid not in ctx.meshes:
            continue
        v = ctx.meshes[lid].vertices
        target = np.empty_like(v)
        cx = ctx.anchors.face_centre[0]
        for left in (True, False):
            sel = (v[:, 0] < cx) if left else (v[:, 0] >= cx)
            if sel.any():
                box = (v[sel, 0].min(), v[sel, 1].min(), v[sel, 0].max(), v[sel, 1].max())
                target[sel] = [(box[0] + box[2]) / 2, (box[1] + box[3]) / 2]
        collapse(ctx, lid, target)


def gen_cheek(ctx: RigContext) -> list[Keyform]:
    """ParamCheek: the generated blush grows from nothing to its drawn size."""
    out = []
    for lid, restore in ctx.restores.items():
        if ctx.layers[lid].role != "blush":
            continue
        mesh = ctx.meshes[lid]
        out.append(
            Keyform(
                mesh.id,
                ["ParamCheek"],
                [[0.0, 1.0]],
                np.stack([np.zeros_like(restore), restore * ctx.controls.blush_size]),
                owner="cheek",
            )
        )
    return out


def _blush_layers(
    canvas, layers: dict[str, Layer], boxes: dict[str, Box], anchors: Anchors
) -> list[tuple[Layer, str | None]]:
    blush = make_blush_layer(layers, boxes, anchors, 1.0)
    return [(blush, "face")] if blush is not None else []


CHEEK = Generator(
    "cheek",
    gen_cheek,
    (Control("blush_size", 1.0, 0.3, 2.0, "scale of the generated blush"),),
    add_layers=_blush_layers,
    prepare=collapse_blush,
)
