// SPDX-License-Identifier: GPL-3.0-or-later OR MIT

import { CONSTANTS } from "./constants.js";
import { ModelError } from "./errors.js";

// Bounds for an export folder dropped as one .zip, so a damaged or hostile
// archive fails with a message instead of freezing or exhausting the tab.
// MAX_TOTAL_BYTES counts all unpacked entries together (constants.json "zip").
export const ZIP_LIMITS = Object.freeze(Object.fromEntries(Object.entries(CONSTANTS.zip).map(([k, v]) => [k.toUpperCase(), v])));

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
