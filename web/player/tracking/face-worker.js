// SPDX-License-Identifier: GPL-3.0-or-later OR MIT
// The face tracker's Worker (started by WorkerFaceNets in face-nets.js): the
// whole per-frame work (detector, crops, landmark net, pupils) on video frames
// the page hands over as VideoFrames, so the page's main thread stays free
// for drawing.
import { FaceFrameTracker, loadFaceApi } from "./face-nets.js";

let frames = null;

self.addEventListener("message", async (e) => {
  const msg = e.data || {};
  const t0 = performance.now();
  try {
    if (msg.type === "init") {
      frames = new FaceFrameTracker(await loadFaceApi(new URL(msg.vendor)));
      self.postMessage({ id: msg.id, ms: performance.now() - t0 });
    } else if (msg.type === "track") {
      const result = await frames.track(msg.frame, msg.width, msg.height, msg.options);
      self.postMessage({ id: msg.id, ...result, ms: performance.now() - t0 });
    } else {
      self.postMessage({ id: msg.id, error: `unknown request ${msg.type}` });
    }
  } catch (err) {
    self.postMessage({ id: msg.id, error: String((err && err.message) || err) });
  } finally {
    if (msg.frame && msg.frame.close) msg.frame.close();
  }
});
