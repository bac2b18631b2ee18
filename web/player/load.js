// SPDX-License-Identifier: GPL-3.0-or-later OR MIT

// Loading an export: model.json (checked and validated first), then the atlas
// pages, each checked by its PNG header against the pixel budgets before a
// single pixel is decoded.
import { LIMITS } from "./constants.js";
import { ModelError } from "./errors.js";
import { parseModel } from "./parse.js";

export function baseName(name) {
  const parts = String(name).split(/[\\/]/);
  return parts[parts.length - 1];
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * Width, height, bit depth and colour type from a PNG's IHDR chunk (the first
 * 33 bytes), without decoding it.  Throws ModelError for anything else.
 */
export async function pngHeader(blob, name) {
  const head = new Uint8Array(await blob.slice(0, 33).arrayBuffer());
  if (head.length < 33 || PNG_SIGNATURE.some((b, i) => head[i] !== b)) {
    throw new ModelError(`atlas ${name} is not a PNG image (export the model again)`);
  }
  const dv = new DataView(head.buffer);
  if (dv.getUint32(8) !== 13 || String.fromCharCode(...head.subarray(12, 16)) !== "IHDR") {
    throw new ModelError(`atlas ${name} is a damaged PNG (no image header)`);
  }
  const width = dv.getUint32(16), height = dv.getUint32(20);
  if (width === 0 || height === 0) throw new ModelError(`atlas ${name} is an empty (0-pixel) image`);
  return { width, height, bitDepth: head[24], colourType: head[25] };
}

function megapixels(n) {
  return `${(n / 1e6).toFixed(n < 1e7 ? 1 : 0)} megapixels`;
}

/** Refuse atlas pages beyond the pixel budgets (one page, all pages) before decoding. */
export function checkAtlasBudget(headers, names) {
  let total = 0;
  headers.forEach((h, i) => {
    const px = h.width * h.height;
    if (h.width > LIMITS.MAX_CANVAS || h.height > LIMITS.MAX_CANVAS || px > LIMITS.MAX_TEXTURE_PIXELS) {
      throw new ModelError(`atlas ${names[i]} is ${h.width}x${h.height} (${megapixels(px)}), more than the ` +
                           `${megapixels(LIMITS.MAX_TEXTURE_PIXELS)} per page this player decodes`);
    }
    total += px;
  });
  if (total > LIMITS.MAX_TOTAL_TEXTURE_PIXELS) {
    throw new ModelError(`the atlas pages hold ${megapixels(total)} together, more than the ` +
                         `${megapixels(LIMITS.MAX_TOTAL_TEXTURE_PIXELS)} this player decodes`);
  }
}

async function decodeImage(blob, name) {
  if (blob.size > LIMITS.MAX_TEXTURE_BYTES) throw new ModelError(`atlas ${name} is too large (${(blob.size / 2 ** 20).toFixed(0)} MB)`);
  try {
    // WebGL ignores UNPACK_PREMULTIPLY_ALPHA for ImageBitmaps: premultiply here.
    return await createImageBitmap(blob, { premultiplyAlpha: "premultiply", colorSpaceConversion: "none" });
  } catch (err) {
    throw new ModelError(`atlas ${name} is not a readable PNG image`);
  }
}

/**
 * Deepest nesting of [ and { in a JSON text (strings skipped), stopping as soon
 * as `limit` is passed: JSON.parse of a text nested 100k deep can exhaust the stack.
 */
export function jsonDepthOver(text, limit) {
  let depth = 0, inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 || c === 123) { if (++depth > limit) return true; }
    else if (c === 93 || c === 125) depth--;
  }
  return false;
}

export async function readJsonText(text, where) {
  if (text.length > LIMITS.MAX_JSON_BYTES) throw new ModelError(`${where} is too large`);
  if (jsonDepthOver(text, LIMITS.MAX_JSON_DEPTH)) {
    throw new ModelError(`${where} nests lists or objects more than ${LIMITS.MAX_JSON_DEPTH} deep; it is not an export of this add-on`);
  }
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
  // The model is valid: now the atlas pages, each file read once however often
  // it is named, every header checked against the budgets before any decoding.
  const unique = [...new Set(model.textures)];
  const blobs = await Promise.all(unique.map((name) => getFile(name)));
  const headers = await Promise.all(blobs.map((b, i) => pngHeader(b, unique[i])));
  checkAtlasBudget(headers, unique);
  model.textures.forEach((name, i) => {
    const h = headers[unique.indexOf(name)];
    for (const l of model.layers) {
      if (l.texture !== i) continue;
      const [x, y, w, h2] = l.atlasRect;
      if (x + w > h.width || y + h2 > h.height) throw new ModelError(`layer "${l.id}": its atlas rectangle lies outside ${name} (${h.width}x${h.height})`);
    }
  });
  const decoded = [];
  for (let i = 0; i < unique.length; i++) decoded.push(await decodeImage(blobs[i], unique[i])); // one at a time: bounded memory
  model.images = model.textures.map((name) => decoded[unique.indexOf(name)]);
  return model;
}
