# SPDX-License-Identifier: GPL-3.0-or-later
"""Webcam face tracking end to end: Chromium's fake camera plays a video of a
synthetic face (tests/face_video.py) that the vendored detector accepts; the
OBS page's tracker moves the player's parameters (its own browser per pose,
since Chromium reads the fake camera file named at launch)."""

import numpy as np
import pytest

from image_to_rig.core.formats.export_folder import export_folder

from web_support import CHROMIUM_ARGS, INSTALL_HINT, chromium_path, make_face_document, serve_folder

try:
    import playwright  # noqa: F401

    BROWSER_MISSING = None if chromium_path() else INSTALL_HINT
except ImportError:
    BROWSER_MISSING = "pip install playwright (Chromium comes from apt: " + INSTALL_HINT + ")"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    if BROWSER_MISSING:
        pytest.skip(BROWSER_MISSING)
    root = tmp_path_factory.mktemp("track")
    export_folder(make_face_document(), root / "face")
    with serve_folder(str(root)) as url:
        yield {"root": root, "url": url + "face/"}


# ------------------------------------------------------------------ webcam face tracking

POSES = {
    "neutral": {},
    "turn": {"yaw": 22},
    "tilt": {"roll": 18},
    "mouth": {"mouth_open": 1.0},
    "eyes": {"eye_open": 0.0},
}

TRACK = """async ([neutral]) => {
  const deadline = performance.now() + 25000;
  while (!(window.imageToRig && window.imageToRig.tracker && window.imageToRig.tracker.tracking)) {
    if (performance.now() > deadline) return { error: 'no face tracked', tracker: !!(window.imageToRig && window.imageToRig.tracker) };
    await new Promise((r) => setTimeout(r, 100));
  }
  const { player, tracker } = window.imageToRig;
  if (neutral) tracker.mapping.calibrate(neutral);
  await new Promise((r) => setTimeout(r, 1500));
  const ids = ['ParamAngleX', 'ParamAngleY', 'ParamAngleZ', 'ParamEyeLOpen', 'ParamEyeROpen', 'ParamMouthOpenY', 'ParamEyeBallX'];
  return { measure: tracker.lastMeasure, params: Object.fromEntries(ids.map((id) => [id, player.getParameter(id)])),
           weight: tracker.weight, stats: tracker.stats };
}"""


def _evaluate(site, page, calls, args=CHROMIUM_ARGS):
    """Open `page` of the served site in headless Chromium and run each
    (script, argument) of `calls` there in turn; their results."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=args, headless=True)
        try:
            tab = browser.new_page()
            tab.goto(site["url"] + page)
            return [tab.evaluate(script, arg) for script, arg in calls]
        finally:
            browser.close()


def _fake_camera(tmp_path, name):
    """Chromium's flags for a fake camera that films the synthetic face (tests/face_video.py) in pose `name`."""
    from face_video import render, write_y4m

    video = write_y4m(str(tmp_path / f"{name}.y4m"), [render(**POSES[name])] * 4)
    return CHROMIUM_ARGS + [
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ]


def _track(site, tmp_path, name, neutral=None):
    return _evaluate(site, "live.html?track", [(TRACK, [neutral])], _fake_camera(tmp_path, name))[0]


def test_webcam_tracking_end_to_end_through_the_fake_camera(site, tmp_path):
    """A synthetic face (tests/face_video.py) the vendored detector accepts, in
    Chromium's fake camera: the OBS page's tracker moves the parameters with
    the right sign (mirror mode) and size."""
    neutral = _track(site, tmp_path, "neutral")
    assert "error" not in neutral, neutral
    got = {name: _track(site, tmp_path, name, neutral["measure"]) for name in POSES if name != "neutral"}
    for name, r in got.items():
        assert "error" not in r, (name, r)
        assert r["weight"] == 1
        assert r["stats"]["where"] == "worker", "the nets run in the tracker's Worker by default"
    turn, tilt, mouth, eyes = (got[k]["params"] for k in ("turn", "tilt", "mouth", "eyes"))
    # Mirror mode: the face turning to the image's right turns the character to the screen's left.
    assert -30 <= turn["ParamAngleX"] <= -12, turn
    assert abs(turn["ParamAngleZ"]) < 6, turn
    # Counter-clockwise in the camera image: clockwise in the mirror, ParamAngleZ > 0.
    assert 10 <= tilt["ParamAngleZ"] <= 26, tilt
    assert abs(tilt["ParamAngleX"]) < 8, tilt
    assert mouth["ParamMouthOpenY"] > 0.3, mouth
    assert turn["ParamMouthOpenY"] < 0.15 and tilt["ParamMouthOpenY"] < 0.15, (
        "the mouth stays shut when only the head moves"
    )
    # The drawn closed eye (a lash line on skin) reads only partly closed to the
    # tiny 68-point net (about 0.75 here, 1 at the neutral face): a clear drop, not a full blink.
    # Not tightened on purpose: the net's eyelid gap on this synthetic face is not even
    # monotonic in the drawn opening (measured, mm in the face plane: open 7.35, half 6.13,
    # closed 5.92, quarter 5.43), so a narrower range or a closed-eye calibration would
    # read half-open eyes as shut; an image cue (visible sclera) would need real closed-eye
    # footage to validate, which the tests do not have.
    assert eyes["ParamEyeLOpen"] < 0.85 and eyes["ParamEyeROpen"] < 0.85, eyes
    print({k: {p: round(v, 2) for p, v in r["params"].items()} for k, r in got.items()})
    print(
        "tracking ms per step (last):",
        {k: round(r["stats"]["lastMs"], 1) for k, r in got.items()},
        "landmarks ms:",
        {k: round(r["stats"]["landmarkMs"], 1) for k, r in got.items()},
        "main thread ms:",
        {k: round(r["stats"]["mainMs"], 2) for k, r in got.items()},
    )


def test_viewer_with_face_tracking_on(site, tmp_path):
    """The viewer page with its Face tracking button on (the fake camera shows
    the face turned): the character turns, the page says where the nets run,
    and a screenshot is written to look at ($IMAGE_TO_RIG_SHOTS/viewer_tracking.png)."""
    import os

    from playwright.sync_api import sync_playwright

    args = _fake_camera(tmp_path, "turn")
    shots = os.environ.get("IMAGE_TO_RIG_SHOTS", "") or str(tmp_path)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=args, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 700})
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(site["url"] + "index.html")
            page.wait_for_function("document.body.dataset.ready === 'true'", timeout=30000)
            page.click("#track")
            page.wait_for_function(
                "window.imageToRig.tracker && window.imageToRig.tracker.tracking", timeout=30000
            )
            page.wait_for_timeout(1500)
            angle = page.evaluate("window.imageToRig.player.getParameter('ParamAngleX')")
            status = page.locator("#tracking-status").inner_text()
            button = page.locator("#track").inner_text()
            os.makedirs(shots, exist_ok=True)
            path = os.path.join(shots, "viewer_tracking.png")
            page.screenshot(path=path)
            page.click("#track")  # off again
            off = page.evaluate("window.imageToRig.tracker === undefined")
        finally:
            browser.close()
    assert not errors, errors
    assert button == "Stop tracking" and off
    assert "face found" in status and "worker" in status, status
    assert -30 <= angle <= -12, f"the character turns with the face (mirror mode): {angle}"
    assert os.path.getsize(path) > 10000


def test_tracking_in_the_worker_and_in_the_page_agree(site, tmp_path):
    """The Worker (default) and the in-page fallback run the same per-frame work
    (face-nets.js): on the same turned face they read the same angles; the page
    path really runs on the main thread and the worker path does not."""
    args = _fake_camera(tmp_path, "turn")
    run = """async ([base, worker]) => {
      const { WebcamFaceTracker } = await import(base + 'player/tracking/webcam.js');
      const tracker = await WebcamFaceTracker.create({ worker });
      const t0 = performance.now();
      while (!tracker.tracking && performance.now() - t0 < 20000) { tracker.update(0.05); await new Promise((r) => setTimeout(r, 50)); }
      for (let i = 0; i < 30; i++) { tracker.update(0.05); await new Promise((r) => setTimeout(r, 50)); }
      const out = { where: tracker.stats.where, angleX: tracker.values && tracker.values.ParamAngleX,
                    angleZ: tracker.values && tracker.values.ParamAngleZ, faces: tracker.stats.faces,
                    mainMs: tracker.stats.mainMs, landmarkMs: tracker.stats.landmarkMs };
      tracker.destroy();
      return out;
    }"""
    calls = [(run, [site["url"], "required"]), (run, [site["url"], False])]
    worker, in_page = _evaluate(site, "model.json", calls, args)
    assert worker["where"] == "worker" and in_page["where"] == "page"
    for r in (worker, in_page):
        assert r["faces"] > 10 and -30 <= r["angleX"] <= -12, r
    assert abs(worker["angleX"] - in_page["angleX"]) < 3 and abs(worker["angleZ"] - in_page["angleZ"]) < 3
    # In the page the main thread waits for the nets (its step holds their time);
    # with the worker it only hands the frame over, less than the page's step.
    # (One frame's times: compared with each other, not with a fixed share, as a
    # loaded machine slows the hand-over as much as the nets.)
    assert in_page["mainMs"] >= 0.5 * in_page["landmarkMs"] and worker["mainMs"] < in_page["mainMs"]


def test_our_landmark_forward_equals_face_apis(site):
    """landmark-net.js runs the vendored 68-point net itself (its input
    normalised in JavaScript, biases and ReLUs fused into the convolutions):
    on crops of the synthetic face at several poses, and on noise, its
    landmarks are face-api's own detectLandmarks' to within 1e-3 px (the
    times are printed; bench/bench_player.py measures them)."""
    import base64

    import cv2

    from face_video import render

    crops = []
    for pose in ({}, {"yaw": 22}, {"roll": 18, "mouth_open": 1.0}):
        img = render(320, 240, **pose)[8:232, 48:272]  # a square around the face
        crops.append(cv2.resize(img, (112, 112), interpolation=cv2.INTER_AREA))
    crops.append(np.random.default_rng(0).integers(0, 256, (112, 112, 3), dtype=np.uint8))
    urls = [
        "data:image/png;base64," + base64.b64encode(cv2.imencode(".png", c[..., ::-1])[1]).decode()
        for c in crops
    ]
    run = """async ([base, urls]) => {
      const { loadFaceApi } = await import(base + 'player/tracking/face-nets.js');
      const { LandmarkNet } = await import(base + 'player/tracking/landmark-net.js');
      const faceapi = await loadFaceApi(new URL(base + 'vendor/'));
      const ours = new LandmarkNet(faceapi);
      const canvas = Object.assign(document.createElement('canvas'), { width: 112, height: 112 });
      const ctx = canvas.getContext('2d', { willReadFrequently: true });
      const out = [];
      for (const url of urls) {
        const img = new Image(); img.src = url; await img.decode();
        ctx.drawImage(img, 0, 0);
        const theirs = (await faceapi.nets.faceLandmark68TinyNet.detectLandmarks(canvas)).positions.map((p) => [p.x, p.y]);
        const mine = await ours.detect(ctx);
        const time = async (f) => { for (let i = 0; i < 3; i++) await f(); const t0 = performance.now(); for (let i = 0; i < 20; i++) await f(); return (performance.now() - t0) / 20; };
        out.push({ theirs, mine, theirsMs: await time(() => faceapi.nets.faceLandmark68TinyNet.detectLandmarks(canvas)),
                   mineMs: await time(() => ours.detect(ctx)), tensors: faceapi.tf.memory().numTensors });
      }
      return out;
    }"""
    (got,) = _evaluate(site, "model.json", [(run, [site["url"], urls])])
    for k, r in enumerate(got):
        theirs, mine = np.array(r["theirs"]), np.array(r["mine"])
        assert theirs.shape == mine.shape == (68, 2)
        assert np.abs(theirs - mine).max() < 1e-3, (k, np.abs(theirs - mine).max())
    face = np.array(got[0]["mine"])
    assert 20 < face[:, 0].mean() < 92 and 20 < face[:, 1].mean() < 92, "the landmarks lie on the face"
    assert got[-1]["tensors"] == got[0]["tensors"], "no tensor is left behind per frame"
    print(
        "landmark net ms per crop, face-api vs ours:",
        [(round(r["theirsMs"], 2), round(r["mineMs"], 2)) for r in got],
    )
