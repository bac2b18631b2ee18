// SPDX-License-Identifier: GPL-3.0-or-later OR MIT
// The export folder's viewer: loads ./model.json (or dropped files), draws the
// model, parameter sliders by group, Play/Pause of the Idle motion, frame time,
// buttons for the motions (model.json and motions/*.motion3.json as listed by
// <stem>.model3.json) and expressions (expressions/*.exp3.json), toggles for
// automatic blink, breath, pointer follow and physics, and lip sync from an
// audio file or the microphone.  A dropped or chosen .zip of an export folder
// is unpacked in the page (readExportZip) and loads like the folder.
// Every name from the model goes into the page as text, never as HTML.
import { createPlayer, exportPath, loadCompanions, loadModel, readExportZip, ZipError } from "./player.js";
import { bindHotkeys, hotkeyList, motionNames } from "./hotkeys.js";

export { exportPath };

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
  showTracking(now);
}

const trackingStatus = document.getElementById("tracking-status");
let trackingShown = 0;

/** A line about the face tracker, twice a second: found or not, where its nets run, their cost. */
function showTracking(now) {
  if (!tracker) { trackingStatus.hidden = true; return; }
  if (now - trackingShown < 500) return;
  trackingShown = now;
  const s = tracker.stats;
  const state = tracker.tracking ? "face found" : "looking for a face";
  trackingStatus.hidden = false;
  trackingStatus.textContent = `Tracking: ${state}; nets in the ${s.where === "worker" ? "worker" : "page"} at ` +
    `${tracker.rateHz} Hz, ${s.landmarkMs.toFixed(1)} ms per step (main thread ${s.mainMs.toFixed(2)} ms).`;
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
    const companions = await loadCompanions(source, model).catch(() => ({ motions: [], expressions: [], hitAreas: [] }));
    player = createPlayer(canvas, null);
    player.on("error", (err) => showStatus(`Drawing failed: ${err.message}`, true));
    player.setModel(model, companions);
    player.on("contextlost", () => showStatus("The graphics context was lost; reload the page.", true));
    fitCanvas();
    buildSliders(player);
    const idle = model.motion("Idle") || model.motions[0];
    if (idle) player.startMotion(idle.id, { priority: "idle", loop: true });
    playButton.disabled = !idle;
    resetButton.disabled = false;
    updatePlayButton();
    title.textContent = model.source ? `Image to Rig: ${model.source}` : "Image to Rig viewer";
    showStatus(`${model.meshes.length} meshes, ${model.parameters.length} parameters, ` +
               `${model.canvas.width}×${model.canvas.height} px from ${label}. ` +
               "Drop another export folder or .zip to replace it.");
    applyToggles();
    buildAnimationButtons(model, companions);
    if (unbindHotkeys) unbindHotkeys();
    unbindHotkeys = bindHotkeys(player, window);
    buildHotkeyList();
    tracker = null;
    trackButton.textContent = "Face tracking";
    calibrateButton.disabled = true;
    window.imageToRig = { player, model, companions };
    document.body.dataset.ready = "true";
  } catch (err) {
    showStatus(`Could not load the model: ${err.message}`, true);
    document.body.dataset.ready = "error";
  }
}

function setActive(bar, button) {
  for (const b of bar.querySelectorAll("button")) b.classList.toggle("active", b === button);
}

function buildAnimationButtons(model, companions) {
  motionBar.replaceChildren();
  expressionBar.replaceChildren();
  // Every motion once: a model.json motion and its motion3 twin are one button.
  for (const name of motionNames(player)) {
    const kind = model.motion(name) ? "model" : "motion3";
    const b = el("button", { type: "button", text: name, title: kind === "model" ? "model.json motion" : "motion3.json motion", "data-kind": kind });
    b.addEventListener("click", () => {
      player.clearMotionQueue();
      player.startMotion(name, { priority: "forced", loop: true });
      setActive(motionBar, b);
      updatePlayButton();
    });
    motionBar.append(b);
  }
  if (companions.expressions.length) {
    const none = el("button", { type: "button", text: "No expression" });
    none.addEventListener("click", () => { player.setExpression(null); setActive(expressionBar, none); });
    expressionBar.append(none);
  }
  for (const e of companions.expressions) {
    const b = el("button", { type: "button", text: e.name, "data-kind": "expression" });
    b.addEventListener("click", () => { player.setExpression(e.name); setActive(expressionBar, b); });
    expressionBar.append(b);
  }
}

function buildHotkeyList() {
  const list = document.getElementById("hotkey-list");
  list.replaceChildren();
  for (const h of hotkeyList(player)) {
    list.append(el("li", {}, [el("kbd", { text: h.key }), ` ${h.kind === "action" ? "" : h.kind + ": "}${h.name}`]));
  }
}

let unbindHotkeys = null;
let tracker = null;
const trackButton = document.getElementById("track");
const calibrateButton = document.getElementById("calibrate");
trackButton.addEventListener("click", async () => {
  if (!player) return;
  if (tracker) {
    player.removeInput(tracker);
    tracker.destroy();
    tracker = null;
    delete window.imageToRig.tracker;
    trackButton.textContent = "Face tracking";
    calibrateButton.disabled = true;
    return;
  }
  showStatus("Starting the webcam face tracker …");
  try {
    const { WebcamFaceTracker } = await import("./player/tracking/webcam.js");
    tracker = await WebcamFaceTracker.create();
    player.addInput(tracker);
    window.imageToRig.tracker = tracker;
    trackButton.textContent = "Stop tracking";
    calibrateButton.disabled = false;
    showStatus("Face tracking is on: look ahead with a relaxed face and press Calibrate (or C).");
  } catch (err) {
    tracker = null;
    showStatus(`Could not start face tracking: ${err.message}`, true);
  }
});
calibrateButton.addEventListener("click", () => { if (tracker) tracker.calibrate(); });

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
