// SPDX-License-Identifier: GPL-3.0-or-later
// Image to Rig web player: loads an exported model.json + atlas PNGs and draws
// it with WebGL2.  No dependencies.  The evaluation rules are those of
// core/evaluate.py and core/document.py (keep them in step):
//  * parameter values are clamped to their range, each keyform gives every
//    parameter piecewise-linear "tent" weights over its keys, a grid node's
//    weight is the product, and the offsets of all keyforms of a target add up;
//  * a mesh vertex is rest + mesh keyform offsets, then every deformer of its
//    parent chain from the innermost outwards;
//  * a warp adds the bilinear interpolation of its control-point offsets
//    (cell indices clamped to the grid); a rotation turns counter-clockwise on
//    screen (y down) about its pivot, then translates by (dx, dy).
// Rendering follows core/render.py: premultiplied colour, "over" in draw order,
// mesh opacity (layer opacity + its "opacity" channel keyforms, clamped to
// 0..1), clipping multiplies by the clip layer's rendered alpha.

export const FORMAT_NAME = "image-to-rig";
export const FORMAT_VERSION = 1;

// Hard limits (as core/runtime_format.py) so a hostile file cannot freeze a tab.
export const LIMITS = Object.freeze({
  MAX_ITEMS: 10000,
  MAX_VERTICES: 1000000,
  MAX_CANVAS: 16384,
  MAX_TEXTURES: 64,
  MAX_FORM_NUMBERS: 32000000,
  MAX_KEYFORM_NODES: 65536,
  MAX_CURVE_KEYS: 100000,
  MAX_JSON_BYTES: 128 * 1024 * 1024,
  MAX_TEXTURE_BYTES: 256 * 1024 * 1024,
});

/** A model.json (or its atlas) is not usable; the message says what and where. */
export class ModelError extends Error {
  constructor(message) {
    super(message);
    this.name = "ModelError";
  }
}

// ---------------------------------------------------------------- validation

function fail(msg) {
  throw new ModelError(`model.json: ${msg}`);
}

function isObj(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function str(v, where, { max = 256, optional = false } = {}) {
  if (v === undefined && optional) return "";
  if (typeof v !== "string") fail(`${where} must be a text string`);
  if (v.length > max) fail(`${where} is longer than ${max} characters`);
  return v;
}

function num(v, where, { min = -Infinity, max = Infinity, int = false } = {}) {
  if (typeof v !== "number" || !Number.isFinite(v)) fail(`${where} must be a number`);
  if (int && !Number.isInteger(v)) fail(`${where} must be a whole number`);
  if (v < min || v > max) fail(`${where} is ${v}, outside ${min}..${max}`);
  return v;
}

function arr(v, where, { min = 0, max = LIMITS.MAX_ITEMS } = {}) {
  if (!Array.isArray(v)) fail(`${where} must be a list`);
  if (v.length < min) fail(`${where} needs at least ${min} entries`);
  if (v.length > max) fail(`${where} has ${v.length} entries, more than the ${max} the player supports`);
  return v;
}

function numbers(v, where, max, Type = Float32Array) {
  arr(v, where, { max });
  const out = new Type(v.length);
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (typeof x !== "number" || !Number.isFinite(x)) fail(`${where}[${i}] must be a number`);
    out[i] = x;
  }
  return out;
}

function optionalRef(v, where) {
  if (v === undefined || v === null) return null;
  return str(v, where);
}

function uniqueIds(items, what) {
  const map = new Map();
  for (const item of items) {
    if (map.has(item.id)) fail(`two ${what} share the id "${item.id}"`);
    map.set(item.id, item);
  }
  return map;
}

/**
 * Check a parsed model.json object and turn it into the player's typed model
 * (without textures).  Throws ModelError with a plain message on any problem.
 */
export function parseModel(data) {
  if (!isObj(data)) fail("the file must hold one JSON object");
  if (data.format !== FORMAT_NAME) fail(`"format" must be "${FORMAT_NAME}" (is this an Image to Rig export?)`);
  if (data.version !== FORMAT_VERSION) fail(`version ${data.version} is not supported (expected ${FORMAT_VERSION})`);
  if (!isObj(data.canvas)) fail("canvas must be an object with width and height");
  const canvas = {
    width: num(data.canvas.width, "canvas.width", { min: 1, max: LIMITS.MAX_CANVAS, int: true }),
    height: num(data.canvas.height, "canvas.height", { min: 1, max: LIMITS.MAX_CANVAS, int: true }),
  };
  const textures = arr(data.textures, "textures", { max: LIMITS.MAX_TEXTURES }).map((t, i) => {
    str(t, `textures[${i}]`);
    if (!/^[A-Za-z0-9_.-]+\.png$/.test(t)) fail(`textures[${i}] "${t}" must be a plain .png file name`);
    return t;
  });

  const parameters = arr(data.parameters, "parameters").map((p, i) => {
    const w = `parameters[${i}]`;
    if (!isObj(p)) fail(`${w} must be an object`);
    const out = {
      id: str(p.id, `${w}.id`, { max: 64 }),
      name: str(p.name ?? p.id, `${w}.name`),
      group: str(p.group ?? "", `${w}.group`),
      min: num(p.min, `${w}.min`),
      default: num(p.default, `${w}.default`),
      max: num(p.max, `${w}.max`),
      confidence: p.confidence === undefined ? 1 : num(p.confidence, `${w}.confidence`, { min: 0, max: 1 }),
    };
    if (!(out.min <= out.default && out.default <= out.max && out.min < out.max)) {
      fail(`parameter "${out.id}" needs min <= default <= max and min < max`);
    }
    return out;
  });
  const paramIndex = new Map();
  parameters.forEach((p, i) => {
    if (paramIndex.has(p.id)) fail(`two parameters share the id "${p.id}"`);
    paramIndex.set(p.id, i);
  });

  const layers = arr(data.layers, "layers").map((l, i) => {
    const w = `layers[${i}]`;
    if (!isObj(l)) fail(`${w} must be an object`);
    const rect = arr(l.atlas_rect, `${w}.atlas_rect`, { min: 4, max: 4 })
      .map((v, k) => num(v, `${w}.atlas_rect[${k}]`, { min: 0, max: LIMITS.MAX_CANVAS, int: true }));
    return {
      id: str(l.id, `${w}.id`, { max: 128 }),
      tag: str(l.tag ?? "", `${w}.tag`),
      side: str(l.side ?? "", `${w}.side`),
      opacity: l.opacity === undefined ? 1 : num(l.opacity, `${w}.opacity`, { min: 0, max: 1 }),
      clipTo: optionalRef(l.clip_to, `${w}.clip_to`),
      texture: num(l.texture, `${w}.texture`, { min: 0, max: textures.length - 1, int: true }),
      atlasRect: rect,
    };
  });
  const layerById = uniqueIds(layers, "layers");
  for (const l of layers) {
    if (l.clipTo !== null && !layerById.has(l.clipTo)) fail(`layer "${l.id}" clips to unknown layer "${l.clipTo}"`);
  }

  const deformers = arr(data.deformers, "deformers").map((d, i) => {
    const w = `deformers[${i}]`;
    if (!isObj(d)) fail(`${w} must be an object`);
    const base = { id: str(d.id, `${w}.id`, { max: 128 }), parent: optionalRef(d.parent, `${w}.parent`), index: i };
    if (d.type === "rotation") {
      const pivot = arr(d.pivot, `${w}.pivot`, { min: 2, max: 2 }).map((v, k) => num(v, `${w}.pivot[${k}]`));
      return { ...base, type: "rotation", pivot };
    }
    if (d.type === "warp") {
      const rect = arr(d.rect, `${w}.rect`, { min: 4, max: 4 }).map((v, k) => num(v, `${w}.rect[${k}]`));
      if (!(rect[2] > rect[0] && rect[3] > rect[1])) fail(`warp "${base.id}" needs a rect with x1 > x0 and y1 > y0`);
      const rows = num(d.rows, `${w}.rows`, { min: 1, max: 64, int: true });
      const cols = num(d.cols, `${w}.cols`, { min: 1, max: 64, int: true });
      return { ...base, type: "warp", rect, rows, cols };
    }
    fail(`${w}.type must be "rotation" or "warp"`);
  });
  const deformerById = uniqueIds(deformers, "deformers");
  for (const d of deformers) {
    if (d.parent === null) continue;
    const parent = deformerById.get(d.parent);
    if (!parent) fail(`deformer "${d.id}" has unknown parent "${d.parent}"`);
    if (d.type === "rotation" && parent.type !== "rotation") fail(`rotation "${d.id}" must have a rotation parent`);
  }
  const chainOf = (id) => {
    const chain = [];
    const seen = new Set();
    while (id !== null) {
      if (seen.has(id)) fail(`deformer parents form a cycle at "${id}"`);
      seen.add(id);
      const d = deformerById.get(id);
      chain.push(d.index);
      id = d.parent;
    }
    return Int32Array.from(chain);
  };
  for (const d of deformers) d.chain = chainOf(d.id);

  let totalVertices = 0;
  const meshes = arr(data.meshes, "meshes").map((m, i) => {
    const w = `meshes[${i}]`;
    if (!isObj(m)) fail(`${w} must be an object`);
    const id = str(m.id, `${w}.id`, { max: 128 });
    const layer = layerById.get(str(m.layer, `${w}.layer`, { max: 128 }));
    if (!layer) fail(`mesh "${id}" uses unknown layer "${m.layer}"`);
    const deformer = optionalRef(m.deformer, `${w}.deformer`);
    if (deformer !== null && !deformerById.has(deformer)) fail(`mesh "${id}" has unknown deformer "${deformer}"`);
    const budget = 2 * (LIMITS.MAX_VERTICES - totalVertices);
    const vertices = numbers(m.vertices, `mesh "${id}" vertices`, budget, Float64Array);
    if (vertices.length % 2) fail(`mesh "${id}" has an odd number of vertex coordinates`);
    const n = vertices.length / 2;
    totalVertices += n;
    const uvs = numbers(m.uvs, `mesh "${id}" uvs`, 2 * n);
    if (uvs.length !== vertices.length) fail(`mesh "${id}": uvs and vertices differ in length`);
    const tri = arr(m.triangles, `mesh "${id}" triangles`, { max: 6 * LIMITS.MAX_VERTICES });
    if (tri.length % 3) fail(`mesh "${id}": triangles must be a multiple of 3 indices`);
    const triangles = new Uint32Array(tri.length);
    for (let k = 0; k < tri.length; k++) {
      const t = tri[k];
      if (!Number.isInteger(t) || t < 0 || t >= n) fail(`mesh "${id}": triangle index ${t} is out of range (0..${n - 1})`);
      triangles[k] = t;
    }
    const texture = m.texture === undefined ? layer.texture : num(m.texture, `${w}.texture`, { min: 0, max: textures.length - 1, int: true });
    return { id, layer: layer.id, layerIndex: layers.indexOf(layer), deformer, chain: deformer === null ? new Int32Array(0) : deformerById.get(deformer).chain, texture, vertices, uvs, triangles, count: n, index: i };
  });
  const meshById = uniqueIds(meshes, "meshes");

  const drawOrder = arr(data.draw_order, "draw_order").map((id, i) => {
    const m = meshById.get(str(id, `draw_order[${i}]`, { max: 128 }));
    if (!m) fail(`draw_order names unknown mesh "${id}"`);
    return m.index;
  });
  if (new Set(drawOrder).size !== drawOrder.length || drawOrder.length !== meshes.length) {
    fail("draw_order must list every mesh exactly once");
  }

  let formNumbers = 0;
  const keyforms = arr(data.keyforms, "keyforms").map((k, i) => {
    const w = `keyforms[${i}]`;
    if (!isObj(k)) fail(`${w} must be an object`);
    const target = str(k.target, `${w}.target`, { max: 128 });
    const params = arr(k.params, `${w}.params`, { min: 1, max: 4 }).map((p, j) => {
      const idx = paramIndex.get(str(p, `${w}.params[${j}]`));
      if (idx === undefined) fail(`keyform of "${target}" uses unknown parameter "${p}"`);
      return idx;
    });
    const keysIn = arr(k.keys, `${w}.keys`, { min: params.length, max: params.length });
    let nodes = 1;
    const keys = keysIn.map((ks, j) => {
      const a = numbers(ks, `${w}.keys[${j}]`, 16, Float64Array);
      if (a.length < 1) fail(`keyform of "${target}": every parameter needs at least one key`);
      for (let q = 1; q < a.length; q++) if (!(a[q] > a[q - 1])) fail(`keyform of "${target}": keys must ascend`);
      nodes *= a.length;
      return a;
    });
    if (nodes > LIMITS.MAX_KEYFORM_NODES) fail(`keyform of "${target}" has too many nodes`);
    const channel = k.channel === undefined ? "offset" : k.channel;
    if (channel !== "offset" && channel !== "opacity") fail(`keyform of "${target}": unknown channel "${channel}"`);
    let kind, index, size;
    if (channel === "opacity") {
      // One number per node: an offset to the mesh's layer opacity.
      if (!meshById.has(target)) fail(`opacity keyform targets "${target}", which is not a mesh`);
      kind = "opacity"; index = meshById.get(target).index; size = 1;
    } else if (meshById.has(target)) {
      const m = meshById.get(target);
      kind = "mesh"; index = m.index; size = m.count * 2;
    } else if (deformerById.has(target)) {
      const d = deformerById.get(target);
      kind = "deformer"; index = d.index;
      size = d.type === "warp" ? (d.rows + 1) * (d.cols + 1) * 2 : 3;
    } else {
      fail(`keyform targets unknown object "${target}"`);
    }
    if (!Array.isArray(k.forms)) fail(`${w}.forms must be a list`);
    if (k.forms.length !== nodes * size) fail(`keyform of "${target}": ${k.forms.length} numbers, expected ${nodes * size}`);
    formNumbers += k.forms.length;
    if (formNumbers > LIMITS.MAX_FORM_NUMBERS) fail("keyforms hold more numbers than the player supports");
    const forms = numbers(k.forms, `keyform of "${target}" forms`, nodes * size);
    return { target, kind, index, params, keys, forms, size, channel };
  });

  const motions = arr(data.motions, "motions").map((mo, i) => {
    const w = `motions[${i}]`;
    if (!isObj(mo)) fail(`${w} must be an object`);
    const id = str(mo.id, `${w}.id`);
    const curves = arr(mo.curves, `${w}.curves`).map((c, j) => {
      const cw = `motion "${id}" curves[${j}]`;
      if (!isObj(c)) fail(`${cw} must be an object`);
      const param = paramIndex.get(str(c.param, `${cw}.param`));
      if (param === undefined) fail(`motion "${id}" animates unknown parameter "${c.param}"`);
      const times = numbers(c.times, `${cw}.times`, LIMITS.MAX_CURVE_KEYS, Float64Array);
      const values = numbers(c.values, `${cw}.values`, LIMITS.MAX_CURVE_KEYS, Float64Array);
      if (times.length !== values.length || times.length === 0) fail(`${cw}: times and values must be equally long and not empty`);
      for (let q = 1; q < times.length; q++) if (times[q] < times[q - 1]) fail(`${cw}: times must ascend`);
      return { param, times, values };
    });
    return {
      id,
      duration: num(mo.duration, `${w}.duration`, { min: 1e-6 }),
      loop: mo.loop === undefined ? true : Boolean(mo.loop),
      fps: mo.fps === undefined ? 30 : num(mo.fps, `${w}.fps`, { min: 1e-6 }),
      curves,
    };
  });

  const physics = data.physics === undefined ? [] : parsePhysics(data.physics, paramIndex);
  const groups = {};
  if (isObj(data.groups)) {
    for (const [name, ids] of Object.entries(data.groups)) {
      if (Array.isArray(ids)) groups[name] = ids.filter((id) => typeof id === "string" && paramIndex.has(id));
    }
  }
  return new Model({ canvas, textures, parameters, layers, deformers, meshes, drawOrder, keyforms, motions, physics, groups, source: typeof data.source === "string" ? data.source : "" });
}

function parsePhysics(list, paramIndex) {
  return arr(list, "physics", { max: 256 }).map((s, i) => {
    const w = `physics[${i}]`;
    if (!isObj(s)) fail(`${w} must be an object`);
    const id = str(s.id, `${w}.id`);
    const param = (v, where) => {
      if (!paramIndex.has(str(v, where))) fail(`physics setting "${id}" uses unknown parameter "${v}"`);
      return v;
    };
    const inputs = arr(s.inputs, `${w}.inputs`, { min: 1, max: 64 }).map((x, j) => {
      const type = str(x.type, `${w}.inputs[${j}].type`);
      if (type !== "X" && type !== "Angle") fail(`physics setting "${id}": input type must be "X" or "Angle"`);
      return { source: param(x.source, `${w}.inputs[${j}].source`), weight: num(x.weight, `${w}.inputs[${j}].weight`, { min: 0, max: 100 }), type, reflect: Boolean(x.reflect) };
    });
    const vertices = arr(s.vertices, `${w}.vertices`, { min: 2, max: 64 }).map((v, j) => {
      const vw = `${w}.vertices[${j}]`;
      return {
        position: arr(v.position, `${vw}.position`, { min: 2, max: 2 }).map((x, k) => num(x, `${vw}.position[${k}]`)),
        mobility: num(v.mobility, `${vw}.mobility`, { min: 0, max: 1 }),
        delay: num(v.delay, `${vw}.delay`, { min: 1e-9 }),
        acceleration: num(v.acceleration, `${vw}.acceleration`, { min: 0 }),
        radius: num(v.radius, `${vw}.radius`, { min: 0 }),
      };
    });
    const outputs = arr(s.outputs, `${w}.outputs`, { min: 1, max: 64 }).map((o, j) => ({
      destination: param(o.destination, `${w}.outputs[${j}].destination`),
      vertexIndex: num(o.vertex_index, `${w}.outputs[${j}].vertex_index`, { min: 1, max: vertices.length - 1, int: true }),
      scale: num(o.scale, `${w}.outputs[${j}].scale`),
      weight: num(o.weight, `${w}.outputs[${j}].weight`, { min: 0, max: 100 }),
      reflect: Boolean(o.reflect),
    }));
    if (!isObj(s.normalization)) fail(`${w}.normalization must be an object`);
    const triple = (v, where) => {
      const t = arr(v, where, { min: 3, max: 3 }).map((x, k) => num(x, `${where}[${k}]`));
      if (!(t[0] <= t[1] && t[1] <= t[2])) fail(`${where} must be min <= default <= max`);
      return t;
    };
    return { id, name: typeof s.name === "string" ? s.name : id, inputs, outputs, vertices,
             position: triple(s.normalization.position, `${w}.normalization.position`),
             angle: triple(s.normalization.angle, `${w}.normalization.angle`) };
  });
}

// ---------------------------------------------------------------- physics
// The same maths, order of operations and fixed rate as core/physics.py
// (read its docstring); the two are tested against each other.

export const PHYSICS_STEP_HZ = 120;
export const PHYSICS_MAX_FRAME_DT = 0.25;
const AIR_RESISTANCE = 5;
const TIME_BASE = 30;
const WIND_X = 0, WIND_Y = 0; // physics3 Wind (0, 0); y flipped into y-down space

function normalise(v, pmin, pdef, pmax, n) {
  if (v > pdef) { const span = pmax - pdef; return span > 0 ? n[1] + ((v - pdef) / span) * (n[2] - n[1]) : n[1]; }
  if (v < pdef) { const span = pdef - pmin; return span > 0 ? n[1] + ((v - pdef) / span) * (n[1] - n[0]) : n[1]; }
  return n[1];
}

/** Steps the model's pendulum settings at a fixed internal rate. */
export class PhysicsSimulator {
  constructor(model) {
    this.model = model;
    this.settings = model.physics || [];
    this.reset();
  }

  reset() {
    const pIndex = this.model.parameterIndex;
    this.chains = this.settings.map((s) => {
      const n = s.vertices.length;
      const py = new Float64Array(n);
      let y = 0;
      for (let k = 1; k < n; k++) { y += s.vertices[k].radius; py[k] = y; }
      return {
        s, px: new Float64Array(n), py, vx: new Float64Array(n), vy: new Float64Array(n), gx: 0, gy: 1,
        outPrev: new Float64Array(s.outputs.length), outCur: new Float64Array(s.outputs.length),
        inputIndex: s.inputs.map((inp) => pIndex.get(inp.source)),
        outputIndex: s.outputs.map((o) => pIndex.get(o.destination)),
        drive: [0, 0], last: [0, 0],
      };
    });
    this.accumulator = 0;
    this.started = false;
  }

  _drive(c, values) {
    const params = this.model.parameters, s = c.s;
    let tx = 0, angle = 0;
    for (let j = 0; j < s.inputs.length; j++) {
      const inp = s.inputs[j], p = params[c.inputIndex[j]];
      let v = values[c.inputIndex[j]];
      if (!Number.isFinite(v)) v = p.default;
      v = Math.min(Math.max(v, p.min), p.max);
      let x = normalise(v, p.min, p.default, p.max, inp.type === "X" ? s.position : s.angle) * (inp.weight / 100);
      if (inp.reflect) x = -x;
      if (inp.type === "X") tx += x; else angle += x;
    }
    c.drive[0] = tx; c.drive[1] = (angle * Math.PI) / 180;
  }

  _substep(c, tx, angle, h) {
    const s = c.s, px = c.px, py = c.py, vx = c.vx, vy = c.vy;
    const gx = Math.sin(angle), gy = Math.cos(angle);
    let turn = Math.atan2(gy, gx) - Math.atan2(c.gy, c.gx);
    if (turn > Math.PI) turn -= 2 * Math.PI;
    else if (turn < -Math.PI) turn += 2 * Math.PI;
    turn /= AIR_RESISTANCE;
    const ct = Math.cos(turn), st = Math.sin(turn);
    const wx = WIND_X, wy = -WIND_Y;
    px[0] = tx; py[0] = 0;
    for (let k = 1; k < s.vertices.length; k++) {
      const vert = s.vertices[k];
      const d = vert.delay * h * TIME_BASE;
      const keep = Math.pow(vert.mobility, h * TIME_BASE);
      let dx = px[k] - px[k - 1], dy = py[k] - py[k - 1];
      const rx = ct * dx - st * dy, ry = st * dx + ct * dy;
      const lx = px[k - 1] + rx, ly = py[k - 1] + ry;
      const nx = lx + vx[k] * keep + (gx * vert.acceleration + wx) * d * d;
      const ny = ly + vy[k] * keep + (gy * vert.acceleration + wy) * d * d;
      let ex = nx - px[k - 1], ey = ny - py[k - 1];
      const length = Math.hypot(ex, ey);
      if (length > 1e-12) { ex /= length; ey /= length; } else { ex = gx; ey = gy; }
      px[k] = px[k - 1] + ex * vert.radius;
      py[k] = py[k - 1] + ey * vert.radius;
      vx[k] = px[k] - lx; vy[k] = py[k] - ly;
    }
    c.gx = gx; c.gy = gy;
    const tmp = c.outPrev; c.outPrev = c.outCur; c.outCur = tmp;
    for (let j = 0; j < s.outputs.length; j++) c.outCur[j] = this._outputAngle(c, s.outputs[j]);
  }

  _outputAngle(c, out) {
    const k = out.vertexIndex, px = c.px, py = c.py;
    const sx = px[k] - px[k - 1], sy = py[k] - py[k - 1];
    let rx = 0, ry = 1;
    if (k >= 2) { rx = px[k - 1] - px[k - 2]; ry = py[k - 1] - py[k - 2]; }
    const a = Math.atan2(ry * sx - rx * sy, rx * sx + ry * sy);
    return out.reflect ? -a : a;
  }

  /**
   * Advance by dt seconds with this frame's parameter values (Float64Array in
   * parameter order); writes the output parameters into `values` (clamped).
   */
  step(values, dt) {
    dt = Number(dt);
    if (!Number.isFinite(dt) || dt < 0) dt = 0;
    dt = Math.min(dt, PHYSICS_MAX_FRAME_DT);
    const h = 1 / PHYSICS_STEP_HZ;
    for (const c of this.chains) {
      c.last[0] = c.drive[0]; c.last[1] = c.drive[1];
      this._drive(c, values);
      if (!this.started) { c.last[0] = c.drive[0]; c.last[1] = c.drive[1]; }
    }
    this.started = true;
    const start = this.accumulator;
    this.accumulator += dt;
    const steps = Math.floor(this.accumulator / h + 1e-9);
    this.accumulator -= steps * h;
    if (this.accumulator < 0) this.accumulator = 0;
    for (let k = 1; k <= steps; k++) {
      let f = dt > 0 ? (k * h - start) / dt : 1;
      f = Math.min(Math.max(f, 0), 1);
      for (const c of this.chains) {
        this._substep(c, c.last[0] + (c.drive[0] - c.last[0]) * f, c.last[1] + (c.drive[1] - c.last[1]) * f, h);
      }
    }
    const alpha = Math.min(this.accumulator / h, 1);
    const params = this.model.parameters;
    for (const c of this.chains) {
      for (let j = 0; j < c.s.outputs.length; j++) {
        const o = c.s.outputs[j], i = c.outputIndex[j], p = params[i];
        const angle = c.outPrev[j] + (c.outCur[j] - c.outPrev[j]) * alpha;
        const w = o.weight / 100;
        const base = Number.isFinite(values[i]) ? values[i] : p.default;
        const v = base * (1 - w) + angle * o.scale * w;
        values[i] = Math.min(Math.max(v, p.min), p.max);
      }
    }
    return values;
  }
}

// ---------------------------------------------------------------- motion3
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

// ---------------------------------------------------------------- evaluation

/** Tent weights of `v` over ascending keys: [i0, w0, i1, w1] (w1 may be 0). */
function tent(keys, v) {
  const n = keys.length;
  if (n === 1) return [0, 1, 0, 0];
  if (v < keys[0]) v = keys[0];
  if (v > keys[n - 1]) v = keys[n - 1];
  // Largest i with keys[i] <= v (numpy searchsorted side="right" - 1), kept in 0..n-2.
  let i = 0;
  while (i < n - 1 && keys[i + 1] <= v) i++;
  if (i > n - 2) i = n - 2;
  const t = (v - keys[i]) / (keys[i + 1] - keys[i]);
  return [i, 1 - t, i + 1, t];
}

export class Model {
  constructor(parts) {
    Object.assign(this, parts);
    this.images = []; // decoded atlas pages (ImageBitmap), filled by loadModel
    this._keyformsOf = { mesh: this.meshes.map(() => []), deformer: this.deformers.map(() => []), opacity: this.meshes.map(() => []) };
    for (const k of this.keyforms) this._keyformsOf[k.kind][k.index].push(k);
    this._restGrids = this.deformers.map((d) => {
      if (d.type !== "warp") return null;
      const g = new Float64Array((d.rows + 1) * (d.cols + 1) * 2);
      for (let r = 0; r <= d.rows; r++) {
        for (let c = 0; c <= d.cols; c++) {
          const o = (r * (d.cols + 1) + c) * 2;
          g[o] = d.rect[0] + (d.rect[2] - d.rect[0]) * (c / d.cols);
          g[o + 1] = d.rect[1] + (d.rect[3] - d.rect[1]) * (r / d.rows);
        }
      }
      return g;
    });
    this.parameterIndex = new Map(this.parameters.map((p, i) => [p.id, i]));
  }

  /** Default values (Float64Array in parameter order). */
  defaultValues() {
    return Float64Array.from(this.parameters, (p) => p.default);
  }

  /** Clamped value array from an object/Map of id -> value (others default). */
  resolveValues(values) {
    const out = this.defaultValues();
    if (values) {
      const entries = values instanceof Map ? values.entries() : Object.entries(values);
      for (const [id, v] of entries) {
        const i = this.parameterIndex.get(id);
        if (i === undefined || typeof v !== "number" || Number.isNaN(v)) continue;
        const p = this.parameters[i];
        out[i] = Math.min(Math.max(v, p.min), p.max);
      }
    }
    return out;
  }

  /** Sum of keyform offsets of one target into `out` (zeroed first); false if none. */
  _offsets(list, values, out) {
    if (list.length === 0) return false;
    out.fill(0);
    // Scratch for the non-zero grid nodes (at most 2 per parameter, 4 parameters).
    const nodes = this._nodeScratch || (this._nodeScratch = new Int32Array(32));
    const weights = this._weightScratch || (this._weightScratch = new Float64Array(32));
    for (const k of list) {
      let count = 1;
      nodes[0] = 0; weights[0] = 1;
      for (let j = 0; j < k.params.length; j++) {
        const keys = k.keys[j], n = keys.length;
        let v = values[k.params[j]];
        let i0 = 0, w1 = 0;
        if (n > 1) {
          if (v < keys[0]) v = keys[0];
          if (v > keys[n - 1]) v = keys[n - 1];
          while (i0 < n - 2 && keys[i0 + 1] <= v) i0++;
          w1 = (v - keys[i0]) / (keys[i0 + 1] - keys[i0]);
        }
        // Expand in place from the back: node q -> (q*n + i0, w*(1-w1)), (q*n + i0 + 1, w*w1).
        if (n > 1) {
          for (let q = count - 1; q >= 0; q--) {
            const base = nodes[q] * n + i0, w = weights[q];
            nodes[2 * q] = base; weights[2 * q] = w * (1 - w1);
            nodes[2 * q + 1] = base + 1; weights[2 * q + 1] = w * w1;
          }
          count *= 2;
        } else {
          for (let q = 0; q < count; q++) nodes[q] = nodes[q] * n;
        }
      }
      const size = k.size, forms = k.forms;
      for (let q = 0; q < count; q++) {
        const w = weights[q];
        if (w === 0) continue;
        const base = nodes[q] * size;
        for (let e = 0; e < size; e++) out[e] += w * forms[base + e];
      }
    }
    return true;
  }

  _deformerForm(index, values, cache) {
    let form = cache[index];
    if (form) return form;
    const d = this.deformers[index];
    form = new Float64Array(d.type === "warp" ? this._restGrids[index].length : 3);
    this._offsets(this._keyformsOf.deformer[index], values, form);
    cache[index] = form;
    return form;
  }

  /**
   * Opacity of every mesh at `values` into `out` (Float64Array, mesh order):
   * its layer's opacity plus its opacity keyforms, clamped to 0..1.
   */
  meshOpacity(values, out = new Float64Array(this.meshes.length)) {
    const vals = values instanceof Float64Array ? values : this.resolveValues(values);
    const one = this._opacityScratch || (this._opacityScratch = new Float64Array(1));
    for (let mi = 0; mi < this.meshes.length; mi++) {
      let o = this.layers[this.meshes[mi].layerIndex].opacity;
      if (this._offsets(this._keyformsOf.opacity[mi], vals, one)) o = Math.min(Math.max(o + one[0], 0), 1);
      out[mi] = o;
    }
    return out;
  }

  /** Parameter indices that move a mesh (its keyforms and those of its deformer chain). */
  _meshParams(mi) {
    const m = this.meshes[mi], set = new Set();
    for (const k of this._keyformsOf.mesh[mi]) for (const p of k.params) set.add(p);
    for (const di of m.chain) for (const k of this._keyformsOf.deformer[di]) for (const p of k.params) set.add(p);
    return Int32Array.from(set);
  }

  /**
   * The player's per-frame evaluation: deforms into reused buffers and skips
   * meshes none of whose parameters changed since the last call.  Returns
   * {verts: Float32Array per mesh, changed: Uint8Array per mesh}.
   */
  evaluateFrame(vals, st = this._frame || (this._frame = this.newFrameState())) {
    st.formDone.fill(0);
    return this._evaluateInto(vals, st);
  }

  /** Reusable buffers for evaluateFrame (one per player). */
  newFrameState() {
    {
      return {
        verts: this.meshes.map((m) => new Float32Array(m.vertices.length)),
        pts: this.meshes.map((m) => new Float64Array(m.vertices.length)),
        off: new Float64Array(Math.max(2, ...this.meshes.map((m) => m.vertices.length))),
        params: this.meshes.map((m, mi) => this._meshParams(mi)),
        last: this.meshes.map((m, mi) => new Float64Array(this._meshParams(mi).length).fill(NaN)),
        changed: new Uint8Array(this.meshes.length),
        forms: this.deformers.map((d, i) => new Float64Array(d.type === "warp" ? this._restGrids[i].length : 3)),
        formDone: new Uint8Array(this.deformers.length),
        opacity: new Float64Array(this.meshes.length),
      };
    }
  }

  _evaluateInto(vals, st) {
    for (let mi = 0; mi < this.meshes.length; mi++) {
      const ps = st.params[mi], last = st.last[mi];
      let same = true;
      for (let j = 0; j < ps.length; j++) if (last[j] !== vals[ps[j]]) { same = false; last[j] = vals[ps[j]]; }
      st.changed[mi] = same ? 0 : 1;
      if (same) continue;
      const m = this.meshes[mi], pts = st.pts[mi];
      pts.set(m.vertices);
      const list = this._keyformsOf.mesh[mi];
      if (list.length) {
        const off = st.off.subarray(0, pts.length);
        this._offsets(list, vals, off);
        for (let e = 0; e < pts.length; e++) pts[e] += off[e];
      }
      for (const di of m.chain) {
        if (!st.formDone[di]) { this._offsets(this._keyformsOf.deformer[di], vals, st.forms[di]) || st.forms[di].fill(0); st.formDone[di] = 1; }
        this._applyDeformer(di, st.forms[di], pts);
      }
      st.verts[mi].set(pts);
    }
    this.meshOpacity(vals, st.opacity);
    return st;
  }

  _applyDeformer(index, form, pts) {
    const d = this.deformers[index];
    const n = pts.length / 2;
    if (d.type === "rotation") {
      const a = (form[0] * Math.PI) / 180;
      const c = Math.cos(a), s = Math.sin(a);
      const px = d.pivot[0], py = d.pivot[1], dx = form[1], dy = form[2];
      for (let i = 0; i < n; i++) {
        const rx = pts[2 * i] - px, ry = pts[2 * i + 1] - py;
        pts[2 * i] = px + c * rx + s * ry + dx;
        pts[2 * i + 1] = py - s * rx + c * ry + dy;
      }
      return;
    }
    const [x0, y0, x1, y1] = d.rect;
    const rows = d.rows, cols = d.cols, stride = cols + 1;
    for (let i = 0; i < n; i++) {
      const x = pts[2 * i], y = pts[2 * i + 1];
      const u = ((x - x0) / (x1 - x0)) * cols;
      const v = ((y - y0) / (y1 - y0)) * rows;
      const iu = Math.floor(u), iv = Math.floor(v);
      const fu = u - iu, fv = v - iv;
      const cu0 = Math.min(Math.max(iu, 0), cols), cu1 = Math.min(Math.max(iu + 1, 0), cols);
      const cv0 = Math.min(Math.max(iv, 0), rows), cv1 = Math.min(Math.max(iv + 1, 0), rows);
      const w00 = (1 - fu) * (1 - fv), w10 = fu * (1 - fv), w01 = (1 - fu) * fv, w11 = fu * fv;
      const o00 = (cv0 * stride + cu0) * 2, o10 = (cv0 * stride + cu1) * 2;
      const o01 = (cv1 * stride + cu0) * 2, o11 = (cv1 * stride + cu1) * 2;
      pts[2 * i] = x + w00 * form[o00] + w10 * form[o10] + w01 * form[o01] + w11 * form[o11];
      pts[2 * i + 1] = y + w00 * form[o00 + 1] + w10 * form[o10 + 1] + w01 * form[o01 + 1] + w11 * form[o11 + 1];
    }
  }

  /**
   * Deformed vertices of every mesh at `values` (parameter-order Float64Array
   * from resolveValues, or an object id -> value).  Returns an array (mesh
   * order) of Float64Array [x0, y0, x1, y1, ...] in canvas pixels.
   */
  evaluate(values) {
    const vals = values instanceof Float64Array ? values : this.resolveValues(values);
    const cache = new Array(this.deformers.length);
    return this.meshes.map((m, mi) => {
      const pts = Float64Array.from(m.vertices);
      const list = this._keyformsOf.mesh[mi];
      if (list.length) {
        const off = new Float64Array(pts.length);
        this._offsets(list, vals, off);
        for (let e = 0; e < pts.length; e++) pts[e] += off[e];
      }
      for (const di of m.chain) this._applyDeformer(di, this._deformerForm(di, vals, cache), pts);
      return pts;
    });
  }

  /** Deformed vertices as a plain object mesh id -> Float32Array (canvas px). */
  deformedVertices(values) {
    const out = {};
    this.evaluate(values).forEach((pts, i) => { out[this.meshes[i].id] = Float32Array.from(pts); });
    return out;
  }

  /** Parameter values of a motion at time t (seconds): Map param index -> value. */
  sampleMotion(motion, t) {
    const out = new Map();
    for (const c of motion.curves) {
      const { times, values } = c;
      let v;
      if (t <= times[0]) v = values[0];
      else if (t >= times[times.length - 1]) v = values[values.length - 1];
      else {
        let lo = 0, hi = times.length - 1;
        while (hi - lo > 1) { const mid = (lo + hi) >> 1; if (times[mid] <= t) lo = mid; else hi = mid; }
        const span = times[hi] - times[lo];
        v = span > 0 ? values[lo] + ((values[hi] - values[lo]) * (t - times[lo])) / span : values[hi];
      }
      out.set(c.param, v);
    }
    return out;
  }

  motion(id) {
    return this.motions.find((m) => m.id === id) || null;
  }
}

// ---------------------------------------------------------------- loading

function baseName(name) {
  const parts = String(name).split(/[\\/]/);
  return parts[parts.length - 1];
}

async function decodeImage(blob, name) {
  if (blob.size > LIMITS.MAX_TEXTURE_BYTES) throw new ModelError(`atlas ${name} is too large`);
  try {
    // WebGL ignores UNPACK_PREMULTIPLY_ALPHA for ImageBitmaps: premultiply here.
    return await createImageBitmap(blob, { premultiplyAlpha: "premultiply", colorSpaceConversion: "none" });
  } catch (err) {
    throw new ModelError(`atlas ${name} is not a readable PNG image`);
  }
}

async function readJsonText(text, where) {
  if (text.length > LIMITS.MAX_JSON_BYTES) throw new ModelError(`${where} is too large`);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ModelError(`${where} is not valid JSON (${err.message})`);
  }
}

/**
 * Load a model: `source` is a folder URL (holding model.json and the atlas
 * PNGs), a URL of model.json itself, or a Map / array of File|Blob (name ->
 * file, e.g. from drag and drop).  Rejects with ModelError on bad input.
 */
export async function loadModel(source, { fetchImpl } = {}) {
  const doFetch = fetchImpl || ((u) => fetch(u));
  let getFile;
  let model3Name = null; // a <stem>.model3.json URL: model.json beside its .moc3 (or the .json its Moc names)
  if (source instanceof Map || Array.isArray(source) || (typeof FileList !== "undefined" && source instanceof FileList)) {
    const files = new Map();
    const entries = source instanceof Map ? source.entries() : Array.from(source, (f) => [f.webkitRelativePath || f.name, f]);
    for (const [name, file] of entries) files.set(baseName(name), file);
    getFile = async (name) => {
      const f = files.get(name);
      if (!f) throw new ModelError(name === "model.json" ? "no model.json among the dropped files; drop the whole export folder" : `the file ${name} named in model.json is missing`);
      return f;
    };
  } else {
    let base = String(source ?? "./");
    const model3Match = base.match(/([^/]+\.model3\.json)(\?.*)?$/);
    if (model3Match) { model3Name = model3Match[1]; base = base.slice(0, model3Match.index); }
    if (/model\.json(\?.*)?$/.test(base)) base = base.replace(/model\.json(\?.*)?$/, "");
    if (base !== "" && !base.endsWith("/")) base += "/";
    const baseUrl = new URL(base, typeof document !== "undefined" ? document.baseURI : undefined);
    getFile = async (name) => {
      let res;
      try {
        res = await doFetch(new URL(name, baseUrl).href);
      } catch (err) {
        throw new ModelError(`could not download ${name} (${err.message})`);
      }
      if (!res.ok) throw new ModelError(`could not download ${name} (HTTP ${res.status})`);
      const length = Number(res.headers.get("content-length") || 0);
      if (length > LIMITS.MAX_JSON_BYTES) throw new ModelError(`${name} is too large`);
      return await res.blob();
    };
  }
  let modelName = "model.json";
  let jsonBlob = null;
  if (model3Name) {
    const m3 = await readJsonText(await (await getFile(model3Name)).text(), model3Name);
    const moc = m3 && m3.FileReferences && m3.FileReferences.Moc;
    const isMoc3 = typeof moc === "string" && /^[A-Za-z0-9_.-]+\.moc3$/.test(moc);
    if (!isMoc3 && (typeof moc !== "string" || !/^[A-Za-z0-9_.-]+\.json$/.test(moc))) {
      throw new ModelError(`${model3Name} belongs to a Cubism model (its Moc is "${moc}"); this player plays Image to Rig exports, which keep a model.json beside their .moc3`);
    }
    if (!isMoc3) modelName = moc;
    else jsonBlob = await getFile(modelName).catch(() => { throw new ModelError(`${model3Name} belongs to a Cubism model with no model.json beside its ${moc}; this player plays Image to Rig exports, which keep a model.json beside their .moc3`); });
  }
  if (!jsonBlob) jsonBlob = await getFile(modelName);
  if (jsonBlob.size > LIMITS.MAX_JSON_BYTES) throw new ModelError(`${modelName} is too large`);
  const data = await readJsonText(await jsonBlob.text(), modelName);
  const model = parseModel(data);
  model.images = await Promise.all(model.textures.map(async (name) => decodeImage(await getFile(name), name)));
  model.images.forEach((img, i) => {
    for (const l of model.layers) {
      if (l.texture !== i) continue;
      const [x, y, w, h] = l.atlasRect;
      if (x + w > img.width || y + h > img.height) throw new ModelError(`layer "${l.id}": its atlas rectangle lies outside ${model.textures[i]}`);
    }
  });
  return model;
}

// ---------------------------------------------------------------- rendering

const VERTEX_SHADER = `#version 300 es
in vec2 a_position;  // canvas px, y down
in vec2 a_uv;        // 0..1 in the atlas, v down
uniform vec2 u_canvas;
out vec2 v_uv;
void main() {
  v_uv = a_uv;
  vec2 clip = a_position / u_canvas * 2.0 - 1.0;
  gl_Position = vec4(clip.x, -clip.y, 0.0, 1.0);
}`;

const FRAGMENT_SHADER = `#version 300 es
precision highp float;
in vec2 v_uv;
uniform sampler2D u_atlas;   // premultiplied on upload
uniform sampler2D u_mask;    // rendered clip layer (premultiplied), same size as the target
uniform bool u_clip;
uniform float u_opacity;
uniform vec2 u_target;
out vec4 o_color;
void main() {
  vec4 c = texture(u_atlas, v_uv);
  if (u_clip) {
    // The mask texture has the canvas orientation of the framebuffer.
    c *= texture(u_mask, gl_FragCoord.xy / u_target).a;
  }
  o_color = c * u_opacity;
}`;

function compile(gl, type, source) {
  const sh = gl.createShader(type);
  gl.shaderSource(sh, source);
  gl.compileShader(sh);
  if (!gl.getShaderParameter(sh, gl.COMPILE_STATUS)) {
    const log = gl.getShaderInfoLog(sh);
    gl.deleteShader(sh);
    throw new Error(`shader did not compile: ${log}`);
  }
  return sh;
}

/**
 * Plays a model on a canvas (WebGL2).  Events (EventTarget): "error"
 * (detail: Error), "contextlost".  `on(type, cb)` is a shorthand.
 */
export class Player extends EventTarget {
  constructor(canvas, model, { antialias = false, preserveDrawingBuffer = false } = {}) {
    super();
    if (!(model instanceof Model)) throw new ModelError("createPlayer needs a model from loadModel()");
    this.canvas = canvas;
    this.model = model;
    this.values = model.defaultValues();
    this.heldParameters = new Set(); // ids the user set by hand: motions leave them alone
    this.motion = null;
    this.motionTime = 0;
    this.motionLoop = true;
    this.playing = false;
    this._destroyed = false;
    this.time = 0; // seconds of update() so far
    this.motion3 = []; // playing Cubism motions: {motion, start, end, loop, fadeIn, fadeOut, targets}
    this.expression = null; // {params: [[index, value, blend]], start, fadeIn, weight}
    this.physics = new PhysicsSimulator(model);
    this.physicsEnabled = model.physics.length > 0;
    this.autoBlink = true;
    this.autoBreath = true;
    this.random = Math.random; // replaceable for reproducible blinking
    this._blink = { next: 2 + 4 * Math.random(), start: -1 };
    this._lip = { level: 0, analyser: null, buffer: null, context: null, stop: null, manual: null };
    this._pointer = { enabled: false, x: 0, y: 0, tx: 0, ty: 0, stop: null };
    this._restore = new Map(); // param index -> [value before effects, value written]
    const idx = (id) => model.parameterIndex.get(id);
    const group = (name, ids) => (model.groups && model.groups[name] && model.groups[name].length ? model.groups[name] : ids)
      .map(idx).filter((i) => i !== undefined);
    this._eyeBlink = group("EyeBlink", ["ParamEyeLOpen", "ParamEyeROpen"]);
    this._lipSync = group("LipSync", ["ParamMouthOpenY"]);
    this._breath = idx("ParamBreath");
    canvas.width = model.canvas.width;
    canvas.height = model.canvas.height;
    const gl = canvas.getContext("webgl2", { alpha: true, premultipliedAlpha: true, antialias, preserveDrawingBuffer, depth: false, stencil: false });
    if (!gl) throw new Error("this browser cannot draw WebGL2; try a current Chrome, Firefox or Safari");
    this.gl = gl;
    this._onLost = (e) => { e.preventDefault(); this._emit("contextlost", new Error("the graphics context was lost")); };
    canvas.addEventListener("webglcontextlost", this._onLost);
    this._init();
  }

  on(type, cb) {
    const handler = (e) => cb(e.detail, e);
    this.addEventListener(type, handler);
    return () => this.removeEventListener(type, handler);
  }

  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  _init() {
    const gl = this.gl, model = this.model;
    const maxTex = gl.getParameter(gl.MAX_TEXTURE_SIZE);
    const prog = gl.createProgram();
    gl.attachShader(prog, compile(gl, gl.VERTEX_SHADER, VERTEX_SHADER));
    gl.attachShader(prog, compile(gl, gl.FRAGMENT_SHADER, FRAGMENT_SHADER));
    gl.bindAttribLocation(prog, 0, "a_position");
    gl.bindAttribLocation(prog, 1, "a_uv");
    gl.linkProgram(prog);
    if (!gl.getProgramParameter(prog, gl.LINK_STATUS)) throw new Error(`shader did not link: ${gl.getProgramInfoLog(prog)}`);
    this.program = prog;
    this.loc = {};
    for (const u of ["u_canvas", "u_atlas", "u_mask", "u_clip", "u_opacity", "u_target"]) this.loc[u] = gl.getUniformLocation(prog, u);

    gl.pixelStorei(gl.UNPACK_PREMULTIPLY_ALPHA_WEBGL, true);
    gl.pixelStorei(gl.UNPACK_COLORSPACE_CONVERSION_WEBGL, gl.NONE);
    gl.pixelStorei(gl.UNPACK_FLIP_Y_WEBGL, false);
    this.textures = model.images.map((img, i) => {
      if (img.width > maxTex || img.height > maxTex) throw new ModelError(`atlas ${model.textures[i]} is ${img.width}x${img.height}, larger than this GPU supports (${maxTex})`);
      const tex = gl.createTexture();
      gl.bindTexture(gl.TEXTURE_2D, tex);
      gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, gl.RGBA, gl.UNSIGNED_BYTE, img);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.LINEAR);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.LINEAR);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
      return tex;
    });
    gl.pixelStorei(gl.UNPACK_PREMULTIPLY_ALPHA_WEBGL, false);

    this.meshGL = model.meshes.map((m) => {
      const vao = gl.createVertexArray();
      gl.bindVertexArray(vao);
      const pos = gl.createBuffer();
      gl.bindBuffer(gl.ARRAY_BUFFER, pos);
      gl.bufferData(gl.ARRAY_BUFFER, Float32Array.from(m.vertices), gl.DYNAMIC_DRAW);
      gl.enableVertexAttribArray(0);
      gl.vertexAttribPointer(0, 2, gl.FLOAT, false, 0, 0);
      const uv = gl.createBuffer();
      gl.bindBuffer(gl.ARRAY_BUFFER, uv);
      gl.bufferData(gl.ARRAY_BUFFER, m.uvs, gl.STATIC_DRAW);
      gl.enableVertexAttribArray(1);
      gl.vertexAttribPointer(1, 2, gl.FLOAT, false, 0, 0);
      const ibo = gl.createBuffer();
      gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, ibo);
      gl.bufferData(gl.ELEMENT_ARRAY_BUFFER, m.triangles, gl.STATIC_DRAW);
      gl.bindVertexArray(null);
      return { vao, pos, uv, ibo, count: m.triangles.length, uploaded: null };
    });

    // One offscreen target per layer that other layers clip to.
    const maskLayers = [...new Set(model.layers.filter((l) => l.clipTo).map((l) => l.clipTo))];
    this.meshesOfLayer = new Map();
    model.meshes.forEach((m) => {
      if (!this.meshesOfLayer.has(m.layer)) this.meshesOfLayer.set(m.layer, []);
      this.meshesOfLayer.get(m.layer).push(m.index);
    });
    this.masks = new Map();
    const { width, height } = model.canvas;
    for (const id of maskLayers) {
      const tex = gl.createTexture();
      gl.bindTexture(gl.TEXTURE_2D, tex);
      gl.texStorage2D(gl.TEXTURE_2D, 1, gl.RGBA8, width, height);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
      const fbo = gl.createFramebuffer();
      gl.bindFramebuffer(gl.FRAMEBUFFER, fbo);
      gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, tex, 0);
      if (gl.checkFramebufferStatus(gl.FRAMEBUFFER) !== gl.FRAMEBUFFER_COMPLETE) throw new Error("cannot create the clipping mask target");
      this.masks.set(id, { tex, fbo });
    }
    gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    this.blankTexture = gl.createTexture();
    gl.bindTexture(gl.TEXTURE_2D, this.blankTexture);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, 1, 1, 0, gl.RGBA, gl.UNSIGNED_BYTE, new Uint8Array(4));
    this.layerById = new Map(model.layers.map((l) => [l.id, l]));
  }

  /** Texture unit 1 must never hold the mask being rendered into (a feedback loop). */
  _bindMask(mask) {
    const gl = this.gl;
    gl.activeTexture(gl.TEXTURE1);
    gl.bindTexture(gl.TEXTURE_2D, mask ? mask.tex : this.blankTexture);
  }

  /** Parameter descriptions (id, name, group, min, default, max, confidence). */
  get parameters() {
    return this.model.parameters.map((p) => ({ ...p }));
  }

  getParameter(id) {
    const i = this.model.parameterIndex.get(id);
    if (i === undefined) throw new ModelError(`unknown parameter "${id}"`);
    return this.values[i];
  }

  /** Set a parameter (clamped); `hold` keeps a playing motion from overriding it. */
  setParameter(id, value, { hold = false } = {}) {
    const i = this.model.parameterIndex.get(id);
    if (i === undefined) throw new ModelError(`unknown parameter "${id}"`);
    const p = this.model.parameters[i];
    const v = Number(value);
    if (Number.isNaN(v)) return;
    this.values[i] = Math.min(Math.max(v, p.min), p.max);
    if (hold) this.heldParameters.add(id);
  }

  /** All parameters back to their defaults; releases held ones. */
  resetParameters() {
    this.values = this.model.defaultValues();
    this.heldParameters.clear();
    if (this.motion) this._applyMotion();
  }

  playMotion(id, { loop } = {}) {
    const motion = this.model.motion(id);
    if (!motion) throw new ModelError(`the model has no motion "${id}"`);
    this.motion = motion;
    this.motionLoop = loop === undefined ? motion.loop : Boolean(loop);
    this.motionTime = 0;
    this.playing = true;
    this._applyMotion();
  }

  pause() { this.playing = false; }

  resume() { if (this.motion) this.playing = true; }

  stopMotion() { this.motion = null; this.playing = false; }

  _applyMotion() {
    const held = this.heldParameters;
    for (const [i, v] of this.model.sampleMotion(this.motion, this.motionTime)) {
      const p = this.model.parameters[i];
      if (held.has(p.id)) continue;
      this.values[i] = Math.min(Math.max(v, p.min), p.max);
    }
  }

  /**
   * Play a Cubism motion3.json (parsed JSON object or the result of
   * parseMotion3).  Options: loop (default Meta.Loop), fadeIn / fadeOut
   * seconds (default the file's, else 1 s).  Motions already playing fade out.
   * Returns the motion's handle for stopMotion3.
   */
  playMotion3(json, { loop, fadeIn, fadeOut, name } = {}) {
    const motion = json && Array.isArray(json.curves) && "restricted" in json ? json : parseMotion3(json, name);
    for (const m of this.motion3) if (m.end === Infinity || m.end > this.time + m.fadeOut) m.end = this.time + m.fadeOut;
    const targets = [];
    for (const c of motion.curves) {
      if (c.target !== "Parameter") continue;
      const i = this.model.parameterIndex.get(c.id);
      if (i !== undefined) targets.push([i, c]);
    }
    const entry = {
      motion, targets, start: this.time,
      loop: loop === undefined ? motion.loop : Boolean(loop),
      fadeIn: fadeIn === undefined ? motion.fadeIn : Math.max(0, Number(fadeIn) || 0),
      fadeOut: fadeOut === undefined ? motion.fadeOut : Math.max(0, Number(fadeOut) || 0),
    };
    entry.end = entry.loop ? Infinity : this.time + motion.duration;
    this.motion3.push(entry);
    return entry;
  }

  /** Fade out one motion3 (or all when none is given). */
  stopMotion3(entry) {
    for (const m of this.motion3) {
      if (entry && m !== entry) continue;
      m.end = Math.min(m.end, this.time + m.fadeOut);
    }
  }

  /** Apply a Cubism exp3.json expression (null clears it), faded in. */
  playExpression(json) {
    if (json === null) { this.expression = null; return; }
    if (!isObj(json) || !Array.isArray(json.Parameters)) throw new ModelError("not an exp3.json expression (needs Parameters)");
    const params = [];
    for (const p of json.Parameters) {
      const i = isObj(p) ? this.model.parameterIndex.get(p.Id) : undefined;
      if (i === undefined || typeof p.Value !== "number") continue;
      const blend = p.Blend === "Multiply" || p.Blend === "Overwrite" ? p.Blend : "Add";
      params.push([i, p.Value, blend]);
    }
    const fadeIn = typeof json.FadeInTime === "number" && json.FadeInTime >= 0 ? json.FadeInTime : 1;
    this.expression = { params, start: this.time, fadeIn };
  }

  /** Lip sync from an <audio>/<video> element (Web Audio RMS level). */
  attachAudio(element) {
    const Ctx = globalThis.AudioContext || globalThis.webkitAudioContext;
    if (!Ctx) throw new Error("this browser has no Web Audio");
    this.detachAudio();
    const context = new Ctx();
    const source = context.createMediaElementSource(element);
    const analyser = context.createAnalyser();
    analyser.fftSize = 1024;
    source.connect(analyser);
    analyser.connect(context.destination);
    const resume = () => context.resume();
    element.addEventListener("play", resume);
    Object.assign(this._lip, { context, analyser, buffer: new Float32Array(analyser.fftSize),
                               stop: () => { element.removeEventListener("play", resume); source.disconnect(); analyser.disconnect(); context.close(); } });
    return analyser;
  }

  /** Lip sync from the microphone (asks for permission). */
  async attachMicrophone() {
    const Ctx = globalThis.AudioContext || globalThis.webkitAudioContext;
    if (!Ctx || !navigator.mediaDevices) throw new Error("this browser cannot read the microphone");
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    this.detachAudio();
    const context = new Ctx();
    const source = context.createMediaStreamSource(stream);
    const analyser = context.createAnalyser();
    analyser.fftSize = 1024;
    source.connect(analyser); // not to the speakers: no feedback
    Object.assign(this._lip, { context, analyser, buffer: new Float32Array(analyser.fftSize),
                               stop: () => { source.disconnect(); stream.getTracks().forEach((t) => t.stop()); context.close(); } });
    return analyser;
  }

  detachAudio() {
    if (this._lip.stop) this._lip.stop();
    Object.assign(this._lip, { context: null, analyser: null, buffer: null, stop: null, level: 0 });
  }

  /** Drive lip sync by hand with a level 0..1 (null: back to the audio input). */
  setLipSyncLevel(level) {
    this._lip.manual = level === null ? null : Math.min(Math.max(Number(level) || 0, 0), 1);
  }

  /** Head, eyes and body follow the pointer over `element` (returns a stop function). */
  followPointer(element, enabled = true) {
    if (this._pointer.stop) this._pointer.stop();
    this._pointer.stop = null;
    this._pointer.enabled = Boolean(enabled);
    if (!enabled || !element) return () => {};
    const move = (e) => {
      const r = element.getBoundingClientRect();
      this.setPointerTarget(((e.clientX - r.left) / r.width) * 2 - 1, ((e.clientY - r.top) / r.height) * 2 - 1);
    };
    const leave = () => this.setPointerTarget(0, 0);
    element.addEventListener("pointermove", move);
    element.addEventListener("pointerleave", leave);
    this._pointer.stop = () => { element.removeEventListener("pointermove", move); element.removeEventListener("pointerleave", leave); };
    return () => this.followPointer(null, false);
  }

  /** Where the pointer is: x, y in -1..1 (right, down) over the model. */
  setPointerTarget(x, y) {
    this._pointer.tx = Math.min(Math.max(Number(x) || 0, -1), 1);
    this._pointer.ty = Math.min(Math.max(Number(y) || 0, -1), 1);
  }

  _set(i, v) {
    if (i === undefined) return;
    const p = this.model.parameters[i];
    if (!this._restore.has(i)) this._restore.set(i, [this.values[i], 0]);
    const clamped = Math.min(Math.max(v, p.min), p.max);
    this.values[i] = clamped;
    this._restore.get(i)[1] = clamped;
  }

  _driven(i) {
    if (this.heldParameters.has(this.model.parameters[i].id)) return true;
    if (this.motion && this.motion.curves.some((c) => c.param === i)) return true;
    return this.motion3.some((m) => m.targets.some(([j]) => j === i));
  }

  /**
   * Advance by dt seconds: model motion, Cubism motions, expression, automatic
   * blink and breath, lip sync, pointer follow, then physics.
   */
  update(dt) {
    dt = Number(dt);
    if (!Number.isFinite(dt) || dt < 0) dt = 0;
    this.time += dt;
    // Effects of the last frame come off again (unless the user changed the value since).
    for (const [i, [before, written]] of this._restore) if (this.values[i] === written) this.values[i] = before;
    this._restore.clear();
    if (this.motion && this.playing) {
      const d = this.motion.duration;
      this.motionTime += dt;
      if (this.motionLoop) this.motionTime %= d;
      else if (this.motionTime >= d) { this.motionTime = d; this.playing = false; }
      this._applyMotion();
    }
    this._applyMotion3();
    this._applyEffects(dt);
    if (this.physicsEnabled && this.physics.chains.length) {
      const outputs = this.physics.chains.flatMap((c) => c.outputIndex);
      const held = outputs.filter((i) => this.heldParameters.has(this.model.parameters[i].id)).map((i) => [i, this.values[i]]);
      const before = outputs.map((i) => this.values[i]);
      this.physics.step(this.values, dt);
      outputs.forEach((i, k) => { const v = this.values[i]; this.values[i] = before[k]; this._set(i, v); });
      for (const [i, v] of held) this.values[i] = v;
    }
  }

  _applyMotion3() {
    const now = this.time, held = this.heldParameters;
    this.motion3 = this.motion3.filter((m) => now < m.end);
    for (const m of this.motion3) {
      const elapsed = now - m.start;
      let t = elapsed;
      if (m.loop && m.motion.duration > 0) t %= m.motion.duration;
      else t = Math.min(t, m.motion.duration);
      const remaining = m.end - now;
      const weight = fadeWeight(m.fadeIn, m.fadeOut, elapsed, remaining);
      for (const [i, c] of m.targets) {
        if (held.has(this.model.parameters[i].id)) continue;
        const w = c.fadeIn === null && c.fadeOut === null ? weight
          : fadeWeight(c.fadeIn ?? m.fadeIn, c.fadeOut ?? m.fadeOut, elapsed, remaining);
        const v = evaluateMotion3Curve(c, t, m.motion.restricted);
        this._set(i, this.values[i] + (v - this.values[i]) * w);
      }
    }
  }

  _applyEffects(dt) {
    const model = this.model, now = this.time;
    if (this.expression) {
      const e = this.expression;
      const w = e.fadeIn > 0 ? easeSine((now - e.start) / e.fadeIn) : 1;
      for (const [i, value, blend] of e.params) {
        const v = this.values[i];
        if (blend === "Add") this._set(i, v + value * w);
        else if (blend === "Multiply") this._set(i, v * (1 + (value - 1) * w));
        else this._set(i, v + (value - v) * w);
      }
    }
    if (this.autoBlink && this._eyeBlink.length && !this._eyeBlink.some((i) => this._driven(i))) {
      const b = this._blink;
      if (b.start < 0 && now >= b.next) b.start = now;
      let open = 1;
      if (b.start >= 0) {
        const t = now - b.start; // close 0.1 s, closed 0.05 s, open 0.15 s
        if (t < 0.1) open = 1 - t / 0.1;
        else if (t < 0.15) open = 0;
        else if (t < 0.3) open = (t - 0.15) / 0.15;
        else { b.start = -1; b.next = now + 1.5 + 4.5 * this.random(); } // natural: every 1.5-6 s
      }
      for (const i of this._eyeBlink) this._set(i, model.parameters[i].default * open);
    }
    if (this.autoBreath && this._breath !== undefined && !this._driven(this._breath)) {
      const p = model.parameters[this._breath];
      this._set(this._breath, p.min + (p.max - p.min) * (0.5 + 0.5 * Math.sin((2 * Math.PI * now) / 3.5)));
    }
    const lip = this._lip;
    if (lip.manual !== null || lip.analyser) {
      let target = lip.manual;
      if (target === null) {
        lip.analyser.getFloatTimeDomainData(lip.buffer);
        let sum = 0;
        for (let k = 0; k < lip.buffer.length; k++) sum += lip.buffer[k] * lip.buffer[k];
        target = Math.min(1, Math.sqrt(sum / lip.buffer.length) * 8);
      }
      // Quick to open, a little slower to close (time constants 40 / 90 ms).
      const tau = target > lip.level ? 0.04 : 0.09;
      lip.level += (target - lip.level) * (1 - Math.exp(-dt / tau));
      for (const i of this._lipSync) {
        if (this.heldParameters.has(model.parameters[i].id)) continue;
        const p = model.parameters[i];
        this._set(i, p.min + (p.max - p.min) * lip.level);
      }
    }
    const ptr = this._pointer;
    if (ptr.enabled) {
      const k = 1 - Math.exp(-dt / 0.12);
      ptr.x += (ptr.tx - ptr.x) * k;
      ptr.y += (ptr.ty - ptr.y) * k;
      const follow = [["ParamAngleX", ptr.x], ["ParamAngleY", -ptr.y], ["ParamEyeBallX", ptr.x],
                      ["ParamEyeBallY", -ptr.y], ["ParamBodyAngleX", ptr.x]];
      for (const [id, f] of follow) {
        const i = model.parameterIndex.get(id);
        if (i === undefined || this.heldParameters.has(id)) continue;
        const p = model.parameters[i];
        this._set(i, p.default + f * (f > 0 ? p.max - p.default : p.default - p.min));
      }
    }
  }

  _drawMesh(mi, verts, opacity, mask) {
    const gl = this.gl, g = this.meshGL[mi], m = this.model.meshes[mi];
    if (g.uploaded !== verts) {
      gl.bindBuffer(gl.ARRAY_BUFFER, g.pos);
      gl.bufferSubData(gl.ARRAY_BUFFER, 0, verts);
      g.uploaded = verts;
    }
    // Only state that changes is sent (fewer WebGL calls per mesh).
    const st = this._glState, tex = this.textures[m.texture];
    if (st.tex0 !== tex) {
      gl.activeTexture(gl.TEXTURE0);
      gl.bindTexture(gl.TEXTURE_2D, tex);
      st.tex0 = tex;
    }
    if (st.mask !== mask) {
      gl.uniform1i(this.loc.u_clip, mask ? 1 : 0);
      this._bindMask(mask);
      st.mask = mask;
    }
    if (st.opacity !== opacity) {
      gl.uniform1f(this.loc.u_opacity, opacity);
      st.opacity = opacity;
    }
    gl.bindVertexArray(g.vao);
    gl.drawElements(gl.TRIANGLES, g.count, gl.UNSIGNED_INT, 0);
  }

  /** Draw the current parameter values.  Errors are reported as "error" events. */
  draw() {
    if (this._destroyed) return;
    const gl = this.gl;
    if (gl.isContextLost()) return;
    try {
      if (!this._evalState) this._evalState = this.model.newFrameState();
      const frame = this.model.evaluateFrame(this.values, this._evalState);
      const verts = frame.verts;
      // A mesh whose parameters did not change keeps its uploaded vertices.
      for (let mi = 0; mi < verts.length; mi++) if (frame.changed[mi]) this.meshGL[mi].uploaded = null;
      const { width, height } = this.model.canvas;
      gl.useProgram(this.program);
      gl.uniform2f(this.loc.u_canvas, width, height);
      gl.uniform2f(this.loc.u_target, width, height);
      gl.uniform1i(this.loc.u_atlas, 0);
      gl.uniform1i(this.loc.u_mask, 1);
      gl.enable(gl.BLEND);
      gl.blendFunc(gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
      gl.disable(gl.DEPTH_TEST);
      gl.disable(gl.CULL_FACE);
      gl.viewport(0, 0, width, height);
      gl.clearColor(0, 0, 0, 0);
      this._glState = { tex0: null, mask: undefined, opacity: NaN };
      for (const [id, mask] of this.masks) {
        gl.bindFramebuffer(gl.FRAMEBUFFER, mask.fbo);
        gl.clear(gl.COLOR_BUFFER_BIT);
        for (const mi of this.meshesOfLayer.get(id) || []) this._drawMesh(mi, verts[mi], 1, null);
      }
      gl.bindFramebuffer(gl.FRAMEBUFFER, null);
      gl.clear(gl.COLOR_BUFFER_BIT);
      for (const mi of this.model.drawOrder) {
        const layer = this.layerById.get(this.model.meshes[mi].layer);
        const mask = layer.clipTo ? this.masks.get(layer.clipTo) : null;
        this._drawMesh(mi, verts[mi], frame.opacity[mi], mask);
      }
      gl.bindVertexArray(null);
    } catch (err) {
      this._emit("error", err);
    }
  }

  /**
   * Draw, then read the canvas back: {width, height, data} with straight-alpha
   * RGBA rows from the top (as core/render.py returns).
   */
  readPixels() {
    this.draw();
    const gl = this.gl;
    const { width, height } = this.model.canvas;
    const raw = new Uint8Array(width * height * 4);
    gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    gl.readPixels(0, 0, width, height, gl.RGBA, gl.UNSIGNED_BYTE, raw);
    const out = new Uint8ClampedArray(width * height * 4);
    for (let y = 0; y < height; y++) {
      const src = (height - 1 - y) * width * 4, dst = y * width * 4;
      for (let x = 0; x < width * 4; x += 4) {
        const a = raw[src + x + 3];
        out[dst + x + 3] = a;
        if (a === 0) continue;
        for (let c = 0; c < 3; c++) out[dst + x + c] = Math.round((raw[src + x + c] * 255) / a);
      }
    }
    return { width, height, data: out };
  }

  destroy() {
    if (this._destroyed) return;
    this._destroyed = true;
    this.detachAudio();
    this.followPointer(null, false);
    const gl = this.gl;
    this.canvas.removeEventListener("webglcontextlost", this._onLost);
    for (const g of this.meshGL || []) {
      gl.deleteVertexArray(g.vao); gl.deleteBuffer(g.pos); gl.deleteBuffer(g.uv); gl.deleteBuffer(g.ibo);
    }
    for (const t of this.textures || []) gl.deleteTexture(t);
    if (this.blankTexture) gl.deleteTexture(this.blankTexture);
    for (const m of this.masks?.values() || []) { gl.deleteTexture(m.tex); gl.deleteFramebuffer(m.fbo); }
    if (this.program) gl.deleteProgram(this.program);
    this.meshGL = []; this.textures = []; this.masks = new Map();
  }
}

export function createPlayer(canvas, model, options) {
  return new Player(canvas, model, options);
}

// ---------------------------------------------------------------- zip archives

// Bounds for an export folder dropped as one .zip, so a damaged or hostile
// archive fails with a message instead of freezing or exhausting the tab.
export const ZIP_LIMITS = Object.freeze({
  MAX_ARCHIVE_BYTES: 2 * 1024 * 1024 * 1024 - 1,
  MAX_ENTRIES: 10000,
  MAX_TOTAL_BYTES: 512 * 1024 * 1024, // all unpacked entries together
});

/** A .zip that cannot be unpacked; the message says why in plain words. */
export class ZipError extends ModelError {
  constructor(message) {
    super(message);
    this.name = "ZipError";
  }
}

let crcTable = null;
function crc32Update(crc, bytes) {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = ~crc;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** "a\\b/./c" -> "a/b/c"; null for names that climb out ("..") or are folders. */
function cleanZipPath(raw) {
  const parts = [];
  for (const part of raw.replace(/\\/g, "/").split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") return null;
    parts.push(part);
  }
  if (!parts.length || raw.endsWith("/") || raw.endsWith("\\")) return null;
  return parts.join("/");
}

/**
 * Unpack a .zip (File or Blob) in the browser: stored and deflated entries
 * (deflate through DecompressionStream), CRC checked.  Returns a Map of
 * path inside the archive -> Blob.  `filter(path)` picks the entries to unpack
 * (the others are never inflated).  Rejects with ZipError for archives that are
 * not zips, damaged, encrypted, zip64, split, or beyond `limits` (ZIP_LIMITS).
 */
export async function readZip(blob, { name = "the zip", filter = null, limits = {} } = {}) {
  const lim = { ...ZIP_LIMITS, ...limits };
  const fail = (msg) => { throw new ZipError(`${name}: ${msg}`); };
  if (!blob || typeof blob.slice !== "function") fail("is not a file");
  if (blob.size > lim.MAX_ARCHIVE_BYTES) fail(`is ${(blob.size / 2 ** 20).toFixed(0)} MB, larger than the ${(lim.MAX_ARCHIVE_BYTES / 2 ** 20).toFixed(0)} MB this viewer unpacks; unzip it and drop the folder instead`);
  const bytesAt = async (start, end) => new Uint8Array(await blob.slice(start, end).arrayBuffer());
  // The end-of-central-directory record: 22 bytes plus a comment of up to 65535.
  const tailStart = Math.max(0, blob.size - 22 - 65535);
  const tail = await bytesAt(tailStart, blob.size);
  const tv = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tv.getUint32(i, true) === 0x06054b50 && i + 22 + tv.getUint16(i + 20, true) <= tail.length) { eocd = i; break; }
  }
  if (eocd < 0) fail("is not a zip archive (or it is cut short); zip the export folder again");
  if (eocd >= 20 && tv.getUint32(eocd - 20, true) === 0x07064b50) fail("is a zip64 archive, which this viewer does not unpack; unzip it and drop the folder instead");
  const disk = tv.getUint16(eocd + 4, true), cdDisk = tv.getUint16(eocd + 6, true);
  const count = tv.getUint16(eocd + 10, true);
  const cdSize = tv.getUint32(eocd + 12, true), cdOffset = tv.getUint32(eocd + 16, true);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) fail("is a zip64 archive, which this viewer does not unpack; unzip it and drop the folder instead");
  if (disk !== 0 || cdDisk !== 0 || count !== tv.getUint16(eocd + 8, true)) fail("is one part of a split archive; join the parts or zip the folder again");
  if (count > lim.MAX_ENTRIES) fail(`holds ${count} files, more than the ${lim.MAX_ENTRIES} this viewer unpacks`);
  const eocdPos = tailStart + eocd;
  if (cdOffset + cdSize > eocdPos) fail("is damaged (its table of contents lies outside the file)");
  const cd = await bytesAt(cdOffset, cdOffset + cdSize);
  const dv = new DataView(cd.buffer, cd.byteOffset, cd.byteLength);
  const utf8 = new TextDecoder("utf-8");
  const entries = [];
  let p = 0;
  for (let k = 0; k < count; k++) {
    if (p + 46 > cd.length || dv.getUint32(p, true) !== 0x02014b50) fail("is damaged (its table of contents is broken)");
    const flags = dv.getUint16(p + 8, true), method = dv.getUint16(p + 10, true);
    const crc = dv.getUint32(p + 16, true), packed = dv.getUint32(p + 20, true), size = dv.getUint32(p + 24, true);
    const nameLen = dv.getUint16(p + 28, true), extraLen = dv.getUint16(p + 30, true), commentLen = dv.getUint16(p + 32, true);
    const local = dv.getUint32(p + 42, true);
    if (p + 46 + nameLen > cd.length) fail("is damaged (its table of contents is broken)");
    const rawName = utf8.decode(cd.subarray(p + 46, p + 46 + nameLen));
    p += 46 + nameLen + extraLen + commentLen;
    const path = cleanZipPath(rawName);
    if (path === null || path.startsWith("__MACOSX/")) continue; // folders, Finder metadata
    if (filter && !filter(path)) continue;
    if (packed === 0xffffffff || size === 0xffffffff || local === 0xffffffff) fail("is a zip64 archive, which this viewer does not unpack; unzip it and drop the folder instead");
    if (flags & 0x41) fail(`is encrypted (${path} needs a password); unzip it and drop the folder instead`);
    if (method !== 0 && method !== 8) fail(`packs ${path} with compression method ${method}; only stored and deflated files can be unpacked here (zip it again with ordinary compression)`);
    if (method === 0 && packed !== size) fail(`is damaged (${path} has inconsistent sizes)`);
    entries.push({ path, method, crc, packed, size, local });
  }
  const total = entries.reduce((s, e) => s + e.size, 0);
  if (total > lim.MAX_TOTAL_BYTES) fail(`would unpack to ${(total / 2 ** 20).toFixed(0)} MB, more than the ${(lim.MAX_TOTAL_BYTES / 2 ** 20).toFixed(0)} MB this viewer allows`);
  if (entries.some((e) => e.method === 8) && typeof DecompressionStream === "undefined") {
    fail("uses deflate compression, which this browser cannot unpack; unzip it and drop the folder instead");
  }
  const out = new Map();
  for (const e of entries) {
    const head = await bytesAt(e.local, e.local + 30);
    if (head.length < 30 || new DataView(head.buffer).getUint32(0, true) !== 0x04034b50) fail(`is damaged (${e.path} cannot be found in it)`);
    const hv = new DataView(head.buffer);
    const start = e.local + 30 + hv.getUint16(26, true) + hv.getUint16(28, true);
    if (start + e.packed > cdOffset) fail(`is damaged (${e.path} runs past the end of the data)`);
    let stream = blob.slice(start, start + e.packed).stream();
    if (e.method === 8) stream = stream.pipeThrough(new DecompressionStream("deflate-raw"));
    const reader = stream.getReader();
    const chunks = [];
    let got = 0, crc = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        got += value.length;
        if (got > e.size) {
          reader.cancel().catch(() => {});
          fail(`is damaged or hostile (${e.path} unpacks to more than the ${e.size} bytes it declares)`);
        }
        crc = crc32Update(crc, value);
        chunks.push(value);
      }
    } catch (err) {
      if (err instanceof ZipError) throw err;
      fail(`is damaged (${e.path} cannot be unpacked: ${err.message})`);
    }
    if (got !== e.size || crc !== e.crc) fail(`is damaged (${e.path} fails its checksum)`);
    out.set(e.path, new Blob(chunks));
  }
  return out;
}

/**
 * The export folder inside a .zip, ready for loadModel(): finds model.json
 * (at the top or in one folder, e.g. web/model.json) and returns its JSON and
 * PNG siblings as a Map of paths relative to it (motions/Idle.motion3.json).
 */
export async function readExportZip(blob, name = blob && blob.name ? blob.name : "the zip") {
  let folder = null;
  const wanted = (path) => {
    if (folder === null) return true;
    return path.startsWith(folder) && /\.(json|png)$/i.test(path);
  };
  // First pass over the names only: where is model.json?
  const names = [];
  await readZip(blob, { name, filter: (path) => { names.push(path); return false; } });
  const models = names.filter((n) => n === "model.json" || n.endsWith("/model.json"));
  if (!models.length) {
    throw new ZipError(`${name}: holds no model.json; zip the whole export folder (model.json with its atlas PNGs)`);
  }
  const depth = (n) => n.split("/").length;
  models.sort((a, b) => depth(a) - depth(b) || (a < b ? -1 : 1));
  if (models.length > 1 && depth(models[0]) === depth(models[1])) {
    throw new ZipError(`${name}: holds several exports (${models.slice(0, 3).join(", ")}); zip one export folder at a time`);
  }
  folder = models[0].slice(0, models[0].length - "model.json".length);
  const files = await readZip(blob, { name, filter: wanted });
  return new Map(Array.from(files, ([path, file]) => [path.slice(folder.length), file]));
}
