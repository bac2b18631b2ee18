// SPDX-License-Identifier: GPL-3.0-or-later OR MIT
// model.json -> the player's typed model (validated, within the limits).
import { FORMAT_NAME, FORMAT_VERSION, LIMITS } from "./constants.js";
import { arr, fail, isObj, num, numbers, optionalRef, str, uniqueIds } from "./checks.js";
import { Model } from "./model.js";

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
  if (canvas.width * canvas.height > LIMITS.MAX_CANVAS_PIXELS) {
    fail(`the canvas is ${canvas.width}x${canvas.height}, more than the ${(LIMITS.MAX_CANVAS_PIXELS / 1e6).toFixed(0)} megapixels this player draws`);
  }
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

  let totalVertices = 0, totalTriangles = 0;
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
    const tri = arr(m.triangles, `mesh "${id}" triangles`, { max: 3 * (LIMITS.MAX_TRIANGLES - totalTriangles) });
    totalTriangles += tri.length / 3;
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
  checkRasterBudget(canvas, layers, meshes);

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
    // Opacity forms in float64 (one number per node): opacities match the reference to 1e-9.
    const forms = numbers(k.forms, `keyform of "${target}" forms`, nodes * size, channel === "opacity" ? Float64Array : Float32Array);
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

/**
 * Refuse meshes whose triangles cover more than the raster budget at rest: the
 * area of every triangle (at most the canvas each), summed over the draw and
 * over the clipping-mask passes, must stay within LIMITS.MAX_RASTER_PIXELS and
 * LIMITS.MAX_RASTER_CANVAS_AREAS canvases.  (Huge overlapping triangles are
 * cheap to store but take minutes to fill on a software rasteriser.)
 */
function checkRasterBudget(canvas, layers, meshes) {
  const canvasArea = canvas.width * canvas.height;
  const limit = Math.min(LIMITS.MAX_RASTER_PIXELS, LIMITS.MAX_RASTER_CANVAS_AREAS * canvasArea);
  const maskLayers = new Set(layers.filter((l) => l.clipTo !== null).map((l) => l.clipTo));
  let total = 0;
  for (const m of meshes) {
    const v = m.vertices, tr = m.triangles;
    let area = 0;
    for (let k = 0; k < tr.length; k += 3) {
      const a = 2 * tr[k], b = 2 * tr[k + 1], c = 2 * tr[k + 2];
      const doubled = Math.abs((v[b] - v[a]) * (v[c + 1] - v[a + 1]) - (v[c] - v[a]) * (v[b + 1] - v[a + 1]));
      area += Math.min(doubled / 2, canvasArea);
    }
    total += maskLayers.has(m.layer) ? 2 * area : area;
    if (total > limit) {
      fail(`the meshes cover more than ${(total / canvasArea).toFixed(0)} canvases of triangles ` +
           `(${(total / 1e6).toFixed(0)} megapixels per frame; the player draws at most ${(limit / 1e6).toFixed(0)}); ` +
           "overlapping or oversized triangles, export the model again");
    }
  }
}
