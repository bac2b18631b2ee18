# SPDX-License-Identifier: GPL-3.0-or-later
"""Stage 4 of the pipeline (complete): amodal completion: paint in what other parts hide,
add generated parts.

A part may only grow where a part in front of it covers the canvas, so the
completed layers composited at rest still give the input image.

* face: skin under the fringe, side locks, eyes, brows, nose and mouth (so a
  closed eye or a moved fringe shows skin);
* back hair: the hair mass behind the head, face and neck, its hidden bottom edge
  continuing the visible one smoothly and outlined like it;
* neck: up under the chin and down under the collar, its side outlines running on;
* outline pieces a front part took in the input (a lock's end over the back
  hair's edge, the face over the neck's sides) move back to their own part;
* eyewhite: the whole eye opening under the iris and lashes;
* irides: a full ellipse under the lids;
* topwear: under hair that falls over it;
* generated: the mouth interior (a pink-red cavity on painted art, the ink on
  line art, with a tongue and upper teeth; mouth.py), collapsed at rest by
  the rig and opened with ParamMouthOpenY; a closed lid per eye (the upper lash
  brought down onto a lid line, eyes.py), which the rig fades in as the eye
  closes.

Hidden colours are painted by extending the part's shape and blending the
part's own colours (near its commonest colour, off its rim: no strokes, no
background) over the hole, on a downscaled crop (or by an `inpaint` hook).

Rims: a back part's visible pixels next to a feature in front of it (eye, brow,
mouth, fringe) are anti-aliased mixes.  They are painted clean in the back part
and the mix moves into the front part as semi-transparent pixels chosen so the
image at rest is unchanged (`_unmix_rims`): a closed eye or a swaying fringe
leaves no outline ghost on the skin.  The eyewhite is completed as clean white
shaded like its visible part at the same depth below the upper lid.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ...model.document import Canvas, Layer, layer_id
from ...model.errors import ImageToRigError
from ..landmarks import FaceLandmarks
from .back_hair import _complete_back_hair
from .eyes import _complete_eyewhite, _complete_iris, make_closed_lid
from .face import _complete_face, _rim_width
from .mouth import drawn_colour, make_mouth_interior  # noqa: F401 (the generated mouth, as data)
from .neck import _complete_neck
from .outlines import _claim_outline
from .paint import _INPAINT_HOOK, _grown, _hull, _rim_of, _unmix_rims


class CompletionError(ImageToRigError):
    """The layers handed to completion are inconsistent."""


def complete_layers(
    layers: Sequence[Layer], canvas: Canvas, lm: FaceLandmarks, inpaint: Callable | None = None
) -> list[Layer]:
    """Completed copies of `layers` (same order) plus the generated mouth interior.
    `inpaint(rgba crop, hole mask, layer) -> rgba crop` replaces the built-in
    OpenCV painting of hidden regions (core/backends); only hole pixels are used."""
    token = _INPAINT_HOOK.set(inpaint)
    try:
        return _complete_layers(layers, canvas, lm)
    finally:
        _INPAINT_HOOK.reset(token)


def _complete_layers(layers: Sequence[Layer], canvas: Canvas, lm: FaceLandmarks) -> list[Layer]:
    layers = list(layers)
    ids = [l.id for l in layers]
    if len(set(ids)) != len(ids):
        raise CompletionError("layer ids must be unique")
    vis = {l.id: l.full_mask(canvas, visible=True) for l in layers}
    # what covers each layer: the union of everything drawn opaque in front of it
    in_front: dict[str, np.ndarray] = {}
    acc = np.zeros((canvas.height, canvas.width), bool)
    for layer in reversed(layers):
        in_front[layer.id] = acc.copy()
        acc |= vis[layer.id] & (layer.full_canvas(canvas)[..., 3] == 255)
    by_id = {l.id: l for l in layers}

    def union(pred) -> np.ndarray:
        out = np.zeros((canvas.height, canvas.width), bool)
        for l in layers:
            if pred(l):
                out |= vis[l.id]
        return out

    out: dict[str, Layer] = {}
    face_amodal = None
    feature_tags = ("eyewhite", "irides", "eyelash", "eyebrow", "nose", "mouth")
    if "face" in by_id:
        features = union(lambda l: l.tag in feature_tags)
        # the fringe's outline and anti-aliasing on the skin go to the hair too (no
        # dark ghost on the forehead when the fringe sways)
        fringe = union(lambda l: l.tag == "front hair")
        face, face_amodal, rim = _complete_face(
            by_id["face"], canvas, lm, in_front["face"], features, rim_from=fringe
        )
        # clipped parts (irides) show only inside their clip layer: they take no face rim
        fronts = [l for l in layers if (l.tag in feature_tags or l.tag == "front hair") and not l.clip_to]
        face, fronts = _unmix_rims(by_id["face"], face, fronts, rim, canvas)
        out["face"] = face
        for f in fronts:
            by_id[f.id] = f
    rim_w = _rim_width(lm)
    for side in ("l", "r"):
        ew, ir, el = layer_id("eyewhite", side), layer_id("irides", side), layer_id("eyelash", side)
        opening = None
        if ew in by_id:
            opening = _hull(vis[ew] | vis.get(ir, vis[ew]))
            in_eye = [by_id[i] for i in (ir, el) if i in by_id]
            eye_fronts = np.zeros_like(vis[ew])
            for f in in_eye:
                eye_fronts |= vis[f.id]
            rim = _rim_of(vis[ew], eye_fronts, rim_w)
            white = _complete_eyewhite(by_id[ew], canvas, opening & in_front[ew], rim)
            white, in_eye = _unmix_rims(by_id[ew], white, in_eye, rim, canvas)
            out[ew] = white
            for f in in_eye:
                by_id[f.id] = f
            opening = out[ew].full_mask(canvas)
        if ir in by_id:
            out[ir] = _complete_iris(by_id[ir], canvas, in_front[ir], opening)
    for l in layers:  # features that received rim pixels
        if l.id not in out and by_id[l.id] is not l:
            out[l.id] = by_id[l.id]
    if "neck" in by_id:
        out["neck"] = _complete_neck(by_id["neck"], canvas, lm, in_front["neck"])
    if "back-hair" in by_id:
        head = union(lambda l: l.tag in ("front hair", "face"))
        if face_amodal is not None:
            head |= face_amodal
        body = union(lambda l: l.tag in ("neck", "topwear"))
        out["back-hair"] = _complete_back_hair(
            by_id["back-hair"],
            canvas,
            in_front["back-hair"],
            head,
            body,
            int(lm.chin[1] + 0.04 * (lm.face_box[3] - lm.face_box[1])),
        )
    if "topwear" in by_id:
        tw = vis["topwear"]
        out["topwear"] = _grown(
            by_id["topwear"],
            canvas,
            _hull(tw) & in_front["topwear"] & ~union(lambda l: l.tag in ("neck", "face")),
        )
    # outline pieces that parts in front took: the fringe's locks from the back
    # hair's edge, the face from the neck's sides
    for back_id, front_id in (("back-hair", "front-hair"), ("neck", "face")):
        if back_id not in out or front_id not in by_id:
            continue
        i0, i1 = ids.index(back_id), ids.index(front_id)
        if i0 < i1:
            between = [out.get(i, by_id[i]) for i in ids[i0 + 1 : i1]]
            out[back_id], out[front_id] = _claim_outline(
                by_id[back_id],
                out[back_id],
                out.get(front_id, by_id[front_id]),
                between,
                canvas,
                in_front[back_id],
            )
    result = [out.get(l.id, l) for l in layers]
    mouth = by_id.get("mouth")
    interior = make_mouth_interior(
        mouth,
        lm,
        canvas,
        skin_rgb=drawn_colour(by_id.get("face")),
        eyewhite=next((l for l in layers if l.tag == "eyewhite"), None),
    )
    pos = ids.index("mouth") if "mouth" in ids else len(result)
    result.insert(pos, interior)
    return add_closed_lids(result, canvas, lm.face_centre_x)


EYE_TAGS = ("eyewhite", "irides", "eyelash")


def add_closed_lids(layers: Sequence[Layer], canvas: Canvas, centre_x: float) -> list[Layer]:
    """`layers` with a generated closed lid (eyes.make_closed_lid) right above
    each eye's parts, for every eye that has no drawn closed eye (role "closed")."""
    result = list(layers)
    for side in ("r", "l"):
        if any(l.role == "closed" and l.side == side and l.tag in EYE_TAGS for l in result):
            continue
        at = [i for i, l in enumerate(result) if l.tag in EYE_TAGS and l.side == side and l.role == ""]
        if not at:
            continue
        lid = make_closed_lid([result[i] for i in at], canvas, side, centre_x)
        if lid is not None:
            result.insert(max(at) + 1, lid)
    return result
