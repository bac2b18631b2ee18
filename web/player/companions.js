// SPDX-License-Identifier: GPL-3.0-or-later OR MIT
// The Cubism files beside model.json that <stem>.model3.json lists: motion3
// and exp3 files, and its HitAreas.  They are read only from the model's own
// folder (or the dropped files): see exportPath.
import { parseMotion3 } from "./motion3.js";
import { readJsonText } from "./load.js";

/**
 * A file that model3.json names, as a path inside the export: plain names
 * (letters, digits, "_", "-", ".") in plain folders.  A scheme, a host, an
 * absolute path, "." or ".." segments and backslashes are refused, so a model
 * can never make the player fetch from another origin or another folder.
 */
export function exportPath(rel) {
  if (typeof rel !== "string" || rel.length === 0 || rel.length > 256) {
    throw new Error("a referenced file needs a plain relative path");
  }
  const parts = rel.split("/");
  for (const part of parts) {
    if (!/^[A-Za-z0-9_.-]+$/.test(part) || part === "." || part === "..") {
      throw new Error(`"${rel}" is not a path inside the model's folder`);
    }
  }
  return parts.join("/");
}

const MAX_COMPANION_BYTES = 32 * 1024 * 1024;

/** Reads a JSON file beside model.json: from the served folder or the dropped
 * files, never from anywhere else (see exportPath).  Missing files give null. */
export function fileReader(source) {
  if (source instanceof Map) {
    // Unpacked zips keep paths (motions/Idle.motion3.json); dropped folders keep names.
    return async (rel) => {
      const path = exportPath(rel);
      const f = source.get(path) || source.get(path.split("/").pop());
      if (!f) return null;
      if (f.size > MAX_COMPANION_BYTES) throw new Error(`${rel} is too large`);
      return readJsonText(await f.text(), rel);
    };
  }
  const base = new URL(String(source ?? "./"), typeof document !== "undefined" ? document.baseURI : undefined);
  const folder = new URL("./", base);
  return async (rel) => {
    const url = new URL(exportPath(rel), folder);
    if (url.origin !== folder.origin || !url.pathname.startsWith(folder.pathname)) {
      throw new Error(`"${rel}" lies outside the model's folder`);
    }
    const res = await fetch(url, { credentials: "same-origin", redirect: "error" });
    if (!res.ok) return null;
    const blob = await res.blob();
    if (blob.size > MAX_COMPANION_BYTES) throw new Error(`${rel} is too large`);
    return readJsonText(await blob.text(), rel);
  };
}

/**
 * The motion3 and exp3 files and hit areas that <stem>.model3.json lists
 * (missing or broken ones are skipped with a console warning):
 * {model3, motions: [{name, motion, fadeIn, fadeOut}], expressions: [{name, json}], hitAreas}.
 */
export async function loadCompanions(source, model) {
  const out = { model3: null, motions: [], expressions: [], hitAreas: [] };
  const read = fileReader(source);
  let stem = (model.source || "").replace(/\.[^.]*$/, "").replace(/[^A-Za-z0-9_.-]+/g, "_").replace(/^[._]+|[._]+$/g, "") || "model";
  let model3 = null;
  try {
    if (source instanceof Map) {
      const name = [...source.keys()].find((k) => k.endsWith(".model3.json"));
      if (name) { model3 = await read(name); stem = name.replace(/\.model3\.json$/, ""); }
    } else {
      const m = String(source ?? "").match(/([^/?#]+)\.model3\.json(\?.*)?$/);
      model3 = await read(m ? `${m[1]}.model3.json` : `${stem}.model3.json`);
    }
  } catch (err) {
    model3 = null;
  }
  if (!model3 || typeof model3 !== "object") return out;
  out.model3 = model3;
  const refs = (model3 && model3.FileReferences) || {};
  for (const [group, list] of Object.entries(refs.Motions || {})) {
    for (const [k, entry] of (Array.isArray(list) ? list.slice(0, 256) : []).entries()) {
      try {
        const json = await read(entry.File);
        if (!json) continue;
        const motion = parseMotion3(json, entry.File);
        out.motions.push({ name: list.length > 1 ? `${group} ${k + 1}` : group, group, motion,
                           fadeIn: entry.FadeInTime, fadeOut: entry.FadeOutTime });
      } catch (err) {
        console.warn(`skipped ${entry && entry.File}: ${err.message}`);
      }
    }
  }
  for (const entry of Array.isArray(refs.Expressions) ? refs.Expressions.slice(0, 256) : []) {
    try {
      const json = await read(entry.File);
      if (json && typeof entry.Name === "string") out.expressions.push({ name: entry.Name, json });
    } catch (err) {
      console.warn(`skipped ${entry && entry.File}: ${err.message}`);
    }
  }
  if (Array.isArray(model3.HitAreas)) out.hitAreas = model3.HitAreas;
  return out;
}
