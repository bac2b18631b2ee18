# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: the web player's CPU time per frame in headless Chromium.

    .venv/bin/python bench/bench_player.py [--frames 300] [--size 1024]

A frame is what the viewer does per animation frame: update(dt) (motion,
automatic blink/breath, physics) + evaluate + draw submission (vertex upload
and draw calls; the GPU work itself is not waited for).  Reported: median and
95th percentile over the frames, and evaluate alone (every mesh, as if all parameters changed), for

* the sample character (devkit.sample) rigged from its layers at --size, with
  its Idle motion and default hair physics when it has hair parameters;
* a generated stress model: 50 layers, 20,000 vertices, a keyform on every
  mesh, warps and rotation chains, a motion moving 10 parameters every frame.

* tracking: the sample with webcam face tracking on (WebcamFaceTracker on a
  synthetic face video from tests/face_video.py): one tracking step (landmarks,
  pupils; the detector again every constants.json tracking.redetect_s) +
  update + draw per frame, at 30 fps.

Targets (web/constants.json "budgets"): sample < 0.5 ms, stress < 4 ms,
tracking + update + draw < 8 ms per frame.  WebGL runs on SwiftShader
(software) here, so draw submission includes some driver work a GPU would not.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests"))
import conftest  # noqa: E402,F401  registers the package image_to_rig

from image_to_rig.core.model.document import (Canvas, Keyform, Layer, Mesh, Motion, MotionCurve,  # noqa: E402
                                        Parameter, RigDocument, RotationDeformer, WarpDeformer)
from image_to_rig.core.formats.export_folder import export_folder  # noqa: E402
from image_to_rig.core.stages.hair_physics import default_hair_physics  # noqa: E402
from web_support import launch_chromium, serve_folder  # noqa: E402

with open(os.path.join(REPO, "web", "constants.json"), encoding="utf-8") as _fh:
    _BUDGETS = __import__("json").load(_fh)["budgets"]
TARGETS_MS = {"sample": _BUDGETS["sample_frame_ms"], "stress": _BUDGETS["stress_frame_ms"],
              "tracking": _BUDGETS["tracking_frame_ms"]}

TRACKING_LOOP = """async ([base, frames]) => {
  const { loadModel, createPlayer } = await import(base + 'player.js');
  const { WebcamFaceTracker } = await import(base + 'player/tracking/webcam.js');
  const img = new Image(); img.src = base + 'face.png'; await img.decode();
  const src = document.createElement('canvas'); src.width = img.width; src.height = img.height;
  const ctx = src.getContext('2d'); ctx.drawImage(img, 0, 0);
  const video = document.createElement('video'); video.muted = true;
  video.srcObject = src.captureStream(30); await video.play();
  const model = await loadModel(base);
  const canvas = document.createElement('canvas'); document.body.append(canvas);
  const player = createPlayer(canvas, model);
  if (model.motions.length) player.playMotion(model.motions[0].id, { loop: true });
  const tracker = new WebcamFaceTracker({ video });
  await tracker.start(); tracker.running = false;          // steps by hand below, one per frame
  player.addInput(tracker);
  for (let i = 0; i < 5; i++) { ctx.drawImage(img, 0, 0); await tracker.step(); player.update(1 / 30); player.draw(); }
  const frame = [], track = [];
  for (let k = 0; k < frames; k++) {
    ctx.drawImage(img, 0, 0);
    const t0 = performance.now();
    await tracker.step();
    const t1 = performance.now();
    player.update(1 / 30); player.draw();
    const t2 = performance.now();
    frame.push(t2 - t0); track.push(t1 - t0);
  }
  const info = { meshes: model.meshes.length, vertices: model.meshes.reduce((n, m) => n + m.count, 0),
                 keyforms: model.keyforms.length, deformers: model.deformers.length, physics: model.physics.length,
                 faces: tracker.stats.faces };
  player.destroy();
  return { frame, track, info };
}"""

FRAME_LOOP = """async ([base, frames]) => {
  const { loadModel, createPlayer } = await import(base + 'player.js');
  const model = await loadModel(base);
  const canvas = document.createElement('canvas');
  document.body.append(canvas);
  const player = createPlayer(canvas, model);
  if (model.motions.length) player.playMotion(model.motions[0].id, { loop: true });
  // performance.now() is coarse (0.1 ms) in a page that is not cross-origin
  // isolated: time batches of 10 frames and divide.
  const frame = [], evaluate = [], jsOnly = [], BATCH = 10;
  const state = model.newFrameState();
  for (let i = 0; i < 3; i++) { player.update(1 / 60); player.draw(); }   // JIT warm-up
  for (let b = 0; b < Math.ceil(frames / BATCH) + 3; b++) {
    const t0 = performance.now();
    for (let k = 0; k < BATCH; k++) { player.update(1 / 60); player.draw(); }
    const t1 = performance.now();
    for (let k = 0; k < BATCH; k++) { state.last.forEach((a) => a.fill(NaN)); model.evaluateFrame(player.values, state); }
    const t2 = performance.now();
    for (let k = 0; k < BATCH; k++) { player.update(1 / 60); model.evaluateFrame(player.values, state); }
    const t3 = performance.now();
    if (b >= 3) { frame.push((t1 - t0) / BATCH); evaluate.push((t2 - t1) / BATCH); jsOnly.push((t3 - t2) / BATCH); }
  }
  const gl = player.gl; gl.finish();
  const info = { meshes: model.meshes.length, vertices: model.meshes.reduce((n, m) => n + m.count, 0),
                 keyforms: model.keyforms.length, deformers: model.deformers.length, physics: model.physics.length };
  player.destroy();
  return { frame, evaluate, jsOnly, info };
}"""


def stress_document(layers: int = 50, vertices: int = 20000, seed: int = 0) -> RigDocument:
    """50 layers of 20x20-vertex grids under 4 warps and 2 rotation chains, a keyform each."""
    rng = np.random.default_rng(seed)
    canvas = Canvas(1024, 1024)
    params = [Parameter(pid, lo, 0, hi) for pid, lo, hi in (
        ("ParamAngleX", -30, 30), ("ParamAngleY", -30, 30), ("ParamAngleZ", -30, 30),
        ("ParamBodyAngleX", -10, 10), ("ParamBodyAngleZ", -10, 10), ("ParamBreath", 0, 1),
        ("ParamEyeBallX", -1, 1), ("ParamEyeBallY", -1, 1), ("ParamMouthForm", -1, 1),
        ("ParamMouthOpenY", 0, 1), ("ParamHairFront", -1, 1), ("ParamHairBack", -1, 1))]
    deformers = [RotationDeformer("body-rot", (512, 900)),
                 RotationDeformer("neck-rot", (512, 600), parent="body-rot"),
                 RotationDeformer("head-rot", (512, 500), parent="neck-rot"),
                 WarpDeformer("body-warp", (200, 500, 824, 1024), 5, 5),
                 WarpDeformer("face-warp", (250, 150, 774, 650), 6, 6, parent="head-rot"),
                 WarpDeformer("hair-warp", (150, 50, 874, 800), 5, 5, parent="face-warp"),
                 WarpDeformer("mouth-warp", (400, 450, 624, 560), 3, 3, parent="face-warp")]
    keyforms = [
        Keyform("body-rot", ["ParamBodyAngleZ"], [[-10, 0, 10]], np.array([[-5, 0, 0], [0, 0, 0], [5, 0, 0]], float)),
        Keyform("neck-rot", ["ParamAngleZ"], [[-30, 0, 30]], np.array([[-8, 0, 0], [0, 0, 0], [8, 0, 0]], float)),
        Keyform("head-rot", ["ParamAngleX"], [[-30, 0, 30]], np.array([[-2, -5, 0], [0, 0, 0], [2, 5, 0]], float)),
    ]
    for d in deformers:
        if isinstance(d, WarpDeformer):
            n = (d.rows + 1) * (d.cols + 1)
            keyforms.append(Keyform(d.id, ["ParamAngleX", "ParamAngleY"], [[-30, 0, 30], [-30, 0, 30]],
                                    rng.normal(0, 6, (9, n, 2))))
    keyforms.append(Keyform("body-warp", ["ParamBreath"], [[0, 1]], rng.normal(0, 3, (2, 36, 2))))
    side = int(round((vertices / layers) ** 0.5))
    parents = ["body-warp", "face-warp", "hair-warp", "mouth-warp", "head-rot"]
    mesh_params = ["ParamEyeBallX", "ParamMouthForm", "ParamHairFront", "ParamHairBack", "ParamMouthOpenY"]
    layer_list, meshes = [], []
    for i in range(layers):
        w, h = 60 + (i * 37) % 120, 60 + (i * 53) % 120
        img = np.zeros((h, w, 4), np.uint8)
        img[..., :3] = rng.integers(0, 256, 3)
        img[4:-4, 4:-4, 3] = 255
        x, y = int(rng.integers(150, 800)), int(rng.integers(80, 880))
        layer = Layer(f"layer{i}", "objects", img, x, y)
        layer_list.append(layer)
        xs, ys = np.linspace(0, w, side), np.linspace(0, h, side)
        gx, gy = np.meshgrid(xs, ys)
        uvs = np.stack([gx.ravel(), gy.ravel()], 1)
        tris = []
        for r in range(side - 1):
            for c in range(side - 1):
                a = r * side + c
                tris += [(a, a + 1, a + side + 1), (a, a + side + 1, a + side)]
        mesh = Mesh(f"mesh{i}", layer.id, uvs + (x, y), np.array(tris, np.int32), uvs, parents[i % len(parents)])
        meshes.append(mesh)
        keyforms.append(Keyform(mesh.id, [mesh_params[i % len(mesh_params)]], [[-1, 0, 1]],
                                rng.normal(0, 2, (3, side * side, 2))))
    t = np.linspace(0, 4, 9)
    motion = Motion("Stress", 4.0, [MotionCurve(p.id, t, p.min + (p.max - p.min) * rng.random(9))
                                    for p in params[:10]])
    doc = RigDocument(canvas, layer_list, meshes, deformers, params, keyforms,
                      [m.id for m in meshes], [motion], source="stress.png")
    doc.physics = default_hair_physics(doc)
    doc.validate()
    return doc


def sample_document(size: int) -> RigDocument:
    from image_to_rig.core.stages import motions, rig as rigging
    from image_to_rig.devkit.sample import make_sample

    sample = make_sample(size)
    doc = rigging.build_rig(sample.canvas, sample.layers)
    doc.motions = [motions.make_idle(doc)]
    doc.physics = default_hair_physics(doc)
    return doc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--size", type=int, default=1024, help="sample character size in pixels")
    args = ap.parse_args()
    root = tempfile.mkdtemp(prefix="bench-player-")
    export_folder(sample_document(args.size), os.path.join(root, "sample"))
    export_folder(stress_document(), os.path.join(root, "stress"))
    import cv2
    from face_video import render as render_face  # the synthetic face of the tracking tests
    cv2.imwrite(os.path.join(root, "sample", "face.png"), cv2.cvtColor(render_face(640, 480), cv2.COLOR_RGB2BGR))
    rows = []
    with serve_folder(root) as url, launch_chromium() as browser:
        page = browser.new_page()
        # A plain page of the same origin (the viewer page would animate alongside).
        page.goto(url + "sample/model.json")
        for name in ("sample", "stress"):
            r = page.evaluate(FRAME_LOOP, [url + name + "/", args.frames])
            frame = sorted(r["frame"])
            rows.append((name, r["info"], statistics.median(frame), frame[int(0.95 * len(frame))],
                         statistics.median(r["jsOnly"]), statistics.median(r["evaluate"]), TARGETS_MS[name]))
        r = page.evaluate(TRACKING_LOOP, [url + "sample/", max(30, args.frames // 5)])
        frame = sorted(r["frame"])
        rows.append(("tracking", r["info"], statistics.median(frame), frame[int(0.95 * len(frame))],
                     statistics.median(r["track"]), float("nan"), TARGETS_MS["tracking"]))
        if r["info"]["faces"] < len(frame):
            print(f"warning: the tracker found the face in {r['info']['faces']} of {len(frame)} frames")
    print(f"{'model':8} {'meshes':>6} {'verts':>7} {'keyf':>5} {'defs':>5} {'phys':>4} "
          f"{'frame ms':>8} {'p95':>6} {'update+eval':>11} {'full eval':>9} {'target':>7}  ok")
    for name, info, med, p95, js, ev, target in rows:
        print(f"{name:8} {info['meshes']:6d} {info['vertices']:7d} {info['keyforms']:5d} "
              f"{info['deformers']:5d} {info['physics']:4d} {med:8.3f} {p95:6.3f} {js:11.3f} {ev:9.3f} "
              f"{target:7.1f}  {'yes' if med < target else 'NO'}")
    print("frame = update + evaluate + draw submission (median of 10-frame batches); "
          "update+eval = the same without WebGL; full eval = every mesh re-evaluated; "
          "for tracking, frame = tracking step + update + draw and update+eval = the tracking step alone.")


if __name__ == "__main__":
    main()
