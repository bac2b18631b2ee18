// SPDX-License-Identifier: GPL-3.0-or-later OR MIT

import { LIMITS } from "./constants.js";
import { ModelError } from "./errors.js";
import { isObj } from "./checks.js";

// Cubism motion3.json playback.  Segments: 0 linear, 1 cubic bezier (two
// control points and the end point), 2 stepped (holds the start value),
// 3 inverse stepped (takes the end value at once).  With
// AreBeziersRestricted (or handles inside their segment in time) the bezier
// parameter is the linear time fraction, as Cubism does for restricted
// handles; otherwise the parameter is solved so that the curve's time equals t.

const MOTION3_POINTS = { 0: 1, 1: 3, 2: 1, 3: 1 };

function motionFail(name, msg) {
  throw new ModelError(`${name}: ${msg}`);
}

/** Check a parsed motion3.json and make it playable (throws ModelError). */
export function parseMotion3(data, name = "motion3.json") {
  if (!isObj(data) || !isObj(data.Meta) || !Array.isArray(data.Curves)) motionFail(name, "not a motion3.json (needs Meta and Curves)");
  const meta = data.Meta;
  const duration = Number(meta.Duration);
  if (!Number.isFinite(duration) || duration < 0) motionFail(name, "Meta.Duration must be a number of seconds");
  const fadeNum = (v, fallback) => (typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : fallback);
  if (data.Curves.length > LIMITS.MAX_ITEMS) motionFail(name, "has too many curves");
  const curves = data.Curves.map((c, i) => {
    if (!isObj(c) || typeof c.Id !== "string" || !Array.isArray(c.Segments)) motionFail(name, `curve ${i} needs Id and Segments`);
    const seg = c.Segments;
    if (seg.length < 2 || seg.length > 3 * LIMITS.MAX_CURVE_KEYS) motionFail(name, `curve "${c.Id}" has no points`);
    for (let k = 0; k < seg.length; k++) if (typeof seg[k] !== "number" || !Number.isFinite(seg[k])) motionFail(name, `curve "${c.Id}" holds a value that is not a number`);
    // Flatten to segments: {type, t0, v0, pts: [t1, v1, ...]}.
    const segments = [];
    let t0 = seg[0], v0 = seg[1], i2 = 2;
    while (i2 < seg.length) {
      const type = seg[i2];
      const n = MOTION3_POINTS[type];
      if (n === undefined) motionFail(name, `curve "${c.Id}" has an unknown segment type ${type}`);
      if (i2 + 1 + 2 * n > seg.length) motionFail(name, `curve "${c.Id}" ends in the middle of a segment`);
      const pts = seg.slice(i2 + 1, i2 + 1 + 2 * n);
      const t1 = pts[pts.length - 2];
      if (t1 < t0) motionFail(name, `curve "${c.Id}": point times must not go back`);
      segments.push({ type, t0, v0, pts, t1, v1: pts[pts.length - 1] });
      t0 = t1; v0 = pts[pts.length - 1];
      i2 += 1 + 2 * n;
    }
    return { target: c.Target || "Parameter", id: c.Id, first: [seg[0], seg[1]], segments,
             fadeIn: fadeNum(c.FadeInTime, null), fadeOut: fadeNum(c.FadeOutTime, null) };
  });
  return { name, duration, loop: Boolean(meta.Loop), restricted: Boolean(meta.AreBeziersRestricted),
           fadeIn: fadeNum(meta.FadeInTime, 1), fadeOut: fadeNum(meta.FadeOutTime, 1), curves };
}

function lerp(a, b, t) { return a + (b - a) * t; }

function bezierPoint(p0, p1, p2, p3, t) {
  const a = lerp(p0, p1, t), b = lerp(p1, p2, t), c = lerp(p2, p3, t);
  const d = lerp(a, b, t), e = lerp(b, c, t);
  return lerp(d, e, t);
}

/** Value of one bezier segment at time t (see the section comment). */
export function bezierValue(seg, t, restricted) {
  const [c1t, c1v, c2t, c2v, t1, v1] = seg.pts;
  const t0 = seg.t0, v0 = seg.v0, span = t1 - t0;
  if (span <= 0) return v1;
  let u = (t - t0) / span;
  const inside = c1t >= t0 && c1t <= t1 && c2t >= t0 && c2t <= t1;
  if (!restricted && inside && Math.abs(c1t - (t0 + span / 3)) + Math.abs(c2t - (t1 - span / 3)) > 1e-9 * (1 + span)) {
    // Solve bezierTime(u) = t by bisection (the time polynomial rises monotonically
    // when both handles lie inside the segment).
    let lo = 0, hi = 1;
    for (let it = 0; it < 60; it++) {
      const mid = 0.5 * (lo + hi);
      if (bezierPoint(t0, c1t, c2t, t1, mid) < t) lo = mid; else hi = mid;
    }
    u = 0.5 * (lo + hi);
  }
  u = Math.min(Math.max(u, 0), 1);
  return bezierPoint(v0, c1v, c2v, v1, u);
}

/** Value of a parsed motion3 curve at time t (seconds from the motion start). */
export function evaluateMotion3Curve(curve, t, restricted = true) {
  const segs = curve.segments;
  if (!segs.length || t <= curve.first[0]) return curve.first[1];
  // Binary search for the first segment that ends at or after t.
  let lo = 0, hi = segs.length - 1;
  if (t >= segs[hi].t1) return segs[hi].v1;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (segs[mid].t1 < t) lo = mid + 1; else hi = mid; }
  const seg = segs[lo];
  switch (seg.type) {
    case 0: return seg.t1 > seg.t0 ? lerp(seg.v0, seg.v1, (t - seg.t0) / (seg.t1 - seg.t0)) : seg.v1;
    case 1: return bezierValue(seg, t, restricted);
    case 2: return t >= seg.t1 ? seg.v1 : seg.v0;
    default: return t > seg.t0 ? seg.v1 : seg.v0;
  }
}

/** Cubism's sine ease of a fade: 0..1 -> 0..1. */
export function easeSine(x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  return 0.5 - 0.5 * Math.cos(x * Math.PI);
}

/**
 * Fade weight of a playing motion at `elapsed` seconds after it started;
 * `remaining` is the time until it ends (Infinity while it loops on).
 */
export function fadeWeight(fadeIn, fadeOut, elapsed, remaining) {
  const fin = fadeIn > 0 ? easeSine(elapsed / fadeIn) : 1;
  const fout = fadeOut > 0 && Number.isFinite(remaining) ? easeSine(remaining / fadeOut) : 1;
  return fin * fout;
}
