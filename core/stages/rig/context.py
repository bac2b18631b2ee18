# SPDX-License-Identifier: GPL-3.0-or-later
"""What the generators share: the context they read (layers, boxes, anchors,
meshes, deformers, controls), the record each generator module declares
(`Generator`: the owner of its keyforms, its creator controls and the hooks it
contributes to the build), and small helpers several generators use."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable

import numpy as np

from ...model.document import Canvas, Keyform, Layer, Mesh, WarpDeformer
from ...runtime.evaluate import warp_points
from .measure import Anchors, Box, Profile, column_profile, smoothstep
from .templates import DEFAULT_MESH_VERTICES, DEFORMER_IDS, MESH_VERTICES


@dataclass(frozen=True)
class Control:
    """One creator control: a magnitude a person tunes (a slider in Blender)."""

    name: str
    default: float
    lo: float
    hi: float
    doc: str


@dataclass(frozen=True)
class Generator:
    """A rig generator, like a Rigify rig type: it owns the keyforms it makes
    (all tagged `owner`), declares the creator controls it reads, and may
    contribute to the build's earlier steps.

    * `make(ctx)` -> the keyforms (the generate step);
    * `add_layers(canvas, layers, boxes, anchors)` -> generated layers to mesh
      too, each as (layer, id of the layer it goes right above, or None for
      the very bottom), before meshing (the blush, the underlays);
    * `prepare(ctx)` -> adjust rest meshes before the deformers are made (e.g.
      rest the mouth interior collapsed)."""

    owner: str
    make: Callable[[RigContext], list[Keyform]]
    controls: tuple[Control, ...] = ()
    add_layers: (
        Callable[[Canvas, dict[str, Layer], dict[str, Box], Anchors], list[tuple[Layer, str | None]]] | None
    ) = None
    prepare: Callable[[RigContext], None] | None = None


@dataclass
class RigContext:
    canvas: Canvas
    layers: dict[str, Layer]
    boxes: dict[str, Box]
    anchors: Anchors
    # The creator's magnitudes: a controls.RigControls (derived from the generators,
    # which use this module, so not imported here).
    controls: Any
    meshes: dict[str, Mesh] = field(default_factory=dict)  # by layer id
    deformers: dict[str, object] = field(default_factory=dict)
    warp_content: dict[str, Box] = field(default_factory=dict)  # bbox of each warp's meshes
    # Offsets that restore the drawn shape of meshes resting collapsed
    # (mouth interior, blush), by layer id.
    restores: dict[str, np.ndarray] = field(default_factory=dict)

    def mesh(self, layer_id: str) -> Mesh | None:
        return self.meshes.get(layer_id)

    def profile(self, layer_id: str) -> Profile | None:
        layer = self.layers.get(layer_id)
        if layer is None or layer_id not in self.boxes:
            return None
        return column_profile(layer)

    def eye_box(self, side: str) -> Box | None:
        return (
            self.boxes.get(f"eyewhite_{side}")
            or self.boxes.get(f"eyelash_{side}")
            or self.boxes.get(f"irides_{side}")
        )


def mesh_id(layer_id: str) -> str:
    """A layer's mesh id: the layer id, or "<id>-mesh" where a deformer has that id."""
    return layer_id + "-mesh" if layer_id in DEFORMER_IDS else layer_id


def mesh_target(layer: Layer, density: float) -> int:
    key = "mouth-interior" if layer.tag == "mouth" and layer.role == "interior" else layer.tag
    if layer.role in ("blush", "underlay"):
        key = layer.role
    return max(8, int(round(MESH_VERTICES.get(key, DEFAULT_MESH_VERTICES) * density)))


def collapse(ctx: RigContext, layer_id: str, target: np.ndarray) -> None:
    """Rest a mesh collapsed at `target` (N, 2); remember the drawn shape."""
    mesh = ctx.meshes[layer_id]
    ctx.restores[layer_id] = mesh.vertices - target
    mesh.vertices = target.astype(np.float64)


def warp_point_offset(warp: WarpDeformer, offsets: np.ndarray, point) -> np.ndarray:
    """Where the warp moves one point (used to make bones follow a warp)."""
    p = np.array([point], np.float64)
    return warp_points(warp.rest_points(), offsets, warp, p)[0] - p[0]


def through_warp(warp: WarpDeformer, offsets: np.ndarray, rest: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Mesh offsets that land `rest` points at `rest + wanted` after the warp
    (which moves them too): a few fixed-point steps (the warp is smooth)."""
    grid = warp.rest_points()
    off = wanted.copy()
    for _ in range(8):
        moved = warp_points(grid, offsets, warp, rest + off) - (rest + off)
        off = wanted - moved
    return off


def hang_weight(ctx: RigContext, wid: str, pts: np.ndarray) -> np.ndarray:
    """0 on the head, rising to 1 at the lowest hair (which rests on the shoulders)."""
    cy = ctx.anchors.face_centre[1]
    bottom = ctx.warp_content[wid][3]
    return smoothstep((pts[:, 1] - cy) / max(bottom - cy, 1.0))


def inverse_rotation(pivot, form, points: np.ndarray) -> np.ndarray:
    """Points that a rotation deformer with `form` [angle, dx, dy] maps onto `points`."""
    angle, dx, dy = float(form[0]), float(form[1]), float(form[2])
    r = math.radians(-angle)
    q = points - np.array([dx, dy]) - np.asarray(pivot)
    c, s = math.cos(r), math.sin(r)
    return np.stack([c * q[:, 0] + s * q[:, 1], -s * q[:, 0] + c * q[:, 1]], axis=1) + np.asarray(pivot)
