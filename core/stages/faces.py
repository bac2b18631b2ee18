# SPDX-License-Identifier: GPL-3.0-or-later
"""How many characters an illustration holds, and which one is rigged.

The rig is built for one face.  An image of two characters side by side was
rigged as one: the second face deformed with the first one's warps and tore.
`check_one_character` runs after the landmarks stage and looks for more faces
than the one the landmarks found (the "rigged" face):

* animeface's other detections on the whole image (the landmarks stage keeps
  them in FaceLandmarks.detected), of a fair likelihood and a size comparable
  to the rigged face;
* our own face finder (landmarks.detect_fallback) run on each other large
  piece of the foreground that holds no face yet: a character standing apart
  is a separate piece of foreground.

When other faces stand apart from the rigged character, their pieces of the
foreground are left out of the rig and a warning says which face was rigged,
which were left out, and how to crop the image to rig another one.  When
another face touches the rigged character (one piece of foreground), the two
cannot be told apart: FaceCountError asks for a crop, with the columns to keep.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..model.errors import ImageToRigError
from .landmarks import Box, FaceLandmarks, LandmarkError, detect_fallback, flatten_over_white

ANALYSIS_MAX_SIDE = 512  # foreground pieces are found on a copy no larger than this
MIN_PIECE_SHARE = 0.15  # a piece smaller than this share of the largest is not a character
MIN_ANIMEFACE_LIKELIHOOD = 0.45
FACE_SIZE_RANGE = (0.4, 2.5)  # another face's size relative to the rigged one
PIECE_MARGIN = 2  # analysis-size pixels around a left-out piece that go with it


class FaceCountError(ImageToRigError):
    """More than one character, and they cannot be rigged apart."""


@dataclass
class FaceCheck:
    faces: list[Box]  # every face found, the rigged one first
    mask: np.ndarray  # the foreground to rig: other characters' pieces left out
    warnings: list[str] = field(default_factory=list)
    left_out: list[Box] = field(default_factory=list)

    def report(self) -> dict:
        return {
            "count": len(self.faces),
            "rigged": list(self.faces[0]),
            "left_out": [list(b) for b in self.left_out],
        }


def _size(box: Box) -> float:
    return float(max(box[2] - box[0], box[3] - box[1], 1))


def _centre(box: Box) -> tuple[float, float]:
    return (0.5 * (box[0] + box[2]), 0.5 * (box[1] + box[3]))


def _inside(point, box: Box) -> bool:
    return box[0] <= point[0] < box[2] and box[1] <= point[1] < box[3]


def _comparable(box: Box, rigged: Box) -> bool:
    lo, hi = FACE_SIZE_RANGE
    return lo * _size(rigged) <= _size(box) <= hi * _size(rigged)


def _distinct(box: Box, known: list[Box]) -> bool:
    """Not the same face as one already known (neither centre inside the other box)."""
    return not any(_inside(_centre(box), k) or _inside(_centre(k), box) for k in known)


def _animeface_boxes(rgba: np.ndarray) -> list[Box]:
    """animeface's faces of a fair likelihood (empty when it is not installed)."""
    try:
        import animeface
    except ImportError:
        return []
    import cv2
    from PIL import Image

    h, w = rgba.shape[:2]
    factor = min(1.0, ANALYSIS_MAX_SIDE / max(h, w))
    if factor < 1.0:  # smaller first: flattening a 4096-pixel image costs more than finding faces
        rgba = cv2.resize(
            rgba,
            (max(1, int(round(w * factor))), max(1, int(round(h * factor)))),
            interpolation=cv2.INTER_AREA,
        )
    rgb = flatten_over_white(rgba)
    boxes = []
    for f in animeface.detect(Image.fromarray(rgb)):
        if f.likelihood < MIN_ANIMEFACE_LIKELIHOOD:
            continue
        p = f.face.pos
        boxes.append(tuple(int(round(v / factor)) for v in (p.x, p.y, p.x + p.width, p.y + p.height)))
    return boxes


def _face_in_piece(rgba: np.ndarray, piece: np.ndarray, use_animeface: bool) -> Box | None:
    """A face in one piece of the foreground: animeface on the piece alone (at
    its own resolution, the rest made transparent), else our own finder."""
    ys, xs = np.nonzero(piece)
    pad = 8
    x0, y0 = max(0, int(xs.min()) - pad), max(0, int(ys.min()) - pad)
    x1, y1 = min(piece.shape[1], int(xs.max()) + 1 + pad), min(piece.shape[0], int(ys.max()) + 1 + pad)
    if use_animeface:
        crop = rgba[y0:y1, x0:x1].copy()
        crop[~piece[y0:y1, x0:x1], 3] = 0
        found = _animeface_boxes(crop)
        if found:
            b = max(found, key=_size)
            return (b[0] + x0, b[1] + y0, b[2] + x0, b[3] + y0)
    try:
        return tuple(int(v) for v in detect_fallback(rgba, piece).face_box)
    except LandmarkError:
        return None


def _pieces(mask: np.ndarray):
    """(labels at full size, [(label, area)] of the large pieces) of the foreground."""
    import cv2

    h, w = mask.shape
    factor = min(1.0, ANALYSIS_MAX_SIDE / max(h, w))
    small = mask.astype(np.uint8)
    if factor < 1.0:
        small = cv2.resize(
            small,
            (max(1, int(round(w * factor))), max(1, int(round(h * factor)))),
            interpolation=cv2.INTER_NEAREST,
        )
    # closing first: a character's hair strands or a gap at the neck keep it one piece
    small = cv2.morphologyEx(small, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    n, small_labels, stats, _ = cv2.connectedComponentsWithStats(small, connectivity=8)
    labels = small_labels
    if factor < 1.0:
        labels = cv2.resize(small_labels.astype(np.int32), (w, h), interpolation=cv2.INTER_NEAREST)
    areas = stats[1:, cv2.CC_STAT_AREA]
    if len(areas) == 0:
        return labels, small_labels, []
    big = [
        (i + 1, int(a))
        for i, a in enumerate(areas)
        if a >= MIN_PIECE_SHARE * areas.max() and a >= 0.01 * small.size
    ]
    return labels, small_labels, big


def _left_out_region(small_labels: np.ndarray, piece: int, own: int, shape) -> np.ndarray:
    """Full-size pixels of a left-out piece, with a margin: its outline's
    anti-aliased fringe falls outside the piece found at the analysis size."""
    import cv2

    k = 2 * PIECE_MARGIN + 1
    region = cv2.dilate((small_labels == piece).astype(np.uint8), np.ones((k, k), np.uint8))
    if own:
        region[small_labels == own] = 0
    h, w = shape
    return cv2.resize(region, (w, h), interpolation=cv2.INTER_NEAREST).astype(bool)


def _piece_of(labels: np.ndarray, box: Box) -> int:
    """The foreground piece that holds most of a face box (0: none)."""
    x0, y0, x1, y1 = (max(0, int(v)) for v in box)
    region = labels[y0:y1, x0:x1]
    region = region[region > 0]
    if region.size == 0:
        return 0
    return int(np.bincount(region.ravel()).argmax())


def _where(box: Box, boxes: list[Box]) -> str:
    """'on the left', 'on the right', '2nd from the left' ... of `box` among `boxes`."""
    order = sorted(boxes, key=lambda b: _centre(b)[0])
    i = order.index(box)
    if len(order) == 2:
        return "on the left" if i == 0 else "on the right"
    if i == 0:
        return "on the far left"
    if i == len(order) - 1:
        return "on the far right"
    return f"{i + 1}{'nd' if i == 1 else 'rd' if i == 2 else 'th'} from the left"


def _span(box: Box) -> str:
    return f"x {box[0]}-{box[2]}, y {box[1]}-{box[3]}"


def check_one_character(
    rgba: np.ndarray, mask: np.ndarray, lm: FaceLandmarks, use_animeface: bool = True
) -> FaceCheck:
    """Faces besides the rigged one (lm.face_box); see the module's docstring."""
    rigged = tuple(int(v) for v in lm.face_box)
    mask = np.asarray(mask, bool)
    faces: list[Box] = [rigged]
    # animeface's other faces on the whole image: the landmarks stage ran it already (and
    # when it found none there, it finds none here either)
    for box, likelihood in getattr(lm, "detected", []):
        box = tuple(int(v) for v in box)
        if likelihood >= MIN_ANIMEFACE_LIKELIHOOD and _comparable(box, rigged) and _distinct(box, faces):
            faces.append(box)
    labels, small_labels, pieces = _pieces(mask)
    for label, _ in pieces:
        if any(_piece_of(labels, b) == label for b in faces):
            continue
        box = _face_in_piece(rgba, mask & (labels == label), use_animeface)
        if box is not None and _comparable(box, rigged) and _distinct(box, faces):
            faces.append(box)
    if len(faces) == 1:
        return FaceCheck(faces, mask)

    own = _piece_of(labels, rigged)
    others = [(b, _piece_of(labels, b)) for b in faces[1:]]
    touching = [b for b, p in others if p == own and own != 0]
    if touching:
        mid = 0.5 * (_centre(rigged)[0] + _centre(touching[0])[0])
        keep = f"x 0-{int(mid)}" if _centre(rigged)[0] < mid else f"x {int(mid)}-{mask.shape[1]}"
        raise FaceCountError(
            f"the image holds {len(faces)} faces (at {' and at '.join(_span(b) for b in faces)}) on one "
            "connected figure; rigged as one, every face but one would tear. Crop the image to "
            f"one character (for the face {_where(rigged, faces)}, keep about {keep}) and rig "
            "each crop on its own"
        )
    keep_mask = mask.copy()
    for _, piece in others:
        if piece:
            keep_mask &= ~_left_out_region(small_labels, piece, own, mask.shape)
    left_out = [b for b, _ in others]
    names = "; ".join(
        f"the one {_where(b, faces)} (face at {_span(b)}; to rig it, crop the "
        f"image to {_columns(labels, p, b)})"
        for b, p in others
    )
    warning = (
        f"the image holds {len(faces)} characters: rigged the one {_where(rigged, faces)} "
        f"(face at {_span(rigged)}) and left out {names}"
    )
    return FaceCheck(faces, keep_mask, [warning], left_out)


def _columns(labels: np.ndarray, piece: int, face: Box) -> str:
    """The columns a character's piece of the foreground spans ('x 512-1024')."""
    if not piece:
        return f"x {face[0]}-{face[2]} and what belongs to it"
    xs = np.nonzero((labels == piece).any(axis=0))[0]
    return f"x {int(xs.min())}-{int(xs.max()) + 1}"
