// SPDX-License-Identifier: GPL-3.0-or-later
// Automatic blinking takes all its randomness from the player's replaceable
// random source, the first blink's gap included (run: node --test tests/node).
import test from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { AutoBlink, BLINK, Player, parseModel } from "../../web/player.js";

const STEP = 1 / 240;

/** Time of the first frame at which `openness(t)` < 1, stepping from t0 by STEP. */
function firstClose(openness, t0, until = t0 + 5) {
  for (let t = t0; t < until; t += STEP) if (openness(t) < 1) return t;
  return null;
}

/** Math.random must not be called while `body` runs. */
function withoutMathRandom(body) {
  const saved = Math.random;
  Math.random = () => { throw new Error("Math.random was used instead of the player's random source"); };
  try { return body(); } finally { Math.random = saved; }
}

test("the first blink's gap comes from the random source: 0 gives first_s[0], ~1 gives first_s[1]", () => {
  const [lo, hi] = BLINK.first_s;
  assert.ok(hi - lo > 0.5, "the first gap has a real range to choose from");
  withoutMathRandom(() => {
    const t0 = 5;
    const early = new AutoBlink(() => 0);
    const late = new AutoBlink(() => 1 - 1e-9);
    assert.ok(Math.abs(firstClose((t) => early.openness(t), t0) - (t0 + lo)) <= 2 * STEP);
    assert.ok(Math.abs(firstClose((t) => late.openness(t), t0) - (t0 + hi)) <= 2 * STEP);
  });
});

test("the first gap is drawn from the source in use at the first update, not at construction", () => {
  let source = () => { throw new Error("the construction-time source was used"); };
  const blink = new AutoBlink(() => source()); // as the Player wires it: () => this.random()
  const drawn = [];
  source = () => { drawn.push("later"); return 0.5; };
  const t = firstClose((now) => blink.openness(now), 0);
  assert.deepEqual(drawn, ["later"], "exactly one draw, from the later source, before the first blink");
  assert.ok(Math.abs(t - (BLINK.first_s[0] + BLINK.first_s[1]) / 2) <= 2 * STEP, `${t}`);
  // reset() (a new model) draws the first gap again, from the source then in use
  blink.reset();
  source = () => 0;
  assert.ok(Math.abs(firstClose((now) => blink.openness(now), 100) - (100 + BLINK.first_s[0])) <= 2 * STEP);
});

test("later gaps and the double-blink chance come from the same source", () => {
  const calls = [];
  const values = [0, 0.99, 0, 0.99, 0];
  const blink = new AutoBlink(() => { const v = values[calls.length % values.length]; calls.push(v); return v; });
  withoutMathRandom(() => { for (let t = 0; t < 12; t += STEP) blink.openness(t); });
  assert.ok(calls.length >= 5, `first gap, then a chance and a gap per blink: ${calls.length} draws`);
});

// A WebGL2 stand-in: the Player's renderer only uploads here; update() never draws.
function fakeCanvas() {
  const gl = new Proxy({}, {
    get(_, name) {
      if (typeof name !== "string") return undefined;
      if (/^[A-Z0-9_]+$/.test(name)) return 1;
      if (name === "getParameter") return () => 4096;
      if (name === "checkFramebufferStatus") return () => 1; // FRAMEBUFFER_COMPLETE, as every constant here
      if (name === "getShaderParameter" || name === "getProgramParameter") return () => true;
      return () => ({});
    },
  });
  return { width: 0, height: 0, getContext: () => gl, addEventListener() {}, removeEventListener() {} };
}

const FACE = JSON.parse(readFileSync(new URL("../conformance/face/model.json", import.meta.url), "utf8"));

/** Seconds of update() until ParamEyeLOpen first drops below its default. */
function playerFirstClose(player) {
  player.autoBreath = false;
  const open = () => player.getParameter("ParamEyeLOpen");
  player.update(0);
  const rest = open();
  for (let t = 0; t < 5; t += STEP) {
    player.update(STEP);
    if (open() < rest - 1e-9) return player.time;
  }
  return null;
}

test("a Player's first automatic blink follows its `random` option and a later `player.random`", () => {
  const [lo, hi] = BLINK.first_s;
  withoutMathRandom(() => {
    const early = new Player(fakeCanvas(), parseModel(FACE), { random: () => 0 });
    const late = new Player(fakeCanvas(), parseModel(FACE), { random: () => 1 - 1e-9 });
    assert.ok(Math.abs(playerFirstClose(early) - lo) <= 2 * STEP, "random 0: the earliest first blink");
    assert.ok(Math.abs(playerFirstClose(late) - hi) <= 2 * STEP, "random ~1: the latest first blink");
    const replaced = new Player(fakeCanvas(), parseModel(FACE), { random: () => 0 });
    replaced.random = () => 1 - 1e-9; // replaced before the first update
    assert.ok(Math.abs(playerFirstClose(replaced) - hi) <= 2 * STEP, "the replaced source decides");
  });
});
