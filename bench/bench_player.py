# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: the web player's CPU time per frame in headless Chromium.

    .venv/bin/python bench/bench_player.py [--frames 300] [--size 1024] [--seconds 6]

A frame is what the viewer does per animation frame: update(dt) (motion,
automatic blink/breath, physics) + evaluate + draw submission (vertex upload
and draw calls; the GPU work itself is not waited for).  Reported for

* the sample character (devkit.sample) rigged from its layers at --size, with
  its Idle motion and default hair physics when it has hair parameters;
* a generated stress model: 50 layers, 20,000 vertices, a keyform on every
  mesh, warps and rotation chains, a motion moving 10 parameters every frame:
  median wall ms of 10-frame batches, their 95th percentile, update+evaluate
  without WebGL, evaluate of every mesh, and the CPU ms the page's main
  thread really ran per frame (from /proc, bench/chromium_cpu.py: on this
  shared 2-core machine wall time also counts the other processes);
* tracking: the sample played at 30 fps (paced by timers, --seconds long)
  while the webcam face tracker reads Chromium's fake camera (a y4m video of
  the synthetic face of tests/face_video.py turning, talking and blinking):
  CPU ms per frame of the page's main thread (tracking's share + update +
  draw), of the tracker's Worker (the nets), of the whole renderer process,
  and of the GPU process (SwiftShader: a GPU's work on a real machine).
  Rows: the camera and player without tracking (baseline), the default (nets
  in a Worker at constants.json tracking.rate_hz = 15 Hz), the nets in the
  page at 15 Hz, and the nets in the page at 30 Hz (the first version).

Targets (web/constants.json "budgets"): sample < 0.5 ms, stress < 4 ms,
tracking + update + draw < 8 ms per frame.  WebGL runs on SwiftShader
(software) here, so draw submission includes some driver work a GPU would not.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests"))
import conftest  # noqa: E402,F401  registers the package image_to_rig

from image_to_rig.core.model.document import (
    Canvas,
    Keyform,
    Layer,
    Mesh,
    Motion,
    MotionCurve,  # noqa: E402
    Parameter,
    RigDocument,
    RotationDeformer,
    WarpDeformer,
)
from image_to_rig.core.formats.export_folder import export_folder  # noqa: E402
from image_to_rig.core.stages.hair_physics import default_hair_physics  # noqa: E402
from web_support import CHROMIUM_ARGS, chromium_path, launch_chromium, serve_folder  # noqa: E402

sys.path.insert(0, HERE)
from chromium_cpu import CpuMeter, available as cpu_meter_available  # noqa: E402

with open(os.path.join(REPO, "web", "constants.json"), encoding="utf-8") as _fh:
    _BUDGETS = __import__("json").load(_fh)["budgets"]
TARGETS_MS = {
    "sample": _BUDGETS["sample_frame_ms"],
    "stress": _BUDGETS["stress_frame_ms"],
    "tracking": _BUDGETS["tracking_frame_ms"],
}

# Open the camera (Chromium's fake one), the player and, when asked, the tracker.
TRACKING_SETUP = """async ([base, mode]) => {
  const { loadModel, createPlayer } = await import(base + 'player.js');
  const model = await loadModel(base);
  const canvas = document.createElement('canvas'); document.body.append(canvas);
  const player = createPlayer(canvas, model);
  if (model.motions.length) player.playMotion(model.motions[0].id, { loop: true });
  let tracker = null, stream = null;
  if (mode.tracker) {
    const { WebcamFaceTracker } = await import(base + 'player/tracking/webcam.js');
    tracker = await WebcamFaceTracker.create({ worker: mode.worker, rateHz: mode.rateHz });
    player.addInput(tracker);
  } else {
    stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
    const video = document.createElement('video'); video.muted = true; video.srcObject = stream; await video.play();
  }
  window.RUN = { player, tracker };
  const t0 = performance.now();   // warm up: the nets' first runs compile their kernels
  while (performance.now() - t0 < 2500) { player.update(1 / 30); player.draw(); await new Promise((r) => setTimeout(r, 33)); }
  return { where: tracker ? tracker.stats.where : null, tracking: tracker ? tracker.tracking : null,
           meshes: model.meshes.length, vertices: model.meshes.reduce((n, m) => n + m.count, 0),
           keyforms: model.keyforms.length, deformers: model.deformers.length, physics: model.physics.length };
}"""

# 30 fps paced by timers: update + draw per frame (timed), the tracker steps on its own.
TRACKING_FRAMES = """async (frames) => {
  const { player, tracker } = window.RUN;
  const s0 = tracker ? { ...tracker.stats } : null;
  const ms = [], landmarkMs = [];
  const start = performance.now();
  for (let k = 0; k < frames; k++) {
    const t0 = performance.now();
    player.update(1 / 30); player.draw();
    ms.push(performance.now() - t0);
    if (tracker) landmarkMs.push(tracker.stats.landmarkMs);
    const next = start + (k + 1) * 1000 / 30;
    await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
  }
  const seconds = (performance.now() - start) / 1000;
  const out = { ms, seconds };
  if (tracker) {
    const s1 = tracker.stats;
    out.steps = s1.frames - s0.frames; out.faces = s1.faces - s0.faces; out.detections = s1.detections - s0.detections;
    out.landmarkMs = landmarkMs.sort((a, b) => a - b)[landmarkMs.length >> 1]; out.detectMs = s1.detectMs;
    out.angleX = player.getParameter('ParamAngleX');
  }
  return out;
}"""

# Only update + draw, for the main thread's CPU time per frame.
CPU_FRAMES = """(frames) => {
  const { player } = window.BENCH;
  for (let k = 0; k < frames; k++) { player.update(1 / 60); player.draw(); }
  player.gl.finish();
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
  if (window.BENCH) window.BENCH.player.destroy();
  window.BENCH = { player };
  return { frame, evaluate, jsOnly, info };
}"""


def stress_document(layers: int = 50, vertices: int = 20000, seed: int = 0) -> RigDocument:
    """50 layers of 20x20-vertex grids under 4 warps and 2 rotation chains, a keyform each."""
    rng = np.random.default_rng(seed)
    canvas = Canvas(1024, 1024)
    params = [
        Parameter(pid, lo, 0, hi)
        for pid, lo, hi in (
            ("ParamAngleX", -30, 30),
            ("ParamAngleY", -30, 30),
            ("ParamAngleZ", -30, 30),
            ("ParamBodyAngleX", -10, 10),
            ("ParamBodyAngleZ", -10, 10),
            ("ParamBreath", 0, 1),
            ("ParamEyeBallX", -1, 1),
            ("ParamEyeBallY", -1, 1),
            ("ParamMouthForm", -1, 1),
            ("ParamMouthOpenY", 0, 1),
            ("ParamHairFront", -1, 1),
            ("ParamHairBack", -1, 1),
        )
    ]
    deformers = [
        RotationDeformer("body-rot", (512, 900)),
        RotationDeformer("neck-rot", (512, 600), parent="body-rot"),
        RotationDeformer("head-rot", (512, 500), parent="neck-rot"),
        WarpDeformer("body-warp", (200, 500, 824, 1024), 5, 5),
        WarpDeformer("face-warp", (250, 150, 774, 650), 6, 6, parent="head-rot"),
        WarpDeformer("hair-warp", (150, 50, 874, 800), 5, 5, parent="face-warp"),
        WarpDeformer("mouth-warp", (400, 450, 624, 560), 3, 3, parent="face-warp"),
    ]
    keyforms = [
        Keyform(
            "body-rot",
            ["ParamBodyAngleZ"],
            [[-10, 0, 10]],
            np.array([[-5, 0, 0], [0, 0, 0], [5, 0, 0]], float),
        ),
        Keyform(
            "neck-rot", ["ParamAngleZ"], [[-30, 0, 30]], np.array([[-8, 0, 0], [0, 0, 0], [8, 0, 0]], float)
        ),
        Keyform(
            "head-rot", ["ParamAngleX"], [[-30, 0, 30]], np.array([[-2, -5, 0], [0, 0, 0], [2, 5, 0]], float)
        ),
    ]
    for d in deformers:
        if isinstance(d, WarpDeformer):
            n = (d.rows + 1) * (d.cols + 1)
            keyforms.append(
                Keyform(
                    d.id,
                    ["ParamAngleX", "ParamAngleY"],
                    [[-30, 0, 30], [-30, 0, 30]],
                    rng.normal(0, 6, (9, n, 2)),
                )
            )
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
        mesh = Mesh(
            f"mesh{i}", layer.id, uvs + (x, y), np.array(tris, np.int32), uvs, parents[i % len(parents)]
        )
        meshes.append(mesh)
        keyforms.append(
            Keyform(
                mesh.id,
                [mesh_params[i % len(mesh_params)]],
                [[-1, 0, 1]],
                rng.normal(0, 2, (3, side * side, 2)),
            )
        )
    t = np.linspace(0, 4, 9)
    motion = Motion(
        "Stress", 4.0, [MotionCurve(p.id, t, p.min + (p.max - p.min) * rng.random(9)) for p in params[:10]]
    )
    doc = RigDocument(
        canvas,
        layer_list,
        meshes,
        deformers,
        params,
        keyforms,
        [m.id for m in meshes],
        [motion],
        source="stress.png",
    )
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


def face_video(path: str, frames: int = 30) -> str:
    """The synthetic face turning, tilting, talking and blinking once a second."""
    from face_video import render as render_face, write_y4m

    seq = []
    for k in range(frames):
        a = 2 * math.pi * k / frames
        seq.append(
            render_face(
                640,
                480,
                yaw=18 * math.sin(a),
                pitch=6 * math.sin(2 * a),
                roll=8 * math.cos(a),
                mouth_open=max(0.0, math.sin(3 * a)),
                eye_open=0.0 if k in (12, 13) else 1.0,
            )
        )
    return write_y4m(path, seq)


TRACKING_MODES = (
    ("no tracking", {"tracker": False}),
    ("worker 15Hz", {"tracker": True, "worker": "required", "rateHz": 15}),
    ("worker 10Hz", {"tracker": True, "worker": "required", "rateHz": 10}),
    ("page 15Hz", {"tracker": True, "worker": False, "rateHz": 15}),
    ("page 30Hz", {"tracker": True, "worker": False, "rateHz": 30}),
)


def bench_tracking(root: str, url: str, seconds: float, repeat: int = 1):
    """CPU ms per 30 fps frame with the tracker reading the fake camera, per
    mode; with `repeat`, the modes take turns and each number is the median."""
    from playwright.sync_api import sync_playwright

    video = face_video(os.path.join(root, "face.y4m"))
    args = CHROMIUM_ARGS + [
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ]
    meter = CpuMeter()
    frames = int(round(seconds * 30))
    runs = {name: [] for name, _ in TRACKING_MODES}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=args, headless=True)
        try:
            for _ in range(repeat):
                for name, mode in TRACKING_MODES:
                    page = browser.new_page()
                    page.goto(url + "sample/model.json")
                    info = page.evaluate(TRACKING_SETUP, [url + "sample/", mode])
                    before = meter.snapshot()
                    r = page.evaluate(TRACKING_FRAMES, frames)
                    cpu = meter.since(before)
                    page.close()
                    n = len(r["ms"])
                    runs[name].append((info, r, {k: v / n for k, v in cpu.items()}))
        finally:
            browser.close()
    rows = []
    for name, _ in TRACKING_MODES:
        got = runs[name]
        info, r, _ = got[0]
        cpu = {k: statistics.median(g[2][k] for g in got) for k in got[0][2]}
        merged = dict(r)
        merged["ms"] = [m for g in got for m in g[1]["ms"]]
        for key in ("steps", "faces", "seconds"):
            if key in r:
                merged[key] = statistics.median(g[1][key] for g in got)
        if "landmarkMs" in r:
            merged["landmarkMs"] = statistics.median(g[1]["landmarkMs"] for g in got)
            # CPU of the nets per step: the worker's, or (in the page) the main
            # thread's beyond the same turn's run without tracking.
            per_step = []
            for k, (_, rk, ck) in enumerate(got):
                base = runs[TRACKING_MODES[0][0]][k][2]["main"]
                nets = ck["workers"] if ck["workers"] > 0 else ck["main"] - base
                per_step.append(nets * len(rk["ms"]) / max(rk["steps"], 1))
            merged["step_cpu"] = statistics.median(per_step)
        rows.append((name, info, merged, cpu))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--size", type=int, default=1024, help="sample character size in pixels")
    ap.add_argument("--seconds", type=float, default=6.0, help="length of each tracking run")
    ap.add_argument("--only", choices=("frames", "tracking"), help="run one of the two parts")
    ap.add_argument("--repeat", type=int, default=3, help="tracking runs per mode (medians are reported)")
    args = ap.parse_args()
    if not cpu_meter_available():
        print("note: /proc schedstat is not available: CPU columns read nan")
    load0 = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    root = tempfile.mkdtemp(prefix="bench-player-")
    export_folder(sample_document(args.size), os.path.join(root, "sample"))
    export_folder(stress_document(), os.path.join(root, "stress"))
    rows = []
    meter = CpuMeter()
    tracking = []
    with serve_folder(root) as url:
        with launch_chromium() as browser:
            page = browser.new_page() if args.only != "tracking" else None
            # A plain page of the same origin (the viewer page would animate alongside).
            if page:
                page.goto(url + "sample/model.json")
            for name in ("sample", "stress") if page else ():
                r = page.evaluate(FRAME_LOOP, [url + name + "/", args.frames])
                frame = sorted(r["frame"])
                page.evaluate(CPU_FRAMES, 30)
                before = meter.snapshot()
                page.evaluate(CPU_FRAMES, args.frames)
                cpu = meter.since(before)["main"] / args.frames
                rows.append(
                    (
                        name,
                        r["info"],
                        statistics.median(frame),
                        frame[int(0.95 * len(frame))],
                        statistics.median(r["jsOnly"]),
                        statistics.median(r["evaluate"]),
                        cpu,
                        TARGETS_MS[name],
                    )
                )
        if args.only != "frames":
            tracking = bench_tracking(root, url, args.seconds, args.repeat)
    load1 = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"{os.cpu_count()} CPUs; load average {load0:.1f} before, {load1:.1f} after (other processes share them)"
    )
    if rows:
        print_frame_rows(rows)
    if tracking:
        print_tracking_rows(tracking, args.seconds, args.repeat)


def print_frame_rows(rows):
    print(
        f"{'model':8} {'meshes':>6} {'verts':>7} {'keyf':>5} {'defs':>5} {'phys':>4} "
        f"{'frame ms':>8} {'p95':>6} {'update+eval':>11} {'full eval':>9} {'cpu ms':>6} {'target':>7}  ok"
    )
    for name, info, med, p95, js, ev, cpu, target in rows:
        print(
            f"{name:8} {info['meshes']:6d} {info['vertices']:7d} {info['keyforms']:5d} "
            f"{info['deformers']:5d} {info['physics']:4d} {med:8.3f} {p95:6.3f} {js:11.3f} {ev:9.3f} "
            f"{cpu:6.3f} {target:7.1f}  {'yes' if cpu < target else 'NO'}"
        )
    print(
        "frame = update + evaluate + draw submission (wall, median of 10-frame batches); update+eval = the same "
        "without WebGL; full eval = every mesh re-evaluated; cpu ms = CPU time of the page's main thread per "
        "update + draw (/proc), which the target is checked on."
    )
    print()


def print_tracking_rows(tracking, seconds, repeat):
    target = TARGETS_MS["tracking"]
    print(
        f"tracking at 30 fps, sample model, CPU ms per frame (medians of {repeat} runs of {seconds:.0f} s; "
        f"target {target:.0f} ms)"
    )
    print(
        f"{'mode':12} {'main':>6} {'worker':>6} {'renderer':>8} {'gpu':>6} {'upd+draw':>8} {'steps/s':>7} "
        f"{'faces':>7} {'step cpu':>8} {'net ms':>6}  main<8  all<8"
    )
    for name, info, r, cpu in tracking:
        steps = r.get("steps", 0) / r["seconds"]
        faces = f"{r['faces']:.0f}/{r['steps']:.0f}" if "steps" in r else "-"
        net = f"{r['landmarkMs']:6.1f}" if "steps" in r else "     -"
        per_step = r.get("step_cpu", float("nan"))
        total = cpu["renderer"]
        print(
            f"{name:12} {cpu['main']:6.2f} {cpu['workers']:6.2f} {total:8.2f} {cpu['gpu']:6.2f} "
            f"{statistics.median(r['ms']):8.2f} {steps:7.1f} {faces:>7} {per_step:8.2f} {net}  "
            f"{'yes' if cpu['main'] < target else 'NO':>6} {'yes' if total < target else 'NO':>6}"
        )
    print(
        "main = the page's main thread (tracking's share: handing frames over, mapping; plus update + draw); "
        "worker = the tracker's Worker (detector, crops, landmark net, pupils); renderer = every thread of the "
        "page's process (main, worker, compositor, camera frames); gpu = the GPU process (SwiftShader here: a "
        "GPU's work elsewhere); upd+draw = wall ms of update + draw per frame (median); steps/s = tracking "
        "steps done (the rate asked for, unless the CPU could not keep up); step cpu = CPU ms of the nets per "
        "step; net ms = wall ms of one step's per-frame work (median)."
    )


if __name__ == "__main__":
    main()
