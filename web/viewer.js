// SPDX-License-Identifier: GPL-3.0-or-later
// The export folder's viewer: loads ./model.json (or dropped files), draws the
// model, parameter sliders by group, Play/Pause of the Idle motion, frame time.
// Every name from the model goes into the page as text, never as HTML.
import { createPlayer, loadModel } from "./player.js";

const canvas = document.getElementById("stage");
const statusLine = document.getElementById("status");
const panel = document.getElementById("parameters");
const playButton = document.getElementById("play");
const resetButton = document.getElementById("reset");
const frameTime = document.getElementById("frame-time");
const title = document.getElementById("title");

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
  if (player.playing) refreshSliders();
}

async function open(source, label) {
  showStatus(`Loading ${label} …`);
  try {
    const model = await loadModel(source);
    if (player) player.destroy();
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
               `${model.canvas.width}×${model.canvas.height} px. Drop another export folder to replace it.`);
    window.imageToRig = { player, model };
    document.body.dataset.ready = "true";
  } catch (err) {
    showStatus(`Could not load the model: ${err.message}`, true);
    document.body.dataset.ready = "error";
  }
}

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
