# SPDX-License-Identifier: GPL-3.0-or-later
"""The mouth: ParamMouthOpenY (the interior opens, the line drops, the jaw
follows) and ParamMouthForm (smile and frown).  The interior rests collapsed."""

from __future__ import annotations


import numpy as np

from ....model.document import Keyform
from ....runtime.evaluate import warp_points
from ..context import Control, Generator, RigContext, collapse, through_warp
from ..measure import column_profile, smoothstep

MOUTH_OPEN_NO_INTERIOR = 0.35  # drop of the mouth centre without an interior layer


def _mouth_ids(ctx: RigContext) -> tuple[str | None, str | None]:
    line = interior = None
    for lid, layer in ctx.layers.items():
        if layer.tag == "mouth" and lid in ctx.meshes:
            if layer.role == "interior":
                interior = interior or lid
            elif layer.role == "":
                line = line or lid
    return line, interior


def collapse_mouth_interior(ctx: RigContext) -> None:
    """Squash the interior mesh onto the mouth line (its rest pose)."""
    line_id, interior_id = _mouth_ids(ctx)
    if interior_id is None:
        return
    open_verts = ctx.meshes[interior_id].vertices
    target = open_verts.copy()
    if line_id is not None:
        prof = ctx.profile(line_id)
        target[:, 1] = 0.5 * (prof.top_at(open_verts[:, 0]) + prof.bottom_at(open_verts[:, 0]))
    else:
        target[:, 1] = float(open_verts[:, 1].min())
    collapse(ctx, interior_id, target)


def _jaw_field(ctx: RigContext, points: np.ndarray, drop: float) -> np.ndarray:
    """Offsets of a wide-open jaw: nothing above the mouth line, `drop` at the
    chin and below, fading towards the cheeks."""
    line_id, interior_id = _mouth_ids(ctx)
    box = ctx.boxes.get(line_id or interior_id)
    cx = ctx.anchors.face_centre[0]
    fw = ctx.anchors.face_size[0]
    mouth_y = (box[1] + box[3]) / 2
    chin_y = max(ctx.anchors.chin[1], mouth_y + 1.0)
    t = smoothstep((points[:, 1] - mouth_y) / (chin_y - mouth_y))
    wx = np.clip(1.0 - ((points[:, 0] - cx) / (0.8 * fw)) ** 2, 0.0, 1.0)
    off = np.zeros_like(points)
    off[:, 1] = drop * t * wx
    return off


def gen_mouth(ctx: RigContext) -> list[Keyform]:
    """ParamMouthOpenY: the interior opens from the mouth line, the line drops
    onto the interior's lower edge and the chin follows (face-warp keyform);
    the mouth parts land where drawn.  ParamMouthForm: corners up and out
    (smile, +) or down and in (frown, -)."""
    c = ctx.controls
    out = []
    line_id, interior_id = _mouth_ids(ctx)
    restore = ctx.restores.get(interior_id) if interior_id else None
    face_warp = ctx.deformers.get("face_warp")
    jaw = None
    if restore is not None and face_warp is not None:
        drop = c.jaw_drop * c.mouth_open * float(restore[:, 1].max())
        jaw = _jaw_field(ctx, face_warp.rest_points(), drop)
        out.append(
            Keyform(
                "face_warp",
                ["ParamMouthOpenY"],
                [[0.0, 1.0]],
                np.stack([np.zeros_like(jaw), jaw]),
                owner="mouth",
            )
        )

    if jaw is not None:
        # Parts above the mouth line that share the jaw's warp cells (the nose)
        # stay put: mesh keyforms cancel the jaw there.
        mouth_box = ctx.boxes.get(line_id or interior_id)
        mouth_y = (mouth_box[1] + mouth_box[3]) / 2
        grid = face_warp.rest_points()
        for lid, m in ctx.meshes.items():
            if m.deformer != "face_warp" or lid in (line_id, interior_id, "face"):
                continue
            moved = warp_points(grid, jaw, face_warp, m.vertices) - m.vertices
            if np.abs(moved).max() < 0.01:
                continue
            above = (m.vertices[:, 1] < mouth_y)[:, None]
            stay = through_warp(face_warp, jaw, m.vertices, np.zeros_like(m.vertices)) * above
            out.append(
                Keyform(
                    m.id,
                    ["ParamMouthOpenY"],
                    [[0.0, 1.0]],
                    np.stack([np.zeros_like(stay), stay]),
                    owner="mouth",
                )
            )

    def landed(mesh, wanted):
        if jaw is None or mesh.deformer != "face_warp":
            return wanted
        return through_warp(face_warp, jaw, mesh.vertices, wanted)

    if restore is not None:
        mesh = ctx.meshes[interior_id]
        opened = landed(mesh, restore * c.mouth_open)
        out.append(
            Keyform(
                mesh.id,
                ["ParamMouthOpenY"],
                [[0.0, 1.0]],
                np.stack([np.zeros_like(opened), opened]),
                owner="mouth",
            )
        )
    if line_id is None:
        return out
    line_prof = ctx.profile(line_id)
    mesh = ctx.meshes[line_id]
    v = mesh.vertices
    box = ctx.boxes[line_id]
    mcx, half_w = (box[0] + box[2]) / 2, max((box[2] - box[0]) / 2, 1.0)
    if restore is not None:
        inner = column_profile(ctx.layers[interior_id])
        below = np.interp(v[:, 0], inner.xs, inner.bottom, left=np.nan, right=np.nan)
        rest_line = 0.5 * (line_prof.top_at(v[:, 0]) + line_prof.bottom_at(v[:, 0]))
        # the interior's bottom at this opening: it hangs from the line
        below = rest_line + (below - rest_line) * c.mouth_open
        drop = np.clip(np.nan_to_num(below - line_prof.bottom_at(v[:, 0]), nan=0.0), 0.0, None)
    else:
        u = np.clip((v[:, 0] - mcx) / half_w, -1, 1)
        drop = MOUTH_OPEN_NO_INTERIOR * c.mouth_open * half_w * (1 - u**2)
    wanted = np.zeros_like(v)
    wanted[:, 1] = drop
    opened = landed(mesh, wanted)
    out.append(
        Keyform(
            mesh.id, ["ParamMouthOpenY"], [[0.0, 1.0]], np.stack([np.zeros_like(v), opened]), owner="mouth"
        )
    )
    for mid in (line_id, interior_id):
        if mid is None:
            continue
        m = ctx.meshes[mid]
        u = np.clip((m.vertices[:, 0] - mcx) / half_w, -1.2, 1.2)
        smile = np.zeros_like(m.vertices)
        smile[:, 1] = -c.mouth_form_curve * 2 * half_w * u**2  # corners up
        smile[:, 0] = c.mouth_form_width * half_w * u  # and out
        out.append(
            Keyform(
                m.id,
                ["ParamMouthForm"],
                [[-1.0, 0.0, 1.0]],
                np.stack([-smile, np.zeros_like(smile), smile]),
                owner="mouth",
            )
        )
    return out


MOUTH = Generator(
    "mouth",
    gen_mouth,
    (
        Control("mouth_open", 1.0, 0.2, 1.5, "1 = the drawn interior's full height"),
        Control("jaw_drop", 0.1, 0.0, 0.8, "chin drop at a wide-open mouth, of the interior height"),
        Control("mouth_form_curve", 0.16, 0.0, 0.35, "corner lift, of the mouth width"),
        Control(
            "mouth_form_width", 0.08, 0.0, 0.25, "corners move out (smile) / in (frown), of the half width"
        ),
    ),
    prepare=collapse_mouth_interior,
)
