# SPDX-License-Identifier: GPL-3.0-or-later
"""Hostile input must not freeze or eat the machine: each broken or oversized
export is refused by the player with a plain message (a ModelError) within
seconds, in headless Chromium, before anything big is allocated or decoded."""

import copy
import json
import shutil
import struct
import time
import zlib

import numpy as np
import pytest

from image_to_rig.core.formats.export_folder import export_folder

from web_support import INSTALL_HINT, chromium_path, launch_chromium, make_test_document, serve_folder

try:
    import playwright  # noqa: F401

    BROWSER_MISSING = None if chromium_path() else INSTALL_HINT
except ImportError:
    BROWSER_MISSING = "pip install playwright (Chromium comes from apt: " + INSTALL_HINT + ")"


def _png_header_only(width, height, depth=8, colour=6):
    """A PNG whose header claims width x height, with one tiny IDAT (never decoded)."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def _png16(path):
    """The export's own atlas re-saved with 16 bits per channel."""
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED).astype(np.uint16) * 257
    cv2.imwrite(str(path), img)
    assert cv2.imread(str(path), cv2.IMREAD_UNCHANGED).dtype == np.uint16


def _big_triangles(d):
    w, h = d["canvas"]["width"], d["canvas"]["height"]
    m = d["meshes"][0]
    n = 300000
    m["vertices"] = [-10 * w, -10 * h, 10 * w, -10 * h, 0, 10 * h]
    m["uvs"] = [0, 0, 1, 0, 0, 1]
    m["triangles"] = [0, 1, 2] * n
    for k in d["keyforms"]:
        if k["target"] == m["id"]:
            d["keyforms"].remove(k)
            break


def _many_vertices(d):
    m = d["meshes"][0]
    n = 900000
    m["vertices"] = list(np.tile([10.0, 10.0, 20.0, 10.0, 10.0, 20.0], n // 3))
    m["uvs"] = [0.1] * (2 * n)
    m["triangles"] = list(range(n))
    d["keyforms"] = [k for k in d["keyforms"] if k["target"] != m["id"]]


# name -> (how to break model.json | raw text, extra files, message fragment)
CASES = {
    "bad-json": ("{\"format\": \"image-to-rig\",", None, "not valid JSON"),
    "not-an-object": ("[1, 2, 3]", None, "one JSON object"),
    "nested-100k": ("[" * 100000 + "]" * 100000, None, "nests lists or objects more than 64 deep"),
    "nan": (
        "{\"format\": \"image-to-rig\", \"version\": 1, \"canvas\": {\"width\": NaN, \"height\": 5}}",
        None,
        "not valid JSON",
    ),
    "huge-number": (lambda d: d["canvas"].update(width=1e308), None, "canvas.width"),
    "negative-size": (lambda d: d["canvas"].update(height=-5), None, "canvas.height is -5"),
    "wrong-type": (lambda d: d.update(meshes={"a": 1}), None, "meshes must be a list"),
    "string-number": (
        lambda d: d["meshes"][0].update(vertices=["1"] * len(d["meshes"][0]["vertices"])),
        None,
        "must be a number",
    ),
    "canvas-pixels": (
        lambda d: d["canvas"].update(width=16000, height=16000),
        None,
        "megapixels this player draws",
    ),
    "texture-name": (
        lambda d: d.update(textures=["../../etc/passwd.png"]),
        None,
        "must be a plain .png file name",
    ),
    "texture-named-2000-times": (
        lambda d: d.update(textures=["atlas0.png"] * 2000),
        None,
        "more than the 64",
    ),
    "missing-atlas": (lambda d: d.update(textures=["gone.png"]), None, "could not download gone.png"),
    "atlas-30000": (None, {"atlas0.png": _png_header_only(30000, 30000)}, "30000x30000"),
    "atlas-total": (
        lambda d: d.update(textures=["atlas0.png", "a1.png", "a2.png"]),
        {"a1.png": _png_header_only(8192, 8192), "a2.png": _png_header_only(8192, 8192)},
        "together, more than",
    ),
    "not-a-png": (None, {"atlas0.png": b"GIF89a" + b"\0" * 100}, "is not a PNG image"),
    "empty-png": (None, {"atlas0.png": _png_header_only(0, 0)}, "empty (0-pixel)"),
    "too-many-items": (lambda d: d.update(parameters=d["parameters"] * 2001), None, "more than the 10000"),
    "bad-triangle-index": (lambda d: d["meshes"][0]["triangles"].__setitem__(0, -1), None, "out of range"),
    "cycle": (
        lambda d: [x.update(parent="head-rotation") for x in d["deformers"] if x["id"] == "neck-rotation"],
        None,
        "cycle",
    ),
    "keyform-nodes": (
        lambda d: d["keyforms"][0].update(params=["ParamAngleX"] * 4, keys=[list(range(16))] * 4, forms=[]),
        None,
        "0 numbers, expected 196608",
    ),
    "big-triangles": (_big_triangles, None, "canvases of triangles"),
    "900k-vertices": (_many_vertices, None, "canvases of triangles"),
    "atlas-rect-outside": (
        lambda d: d["layers"][0].update(atlas_rect=[0, 0, 5000, 5000]),
        None,
        "lies outside atlas0.png",
    ),
    "wrong-version": (lambda d: d.update(version=99), None, "version 99 is not supported"),
}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    if BROWSER_MISSING:
        pytest.skip(BROWSER_MISSING)
    root = tmp_path_factory.mktemp("hostile")
    export_folder(make_test_document(), root / "good")
    good = json.loads((root / "good" / "model.json").read_text(encoding="utf-8"))
    for name, (change, files, _) in CASES.items():
        folder = root / name
        shutil.copytree(root / "good", folder)
        if isinstance(change, str):
            text = change
        elif change is None:
            text = json.dumps(good)
        else:
            data = copy.deepcopy(good)
            change(data)
            text = json.dumps(data)
        (folder / "model.json").write_text(text, encoding="utf-8")
        for fname, data in (files or {}).items():
            (folder / fname).write_bytes(data)
    # A 16-bit atlas is not hostile: it loads (bounded) and draws.
    shutil.copytree(root / "good", root / "atlas-16bit")
    _png16(root / "atlas-16bit" / "atlas0.png")
    with serve_folder(str(root)) as url:
        yield {"root": root, "url": url}


LOAD_ALL = """async ([base, names]) => {
  const { loadModel, createPlayer, ModelError } = await import(base + 'good/player.js');
  const out = {};
  for (const name of names) {
    const t0 = performance.now();
    try {
      const model = await loadModel(base + name + '/');
      const player = createPlayer(document.createElement('canvas'), model);
      player.readPixels();
      player.destroy();
      out[name] = { ok: true, ms: performance.now() - t0 };
    } catch (err) {
      out[name] = { ok: false, modelError: err instanceof ModelError, message: String(err.message), ms: performance.now() - t0 };
    }
  }
  return out;
}"""


def test_hostile_exports_are_refused_quickly_with_plain_messages(site):
    names = list(CASES) + ["atlas-16bit"]
    with launch_chromium() as browser:
        page = browser.new_page()
        page.goto(site["url"] + "good/model.json")
        t0 = time.perf_counter()
        out = page.evaluate(LOAD_ALL, [site["url"], names])
        total = time.perf_counter() - t0
        alive = page.evaluate("1 + 1")
    assert alive == 2, "the tab is still alive"
    for name, (_, _, fragment) in CASES.items():
        got = out[name]
        assert not got["ok"], f"{name} was accepted"
        assert got["modelError"], (name, got)
        assert fragment in got["message"], (name, got["message"])
        assert "\n" not in got["message"] and "at " not in got["message"][:3], "a message, not a trace"
        assert got["ms"] < 20000, (name, got["ms"])
    assert out["atlas-16bit"]["ok"], out["atlas-16bit"]
    assert len(CASES) >= 20
    assert total < 120, total
