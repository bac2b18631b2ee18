# SPDX-License-Identifier: GPL-3.0-or-later
"""Pendulum physics in Cubism physics3 terms: hair that lags and sways.

A physics setting is a chain of pendulum vertices.  Vertex 0 (the root) sits
at the horizontal *translation* made by the setting's "X" inputs; the chain
hangs in the direction of gravity turned by the *angle* made by its "Angle"
inputs.  Each output reads the angle (radians) of one chain segment relative
to the segment above it (the first segment: relative to straight down), times
its scale, and blends it into a parameter.

Conventions of this implementation (the same in web/player.js; keep in step):

* Physics space is y down; at rest the chain hangs toward +y.  A positive
  output angle means the segment's tip swung toward screen +x.
* Input normalisation: a parameter value is mapped piecewise-linearly from
  (min, default, max) of the parameter to (min, default, max) of the
  setting's normalisation range, times weight / 100, negated when `reflect`.
* Integration runs at a FIXED rate (``STEP_HZ``) with an accumulator, inputs
  interpolated linearly across the sub-steps of a frame and outputs
  interpolated between the last two sub-steps, so any frame rate gives the
  same curve.  One sub-step of a vertex (Cubism semantics, with the 30 fps
  time base of the format): d = delay * h * 30; the segment is turned by the
  change of gravity direction / AIR_RESISTANCE (not counted as motion);
  position += carried displacement * mobility^(30 h) + (gravity *
  acceleration + wind) * d^2; then the vertex is put back at `radius` from
  its parent and the carried displacement is the sub-step's movement.
* A frame's dt is clamped to ``MAX_FRAME_DT`` (a stalled tab does not make the
  hair explode) and non-finite inputs read as the parameter default.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..model.constants import PHYSICS
from ..model.document import Motion, RigDocument
from ..model.physics import PhysicsOutput, PhysicsSetting
from .evaluate import sample_motion

STEP_HZ = float(PHYSICS["step_hz"])
MAX_FRAME_DT = float(PHYSICS["max_frame_dt"])
AIR_RESISTANCE = float(PHYSICS["air_resistance"])
GRAVITY = tuple(float(v) for v in PHYSICS["gravity"])  # as written in physics3 (y up there): down
WIND = tuple(float(v) for v in PHYSICS["wind"])
TIME_BASE = float(PHYSICS["time_base"])  # the format's delay/mobility are per 1/30 s


# ------------------------------------------------------------------ simulation


def _normalise(
    value: float, pmin: float, pdef: float, pmax: float, nmin: float, ndef: float, nmax: float
) -> float:
    if value > pdef:
        span = pmax - pdef
        return ndef + ((value - pdef) / span) * (nmax - ndef) if span > 0 else ndef
    if value < pdef:
        span = pdef - pmin
        return ndef + ((value - pdef) / span) * (ndef - nmin) if span > 0 else ndef
    return ndef


class _Chain:
    """Simulation state of one setting."""

    def __init__(self, setting: PhysicsSetting, ranges: dict[str, tuple[float, float, float]]):
        self.setting = setting
        self.ranges = ranges
        n = len(setting.vertices)
        # Rest pose: hanging straight down with each vertex's radius.
        self.px = [0.0] * n
        self.py = [0.0] * n
        y = 0.0
        for k in range(1, n):
            y += setting.vertices[k].radius
            self.py[k] = y
        self.vx = [0.0] * n  # carried displacement of the last sub-step
        self.vy = [0.0] * n
        self.gx, self.gy = 0.0, 1.0  # last gravity direction (y down)
        self.out_prev = [0.0] * len(setting.outputs)
        self.out_cur = [0.0] * len(setting.outputs)

    def drive(self, values: dict[str, float]) -> tuple[float, float]:
        """Root translation x and gravity angle (radians) from the inputs."""
        s = self.setting
        tx = 0.0
        angle = 0.0
        for inp in s.inputs:
            pmin, pdef, pmax = self.ranges[inp.source]
            v = values.get(inp.source, pdef)
            v = min(max(v, pmin), pmax)
            norm = s.normalization_position if inp.type == "X" else s.normalization_angle
            x = _normalise(v, pmin, pdef, pmax, *norm) * (inp.weight / 100.0)
            if inp.reflect:
                x = -x
            if inp.type == "X":
                tx += x
            else:
                angle += x
        return tx, angle * math.pi / 180.0

    def substep(self, tx: float, angle: float, h: float) -> None:
        s = self.setting
        gx, gy = math.sin(angle), math.cos(angle)  # y down: angle 0 hangs toward +y
        # Turn of gravity since the last sub-step, shared with the segments.
        turn = math.atan2(gy, gx) - math.atan2(self.gy, self.gx)
        if turn > math.pi:
            turn -= 2 * math.pi
        elif turn < -math.pi:
            turn += 2 * math.pi
        turn /= AIR_RESISTANCE
        ct, st = math.cos(turn), math.sin(turn)
        wx, wy = WIND[0], -WIND[1]
        px, py, vx, vy = self.px, self.py, self.vx, self.vy
        px[0], py[0] = tx, 0.0
        for k in range(1, len(s.vertices)):
            vert = s.vertices[k]
            d = vert.delay * h * TIME_BASE
            keep = vert.mobility ** (h * TIME_BASE)
            # The segment turns with gravity (no kick: not carried as velocity).
            dx, dy = px[k] - px[k - 1], py[k] - py[k - 1]
            dx, dy = ct * dx - st * dy, st * dx + ct * dy
            lx, ly = px[k - 1] + dx, py[k - 1] + dy
            nx = lx + vx[k] * keep + (gx * vert.acceleration + wx) * d * d
            ny = ly + vy[k] * keep + (gy * vert.acceleration + wy) * d * d
            ex, ey = nx - px[k - 1], ny - py[k - 1]
            length = math.hypot(ex, ey)
            if length > 1e-12:
                ex, ey = ex / length, ey / length
            else:
                ex, ey = gx, gy
            px[k] = px[k - 1] + ex * vert.radius
            py[k] = py[k - 1] + ey * vert.radius
            vx[k], vy[k] = px[k] - lx, py[k] - ly
        self.gx, self.gy = gx, gy
        self.out_prev, self.out_cur = self.out_cur, [self.output_angle(o) for o in s.outputs]

    def output_angle(self, out: PhysicsOutput) -> float:
        k = int(out.vertex_index)
        sx, sy = self.px[k] - self.px[k - 1], self.py[k] - self.py[k - 1]
        if k >= 2:
            rx, ry = self.px[k - 1] - self.px[k - 2], self.py[k - 1] - self.py[k - 2]
        else:
            rx, ry = 0.0, 1.0
        # Positive when the segment is turned from its reference toward screen +x.
        a = math.atan2(ry * sx - rx * sy, rx * sx + ry * sy)
        return -a if out.reflect else a


class PhysicsSimulator:
    """Steps every physics setting of a document at a fixed internal rate."""

    def __init__(self, doc: RigDocument, settings: Sequence[PhysicsSetting] = None):
        self.settings = list(doc.physics if settings is None else settings)
        self.ranges = {p.id: (float(p.min), float(p.default), float(p.max)) for p in doc.parameters}
        self.step_seconds = 1.0 / STEP_HZ
        self.reset()

    def reset(self) -> None:
        self.chains = [_Chain(s, self.ranges) for s in self.settings]
        self.accumulator = 0.0
        self.last_inputs = None

    def _clean(self, values: dict[str, float]) -> dict[str, float]:
        # Clamped to each range, as parameter values always are (and as the web
        # player's are): an output below 100 % weight blends with the clamped value.
        out = {}
        for pid, (pmin, pdef, pmax) in self.ranges.items():
            v = values.get(pid, pdef)
            try:
                v = float(v)
            except (TypeError, ValueError):
                v = pdef
            out[pid] = min(max(v, pmin), pmax) if math.isfinite(v) else pdef
        return out

    def step(self, values: dict[str, float], dt: float) -> dict[str, float]:
        """Advance by dt seconds with the parameter values of this frame;
        returns the output parameter values (clamped to their ranges)."""
        vals = self._clean(values)
        try:
            dt = float(dt)
        except (TypeError, ValueError):
            dt = 0.0
        if not math.isfinite(dt) or dt < 0:
            dt = 0.0
        dt = min(dt, MAX_FRAME_DT)
        h = self.step_seconds
        drives = [c.drive(vals) for c in self.chains]
        previous = self.last_inputs if self.last_inputs is not None else drives
        start = self.accumulator
        self.accumulator += dt
        steps = int(self.accumulator / h + 1e-9)
        self.accumulator -= steps * h
        if self.accumulator < 0:
            self.accumulator = 0.0
        for k in range(1, steps + 1):
            # Inputs interpolated across the frame at this sub-step's time.
            f = (k * h - start) / dt if dt > 0 else 1.0
            f = min(max(f, 0.0), 1.0)
            for c, (tx0, a0), (tx1, a1) in zip(self.chains, previous, drives):
                c.substep(tx0 + (tx1 - tx0) * f, a0 + (a1 - a0) * f, h)
        self.last_inputs = drives
        alpha = min(self.accumulator / h, 1.0)
        result: dict[str, float] = {}
        for c in self.chains:
            for o, a_prev, a_cur in zip(c.setting.outputs, c.out_prev, c.out_cur):
                angle = a_prev + (a_cur - a_prev) * alpha
                pmin, _, pmax = self.ranges[o.destination]
                w = o.weight / 100.0
                base = result.get(o.destination, vals[o.destination])
                v = base * (1.0 - w) + angle * o.scale * w
                result[o.destination] = min(max(v, pmin), pmax)
        return result


# ------------------------------------------------------------------ baking


def bake_physics(
    doc: RigDocument, motion: Motion, fps: float = None
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Simulate the motion's inputs; output parameter -> (times, values) per frame.

    A looping motion is played once before recording, so its baked curves
    join up at the loop point as the web player's would after a while."""
    fps = float(fps or motion.fps or 30.0)
    if not doc.physics:
        return {}
    sim = PhysicsSimulator(doc)
    frames = max(1, int(round(motion.duration * fps)))
    times = np.arange(frames + 1) / fps
    dt = 1.0 / fps
    if motion.loop:
        for t in times[:-1]:
            sim.step(sample_motion(doc, motion, t), dt)
    records: dict[str, list[float]] = {}
    for i, t in enumerate(times):
        out = sim.step(sample_motion(doc, motion, t), dt if (i or motion.loop) else 0.0)
        for pid, v in out.items():
            records.setdefault(pid, []).append(v)
    return {pid: (times.copy(), np.asarray(v)) for pid, v in records.items()}
