// SPDX-License-Identifier: GPL-3.0-or-later OR MIT
// Automatic blinking, timed by constants.json "blink" (the numbers the Python
// idle motion uses, core/stages/motions/blink.py): close, hold, open, a random gap, now
// and then a double blink.  All randomness comes from `random()` (the player's
// replaceable source), the first blink included.
import { BLINK } from "./constants.js";

export class AutoBlink {
  constructor(random = Math.random) {
    this.random = random;
    this.reset();
  }

  reset() {
    this.next = null; // drawn on the first update, from the random source then in use
    this.start = -1;
    this.double = false;
  }

  _uniform([lo, hi]) {
    return lo + (hi - lo) * this.random();
  }

  /** Openness 0 (closed) .. 1 (open) at time `now` (seconds, ascending). */
  openness(now) {
    const b = BLINK;
    if (this.next === null) this.next = now + this._uniform(b.first_s);
    if (this.start < 0 && now >= this.next) this.start = now;
    if (this.start < 0) return 1;
    const t = now - this.start, length = b.close_s + b.hold_s + b.open_s;
    if (t < b.close_s) return 1 - t / b.close_s;
    if (t < b.close_s + b.hold_s) return 0;
    if (t < length) return (t - b.close_s - b.hold_s) / b.open_s;
    this.start = -1;
    if (!this.double && this.random() < b.double_chance) {
      this.double = true;
      this.next = now + b.double_pause_s;
    } else {
      this.double = false;
      this.next = now + this._uniform(b.gap_s);
    }
    return 1;
  }
}
