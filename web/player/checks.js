// SPDX-License-Identifier: GPL-3.0-or-later OR MIT
// Checks for values read from JSON files: each throws ModelError with a plain
// message naming where the bad value is.
import { LIMITS } from "./constants.js";
import { ModelError } from "./errors.js";

export function fail(msg) {
  throw new ModelError(`model.json: ${msg}`);
}

export function isObj(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

export function str(v, where, { max = 256, optional = false } = {}) {
  if (v === undefined && optional) return "";
  if (typeof v !== "string") fail(`${where} must be a text string`);
  if (v.length > max) fail(`${where} is longer than ${max} characters`);
  return v;
}

export function num(v, where, { min = -Infinity, max = Infinity, int = false } = {}) {
  if (typeof v !== "number" || !Number.isFinite(v)) fail(`${where} must be a number`);
  if (int && !Number.isInteger(v)) fail(`${where} must be a whole number`);
  if (v < min || v > max) fail(`${where} is ${v}, outside ${min}..${max}`);
  return v;
}

export function arr(v, where, { min = 0, max = LIMITS.MAX_ITEMS } = {}) {
  if (!Array.isArray(v)) fail(`${where} must be a list`);
  if (v.length < min) fail(`${where} needs at least ${min} entries`);
  if (v.length > max) fail(`${where} has ${v.length} entries, more than the ${max} the player supports`);
  return v;
}

export function numbers(v, where, max, Type = Float32Array) {
  arr(v, where, { max });
  const out = new Type(v.length);
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (typeof x !== "number" || !Number.isFinite(x)) fail(`${where}[${i}] must be a number`);
    out[i] = x;
  }
  return out;
}

export function optionalRef(v, where) {
  if (v === undefined || v === null) return null;
  return str(v, where);
}

export function uniqueIds(items, what) {
  const map = new Map();
  for (const item of items) {
    if (map.has(item.id)) fail(`two ${what} share the id "${item.id}"`);
    map.set(item.id, item);
  }
  return map;
}
