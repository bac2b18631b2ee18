# SPDX-License-Identifier: GPL-3.0-or-later
"""How much drawing a model asks for, checked before anything is drawn.

Three budgets, all from web/constants.json "limits" (the numbers the player
uses):

* the image size: at most max_canvas a side and max_canvas_pixels in all,
  for the model's canvas and for any size asked of the renderer;
* the player's rule at rest (`check_rest_raster_area`, the same as
  checkRasterBudget in web/player/parse.js): the area of every triangle (at
  most one canvas each), summed over the meshes, clip-mask layers counted
  twice, stays within max_raster_pixels and max_raster_canvas_areas canvases;
* the reference rasteriser's work at the pose (`check_pose_work`): it tests
  every pixel of each triangle's bounding box (clipped to the image), so that
  count, for every mesh drawn and every clip mask, must stay within the same
  two numbers and within max_reference_raster_pixels, its own budget (numpy
  tests some 4-10 million pairs a second on a 2-core machine, the GPU billions).
  Thin slanted triangles have little area but large boxes: this is the check
  that bounds the Python renderer's time.

Every number the budgets read must be finite; an overflow at the pose (huge
but finite keyform offsets summed) is refused rather than drawn as nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from ..model.constants import LIMITS
from ..model.errors import ImageToRigError


class RenderBudgetError(ImageToRigError):
    """The model or the request needs more drawing than the runtime does."""


def raster_limit(canvas_pixels: int) -> int:
    """Pixels the rasteriser may touch per frame for an image of `canvas_pixels`."""
    return int(min(LIMITS["max_raster_pixels"], LIMITS["max_raster_canvas_areas"] * canvas_pixels))


def check_image_size(
    width: int, height: int, what: str = "the image", error: type[ImageToRigError] = RenderBudgetError
) -> None:
    """Refuse sizes below one pixel or beyond max_canvas / max_canvas_pixels."""
    side, total = LIMITS["max_canvas"], LIMITS["max_canvas_pixels"]
    if width < 1 or height < 1:
        raise error(f"{what} is {width}x{height}; it needs at least one pixel each way")
    if width > side or height > side:
        raise error(f"{what} is {width}x{height}; the runtime draws at most {side} pixels a side")
    if width * height > total:
        raise error(
            f"{what} is {width}x{height} ({width * height / 1e6:.0f} megapixels), more "
            f"than the {total / 1e6:.0f} megapixels the runtime draws"
        )


def _doubled_areas(verts: np.ndarray, tris: np.ndarray) -> np.ndarray:
    p = verts[tris]
    e1 = p[:, 1] - p[:, 0]
    e2 = p[:, 2] - p[:, 0]
    return np.abs(e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0])


def check_rest_raster_area(
    canvas: tuple[int, int],
    meshes: Iterable[tuple[str, str, np.ndarray, np.ndarray]],
    mask_layers: set[str],
    error: type[ImageToRigError] = RenderBudgetError,
) -> float:
    """The player's rule: `meshes` yields (mesh id, layer id, (N, 2) vertices,
    (M, 3) triangles) at rest.  Returns the area in pixels; refuses above the budget."""
    canvas_area = float(canvas[0]) * float(canvas[1])
    limit = raster_limit(int(canvas_area))
    total = 0.0
    for _, layer, verts, tris in meshes:
        if len(tris) == 0:
            continue
        area = float(np.minimum(_doubled_areas(verts, tris) / 2.0, canvas_area).sum())
        total += 2.0 * area if layer in mask_layers else area
        if total > limit:
            raise error(
                f"the meshes cover more than {total / canvas_area:.0f} canvases of "
                f"triangles ({total / 1e6:.0f} megapixels per frame; the runtime draws at "
                f"most {limit / 1e6:.0f}); overlapping or oversized triangles, export the "
                "model again"
            )
    return total


def box_pixels(verts: np.ndarray, tris: np.ndarray, size: tuple[int, int]) -> int:
    """Pixels of the triangles' bounding boxes clipped to a (w, h) image: the
    (triangle, pixel) pairs core/runtime/render.py's rasteriser tests."""
    if len(tris) == 0:
        return 0
    w, h = size
    p = verts[tris]
    x0 = np.clip(np.floor(p[..., 0].min(1) - 0.5), 0, w)
    x1 = np.clip(np.ceil(p[..., 0].max(1) + 0.5), 0, w)
    y0 = np.clip(np.floor(p[..., 1].min(1) - 0.5), 0, h)
    y1 = np.clip(np.ceil(p[..., 1].max(1) + 0.5), 0, h)
    return int(((x1 - x0) * (y1 - y0)).sum())


def check_pose_work(
    draw_order: Iterable[str],
    layer_of: Mapping[str, str],
    clip_of: Mapping[str, str | None],
    triangles: Mapping[str, np.ndarray],
    verts: dict[str, np.ndarray],
    opacity: dict[str, float],
    size: tuple[int, int],
    error: type[ImageToRigError] = RenderBudgetError,
) -> int:
    """Refuse a pose whose drawing would take the reference rasteriser past the
    budget, or whose numbers are not finite; returns the pixel pairs it tests.
    `layer_of` / `clip_of` map mesh -> layer and layer -> the layer it clips to."""
    w, h = size
    limit = min(raster_limit(w * h), LIMITS["max_reference_raster_pixels"])
    meshes_of: dict[str, list] = {}
    for mesh_id, layer in layer_of.items():
        meshes_of.setdefault(layer, []).append(mesh_id)
    for mesh_id, v in verts.items():
        if not np.all(np.isfinite(v)):
            raise error(
                f"at this pose mesh {mesh_id!r} has vertices that are not finite numbers "
                "(its keyforms overflow); export the model again"
            )
    for mesh_id, value in opacity.items():
        if not np.isfinite(value):
            raise error(
                f"at this pose mesh {mesh_id!r} has an opacity that is not a number; export the model again"
            )
    total = 0
    masks_drawn: set[str] = set()
    for mesh_id in draw_order:
        if opacity.get(mesh_id, 1.0) <= 0.0:
            continue
        total += box_pixels(verts[mesh_id], triangles[mesh_id], size)
        clip = clip_of.get(layer_of[mesh_id])
        if clip and clip not in masks_drawn:
            masks_drawn.add(clip)
            total += sum(box_pixels(verts[m], triangles[m], size) for m in meshes_of.get(clip, []))
        if total > limit:
            raise error(
                f"drawing this pose means testing {total / 1e6:.1f} million triangle "
                f"pixels, more than the {limit / 1e6:.1f} million the reference renderer "
                "tests per frame (overlapping or oversized triangles, or a very large "
                "image); export the model again or render a smaller --size"
            )
    return total
