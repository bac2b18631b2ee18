# SPDX-License-Identifier: GPL-3.0-or-later
"""Tearing check: does a pose open holes in the character that show the background?

Definition (the one the tests and bench/bench_tearing.py use):

* Render the character's alpha at a pose with core/runtime/render.py (texture alpha
  sampled bilinearly through each deformed mesh, clipping and opacity
  keyforms applied, layers combined with "over").
* The silhouette S is alpha >= 0.5.  Its *body* is S closed with a 3 x 3
  disc (cracks up to 2 px wide that reach the outline count; wider notches
  are outline, not holes) with every enclosed region filled in.
* Hole pixels at a pose are body pixels that are not in S: background showing
  through inside the figure, including hairline cracks that reach the outline.
* Gaps the drawing itself has at rest (between a lock of hair, the neck and
  the shoulder, say) are not tearing even when the pose changes their shape:
  a connected region of hole pixels that touches (within 2 px) a hole of the
  rest pose is not counted, and neither is one that touches a hole of the
  rest pose carried to where the pose moved it: given the pose's parameter
  values, a hole pixel is traced back through each mesh that covers it at
  the pose (visible at rest and at the pose) to its place at rest, and a
  place within 2 px of a rest hole is the drawing's own gap, moved (the gap
  between two locks of hair when the whole upper body turns).  So a tear
  that runs into a drawn gap is missed (the check errs towards reporting
  elsewhere: a drawn gap outside every mesh that moves farther than its own
  size is counted).
* Of the counted hole pixels, the *torn* ones are those the rest pose had
  opaque (alpha >= 0.5): the character has come apart there.  The others are
  background the rest pose showed too, which a pose only encloses (a lock of
  hair swinging in to touch the arm closes the gap between them); both count
  as holes, `torn_of_alpha` tells them apart.
* Specks are not counted either: regions smaller than MIN_HOLE_PX x
  (min(w, h) / 512) pixels, which resampling leaves where two anti-aliased
  outlines cross.  Every other hole region is tearing.

`count_holes(doc, values)` is the number of counted hole pixels at canvas
resolution; `tearing_report(doc)` runs every parameter's extremes, the corners
and edges of the AngleX x AngleY grid and a few combined extremes.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..core.model.document import RigDocument

HOLE_ALPHA = 0.5
REST_TOLERANCE_PX = 2
CLOSING_RADIUS_PX = 1  # closes cracks up to 2 px wide that reach the outline
MIN_HOLE_PX = 12  # smaller hole regions (at 512 px, scaled linearly) are specks


def closing_radius(width: int, height: int) -> int:
    return CLOSING_RADIUS_PX


class AlphaRenderer:
    """The character's alpha at any pose, from the reference renderer itself
    (so clipping and opacity keyforms count exactly as they are drawn)."""

    def __init__(self, doc: RigDocument, scale: float = 1.0):
        from ..core.runtime.render import Renderer

        self.doc = doc
        self._renderer = Renderer(doc, scale=scale) if scale != 1.0 else Renderer(doc)

    def render(self, values: dict[str, float] | None = None) -> np.ndarray:
        return self._renderer.render(values)[..., 3].astype(np.float32) / 255.0

    def pose(self, values: dict[str, float] | None = None):
        """(mesh id -> output-pixel vertices, mesh id -> opacity) at `values`."""
        return self._renderer.pose(values)


def hole_mask(alpha: np.ndarray, radius: int) -> np.ndarray:
    """Pixels inside the figure's body (closed, holes filled) with alpha < 0.5."""
    solid = (alpha >= HOLE_ALPHA).astype(np.uint8)
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    pad = radius + 2
    padded = cv2.copyMakeBorder(solid, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    closed = cv2.morphologyEx(padded, cv2.MORPH_CLOSE, k)
    outside = (1 - closed).astype(np.uint8)
    mask = np.zeros((outside.shape[0] + 2, outside.shape[1] + 2), np.uint8)
    cv2.floodFill(outside, mask, (0, 0), 2)
    body = (outside != 2)[pad:-pad, pad:-pad]
    return body & (solid == 0)


class TearingChecker:
    """Counts hole pixels of poses against the rest pose of one document."""

    def __init__(self, doc: RigDocument, max_side: int | None = None):
        """`max_side`: check a render scaled down to this size (large canvases;
        holes that vanish at that scale are not counted)."""
        longest = max(doc.canvas.width, doc.canvas.height)
        self.scale = min(1.0, max_side / longest) if max_side else 1.0
        self.renderer = AlphaRenderer(doc, self.scale)
        self.radius = closing_radius(doc.canvas.width, doc.canvas.height)
        short = min(doc.canvas.width, doc.canvas.height) * self.scale
        self.min_area = max(1, int(round(MIN_HOLE_PX * short / 512)))
        rest_alpha = self.renderer.render({})
        self._rest_solid = rest_alpha >= HOLE_ALPHA
        self.rest_pieces = self.pieces_of_alpha(rest_alpha)
        rest = hole_mask(rest_alpha, self.radius)
        k = np.ones((2 * REST_TOLERANCE_PX + 1,) * 2, np.uint8)
        self.rest_holes = int(rest.sum())
        self._allowed = cv2.dilate(rest.astype(np.uint8), k) > 0
        self._rest_pose = None  # mesh vertices and opacities at rest, once needed

    def holes(self, values: dict[str, float]) -> np.ndarray:
        return self.holes_of_alpha(self.renderer.render(values), values)

    def holes_of_alpha(self, alpha: np.ndarray, values: dict[str, float] | None = None) -> np.ndarray:
        """The counted hole pixels of a pose's rendered alpha (see the module doc);
        with the pose's `values`, drawn gaps the pose carried along are not counted."""
        return self.holes_and_in_place(alpha, values)[0]

    def holes_and_in_place(
        self, alpha: np.ndarray, values: dict[str, float] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(counted hole pixels, the count's pixels without tracing drawn gaps
        through the meshes) of a pose's rendered alpha, from one labelling: the
        second is what `holes_of_alpha(alpha)` gives, the first with `values`."""
        mask = hole_mask(alpha, self.radius)
        if not mask.any():
            return mask, mask
        n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
        drawn = set(np.unique(labels[mask & self._allowed]).tolist())
        specks = {i for i in range(1, n) if stats[i, cv2.CC_STAT_AREA] < self.min_area}
        in_place = mask & ~np.isin(labels, sorted(drawn | specks))
        if not values or not in_place.any():
            return in_place, in_place
        carried = set(np.unique(labels[self._carried_rest_holes(values, in_place)]).tolist())
        return in_place & ~np.isin(labels, sorted(carried)), in_place

    def _carried_rest_holes(self, values: dict[str, float], mask: np.ndarray) -> np.ndarray:
        """The pixels of `mask` (at the pose `values`) that some mesh visible at
        rest and at the pose carried there from a place within the tolerance
        of a rest hole."""
        from ..core.runtime.render import rasterize_uv

        if self._rest_pose is None:
            self._rest_pose = self.renderer.pose({})
        rest_verts, rest_opacity = self._rest_pose
        verts, opacity = self.renderer.pose(values)
        ys, xs = np.nonzero(mask)
        x0, y0, x1, y1 = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
        crop = mask[y0:y1, x0:x1]
        out = np.zeros_like(mask)
        carried = out[y0:y1, x0:x1]
        h, w = self._allowed.shape
        for mesh in self.renderer.doc.meshes:
            if opacity[mesh.id] <= 0 or rest_opacity[mesh.id] <= 0:
                continue
            v = verts[mesh.id]
            if (
                len(v) == 0
                or v[:, 0].max() < x0
                or v[:, 0].min() > x1
                or v[:, 1].max() < y0
                or v[:, 1].min() > y1
            ):
                continue
            map_x, map_y, covered = rasterize_uv(
                v - np.array([x0, y0]), rest_verts[mesh.id], mesh.triangles, (x1 - x0, y1 - y0)
            )
            sel = covered & crop & ~carried
            if not sel.any():
                continue
            rx = np.clip(np.floor(map_x[sel]).astype(np.int64), 0, w - 1)
            ry = np.clip(np.floor(map_y[sel]).astype(np.int64), 0, h - 1)
            hit = np.zeros_like(sel)
            hit[sel] = self._allowed[ry, rx]
            carried |= hit
        return out

    def torn_of_alpha(self, alpha: np.ndarray, holes: np.ndarray | None = None) -> np.ndarray:
        """The counted hole pixels where the rest pose had the character (not
        background it showed too, which the pose only encloses)."""
        holes = self.holes_of_alpha(alpha) if holes is None else holes
        return holes & self._rest_solid

    def count(self, values: dict[str, float]) -> int:
        return int(self.holes(values).sum())

    def pieces_of_alpha(self, alpha: np.ndarray) -> int:
        """Separate pieces of a pose's rendered alpha (>= HOLE_ALPHA, 8-connected,
        specks under min_area left out): more than at rest means something came off."""
        n, _, stats, _ = cv2.connectedComponentsWithStats(
            (alpha >= HOLE_ALPHA).astype(np.uint8), connectivity=8
        )
        return int((stats[1:, cv2.CC_STAT_AREA] >= self.min_area).sum())

    def new_pieces_of_alpha(self, alpha: np.ndarray) -> int:
        """Pieces of a pose's rendered alpha beyond the rest pose's (negative where
        pieces joined)."""
        return self.pieces_of_alpha(alpha) - self.rest_pieces


def count_holes(doc: RigDocument, values: dict[str, float]) -> int:
    """Hole pixels (background showing inside the figure) at a pose; see the module doc."""
    return TearingChecker(doc).count(values)


@dataclass
class TearingRow:
    pose: str
    values: dict[str, float]
    holes: int


def report_poses(doc: RigDocument) -> list[tuple[str, dict[str, float]]]:
    """Every parameter's extremes, the AngleX x AngleY grid nodes and combined extremes."""
    params = {p.id: p for p in doc.parameters}
    poses: list[tuple[str, dict[str, float]]] = []
    for p in doc.parameters:
        for v in (p.min, p.max):
            if v != p.default:
                poses.append((f"{p.id}={v:g}", {p.id: v}))
    if "ParamAngleX" in params and "ParamAngleY" in params:
        for ax in (-30.0, 30.0):
            for ay in (-30.0, 30.0):
                poses.append((f"AngleX={ax:g},AngleY={ay:g}", {"ParamAngleX": ax, "ParamAngleY": ay}))
    away = {p.id: (p.max if p.max != p.default else p.min) for p in doc.parameters}
    low = {p.id: (p.min if p.min != p.default else p.max) for p in doc.parameters}
    poses.append(("all at max", away))
    poses.append(("all at min", low))
    combos = {
        "talk turning right-down": {
            "ParamAngleX": 30,
            "ParamAngleY": -30,
            "ParamMouthOpenY": 1,
            "ParamMouthForm": 1,
            "ParamEyeLOpen": 0,
            "ParamHairSide": 1,
            "ParamHairFront": 1,
        },
        "tilt and lean": {
            "ParamAngleZ": 30,
            "ParamBodyAngleZ": -10,
            "ParamBodyAngleX": 10,
            "ParamBodyAngleY": -10,
            "ParamHairBack": -1,
            "ParamBreath": 1,
        },
        "turn left-up, hair against": {
            "ParamAngleX": -30,
            "ParamAngleY": 30,
            "ParamAngleZ": -30,
            "ParamHairFront": 1,
            "ParamHairSide": 1,
            "ParamHairBack": 1,
            "ParamBodyAngleX": 10,
        },
    }
    for name, values in combos.items():
        vals = {k: v for k, v in values.items() if k in params}
        if vals:
            poses.append((name, vals))
    return poses


def tearing_report(doc: RigDocument) -> list[TearingRow]:
    """Hole count of every pose of `report_poses`."""
    checker = TearingChecker(doc)
    return [TearingRow(name, values, checker.count(values)) for name, values in report_poses(doc)]
