# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark / check: the .moc3 export against the official Cubism Core.

    .venv/bin/python bench/bench_moc3.py [--realart DIR] [--images DIR] [--vectors 20]

Rigs the sample (1024 px) and one image of every character in the real-art
folder that rigs today (../shared/realart beside the checkout, or --realart,
or $IMAGE_TO_RIG_REALART; skipped with a note when absent), exports each and
prints one row per model: csmHasMocConsistency, moc version, .moc3 size and
build time, the largest vertex error (px) and opacity error over random
parameter vectors, and the mean render difference (of 255, on the character)
between our rasteriser over the Core's vertices and our reference render.
The static checks (parameter ids, ranges and defaults, part and drawable ids,
texture indices, UVs, masks, draw order) print as mismatches when any fail.
Results go to bench/results/moc3.json; --images writes the side-by-side
renders (reference | Core) per model.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests"))
import conftest  # noqa: E402,F401  registers the package image_to_rig

from image_to_rig.core.formats.export_folder import build_runtime, export_folder  # noqa: E402
from image_to_rig.core.formats.moc3_export import moc3_from_runtime  # noqa: E402
from image_to_rig.core.pipeline import PipelineOptions, run_pipeline  # noqa: E402
from image_to_rig.devkit.sample import make_sample  # noqa: E402

# One image per character that the pipeline rigs today (checked 2025: the
# greyscale and very large images are refused or slow and left out).
REALART = (
    ("Sylvie", "renpy/the_question/sylvie blue normal.png"),
    ("Eileen", "renpy/tutorial/eileen happy.png"),
    ("Lucy", "renpy/tutorial/lucy happy.png"),
    ("Anki-tan", "anki-tan/009.png"),
    ("Jane", "dialogic-cc0/Jane/pl3 happy.png"),
    ("Chyou", "dialogic-cc0/Chyou/pl4 happy.png"),
    ("Coriander", "peppercarrot-game/ui_characters/coriander.png"),
    ("Pepper", "peppercarrot-game/ui_characters/pepper.png"),
)


def realart_folder(arg):
    for path in (
        arg,
        os.environ.get("IMAGE_TO_RIG_REALART"),
        os.path.join(os.path.dirname(REPO), "shared", "realart"),
    ):
        if path and os.path.isdir(path):
            return path
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--realart", help="the real-art folder (default ../shared/realart)")
    parser.add_argument("--images", help="write reference | Core renders here")
    parser.add_argument("--vectors", type=int, default=20)
    parser.add_argument("--only", nargs="*", help="model names to run")
    args = parser.parse_args()
    from cubism_core import CoreUnavailable, CubismCore
    from moc3_check import compare_export

    try:
        core = CubismCore()
    except CoreUnavailable as exc:
        print(f"skipped: the official Cubism Core is not available ({exc})")
        return 0
    print(f"Cubism Core {core.version()} (latest moc3 version it reads: {core.latest_moc_version()})")
    models = [("sample", None)]
    folder = realart_folder(args.realart)
    if folder is None:
        print("note: no real-art folder (../shared/realart); only the sample is checked")
    else:
        models += [(name, os.path.join(folder, rel)) for name, rel in REALART]
    if args.only:
        models = [m for m in models if m[0] in args.only]
    rows = []
    header = (
        f"{'model':10} {'canvas':>10} {'meshes':>6} {'ok':>3} {'ver':>3} {'MB':>6} {'build s':>7} "
        f"{'max px':>9} {'opacity':>8} {'render':>7}  mismatches"
    )
    print(header)
    with tempfile.TemporaryDirectory(prefix="bench-moc3-") as tmp:
        for name, path in models:
            if path is not None and not os.path.exists(path):
                print(f"{name:10} missing: {path}")
                continue
            source = make_sample(1024).image if path is None else path
            try:
                doc = run_pipeline(source, PipelineOptions()).doc
            except ValueError as exc:
                print(f"{name:10} does not rig: {exc}")
                continue
            data, pages = build_runtime(doc)
            t0 = time.perf_counter()
            moc3_from_runtime(data, pages)
            build = time.perf_counter() - t0
            out = export_folder(doc, os.path.join(tmp, name))
            images = os.path.join(args.images, name) if args.images else None
            r = compare_export(out, core, vectors=args.vectors, seed=0, render_poses=3, images_to=images)
            row = dict(
                model=name,
                source=os.path.relpath(path, folder) if path else "sample 1024",
                canvas=[doc.canvas.width, doc.canvas.height],
                meshes=len(doc.meshes),
                build_seconds=round(build, 3),
                **{k: v for k, v in r.items()},
            )
            rows.append(row)
            print(
                f"{name:10} {doc.canvas.width:>4}x{doc.canvas.height:<5} {len(doc.meshes):>6} "
                f"{int(r['consistent']):>3} {r['moc_version']:>3} {r['bytes'] / 1e6:>6.2f} {build:>7.2f} "
                f"{r.get('max_vertex_px', float('nan')):>9.2e} {r.get('max_opacity', float('nan')):>8.1e} "
                f"{r.get('render_mean_diff', float('nan')):>7.4f}  {'; '.join(r['mismatches']) or '-'}",
                flush=True,
            )
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "moc3.json"), "w", encoding="utf-8") as fh:
        json.dump({"core": core.version(), "vectors": args.vectors, "models": rows}, fh, indent=1)
    bad = [
        r["model"]
        for r in rows
        if not r["consistent"]
        or r["mismatches"]
        or r["max_vertex_px"] > 0.5
        or r["max_opacity"] > 0.01
        or r["render_mean_diff"] > 2.0
    ]
    print(
        "all within bounds (0.5 px, 0.01 opacity, 2/255 render)"
        if not bad
        else f"OUT OF BOUNDS: {', '.join(bad)}"
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
