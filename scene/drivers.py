# SPDX-License-Identifier: GPL-3.0-or-later
"""Keyform weights as Blender drivers, in "simple expressions" only.

Blender evaluates min/max/abs/arithmetic expressions without Python, so the
rig works with auto-run scripts disabled.  An expression holds at most 255
characters, so the weights are built in small driven custom properties on the
armature data (same-ID driver chains are ordered by the depsgraph):

* a *tent* property per (parameter, key list, key index): the clamped
  piecewise-linear weight of ``core.model.document.tent_weights``;
* a *node* property per keyform grid node: the product of its tents and of the
  strengths of the parameters whose key at that node is not the default.

Shape keys read a node property (``shape_key_driver``); bone rotation and
location read a weighted sum of them (``build_bone_drivers``), and so does a
mesh object's opacity (``build_opacity_driver``).  Every driver of a rig is
made in this module.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import bpy
import numpy as np

from ..core.model.document import Keyform, Parameter
from .keys import strength_prop
from .space import METRES_PER_PIXEL

MAX_EXPRESSION = 250  # Blender stores 255 characters
FORM_EPSILON = 1e-9  # a keyform node whose form is below this everywhere makes no driver
WEIGHT_PREFIX = "i2r_"  # + t<n> (tent), w<n> (node), sum<n> (partial sum) on the armature data


def _num(value: float) -> str:
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def _signed(value: float) -> str:
    text = _num(value)
    return "(" + text + ")" if text.startswith("-") else text


def tent_expression(var: str, keys: Sequence[float], index: int, lo: float, hi: float) -> str:
    """Expression of the tent weight of key `index` for variable `var`.

    The value is first clamped to the parameter range, as core.runtime.evaluate does.
    """
    n = len(keys)
    if n == 1:
        return "1"
    v = f"min(max({var},{_num(lo)}),{_num(hi)})"
    if index == 0:
        a, b = keys[0], keys[1]
        return f"max(0,min(1,({_num(b)}-{v})/{_num(b - a)}))"
    if index == n - 1:
        a, b = keys[n - 2], keys[n - 1]
        return f"max(0,min(1,({v}-{_num(a)})/{_num(b - a)}))"
    a, b, c = keys[index - 1], keys[index], keys[index + 1]
    return f"max(0,min(({v}-{_num(a)})/{_num(b - a)},({_num(c)}-{v})/{_num(c - b)}))"


def _add_variable(driver, name: str, id_type: str, id_block, path: str) -> None:
    var = driver.variables.new()
    var.name = name
    var.type = "SINGLE_PROP"
    var.targets[0].id_type = id_type
    var.targets[0].id = id_block
    var.targets[0].data_path = path


def _id_type(id_block) -> str:
    if isinstance(id_block, bpy.types.Object):
        return "OBJECT"
    if isinstance(id_block, bpy.types.Armature):
        return "ARMATURE"
    raise TypeError(f"unsupported driver target {id_block!r}")


def add_driver(
    owner, path: str, expression: str, variables: Sequence[tuple[str, object, str]], index: int = -1
):
    """Driver on owner.path: `variables` are (name, id block, data path)."""
    fcurve = owner.driver_add(path, index) if index >= 0 else owner.driver_add(path)
    driver = fcurve.driver
    driver.type = "SCRIPTED"
    for name, id_block, data_path in variables:
        _add_variable(driver, name, _id_type(id_block), id_block, data_path)
    driver.expression = expression
    if len(driver.expression) != len(expression):
        raise RuntimeError(f"driver expression too long for {path}: {expression}")
    return fcurve


class WeightNetwork:
    """Creates (and shares) the tent and node weight properties of a rig."""

    def __init__(self, rig_object, parameters: dict[str, Parameter], resume: bool = False):
        self.rig = rig_object
        self.store = rig_object.data  # armature data holds the driven weights
        self.parameters = parameters
        self._tents: dict[tuple[str, tuple[float, ...], int], str] = {}
        self._count = 0
        if resume:  # adding to a built rig: continue after its existing properties
            for key in self.store.keys():
                match = re.fullmatch(re.escape(WEIGHT_PREFIX) + r"(?:t|w|sum)(\d+)", key)
                if match:
                    self._count = max(self._count, int(match.group(1)) + 1)

    def _new_prop(self, prefix: str) -> str:
        name = f"{WEIGHT_PREFIX}{prefix}{self._count}"
        self._count += 1
        self.store[name] = 0.0
        return name

    def tent(self, param_id: str, keys: Sequence[float], index: int) -> str:
        key = (param_id, tuple(float(k) for k in keys), index)
        if key not in self._tents:
            p = self.parameters[param_id]
            name = self._new_prop("t")
            add_driver(
                self.store,
                f'["{name}"]',
                tent_expression("v", keys, index, p.min, p.max),
                [("v", self.rig, f'["{param_id}"]')],
            )
            self._tents[key] = name
        return self._tents[key]

    def node(self, keyform: Keyform, node_index: int) -> str:
        """Name of the driven property holding one grid node's weight."""
        sizes = [len(k) for k in keyform.keys]
        indices = []
        rest = node_index
        for size in reversed(sizes):
            indices.append(rest % size)
            rest //= size
        indices.reverse()  # first parameter slowest
        variables = []
        factors = []
        for j, (param_id, keys, i) in enumerate(zip(keyform.params, keyform.keys, indices)):
            if len(keys) > 1:
                tent = self.tent(param_id, keys, i)
                variables.append((f"t{j}", self.store, f'["{tent}"]'))
                factors.append(f"t{j}")
            if abs(keys[i] - self.parameters[param_id].default) >= 1e-9:
                variables.append((f"s{j}", self.rig, f'["{strength_prop(param_id)}"]'))
                factors.append(f"s{j}")
        name = self._new_prop("w")
        add_driver(self.store, f'["{name}"]', "*".join(factors) or "1", variables)
        return name

    def weighted_sum(self, terms: list[tuple[str, float]]) -> tuple[str, list]:
        """Expression and variables for sum(weight_prop * coefficient).

        Long sums are split into driven partial-sum properties so every
        expression stays within Blender's limit.
        """
        terms = [(n, c) for n, c in terms if c != 0.0]
        if not terms:
            return "0", []
        parts: list[str] = []
        variables: list = []
        chunk_terms: list[tuple[str, float]] = []
        expr = ""
        for name, coef in terms:
            piece = f"w{len(chunk_terms)}*{_signed(coef)}"
            candidate = expr + ("+" if expr else "") + piece
            if len(candidate) > MAX_EXPRESSION - 20 and chunk_terms:
                parts.append(self._partial_sum(chunk_terms))
                chunk_terms, expr = [], ""
                piece = f"w0*{_signed(coef)}"
                candidate = piece
            chunk_terms.append((name, coef))
            expr = candidate
        if not parts:
            return expr, [(f"w{i}", self.store, f'["{n}"]') for i, (n, _) in enumerate(chunk_terms)]
        parts.append(self._partial_sum(chunk_terms))
        if len(parts) * 4 > MAX_EXPRESSION:
            raise RuntimeError("too many keyform nodes on one bone channel")
        variables = [(f"p{i}", self.store, f'["{n}"]') for i, n in enumerate(parts)]
        return "+".join(f"p{i}" for i in range(len(parts))), variables

    def _partial_sum(self, terms: list[tuple[str, float]]) -> str:
        name = self._new_prop("sum")
        expr = "+".join(f"w{i}*{_signed(c)}" for i, (_, c) in enumerate(terms))
        add_driver(
            self.store,
            f'["{name}"]',
            expr,
            [(f"w{i}", self.store, f'["{n}"]') for i, (n, _) in enumerate(terms)],
        )
        return name


def shape_key_driver(key_block, weight_prop: str, store) -> None:
    """The shape key's value follows one node weight property."""
    key_block.slider_min = -10.0
    key_block.slider_max = 10.0
    add_driver(key_block, "value", "w", [("w", store, f'["{weight_prop}"]')])


def driver_expressions(id_block) -> list[str] | None:
    if id_block.animation_data is None:
        return None
    return [fc.driver.expression for fc in id_block.animation_data.drivers]


def keyforms_from_bone_records(bone: str, records) -> list:
    return [
        Keyform(
            bone,
            list(r["params"]),
            [list(k) for k in r["keys"]],
            np.asarray(r["forms"], np.float64).reshape(-1, 3),
            owner=r.get("owner", ""),
        )
        for r in records
    ]


def build_bone_drivers(rig, bone: str, keyforms, weights, replace: bool = False) -> None:
    """Drivers of a bone's pose rotation and location from its rotation keyforms."""
    path = f'pose.bones["{bone}"]'
    if replace and rig.animation_data is not None:
        for fc in list(rig.animation_data.drivers):
            if fc.data_path in (f"{path}.rotation_euler", f"{path}.location"):
                rig.animation_data.drivers.remove(fc)
        pb = rig.pose.bones[bone]
        pb.rotation_euler = (0.0, 0.0, 0.0)
        pb.location = (0.0, 0.0, 0.0)
    if not keyforms:
        return
    # Rest frame of the bone: which local axis is the screen normal, and
    # how canvas offsets map onto local location.
    m3 = np.array(rig.data.bones[bone].matrix_local.to_3x3(), np.float64)
    normal_local = m3.T @ np.array([0.0, -1.0, 0.0])  # CCW on screen = about -Y
    axis = int(np.argmax(np.abs(normal_local)))
    sign = float(np.sign(normal_local[axis]))
    # local = m3.T @ world, world = (dx*S, 0, -dy*S)
    loc_dx = m3.T @ np.array([METRES_PER_PIXEL, 0.0, 0.0])
    loc_dy = m3.T @ np.array([0.0, 0.0, -METRES_PER_PIXEL])
    angle_terms, dx_terms, dy_terms = [], [], []
    for kf in keyforms:
        for n in range(kf.node_count()):
            angle, dx, dy = (float(v) for v in kf.forms[n])
            if max(abs(angle), abs(dx), abs(dy)) <= FORM_EPSILON:
                continue
            w = weights.node(kf, n)
            angle_terms.append((w, angle))
            dx_terms.append((w, dx))
            dy_terms.append((w, dy))
    rot_terms = [(w, sign * math.radians(a)) for w, a in angle_terms]
    expr, variables = weights.weighted_sum(rot_terms)
    if variables:
        add_driver(rig, f"{path}.rotation_euler", expr, variables, index=axis)
    for i in range(3):
        terms = [(w, loc_dx[i] * dx) for w, dx in dx_terms]
        terms += [(w, loc_dy[i] * dy) for w, dy in dy_terms]
        merged: dict[str, float] = {}
        for w, c in terms:
            if abs(c) > 1e-15:
                merged[w] = merged.get(w, 0.0) + c
        expr, variables = weights.weighted_sum(list(merged.items()))
        if variables:
            add_driver(rig, f"{path}.location", expr, variables, index=i)


def build_opacity_driver(obj, prop: str, layer_opacity: float, keyforms, weights) -> None:
    """Driver of obj[prop]: layer opacity plus its opacity keyforms (node weights
    times forms), clamped to 0..1 as core/runtime/evaluate.py does."""
    if not keyforms:
        return
    terms = [
        (weights.node(kf, n), float(kf.forms[n, 0]))
        for kf in keyforms
        for n in range(kf.node_count())
        if abs(float(kf.forms[n, 0])) > FORM_EPSILON
    ]
    expr, variables = weights.weighted_sum(terms)
    wrap = "min(max({}+{},0),1)"
    if len(wrap.format(_num(layer_opacity), expr)) > MAX_EXPRESSION:
        total = weights._partial_sum(terms)
        expr, variables = "w", [("w", weights.store, f'["{total}"]')]
    add_driver(obj, f'["{prop}"]', wrap.format(_num(layer_opacity), expr), variables)
