# SPDX-License-Identifier: GPL-3.0-or-later
"""Play a .moc3 the way the Cubism Core does, in numpy, and draw it.

This is our own reading of the format's semantics (core/formats/moc3.py lists the
layout), for the subset our exporter writes -- quad warps, rotations,
rotations under rotations, warps under rotations or the root, one draw
order group -- and it refuses files that need more (glue, mirrored or
warp-parented rotations, triangle warps, nested draw order groups) in words.
It lets our own tools open an exported .moc3 (``python -m image_to_rig
render model.moc3``) and checks the exporter where the official Core is not
installed; where it is, tests/test_moc3.py holds both to the Core.

Semantics, as measured against the Core:

* Parameter values are clamped to min..max; a value closer than
  10**-decimals to a key snaps onto it.
* Each object's keyforms form one grid over its keyform binding's
  parameters (first fastest), interpolated multilinearly.  An object whose
  parameter lies outside its keys is not drawn.
* A rotation maps a child point p to origin + scale * R(angle) p (counter-
  clockwise in the y-down file space); a child rotation's origin goes
  through its parent, its angle and scale add to / multiply the parent's.
  A warp's control points go through its parent; a point (u, v) in 0..1
  takes the bilinear interpolation of its grid cell.
* Opacity: the art mesh's keyform opacity times its deformers' and parts'.
* The Core reports positions with y up: (x, -y) of the file's root space.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from collections.abc import Sequence

import cv2
import numpy as np

from .atlas_in import read_atlas_pages
from .json_text import read_json, read_json_or_none
from .moc3 import Moc3Error, Moc3File, read_moc3
from ..runtime.render import rasterize_uv


@dataclass
class Moc3State:
    """Drawables at one pose: positions in Core units (y up, as the Core
    reports them), opacity, visibility and render order (rank per drawable)."""

    positions: list[np.ndarray]
    opacities: np.ndarray
    visible: np.ndarray
    render_orders: np.ndarray

    def pixels(self, moc: Moc3File) -> list[np.ndarray]:
        """Positions in canvas pixels (y down)."""
        c = moc.canvas
        return [
            np.stack(
                [c.origin_x + p[:, 0] * c.pixels_per_unit, c.origin_y - p[:, 1] * c.pixels_per_unit], axis=1
            )
            for p in self.positions
        ]


class Moc3Model:
    """A parsed .moc3 ready to evaluate; `evaluate(values)` gives a Moc3State."""

    def __init__(self, moc: Moc3File):
        self.moc = moc
        c = moc.counts
        if c["glue"]:
            raise Moc3Error("this .moc3 uses glue, which this tool does not evaluate")
        if c["draw_order_groups"] != 1 or np.any(moc["draw_order_group_objects.type"] != 0):
            raise Moc3Error("this .moc3 nests draw order groups in parts, which this tool does not evaluate")
        if c["warp_deformers"] and (
            "warp_deformers.is_quad" not in moc.arrays or np.any(moc["warp_deformers.is_quad"] == 0)
        ):
            raise Moc3Error(
                "this .moc3 has triangle-interpolated warps (Cubism 3.0 style), which "
                "this tool does not evaluate"
            )
        if np.any(moc["rotation_deformer_keyforms.reflect_x"]) or np.any(
            moc["rotation_deformer_keyforms.reflect_y"]
        ):
            raise Moc3Error("this .moc3 mirrors rotation deformers, which this tool does not evaluate")
        self.param_ids = list(moc["parameters.ids"])
        self.lo = moc["parameters.min"].astype(np.float64)
        self.hi = moc["parameters.max"].astype(np.float64)
        self.default = moc["parameters.default"].astype(np.float64)
        self.snap = 10.0 ** -moc["parameters.decimal_places"].astype(np.float64)
        # Parameter of every parameter binding, and the keys of each.
        owner = np.full(c["parameter_bindings"], -1, np.int64)
        for i, (b, n) in enumerate(zip(moc["parameters.binding_begin"], moc["parameters.binding_count"])):
            owner[int(b) : int(b) + int(n)] = i
        if np.any(owner < 0):
            raise Moc3Error("the moc3 is corrupt: a parameter binding belongs to no parameter")
        keys = moc["keys.value"].astype(np.float64)
        self.binding_keys = [
            keys[int(b) : int(b) + int(n)]
            for b, n in zip(moc["parameter_bindings.keys_begin"], moc["parameter_bindings.keys_count"])
        ]
        self.keyform_bindings = []
        idx = moc["parameter_binding_indices.binding"]
        for b, n in zip(moc["keyform_bindings.index_begin"], moc["keyform_bindings.index_count"]):
            pbs = [int(i) for i in idx[int(b) : int(b) + int(n)]]
            self.keyform_bindings.append([(int(owner[p]), self.binding_keys[p]) for p in pbs])
        xy = moc["keyform_positions.xy"].astype(np.float64)
        # Deformers in an order where every parent comes first.
        parents = [int(p) for p in moc["deformers.parent_deformer"]]
        depth = []
        for i in range(c["deformers"]):
            d, node = 0, parents[i]
            while node != -1:
                d, node = d + 1, parents[node]
            depth.append(d)
        self.deformer_order = sorted(range(c["deformers"]), key=lambda i: depth[i])
        self.deformers = []
        for i in range(c["deformers"]):
            kind, k = int(moc["deformers.type"][i]), int(moc["deformers.specific_index"][i])
            parent = parents[i]
            if kind == 1 and parent != -1 and int(moc["deformers.type"][parent]) == 0:
                raise Moc3Error(
                    f"rotation deformer {moc['deformers.ids'][i]!r} sits under a warp, "
                    f"which this tool does not evaluate"
                )
            if kind == 0:
                begin, count = (
                    int(moc["warp_deformers.keyform_begin"][k]),
                    int(moc["warp_deformers.keyform_count"][k]),
                )
                n = int(moc["warp_deformers.vertex_count"][k])
                starts = moc["warp_deformer_keyforms.position_begin"][begin : begin + count]
                forms = np.stack([xy[int(s) : int(s) + 2 * n].reshape(n, 2) for s in starts])
                self.deformers.append(
                    dict(
                        kind=0,
                        parent=parent,
                        forms=forms,
                        binding=int(moc["warp_deformers.keyform_binding_index"][k]),
                        opacity=moc["warp_deformer_keyforms.opacity"][begin : begin + count].astype(
                            np.float64
                        ),
                        rows=int(moc["warp_deformers.rows"][k]),
                        cols=int(moc["warp_deformers.columns"][k]),
                    )
                )
            else:
                begin = int(moc["rotation_deformers.keyform_begin"][k])
                count = int(moc["rotation_deformers.keyform_count"][k])
                sl = slice(begin, begin + count)
                forms = np.stack(
                    [
                        moc["rotation_deformer_keyforms.angle"][sl],
                        moc["rotation_deformer_keyforms.origin_x"][sl],
                        moc["rotation_deformer_keyforms.origin_y"][sl],
                        moc["rotation_deformer_keyforms.scale"][sl],
                    ],
                    axis=1,
                ).astype(np.float64)
                self.deformers.append(
                    dict(
                        kind=1,
                        parent=parent,
                        forms=forms,
                        binding=int(moc["rotation_deformers.keyform_binding_index"][k]),
                        opacity=moc["rotation_deformer_keyforms.opacity"][sl].astype(np.float64),
                        base=float(moc["rotation_deformers.base_angle"][k]),
                    )
                )
        self.meshes = []
        for i in range(c["art_meshes"]):
            begin, count = int(moc["art_meshes.keyform_begin"][i]), int(moc["art_meshes.keyform_count"][i])
            n = int(moc["art_meshes.vertex_count"][i])
            starts = moc["art_mesh_keyforms.position_begin"][begin : begin + count]
            self.meshes.append(
                dict(
                    forms=np.stack([xy[int(s) : int(s) + 2 * n].reshape(n, 2) for s in starts]),
                    opacity=moc["art_mesh_keyforms.opacity"][begin : begin + count].astype(np.float64),
                    draw=moc["art_mesh_keyforms.draw_order"][begin : begin + count].astype(np.float64),
                    binding=int(moc["art_meshes.keyform_binding_index"][i]),
                    parent=int(moc["art_meshes.parent_deformer"][i]),
                    part=int(moc["art_meshes.parent_part"][i]),
                )
            )
        self.part_parent = [int(p) for p in moc["parts.parent_part"]]

    # ------------------------------------------------------------ interpolation
    def values(self, values: dict[str, float] | None = None) -> np.ndarray:
        v = self.default.copy()
        for i, pid in enumerate(self.param_ids):
            if values and pid in values:
                v[i] = float(values[pid])
        return np.clip(v, self.lo, self.hi)

    def weights(self, binding: int, v: np.ndarray):
        """(node weights in file order, inside the keys?) of one keyform binding."""
        w = np.ones(1)
        inside = True
        for param, keys in self.keyform_bindings[binding]:
            x = v[param]
            near = np.abs(keys - x) < self.snap[param]
            if near.any():
                x = float(keys[np.argmax(near)])
            tent = np.zeros(len(keys))
            if x < keys[0] or x > keys[-1]:
                inside = False
                x = min(max(x, keys[0]), keys[-1])
            if len(keys) == 1:
                tent[0] = 1.0
            else:
                j = int(min(max(np.searchsorted(keys, x, side="right") - 1, 0), len(keys) - 2))
                t = (x - keys[j]) / (keys[j + 1] - keys[j])
                tent[j], tent[j + 1] = 1.0 - t, t
            w = np.outer(tent, w).ravel()  # later parameters vary slowest
        return w, inside

    @staticmethod
    def _warp(grid: np.ndarray, rows: int, cols: int, p: np.ndarray) -> np.ndarray:
        g = grid.reshape(rows + 1, cols + 1, 2)
        u, v = p[:, 0] * cols, p[:, 1] * rows
        i = np.clip(np.floor(u), 0, cols - 1).astype(np.int64)
        j = np.clip(np.floor(v), 0, rows - 1).astype(np.int64)
        fu, fv = (u - i)[:, None], (v - j)[:, None]
        return (
            (1 - fu) * (1 - fv) * g[j, i]
            + fu * (1 - fv) * g[j, i + 1]
            + (1 - fu) * fv * g[j + 1, i]
            + fu * fv * g[j + 1, i + 1]
        )

    def evaluate(self, values: dict[str, float] | None = None) -> Moc3State:
        v = self.values(values)
        # Deformers, parents first: warps as grids in root space, rotations as
        # (origin in root space, angle, scale); each with opacity and visibility.
        state: dict[int, dict] = {}
        for i in self.deformer_order:
            d = self.deformers[i]
            w, inside = self.weights(d["binding"], v)
            form = np.tensordot(w, d["forms"], axes=(0, 0))
            opacity = float(w @ d["opacity"])
            parent = state.get(d["parent"])
            if parent is not None:
                opacity *= parent["opacity"]
                inside = inside and parent["visible"]
            if d["kind"] == 0:
                grid = self._through(parent, form)
                state[i] = dict(
                    kind=0, grid=grid, rows=d["rows"], cols=d["cols"], opacity=opacity, visible=inside
                )
            else:
                angle, scale = float(form[0]) + d["base"], float(form[3])
                origin = form[1:3][None]
                if parent is not None:
                    origin = self._through(parent, origin)
                    angle += parent["angle"]
                    scale *= parent["scale"]
                state[i] = dict(
                    kind=1, origin=origin[0], angle=angle, scale=scale, opacity=opacity, visible=inside
                )
        part_opacity = np.ones(len(self.part_parent))
        positions, opacities, visible, draw = [], [], [], []
        for m in self.meshes:
            w, inside = self.weights(m["binding"], v)
            pts = self._through(state.get(m["parent"]), np.tensordot(w, m["forms"], axes=(0, 0)))
            opacity = float(w @ m["opacity"])
            parent = state.get(m["parent"])
            if parent is not None:
                opacity *= parent["opacity"]
                inside = inside and parent["visible"]
            part = m["part"]
            while part != -1:
                opacity *= part_opacity[part]
                part = self.part_parent[part]
            positions.append(np.stack([pts[:, 0], -pts[:, 1]], axis=1))
            opacities.append(opacity)
            visible.append(inside)
            draw.append(int(round(float(w @ m["draw"]))))
        order = sorted(range(len(self.meshes)), key=lambda i: (draw[i], i))
        ranks = np.empty(len(order), np.int64)
        ranks[order] = np.arange(len(order))
        return Moc3State(positions, np.array(opacities), np.array(visible, bool), ranks)

    def _through(self, parent: dict | None, points: np.ndarray) -> np.ndarray:
        if parent is None:
            return points
        if parent["kind"] == 0:
            return self._warp(parent["grid"], parent["rows"], parent["cols"], points)
        a = math.radians(parent["angle"])
        c, s = math.cos(a), math.sin(a)
        k = parent["scale"]
        x, y = points[:, 0], points[:, 1]
        return parent["origin"] + k * np.stack([c * x - s * y, s * x + c * y], axis=1)


def load_moc3(path: str) -> Moc3Model:
    """Read, check and prepare a .moc3 file; Moc3Error in words otherwise."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise Moc3Error(f"cannot read {path}: {exc.strerror}") from None
    return Moc3Model(read_moc3(data))


# --------------------------------------------------------------------------- drawing


def _premultiplied(img: np.ndarray) -> np.ndarray:
    f = img.astype(np.float32) / 255.0
    f[..., :3] *= f[..., 3:4]
    return f


def render_drawables(
    moc: Moc3File, state: Moc3State, pages: Sequence[np.ndarray], size: tuple | None = None
) -> np.ndarray:
    """Straight-alpha RGBA uint8 image of a Moc3State (e.g. from the Core),
    drawn with our reference rasteriser and the same sampling and compositing
    as core/runtime/render.py: masks multiply by their drawables' rendered alpha."""
    c = moc.canvas
    w, h = size or (int(round(c.width)), int(round(c.height)))
    textures = [_premultiplied(p) for p in pages]
    pixels = state.pixels(moc)
    uv_begin, counts = moc["art_meshes.uv_begin"], moc["art_meshes.vertex_count"]
    tri_begin, tri_count = moc["art_meshes.index_begin"], moc["art_meshes.index_count"]
    uvs_all, tris_all = moc["uvs.uv"].astype(np.float64), moc["position_indices.index"].astype(np.int64)
    texture_of = moc["art_meshes.texture"]
    mask_begin, mask_count = moc["art_meshes.mask_begin"], moc["art_meshes.mask_count"]
    masks_all = moc["drawable_masks.art_mesh"]
    cache: dict[int, tuple] = {}

    def region(i: int):
        if i in cache:
            return cache[i]
        verts = pixels[i]
        tex = textures[int(texture_of[i])]
        th, tw = tex.shape[:2]
        uv = uvs_all[int(uv_begin[i]) : int(uv_begin[i]) + 2 * int(counts[i])].reshape(-1, 2)
        uv_px = uv * np.array([tw, th])  # the file's v points down, like model.json's
        tris = tris_all[int(tri_begin[i]) : int(tri_begin[i]) + int(tri_count[i])].reshape(-1, 3)
        x0 = int(max(np.floor(verts[:, 0].min()) - 1, 0))
        y0 = int(max(np.floor(verts[:, 1].min()) - 1, 0))
        x1 = int(min(np.ceil(verts[:, 0].max()) + 1, w))
        y1 = int(min(np.ceil(verts[:, 1].max()) + 1, h))
        result = None
        if x1 > x0 and y1 > y0:
            mu, mv, covered = rasterize_uv(verts - np.array([x0, y0]), uv_px, tris, (x1 - x0, y1 - y0))
            if covered.any():
                sampled = cv2.remap(
                    tex,
                    mu - 0.5,
                    mv - 0.5,
                    cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_CONSTANT,
                    borderValue=(0, 0, 0, 0),
                )
                sampled[~covered] = 0.0
                result = (sampled, x0, y0)
        cache[i] = result
        return result

    out = np.zeros((h, w, 4), np.float32)
    for i in np.argsort(state.render_orders):
        i = int(i)
        if not state.visible[i] or state.opacities[i] <= 0.0:
            continue
        part = region(i)
        if part is None:
            continue
        src, x0, y0 = part
        src = src.copy()
        ys, xs = slice(y0, y0 + src.shape[0]), slice(x0, x0 + src.shape[1])
        if mask_count[i]:
            alpha = np.zeros((h, w), np.float32)
            for k in masks_all[int(mask_begin[i]) : int(mask_begin[i]) + int(mask_count[i])]:
                mp = region(int(k))
                if mp is None:
                    continue
                mimg, mx, my = mp
                r = alpha[my : my + mimg.shape[0], mx : mx + mimg.shape[1]]
                r[...] = mimg[..., 3] + r * (1.0 - mimg[..., 3])
            src *= alpha[ys, xs, None]
        if state.opacities[i] != 1.0:
            src *= float(state.opacities[i])
        dst = out[ys, xs]
        dst[...] = src + dst * (1.0 - src[..., 3:4])
    alpha = out[..., 3:4]
    rgb = np.where(alpha > 1e-6, out[..., :3] / np.maximum(alpha, 1e-6), 0.0)
    img = np.concatenate([rgb, alpha], axis=2)
    return np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)


def _safe_name(name, what: str, where: str) -> str:
    if not isinstance(name, str) or not name or os.path.basename(name) != name or name in (".", ".."):
        raise Moc3Error(f"{where} names its {what} {name!r}; only a plain file name beside it is read")
    return name


def open_cubism_model(path: str):
    """A .moc3 or a .model3.json -> (Moc3File, Moc3Model, atlas pages RGBA).
    The textures come from the model3.json that names the .moc3 (beside it)."""
    path = os.path.abspath(path)
    folder = os.path.dirname(path)
    if path.endswith(".model3.json"):
        model3_path = path
    else:
        candidates = [n for n in sorted(os.listdir(folder)) if n.endswith(".model3.json")]
        model3_path = None
        for name in candidates:
            data = read_json_or_none(os.path.join(folder, name), lambda d: isinstance(d, dict))
            refs = data.get("FileReferences") if data else None
            if isinstance(refs, dict) and refs.get("Moc") == os.path.basename(path):
                model3_path = os.path.join(folder, name)
                break
        if model3_path is None:
            raise Moc3Error(
                f"no .model3.json beside {os.path.basename(path)} names it; its textures are listed there"
            )
    where = os.path.basename(model3_path)
    try:
        refs = read_json(model3_path, Moc3Error, where=where)["FileReferences"]
        moc_name, textures = refs["Moc"], list(refs["Textures"])
    except (KeyError, TypeError):
        raise Moc3Error(
            f"{where} is not a Cubism model3.json (it needs FileReferences with Moc and Textures)"
        ) from None
    moc_path = os.path.join(folder, _safe_name(moc_name, "Moc", where))
    if not moc_path.endswith(".moc3"):
        raise Moc3Error(f"{where} names {moc_name} as its Moc, not a .moc3")
    try:
        with open(moc_path, "rb") as fh:
            moc = read_moc3(fh.read())
    except OSError as exc:
        raise Moc3Error(f"cannot read {moc_name}: {exc.strerror}") from None
    model = Moc3Model(moc)
    # Checked by their PNG headers against the budgets before decoding (core/formats/atlas_in.py).
    pages = read_atlas_pages(folder, [_safe_name(n, "texture", where) for n in textures], Moc3Error)
    used = moc["art_meshes.texture"]
    if len(used) and int(used.max()) >= len(pages):
        raise Moc3Error(f"{moc_name} draws from texture {int(used.max())}, but {where} lists {len(pages)}")
    return moc, model, pages
