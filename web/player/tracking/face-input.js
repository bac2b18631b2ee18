// SPDX-License-Identifier: GPL-3.0-or-later OR MIT
// A face-tracking input plug-in for the player (Player.addInput): any source
// of face measurements (the webcam tracker, a test stream, a phone over a
// socket) pushes them here; each update returns the mapped parameters.  When
// the face is lost the input fades out and the animation takes over again.
//
// Measurements may come slower than frames (the webcam tracker runs its nets
// at 15 Hz): between two, update() glides from what it returned when the
// latest arrived to the latest, over the interval measurements come at (so
// 30 fps drawing moves every frame; the glide adds at most that interval of
// delay).  `interpolate: false` returns the latest values as they are.
import { FaceMapping } from "./face-mapping.js";
import { measureFace } from "./face-pose.js";

const MAX_GLIDE_S = 0.25; // never glide longer than this, however rare the measurements

export class FaceTrackingInput {
  constructor({ mirror = true, smoothing, fadeS = 0.3, lostAfterS = 0.5, mapping = null, interpolate = true } = {}) {
    this.name = "face";
    this.mapping = mapping || new FaceMapping({ mirror, smoothing });
    this.fadeS = fadeS;
    this.lostAfterS = lostAfterS;
    this.interpolate = interpolate;
    this.weight = 0;
    this.clock = 0; // seconds of update() so far
    this.lastPush = -Infinity;
    this.lastMeasure = null;
    this.values = null; // the latest mapped parameters
    this.output = null; // what update() returned last
    this.interval = null; // seconds between measurements (smoothed)
    this._from = null;
    this.calibrateNext = false;
  }

  /** A new frame of 68 landmarks (pixels, y down), with optional pupils. */
  pushLandmarks(points, options) {
    this.push(measureFace(points, options));
  }

  /** A new measurement (measureFace output); dt since the last one is taken from update time. */
  push(measure) {
    if (this.calibrateNext) { this.mapping.calibrate(measure); this.calibrateNext = false; }
    const dt = Number.isFinite(this.lastPush) ? Math.max(this.clock - this.lastPush, 1e-3) : 0;
    this.lastMeasure = measure;
    this.setTarget(this.mapping.map(measure, dt));
  }

  /** New parameter values ({id: value}) to glide to from what is shown now. */
  setTarget(values) {
    const since = this.clock - this.lastPush;
    if (Number.isFinite(since) && since > 0 && since < 1) this.interval = this.interval === null ? since : 0.7 * this.interval + 0.3 * since;
    this._from = this.output && this.tracking ? this.output : null;
    this.values = values;
    this.lastPush = this.clock;
  }

  /** "This is my neutral face": the current (or next) measurement becomes the neutral one. */
  calibrate() {
    if (this.lastMeasure && this.clock - this.lastPush < this.lostAfterS) this.mapping.calibrate(this.lastMeasure);
    else this.calibrateNext = true;
  }

  get tracking() {
    return this.values !== null && this.clock - this.lastPush < this.lostAfterS;
  }

  /** Player input protocol: the parameters now (or null), with this.weight fading in and out. */
  update(dt) {
    this.clock += dt;
    const target = this.tracking ? 1 : 0;
    const step = this.fadeS > 0 ? dt / this.fadeS : 1;
    this.weight = target > this.weight ? Math.min(target, this.weight + step) : Math.max(target, this.weight - step);
    if (!(this.weight > 0 && this.values)) return null;
    this.output = this._glide();
    return this.output;
  }

  _glide() {
    const from = this._from, to = this.values;
    if (!this.interpolate || !from || !this.interval) return to;
    const f = Math.min(Math.max((this.clock - this.lastPush) / Math.min(this.interval, MAX_GLIDE_S), 0), 1);
    if (f >= 1) return to;
    const out = {};
    for (const id in to) {
      const a = from[id], b = to[id];
      out[id] = typeof a === "number" ? a + (b - a) * f : b;
    }
    return out;
  }
}
