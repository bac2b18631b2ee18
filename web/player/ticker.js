// SPDX-License-Identifier: GPL-3.0-or-later OR MIT
// An optional built-in ticker: update(dt) and draw() once per animation frame.

export class Ticker {
  constructor(step) {
    this.step = step; // (dt seconds) => void
    this.id = 0;
    this.last = null;
    this.running = false;
  }

  start() {
    if (this.running || typeof requestAnimationFrame === "undefined") return;
    this.running = true;
    this.last = null;
    const frame = (now) => {
      if (!this.running) return;
      this.id = requestAnimationFrame(frame);
      const dt = this.last === null ? 0 : Math.min((now - this.last) / 1000, 0.25);
      this.last = now;
      this.step(dt);
    };
    this.id = requestAnimationFrame(frame);
  }

  stop() {
    this.running = false;
    if (this.id && typeof cancelAnimationFrame !== "undefined") cancelAnimationFrame(this.id);
    this.id = 0;
  }
}
