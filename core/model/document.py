# SPDX-License-Identifier: GPL-3.0-or-later
"""The rig document: the one vocabulary every pipeline stage reads and writes.

Coordinates are canvas pixels of the input image, x to the right, y down.
Angles are degrees, positive = counter-clockwise as seen on screen.

Keyform semantics (shared with the runtime JSON, the Python evaluator, Blender
and the web player; see docs/runtime-format.md):

* A ``Keyform`` binds one target (mesh, warp or rotation deformer) to one or
  more parameters.  ``keys[p]`` are the ascending key values of parameter p,
  ``forms`` holds one form per grid node (row-major, first parameter slowest).
* A form is an *offset from rest*: mesh vertex offsets (N, 2), warp control
  point offsets ((rows+1)*(cols+1), 2), or rotation [angle, dx, dy].
* Parameter values are clamped to their key range, each parameter gets
  piecewise-linear "tent" weights, the node weight is the product, and the
  offsets of all keyforms of a target add up.
* A keyform's ``channel`` says what its forms move: "offset" (the default,
  the shapes above) or "opacity": a mesh keyform whose forms are (nodes, 1)
  additive offsets to the mesh's layer opacity; the evaluated opacity is
  clamp(layer.opacity + sum of all opacity offsets of the mesh, 0, 1).

Deformation of a mesh vertex: rest + mesh keyform offsets, then each deformer
of its parent chain from the innermost outwards.  A warp maps a point by
adding the bilinear interpolation of its control-point offsets (cell indices
clamped to the grid, so points outside take the edge offsets).  A rotation
rotates about its pivot by the angle, then translates by (dx, dy).  Rotation
deformers may only have rotation deformers as parents (they become one bone
chain in Blender); warps may have warps or rotations as parents.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Sequence

import numpy as np

from .constants import RUNTIME
from .errors import DocumentError
from .physics import PhysicsSetting

FORMAT_NAME = RUNTIME["format"]["name"]
FORMAT_VERSION = int(RUNTIME["format"]["version"])

# The 23 See-through layer tags.  Left/right parts carry the suffix "_l"/"_r"
# in their layer id (the character's own left and right: "_l" appears on the
# right half of the image).
SEE_THROUGH_TAGS = (
    "back hair",
    "front hair",
    "headwear",
    "face",
    "irides",
    "eyebrow",
    "eyewhite",
    "eyelash",
    "eyewear",
    "ears",
    "earwear",
    "nose",
    "mouth",
    "neck",
    "neckwear",
    "topwear",
    "handwear",
    "bottomwear",
    "legwear",
    "footwear",
    "tail",
    "wings",
    "objects",
)
SIDED_TAGS = ("irides", "eyebrow", "eyewhite", "eyelash", "ears", "earwear")
SIDE_SUFFIX = {"l": "_l", "r": "_r", "": ""}
KEYFORM_CHANNELS = ("offset", "opacity")
# Roles of the layers the rig makes itself from the others (the blush, the
# underlays that fill gaps): rebuilt on every build, never measured, left out
# of the layered PSD.
RIG_MADE_ROLES = ("blush", "underlay")


@dataclass
class Canvas:
    width: int
    height: int


@dataclass
class Layer:
    """One semantic layer: a straight-alpha RGBA crop placed on the canvas."""

    id: str
    tag: str
    image: np.ndarray  # (h, w, 4) uint8, straight alpha, hidden parts painted in
    x: int = 0  # top-left of the crop on the canvas
    y: int = 0
    side: str = ""  # "", "l" or "r"
    visible_mask: np.ndarray | None = None  # (h, w) bool: visible in the input
    generated: bool = False  # synthesised (e.g. closed lid), not cut from the input
    opacity: float = 1.0
    clip_to: str | None = None  # id of the layer whose alpha masks this one
    role: str = ""  # variant within a tag: "" or e.g. "closed", "interior"
    follows: str | None = None  # for untagged extras: the layer whose deformers it follows
    source_name: str = ""  # the artist's name for it (layered input), for reports

    @property
    def size(self) -> tuple[int, int]:
        return int(self.image.shape[1]), int(self.image.shape[0])

    def paste(self, crop: np.ndarray, canvas: Canvas) -> np.ndarray:
        """A crop-sized array (image, mask) of this layer pasted onto a zero canvas."""
        out = np.zeros((canvas.height, canvas.width) + crop.shape[2:], crop.dtype)
        h, w = crop.shape[:2]
        x0, y0 = max(self.x, 0), max(self.y, 0)
        x1, y1 = min(self.x + w, canvas.width), min(self.y + h, canvas.height)
        if x1 > x0 and y1 > y0:
            out[y0:y1, x0:x1] = crop[y0 - self.y : y1 - self.y, x0 - self.x : x1 - self.x]
        return out

    def full_canvas(self, canvas: Canvas) -> np.ndarray:
        """This layer as a full-canvas RGBA image (crop pasted at x, y)."""
        return self.paste(self.image, canvas)

    def full_mask(self, canvas: Canvas, visible: bool = False) -> np.ndarray:
        """Full-canvas bool mask: where the layer is visible in the input
        (`visible=True`, when known) or where it has any alpha."""
        if visible and self.visible_mask is not None:
            return self.paste(self.visible_mask.astype(bool), canvas)
        return self.paste(self.image[..., 3] > 0, canvas)


@dataclass
class Mesh:
    id: str
    layer: str  # id of the layer whose image textures this mesh
    vertices: np.ndarray  # (N, 2) float64 rest positions, canvas px
    triangles: np.ndarray  # (M, 3) int32
    uvs: np.ndarray  # (N, 2) float64, pixel coordinates inside the layer crop
    deformer: str | None = None  # innermost parent deformer id


@dataclass
class RotationDeformer:
    id: str
    pivot: tuple[float, float]
    parent: str | None = None
    kind: str = "rotation"


@dataclass
class WarpDeformer:
    id: str
    rect: tuple[float, float, float, float]  # x0, y0, x1, y1 of the rest grid
    rows: int
    cols: int
    parent: str | None = None
    kind: str = "warp"

    def rest_points(self) -> np.ndarray:
        """((rows+1)*(cols+1), 2) rest control points, row-major from the top."""
        x0, y0, x1, y1 = self.rect
        xs = np.linspace(x0, x1, self.cols + 1)
        ys = np.linspace(y0, y1, self.rows + 1)
        gx, gy = np.meshgrid(xs, ys)
        return np.stack([gx.ravel(), gy.ravel()], axis=1)


Deformer = RotationDeformer | WarpDeformer


@dataclass
class Parameter:
    id: str
    min: float
    default: float
    max: float
    name: str = ""
    group: str = ""
    confidence: float = 1.0  # how sure the pipeline is the parts it needs look right
    strength: float = 1.0  # creator's scale of this parameter's keyforms (baked on export)


@dataclass
class Keyform:
    target: str
    params: list[str]
    keys: list[list[float]]
    forms: np.ndarray  # (nodes, ...) offsets from rest, see module docstring
    owner: str = ""  # the generator that made it (regenerated together)
    channel: str = "offset"  # "offset" (shape) or "opacity" (mesh opacity, forms (nodes, 1))

    def node_count(self) -> int:
        n = 1
        for k in self.keys:
            n *= len(k)
        return n


@dataclass
class MotionCurve:
    param: str
    times: np.ndarray  # (K,) seconds, ascending
    values: np.ndarray  # (K,) parameter values, linear in between


@dataclass
class Motion:
    id: str
    duration: float
    curves: list[MotionCurve] = field(default_factory=list)
    loop: bool = True
    fps: float = 30.0
    strength: float = 1.0  # creator's scale of the motion around parameter defaults


@dataclass
class RigDocument:
    canvas: Canvas
    layers: list[Layer] = field(default_factory=list)
    meshes: list[Mesh] = field(default_factory=list)
    deformers: list[Deformer] = field(default_factory=list)
    parameters: list[Parameter] = field(default_factory=list)
    keyforms: list[Keyform] = field(default_factory=list)
    draw_order: list[str] = field(default_factory=list)  # mesh ids, back to front
    motions: list[Motion] = field(default_factory=list)
    source: str = ""
    version: int = FORMAT_VERSION
    info: dict[str, object] = field(default_factory=dict)  # findings, warnings
    physics: list[PhysicsSetting] = field(default_factory=list)  # hair physics (model/physics.py)

    # --- lookups -----------------------------------------------------------
    def layer(self, layer_id: str) -> Layer:
        for layer in self.layers:
            if layer.id == layer_id:
                return layer
        raise KeyError(layer_id)

    def mesh(self, mesh_id: str) -> Mesh:
        for mesh in self.meshes:
            if mesh.id == mesh_id:
                return mesh
        raise KeyError(mesh_id)

    def deformer(self, deformer_id: str) -> Deformer:
        for deformer in self.deformers:
            if deformer.id == deformer_id:
                return deformer
        raise KeyError(deformer_id)

    def parameter(self, param_id: str) -> Parameter:
        for param in self.parameters:
            if param.id == param_id:
                return param
        raise KeyError(param_id)

    def keyforms_of(self, target: str, channel: str | None = "offset") -> list[Keyform]:
        """Keyforms of one target in one channel ("offset", "opacity"; None: all)."""
        return [k for k in self.keyforms if k.target == target and (channel is None or k.channel == channel)]

    def deformer_chain(self, deformer_id: str | None) -> list[Deformer]:
        """The deformer and its ancestors, innermost first."""
        chain: list[Deformer] = []
        seen = set()
        while deformer_id is not None:
            if deformer_id in seen:
                raise DocumentError(f"deformer parent cycle at {deformer_id!r}")
            seen.add(deformer_id)
            deformer = self.deformer(deformer_id)
            chain.append(deformer)
            deformer_id = deformer.parent
        return chain

    def default_values(self) -> dict[str, float]:
        return {p.id: float(p.default) for p in self.parameters}

    def validate(self) -> None:
        """Check cross references and shapes; raise DocumentError on the first problem."""
        layer_ids = {l.id for l in self.layers}
        ids: dict[str, str] = {}
        for kind, items in (("mesh", self.meshes), ("deformer", self.deformers)):
            for item in items:
                if item.id in ids:
                    raise DocumentError(f"duplicate id {item.id!r} ({ids[item.id]} and {kind})")
                ids[item.id] = kind
        deformer_ids = {d.id for d in self.deformers}
        for d in self.deformers:
            if d.parent is not None and d.parent not in deformer_ids:
                raise DocumentError(f"deformer {d.id!r} has unknown parent {d.parent!r}")
            if isinstance(d, RotationDeformer) and d.parent is not None:
                if not isinstance(self.deformer(d.parent), RotationDeformer):
                    raise DocumentError(f"rotation {d.id!r} must have a rotation parent")
            if isinstance(d, WarpDeformer) and (d.rows < 1 or d.cols < 1):
                raise DocumentError(f"warp {d.id!r} needs at least one row and column")
            self.deformer_chain(d.id)
        for m in self.meshes:
            if m.layer not in layer_ids:
                raise DocumentError(f"mesh {m.id!r} uses unknown layer {m.layer!r}")
            if m.deformer is not None and m.deformer not in deformer_ids:
                raise DocumentError(f"mesh {m.id!r} has unknown deformer {m.deformer!r}")
            n = len(m.vertices)
            if m.vertices.shape != (n, 2) or m.uvs.shape != (n, 2):
                raise DocumentError(f"mesh {m.id!r}: vertices and uvs must be (N, 2)")
            if m.triangles.ndim != 2 or m.triangles.shape[1] != 3:
                raise DocumentError(f"mesh {m.id!r}: triangles must be (M, 3)")
            if len(m.triangles) and (m.triangles.min() < 0 or m.triangles.max() >= n):
                raise DocumentError(f"mesh {m.id!r}: triangle index out of range")
        param_ids = {p.id for p in self.parameters}
        for p in self.parameters:
            if not (p.min <= p.default <= p.max) or p.min == p.max:
                raise DocumentError(f"parameter {p.id!r}: need min <= default <= max, min < max")
        for k in self.keyforms:
            if k.target not in ids:
                raise DocumentError(f"keyform targets unknown object {k.target!r}")
            if len(k.params) != len(k.keys) or not k.params:
                raise DocumentError(f"keyform of {k.target!r}: one key list per parameter")
            for p, keys in zip(k.params, k.keys):
                if p not in param_ids:
                    raise DocumentError(f"keyform of {k.target!r} uses unknown parameter {p!r}")
                if len(keys) < 1 or any(b <= a for a, b in zip(keys, keys[1:])):
                    raise DocumentError(f"keyform of {k.target!r}: keys of {p} must ascend")
            if k.channel not in KEYFORM_CHANNELS:
                raise DocumentError(
                    f"keyform of {k.target!r}: unknown channel {k.channel!r} "
                    f"(expected one of {', '.join(KEYFORM_CHANNELS)})"
                )
            if k.channel == "opacity" and ids[k.target] != "mesh":
                raise DocumentError(f"opacity keyform targets {k.target!r}, which is not a mesh")
            expected = expected_form_shape(self, k.target, k.channel)
            if k.forms.shape != (k.node_count(),) + expected:
                raise DocumentError(
                    f"keyform of {k.target!r} over {k.params}: forms shape {k.forms.shape}, "
                    f"expected {(k.node_count(),) + expected}"
                )
        mesh_ids = {m.id for m in self.meshes}
        if sorted(self.draw_order) != sorted(mesh_ids):
            raise DocumentError("draw order must list every mesh exactly once")
        for layer in self.layers:
            if layer.clip_to is not None and layer.clip_to not in layer_ids:
                raise DocumentError(f"layer {layer.id!r} clips to unknown layer {layer.clip_to!r}")
        for motion in self.motions:
            for c in motion.curves:
                if c.param not in param_ids:
                    raise DocumentError(f"motion {motion.id!r} animates unknown {c.param!r}")


def expected_form_shape(doc: RigDocument, target: str, channel: str = "offset") -> tuple[int, ...]:
    if channel == "opacity":
        return (1,)
    for m in doc.meshes:
        if m.id == target:
            return (len(m.vertices), 2)
    d = doc.deformer(target)
    if isinstance(d, WarpDeformer):
        return ((d.rows + 1) * (d.cols + 1), 2)
    return (3,)


def layer_id(tag: str, side: str = "", role: str = "") -> str:
    """Canonical layer id: tag with spaces as '-', then role and side suffix."""
    base = tag.replace(" ", "-")
    if role:
        base += "-" + role
    return base + SIDE_SUFFIX[side]


def tent_weights(keys: Sequence[float], value: float) -> np.ndarray:
    """Piecewise-linear interpolation weights of `value` over ascending `keys`."""
    k = np.asarray(keys, dtype=np.float64)
    w = np.zeros(len(k))
    if len(k) == 1:
        w[0] = 1.0
        return w
    v = min(max(float(value), k[0]), k[-1])
    i = int(np.searchsorted(k, v, side="right") - 1)
    i = min(max(i, 0), len(k) - 2)
    t = (v - k[i]) / (k[i + 1] - k[i])
    w[i] = 1.0 - t
    w[i + 1] = t
    return w


def node_weights(keyform: Keyform, values: dict[str, float]) -> np.ndarray:
    """Weight of every grid node of a keyform (row-major, first param slowest)."""
    w = np.ones(1)
    for p, keys in zip(keyform.params, keyform.keys):
        w = np.outer(w, tent_weights(keys, values[p])).ravel()
    return w
