# SPDX-License-Identifier: GPL-3.0-or-later
"""One frame of a model within bounded time and memory.

The reference renderer (core/runtime/render.py) works in float32 RGBA over
the whole image: 16 bytes a pixel, several times over, about 4 GB for the
largest canvas the runtime allows.  `render_bounded` checks the size and the
pose's drawing work first (core/runtime/raster_budget.py), then draws the
image in bands of at most BAND_PIXELS into one uint8 result (4 bytes a
pixel), pixel for pixel the same as one whole render.  Bands no mesh reaches
are left transparent without drawing.
"""

from __future__ import annotations


import numpy as np

from .raster_budget import check_image_size, check_pose_work
from .render import Renderer

BAND_PIXELS = 1 << 22  # about 64 MB of float32 RGBA per band


def render_bounded(
    renderer: Renderer,
    values: dict[str, float] | None = None,
    size: tuple[int, int] | None = None,
    background: tuple[int, int, int] | None = None,
    band_pixels: int = BAND_PIXELS,
) -> np.ndarray:
    """Straight-alpha RGBA uint8 image, as `renderer.render(values, size)`;
    RenderBudgetError (a plain message) when the size or the pose is beyond the budgets."""
    doc = renderer.doc
    w, h = size or renderer.output_size()
    check_image_size(w, h, "the image to render")
    verts, opacity = renderer.pose(values)
    layer_of = {m.id: m.layer for m in doc.meshes}
    clip_of = {l.id: l.clip_to for l in doc.layers}
    check_pose_work(
        doc.draw_order, layer_of, clip_of, {m.id: m.triangles for m in doc.meshes}, verts, opacity, (w, h)
    )
    spans = [(float(v[:, 1].min()), float(v[:, 1].max())) for v in verts.values() if len(v)]
    out = np.zeros((h, w, 4), np.uint8)
    rows = max(1, band_pixels // w)
    for y0 in range(0, h, rows):
        y1 = min(h, y0 + rows)
        # A mesh reaches a band when its box (one pixel of margin, as the renderer's) does.
        if not any(lo - 1 < y1 and hi + 1 > y0 for lo, hi in spans):
            if background is not None:
                out[y0:y1, :, :3] = background
                out[y0:y1, :, 3] = 255
            continue
        out[y0:y1] = renderer.render(size=(w, h), background=background, rows=(y0, y1), pose=(verts, opacity))
    return out
