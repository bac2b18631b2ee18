// SPDX-License-Identifier: GPL-3.0-or-later OR MIT

import { PHYSICS, PHYSICS_MAX_FRAME_DT, PHYSICS_STEP_HZ } from "./constants.js";

// Pendulum physics: the same maths, order of operations and fixed rate as core/runtime/physics.py
// (read its docstring); the two are tested against each other.

export { PHYSICS_MAX_FRAME_DT, PHYSICS_STEP_HZ };
const AIR_RESISTANCE = PHYSICS.air_resistance;
const TIME_BASE = PHYSICS.time_base;
const [WIND_X, WIND_Y] = PHYSICS.wind; // physics3 Wind; y flipped into y-down space below

function normalise(v, pmin, pdef, pmax, n) {
  if (v > pdef) { const span = pmax - pdef; return span > 0 ? n[1] + ((v - pdef) / span) * (n[2] - n[1]) : n[1]; }
  if (v < pdef) { const span = pdef - pmin; return span > 0 ? n[1] + ((v - pdef) / span) * (n[1] - n[0]) : n[1]; }
  return n[1];
}

/** Steps the model's pendulum settings at a fixed internal rate. */
export class PhysicsSimulator {
  constructor(model) {
    this.model = model;
    this.settings = model.physics || [];
    this.reset();
  }

  reset() {
    const pIndex = this.model.parameterIndex;
    this.chains = this.settings.map((s) => {
      const n = s.vertices.length;
      const py = new Float64Array(n);
      let y = 0;
      for (let k = 1; k < n; k++) { y += s.vertices[k].radius; py[k] = y; }
      return {
        s, px: new Float64Array(n), py, vx: new Float64Array(n), vy: new Float64Array(n), gx: 0, gy: 1,
        outPrev: new Float64Array(s.outputs.length), outCur: new Float64Array(s.outputs.length),
        inputIndex: s.inputs.map((inp) => pIndex.get(inp.source)),
        outputIndex: s.outputs.map((o) => pIndex.get(o.destination)),
        drive: [0, 0], last: [0, 0],
      };
    });
    this.accumulator = 0;
    this.started = false;
  }

  _drive(c, values) {
    const params = this.model.parameters, s = c.s;
    let tx = 0, angle = 0;
    for (let j = 0; j < s.inputs.length; j++) {
      const inp = s.inputs[j], p = params[c.inputIndex[j]];
      let v = values[c.inputIndex[j]];
      if (!Number.isFinite(v)) v = p.default;
      v = Math.min(Math.max(v, p.min), p.max);
      let x = normalise(v, p.min, p.default, p.max, inp.type === "X" ? s.position : s.angle) * (inp.weight / 100);
      if (inp.reflect) x = -x;
      if (inp.type === "X") tx += x; else angle += x;
    }
    c.drive[0] = tx; c.drive[1] = (angle * Math.PI) / 180;
  }

  _substep(c, tx, angle, h) {
    const s = c.s, px = c.px, py = c.py, vx = c.vx, vy = c.vy;
    const gx = Math.sin(angle), gy = Math.cos(angle);
    let turn = Math.atan2(gy, gx) - Math.atan2(c.gy, c.gx);
    if (turn > Math.PI) turn -= 2 * Math.PI;
    else if (turn < -Math.PI) turn += 2 * Math.PI;
    turn /= AIR_RESISTANCE;
    const ct = Math.cos(turn), st = Math.sin(turn);
    const wx = WIND_X, wy = -WIND_Y;
    px[0] = tx; py[0] = 0;
    for (let k = 1; k < s.vertices.length; k++) {
      const vert = s.vertices[k];
      const d = vert.delay * h * TIME_BASE;
      const keep = Math.pow(vert.mobility, h * TIME_BASE);
      let dx = px[k] - px[k - 1], dy = py[k] - py[k - 1];
      const rx = ct * dx - st * dy, ry = st * dx + ct * dy;
      const lx = px[k - 1] + rx, ly = py[k - 1] + ry;
      const nx = lx + vx[k] * keep + (gx * vert.acceleration + wx) * d * d;
      const ny = ly + vy[k] * keep + (gy * vert.acceleration + wy) * d * d;
      let ex = nx - px[k - 1], ey = ny - py[k - 1];
      const length = Math.hypot(ex, ey);
      if (length > 1e-12) { ex /= length; ey /= length; } else { ex = gx; ey = gy; }
      px[k] = px[k - 1] + ex * vert.radius;
      py[k] = py[k - 1] + ey * vert.radius;
      vx[k] = px[k] - lx; vy[k] = py[k] - ly;
    }
    c.gx = gx; c.gy = gy;
    const tmp = c.outPrev; c.outPrev = c.outCur; c.outCur = tmp;
    for (let j = 0; j < s.outputs.length; j++) c.outCur[j] = this._outputAngle(c, s.outputs[j]);
  }

  _outputAngle(c, out) {
    const k = out.vertexIndex, px = c.px, py = c.py;
    const sx = px[k] - px[k - 1], sy = py[k] - py[k - 1];
    let rx = 0, ry = 1;
    if (k >= 2) { rx = px[k - 1] - px[k - 2]; ry = py[k - 1] - py[k - 2]; }
    const a = Math.atan2(ry * sx - rx * sy, rx * sx + ry * sy);
    return out.reflect ? -a : a;
  }

  /**
   * Advance by dt seconds with this frame's parameter values (Float64Array in
   * parameter order); writes the output parameters into `values` (clamped).
   */
  step(values, dt) {
    dt = Number(dt);
    if (!Number.isFinite(dt) || dt < 0) dt = 0;
    dt = Math.min(dt, PHYSICS_MAX_FRAME_DT);
    const h = 1 / PHYSICS_STEP_HZ;
    for (const c of this.chains) {
      c.last[0] = c.drive[0]; c.last[1] = c.drive[1];
      this._drive(c, values);
      if (!this.started) { c.last[0] = c.drive[0]; c.last[1] = c.drive[1]; }
    }
    this.started = true;
    const start = this.accumulator;
    this.accumulator += dt;
    const steps = Math.floor(this.accumulator / h + 1e-9);
    this.accumulator -= steps * h;
    if (this.accumulator < 0) this.accumulator = 0;
    for (let k = 1; k <= steps; k++) {
      let f = dt > 0 ? (k * h - start) / dt : 1;
      f = Math.min(Math.max(f, 0), 1);
      for (const c of this.chains) {
        this._substep(c, c.last[0] + (c.drive[0] - c.last[0]) * f, c.last[1] + (c.drive[1] - c.last[1]) * f, h);
      }
    }
    const alpha = Math.min(this.accumulator / h, 1);
    const params = this.model.parameters;
    for (const c of this.chains) {
      for (let j = 0; j < c.s.outputs.length; j++) {
        const o = c.s.outputs[j], i = c.outputIndex[j], p = params[i];
        const angle = c.outPrev[j] + (c.outCur[j] - c.outPrev[j]) * alpha;
        const w = o.weight / 100;
        const base = Number.isFinite(values[i]) ? values[i] : p.default;
        const v = base * (1 - w) + angle * o.scale * w;
        values[i] = Math.min(Math.max(v, p.min), p.max);
      }
    }
    return values;
  }
}
