// SPDX-License-Identifier: GPL-3.0-or-later OR MIT
// Head, eyes and body follow the pointer over an element (smoothed).

export const POINTER_FOLLOW = [["ParamAngleX", 1, "x"], ["ParamAngleY", -1, "y"], ["ParamEyeBallX", 1, "x"],
                               ["ParamEyeBallY", -1, "y"], ["ParamBodyAngleX", 1, "x"]];

export class PointerFollow {
  constructor() {
    Object.assign(this, { enabled: false, x: 0, y: 0, tx: 0, ty: 0, stop: null });
  }

  /** Listen on `element` (or stop listening); `onMove(x, y)` gets -1..1 (right, down). */
  attach(element, enabled, onMove) {
    if (this.stop) this.stop();
    this.stop = null;
    this.enabled = Boolean(enabled);
    if (!enabled || !element) return;
    const move = (e) => {
      const r = element.getBoundingClientRect();
      onMove(((e.clientX - r.left) / r.width) * 2 - 1, ((e.clientY - r.top) / r.height) * 2 - 1);
    };
    const leave = () => onMove(0, 0);
    element.addEventListener("pointermove", move);
    element.addEventListener("pointerleave", leave);
    this.stop = () => { element.removeEventListener("pointermove", move); element.removeEventListener("pointerleave", leave); };
  }

  setTarget(x, y) {
    this.tx = Math.min(Math.max(Number(x) || 0, -1), 1);
    this.ty = Math.min(Math.max(Number(y) || 0, -1), 1);
  }

  /** Advance by dt; returns [[parameter id, -1..1 follow amount], ...]. */
  update(dt) {
    const k = 1 - Math.exp(-dt / 0.12);
    this.x += (this.tx - this.x) * k;
    this.y += (this.ty - this.y) * k;
    return POINTER_FOLLOW.map(([id, sign, axis]) => [id, sign * (axis === "x" ? this.x : this.y)]);
  }
}
