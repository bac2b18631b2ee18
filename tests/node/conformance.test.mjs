// SPDX-License-Identifier: GPL-3.0-or-later
// One spec for two evaluators: the JavaScript player against the stored
// conformance vectors (tests/conformance/, written by scripts/make_conformance.py
// from the Python reference; tests/test_conformance.py checks the Python side).
//
// Tolerances (the same numbers as in every vectors.json and the pytest check):
//   vertices   |js - stored| <= 1e-6 * max(canvas width, height) px, for the
//              float64 evaluator (Model.evaluate) and the drawing path
//              (Model.evaluateFrame, float32 output, change-skipping cache)
//   opacity    |js - stored| <= 1e-9
//   physics    |js - stored| <= 1e-6 (parameter units) after every frame
import test from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { parseModel, PhysicsSimulator } from "../../web/player.js";

const VERTEX_TOLERANCE_PER_CANVAS_PX = 1e-6;
const OPACITY_TOLERANCE = 1e-9;
const PHYSICS_TOLERANCE = 1e-6;

const ROOT = new URL("../conformance/", import.meta.url);
const readJson = (rel) => JSON.parse(readFileSync(new URL(rel, ROOT), "utf8"));
const INDEX = readJson("index.json");

function load(name) {
  const vectors = readJson(`${name}/vectors.json`);
  const model = parseModel(readJson(`${name}/${vectors.model}`));
  const decode = (values) => Object.fromEntries(Object.entries(values).map(([k, v]) => [k, v === vectors.nan ? NaN : v]));
  return { vectors, model, decode };
}

test("the stored vectors state the tolerances this file checks", () => {
  assert.ok(INDEX.models.length >= 4, "conformance models are listed in tests/conformance/index.json");
  assert.deepEqual(INDEX.tolerance, { vertices_per_canvas_px: VERTEX_TOLERANCE_PER_CANVAS_PX, opacity: OPACITY_TOLERANCE, physics: PHYSICS_TOLERANCE });
  for (const { name } of INDEX.models) assert.deepEqual(load(name).vectors.tolerance, INDEX.tolerance, name);
});

/** Largest |a - b| over the stored vertices of every mesh; throws on a missing or extra mesh. */
function worstVertex(model, stored, got, where) {
  assert.deepEqual(Object.keys(stored).sort(), model.meshes.map((m) => m.id).sort(), `${where}: mesh ids`);
  let worst = 0;
  model.meshes.forEach((m, mi) => {
    const want = stored[m.id], have = got[mi];
    assert.equal(have.length, want.length, `${where}: ${m.id} vertex count`);
    for (let e = 0; e < want.length; e++) worst = Math.max(worst, Math.abs(have[e] - want[e]));
  });
  return worst;
}

for (const { name, covers } of INDEX.models) {
  test(`${name}: deformed vertices and opacities match the Python reference (${covers})`, () => {
    const { vectors, model, decode } = load(name);
    assert.deepEqual([model.canvas.width, model.canvas.height], vectors.canvas);
    const tol = VERTEX_TOLERANCE_PER_CANVAS_PX * Math.max(...vectors.canvas);
    assert.ok(vectors.cases.length >= 3, "value sets are stored");
    const state = model.newFrameState(); // one state for all sets: the cache must notice every change
    let moved = 0;
    const rest = model.evaluate({});
    for (const c of vectors.cases) {
      const values = decode(c.values);
      const where = `${name} / ${c.name}`;
      const exact = model.evaluate(values);
      const e1 = worstVertex(model, c.vertices, exact, `${where} (evaluate)`);
      assert.ok(e1 <= tol, `${where}: evaluate() is ${e1.toExponential(2)} px off (tolerance ${tol.toExponential(2)})`);
      const frame = model.evaluateFrame(model.resolveValues(values), state);
      const e2 = worstVertex(model, c.vertices, frame.verts, `${where} (evaluateFrame)`);
      assert.ok(e2 <= tol, `${where}: evaluateFrame() is ${e2.toExponential(2)} px off (tolerance ${tol.toExponential(2)})`);
      const opacity = model.meshOpacity(values);
      assert.deepEqual(Object.keys(c.opacity).sort(), model.meshes.map((m) => m.id).sort());
      model.meshes.forEach((m, mi) => {
        const d = Math.abs(opacity[mi] - c.opacity[m.id]);
        assert.ok(d <= OPACITY_TOLERANCE, `${where}: opacity of ${m.id} is ${opacity[mi]}, expected ${c.opacity[m.id]}`);
        assert.ok(Math.abs(frame.opacity[mi] - c.opacity[m.id]) <= OPACITY_TOLERANCE, `${where}: frame opacity of ${m.id}`);
      });
      model.meshes.forEach((m, mi) => { for (let e = 0; e < rest[mi].length; e++) moved = Math.max(moved, Math.abs(exact[mi][e] - rest[mi][e])); });
    }
    assert.ok(moved > 5, `the value sets really deform the model (at most ${moved} px)`);
  });

  if (!load(name).vectors.physics.length) continue;
  test(`${name}: physics frame sequences at irregular dt match the Python reference`, () => {
    const { vectors, model, decode } = load(name);
    for (const seq of vectors.physics) {
      const sim = new PhysicsSimulator(model);
      const ids = seq.outputs.map((id) => model.parameterIndex.get(id));
      assert.ok(ids.every((i) => i !== undefined), `${seq.name}: outputs are parameters of the model`);
      let swing = 0;
      seq.frames.forEach((f, k) => {
        const values = model.resolveValues(decode(f.values));
        sim.step(values, f.dt);
        ids.forEach((i, j) => {
          const want = seq.expected[k][j], got = values[i];
          swing = Math.max(swing, Math.abs(want));
          assert.ok(Math.abs(got - want) <= PHYSICS_TOLERANCE,
            `${name} / ${seq.name} frame ${k} (dt ${f.dt}): ${seq.outputs[j]} = ${got}, expected ${want}`);
        });
      });
      assert.ok(swing > 0.2, `${seq.name}: the inputs really swing the outputs (${swing})`);
    }
  });
}
