// SPDX-License-Identifier: GPL-3.0-or-later OR MIT
// The webcam tracker's per-frame work, from one video frame to 68 landmarks
// and two pupils, on the vendored face-api nets (web/vendor/face-api, MIT,
// weights included) and TensorFlow.js's WebAssembly backend
// (web/vendor/tfjs-backend-wasm, Apache-2.0, SIMD): a tiny face detector on a
// small downscaled frame, then the 68-point landmark net on a 112 x 112 crop
// around the face (landmark-net.js: our forward pass on face-api's weights),
// then the pupils as the darkest blob in each eye.  It runs
// in a Worker (face-worker.js, the default: the page hands over the video
// frame without a copy and only maps the result) or in the page
// (InPageFaceNets, where Workers or VideoFrame are missing).  Nothing is
// downloaded at run time.

import { LANDMARK_INPUT, LandmarkNet } from "./landmark-net.js";

export { LANDMARK_INPUT };

const inWorker = typeof document === "undefined";
const loaded = new Map(); // vendor URL -> promise of face-api with both models

/** face-api's environment inside a Worker: OffscreenCanvas instead of the DOM. */
function workerEnvironment() {
  class NotInAWorker {} // nothing is ever an instance: images and videos do not exist here
  return {
    Canvas: OffscreenCanvas, CanvasRenderingContext2D: OffscreenCanvasRenderingContext2D,
    Image: NotInAWorker, ImageData, Video: NotInAWorker,
    createCanvasElement: () => new OffscreenCanvas(1, 1),
    createImageElement: () => { throw new Error("face tracking: no images in a worker"); },
    createVideoElement: () => { throw new Error("face tracking: no videos in a worker"); },
    fetch: (...args) => fetch(...args),
    readFile: () => { throw new Error("face tracking: no file system in a worker"); },
  };
}

/** Load face-api, the wasm backend and both models once per page or worker. */
export function loadFaceApi(vendor) {
  const key = String(vendor);
  if (!loaded.has(key)) {
    const promise = (async () => {
      const faceapi = await import(new URL("face-api/face-api.esm.js", vendor).href);
      if (inWorker) faceapi.env.setEnv(workerEnvironment());
      const tf = faceapi.tf;
      tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false); // the threaded binary is not shipped
      tf.enableProdMode(); // no debug checks around every op (about 1 ms of the net's 10)
      tf.setWasmPaths(new URL("tfjs-backend-wasm/", vendor).href);
      if (!(await tf.setBackend("wasm"))) throw new Error("the WebAssembly backend of the face tracker did not start");
      await tf.ready();
      const models = new URL("face-api/model/", vendor).href;
      await faceapi.nets.tinyFaceDetector.loadFromUri(models);
      await faceapi.nets.faceLandmark68TinyNet.loadFromUri(models);
      return faceapi;
    })();
    promise.catch(() => loaded.delete(key));
    loaded.set(key, promise);
  }
  return loaded.get(key);
}

const EYE = [32, 16]; // each eye resampled to this for the pupil search

const CONFIRM_OVERLAP = 0.3; // intersection over union of a detection and the followed face box

/** Intersection over union of two [x, y, w, h] boxes. */
export function overlap(a, b) {
  const w = Math.min(a[0] + a[2], b[0] + b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[1] + a[3], b[1] + b[3]) - Math.max(a[1], b[1]);
  if (w <= 0 || h <= 0) return 0;
  const i = w * h;
  return i / (a[2] * a[3] + b[2] * b[3] - i);
}

function canvas2d(width, height) {
  const c = inWorker ? new OffscreenCanvas(width, height) : Object.assign(document.createElement("canvas"), { width, height });
  return [c, c.getContext("2d", { willReadFrequently: true })];
}

/**
 * The per-frame work on one frame (a video element, a VideoFrame or an
 * ImageBitmap) of `width` x `height` pixels, in whichever thread it runs.
 */
export class FaceFrameTracker {
  constructor(faceapi) {
    this.faceapi = faceapi;
    this.landmarkNet = new LandmarkNet(faceapi);
    [this.crop, this.cropCtx] = canvas2d(LANDMARK_INPUT, LANDMARK_INPUT);
    [this.eye, this.eyeCtx] = canvas2d(EYE[0], EYE[1]);
    this.det = null;
    this.full = null;
  }

  /** The detector's input: the canvas in the page, a tensor of its pixels in a worker. */
  async _run(canvas, fn) {
    const tf = this.faceapi.tf;
    const input = inWorker ? tf.browser.fromPixels(canvas) : canvas;
    try {
      return await fn(input);
    } finally {
      if (input !== canvas) input.dispose();
    }
  }

  /**
   * Options: box ([x, y, w, h] in frame pixels, the face to follow) and
   * detect (true: look for the face first; a face found where the box is
   * confirms the box, one found elsewhere replaces it, none loses the face),
   * detectorInput, minScore.
   * Returns {box: the detected box when detect ran (else undefined), points
   * (68 [x, y] in frame pixels) or null, pupils ([[x, y], [x, y]] or null),
   * detectMs, landmarkMs}.
   */
  async track(frame, width, height, { box = null, detect = false, detectorInput = 160, minScore = 0.4 } = {}) {
    const faceapi = this.faceapi, out = { points: null, pupils: null, detectMs: 0, landmarkMs: 0 };
    // The frame in RGB once (a video frame's conversion costs about as much
    // for a crop as for all of it); the crops below come from this copy, the
    // same pixels as drawing the video itself.
    if (!this.full || this.full[0].width !== width || this.full[0].height !== height) this.full = canvas2d(width, height);
    this.full[1].drawImage(frame, 0, 0, width, height);
    frame = this.full[0];
    if (detect || !box) {
      const t0 = performance.now();
      const s = Math.min(1, detectorInput / Math.max(width, height));
      const dw = Math.max(1, Math.round(width * s)), dh = Math.max(1, Math.round(height * s));
      if (!this.det || this.det[0].width !== dw || this.det[0].height !== dh) this.det = canvas2d(dw, dh);
      this.det[1].drawImage(frame, 0, 0, dw, dh);
      const found = await this._run(this.det[0], (input) => faceapi.detectSingleFace(input, new faceapi.TinyFaceDetectorOptions({ inputSize: detectorInput, scoreThreshold: minScore })));
      out.detectMs = performance.now() - t0;
      out.box = found ? [found.box.x / s, found.box.y / s, found.box.width / s, found.box.height / s] : null;
      if (!out.box) return out;
      // A face where the landmarks already follow one confirms it: keep the
      // followed box (the detector's own box crops differently and would
      // jolt the landmarks); elsewhere the face has moved: start from it.
      if (!box || overlap(box, out.box) < CONFIRM_OVERLAP) box = out.box;
    }
    // A square crop around the face, a little larger than the box.
    const t1 = performance.now();
    const [bx, by, bw, bh] = box;
    const side = Math.max(bw, bh) * 1.2, cx = bx + bw / 2, cy = by + bh / 2 + bh * 0.05;
    const sx = cx - side / 2, sy = cy - side / 2;
    this.cropCtx.clearRect(0, 0, LANDMARK_INPUT, LANDMARK_INPUT);
    this.cropCtx.drawImage(frame, sx, sy, side, side, 0, 0, LANDMARK_INPUT, LANDMARK_INPUT);
    const crop = await this.landmarkNet.detect(this.cropCtx);
    const k = side / LANDMARK_INPUT;
    out.points = crop.map(([x, y]) => [sx + x * k, sy + y * k]);
    const pupils = [this._pupil(out.points, [36, 37, 38, 39, 40, 41], frame), this._pupil(out.points, [42, 43, 44, 45, 46, 47], frame)];
    out.pupils = pupils.every(Boolean) ? pupils : null;
    out.landmarkMs = performance.now() - t1;
    return out;
  }

  /** The darkest blob inside one eye of `frame` (frame pixels), or null when the eye is too small or closed. */
  _pupil(points, ids, frame) {
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (const i of ids) { const [x, y] = points[i]; x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y); }
    const w = x1 - x0, h = Math.max(y1 - y0, w * 0.3);
    if (w < 6) return null;
    const cy = (y0 + y1) / 2;
    const ctx = this.eyeCtx, [W, H] = EYE;
    ctx.clearRect(0, 0, W, H);
    ctx.drawImage(frame, x0, cy - h / 2, w, h, 0, 0, W, H);
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

/** The per-frame work in the page: the main thread waits while the nets run. */
export class InPageFaceNets {
  static async create(vendor) {
    const nets = new InPageFaceNets();
    nets.faceapi = await loadFaceApi(vendor);
    nets.frames = new FaceFrameTracker(nets.faceapi);
    return nets;
  }

  constructor() { this.where = "page"; }

  /** One frame of `video` (an element that is playing). */
  track(video, options) {
    return this.frames.track(video, video.videoWidth, video.videoHeight, options);
  }

  destroy() {}
}

/** The per-frame work in a Worker (face-worker.js): the page hands over the frame and waits. */
export class WorkerFaceNets {
  /** Needs Worker, OffscreenCanvas and VideoFrame (WebCodecs); throws where one is missing. */
  static async create(vendor) {
    if (typeof Worker === "undefined" || typeof OffscreenCanvas === "undefined" || typeof VideoFrame === "undefined") {
      throw new Error("this browser lacks Worker, OffscreenCanvas or VideoFrame");
    }
    const nets = new WorkerFaceNets(new Worker(new URL("./face-worker.js", import.meta.url), { type: "module" }));
    try {
      await nets._call({ type: "init", vendor: String(vendor) });
    } catch (err) {
      nets.destroy();
      throw err;
    }
    return nets;
  }

  constructor(worker) {
    this.where = "worker";
    this.worker = worker;
    this.pending = new Map();
    this.nextId = 1;
    worker.addEventListener("message", (e) => {
      const { id, error, ...result } = e.data || {};
      const p = this.pending.get(id);
      if (!p) return;
      this.pending.delete(id);
      if (error) p.reject(new Error(error)); else p.resolve(result);
    });
    worker.addEventListener("error", (e) => {
      e.preventDefault();
      const err = new Error(`the face tracker's worker failed: ${e.message || "it could not start"}`);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    });
  }

  _call(msg, transfer = []) {
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...msg, id }, transfer);
    });
  }

  /** One frame of `video`: a VideoFrame of it moves to the worker (no copy of the pixels). */
  track(video, options) {
    const frame = new VideoFrame(video);
    return this._call({ type: "track", frame, width: video.videoWidth, height: video.videoHeight, options }, [frame]);
  }

  destroy() {
    this.worker.terminate();
    const err = new Error("the face tracker was stopped");
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}
