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
// layer opacity, clipping multiplies by the clip layer's rendered alpha.

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
    let kind, index, size;
    if (meshById.has(target)) {
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
    return { target, kind, index, params, keys, forms, size };
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

  return new Model({ canvas, textures, parameters, layers, deformers, meshes, drawOrder, keyforms, motions, source: typeof data.source === "string" ? data.source : "" });
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
    this._keyformsOf = { mesh: this.meshes.map(() => []), deformer: this.deformers.map(() => []) };
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
    for (const k of list) {
      // Non-zero node weights only: at most 2 per parameter.
      let nodes = [0], weights = [1];
      for (let j = 0; j < k.params.length; j++) {
        const keys = k.keys[j];
        const [i0, w0, i1, w1] = tent(keys, values[k.params[j]]);
        const nn = [], nw = [];
        for (let q = 0; q < nodes.length; q++) {
          nn.push(nodes[q] * keys.length + i0); nw.push(weights[q] * w0);
          if (keys.length > 1) { nn.push(nodes[q] * keys.length + i1); nw.push(weights[q] * w1); }
        }
        nodes = nn; weights = nw;
      }
      const size = k.size, forms = k.forms;
      for (let q = 0; q < nodes.length; q++) {
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
  const jsonBlob = await getFile("model.json");
  if (jsonBlob.size > LIMITS.MAX_JSON_BYTES) throw new ModelError("model.json is too large");
  const data = await readJsonText(await jsonBlob.text(), "model.json");
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
      return { vao, pos, uv, ibo, count: m.triangles.length, scratch: new Float32Array(m.vertices.length) };
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

  /** Advance the playing motion by dt seconds. */
  update(dt) {
    if (!this.motion || !this.playing) return;
    const d = this.motion.duration;
    this.motionTime += Math.max(0, Number(dt) || 0);
    if (this.motionLoop) this.motionTime %= d;
    else if (this.motionTime >= d) { this.motionTime = d; this.playing = false; }
    this._applyMotion();
  }

  _drawMesh(mi, verts, opacity, mask) {
    const gl = this.gl, g = this.meshGL[mi], m = this.model.meshes[mi];
    g.scratch.set(verts);
    gl.bindBuffer(gl.ARRAY_BUFFER, g.pos);
    gl.bufferSubData(gl.ARRAY_BUFFER, 0, g.scratch);
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D, this.textures[m.texture]);
    gl.uniform1i(this.loc.u_clip, mask ? 1 : 0);
    this._bindMask(mask);
    gl.uniform1f(this.loc.u_opacity, opacity);
    gl.bindVertexArray(g.vao);
    gl.drawElements(gl.TRIANGLES, g.count, gl.UNSIGNED_INT, 0);
  }

  /** Draw the current parameter values.  Errors are reported as "error" events. */
  draw() {
    if (this._destroyed) return;
    const gl = this.gl;
    if (gl.isContextLost()) return;
    try {
      const verts = this.model.evaluate(this.values);
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
        this._drawMesh(mi, verts[mi], layer.opacity, mask);
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
