// SPDX-License-Identifier: GPL-3.0-or-later OR MIT
// The "1 euro" low-pass filter (Casiez, Roussel and Vogel, CHI 2012): strong
// smoothing while a value holds still, little lag while it moves fast.

function alpha(cutoff, dt) {
  const tau = 1 / (2 * Math.PI * cutoff);
  return 1 / (1 + tau / dt);
}

export class OneEuroFilter {
  constructor({ min_cutoff_hz = 1.5, beta = 0.8, derivative_cutoff_hz = 1.0 } = {}) {
    this.minCutoff = min_cutoff_hz;
    this.beta = beta;
    this.dCutoff = derivative_cutoff_hz;
    this.reset();
  }

  reset() {
    this.x = null;
    this.dx = 0;
  }

  /** Filter value `x` that arrived `dt` seconds after the previous one. */
  filter(x, dt) {
    if (this.x === null || !(dt > 0)) {
      if (this.x === null) this.x = x;
      return this.x;
    }
    const dx = (x - this.x) / dt;
    this.dx += alpha(this.dCutoff, dt) * (dx - this.dx);
    const cutoff = this.minCutoff + this.beta * Math.abs(this.dx);
    this.x += alpha(cutoff, dt) * (x - this.x);
    return this.x;
  }
}
