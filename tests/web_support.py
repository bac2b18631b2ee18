# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers for the export and web player tests: a synthetic rig, a local
HTTP server and a headless Chromium (Debian package, driven by Playwright)."""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import threading

import cv2
import numpy as np

from image_to_rig.core.model.document import (
    Canvas,
    Keyform,
    Layer,
    Mesh,
    Motion,
    MotionCurve,
    Parameter,
    RigDocument,
    RotationDeformer,
    WarpDeformer,
)

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--autoplay-policy=no-user-gesture-required",
]
INSTALL_HINT = (
    "headless Chromium is not installed; as root run "
    "`apt-get update && apt-get install -y chromium` and "
    "`pip install playwright` (never `playwright install`)"
)


def chromium_path():
    for path in CHROMIUM_CANDIDATES:
        if os.path.exists(path):
            return path
    return shutil.which("chromium")


# ------------------------------------------------------------------ synthetic rig


def _blob(w: int, h: int, colour, seed: int, stripes: bool = True) -> np.ndarray:
    """A soft-edged ellipse with a gradient and stripes (texture detail)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy, rx, ry = (w - 1) / 2, (h - 1) / 2, w / 2 - 3, h / 2 - 3
    r = np.sqrt(((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2)
    alpha = np.clip((1.0 - r) * min(rx, ry) / 2.0, 0, 1)
    img = np.zeros((h, w, 4), np.uint8)
    base = np.array(colour, np.float32)
    shade = 0.75 + 0.25 * (yy / max(h - 1, 1))[..., None]
    rgb = base * shade
    if stripes:
        rgb = rgb * (0.85 + 0.15 * (np.sin(xx * 0.7 + seed) > 0))[..., None]
    img[..., :3] = np.clip(rgb, 0, 255).astype(np.uint8)
    img[..., 3] = np.rint(alpha * 255).astype(np.uint8)
    # Transparent pixels carry junk colour (as real decompositions do).
    rng = np.random.default_rng(seed)
    junk = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    img[..., :3][img[..., 3] == 0] = junk[img[..., 3] == 0]
    return img


def _grid_mesh(mesh_id: str, layer: Layer, step: int, deformer=None) -> Mesh:
    w, h = layer.size
    xs = np.linspace(0, w, max(2, round(w / step) + 1))
    ys = np.linspace(0, h, max(2, round(h / step) + 1))
    gx, gy = np.meshgrid(xs, ys)
    uvs = np.stack([gx.ravel(), gy.ravel()], axis=1)
    cols = len(xs)
    tris = []
    for r in range(len(ys) - 1):
        for c in range(cols - 1):
            a, b, d, e = r * cols + c, r * cols + c + 1, (r + 1) * cols + c, (r + 1) * cols + c + 1
            tris += [(a, b, e), (a, e, d)]
    verts = uvs + np.array([layer.x, layer.y], np.float64)
    return Mesh(mesh_id, layer.id, verts, np.array(tris, np.int32), uvs, deformer)


def make_test_document() -> RigDocument:
    """A small rig with every feature the player must reproduce: a rotation
    chain, a warp with a 2D keyform (under a rotation), a mesh keyform, a
    clipped layer and a layer with opacity < 1."""
    canvas = Canvas(160, 128)
    body = Layer("topwear", "topwear", _blob(90, 60, (70, 110, 200), 1), 35, 64)
    face = Layer("face", "face", _blob(70, 64, (250, 214, 190), 2), 45, 12)
    eyewhite = Layer("eyewhite_l", "eyewhite", _blob(24, 16, (250, 250, 255), 3, False), 88, 36, side="l")
    iris = Layer(
        "irides_l", "irides", _blob(14, 14, (40, 150, 90), 4), 93, 37, side="l", clip_to="eyewhite_l"
    )
    blush = Layer("blush", "objects", _blob(26, 12, (255, 80, 120), 5, False), 52, 50, opacity=0.55)
    layers = [body, face, eyewhite, iris, blush]
    deformers = [
        RotationDeformer("neck-rotation", (80.0, 76.0)),
        RotationDeformer("head-rotation", (80.0, 60.0), parent="neck-rotation"),
        WarpDeformer("face-warp", (40.0, 8.0, 122.0, 82.0), rows=3, cols=4, parent="head-rotation"),
        WarpDeformer("body-warp", (30.0, 60.0, 130.0, 128.0), rows=2, cols=2),
    ]
    meshes = [
        _grid_mesh("topwear", body, 10, "body-warp"),
        _grid_mesh("face", face, 9, "face-warp"),
        _grid_mesh("eyewhite_l", eyewhite, 6, "face-warp"),
        _grid_mesh("irides_l", iris, 5, "face-warp"),
        _grid_mesh("blush", blush, 8, "head-rotation"),
    ]
    params = [
        Parameter("ParamAngleX", -30, 0, 30, "Angle X", "Face"),
        Parameter("ParamAngleZ", -30, 0, 30, "Angle Z", "Face"),
        Parameter("ParamEyeBallX", -1, 0, 1, "Eyeball X", "Eyes"),
        Parameter("ParamBodyAngleX", -10, 0, 10, "Body X", "Body"),
        Parameter("ParamBreath", 0, 0, 1, "Breath", "Body"),
    ]
    rng = np.random.default_rng(7)
    face_warp = deformers[2]
    n_face = (face_warp.rows + 1) * (face_warp.cols + 1)
    face_forms = np.zeros((3, n_face, 2))
    rest = face_warp.rest_points()
    face_forms[0, :, 0] = -6 * (1 - (rest[:, 0] - 40) / 82)  # squash toward the left
    face_forms[2, :, 0] = 6 * ((rest[:, 0] - 40) / 82)
    face_forms[:, :, 1] += rng.normal(0, 0.8, (3, n_face))
    face_forms[1] = 0
    body_warp = deformers[3]
    n_body = (body_warp.rows + 1) * (body_warp.cols + 1)
    body_forms = rng.normal(0, 2.5, (3 * 2, n_body, 2))
    body_forms[2] = 0  # ParamBodyAngleX = 0, ParamBreath = 0: rest
    iris_mesh = meshes[3]
    iris_forms = np.zeros((3, len(iris_mesh.vertices), 2))
    iris_forms[0, :, 0] = -9
    iris_forms[2, :, 0] = 9
    keyforms = [
        Keyform(
            "neck-rotation",
            ["ParamAngleZ"],
            [[-30, 0, 30]],
            np.array([[-8, -2, 0], [0, 0, 0], [8, 2, 0]], np.float64),
        ),
        Keyform(
            "head-rotation",
            ["ParamAngleX"],
            [[-30, 0, 30]],
            np.array([[4, -3, 1], [0, 0, 0], [-4, 3, 1]], np.float64),
        ),
        Keyform("face-warp", ["ParamAngleX"], [[-30, 0, 30]], face_forms),
        Keyform("body-warp", ["ParamBodyAngleX", "ParamBreath"], [[-10, 0, 10], [0, 1]], body_forms),
        Keyform("irides_l", ["ParamEyeBallX"], [[-1, 0, 1]], iris_forms),
    ]
    idle = Motion(
        "Idle",
        2.0,
        [
            MotionCurve("ParamBreath", np.array([0.0, 1.0, 2.0]), np.array([0.0, 1.0, 0.0])),
            MotionCurve("ParamAngleX", np.array([0.0, 0.5, 1.5, 2.0]), np.array([0.0, 12.0, -12.0, 0.0])),
        ],
    )
    doc = RigDocument(
        canvas,
        layers,
        meshes,
        deformers,
        params,
        keyforms,
        ["topwear", "face", "eyewhite_l", "irides_l", "blush"],
        [idle],
        source="synthetic.png",
    )
    doc.validate()
    return doc


def make_face_document() -> RigDocument:
    """The test rig plus eye, mouth and hair parameters and default hair physics:
    blink, lip sync, expressions and physics have something to drive."""
    from image_to_rig.core.stages.hair_physics import default_hair_physics

    doc = make_test_document()
    doc.parameters += [
        Parameter("ParamAngleY", -30, 0, 30, "Angle Y", "Face"),
        Parameter("ParamEyeLOpen", 0, 1, 1, "Eye L open", "Eyes"),
        Parameter("ParamEyeROpen", 0, 1, 1, "Eye R open", "Eyes"),
        Parameter("ParamEyeBallY", -1, 0, 1, "Eyeball Y", "Eyes"),
        Parameter("ParamMouthOpenY", 0, 0, 1, "Mouth open", "Mouth"),
        Parameter("ParamMouthForm", -1, 0, 1, "Mouth form", "Mouth"),
        Parameter("ParamHairFront", -1, 0, 1, "Hair front", "Hair"),
        Parameter("ParamHairSide", -1, 0, 1, "Hair side", "Hair"),
        Parameter("ParamHairBack", -1, 0, 1, "Hair back", "Hair"),
    ]
    doc.physics = default_hair_physics(doc)
    doc.source = "face test.png"
    doc.validate()
    return doc


def make_opacity_document():
    """The synthetic rig plus a drawn closed eye (rest opacity 0) on a new
    ParamEyeLOpen, and an opacity keyform on the blush that clamps at 0 and 1."""
    doc = make_test_document()
    img = np.zeros((16, 24, 4), np.uint8)
    img[..., :3] = (150, 40, 60)
    img[5:11, 1:-1, 3] = 255
    lid = Layer("eyelash-closed_l", "eyelash", img, 88, 36, side="l", role="closed", opacity=0.0)
    doc.layers.append(lid)
    doc.meshes.append(_grid_mesh("eyelash-closed_l", lid, 6, "face-warp"))
    doc.draw_order.append("eyelash-closed_l")
    doc.parameters.append(Parameter("ParamEyeLOpen", 0, 1, 1, "Eye L Open", "Eyes"))
    doc.keyforms += [
        Keyform(
            "eyelash-closed_l",
            ["ParamEyeLOpen"],
            [[0.0, 0.25, 1.0]],
            np.array([[1.0], [0.0], [0.0]]),
            owner="blink",
            channel="opacity",
        ),
        Keyform(
            "blush",
            ["ParamAngleX", "ParamEyeLOpen"],
            [[-30, 0, 30], [0, 1]],
            np.array([[-0.7], [0.0], [0.3], [0.0], [0.6], [-0.2]]),
            channel="opacity",
        ),
    ]
    doc.validate()
    return doc


# ------------------------------------------------------------------ http + browser


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def end_headers(self):
        self.send_header("Cache-Control", "no-store")
        super().end_headers()


_QuietHandler.extensions_map = {
    **http.server.SimpleHTTPRequestHandler.extensions_map,
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".json": "application/json",
}


@contextlib.contextmanager
def serve_folder(folder: str):
    """Serve `folder` on 127.0.0.1 at a free port; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=folder)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def launch_chromium():
    """A Playwright browser on the system Chromium (never a downloaded one)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def decode_png_data_url(url: str) -> np.ndarray:
    import base64

    raw = base64.b64decode(url.split(",", 1)[1])
    img = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_UNCHANGED)
    return cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA)
