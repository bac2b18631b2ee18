// SPDX-License-Identifier: GPL-3.0-or-later OR MIT
// A face-tracking input plug-in for the player (Player.addInput): any source
// of face measurements (the webcam tracker, a test stream, a phone over a
// socket) pushes them here; each update returns the mapped parameters.  When
// the face is lost the input fades out and the animation takes over again.
import { FaceMapping } from "./face-mapping.js";
import { measureFace } from "./face-pose.js";

export class FaceTrackingInput {
  constructor({ mirror = true, smoothing, fadeS = 0.3, lostAfterS = 0.5, mapping = null } = {}) {
    this.name = "face";
    this.mapping = mapping || new FaceMapping({ mirror, smoothing });
    this.fadeS = fadeS;
    this.lostAfterS = lostAfterS;
    this.weight = 0;
    this.clock = 0; // seconds of update() so far
    this.lastPush = -Infinity;
    this.lastMeasure = null;
    this.values = null;
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
    this.values = this.mapping.map(measure, dt);
    this.lastMeasure = measure;
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
    return this.weight > 0 && this.values ? this.values : null;
  }
}
