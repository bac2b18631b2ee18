# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: what hostile input costs now that budgets are checked first.

    .venv/bin/python bench/bench_budgets.py [--only NAME ...]

Two kinds of case, each in its own process (peak memory = that process's max
RSS; wall time from the command's start, Python start-up excluded):

* refused: the hostile files of issue 9 (a 30000x30000 atlas header, one atlas
  named 2000 times, 300k huge triangles, 900k vertices, a 100k-deep JSON, a
  PSD layer record of 60000x60000) go through `render` / `rig` and must be
  refused in well under a second of work, using no more than loading Python does;
* accepted at the limit: the most work a model inside the budgets can ask of
  the Python reference renderer: triangle boxes at max_reference_raster_pixels,
  the largest image (8192x8192), and atlas pages at max_total_texture_pixels.

Targets (issue 9): every hostile case within 20 s and 2 GB; refusals in
seconds.  The accepted cases show where the Python renderer's time and memory
stop growing; their numbers are what the budgets allow, measured.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def _good_export(work: str) -> str:
    from image_to_rig.core.formats.export_folder import export_folder
    from image_to_rig.core.pipeline import PipelineOptions, run_pipeline
    from image_to_rig.devkit.sample import make_sample

    web = os.path.join(work, "web")
    doc = run_pipeline(make_sample(256).image, PipelineOptions(use_animeface=False)).doc
    export_folder(doc, web, moc3=False)
    return web


def _edit(web: str, change) -> str:
    path = os.path.join(web, "model.json")
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    change(data)
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(data, fh)
    return path


def _first_mesh_only(d):
    m = d["meshes"][0]
    d["keyforms"] = [k for k in d["keyforms"] if k["target"] != m["id"]]
    return m


def prepare(name: str, work: str) -> list:
    """The command line of case `name`, its files made in `work`."""
    import numpy as np

    if name == "psd-60000-layer":
        sys.path.insert(0, os.path.join(REPO, "tests"))
        from psd_craft import write_psd

        path = write_psd(os.path.join(work, "art.psd"), 64, 64, [("face", (0, 0, 60000, 60000), b"\0\2")])
        return ["rig", path, "--out", os.path.join(work, "out"), "--quiet"]
    web = _good_export(work)
    out = ["-o", os.path.join(work, "pose.png"), "--quiet"]
    model = os.path.join(web, "model.json")
    if name == "atlas-30000x30000":
        with open(os.path.join(web, "atlas0.png"), "wb") as fh:
            fh.write(_png_header_only(30000, 30000))
    elif name == "atlas-named-2000-times":
        _edit(web, lambda d: d.update(textures=["atlas0.png"] * 2000))
    elif name == "300k-huge-triangles":

        def huge(d):
            m = _first_mesh_only(d)
            m["vertices"] = [-2560, -2560, 2560, -2560, 0, 2560]
            m["uvs"] = [0, 0, 1, 0, 0, 1]
            m["triangles"] = [0, 1, 2] * 300000

        _edit(web, huge)
    elif name == "900k-vertices":

        def many(d):
            m = _first_mesh_only(d)
            m["vertices"] = np.tile([-256.0, -256.0, 512.0, -256.0, 0.0, 512.0], 300000).tolist()
            m["uvs"] = [0.1] * 1800000
            m["triangles"] = list(range(900000))

        _edit(web, many)
    elif name == "json-124-mb":
        # just under max_json_bytes: 6.5 M vertices of two-decimal numbers (refused: > 1 M vertices)
        def huge(d):
            m = _first_mesh_only(d)
            m["vertices"] = m["uvs"] = "NUMBERS"
            m["triangles"] = []

        _edit(web, huge)
        with open(model, encoding="utf-8") as fh:
            text = fh.read()
        numbers = "[" + ",".join(f"{x:.2f}" for x in np.random.default_rng(0).uniform(0, 9, 13_000_000)) + "]"
        with open(model, "w", encoding="utf-8") as fh:
            fh.write(text.replace('"NUMBERS"', numbers))
    elif name == "json-100k-deep":
        with open(model, "w") as fh:
            fh.write("[" * 100000 + "]" * 100000)
    elif name == "raster-at-the-python-limit":
        # 64 triangles whose boxes are 1024x1024 on a 4096x4096 canvas: 67 million pairs
        def limit(d):
            d["canvas"].update(width=4096, height=4096)
            m = _first_mesh_only(d)
            rng = np.random.default_rng(0)
            verts = []
            for x, y in rng.uniform(0, 3072, (64, 2)):
                verts += [x, y, x + 1022, y, x, y + 1022]
            m["vertices"] = verts
            m["uvs"] = [0, 0, 0.2, 0, 0, 0.2] * 64
            m["triangles"] = list(range(192))
            keep = {m["id"]}
            d["meshes"] = [m]
            d["draw_order"] = [m["id"]]
            d["keyforms"] = [
                k
                for k in d["keyforms"]
                if k["target"] in keep or any(x["id"] == k["target"] for x in d["deformers"])
            ]

        _edit(web, limit)
    elif name == "largest-image-8192x8192":
        out += ["--size", "8192x8192"]
    elif name in ("layers-at-the-python-limit", "atlas-at-the-player-budget"):
        # one (or two) 8192x8192 pages, each one layer drawn on 4000x4000: 67 (134) megapixels,
        # the reference renderer's layer budget (the player's texture budget)
        import cv2

        count = 1 if name.startswith("layers") else 2
        page = np.zeros((8192, 8192, 4), np.uint8)
        page[::64, :, :] = 255
        for i in range(count):
            cv2.imwrite(os.path.join(web, f"page{i}.png"), page)

        def pages(d):
            d["textures"] = [f"page{i}.png" for i in range(count)]
            d["canvas"].update(width=8192, height=8192)
            base = d["layers"][0]
            d["layers"] = [
                dict(
                    base,
                    id=f"page{i}",
                    texture=i,
                    atlas_rect=[0, 0, 8192, 8192],
                    canvas_rect=[0, 0, 8192, 8192],
                    clip_to=None,
                )
                for i in range(count)
            ]
            d["meshes"] = [
                {
                    "id": f"page{i}",
                    "layer": f"page{i}",
                    "deformer": None,
                    "texture": i,
                    "vertices": [0, 0, 4000, 0, 0, 4000, 4000, 4000],
                    "uvs": [0, 0, 1, 0, 0, 1, 1, 1],
                    "triangles": [0, 1, 2, 1, 3, 2],
                }
                for i in range(count)
            ]
            d["draw_order"] = [f"page{i}" for i in range(count)]
            d["keyforms"] = [k for k in d["keyforms"] if any(x["id"] == k["target"] for x in d["deformers"])]
            d["physics"] = []

        _edit(web, pages)
    else:
        raise SystemExit(f"unknown case {name}")
    return ["render", model, *out]


CASES = (
    "atlas-30000x30000",
    "atlas-named-2000-times",
    "300k-huge-triangles",
    "900k-vertices",
    "json-100k-deep",
    "json-124-mb",
    "psd-60000-layer",
    "raster-at-the-python-limit",
    "largest-image-8192x8192",
    "layers-at-the-python-limit",
    "atlas-at-the-player-budget",
)


LAUNCH = (
    "import sys, time; sys.path.insert(0, {tests!r}); import conftest\n"
    "from image_to_rig.cli import main\n"
    "t0 = time.perf_counter(); code = main(sys.argv[1:])\n"
    "sys.stderr.write('\\nBENCH-SECONDS %f\\n' % (time.perf_counter() - t0)); sys.exit(code)"
)


def measure(args: list) -> dict:
    """Run the CLI in a fresh process: exit code, seconds of the command itself
    (start-up excluded) and the process's peak RSS (wait4)."""
    code = LAUNCH.format(tests=os.path.join(REPO, "tests"))
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = float(err.rsplit("BENCH-SECONDS", 1)[1].split()[0]) if "BENCH-SECONDS" in err else -1
    message = next((l for l in reversed(err.splitlines()) if l.startswith("error:")), "")
    return {
        "exit": proc.returncode,
        "seconds": round(seconds, 2),
        "peak_mb": round(usage.ru_maxrss / 1024.0),
        "message": message,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=list(CASES))
    parser.add_argument("--prepare", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare:
        sys.path.insert(0, os.path.join(REPO, "tests"))
        import conftest  # noqa: F401  registers the package image_to_rig

        print(json.dumps(prepare(*args.prepare)))
        return
    print(f"{'case':30} {'exit':>4} {'seconds':>8} {'peak MB':>8}  message")
    for name in args.only:
        work = tempfile.mkdtemp(prefix="bench-budgets-")
        try:
            made = subprocess.run(
                [sys.executable, __file__, "--prepare", name, work], capture_output=True, text=True
            )
            if made.returncode:
                print(f"{name:30} could not prepare: {made.stderr.strip()[-300:]}")
                continue
            r = measure(json.loads(made.stdout.strip().splitlines()[-1]))
        finally:
            shutil.rmtree(work, ignore_errors=True)
        print(f"{name:30} {r['exit']:>4} {r['seconds']:>8.2f} {r['peak_mb']:>8}  {r['message'][:90]}")


if __name__ == "__main__":
    main()
