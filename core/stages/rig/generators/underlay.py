# SPDX-License-Identifier: GPL-3.0-or-later
"""Underlays: what shows when parts move apart.

Three hidden layers at the very bottom of the draw order, made from the other
layers: the head's (under the back hair's warp: a backing moves like the back),
the face's (under the face warp, within the box of the face's parts and above
where the hair starts to hang: the gap a side lock leaves as it parts from the
cheek, while the head's moves away the other way) and the body's (under the
body warp).  Each covers its layers' region closed
over what crosses it (a lock of hair hanging in front of the chest, a scarf
end, the gaps between strands), within the character's silhouette at rest.
Its colours are its layers' own with the line art taken out (a grey closing:
strokes close over with the colour beside them); where another part covers
the region at rest (the lock of hair) they are painted in from its layers'
colours around.  It is opaque and a little inside the silhouette, so at rest
it is covered everywhere (the rest image is unchanged) and in a pose it cannot
stick out past the outline.  The head's also reaches a little into what lies
beside the head near it (the shoulder beside a lock, the collar under the
chin), in those colours.  When a pose moves
neighbouring parts apart (the fringe more than the face, the back hair
against it, the jaw over the neck), the gap shows the colour that was there
instead of the background: no hole, and no outline drawn twice.  They make no
keyforms of their own; they follow their warp.
"""

from __future__ import annotations


import cv2
import numpy as np

from ....model.document import RIG_MADE_ROLES, Canvas, Layer, layer_id
from ..context import Generator, RigContext
from ..measure import Anchors, Box, union_box
from ..templates import TAG_DEFORMER
from .head import HANG_FROM

UNDERLAYS = (  # (tag it takes its warp from, the warps whose layers it lies under)
    ("back hair", ("face_warp", "hair_front_warp", "hair_back_warp")),  # moves with the back
    ("face", ("face_warp", "hair_front_warp", "hair_back_warp")),  # moves with the face
    ("topwear", ("body_warp",)),
)
# The underlay keeps this far inside the silhouette of its layers (of the face
# width, at least 1 px): gaps at the outline are no holes, and an underlay that
# reached the outline could stick out past a part that moved in.
INSET_OF_FACE = 0.03
LINE_WIDTH_OF_FACE = 0.02  # strokes up to this share of the face width are closed over
# What crosses a region and is closed over (of the face width): a lock of hair or
# a scarf end in front of the chest; what hangs beside the body stays outside.
CLOSE_OF_FACE = 0.12
# The head's underlay also reaches this far (of the face width) into what lies
# beside the head's parts at rest (the shoulder beside a lock of hair, the
# collar under the chin), in those parts' colours: when the body turns under
# hair that follows the head, the gap between them shows the body's colour.
BESIDE_OF_FACE = 0.1
# ... down to this far below the chin (of the face height): farther down a long
# lock, a turn of the head carries the strip too far from where it belongs
BESIDE_BELOW_CHIN = 0.5


def _paint_in(rgb: np.ndarray, known: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """`rgb` with the `hole` pixels painted from the `known` ones around them
    (a normalised blur at two scales, the nearest known colour beyond)."""
    out = rgb.astype(np.float32).copy()
    if not hole.any() or not known.any():
        return rgb
    weight = known.astype(np.float32)
    colour = out * weight[..., None]
    filled = np.zeros(hole.shape, bool)
    for sigma in (2.0, 0.05 * max(hole.shape)):
        w = _wide_blur(weight, sigma)
        c = _wide_blur(colour, sigma)
        ok = hole & ~filled & (w > 0.05)
        out[ok] = c[ok] / w[ok][:, None]
        filled |= ok
    rest = hole & ~filled
    if rest.any():
        _, labels = cv2.distanceTransformWithLabels(
            (~known).astype(np.uint8), cv2.DIST_L2, 3, labelType=cv2.DIST_LABEL_PIXEL
        )
        ys, xs = np.nonzero(known)
        by_label = np.zeros((labels.max() + 1, 3), np.float32)
        by_label[labels[ys, xs]] = out[ys, xs]
        out[rest] = by_label[labels[rest]]
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _composite(canvas: Canvas, layers: list[Layer]) -> np.ndarray:
    """Straight-alpha RGBA float image of `layers` (back to front) at rest."""
    out = np.zeros((canvas.height, canvas.width, 4), np.float32)
    for layer in layers:
        if layer.opacity <= 0:
            continue
        h, w = layer.image.shape[:2]
        x0, y0 = max(0, layer.x), max(0, layer.y)
        x1, y1 = min(canvas.width, layer.x + w), min(canvas.height, layer.y + h)
        if x1 <= x0 or y1 <= y0:
            continue
        src = layer.image[y0 - layer.y : y1 - layer.y, x0 - layer.x : x1 - layer.x].astype(np.float32) / 255.0
        a = src[..., 3:4] * float(layer.opacity)
        dst = out[y0:y1, x0:x1]  # a view: only the layer's own box is blended
        dst[..., :3] = src[..., :3] * a + dst[..., :3] * (1.0 - a)
        dst[..., 3:4] = a + dst[..., 3:4] * (1.0 - a)
    return out


# Wide blurs, closings and dilations are done at a scale where their radius is this many
# pixels, then scaled back: on a 5000 px drawing a full-size one takes minutes.
WIDE_PX = 16.0


def _wide_blur(img: np.ndarray, sigma: float) -> np.ndarray:
    if sigma <= WIDE_PX:
        return cv2.GaussianBlur(img, (0, 0), sigma)
    h, w = img.shape[:2]
    s = WIDE_PX / sigma
    small = cv2.resize(
        img, (max(1, int(round(w * s))), max(1, int(round(h * s)))), interpolation=cv2.INTER_AREA
    )
    return cv2.resize(cv2.GaussianBlur(small, (0, 0), WIDE_PX), (w, h), interpolation=cv2.INTER_LINEAR)


def _wide_close(mask: np.ndarray, radius: int) -> np.ndarray:
    """`mask` closed with a disc of `radius` (outside the image counts as empty)."""
    return _wide_morph(mask, radius, cv2.MORPH_CLOSE)


def _wide_dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """`mask` grown by a disc of `radius`."""
    return _wide_morph(mask, radius, cv2.MORPH_DILATE)


def _wide_morph(mask: np.ndarray, radius: int, op: int) -> np.ndarray:
    """`mask` under the morphology `op` with a disc of `radius`, done at the
    scale where the radius is WIDE_PX (outside the image counts as empty)."""
    h, w = mask.shape
    s = min(1.0, WIDE_PX / max(radius, 1))
    work = mask.astype(np.uint8) * 255
    if s < 1.0:
        work = cv2.resize(
            work, (max(1, int(round(w * s))), max(1, int(round(h * s)))), interpolation=cv2.INTER_AREA
        )
    r = max(1, int(round(radius * s)))
    padded = cv2.copyMakeBorder(work, r + 1, r + 1, r + 1, r + 1, cv2.BORDER_CONSTANT, value=0)
    out = cv2.morphologyEx(padded, op, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))[
        r + 1 : -r - 1, r + 1 : -r - 1
    ]
    if s < 1.0:
        out = cv2.resize(out, (w, h), interpolation=cv2.INTER_LINEAR)
    return out >= 128


def _without_lines(rgb: np.ndarray, width: int) -> np.ndarray:
    """The colours with dark strokes up to `width` px closed over."""
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * width + 1, 2 * width + 1))
    return cv2.morphologyEx(rgb, cv2.MORPH_CLOSE, k)


# The body's underlay reaches up under the jaw: the face below this share of
# the way from the face's centre to the chin (skin that shows under a turning
# head as a neck would, whatever the neck layer holds).
CHIN_FROM = 0.55


def _lower_face(layers: list[Layer], anchors: Anchors) -> Layer | None:
    face = next((l for l in layers if l.tag == "face" and l.role == ""), None)
    if face is None:
        return None
    cy, chin_y = anchors.face_centre[1], anchors.chin[1]
    cut = int(round(cy + CHIN_FROM * max(chin_y - cy, 1.0))) - face.y
    img = face.image.copy()
    img[: max(0, min(cut, img.shape[0]))] = 0
    if not img[..., 3].any():
        return None
    return Layer(id=face.id + "-chin", tag="face", image=img, x=face.x, y=face.y)


def _within_the_face(
    region: np.ndarray, members: list[Layer], boxes: dict[str, Box], anchors: Anchors
) -> np.ndarray:
    """The face's underlay's region: inside the box of the face's parts (so it
    leaves the face warp as they size it; past the face, a lock that parts from
    it leaves it floating), no lower than where the hair starts to hang
    (head_tilt's HANG_FROM): farther down the locks hang while the face rolls."""
    on_face = [boxes[l.id] for l in members if TAG_DEFORMER.get(l.tag) == "face_warp"]
    clip = np.zeros_like(region)
    if not on_face:
        return clip
    bx0, by0, bx1, by1 = union_box(on_face)
    cy, chin_y = anchors.face_centre[1], anchors.chin[1]
    by1 = min(by1, cy + HANG_FROM * max(chin_y - cy, 1.0))
    clip[max(0, int(np.ceil(by0))) : max(0, int(by1)), max(0, int(np.ceil(bx0))) : max(0, int(bx1))] = True
    return region & clip


def _touching_face(solid: np.ndarray, layers: list[Layer], canvas: Canvas) -> np.ndarray:
    """The pieces of the face's underlay that touch the face (completed under
    the hair): a piece apart from it floats off on its own when the head turns."""
    face = next((l for l in layers if l.tag == "face" and l.role == ""), None)
    if face is None:
        return np.zeros_like(solid)
    near = cv2.dilate((face.full_canvas(canvas)[..., 3] > 0).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    n, lab = cv2.connectedComponents(solid.astype(np.uint8), connectivity=8)
    keep = np.zeros(n, bool)
    keep[np.unique(lab[near & solid])] = True
    keep[0] = False
    return keep[lab]


def make_underlays(
    canvas: Canvas, layers: dict[str, Layer], boxes: dict[str, Box], anchors: Anchors
) -> list[tuple[Layer, str | None]]:
    # what shows at rest: not the rig's own layers, nor parts resting collapsed or hidden
    ordered = [
        l
        for l in layers.values()
        if l.id in boxes and l.opacity > 0 and l.role not in RIG_MADE_ROLES + ("interior",)
    ]
    if not ordered:
        return []
    face_w = anchors.face[2] - anchors.face[0]
    width = max(1, int(round(LINE_WIDTH_OF_FACE * face_w)))
    inset = max(1, int(round(INSET_OF_FACE * face_w)))
    close = max(3, int(round(CLOSE_OF_FACE * face_w)))
    at_rest = _composite(canvas, ordered)
    everything = at_rest[..., 3] >= 0.98  # the silhouette at rest
    inset_k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * inset + 1, 2 * inset + 1))
    inside = cv2.erode(np.pad(everything, inset + 1).astype(np.uint8), inset_k)[
        inset + 1 : -inset - 1, inset + 1 : -inset - 1
    ].astype(bool)
    out: list[tuple[Layer, str | None]] = []
    # the head's and the face's lie under the same layers: their region is found once
    regions: dict[tuple[str, ...], tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}
    for tag, warps in UNDERLAYS:  # each goes to the very bottom: the body's ends up below the head's
        members = [l for l in ordered if TAG_DEFORMER.get(l.tag, "body_warp") in warps]
        if not members:
            continue
        if warps not in regions:
            if "body_warp" in warps:
                chin = _lower_face(ordered, anchors)
                if chin is not None:  # behind the neck: what shows when the head moves off it
                    members = [chin] + members
            comp = _composite(canvas, members)
            own = comp[..., 3] >= 0.98
            if own.sum() < 16:
                continue
            # the region closed over what crosses it, inside the silhouette
            region = (_wide_close(own, close) & everything) | own
            beside = np.zeros_like(own)
            if "body_warp" not in warps:
                reach = max(2, int(round(BESIDE_OF_FACE * face_w)))
                beside = _wide_dilate(own, reach) & everything & ~region
                face_h = anchors.face[3] - anchors.face[1]
                beside[max(0, int(round(anchors.chin[1] + BESIDE_BELOW_CHIN * face_h))) :] = False
                if beside.any():  # in the colours of what lies there
                    comp[beside] = at_rest[beside]
                    region |= beside
            regions[warps] = comp, own, region, beside
        comp, own, region, beside = regions[warps]
        on_face = TAG_DEFORMER.get(tag) == "face_warp"
        if on_face:
            region = _within_the_face(region, members, boxes, anchors)
        solid = region & inside  # inset from the outline only (not from the parts it lies under)
        if on_face:
            solid = _touching_face(solid, ordered, canvas)
        if solid.sum() < 16:
            continue
        ys, xs = np.nonzero(solid)
        x0, y0, x1, y1 = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
        pad = 2 * width + 1
        cx0, cy0 = max(0, x0 - pad), max(0, y0 - pad)
        cx1, cy1 = min(canvas.width, x1 + pad), min(canvas.height, y1 + pad)
        rgb = np.clip(comp[cy0:cy1, cx0:cx1, :3] * 255.0 + 0.5, 0, 255).astype(np.uint8)
        flat = _without_lines(rgb, width)
        # where other parts cover the region, its layers' colours around it
        known = cv2.erode(own[cy0:cy1, cx0:cx1].astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        known |= beside[cy0:cy1, cx0:cx1]
        flat = _paint_in(flat, known, region[cy0:cy1, cx0:cx1] & ~known)
        img = np.zeros((y1 - y0, x1 - x0, 4), np.uint8)
        img[..., :3] = flat[y0 - cy0 : y1 - cy0, x0 - cx0 : x1 - cx0]
        img[..., 3] = solid[y0:y1, x0:x1] * 255
        img[img[..., 3] == 0] = 0
        made = Layer(
            id=layer_id(tag, role="underlay"),
            tag=tag,
            role="underlay",
            image=img,
            x=int(x0),
            y=int(y0),
            generated=True,
            visible_mask=np.zeros(img.shape[:2], bool),
        )
        out.append((made, None))
    return out


def _no_keyforms(ctx: RigContext):
    return []


UNDERLAY = Generator("underlay", _no_keyforms, (), add_layers=make_underlays)
