// SPDX-License-Identifier: GPL-3.0-or-later OR MIT
// Measurements of a face from its 68 landmarks (the common 68-point layout:
// jaw 0-16, brows 17-26, nose 27-35, eyes 36-47, mouth 48-67; 36-41 is the
// subject's right eye, on the left of an unmirrored camera image): head angles
// from a weak-perspective fit of a rigid 3D face shape, eye opening, mouth
// opening and form, and gaze when pupil positions are known.  Pure maths, no
// browser: tested with landmark streams made from a 3D face moved by known
// angles and expressions (tests/node/tracking.test.mjs).

// A mean 3D face for the 68 points, in millimetres: x to the image right, y up,
// z toward the camera; the origin between the eyes.  Our own approximation of
// adult proportions (eye corners 90 mm apart outer, mouth 50 mm wide ...).
function jaw() {
  const out = [];
  for (let k = 0; k <= 16; k++) {
    const t = k / 16, s = Math.sin(Math.PI * t);
    out.push([-72 * Math.cos(Math.PI * t), 12 - 100 * Math.pow(s, 1.6), -62 + 72 * Math.pow(s, 0.8)]);
  }
  return out;
}

export const FACE_SHAPE = [
  ...jaw(),
  // brows 17-21 (image left, outer -> inner), 22-26 (inner -> outer)
  [-58, 38, 2], [-48, 45, 12], [-36, 47, 18], [-24, 46, 22], [-12, 43, 24],
  [12, 43, 24], [24, 46, 22], [36, 47, 18], [48, 45, 12], [58, 38, 2],
  // nose bridge 27-30, nostrils 31-35
  [0, 27, 22], [0, 14, 30], [0, 1, 38], [0, -12, 46],
  [-15, -22, 30], [-8, -24, 35], [0, -26, 38], [8, -24, 35], [15, -22, 30],
  // eyes 36-41 (outer, upper outer, upper inner, inner, lower inner, lower outer), 42-47 mirrored
  [-46, 25, 6], [-38, 30, 10], [-27, 30, 11], [-18, 25, 9], [-27, 21, 11], [-38, 21, 10],
  [18, 25, 9], [27, 30, 11], [38, 30, 10], [46, 25, 6], [38, 21, 10], [27, 21, 11],
  // outer lips 48-59 (left corner, upper lip ..., right corner, lower lip ...)
  [-25, -46, 22], [-16, -40, 30], [-7, -38, 34], [0, -39, 35], [7, -38, 34], [16, -40, 30],
  [25, -46, 22], [16, -52, 29], [7, -55, 32], [0, -56, 33], [-7, -55, 32], [-16, -52, 29],
  // inner lips 60-67
  [-20, -46, 24], [-8, -44, 31], [0, -44, 32], [8, -44, 31], [20, -46, 24], [8, -47, 31], [0, -47, 32], [-8, -47, 31],
];

// Points that do not move with the mouth or the eyelids: the upper jaw line,
// the brows, the nose and the eye corners.
export const RIGID_POINTS = [0, 1, 2, 3, 13, 14, 15, 16, 17, 19, 21, 22, 24, 26, 27, 28, 29, 30, 31, 33, 35, 36, 39, 42, 45];

const EYES = { right: [36, 37, 38, 39, 40, 41], left: [42, 43, 44, 45, 46, 47] };
const RAD = 180 / Math.PI;

function solve3(A, b) {
  // 3x3 linear system by Cramer's rule (A symmetric positive definite here).
  const [a, bb, c] = A[0], [d, e, f] = A[1], [g, h, i] = A[2];
  const det = a * (e * i - f * h) - bb * (d * i - f * g) + c * (d * h - e * g);
  const inv = [
    [(e * i - f * h) / det, (c * h - bb * i) / det, (bb * f - c * e) / det],
    [(f * g - d * i) / det, (a * i - c * g) / det, (c * d - a * f) / det],
    [(d * h - e * g) / det, (bb * g - a * h) / det, (a * e - bb * d) / det],
  ];
  return inv.map((row) => row[0] * b[0] + row[1] * b[1] + row[2] * b[2]);
}

const norm = (v) => Math.hypot(v[0], v[1], v[2]);
const dot = (a, b) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const cross = (a, b) => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];

/**
 * Head pose from image points (pixels, y down) of the RIGID_POINTS: a least
 * squares 2x3 projection of FACE_SHAPE, made orthonormal.  Returns the angles
 * in degrees for camera = Rz(roll) Rx(pitch) Ry(yaw) head (y up): yaw > 0 the
 * nose points to the image right, pitch > 0 it points down, roll > 0 the face
 * turns counter-clockwise in the image; plus the scale (pixels per mm) and
 * the image position of the face origin.  With `camera` ({focal, centre} in
 * pixels) the fit corrects for perspective; without it, it is weak-perspective
 * (angles about 7 % too large for a face 55 cm from a 60-degree webcam).
 */
export function headPose(points, camera = null) {
  let pose = weakPose(points);
  if (camera && camera.focal > 0) {
    // Perspective: take each point back to where a weak-perspective camera
    // would see it (scaled by its depth), then fit again (a few rounds).
    const [cx, cy] = camera.centre;
    for (let round = 0; round < 4; round++) {
      const c = pose.rotation[2], D = camera.focal / pose.scale;
      const mz = pose.mean;
      const fixed = points.map((p, i) => {
        if (!p) return p;
        const X = FACE_SHAPE[i];
        const z = c[0] * (X[0] - mz[0]) + c[1] * (X[1] - mz[1]) + c[2] * (X[2] - mz[2]);
        const k = 1 - z / D;
        return [cx + (p[0] - cx) * k, cy + (p[1] - cy) * k];
      });
      pose = weakPose(fixed);
    }
  }
  return pose;
}

function weakPose(points) {
  const idx = RIGID_POINTS.filter((i) => points[i]);
  const n = idx.length;
  let px = 0, py = 0, mx = 0, my = 0, mz = 0;
  for (const i of idx) { px += points[i][0]; py -= points[i][1]; mx += FACE_SHAPE[i][0]; my += FACE_SHAPE[i][1]; mz += FACE_SHAPE[i][2]; }
  px /= n; py /= n; mx /= n; my /= n; mz /= n;
  const XtX = [[0, 0, 0], [0, 0, 0], [0, 0, 0]], XtPx = [0, 0, 0], XtPy = [0, 0, 0];
  for (const i of idx) {
    const X = [FACE_SHAPE[i][0] - mx, FACE_SHAPE[i][1] - my, FACE_SHAPE[i][2] - mz];
    const u = points[i][0] - px, v = -points[i][1] - py;
    for (let r = 0; r < 3; r++) {
      for (let c = 0; c < 3; c++) XtX[r][c] += X[r] * X[c];
      XtPx[r] += X[r] * u; XtPy[r] += X[r] * v;
    }
  }
  const r1 = solve3(XtX, XtPx), r2 = solve3(XtX, XtPy);
  // The nearest pair of orthonormal rows (polar decomposition, (M M^T)^-1/2 M):
  // a face wider or narrower than the template then still gives the right roll.
  const A11 = dot(r1, r1), A12 = dot(r1, r2), A22 = dot(r2, r2);
  const sdet = Math.sqrt(Math.max(A11 * A22 - A12 * A12, 1e-12));
  const tnorm = Math.sqrt(A11 + A22 + 2 * sdet);
  const S11 = (A11 + sdet) / tnorm, S12 = A12 / tnorm, S22 = (A22 + sdet) / tnorm; // sqrt(M M^T)
  const det = S11 * S22 - S12 * S12;
  const I11 = S22 / det, I12 = -S12 / det, I22 = S11 / det;
  const scale = (S11 + S22) / 2;
  const a = r1.map((x, k) => I11 * x + I12 * r2[k]);
  const b = r1.map((x, k) => I12 * x + I22 * r2[k]);
  const c = cross(a, b);
  const pitch = Math.asin(Math.max(-1, Math.min(1, c[1])));
  const yaw = Math.atan2(-c[0], c[2]);
  const roll = Math.atan2(-a[1], b[1]);
  // Image position of the face origin (between the eyes).
  const ox = px - (a[0] * mx + a[1] * my + a[2] * mz) * scale;
  const oy = -(py - (b[0] * mx + b[1] * my + b[2] * mz) * scale);
  return { yaw: yaw * RAD, pitch: pitch * RAD, roll: roll * RAD, scale, origin: [ox, oy], rotation: [a, b, c], mean: [mx, my, mz] };
}

/** Image points -> face-plane millimetres: undo the position, scale and roll. */
function facePlane(pose, p) {
  const r = (-pose.roll * Math.PI) / 180, cr = Math.cos(r), sr = Math.sin(r);
  const x = (p[0] - pose.origin[0]) / pose.scale, y = -(p[1] - pose.origin[1]) / pose.scale;
  return [cr * x - sr * y, sr * x + cr * y];
}

/**
 * Everything the parameter mapping needs from one frame of 68 landmarks
 * (image pixels, y down).  `pupils` (optional): [[x, y] right eye, [x, y] left
 * eye] in the same pixels; `camera` (optional): {focal, centre: [x, y]} in
 * pixels, for the perspective correction.  Lengths are in millimetres of FACE_SHAPE; eye
 * heights and mouth lengths are corrected for pitch and yaw foreshortening.
 */
export function measureFace(points, { pupils = null, camera = null } = {}) {
  if (!Array.isArray(points) || points.length < 68) throw new Error("measureFace needs 68 landmark points");
  const pose = headPose(points, camera);
  const q = points.map((p) => facePlane(pose, p));
  const cosP = Math.max(Math.cos((pose.pitch * Math.PI) / 180), 0.5);
  const cosY = Math.max(Math.cos((pose.yaw * Math.PI) / 180), 0.5);
  const eye = (ids) => {
    const h = (Math.abs(q[ids[1]][1] - q[ids[5]][1]) + Math.abs(q[ids[2]][1] - q[ids[4]][1])) / 2;
    return h / cosP;
  };
  const gap = (q[62][1] - q[66][1] + (q[61][1] - q[67][1]) + (q[63][1] - q[65][1])) / 3 / cosP;
  const width = Math.hypot(q[54][0] - q[48][0], q[54][1] - q[48][1]) / cosY;
  const mid = (q[51][1] + q[57][1]) / 2, corners = (q[48][1] + q[54][1]) / 2;
  let gaze = null;
  if (pupils) {
    // Pupil offset from the eye's centre, in eye half-widths (x right, y up, in the face plane).
    const g = ["right", "left"].map((side, k) => {
      const ids = EYES[side];
      const c0 = q[ids[0]], c3 = q[ids[3]];
      const cx = (c0[0] + c3[0]) / 2, cy = (ids.reduce((s, i) => s + q[i][1], 0)) / 6;
      const half = Math.abs(c3[0] - c0[0]) / 2 || 1;
      const p = facePlane(pose, pupils[k]);
      return [(p[0] - cx) / half, (p[1] - cy) / half];
    });
    gaze = [(g[0][0] + g[1][0]) / 2, (g[0][1] + g[1][1]) / 2];
  }
  return {
    yaw: pose.yaw, pitch: pose.pitch, roll: pose.roll, scale: pose.scale, origin: pose.origin,
    eyeRight: eye(EYES.right), eyeLeft: eye(EYES.left),
    mouthGap: Math.max(0, gap), mouthWidth: width, mouthLift: mid - corners, gaze,
  };
}
