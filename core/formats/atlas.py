# SPDX-License-Identifier: GPL-3.0-or-later
"""Texture atlas packing: layer crops -> a few RGBA pages with bled padding.

Crops are packed on shelves (tallest first).  Every crop keeps `padding`
pixels of space on all sides, and the colour of each transparent pixel (the
padding and the alpha == 0 pixels inside the crop) is copied from the nearest
visible pixel of the same layer with alpha kept at 0.  Samplers that filter
straight-alpha colour (Blender, some GPUs' mipmaps) then never blend in black
or a neighbour's colour at a layer's edge; premultiplied sampling is unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from ..model.document import Layer
from ..model.errors import ImageToRigError

# (page index, x, y, w, h) of a layer crop inside its atlas page.
Placement = tuple[int, int, int, int, int]


class AtlasError(ImageToRigError):
    """The layers cannot be packed into atlas pages of the allowed size."""


def _next_pow2(n: int) -> int:
    return 1 << max(0, int(n - 1).bit_length())


def bleed_transparent_colours(rgba: np.ndarray) -> np.ndarray:
    """Copy of `rgba` whose alpha == 0 pixels carry their nearest visible colour.

    Alpha is untouched.  An image without any visible pixel comes back black.
    """
    out = rgba.copy()
    transparent = rgba[..., 3] == 0
    if not transparent.any():
        return out
    if transparent.all():
        out[..., :3] = 0
        return out
    # Distance transform to the nearest zero of `transparent` (= a visible
    # pixel); DIST_LABEL_PIXEL numbers those zeros in raster order from 1.
    _, labels = cv2.distanceTransformWithLabels(
        transparent.astype(np.uint8), cv2.DIST_L2, 3, labelType=cv2.DIST_LABEL_PIXEL
    )
    ys, xs = np.nonzero(~transparent)
    nearest = labels[transparent] - 1
    out[transparent, :3] = rgba[ys[nearest], xs[nearest], :3]
    return out


def _shelf_pack(
    sizes: Sequence[tuple[int, int]], order: Sequence[int], page_width: int, max_size: int
) -> tuple[list[tuple[int, int, int]], list[tuple[int, int]]]:
    """Place padded boxes on shelves; returns per-box (page, x, y) and page sizes."""
    spots: list[tuple[int, int, int]] = [(0, 0, 0)] * len(sizes)
    pages: list[tuple[int, int]] = []
    page, shelf_y, shelf_h, cursor_x, used_w = 0, 0, 0, 0, 0
    for i in order:
        w, h = sizes[i]
        if cursor_x + w > page_width:  # next shelf
            shelf_y += shelf_h
            cursor_x, shelf_h = 0, 0
        if shelf_y + h > max_size:  # next page
            pages.append((used_w, shelf_y + shelf_h))
            page += 1
            shelf_y, shelf_h, cursor_x, used_w = 0, 0, 0, 0
        spots[i] = (page, cursor_x, shelf_y)
        cursor_x += w
        used_w = max(used_w, cursor_x)
        shelf_h = max(shelf_h, h)
    pages.append((used_w, shelf_y + shelf_h))
    return spots, pages


def pack_atlas(
    layers: Sequence[Layer], padding: int = 4, max_size: int = 4096
) -> tuple[list[np.ndarray], dict[str, Placement]]:
    """Pack layer crops into RGBA pages.

    Returns ``(pages, placements)``: pages are (H, W, 4) uint8 straight-alpha
    images (width a power of two, height tight, at most `max_size`), and
    placements map layer id -> (page, x, y, w, h) of the unpadded crop.
    """
    if padding < 0:
        raise AtlasError("atlas padding cannot be negative")
    if not layers:
        return [np.zeros((1, 1, 4), np.uint8)], {}
    ids = [layer.id for layer in layers]
    if len(set(ids)) != len(ids):
        raise AtlasError("two layers share one id; every layer needs its own id")
    sizes = []
    for layer in layers:
        img = layer.image
        if img.ndim != 3 or img.shape[2] != 4 or img.dtype != np.uint8:
            raise AtlasError(f"layer {layer.id!r}: image must be (h, w, 4) uint8 RGBA")
        h, w = img.shape[:2]
        pw, ph = max(w, 1) + 2 * padding, max(h, 1) + 2 * padding
        if pw > max_size or ph > max_size:
            raise AtlasError(
                f"layer {layer.id!r} is {w}x{h} px, too big for a {max_size}x{max_size} atlas page; "
                "scale the image down or raise the atlas size"
            )
        sizes.append((pw, ph))
    order = sorted(range(len(layers)), key=lambda i: (-sizes[i][1], -sizes[i][0]))
    area = sum(w * h for w, h in sizes)
    widest = max(w for w, _ in sizes)
    base = _next_pow2(max(widest, int(np.ceil(np.sqrt(area)))))
    best = None
    for width in {
        min(max(base // 2, _next_pow2(widest)), max_size),
        min(base, max_size),
        min(base * 2, max_size),
    }:
        if width < widest:
            continue
        spots, page_sizes = _shelf_pack(sizes, order, width, max_size)
        # Fewest pages first, then least texture memory, then squarest.
        cost = (
            len(page_sizes),
            sum(width * h for _, h in page_sizes),
            abs(width - max(h for _, h in page_sizes)),
        )
        if best is None or cost < best[0]:
            best = (cost, width, spots, page_sizes)
    _, width, spots, page_sizes = best
    pages = [np.zeros((max(h, 1), width, 4), np.uint8) for _, h in page_sizes]
    placements: dict[str, Placement] = {}
    for layer, (page, x, y), (pw, ph) in zip(layers, spots, sizes):
        img = layer.image
        h, w = img.shape[:2]
        padded = np.zeros((ph, pw, 4), np.uint8)
        padded[padding : padding + h, padding : padding + w] = img
        pages[page][y : y + ph, x : x + pw] = bleed_transparent_colours(padded)
        placements[layer.id] = (page, x + padding, y + padding, w, h)
    return pages, placements
