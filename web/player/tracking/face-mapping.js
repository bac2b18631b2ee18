// SPDX-License-Identifier: GPL-3.0-or-later OR MIT
// Face measurements (face-pose.js) -> Live2D standard parameters, relative to
// a calibrated neutral face ("this is my neutral face"), smoothed.
//
// Signs (parameter conventions of docs/runtime-format.md and the rigs):
// ParamAngleX > 0 turns the face toward the screen's right, ParamAngleY > 0
// looks up, ParamAngleZ > 0 tilts clockwise on screen, ParamEyeBallX/Y > 0
// look right / up.  In mirror mode (the default, as a webcam preview) the
// character moves like the user's mirror image: the user turning to their own
// left turns it toward the screen's left, and the user's right eye (seen on
// the screen's right in the mirror) drives the character's left eye.
import { TRACKING } from "../constants.js";
import { OneEuroFilter } from "./one-euro.js";

// The neutral face before calibration (FACE_SHAPE's own proportions).
export const DEFAULT_NEUTRAL = Object.freeze({
  yaw: 0, pitch: 0, roll: 0, eyeRight: 9, eyeLeft: 9, mouthGap: 0, mouthWidth: 50, mouthLift: 1.5, gaze: [0, 0],
});

// How far each measurement goes for the full parameter range.
export const RANGES = Object.freeze({
  eyeClosed: 0.2, // eye height (share of the neutral one) at which the eye counts as closed
  mouthOpenMm: 22, // lip gap (mm beyond the neutral one) for ParamMouthOpenY = 1
  mouthWidenShare: 0.18, // mouth width change (share of the neutral one) for ParamMouthForm = +-1 ...
  mouthLiftMm: 6, // ... together with this corner lift (mm)
  gazeFull: 0.5, // pupil offset (eye half-widths) for ParamEyeBallX/Y = +-1
  bodyShare: 0.3, // body angles follow the head by this share
});

const FILTER_UNITS = { ParamAngleX: 30, ParamAngleY: 30, ParamAngleZ: 30, ParamBodyAngleX: 10, ParamBodyAngleZ: 10 };

const clamp = (v, lo, hi) => Math.min(Math.max(v, lo), hi);

export class FaceMapping {
  constructor({ mirror = true, smoothing = TRACKING.smoothing } = {}) {
    this.mirror = mirror;
    this.smoothing = smoothing;
    this.neutral = { ...DEFAULT_NEUTRAL };
    this.filters = new Map();
  }

  /** Take `measure` (measureFace of the user's relaxed face, looking ahead) as the neutral face. */
  calibrate(measure) {
    this.neutral = {
      yaw: measure.yaw, pitch: measure.pitch, roll: measure.roll,
      eyeRight: measure.eyeRight, eyeLeft: measure.eyeLeft,
      mouthGap: measure.mouthGap, mouthWidth: measure.mouthWidth, mouthLift: measure.mouthLift,
      gaze: measure.gaze ? [...measure.gaze] : [0, 0],
    };
    for (const f of this.filters.values()) f.reset();
  }

  /** Parameters from one measurement without smoothing: {ParamAngleX: ...}. */
  raw(m) {
    const n = this.neutral, s = this.mirror ? -1 : 1;
    const eye = (h, h0) => clamp((h / h0 - RANGES.eyeClosed) / (1 - RANGES.eyeClosed), 0, 1.2);
    const eyeR = eye(m.eyeRight, n.eyeRight), eyeL = eye(m.eyeLeft, n.eyeLeft);
    const angleX = s * (m.yaw - n.yaw);
    const angleY = -(m.pitch - n.pitch);
    const angleZ = -s * (m.roll - n.roll);
    const form = (m.mouthWidth / n.mouthWidth - 1) / RANGES.mouthWidenShare + (n.mouthLift - m.mouthLift) / RANGES.mouthLiftMm;
    const out = {
      ParamAngleX: angleX, ParamAngleY: angleY, ParamAngleZ: angleZ,
      ParamBodyAngleX: angleX * RANGES.bodyShare, ParamBodyAngleZ: angleZ * RANGES.bodyShare,
      // The character's left eye shows on the screen's right: in a mirror that is the user's right eye.
      ParamEyeLOpen: this.mirror ? eyeR : eyeL,
      ParamEyeROpen: this.mirror ? eyeL : eyeR,
      ParamMouthOpenY: clamp((m.mouthGap - n.mouthGap) / RANGES.mouthOpenMm, 0, 1),
      ParamMouthForm: clamp(form / 2, -1, 1),
    };
    if (m.gaze) {
      out.ParamEyeBallX = clamp((s * (m.gaze[0] - n.gaze[0])) / RANGES.gazeFull, -1, 1);
      out.ParamEyeBallY = clamp((m.gaze[1] - n.gaze[1]) / RANGES.gazeFull, -1, 1);
    }
    return out;
  }

  /** Smoothed parameters for a measurement that arrived `dt` seconds after the last. */
  map(m, dt) {
    const raw = this.raw(m);
    const out = {};
    for (const [id, v] of Object.entries(raw)) {
      let f = this.filters.get(id);
      if (!f) { f = new OneEuroFilter(this.smoothing); this.filters.set(id, f); }
      // Filtered in units of the parameter's half range, so one smoothing suits all.
      const unit = FILTER_UNITS[id] || 1;
      out[id] = f.filter(v / unit, dt) * unit;
    }
    return out;
  }
}
