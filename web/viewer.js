// SPDX-License-Identifier: GPL-3.0-or-later OR MIT
// The export folder's viewer: loads ./model.json (or dropped files), draws the
// model, parameter sliders by group, Play/Pause of the Idle motion, frame time,
// buttons for the motions (model.json and motions/*.motion3.json as listed by
// <stem>.model3.json) and expressions (expressions/*.exp3.json), toggles for
// automatic blink, breath, pointer follow and physics, and lip sync from an
// audio file or the microphone.  A dropped or chosen .zip of an export folder
// is unpacked in the page (readExportZip) and loads like the folder.
// Every name from the model goes into the page as text, never as HTML.
import { createPlayer, loadModel, parseMotion3, readExportZip, ZipError } from "./player.js";

const canvas = document.getElementById("stage");
const statusLine = document.getElementById("status");
const panel = document.getElementById("parameters");
const playButton = document.getElementById("play");
const resetButton = document.getElementById("reset");
const frameTime = document.getElementById("frame-time");
const title = document.getElementById("title");
const motionBar = document.getElementById("motions");
const expressionBar = document.getElementById("expressions");
let audio = document.getElementById("audio");

let player = null;
let sliders = new Map(); // parameter id -> {input, output}
let lastTime = null;
let frameMs = 0;
let rafId = 0;

function showStatus(text, isError = false) {
  statusLine.textContent = text;
  statusLine.classList.toggle("error", isError);
}

function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

function decimals(p) {
  const span = p.max - p.min;
  return span <= 2 ? 2 : span <= 20 ? 1 : 0;
}

function buildSliders(p) {
  panel.replaceChildren();
  sliders = new Map();
  const groups = new Map();
  for (const param of p.parameters) {
    const g = param.group || "Other";
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g).push(param);
  }
  for (const [group, params] of groups) {
    const details = el("details", { open: "" }, [el("summary", { text: `${group} (${params.length})` })]);
    for (const param of params) {
      const input = el("input", { type: "range", min: String(param.min), max: String(param.max),
                                  step: String((param.max - param.min) / 200), value: String(param.default) });
      const output = el("output", { text: param.default.toFixed(decimals(param)) });
      const name = el("span", { text: param.name || param.id, title: param.id });
      if (param.confidence < 0.5) {
        name.classList.add("low");
        name.title = `${param.id}: the parts this parameter moves may not look right (confidence ${param.confidence})`;
      }
      const label = el("label", { class: "param" }, [name, output, input]);
      input.addEventListener("input", () => {
        player.setParameter(param.id, Number(input.value), { hold: true });
        output.textContent = Number(input.value).toFixed(decimals(param));
      });
      sliders.set(param.id, { input, output, param });
      details.append(label);
    }
    panel.append(details);
  }
}

function refreshSliders() {
  for (const [id, s] of sliders) {
    const v = player.getParameter(id);
    if (Number(s.input.value) !== v && document.activeElement !== s.input) {
      s.input.value = String(v);
      s.output.textContent = v.toFixed(decimals(s.param));
    }
  }
}

function updatePlayButton() {
  playButton.textContent = player && player.playing ? "Pause" : "Play";
}

function frame(now) {
  rafId = requestAnimationFrame(frame);
  if (!player) return;
  const dt = lastTime === null ? 0 : Math.min((now - lastTime) / 1000, 0.25);
  lastTime = now;
  const t0 = performance.now();
  player.update(dt);
  player.draw();
  const spent = performance.now() - t0;
  frameMs = frameMs ? frameMs * 0.9 + spent * 0.1 : spent;
  frameTime.textContent = `${frameMs.toFixed(2)} ms/frame`;
  refreshSliders(); // motions, blink, breath, lip sync, pointer and physics all move values
}

/** Dropped or chosen files: a lone .zip (without a model.json beside it) is unpacked. */
async function unpackZip(files) {
  const names = [...files.keys()];
  if (names.some((n) => n.split("/").pop() === "model.json")) return { files, zip: null };
  const zips = names.filter((n) => /\.zip$/i.test(n));
  if (!zips.length) return { files, zip: null };
  if (zips.length > 1) throw new ZipError(`${zips.length} zip files were dropped; drop one export at a time`);
  const zip = zips[0].split("/").pop();
  showStatus(`Unpacking ${zip} …`);
  return { files: await readExportZip(files.get(zips[0]), zip), zip };
}

async function open(source, label) {
  showStatus(`Loading ${label} …`);
  try {
    if (source instanceof Map) {
      const unpacked = await unpackZip(source);
      source = unpacked.files;
      if (unpacked.zip) label = unpacked.zip;
    }
    const model = await loadModel(source);
    if (player) player.destroy();
    if (audio.dataset.attached) {
      // An element feeds one audio graph for life: a new player gets a new element.
      const fresh = audio.cloneNode(false);
      fresh.removeAttribute("src");
      delete fresh.dataset.attached;
      fresh.hidden = true;
      audio.replaceWith(fresh);
      audio = fresh;
    }
    player = createPlayer(canvas, model);
    player.on("error", (err) => showStatus(`Drawing failed: ${err.message}`, true));
    player.on("contextlost", () => showStatus("The graphics context was lost; reload the page.", true));
    fitCanvas();
    buildSliders(player);
    const idle = model.motion("Idle") || model.motions[0];
    if (idle) player.playMotion(idle.id, { loop: true });
    playButton.disabled = !idle;
    resetButton.disabled = false;
    updatePlayButton();
    title.textContent = model.source ? `Image to Rig: ${model.source}` : "Image to Rig viewer";
    showStatus(`${model.meshes.length} meshes, ${model.parameters.length} parameters, ` +
               `${model.canvas.width}×${model.canvas.height} px from ${label}. ` +
               "Drop another export folder or .zip to replace it.");
    applyToggles();
    const companions = await loadCompanions(source, model);
    buildAnimationButtons(model, companions);
    window.imageToRig = { player, model, companions };
    document.body.dataset.ready = "true";
  } catch (err) {
    showStatus(`Could not load the model: ${err.message}`, true);
    document.body.dataset.ready = "error";
  }
}

// ------------------------------------------------------------ Cubism companions

/**
 * A file that model3.json names, as a path inside the export: plain names
 * (letters, digits, "_", "-", ".") in plain folders.  A scheme, a host, an
 * absolute path, "." or ".." segments and backslashes are refused, so a model
 * can never make the viewer fetch from another origin or another folder.
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

/** Reads a file beside model.json: from the served folder or the dropped files,
 * never from anywhere else (see exportPath). */
function fileReader(source) {
  if (source instanceof Map) {
    // Unpacked zips keep paths (motions/Idle.motion3.json); dropped folders keep names.
    return async (rel) => {
      const path = exportPath(rel);
      const f = source.get(path) || source.get(path.split("/").pop());
      return f ? JSON.parse(await f.text()) : null;
    };
  }
  const base = new URL(String(source ?? "./"), document.baseURI);
  const folder = new URL("./", base);
  return async (rel) => {
    const url = new URL(exportPath(rel), folder);
    if (url.origin !== folder.origin || !url.pathname.startsWith(folder.pathname)) {
      throw new Error(`"${rel}" lies outside the model's folder`);
    }
    const res = await fetch(url, { credentials: "same-origin", redirect: "error" });
    return res.ok ? res.json() : null;
  };
}

/** The motion3 and exp3 files that <stem>.model3.json lists (missing ones are skipped). */
async function loadCompanions(source, model) {
  const out = { motions: [], expressions: [] };
  const read = fileReader(source);
  let stem = (model.source || "").replace(/\.[^.]*$/, "").replace(/[^A-Za-z0-9_.-]+/g, "_").replace(/^[._]+|[._]+$/g, "") || "model";
  let model3 = null;
  try {
    if (source instanceof Map) {
      const name = [...source.keys()].find((k) => k.endsWith(".model3.json"));
      if (name) { model3 = await read(name); stem = name.replace(/\.model3\.json$/, ""); }
    } else {
      model3 = await read(`${stem}.model3.json`);
    }
  } catch (err) {
    model3 = null;
  }
  const refs = (model3 && model3.FileReferences) || {};
  for (const [group, list] of Object.entries(refs.Motions || {})) {
    for (const [k, entry] of (Array.isArray(list) ? list : []).entries()) {
      try {
        const json = await read(entry.File);
        if (!json) continue;
        const motion = parseMotion3(json, entry.File);
        out.motions.push({ name: list.length > 1 ? `${group} ${k + 1}` : group, motion,
                           fadeIn: entry.FadeInTime, fadeOut: entry.FadeOutTime });
      } catch (err) {
        console.warn(`skipped ${entry.File}: ${err.message}`);
      }
    }
  }
  for (const entry of Array.isArray(refs.Expressions) ? refs.Expressions : []) {
    try {
      const json = await read(entry.File);
      if (json) out.expressions.push({ name: entry.Name, json });
    } catch (err) {
      console.warn(`skipped ${entry.File}: ${err.message}`);
    }
  }
  return out;
}

function setActive(bar, button) {
  for (const b of bar.querySelectorAll("button")) b.classList.toggle("active", b === button);
}

function buildAnimationButtons(model, companions) {
  motionBar.replaceChildren();
  expressionBar.replaceChildren();
  for (const m of model.motions) {
    const b = el("button", { type: "button", text: m.id, title: "model.json motion", "data-kind": "model" });
    b.addEventListener("click", () => {
      player.stopMotion3();
      player.playMotion(m.id, { loop: true });
      setActive(motionBar, b);
      updatePlayButton();
    });
    motionBar.append(b);
  }
  for (const c of companions.motions) {
    const b = el("button", { type: "button", text: `${c.name} (motion3)`, title: c.motion.name, "data-kind": "motion3" });
    b.addEventListener("click", () => {
      player.stopMotion();
      player.playMotion3(c.motion, { fadeIn: c.fadeIn, fadeOut: c.fadeOut });
      setActive(motionBar, b);
      updatePlayButton();
    });
    motionBar.append(b);
  }
  if (companions.expressions.length) {
    const none = el("button", { type: "button", text: "No expression" });
    none.addEventListener("click", () => { player.playExpression(null); setActive(expressionBar, none); });
    expressionBar.append(none);
  }
  for (const e of companions.expressions) {
    const b = el("button", { type: "button", text: e.name, "data-kind": "expression" });
    b.addEventListener("click", () => { player.playExpression(e.json); setActive(expressionBar, b); });
    expressionBar.append(b);
  }
}

function applyToggles() {
  if (!player) return;
  player.autoBlink = document.getElementById("auto-blink").checked;
  player.autoBreath = document.getElementById("auto-breath").checked;
  player.physicsEnabled = document.getElementById("physics").checked && player.model.physics.length > 0;
  player.followPointer(canvas, document.getElementById("follow-pointer").checked);
}

for (const id of ["auto-blink", "auto-breath", "physics", "follow-pointer"]) {
  document.getElementById(id).addEventListener("change", applyToggles);
}

let audioUrl = null;
document.getElementById("audio-file").addEventListener("change", (e) => {
  const file = e.target.files[0];
  e.target.value = "";
  if (!file || !player) return;
  if (audioUrl) URL.revokeObjectURL(audioUrl);
  audioUrl = URL.createObjectURL(file);
  audio.src = audioUrl;
  audio.hidden = false;
  try {
    if (!audio.dataset.attached) { player.attachAudio(audio); audio.dataset.attached = "true"; }
    audio.play().catch(() => {});
  } catch (err) {
    showStatus(`Lip sync is not available: ${err.message}`, true);
  }
});

document.getElementById("microphone").addEventListener("click", async () => {
  if (!player) return;
  try {
    await player.attachMicrophone();
    delete audio.dataset.attached;
    showStatus("Lip sync follows the microphone.");
  } catch (err) {
    showStatus(`Could not use the microphone: ${err.message}`, true);
  }
});

playButton.addEventListener("click", () => {
  if (!player) return;
  if (player.playing) player.pause();
  else if (player.motion) player.resume();
  updatePlayButton();
});

resetButton.addEventListener("click", () => {
  if (!player) return;
  player.resetParameters();
  refreshSliders();
});

// Drag and drop of a folder or loose files.
async function collectEntries(entry, files) {
  if (entry.isFile) {
    files.set(entry.name, await new Promise((res, rej) => entry.file(res, rej)));
  } else if (entry.isDirectory) {
    const reader = entry.createReader();
    for (;;) {
      const batch = await new Promise((res, rej) => reader.readEntries(res, rej));
      if (!batch.length) break;
      for (const e of batch) await collectEntries(e, files);
    }
  }
}

let dragDepth = 0;
window.addEventListener("dragenter", (e) => { e.preventDefault(); dragDepth++; document.body.classList.add("dragging"); });
window.addEventListener("dragleave", () => { if (--dragDepth <= 0) { dragDepth = 0; document.body.classList.remove("dragging"); } });
window.addEventListener("dragover", (e) => e.preventDefault());
window.addEventListener("drop", async (e) => {
  e.preventDefault();
  dragDepth = 0;
  document.body.classList.remove("dragging");
  const files = new Map();
  const items = Array.from(e.dataTransfer.items || []);
  const entries = items.map((it) => (it.webkitGetAsEntry ? it.webkitGetAsEntry() : null)).filter(Boolean);
  if (entries.length) {
    try {
      for (const entry of entries) await collectEntries(entry, files);
    } catch (err) {
      showStatus(`Could not read the dropped files: ${err.message}`, true);
      return;
    }
  } else {
    for (const f of e.dataTransfer.files) files.set(f.name, f);
  }
  open(files, "dropped files");
});

for (const id of ["open-files", "open-folder"]) {
  document.getElementById(id).addEventListener("change", (e) => {
    const files = new Map(Array.from(e.target.files, (f) => [f.name, f]));
    if (files.size) open(files, "chosen files");
    e.target.value = "";
  });
}

// Show the canvas as large as the stage allows, keeping its pixel aspect.
function fitCanvas() {
  const area = canvas.parentElement.getBoundingClientRect();
  const scale = Math.min((area.width * 0.95) / canvas.width, (area.height * 0.95) / canvas.height);
  canvas.style.width = `${Math.floor(canvas.width * scale)}px`;
  canvas.style.height = `${Math.floor(canvas.height * scale)}px`;
}
window.addEventListener("resize", fitCanvas);

if (location.protocol === "file:") {
  showStatus("Browsers do not load ./model.json from a file:// page. Serve this folder " +
             "(e.g. `python -m http.server` inside it) or drop the export folder here.", true);
} else {
  open(new URL("./", location.href).href, "./model.json");
}
rafId = requestAnimationFrame(frame);
