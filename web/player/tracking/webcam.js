// SPDX-License-Identifier: GPL-3.0-or-later OR MIT
// Face tracking from a webcam in the page, on the vendored face-api nets
// (face-nets.js; nothing is downloaded at run time).  A tiny face detector
// finds the face in a small downscaled frame (again every constants.json
// tracking.redetect_s, or when it is lost); between detections the 68-point
// landmark net follows it in a 112 x 112 crop around the last landmarks, and
// the pupils are found as the darkest blob inside each eye.
//
// Cost: the nets run in a Worker by default (the page's main thread hands the
// video frame over and maps the landmarks), at constants.json tracking.rate_hz
// (15 Hz: every other frame of 30 fps video); FaceTrackingInput glides the
// parameters between results, so the character still moves every frame.
// Without Worker, OffscreenCanvas or VideoFrame (or with {worker: false}) the
// nets run in the page.  bench/bench_player.py measures both.
//
//   const tracker = await WebcamFaceTracker.create();   // asks for the camera
//   player.addInput(tracker);                           // drives the parameters
//   tracker.calibrate();                                // "this is my neutral face"
import { TRACKING } from "../constants.js";
import { FaceTrackingInput } from "./face-input.js";
import { InPageFaceNets, WorkerFaceNets, loadFaceApi as loadNets } from "./face-nets.js";

const VENDOR = new URL("../../vendor/", import.meta.url);

/** Load face-api, its two models and the wasm backend once per page (in the page). */
export function loadFaceApi(vendor = VENDOR) {
  return loadNets(vendor);
}

/** Open the per-frame work in a Worker when the browser can, else in the page. */
async function openNets(vendor, worker) {
  if (worker) {
    try {
      return await WorkerFaceNets.create(vendor);
    } catch (err) {
      if (worker === "required") throw err;
      console.warn(`face tracking runs in the page: ${err.message}`);
    }
  }
  return InPageFaceNets.create(vendor);
}

export class WebcamFaceTracker extends FaceTrackingInput {
  /**
   * Open the camera (or use `video`, an element already playing) and start
   * tracking.  Options: mirror (default true), rateHz (default constants.json
   * tracking.rate_hz), detectorInput, minScore, vendor (URL of web/vendor/),
   * worker (default true: the nets run in a Worker; false: in the page;
   * "required": fail rather than fall back), plus FaceTrackingInput's.
   */
  static async create(options = {}) {
    const tracker = new WebcamFaceTracker(options);
    await tracker.start();
    return tracker;
  }

  constructor({ video = null, rateHz = TRACKING.rate_hz, detectorInput = TRACKING.detector_input,
                minScore = TRACKING.min_face_score, vendor = VENDOR, worker = true, ...rest } = {}) {
    super(rest);
    this.name = "webcam";
    this.video = video;
    this.rateHz = rateHz;
    this.detectorInput = detectorInput;
    this.minScore = minScore;
    this.vendor = vendor;
    this.useWorker = worker;
    this.box = null; // [x, y, w, h] of the face in video pixels
    this.landmarks = null; // last 68 points in video pixels
    this.lastDetect = -Infinity;
    this.running = false;
    // ms: lastMs / trackMs the wall time of the last / all steps; detectMs and
    // landmarkMs the per-frame work's own time (in the worker or the page);
    // mainMs the main thread's share of the last step (handing the frame over,
    // mapping the landmarks to parameters).
    this.stats = { frames: 0, detections: 0, trackMs: 0, lastMs: 0, detectMs: 0, landmarkMs: 0, mainMs: 0, faces: 0, where: null };
    this.nets = null;
  }

  /** Start the nets and the camera; `loop: false` leaves the stepping to the caller (tests, benchmarks). */
  async start({ loop = true } = {}) {
    this.nets = await openNets(this.vendor, this.useWorker);
    this.stats.where = this.nets.where;
    if (!this.video) {
      if (typeof navigator === "undefined" || !navigator.mediaDevices) throw new Error("this browser cannot read a camera");
      const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480, facingMode: "user" }, audio: false });
      const video = document.createElement("video");
      video.muted = true; video.playsInline = true; video.srcObject = stream;
      await video.play();
      this.video = video;
      this.ownStream = stream;
    }
    if (this.video.readyState < 2) await new Promise((res) => this.video.addEventListener("loadeddata", res, { once: true }));
    this.running = loop;
    if (loop) this._loop();
  }

  stop() {
    this.running = false;
    if (this._timer) clearTimeout(this._timer);
    if (this.ownStream) this.ownStream.getTracks().forEach((t) => t.stop());
  }

  destroy() {
    this.stop();
    if (this.nets) this.nets.destroy();
  }

  async _loop() {
    while (this.running) {
      const t0 = performance.now();
      try {
        await this.step();
      } catch (err) {
        this.error = err;
      }
      const spent = performance.now() - t0;
      const wait = Math.max(0, 1000 / this.rateHz - spent);
      await new Promise((res) => { this._timer = setTimeout(res, wait); });
    }
  }

  /** One tracking step on the current video frame (detect if needed, landmarks, pupils). */
  async step() {
    const video = this.video;
    if (!video || video.readyState < 2 || !video.videoWidth || !this.nets) return;
    const t0 = performance.now();
    const detect = !this.box || t0 / 1000 - this.lastDetect > TRACKING.redetect_s;
    const pending = this.nets.track(video, { box: this.box, detect, detectorInput: this.detectorInput, minScore: this.minScore });
    let main = performance.now() - t0; // handing the frame over (all of the step in the page)
    const r = await pending;
    const t1 = performance.now();
    if (detect) {
      this.stats.detectMs = r.detectMs;
      this.stats.detections++;
      this.lastDetect = t0 / 1000;
    }
    this.stats.landmarkMs = r.landmarkMs;
    if (!r.points) {
      this.box = null; this.landmarks = null;
    } else {
      const points = r.points;
      this.landmarks = points;
      // Follow the face: the next crop is around these landmarks.
      let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
      for (const [x, y] of points) { x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y); }
      if (x1 - x0 > 8 && y1 - y0 > 8) {
        this.box = [x0, y0 - (y1 - y0) * 0.15, x1 - x0, (y1 - y0) * 1.15];
        this.pushLandmarks(points, { pupils: r.pupils });
        this.stats.faces++;
      } else {
        this.box = null;
      }
    }
    main += performance.now() - t1;
    if (this.nets.where === "page") main = performance.now() - t0;
    const ms = performance.now() - t0;
    this.stats.frames++;
    this.stats.trackMs += ms;
    this.stats.lastMs = ms;
    this.stats.mainMs = main;
  }
}
