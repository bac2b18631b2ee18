// SPDX-License-Identifier: GPL-3.0-or-later OR MIT
// The OBS page (live.html): transparent, no UI; URL options switch on the
// microphone lip sync (?mic), webcam face tracking (?track, ?nomirror),
// the placement (?scale=, ?anchor=bottom|center|top) and pointer follow
// (?pointer); keyboard hotkeys play motions and expressions (hotkeys.js).
import { openPlayer } from "./player.js";
import { bindHotkeys } from "./hotkeys.js";

const canvas = document.getElementById("stage");
const opts = new URLSearchParams(location.search);
const anchors = { top: [0.5, 0], center: [0.5, 0.5], bottom: [0.5, 1] };

function fitCanvas() {
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.max(1, Math.round(window.innerWidth * dpr));
  canvas.height = Math.max(1, Math.round(window.innerHeight * dpr));
}
fitCanvas();
window.addEventListener("resize", fitCanvas);

const placement = { fit: "contain", scale: Number(opts.get("scale") || 1) || 1, anchor: anchors[opts.get("anchor")] || anchors.center };
const player = openPlayer(canvas, new URL(opts.get("model") ? opts.get("model") : "./", location.href).href, { placement });
window.imageToRig = { player };
player.on("error", (err) => { console.error(`Image to Rig: ${err.message}`); document.body.dataset.ready = "error"; document.body.dataset.error = err.message; });
player.on("load", async () => {
  bindHotkeys(player, window);
  if (opts.has("pointer")) player.followPointer(document.body);
  if (opts.has("mic")) player.attachMicrophone().catch((err) => console.error(`microphone: ${err.message}`));
  if (opts.has("track")) {
    try {
      const { WebcamFaceTracker } = await import("./player/tracking/webcam.js");
      const tracker = await WebcamFaceTracker.create({ mirror: !opts.has("nomirror") });
      player.addInput(tracker);
      window.imageToRig.tracker = tracker;
    } catch (err) {
      console.error(`face tracking: ${err.message}`);
    }
  }
  document.body.dataset.ready = "true";
});
