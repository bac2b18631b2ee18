# SPDX-License-Identifier: GPL-3.0-or-later
"""Stage 3 of the pipeline (decompose): split the character into tagged layers (See-through tags).

1. Face features are cut first, each inside a window placed by the landmarks
   (features.py): eyes (split into eyewhite, iris and eyelash by colour and an
   iris ellipse), brows, mouth and nose.
2. The rest is split into flat colour regions bounded by line art (regions.py).
   Each region is classified by colour (skin-like, hair-like, other) and
   position (above or below the chin, beside the face): face, neck, ears,
   hair, topwear, and on line art whose skin is the paper's white, headwear
   (a white hood or hat ringing the face); hair.py cuts the front hair out
   of the back hair.
3. Line art goes to the front-most neighbouring part (an outline belongs to the
   part it outlines, which is the one in front), anything left to the nearest.
   Small pieces cut off from their part follow a neighbour: a shape drawn apart
   goes whole to one part, a lock's end taken for clothes to the hair, a scrap
   on the silhouette's edge to the part it borders on.

Layers are crops holding only visible pixels, ordered back to front by
`DEPTH_ORDER` (context.py).
"""

from __future__ import annotations


import cv2
import numpy as np

from ...model.document import Layer, layer_id
from ...model.errors import ImageToRigError
from ..foreground import has_meaningful_alpha
from ..landmarks import FaceLandmarks
from .context import DEPTH_ORDER, MIN_FACE_WIDTH, UNASSIGNED, _components_in, _Context, _label_index
from .features import _cut_brow, _cut_brow_like, _cut_eye, _cut_mouth, _cut_nose, _trim_to_ink
from .regions import _claim_lines, _classify_regions, _fill_nearest


class DecomposeError(ImageToRigError):
    """The image could not be split into parts."""


def _layer_from_mask(
    rgba: np.ndarray, mask: np.ndarray, visible: np.ndarray, tag: str, side: str
) -> Layer | None:
    if not (mask & visible).any():
        return None
    ys, xs = np.nonzero(mask)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    m = mask[y0:y1, x0:x1]
    img = rgba[y0:y1, x0:x1].copy()
    if img.shape[2] == 3:
        img = np.dstack([img, np.full(img.shape[:2], 255, np.uint8)])
    img[~m] = 0
    return Layer(
        id=layer_id(tag, side),
        tag=tag,
        image=img,
        x=int(x0),
        y=int(y0),
        side=side,
        visible_mask=m & visible[y0:y1, x0:x1],
    )


def _one_part_per_piece(ctx: _Context, rgba: np.ndarray, cls: np.ndarray, lm: FaceLandmarks) -> None:
    """A shape drawn apart from the character (a prop floating by the head, an
    effect line) goes whole to the part that holds most of it: split between
    layers it would come apart when they move."""
    # shapes joined by their half-transparent edges are one piece, as they are drawn
    drawn = ctx.fg | (rgba[..., 3] >= 128) if rgba.shape[2] == 4 else ctx.fg
    n, lab = cv2.connectedComponents(drawn.astype(np.uint8), connectivity=8)
    if n <= 2:
        return
    lab[~ctx.fg] = 0
    x0, y0, x1, y1 = lm.face_box
    main = lab[min(max((y0 + y1) // 2, 0), lab.shape[0] - 1), min(max((x0 + x1) // 2, 0), lab.shape[1] - 1)]
    if main == 0:
        main = int(np.argmax(np.bincount(lab[lab > 0]))) if (lab > 0).any() else 0
    labels = int(cls.max()) + 1
    sure = ctx.fg & (cls >= 0) & ~ctx.features
    votes = np.bincount(lab[sure] * labels + cls[sure], minlength=n * labels).reshape(n, labels)
    # each other piece without face features goes to its majority part (lab is 0 off the foreground)
    target = np.where(votes.any(axis=1), votes.argmax(axis=1), -1)
    target[[0, main]] = -1
    target[np.unique(lab[ctx.features & ctx.fg])] = -1
    move = target[lab] >= 0
    cls[move] = target[lab[move]]


# A piece of the clothes cut off from the rest of them, at most this share of the
# face's box area, touching the hair along at least this share of its border
# with other parts, is a lock's end the colours took for clothes
STRAY_MAX_OF_FACE = 0.05
STRAY_HAIR_BORDER = 0.5


def _stray_clothes_to_hair(ctx: _Context, cls: np.ndarray, lm: FaceLandmarks) -> None:
    """A small piece of the clothes that the hair cuts off from the rest of
    them, that borders mostly on hair and whose colour is nearer that hair's
    than the clothes' (the end of a lock whose shading the colours took for
    clothes) joins the hair it borders on: left to the body, it stays behind
    as a separate scrap when the head moves the lock away.  A glove raised
    beside the hair keeps its own colour, the clothes'."""
    idx = _label_index()
    top = cls == idx[("topwear", "")]
    if not top.any():
        return
    n, lab, st, _ = _components_in(top)
    if n <= 2:
        return
    main = 1 + int(np.argmax(st[1:, cv2.CC_STAT_AREA]))

    def mean_lab(sl, m: np.ndarray) -> np.ndarray:  # of the pixels `m` of the window `sl`
        return np.stack([ctx.L[sl][m], ctx.a[sl][m], ctx.b[sl][m]], axis=-1).astype(np.float32).mean(axis=0)

    x0, y0, x1, y1 = lm.face_box
    limit = STRAY_MAX_OF_FACE * max(x1 - x0, 1) * max(y1 - y0, 1)
    everywhere = (slice(None), slice(None))
    clothes = mean_lab(everywhere, lab == main)  # the largest piece's colour
    hair_keys = [idx[("front hair", "")], idx[("back hair", "")]]
    k = np.ones((3, 3), np.uint8)
    reach = max(3, int(round(4 * ctx.unit)))
    for i in range(1, n):
        if i == main or st[i, cv2.CC_STAT_AREA] > limit:
            continue
        bx, by, bw, bh = st[i, :4]
        pad = reach + 2
        sl = (slice(max(0, by - pad), by + bh + pad), slice(max(0, bx - pad), bx + bw + pad))
        piece = lab[sl] == i
        ring = cv2.dilate(piece.astype(np.uint8), k).astype(bool) & ~piece
        around = cls[sl][ring & ctx.fg[sl]]
        around = around[around >= 0]
        if not len(around):
            continue
        counts = {h: int((around == h).sum()) for h in hair_keys}
        best = max(counts, key=counts.get)
        if counts[best] < STRAY_HAIR_BORDER * len(around):
            continue
        near = cv2.dilate(piece.astype(np.uint8), np.ones((2 * reach + 1,) * 2, np.uint8)).astype(bool)
        hair_px = near & (cls[sl] == best)
        colour = mean_lab(sl, piece)
        if np.linalg.norm(colour - mean_lab(sl, hair_px)) < np.linalg.norm(colour - clothes):
            cls[sl][piece] = best


# A scrap of a part on the silhouette's edge, cut off from the rest of that part,
# at most this share of the face box's area, joins the part it borders on most
SPECK_OF_FACE = 0.004
SPECK_PARTS = (
    ("face", ""),
    ("neck", ""),
    ("topwear", ""),
    ("ears", "r"),
    ("ears", "l"),
    ("headwear", ""),
    ("front hair", ""),
    ("back hair", ""),
)


def _edge_specks_to_neighbours(ctx: _Context, cls: np.ndarray, lm: FaceLandmarks) -> None:
    """A scrap of a part cut off from the rest of it, too small to move on its
    own, lying on the silhouette's edge (a strand tip taken for front hair
    between tips of the back hair, at a ragged hair edge) joins the part it
    borders on most: left to its own part it floats off as a separate piece
    once its neighbour moves away.  Only between the body's and the head's
    large parts (the face's features keep what they were cut as); a scrap
    inside the silhouette is covered wherever it goes and stays."""
    idx = _label_index()
    keys = [idx[k] for k in SPECK_PARTS]
    x0, y0, x1, y1 = lm.face_box
    limit = SPECK_OF_FACE * max(x1 - x0, 1) * max(y1 - y0, 1)
    outside = ~ctx.fg
    k = np.ones((3, 3), np.uint8)
    for key in keys:
        n, lab, st, _ = _components_in(cls == key)
        if n <= 2:
            continue
        main = 1 + int(np.argmax(st[1:, cv2.CC_STAT_AREA]))
        for i in range(1, n):
            if i == main or st[i, cv2.CC_STAT_AREA] > limit:
                continue
            bx, by, bw, bh = st[i, :4]
            sl = (slice(max(0, by - 1), by + bh + 1), slice(max(0, bx - 1), bx + bw + 1))
            piece = lab[sl] == i
            ring = cv2.dilate(piece.astype(np.uint8), k).astype(bool) & ~piece
            if not (ring & outside[sl]).any():
                continue  # inside the silhouette: covered, it goes nowhere
            around = cls[sl][ring & ctx.fg[sl]]
            around = around[np.isin(around, keys) & (around != key)]
            if len(around):
                cls[sl][piece] = int(np.bincount(around).argmax())


def decompose(rgba: np.ndarray, mask: np.ndarray, lm: FaceLandmarks) -> list[Layer]:
    """Tagged layers, back to front, holding only the visible pixels of each part."""
    rgba = np.asarray(rgba)
    if rgba.ndim != 3 or rgba.shape[2] not in (3, 4) or rgba.shape[:2] != mask.shape:
        raise DecomposeError("image and foreground mask do not match")
    if not mask.any():
        raise DecomposeError("the foreground mask is empty: nothing to split into parts")
    face_w = lm.face_box[2] - lm.face_box[0]
    if face_w < MIN_FACE_WIDTH:
        raise DecomposeError(
            f"the face is only {face_w} px wide; at least {MIN_FACE_WIDTH} px are needed to split "
            "eyes, brows and mouth: use a larger image (or a closer crop of the character)"
        )
    ctx = _Context(rgba, mask, lm)
    idx = _label_index()
    cls = np.full(mask.shape, UNASSIGNED, np.int32)

    def put(m: np.ndarray | None, key: tuple[str, str]) -> None:
        if m is None:
            return
        m = m & ~ctx.features & ctx.fg
        cls[m] = idx[key]
        ctx.features |= m

    brows = {side: _trim_to_ink(ctx, _cut_brow(ctx, side)) for side in ("r", "l")}
    for side, other in (("r", "l"), ("l", "r")):
        if (brows[side] is None or not brows[side].any()) and brows[other] is not None and brows[other].any():
            # a brow touching the fringe merges with it: find it as the mirror of the other
            brows[side] = _trim_to_ink(ctx, _cut_brow_like(ctx, side, brows[other]))
    for side in ("r", "l"):
        if brows[side] is None or not brows[side].any():
            brows[side] = _trim_to_ink(ctx, _cut_brow(ctx, side, across_strands=True))
    for side in ("r", "l"):
        put(brows[side], ("eyebrow", side))
    for side in ("r", "l"):
        parts = _cut_eye(ctx, side)
        if parts is None:
            lm.warnings.append(
                f"the character's {'right' if side == 'r' else 'left'} eye was not "
                "found where the landmarks put it"
            )
            continue
        for name in ("irides", "eyelash", "eyewhite"):
            put(parts[name], (name, side))
    put(_trim_to_ink(ctx, _cut_mouth(ctx)), ("mouth", ""))
    put(_trim_to_ink(ctx, _cut_nose(ctx)), ("nose", ""))

    region = ctx.fg & ~ctx.features
    region_cls, line = _classify_regions(ctx, region)
    cls[region] = region_cls[region]
    # strokes and the anti-aliased rims along them go to the front-most neighbour
    _claim_lines(ctx, cls, ctx.fg & ~ctx.features & (cls == UNASSIGNED), line)
    _fill_nearest(cls, ctx.fg & (cls == UNASSIGNED), ~ctx.features)
    _one_part_per_piece(ctx, rgba, cls, lm)
    _stray_clothes_to_hair(ctx, cls, lm)
    _edge_specks_to_neighbours(ctx, cls, lm)
    if has_meaningful_alpha(rgba):
        # the soft rim of a transparent image (alpha below the cut) joins the nearest part
        # so edges stay anti-aliased; it is not counted as visible
        near = cv2.dilate(ctx.fg.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
        soft = (rgba[..., 3] > 0) & ~ctx.fg & near
        if soft.any():
            _fill_nearest(cls, soft, ctx.fg & ~ctx.features)

    layers: list[Layer] = []
    for key in DEPTH_ORDER:
        layer = _layer_from_mask(rgba, cls == idx[key], ctx.fg, *key)
        if layer is None:
            continue
        layers.append(layer)
    ids = {l.id for l in layers}
    for layer in layers:
        if layer.tag == "irides" and layer_id("eyewhite", layer.side) in ids:
            layer.clip_to = layer_id("eyewhite", layer.side)
    missing = [t for t in ("face", "eyewhite", "irides", "mouth") if t not in {l.tag for l in layers}]
    if "face" in missing:
        raise DecomposeError("no face skin found where the landmarks put the face")
    for tag in missing:
        lm.warnings.append(f"no {tag} layer found")
    return layers
