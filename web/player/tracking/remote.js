// SPDX-License-Identifier: GPL-3.0-or-later OR MIT
// Another tracker the same way: parameters (or landmarks) sent as JSON over a
// WebSocket by a phone app or a desktop tracker bridge.  Each message is either
// {"parameters": {"ParamAngleX": 12.5, ...}} or {"landmarks": [[x, y] x 68],
// "pupils": [[x, y], [x, y]]} (then mapped like the webcam's).
import { FaceTrackingInput } from "./face-input.js";

export class WebSocketTrackerInput extends FaceTrackingInput {
  constructor(url, options = {}) {
    super(options);
    this.name = "websocket";
    this.direct = null;
    this.socket = new WebSocket(url);
    this.socket.addEventListener("message", (e) => this.receive(e.data));
  }

  /** One message (text); bad ones are ignored. */
  receive(text) {
    let msg;
    try { msg = typeof text === "string" && text.length < 65536 ? JSON.parse(text) : null; } catch (err) { return; }
    if (!msg || typeof msg !== "object") return;
    if (msg.parameters && typeof msg.parameters === "object") {
      const direct = Object.fromEntries(Object.entries(msg.parameters).filter(([, v]) => typeof v === "number" && Number.isFinite(v)).slice(0, 256));
      if (!Object.keys(direct).length) return; // nothing usable: not a sign of a tracked face
      this.direct = direct;
      this.setTarget(direct);
    } else if (Array.isArray(msg.landmarks) && msg.landmarks.length >= 68) {
      try { this.pushLandmarks(msg.landmarks, { pupils: Array.isArray(msg.pupils) ? msg.pupils : null }); } catch (err) { /* not a face */ }
    }
  }

  destroy() { this.socket.close(); }
}
