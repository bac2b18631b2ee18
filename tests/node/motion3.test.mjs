// SPDX-License-Identifier: GPL-3.0-or-later
// Pure maths of the player's Cubism motion3 playback (run: node --test tests/node).
import test from "node:test";
import assert from "node:assert/strict";
import { parseMotion3, evaluateMotion3Curve, bezierValue, easeSine, fadeWeight } from "../../web/player.js";

const close = (a, b, eps = 1e-6) => assert.ok(Math.abs(a - b) < eps, `${a} != ${b}`);

function motion(segments, meta = {}) {
  return parseMotion3({
    Version: 3,
    Meta: { Duration: 4, Fps: 30, CurveCount: 1, TotalSegmentCount: 0, TotalPointCount: 0, ...meta },
    Curves: [{ Target: "Parameter", Id: "ParamAngleX", Segments: segments }],
  });
}

test("linear segments interpolate and hold the ends", () => {
  const c = motion([0, 0, 0, 1, 10, 0, 3, -20]).curves[0];
  close(evaluateMotion3Curve(c, -1), 0);
  close(evaluateMotion3Curve(c, 0.25), 2.5);
  close(evaluateMotion3Curve(c, 1), 10);
  close(evaluateMotion3Curve(c, 2), -5);
  close(evaluateMotion3Curve(c, 9), -20);
});

test("restricted bezier uses the time fraction as the curve parameter", () => {
  // (0,0) -> handles (1/3, 0), (2/3, 1) -> (1, 1): value = 3u^2(1-u) + u^3 with u = t.
  const m = motion([0, 0, 1, 1 / 3, 0, 2 / 3, 1, 1, 1], { AreBeziersRestricted: true });
  for (const t of [0, 0.1, 0.25, 0.5, 0.8, 1]) close(evaluateMotion3Curve(m.curves[0], t, m.restricted), 3 * t * t * (1 - t) + t ** 3);
  // Restricted: handles outside the thirds still use u = t.
  const skew = motion([0, 0, 1, 0.9, 0, 0.95, 1, 1, 1], { AreBeziersRestricted: true });
  close(evaluateMotion3Curve(skew.curves[0], 0.5, true), 0.5);
});

test("unrestricted bezier solves the curve's time for t", () => {
  const m = motion([0, 0, 1, 0.9, 0, 0.95, 1, 1, 1], { AreBeziersRestricted: false });
  // Independent check: sample the parametric curve densely and read off value at time t.
  const P = (a, b, c, d, u) => (1 - u) ** 3 * a + 3 * (1 - u) ** 2 * u * b + 3 * (1 - u) * u * u * c + u ** 3 * d;
  for (const t of [0.2, 0.5, 0.7, 0.95]) {
    let best = 0, err = Infinity;
    for (let k = 0; k <= 200000; k++) {
      const u = k / 200000, e = Math.abs(P(0, 0.9, 0.95, 1, u) - t);
      if (e < err) { err = e; best = P(0, 0, 1, 1, u); }
    }
    close(evaluateMotion3Curve(m.curves[0], t, false), best, 1e-3);
  }
  // At t = 0.5 the handles near the end keep the value low.
  assert.ok(evaluateMotion3Curve(m.curves[0], 0.5, false) < 0.2);
});

test("stepped holds the start value, inverse stepped jumps to the end value", () => {
  const stepped = motion([0, 1, 2, 1, 5, 2, 2, 9]).curves[0];
  close(evaluateMotion3Curve(stepped, 0.5), 1);
  close(evaluateMotion3Curve(stepped, 0.999), 1);
  close(evaluateMotion3Curve(stepped, 1), 5);
  close(evaluateMotion3Curve(stepped, 1.5), 5);
  close(evaluateMotion3Curve(stepped, 2), 9);
  const inverse = motion([0, 1, 3, 1, 5, 3, 2, 9]).curves[0];
  close(evaluateMotion3Curve(inverse, 0), 1);
  close(evaluateMotion3Curve(inverse, 0.001), 5);
  close(evaluateMotion3Curve(inverse, 1.2), 9);
});

test("mixed segment types follow each other", () => {
  const c = motion([0, 0, 0, 1, 1, 1, 1.25, 1, 1.75, 1, 2, 1, 2, 3, 2, 3, 4, 0]).curves[0];
  close(evaluateMotion3Curve(c, 0.5), 0.5);
  close(evaluateMotion3Curve(c, 1.5), 1); // flat bezier
  close(evaluateMotion3Curve(c, 2.5), 1); // stepped
  close(evaluateMotion3Curve(c, 3.5), 0); // inverse stepped
});

test("fades ease with a sine and multiply", () => {
  close(easeSine(0), 0); close(easeSine(0.5), 0.5); close(easeSine(1), 1); close(easeSine(0.25), 0.5 - 0.5 * Math.cos(Math.PI / 4));
  close(fadeWeight(1, 1, 0.5, Infinity), 0.5);
  close(fadeWeight(1, 2, 2, 0.5), easeSine(0.25));
  close(fadeWeight(0, 0, 0, 0), 1);
  close(fadeWeight(0.5, 0.5, 0.25, 0.25), 0.25);
});

test("motion-level and per-curve fade times are read", () => {
  const m = parseMotion3({
    Version: 3,
    Meta: { Duration: 2, Fps: 30, Loop: true, FadeInTime: 0.3, FadeOutTime: 0.7, CurveCount: 1, TotalSegmentCount: 1, TotalPointCount: 2 },
    Curves: [{ Target: "Parameter", Id: "A", FadeInTime: 0.1, Segments: [0, 0, 0, 2, 1] }],
  });
  assert.equal(m.loop, true); close(m.fadeIn, 0.3); close(m.fadeOut, 0.7);
  close(m.curves[0].fadeIn, 0.1); assert.equal(m.curves[0].fadeOut, null);
});

test("broken motion3 files give clear errors", () => {
  assert.throws(() => parseMotion3({ Meta: {} }), /not a motion3/);
  assert.throws(() => motion([0, 0, 7, 1, 1]), /unknown segment type 7/);
  assert.throws(() => motion([0, 0, 1, 0.3, 0]), /middle of a segment/);
  assert.throws(() => motion([0, 0, 0, 1, "x"]), /not a number/);
});
