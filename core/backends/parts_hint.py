# SPDX-License-Identifier: GPL-3.0-or-later
"""Combine a parts model's label map with the built-in decomposition.

The built-in decomposition stays in charge of what needs the landmarks: left
and right, eyes, brows, nose, mouth and line-art ownership.  The model only
moves pixels between the coarse parts where it disagrees with the colour
analysis: hair it sees over the face or clothes becomes front hair, face and
skin it sees in hair become face (or neck below the chin), clothes become
topwear.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from ..model.document import Canvas, Layer, layer_id
from .base import PART_INDEX

COARSE_TAGS = ("back hair", "neck", "topwear", "face", "front hair")
HAIR_TAGS = ("back hair", "front hair")


def _full_alpha_mask(layer: Layer, canvas: Canvas) -> np.ndarray:
    return layer.full_canvas(canvas)[..., 3] > 0


def apply_parts_hint(
    rgba: np.ndarray, mask: np.ndarray, layers: Sequence[Layer], labels: np.ndarray, chin_y: float
) -> list[Layer]:
    """Layers with coarse-part pixels reassigned where `labels` (PART_CLASSES
    indices, canvas-sized) says so.  Fine parts are returned untouched."""
    from ..stages.decompose import DEPTH_ORDER, _layer_from_mask

    canvas = Canvas(int(rgba.shape[1]), int(rgba.shape[0]))
    labels = cv2.medianBlur(np.ascontiguousarray(labels, np.uint8), 5)  # drop speckles
    owner: dict[str, np.ndarray] = {}
    for layer in layers:
        if layer.tag in COARSE_TAGS and not layer.role and layer.side == "":
            owner[layer.tag] = _full_alpha_mask(layer, canvas)
    if not owner:
        return list(layers)
    tags = list(owner)
    coarse = np.zeros(mask.shape, bool)
    for m in owner.values():
        coarse |= m
    current = np.full(mask.shape, -1, np.int16)
    for i, tag in enumerate(tags):
        current[owner[tag]] = i

    target = {t: owner.get(t, np.zeros(mask.shape, bool)).copy() for t in COARSE_TAGS}

    def move(pixels: np.ndarray, tag: str) -> None:
        if not pixels.any():
            return
        for t in COARSE_TAGS:
            if t != tag:
                target[t] &= ~pixels
        target[tag] |= pixels

    is_hair_now = target["back hair"] | target["front hair"]
    rows = np.arange(mask.shape[0])[:, None]
    below_chin = np.broadcast_to(rows > chin_y, mask.shape)
    move(coarse & (labels == PART_INDEX["hair"]) & ~is_hair_now, "front hair")
    skinlike = coarse & ((labels == PART_INDEX["face"]) | (labels == PART_INDEX["skin"]))
    move(skinlike & ~below_chin & ~target["face"], "face")
    move(skinlike & below_chin & (labels == PART_INDEX["skin"]) & ~target["neck"] & ~target["face"], "neck")
    move(coarse & (labels == PART_INDEX["clothes"]) & ~target["topwear"], "topwear")

    rebuilt: dict[str, Layer] = {}
    for tag in COARSE_TAGS:
        m = target[tag]
        if tag not in owner and not m.any():
            continue
        if tag in owner and np.array_equal(m, owner[tag]):
            continue
        layer = _layer_from_mask(rgba, m, mask, tag, "")
        if layer is not None:
            rebuilt[layer_id(tag)] = layer
    if not rebuilt:
        return list(layers)
    order = {layer_id(t, s): i for i, (t, s) in enumerate(DEPTH_ORDER)}
    by_id = {l.id: l for l in layers}
    for lid, layer in rebuilt.items():
        by_id[lid] = layer
    for tag in COARSE_TAGS:  # parts the model emptied out
        lid = layer_id(tag)
        if lid in by_id and lid not in rebuilt and tag in owner and not target[tag].any():
            del by_id[lid]
    known = sorted((l for l in by_id.values() if l.id in order), key=lambda l: order[l.id])
    extra = [by_id[l.id] for l in layers if l.id in by_id and l.id not in order]
    return known + extra
