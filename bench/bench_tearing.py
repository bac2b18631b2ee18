# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: tearing (holes showing the background) at every parameter extreme.

    .venv/bin/python bench/bench_tearing.py [--size 1024] [--contact-sheets docs/images]

Rigs the sample character twice, from its ground-truth layers (plus the
generated mouth interior) and from its flat image through `run_pipeline`,
and prints one row per pose (every parameter's extremes, the AngleX x AngleY
corners, combined extremes) with the hole pixels of each rig (definition in
devkit/tearing.py; the target is 0 everywhere), plus the build_rig + motions
time.  With --contact-sheets it also renders the pipeline rig at every
parameter's min / default / max and the AngleX x AngleY grid into that folder.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests"))
import conftest  # noqa: E402,F401  registers the package image_to_rig

from image_to_rig.core.stages import motions, rig as rigging  # noqa: E402
from image_to_rig.devkit import tearing  # noqa: E402
from image_to_rig.core.stages.complete import make_mouth_interior  # noqa: E402
from image_to_rig.core.pipeline import run_pipeline  # noqa: E402
from image_to_rig.devkit.sample import make_sample  # noqa: E402

FACE_PARAMS = (
    "ParamAngleZ",
    "ParamEyeLOpen",
    "ParamEyeROpen",
    "ParamEyeLSmile",
    "ParamEyeRSmile",
    "ParamEyeBallX",
    "ParamEyeBallY",
    "ParamBrowLY",
    "ParamBrowRY",
    "ParamBrowLAngle",
    "ParamBrowRAngle",
    "ParamMouthOpenY",
    "ParamMouthForm",
    "ParamCheek",
)
BODY_PARAMS = (
    "ParamBodyAngleX",
    "ParamBodyAngleY",
    "ParamBodyAngleZ",
    "ParamBreath",
    "ParamHairFront",
    "ParamHairSide",
    "ParamHairBack",
)


def ground_truth_layers(sample):
    layers = list(sample.layers)
    interior = make_mouth_interior(sample.layer("mouth"), sample.landmarks, sample.canvas)
    layers.insert([l.id for l in layers].index("mouth"), interior)
    return layers


def contact_sheets(doc, out_dir: str) -> list:
    """PNG sheets: the AngleX x AngleY grid, face parameters, body and hair parameters."""
    import cv2

    from image_to_rig.core.runtime.render import Renderer

    os.makedirs(out_dir, exist_ok=True)
    renderer = Renderer(doc)
    face = rigging.alpha_box(doc.layer("face"))
    fw, fh = face[2] - face[0], face[3] - face[1]
    head = (face[0] - 0.45 * fw, face[1] - 0.35 * fh, face[2] + 0.45 * fw, face[3] + 0.25 * fh)
    close = (face[0] - 0.05 * fw, face[1] + 0.2 * fh, face[2] + 0.05 * fw, face[3] + 0.08 * fh)
    whole = (0, 0, doc.canvas.width, doc.canvas.height)

    def tile(values, box, width, label):
        img = renderer.render(values, background=(255, 255, 255))[..., :3]
        x0, y0, x1, y1 = (int(round(v)) for v in box)
        pad = ((max(0, -y0), max(0, y1 - img.shape[0])), (max(0, -x0), max(0, x1 - img.shape[1])), (0, 0))
        img = np.pad(img, pad, constant_values=255)[
            y0 + pad[0][0] : y1 + pad[0][0], x0 + pad[1][0] : x1 + pad[1][0]
        ]
        h = int(round(width * img.shape[0] / img.shape[1]))
        small = np.ascontiguousarray(cv2.resize(img, (width, h), interpolation=cv2.INTER_AREA))
        cv2.putText(small, label, (3, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.36, (190, 0, 0), 1, cv2.LINE_AA)
        return small

    def write(name, rows):
        width = max(sum(t.shape[1] for t in row) for row in rows)
        lines = [
            np.hstack(
                row
                + (
                    [np.full((row[0].shape[0], width - sum(t.shape[1] for t in row), 3), 255, np.uint8)]
                    if sum(t.shape[1] for t in row) < width
                    else []
                )
            )
            for row in rows
        ]
        path = os.path.join(out_dir, name)
        cv2.imwrite(path, cv2.cvtColor(np.vstack(lines), cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])
        return path

    written = []
    grid = [
        [tile({"ParamAngleX": ax, "ParamAngleY": ay}, head, 190, f"X={ax:g} Y={ay:g}") for ax in (-30, 0, 30)]
        for ay in (30, 0, -30)
    ]
    written.append(write("contact_angle_grid.png", grid))
    for name, params, box, width in (
        ("contact_face.png", FACE_PARAMS, close, 150),
        ("contact_body.png", ("ParamAngleX", "ParamAngleY") + BODY_PARAMS, whole, 150),
    ):
        rows, row = [], []
        for pid in params:
            p = doc.parameter(pid)
            row += [tile({pid: v}, box, width, f"{pid[5:]}={v:g}") for v in (p.min, p.default, p.max)]
            if len(row) == 6:
                rows.append(row)
                row = []
        if row:
            rows.append(row)
        written.append(write(name, rows))
    return written


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--contact-sheets", metavar="DIR", default=None)
    args = ap.parse_args(argv)

    sample = make_sample(args.size)
    t0 = time.perf_counter()
    gt = rigging.build_rig(sample.canvas, ground_truth_layers(sample))
    gt.motions = motions.make_all_motions(gt)
    rig_s = time.perf_counter() - t0
    result = run_pipeline(sample.image)
    piped = result.doc
    rig_stage = result.report()["stages"].get("rig")

    t0 = time.perf_counter()
    rows_gt = tearing.tearing_report(gt)
    rows_pipe = tearing.tearing_report(piped)
    check_s = time.perf_counter() - t0
    print(
        f"sample {args.size}x{args.size}: build_rig + make_all_motions {rig_s:.3f} s "
        f"(ground truth), pipeline rig stage {rig_stage} s"
    )
    print(
        f"drawn gaps at rest (not counted): ground truth {tearing.TearingChecker(gt).rest_holes} px, "
        f"pipeline {tearing.TearingChecker(piped).rest_holes} px"
    )
    pipe_by_pose = {r.pose: r.holes for r in rows_pipe}
    print(f"{'pose':44s} {'ground truth':>12s} {'pipeline':>9s}")
    for r in rows_gt:
        print(f"{r.pose:44s} {r.holes:12d} {pipe_by_pose.get(r.pose, -1):9d}")
    total = sum(r.holes for r in rows_gt) + sum(r.holes for r in rows_pipe)
    print(f"{len(rows_gt)} poses, hole pixels in all: {total}  (checked in {check_s:.1f} s)")
    if args.contact_sheets:
        for path in contact_sheets(piped, args.contact_sheets):
            print(f"wrote {path} ({os.path.getsize(path) // 1024} KB)")
    return 0 if total == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
