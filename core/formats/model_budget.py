# SPDX-License-Identifier: GPL-3.0-or-later
"""The budgets of a model.json checked on its JSON alone, before any atlas
page is decoded or any array is built for drawing (the numbers are the
player's, web/constants.json "limits"):

* the canvas: max_canvas a side (the schema's job elsewhere) and max_canvas_pixels;
* the texture list: at most max_textures names;
* triangles (max_triangles), keyform nodes (max_keyform_nodes), keyform
  numbers (max_form_numbers) and motion curve keys (max_curve_keys);
* the layers' atlas rectangles: together at most max_total_texture_pixels
  (each layer's pixels are copied out of its page, so a thousand layers on
  one huge rectangle would otherwise copy it a thousand times);
* the rest-pose raster area, the player's rule (core/runtime/raster_budget.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..model.constants import LIMITS
from ..model.document import DocumentError
from ..runtime.raster_budget import check_image_size, check_pose_work, check_rest_raster_area


def _meshes(data: dict) -> Iterator[tuple[str, str, np.ndarray, np.ndarray]]:
    for m in data["meshes"]:
        verts = np.asarray(m["vertices"], np.float64).reshape(-1, 2)
        tris = np.asarray(m["triangles"], np.int64).reshape(-1, 3)
        yield m["id"], m["layer"], verts, tris


def check_model_budgets(data: dict) -> None:
    """DocumentError when a schema-valid model.json asks for more than the
    runtime draws; call after the per-mesh checks (lengths, index ranges)."""
    width, height = int(data["canvas"]["width"]), int(data["canvas"]["height"])
    check_image_size(width, height, "the model.json canvas", DocumentError)
    if len(data["textures"]) > LIMITS["max_textures"]:
        raise DocumentError(
            f"model.json lists {len(data['textures'])} atlas pages, more than "
            f"the {LIMITS['max_textures']} the runtime supports"
        )
    rect_pixels = sum(int(l["atlas_rect"][2]) * int(l["atlas_rect"][3]) for l in data["layers"])
    if rect_pixels > LIMITS["max_total_texture_pixels"]:
        raise DocumentError(
            f"the layers' atlas rectangles hold {rect_pixels / 1e6:.0f} megapixels "
            f"together, more than the {LIMITS['max_total_texture_pixels'] / 1e6:.0f} "
            "the runtime decodes; export the model again"
        )
    triangles = sum(len(m["triangles"]) // 3 for m in data["meshes"])
    if triangles > LIMITS["max_triangles"]:
        raise DocumentError(
            f"model.json has {triangles} triangles, more than the "
            f"{LIMITS['max_triangles']} the runtime supports"
        )
    form_numbers = 0
    for k in data["keyforms"]:
        nodes = int(np.prod([len(keys) for keys in k["keys"]] or [1]))
        if nodes > LIMITS["max_keyform_nodes"]:
            raise DocumentError(
                f"keyform of {k['target']!r} has {nodes} nodes, more than the "
                f"{LIMITS['max_keyform_nodes']} the runtime supports"
            )
        form_numbers += len(k["forms"])
    if form_numbers > LIMITS["max_form_numbers"]:
        raise DocumentError("the keyforms hold more numbers than the runtime supports")
    for m in data["motions"]:
        for c in m["curves"]:
            if max(len(c["times"]), len(c["values"])) > LIMITS["max_curve_keys"]:
                raise DocumentError(
                    f"motion {m['id']!r} has a curve of more than {LIMITS['max_curve_keys']} keys"
                )
    masks = {l["clip_to"] for l in data["layers"] if l.get("clip_to")}
    check_rest_raster_area((width, height), _meshes(data), masks, DocumentError)


def check_reference_render_work(data: dict, size=None) -> None:
    """The reference renderer's own budgets, on the JSON alone, before any atlas
    page is decoded: the layer pixels it premultiplies into float RGBA
    (max_reference_layer_pixels) and its drawing work at rest
    (core/runtime/raster_budget.check_pose_work).  `size` is the image asked
    for (default: the canvas)."""
    layer_pixels = sum(int(l["atlas_rect"][2]) * int(l["atlas_rect"][3]) for l in data["layers"])
    if layer_pixels > LIMITS["max_reference_layer_pixels"]:
        raise DocumentError(
            f"the layers hold {layer_pixels / 1e6:.0f} megapixels, more than the "
            f"{LIMITS['max_reference_layer_pixels'] / 1e6:.0f} the reference renderer "
            "draws from (it holds them as 16-byte float pixels); the web player "
            "plays models up to its own budget"
        )
    size = size or (int(data["canvas"]["width"]), int(data["canvas"]["height"]))
    meshes = list(_meshes(data))
    layer_of = {mesh_id: layer for mesh_id, layer, _, _ in meshes}
    opacity = {l["id"]: float(l.get("opacity", 1.0)) for l in data["layers"]}
    check_pose_work(
        data["draw_order"],
        layer_of,
        {l["id"]: l.get("clip_to") for l in data["layers"]},
        {mesh_id: tris for mesh_id, _, _, tris in meshes},
        {mesh_id: verts for mesh_id, _, verts, _ in meshes},
        {mesh_id: opacity.get(layer, 1.0) for mesh_id, layer in layer_of.items()},
        size,
        DocumentError,
    )
