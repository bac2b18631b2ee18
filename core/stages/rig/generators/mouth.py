# SPDX-License-Identifier: GPL-3.0-or-later
"""The mouth: ParamMouthOpenY (the interior opens, the line drops, the jaw
follows) and ParamMouthForm (smile and frown).  The interior rests collapsed."""

from __future__ import annotations


from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ....model.document import Keyform
from ....runtime.evaluate import warp_points
from ..context import Control, Generator, RigContext, collapse, through_warp
from ...complete.mouth import MOUTH_INTERIOR
from ..measure import column_profile, smoothstep

MOUTH_OPEN_NO_INTERIOR = 0.35  # drop of the mouth centre without an interior layer
# ParamMouthForm -1 is the frown (Cubism's standard: frown to smile); open, it is
# the round, corners-down mouth of shock and of the dark vowels ("o", "u"):
# this share of the frown's corner drop stays on the round opening
ROUND_KEEPS_FROWN = 0.5


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
    mesh = ctx.meshes[line_id]
    v = mesh.vertices
    box = ctx.boxes[line_id]
    mcx, half_w = (box[0] + box[2]) / 2, max((box[2] - box[0]) / 2, 1.0)
    wanted = _line_open_offsets(ctx, line_id, interior_id if restore is not None else None, mcx, half_w)
    opened = landed(mesh, wanted)
    out.append(
        Keyform(
            mesh.id, ["ParamMouthOpenY"], [[0.0, 1.0]], np.stack([np.zeros_like(v), opened]), owner="mouth"
        )
    )
    if restore is not None:
        mouth = _OpenMouth(ctx, line_id, interior_id, restore, wanted, landed, mcx, half_w)
        out += _merge_correctives(_grin(mouth) + _round_o(mouth))
    for mid in (line_id, interior_id):
        if mid is None:
            continue
        m = ctx.meshes[mid]
        smile = _smile_offsets(c, m.vertices, mcx, half_w)
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


def _line_open_offsets(
    ctx: RigContext, line_id: str, interior_id: str | None, mcx: float, half_w: float
) -> np.ndarray:
    """Where the open mouth puts the lip line (offsets before the jaw's warp):
    onto the open interior's lower edge, or, without an interior, a drop
    bowed across the mouth (about its centre `mcx`, `half_w` wide each side)."""
    c = ctx.controls
    line_prof = ctx.profile(line_id)
    v = ctx.meshes[line_id].vertices
    if interior_id is not None:
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
    return wanted


def _smile_offsets(c, vertices: np.ndarray, mcx: float, half_w: float) -> np.ndarray:
    """ParamMouthForm +1's offsets of a mouth mesh: corners up and out (the
    frown, -1, is their negative)."""
    u = np.clip((vertices[:, 0] - mcx) / half_w, -1.2, 1.2)
    smile = np.zeros_like(vertices)
    smile[:, 1] = -c.mouth_form_curve * 2 * half_w * u**2  # corners up
    smile[:, 0] = c.mouth_form_width * half_w * u  # and out
    return smile


# The open mouth's correctives: one keyform per mesh on ParamMouthOpenY x
# ParamMouthForm, nodes (open 0, 1) x (form -1, 0, +1) row-major; only the open
# ones away from form 0 are set: the round mouth and the grin.
CORRECTIVE_PARAMS = ["ParamMouthOpenY", "ParamMouthForm"]
CORRECTIVE_KEYS = [[0.0, 1.0], [-1.0, 0.0, 1.0]]
ROUND_NODE, GRIN_NODE = 3, 5


def _corrective(target: str, node: int, form: np.ndarray) -> Keyform:
    """A corrective keyform on the open mouth's grid, zero but at `node`."""
    forms = np.zeros((6,) + form.shape)
    forms[node] = form
    return Keyform(target, list(CORRECTIVE_PARAMS), [list(k) for k in CORRECTIVE_KEYS], forms, owner="mouth")


@dataclass
class _OpenMouth:
    """What the open mouth's corrective shapes are drawn from: the mouth's
    meshes, the interior's and the line's opening offsets, the jaw's landing
    function and the mouth line's centre and half width."""

    ctx: RigContext
    line_id: str | None
    interior_id: str
    restore: np.ndarray
    line_open: np.ndarray  # the lip line's open offsets (before the jaw's warp)
    landed: Callable
    mcx: float
    half_w: float


def _grin(m: _OpenMouth) -> list[Keyform]:
    """The open smile (ParamMouthOpenY 1 with ParamMouthForm +1): a wide,
    shallow grin full of upper teeth, as an open smile is drawn, rather than
    the open mouth with its corners lifted.  A corrective keyform on both
    parameters, at its node open 1 x form +1 (zero wherever either is at
    rest; `_round_o` fills the frown's node): the
    interior widens about the mouth's centre to the mouth line's corners
    (lifted with them as ParamMouthForm lifts the line), its teeth band
    deepens, the part under the teeth flattens, and the lip line drops only
    as far as the flatter interior reaches."""
    c = m.ctx.controls
    mesh = m.ctx.meshes[m.interior_id]
    rest = mesh.vertices
    opened = rest + m.restore * c.mouth_open
    prof = column_profile(m.ctx.layers[m.interior_id])
    inner_half = max(0.5 * (prof.xs[-1] - prof.xs[0]) + 0.5, 1.0)
    widen = max(1.0, c.grin_width * m.half_w / inner_half)
    top = np.interp(m.restore[:, 0] + rest[:, 0], prof.xs, prof.top)
    height = np.interp(m.restore[:, 0] + rest[:, 0], prof.xs, prof.bottom) - top
    top = rest[:, 1] + (top - rest[:, 1]) * c.mouth_open
    height = np.maximum(height * c.mouth_open, 1e-6)
    v = np.clip((opened[:, 1] - top) / height, 0.0, 1.0)
    teeth = MOUTH_INTERIOR["teeth_depth"]
    grin_v = np.interp(v, [0.0, teeth, 1.0], [0.0, min(teeth * c.grin_teeth, c.grin_depth), c.grin_depth])
    grin = opened.copy()
    grin[:, 0] = m.mcx + (opened[:, 0] - m.mcx) * widen
    grin[:, 1] = top + grin_v * height
    # the smile form lifts each vertex by where it rests; at the grin it stands wider
    u_rest = np.clip((rest[:, 0] - m.mcx) / m.half_w, -1.2, 1.2)
    u_grin = np.clip((grin[:, 0] - m.mcx) / m.half_w, -1.2, 1.2)
    grin[:, 1] -= c.mouth_form_curve * 2 * m.half_w * (u_grin**2 - u_rest**2)
    want = m.landed(mesh, grin - rest) - m.landed(mesh, opened - rest)
    out = [_corrective(mesh.id, GRIN_NODE, want)]
    if m.line_id is not None:
        line = m.ctx.meshes[m.line_id]
        lv = line.vertices
        # the line hangs from the open interior's bottom: now from the grin's
        inner_h = prof.bottom - prof.top
        was = np.interp(lv[:, 0], prof.xs, inner_h, left=0.0, right=0.0)
        now = c.grin_depth * np.interp(
            (lv[:, 0] - m.mcx) / widen + m.mcx, prof.xs, inner_h, left=0.0, right=0.0
        )
        lift = np.zeros_like(lv)
        lift[:, 1] = (now - was) * c.mouth_open
        out.append(_corrective(line.id, GRIN_NODE, m.landed(line, lift)))
    return out


def _round_o(m: _OpenMouth) -> list[Keyform]:
    """The round open mouth (ParamMouthOpenY 1 with ParamMouthForm -1): an "o",
    as shock and the dark vowels ("o", "u") are drawn, rather than the wide
    open mouth with its corners pulled down.  A corrective keyform on both
    parameters, at its node open 1 x form -1 (zero wherever either is at
    rest; `_grin` fills the smile's node): the
    interior narrows about the mouth's centre to `round_width` of the open
    mouth's width and keeps its height, its upper lip arching up in the
    middle (`round_rise`), the lip line narrows to its corners, and half the
    frown's corner drop stays (ROUND_KEEPS_FROWN: a shocked "o" whose
    corners turn down a little, still ParamMouthForm's frown side)."""
    c = m.ctx.controls
    out = []
    for mid in (m.interior_id, m.line_id):
        if mid is None:
            continue
        mesh = m.ctx.meshes[mid]
        rest = mesh.vertices
        opened_off = m.restore * c.mouth_open if mid == m.interior_id else m.line_open
        opened = rest + opened_off
        frown = -_smile_offsets(c, rest, m.mcx, m.half_w)  # what ParamMouthForm -1 adds
        o = opened.copy()
        # the line narrows to the round interior's corners (the interior is
        # narrower than the line it opens from)
        narrow = c.round_width * (1.0 if mid == m.interior_id else MOUTH_INTERIOR["width_scale"])
        o[:, 0] = m.mcx + (opened[:, 0] - m.mcx) * narrow
        if mid == m.interior_id:
            # the upper lip arches up in the middle: a round opening, not a "D"
            height = max(float(m.restore[:, 1].max()) * c.mouth_open, 1e-6)
            top, bottom = float(opened[:, 1].min()), float(opened[:, 1].max())
            v = np.clip((opened[:, 1] - top) / max(bottom - top, 1e-6), 0.0, 1.0)
            uo = np.clip((opened[:, 0] - m.mcx) / m.half_w, -1.0, 1.0)
            o[:, 1] -= c.round_rise * height * (1.0 - v) * (1.0 - uo**2)
        want = m.landed(mesh, o - rest) - m.landed(mesh, opened_off) - (1.0 - ROUND_KEEPS_FROWN) * frown
        out.append(_corrective(mesh.id, ROUND_NODE, want))
    return out


def _merge_correctives(keyforms: list[Keyform]) -> list[Keyform]:
    """One keyform per mesh on (ParamMouthOpenY, ParamMouthForm): the grin's
    and the round mouth's correctives sit at different nodes of the same grid."""
    merged: dict[str, Keyform] = {}
    for kf in keyforms:
        have = merged.get(kf.target)
        if have is None:
            merged[kf.target] = kf
        else:
            have.forms = have.forms + kf.forms
    return list(merged.values())


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
        Control("grin_width", 1.0, 0.6, 1.4, "an open smile's width, of the mouth line's"),
        Control("grin_depth", 0.75, 0.3, 1.0, "an open smile's depth, of the open mouth's"),
        Control("grin_teeth", 1.6, 1.0, 3.0, "an open smile's upper teeth, of the open mouth's"),
        Control("round_width", 0.55, 0.3, 1.0, "a round open mouth's width (form -1), of the open mouth's"),
        Control(
            "round_rise", 0.3, 0.0, 0.6, "a round open mouth's upper lip arch, of the open mouth's height"
        ),
    ),
    prepare=collapse_mouth_interior,
)
