# SPDX-License-Identifier: GPL-3.0-or-later
"""How sure the rig is, per parameter, that the parts it moves were found and
look right (shown in Blender's panel and the report)."""

from __future__ import annotations


import numpy as np

from .context import RigContext
from .measure import Box
from .templates import PARAMETERS


def _centre(box: Box) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def measure_confidence(ctx: RigContext) -> tuple[dict[str, float], dict[str, list[str]]]:
    """Per parameter: how sure the rig is that the parts it needs were found
    and look right.  Presence (share of the needed parts), then factors for
    implausible size or position relative to the face, left/right asymmetry,
    and parts the tool generated instead of finding.  Returns (confidence,
    reasons) by parameter id."""
    fx0, fy0, fx1, fy1 = ctx.anchors.face
    fw, fh = max(fx1 - fx0, 1.0), max(fy1 - fy0, 1.0)
    fcx = (fx0 + fx1) / 2
    face_found = "face" in ctx.boxes

    def eye_factor(side) -> tuple[float, list[str]]:
        box = ctx.eye_box(side)
        if box is None:
            return 0.0, [f"no {side} eye"]
        f, why = 1.0, []
        ex, ey = _centre(box)
        ratio = (box[2] - box[0]) / fw
        if not 0.08 <= ratio <= 0.45:
            f *= 0.6
            why.append(f"{side} eye is {ratio:.2f} of the face width (expected 0.08-0.45)")
        if not fy0 + 0.2 * fh <= ey <= fy0 + 0.75 * fh:
            f *= 0.6
            why.append(f"{side} eye sits outside the face's middle band")
        if (ex > fcx) != (side == "l"):
            f *= 0.5
            why.append(f"{side} eye is on the wrong side of the face")
        ir = ctx.boxes.get(f"irides_{side}")
        if ir is not None and not (box[0] <= _centre(ir)[0] <= box[2] and box[1] <= _centre(ir)[1] <= box[3]):
            f *= 0.7
            why.append(f"{side} iris is not inside its eye")
        return f, why

    def symmetry() -> tuple[float, list[str]]:
        a, b = ctx.eye_box("l"), ctx.eye_box("r")
        if a is None or b is None:
            return 1.0, []
        f, why = 1.0, []
        wa, wb = a[2] - a[0], b[2] - b[0]
        if max(wa, wb) > 1.45 * min(wa, wb):
            f *= 0.8
            why.append(f"the eyes differ in width ({wa:.0f} vs {wb:.0f} px)")
        (ax, ay), (bx, by) = _centre(a), _centre(b)
        if abs(ay - by) > 0.5 * max(a[3] - a[1], b[3] - b[1]):
            f *= 0.8
            why.append("the eyes are at different heights")
        if abs((ax - fcx) + (bx - fcx)) > 0.12 * fw:
            f *= 0.85
            why.append("the eyes are not mirrored about the face's middle (turned face?)")
        return f, why

    conf: dict[str, float] = {}
    reasons: dict[str, list[str]] = {}
    for pid, *_, needs in PARAMETERS:
        have = [n for n in needs if n in ctx.meshes]
        missing = [n for n in needs if n not in ctx.meshes]
        f = len(have) / len(needs)
        why = [f"missing {', '.join(missing)}"] if missing else []
        generated = [n for n in have if ctx.layers[n].generated]
        if generated:
            f *= 0.85 ** len(generated)
            why.append(f"generated, not found: {', '.join(generated)}")
        if pid.startswith("ParamAngle") and not face_found:
            f *= 0.7
            why.append("no face layer: the head box is estimated")
        side = {
            "ParamEyeLOpen": "l",
            "ParamEyeLSmile": "l",
            "ParamEyeROpen": "r",
            "ParamEyeRSmile": "r",
            "ParamBrowLY": "l",
            "ParamBrowLAngle": "l",
            "ParamBrowRY": "r",
            "ParamBrowRAngle": "r",
        }.get(pid)
        if pid.startswith("ParamEye") and side and f > 0:
            g, w = eye_factor(side)
            s, w2 = symmetry()
            f *= g * s
            why += w + w2
            if "Smile" in pid:
                f *= 0.9
                why.append("the smiling lid is a synthesised arc")
        if pid.startswith("ParamEyeBall") and f > 0:
            g = [eye_factor(sd) for sd in ("l", "r") if ctx.eye_box(sd) is not None]
            f *= float(np.mean([x[0] for x in g])) if g else 1.0
            why += [r for x in g for r in x[1]]
        if pid.startswith("ParamBrow") and f > 0:
            brow, eye = ctx.boxes.get(f"eyebrow_{side}"), ctx.eye_box(side)
            if eye is not None and not (brow[3] < _centre(eye)[1] and brow[0] < eye[2] and eye[0] < brow[2]):
                f *= 0.6
                why.append(f"the {side} brow is not above its eye")
        if pid.startswith("ParamMouth") and "mouth" in ctx.boxes:
            mx, my = _centre(ctx.boxes["mouth"])
            mw = ctx.boxes["mouth"][2] - ctx.boxes["mouth"][0]
            if not (
                fy0 + 0.5 * fh <= my <= fy1 and abs(mx - fcx) < 0.15 * fw and 0.05 * fw <= mw <= 0.5 * fw
            ):
                f *= 0.6
                why.append("the mouth's size or place in the face looks wrong")
        if pid == "ParamCheek" and f > 0:
            f *= 0.6
            why.append("the blush is generated (the format has no opacity keyform): it grows from nothing")
            if ctx.eye_box("l") is None or ctx.eye_box("r") is None:
                f *= 0.7
                why.append("eyes missing: the blush is placed by the face box only")
        if pid == "ParamHairSide" and "front-hair" in ctx.layers and "front-hair" in ctx.boxes:
            a = ctx.layers["front-hair"]
            m = a.image[..., 3] >= 128
            ys, xs = np.nonzero(m)
            xs = xs + a.x
            ys = ys + a.y
            locks = (np.abs(xs - fcx) > 0.75 * (fw / 2)) & (ys > fy0 + 0.5 * fh)
            if locks.sum() < 0.01 * max(len(xs), 1):
                f *= 0.3
                why.append("no side locks found: ParamHairSide sways the outer front hair")
        conf[pid] = round(float(np.clip(f, 0.0, 1.0)), 3)
        reasons[pid] = why
    return conf, reasons
