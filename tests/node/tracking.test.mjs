// SPDX-License-Identifier: GPL-3.0-or-later OR MIT
// Face tracking maths: landmark streams made from a 3D face (not the tracker's
// own template: another person's proportions, perspective, noise) moved by
// known angles and expressions, fed to measureFace + FaceMapping.
import test from "node:test";
import assert from "node:assert/strict";
import { FACE_SHAPE, measureFace } from "../../web/player/tracking/face-pose.js";
import { FaceMapping } from "../../web/player/tracking/face-mapping.js";
import { FaceTrackingInput } from "../../web/player/tracking/face-input.js";

function rng(seed) {
  let s = seed >>> 0;
  return () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 4294967296; };
}
function gauss(r) { return Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r()); }

// Another face: wider, flatter top, deeper nose, and its own bumps.
const r0 = rng(42);
const PERSON = FACE_SHAPE.map(([x, y, z]) => [x * 1.07 + gauss(r0) * 1.2, y * 0.95 + gauss(r0) * 1.2, z * 1.15 + gauss(r0) * 1.5]);

function rot(yaw, pitch, roll) {
  const [y, p, r] = [yaw, pitch, roll].map((d) => (d * Math.PI) / 180);
  const Ry = [[Math.cos(y), 0, Math.sin(y)], [0, 1, 0], [-Math.sin(y), 0, Math.cos(y)]];
  const Rx = [[1, 0, 0], [0, Math.cos(p), -Math.sin(p)], [0, Math.sin(p), Math.cos(p)]];
  const Rz = [[Math.cos(r), -Math.sin(r), 0], [Math.sin(r), Math.cos(r), 0], [0, 0, 1]];
  const mul = (A, B) => A.map((row) => B[0].map((_, j) => row.reduce((s, v, k) => s + v * B[k][j], 0)));
  return mul(Rz, mul(Rx, Ry));
}

/** 68 image points (px, y down) of PERSON posed and with an expression, seen by a pinhole camera. */
function frame({ yaw = 0, pitch = 0, roll = 0, eyeClose = [0, 0], mouthOpen = 0, smile = 0, noise = 0.3, seed = 1, gaze = [0, 0] } = {}) {
  const r = rng(seed);
  const pts = PERSON.map((p) => [...p]);
  // Eyes: the upper lid comes down toward the lower lid by the given share (right eye, left eye).
  for (const [k, [u1, u2, l1, l2]] of [[0, [37, 38, 41, 40]], [1, [43, 44, 47, 46]]]) {
    for (const [u, l] of [[u1, l1], [u2, l2]]) pts[u][1] -= (pts[u][1] - pts[l][1]) * eyeClose[k] * 0.95;
  }
  // Mouth: the lower lip and chin drop by mouthOpen mm.
  for (const i of [55, 56, 57, 58, 59, 65, 66, 67]) pts[i][1] -= mouthOpen;
  for (let i = 4; i <= 12; i++) pts[i][1] -= mouthOpen * 0.7 * Math.sin((Math.PI * (i - 3)) / 10);
  // Smile: corners out and up.
  pts[48][0] -= 4 * smile; pts[54][0] += 4 * smile; pts[48][1] += 4 * smile; pts[54][1] += 4 * smile;
  const R = rot(yaw, pitch, roll);
  const dist = 550, f = 700, cx = 320, cy = 240;
  const project = ([x, y, z]) => {
    const c = R.map((row) => row[0] * x + row[1] * y + row[2] * z);
    const depth = dist - c[2];
    return [cx + (f * c[0]) / depth + gauss(r) * noise, cy - (f * c[1]) / depth + gauss(r) * noise];
  };
  const points = pts.map(project);
  // Pupils: the eye centre moved by gaze (eye half-widths) in the face plane.
  const pupil = (a, b) => {
    const c = [(pts[a][0] + pts[b][0]) / 2, (pts[a][1] + pts[b][1]) / 2 - 0.5, (pts[a][2] + pts[b][2]) / 2 + 2];
    const half = Math.abs(pts[b][0] - pts[a][0]) / 2;
    return project([c[0] + gaze[0] * half, c[1] + gaze[1] * half, c[2]]);
  };
  return { points, pupils: [pupil(36, 39), pupil(42, 45)] };
}

const near = (got, want, tol, what) => assert.ok(Math.abs(got - want) <= tol, `${what}: ${got.toFixed(3)} vs ${want} (tolerance ${tol})`);

const CAMERA = { focal: 700, centre: [320, 240] };

function mapped(opts, { mirror = false, neutral = {} } = {}) {
  const m = new FaceMapping({ mirror });
  const n = frame({ noise: 0, ...neutral });
  m.calibrate(measureFace(n.points, { pupils: n.pupils, camera: CAMERA }));
  const f = frame(opts);
  return m.raw(measureFace(f.points, { pupils: f.pupils, camera: CAMERA }));
}

test("head angles follow the face with the right sign and size", () => {
  for (const yaw of [-30, -15, 15, 30]) {
    const p = mapped({ yaw, seed: yaw + 100 });
    near(p.ParamAngleX, yaw, 3, `AngleX at yaw ${yaw}`);
    near(p.ParamAngleY, 0, 3, `AngleY at yaw ${yaw}`);
    near(p.ParamAngleZ, 0, 2, `AngleZ at yaw ${yaw}`);
  }
  for (const pitch of [-20, -10, 10, 20]) {
    const p = mapped({ pitch, seed: pitch + 200 });
    // Pitch depends most on the face's depth proportions (this one is 15 % deeper than the template).
    near(p.ParamAngleY, -pitch, 1 + 0.2 * Math.abs(pitch), `AngleY at pitch ${pitch} (nose down: look down)`);
    near(p.ParamAngleX, 0, 3, `AngleX at pitch ${pitch}`);
  }
  for (const roll of [-25, 25]) {
    const p = mapped({ roll, seed: roll + 300 });
    // Counter-clockwise in the camera image is counter-clockwise on screen without a mirror: AngleZ < 0.
    near(p.ParamAngleZ, -roll, 2, `AngleZ at roll ${roll}`);
  }
  const combined = mapped({ yaw: 20, pitch: -12, roll: 10, seed: 7 });
  near(combined.ParamAngleX, 20, 4, "AngleX combined");
  near(combined.ParamAngleY, 12, 4, "AngleY combined");
  near(combined.ParamAngleZ, -10, 3, "AngleZ combined");
});

test("mirror mode moves the character like the user's mirror image", () => {
  const plain = mapped({ yaw: 20, roll: 15, eyeClose: [1, 0], gaze: [0.4, 0] });
  const mirror = mapped({ yaw: 20, roll: 15, eyeClose: [1, 0], gaze: [0.4, 0] }, { mirror: true });
  near(mirror.ParamAngleX, -plain.ParamAngleX, 1e-9, "AngleX flips");
  near(mirror.ParamAngleZ, -plain.ParamAngleZ, 1e-9, "AngleZ flips");
  near(mirror.ParamEyeBallX, -plain.ParamEyeBallX, 1e-9, "gaze flips");
  // The user closes their right eye: without a mirror the character's right eye closes,
  // in a mirror its left one (shown on the same side of the screen as the user's right eye in a mirror).
  assert.ok(plain.ParamEyeROpen < 0.1 && plain.ParamEyeLOpen > 0.9, JSON.stringify(plain));
  assert.ok(mirror.ParamEyeLOpen < 0.1 && mirror.ParamEyeROpen > 0.9, JSON.stringify(mirror));
});

test("eye opening and mouth opening follow the expression in size", () => {
  for (const close of [0, 0.25, 0.5, 0.75, 1]) {
    const p = mapped({ eyeClose: [close, close], seed: 11 });
    // Upper lid down by close * 0.95 of the eye height: height share 1 - 0.95 close.
    const share = 1 - 0.95 * close;
    const want = Math.min(Math.max((share - 0.2) / 0.8, 0), 1.2);
    near(p.ParamEyeLOpen, want, 0.12, `EyeLOpen at closure ${close}`);
    near(p.ParamEyeROpen, want, 0.12, `EyeROpen at closure ${close}`);
  }
  for (const mm of [0, 5.5, 11, 16.5, 30]) {
    const p = mapped({ mouthOpen: mm, seed: 12 });
    near(p.ParamMouthOpenY, Math.min(mm / 22, 1), 0.08, `MouthOpenY at ${mm} mm`);
  }
  // Still right with the head turned and tilted.
  const turned = mapped({ yaw: 25, pitch: 10, roll: -10, eyeClose: [1, 1], mouthOpen: 11, seed: 13 });
  assert.ok(turned.ParamEyeLOpen < 0.15 && turned.ParamEyeROpen < 0.15, JSON.stringify(turned));
  near(turned.ParamMouthOpenY, 0.5, 0.12, "MouthOpenY with the head turned");
  const smile = mapped({ smile: 1, seed: 14 });
  assert.ok(smile.ParamMouthForm > 0.4, `a smile raises MouthForm: ${smile.ParamMouthForm}`);
  const gaze = mapped({ gaze: [0.4, 0.3], seed: 15 });
  assert.ok(gaze.ParamEyeBallX > 0.5 && gaze.ParamEyeBallY > 0.3, JSON.stringify(gaze));
});

test("calibration takes the user's neutral face (a camera above the screen)", () => {
  const m = new FaceMapping({ mirror: false });
  const above = frame({ pitch: 12, yaw: -5, eyeClose: [0.2, 0.2], mouthOpen: 2, seed: 21 });
  const before = m.raw(measureFace(above.points));
  assert.ok(Math.abs(before.ParamAngleY) > 8, "uncalibrated, the camera angle shows");
  m.calibrate(measureFace(above.points));
  const still = m.raw(measureFace(frame({ pitch: 12, yaw: -5, eyeClose: [0.2, 0.2], mouthOpen: 2, seed: 22 }).points));
  near(still.ParamAngleY, 0, 1.5, "neutral AngleY"); near(still.ParamAngleX, 0, 1.5, "neutral AngleX");
  near(still.ParamEyeLOpen, 1, 0.08, "neutral eye"); near(still.ParamMouthOpenY, 0, 0.05, "neutral mouth");
  const up = m.raw(measureFace(frame({ pitch: -3, yaw: -5, eyeClose: [0.2, 0.2], mouthOpen: 2, seed: 23 }).points));
  near(up.ParamAngleY, 15, 3, "15 degrees up from the neutral face");
});

test("smoothing removes jitter and follows a turn within a few frames", () => {
  const m = new FaceMapping({ mirror: false });
  m.calibrate(measureFace(frame({ noise: 0 }).points, { camera: CAMERA }));
  const still = [], raw = [];
  for (let k = 0; k < 60; k++) {
    const f = measureFace(frame({ noise: 1.5, seed: 500 + k }).points, { camera: CAMERA });
    raw.push(m.raw(f).ParamAngleX);
    still.push(m.map(f, 1 / 30).ParamAngleX);
  }
  const sd = (a) => { const mu = a.reduce((s, v) => s + v, 0) / a.length; return Math.sqrt(a.reduce((s, v) => s + (v - mu) ** 2, 0) / a.length); };
  assert.ok(sd(still.slice(10)) < 0.5 * sd(raw.slice(10)), `jitter ${sd(still.slice(10))} vs raw ${sd(raw.slice(10))}`);
  let out = 0;
  for (let k = 0; k < 15; k++) out = m.map(measureFace(frame({ yaw: 25, noise: 0.3, seed: 900 + k }).points, { camera: CAMERA }), 1 / 30).ParamAngleX;
  near(out, 25, 3, "after 0.5 s of a 25 degree turn");
});

test("the tracking input fades in, and out again when the face is lost", () => {
  const input = new FaceTrackingInput({ mirror: false, fadeS: 0.3, lostAfterS: 0.5 });
  assert.equal(input.update(1 / 30), null, "nothing before a face");
  input.calibrate();
  const weights = [];
  for (let k = 0; k < 15; k++) {
    input.pushLandmarks(frame({ yaw: 10, seed: 1000 + k }).points);
    const v = input.update(1 / 30);
    weights.push(input.weight);
    assert.ok(v && Number.isFinite(v.ParamAngleX));
  }
  assert.ok(weights[0] < 0.2 && weights[14] === 1, weights.join(","));
  near(input.values.ParamAngleX, 0, 2, "calibrated on the first face seen (already turned 10 degrees)");
  let last;
  for (let k = 0; k < 40; k++) last = input.update(1 / 30); // no more faces: lost after 0.5 s, faded 0.3 s later
  assert.equal(last, null);
  assert.equal(input.weight, 0);
});
