// SPDX-License-Identifier: GPL-3.0-or-later OR MIT
// Face tracking from a webcam in the page: the vendored face-api package
// (web/vendor/face-api, MIT, with its model weights) on TensorFlow.js's
// WebAssembly backend (web/vendor/tfjs-backend-wasm, Apache-2.0).  Nothing is
// downloaded at run time.  A tiny face detector finds the face (again every
// constants.json tracking.redetect_s, or when it is lost); between detections
// the 68-point landmark net follows it in a crop around the last landmarks, and
// the pupils are found as the darkest blob inside each eye.
//
//   const tracker = await WebcamFaceTracker.create();   // asks for the camera
//   player.addInput(tracker);                           // drives the parameters
//   tracker.calibrate();                                // "this is my neutral face"
import { TRACKING } from "../constants.js";
import { FaceTrackingInput } from "./face-input.js";

const VENDOR = new URL("../../vendor/", import.meta.url);
let faceapiPromise = null;

/** Load face-api, its two models and the wasm backend once per page. */
export function loadFaceApi(vendor = VENDOR) {
  if (!faceapiPromise) {
    faceapiPromise = (async () => {
      const faceapi = await import(new URL("face-api/face-api.esm.js", vendor).href);
      const tf = faceapi.tf;
      tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false); // the threaded binary is not shipped
      tf.setWasmPaths(new URL("tfjs-backend-wasm/", vendor).href);
      if (!(await tf.setBackend("wasm"))) throw new Error("the WebAssembly backend of the face tracker did not start");
      await tf.ready();
      const models = new URL("face-api/model/", vendor).href;
      await faceapi.nets.tinyFaceDetector.loadFromUri(models);
      await faceapi.nets.faceLandmark68TinyNet.loadFromUri(models);
      return faceapi;
    })();
    faceapiPromise.catch(() => { faceapiPromise = null; });
  }
  return faceapiPromise;
}

const LANDMARK_INPUT = 112;

export class WebcamFaceTracker extends FaceTrackingInput {
  /**
   * Open the camera (or use `video`, an element already playing) and start
   * tracking.  Options: mirror (default true), rateHz (default constants.json
   * tracking.rate_hz), detectorInput, minScore, vendor (URL of web/vendor/).
   */
  static async create(options = {}) {
    const tracker = new WebcamFaceTracker(options);
    await tracker.start();
    return tracker;
  }

  constructor({ video = null, rateHz = TRACKING.rate_hz, detectorInput = TRACKING.detector_input,
                minScore = TRACKING.min_face_score, vendor = VENDOR, ...rest } = {}) {
    super(rest);
    this.name = "webcam";
    this.video = video;
    this.rateHz = rateHz;
    this.detectorInput = detectorInput;
    this.minScore = minScore;
    this.vendor = vendor;
    this.box = null; // [x, y, w, h] of the face in video pixels
    this.landmarks = null; // last 68 points in video pixels
    this.lastDetect = -Infinity;
    this.running = false;
    this.stats = { frames: 0, detections: 0, trackMs: 0, lastMs: 0, detectMs: 0, landmarkMs: 0, faces: 0 };
    this.crop = null;
  }

  async start() {
    this.faceapi = await loadFaceApi(this.vendor);
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
    this.crop = document.createElement("canvas");
    this.crop.width = this.crop.height = LANDMARK_INPUT;
    this.cropCtx = this.crop.getContext("2d", { willReadFrequently: true });
    this.eyeCanvas = document.createElement("canvas");
    this.eyeCanvas.width = 32; this.eyeCanvas.height = 16;
    this.eyeCtx = this.eyeCanvas.getContext("2d", { willReadFrequently: true });
    this.running = true;
    this._loop();
  }

  stop() {
    this.running = false;
    if (this._timer) clearTimeout(this._timer);
    if (this.ownStream) this.ownStream.getTracks().forEach((t) => t.stop());
  }

  destroy() { this.stop(); }

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
    const faceapi = this.faceapi, video = this.video;
    if (!video || video.readyState < 2 || !video.videoWidth) return;
    const t0 = performance.now();
    const now = t0 / 1000;
    if (!this.box || now - this.lastDetect > TRACKING.redetect_s) {
      const d0 = performance.now();
      const det = await faceapi.detectSingleFace(video, new faceapi.TinyFaceDetectorOptions({ inputSize: this.detectorInput, scoreThreshold: this.minScore }));
      this.stats.detectMs = performance.now() - d0;
      this.stats.detections++;
      this.lastDetect = now;
      if (!det) { this.box = null; this.landmarks = null; this._account(t0); return; }
      const b = det.box;
      this.box = [b.x, b.y, b.width, b.height];
    }
    // A square crop around the face, a little larger than the box.
    const [bx, by, bw, bh] = this.box;
    const side = Math.max(bw, bh) * 1.2, cx = bx + bw / 2, cy = by + bh / 2 + bh * 0.05;
    const sx = cx - side / 2, sy = cy - side / 2;
    this.cropCtx.clearRect(0, 0, LANDMARK_INPUT, LANDMARK_INPUT);
    this.cropCtx.drawImage(video, sx, sy, side, side, 0, 0, LANDMARK_INPUT, LANDMARK_INPUT);
    const l0 = performance.now();
    const lm = await faceapi.nets.faceLandmark68TinyNet.detectLandmarks(this.crop);
    this.stats.landmarkMs = performance.now() - l0;
    const k = side / LANDMARK_INPUT;
    const points = lm.positions.map((p) => [sx + p.x * k, sy + p.y * k]);
    this.landmarks = points;
    // Follow the face: the next crop is around these landmarks.
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (const [x, y] of points) { x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y); }
    if (!(x1 - x0 > 8 && y1 - y0 > 8)) { this.box = null; this._account(t0); return; }
    this.box = [x0, y0 - (y1 - y0) * 0.15, x1 - x0, (y1 - y0) * 1.15];
    const pupils = [this._pupil(points, [36, 37, 38, 39, 40, 41]), this._pupil(points, [42, 43, 44, 45, 46, 47])];
    this.pushLandmarks(points, { pupils: pupils.every(Boolean) ? pupils : null });
    this.stats.faces++;
    this._account(t0);
  }

  _account(t0) {
    const ms = performance.now() - t0;
    this.stats.frames++;
    this.stats.trackMs += ms;
    this.stats.lastMs = ms;
  }

  /** The darkest blob inside one eye (video pixels), or null when the eye is too small. */
  _pupil(points, ids) {
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (const i of ids) { const [x, y] = points[i]; x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y); }
    const w = x1 - x0, h = Math.max(y1 - y0, w * 0.3);
    if (w < 6) return null;
    const cy = (y0 + y1) / 2;
    const ctx = this.eyeCtx, W = this.eyeCanvas.width, H = this.eyeCanvas.height;
    ctx.drawImage(this.video, x0, cy - h / 2, w, h, 0, 0, W, H);
    const px = ctx.getImageData(0, 0, W, H).data;
    const lum = new Float32Array(W * H);
    let lo = 255, hi = 0;
    for (let i = 0; i < W * H; i++) {
      const v = 0.299 * px[4 * i] + 0.587 * px[4 * i + 1] + 0.114 * px[4 * i + 2];
      lum[i] = v; lo = Math.min(lo, v); hi = Math.max(hi, v);
    }
    if (hi - lo < 20) return null; // a closed eye: no contrast
    const cut = lo + (hi - lo) * 0.25;
    let sx = 0, sy = 0, sw = 0;
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
      const d = cut - lum[y * W + x];
      if (d > 0) { sx += d * (x + 0.5); sy += d * (y + 0.5); sw += d; }
    }
    if (!sw) return null;
    return [x0 + (sx / sw / W) * w, cy - h / 2 + (sy / sw / H) * h];
  }
}
