# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: the one-click rig on illustrations people drew.

    .venv/bin/python bench/bench_real.py [--realart DIR] [--only TEXT] [--no-tearing]
                                         [--sheets DIR] [--docs]

Runs the pipeline on every image under the real-art folder (default
../shared/realart beside the checkout, or $IMAGE_TO_RIG_REALART; skips cleanly
when it is absent) and measures, as issue 11 defines:

1. Expression variants (variants.json): for each pair, inside the box around
   the pixels the artist changed (eyes and mouth scored separately),
   PSNR(our render at the matching parameters, variant) minus PSNR(unchanged
   input, variant).  Targets: eyes closed mean >= +3 dB and none below 0;
   mouth open mean >= +1 dB and none below 0.
2. Tearing on real art: at the 48 poses of bench_tearing (devkit/tearing.py),
   new enclosed transparent pixels inside the silhouette and new separate
   pieces (connected components of the posed alpha the rest pose lacks).
   Target: 0 and 0 on every image that rigs.  A gap the artist drew is no
   tear where it stays or where the meshes carried it (traced back through
   them); the count that takes only gaps in place is reported beside it.
3. Augustina (renpy/augustina_layered): the composite of its layers as input,
   its layers as truth: eyes, brows and mouth IoU.  Target >= 0.75 each.
   The same with her glasses layer composited over the eyes is reported
   beside it (no target: how much frames round the eyes cost).
4. A contact sheet per image (default, eyes closed, smile, mouth open, AngleX
   +-30, AngleY +-30, AngleZ +30, BodyAngleX +10) under bench/results/real/;
   --docs also writes one per drawn pose whose licence allows it (the MIT and
   CC0 sets) to docs/images/real/ as JPEG.

Cut-out rig parts (Pepper_rig_parts, the Augustina layers) are run too: a
plain refusal is the right answer for a boot or a brow on its own, and they
are reported apart.  The JSON of the run goes to bench/results/real/summary.json.
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import os
import sys
import time

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests"))
import conftest  # noqa: E402,F401  registers the package image_to_rig

from image_to_rig.core.formats.image_in import load_image  # noqa: E402
from image_to_rig.core.model.errors import ImageToRigError  # noqa: E402
from image_to_rig.core.pipeline import run_pipeline  # noqa: E402
from image_to_rig.core.runtime.render import Renderer  # noqa: E402
from image_to_rig.devkit import tearing  # noqa: E402

DEFAULT_REALART = os.environ.get("IMAGE_TO_RIG_REALART") or os.path.join(
    os.path.dirname(REPO), "shared", "realart"
)
RESULTS = os.path.join(REPO, "bench", "results", "real")
PARTS_FOLDERS = ("renpy/augustina_layered/", "peppercarrot-game/Pepper_rig_parts/")
# Sets whose licence lets their renders go into docs/ (see each LICENSE.txt):
# one sheet per drawn pose (the variant pairs' bases and these), as JPEG.
DOCS_FOLDERS = ("renpy/", "dialogic-cc0/")
DOCS_EXTRA = ("renpy/tutorial/lucy happy.png", "renpy/oshs/eileen happy.png")
DOCS_DIR = os.path.join(REPO, "docs", "images", "real")
DOCS_WIDTH = 1800


def in_docs(rel: str, variant_bases) -> bool:
    return rel.startswith(DOCS_FOLDERS) and (rel in variant_bases or rel in DOCS_EXTRA)


def docs_sheet(img: np.ndarray, rel: str) -> str:
    """A contact sheet (BGR, as contact_sheet returns it), scaled to DOCS_WIDTH,
    as a JPEG under docs/images/real/."""
    if img.shape[1] > DOCS_WIDTH:
        img = cv2.resize(
            img,
            (DOCS_WIDTH, int(round(img.shape[0] * DOCS_WIDTH / img.shape[1]))),
            interpolation=cv2.INTER_AREA,
        )
    os.makedirs(DOCS_DIR, exist_ok=True)
    out = os.path.join(DOCS_DIR, os.path.splitext(rel.replace("/", "__").replace(" ", "_"))[0] + ".jpg")
    cv2.imwrite(out, img, [cv2.IMWRITE_JPEG_QUALITY, 88])
    return out


SHEET_POSES: tuple[tuple[str, dict[str, float]], ...] = (
    ("default", {}),
    ("eyes closed", {"ParamEyeLOpen": 0.0, "ParamEyeROpen": 0.0}),
    ("smile", {"ParamEyeLSmile": 1.0, "ParamEyeRSmile": 1.0, "ParamMouthForm": 1.0}),
    ("mouth open", {"ParamMouthOpenY": 1.0}),
    ("AngleX -30", {"ParamAngleX": -30.0}),
    ("AngleX +30", {"ParamAngleX": 30.0}),
    ("AngleY -30", {"ParamAngleY": -30.0}),
    ("AngleY +30", {"ParamAngleY": 30.0}),
    ("AngleZ +30", {"ParamAngleZ": 30.0}),
    ("BodyAngleX +10", {"ParamBodyAngleX": 10.0}),
)
AUGUSTINA = (
    "augustina_base.png",
    "augustina_outfit_dress.png",
    "augustina_eyes_open.png",
    "augustina_eyebrows_normal.png",
    "augustina_mouth_smile.png",
)
# the same drawing with her glasses on (the glasses layer composited last,
# over the eyes): how the parts hold up under frames, reported beside the target
AUGUSTINA_GLASSES = AUGUSTINA + ("augustina_glasses.png",)
AUGUSTINA_MOUTH_AT = (100, 100)  # the mouth layers' position on the base canvas (augustina.rpy)
CHANGE_THRESHOLD = 40  # max channel difference (over white) that counts as a change


# ------------------------------------------------------------------ helpers
def over_white(rgba: np.ndarray) -> np.ndarray:
    a = rgba[..., 3:4].astype(np.float64) / 255.0
    return rgba[..., :3].astype(np.float64) * a + 255.0 * (1.0 - a)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a - b) ** 2))
    return 99.0 if mse <= 1e-12 else 10.0 * math.log10(255.0**2 / mse)


def gain_db(renderer, base: np.ndarray, variant: np.ndarray, values: dict, box) -> float:
    """PSNR(our render at `values`, the artist's variant) minus PSNR(the unchanged
    input, the variant), inside `box` (x0, y0, x1, y1), all over white."""
    x0, y0, x1, y1 = box
    ours = over_white(renderer.render(values))[y0:y1, x0:x1]
    truth = over_white(variant)[y0:y1, x0:x1]
    return psnr(ours, truth) - psnr(over_white(base)[y0:y1, x0:x1], truth)


def read_rgba(path: str) -> np.ndarray:
    return load_image(path).rgba


def box_of(mask: np.ndarray, pad: int = 0) -> tuple[int, int, int, int] | None:
    if not mask.any():
        return None
    ys, xs = np.nonzero(mask)
    h, w = mask.shape
    return (
        max(0, xs.min() - pad),
        max(0, ys.min() - pad),
        min(w, xs.max() + 1 + pad),
        min(h, ys.max() + 1 + pad),
    )


def layer_box(doc, predicate) -> tuple[int, int, int, int] | None:
    masks = [l.full_mask(doc.canvas) for l in doc.layers if predicate(l)]
    if not masks:
        return None
    return box_of(np.any(masks, axis=0))


def discover(root: str, only: str = "") -> list[str]:
    files = sorted(glob.glob(os.path.join(root, "**", "*.png"), recursive=True))
    return [f for f in files if only in os.path.relpath(f, root)]


def is_part(rel: str) -> bool:
    return rel.startswith(PARTS_FOLDERS)


# ------------------------------------------------------------------ rigging and tearing
def rig(path: str):
    t0 = time.perf_counter()
    try:
        result = run_pipeline(path)
    except ImageToRigError as exc:
        return None, {"rigged": False, "refusal": str(exc), "seconds": round(time.perf_counter() - t0, 2)}
    doc = result.doc
    low = sorted(p.id for p in doc.parameters if p.confidence < 0.5)
    return result, {
        "rigged": True,
        "seconds": round(time.perf_counter() - t0, 2),
        "layers": [l.id for l in doc.layers],
        "low_confidence": low,
        "warnings": list(result.warnings),
    }


TEARING_MAX_SIDE = 1280  # large canvases are checked scaled to this (holes that small vanish)


def tearing_rows(doc) -> dict:
    """The worst pose's holes, torn pixels and new pieces; `max_holes_in_place`
    is the count without tracing holes back through the meshes (a drawn gap
    is the drawing's only where it stays; earlier runs reported this one)."""
    checker = tearing.TearingChecker(doc, max_side=TEARING_MAX_SIDE)
    worst_holes, worst_torn, worst_pieces, worst_in_place, bad = 0, 0, 0, 0, []
    poses = tearing.report_poses(doc)
    for name, values in poses:
        alpha = checker.renderer.render(values)
        hole_mask, in_place = checker.holes_and_in_place(alpha, values)
        holes = int(hole_mask.sum())
        torn = int(checker.torn_of_alpha(alpha, hole_mask).sum())
        new = max(0, checker.new_pieces_of_alpha(alpha))
        worst_holes, worst_pieces = max(worst_holes, holes), max(worst_pieces, new)
        worst_torn = max(worst_torn, torn)
        worst_in_place = max(worst_in_place, int(in_place.sum()))
        if holes or new:
            bad.append({"pose": name, "holes": holes, "torn": torn, "new_pieces": new})
    return {
        "poses": len(poses),
        "scale": round(checker.scale, 3),
        "max_holes": worst_holes,
        "max_torn": worst_torn,
        "max_new_pieces": worst_pieces,
        "max_holes_in_place": worst_in_place,
        "bad_poses": bad,
    }


def contact_sheet(doc, source_rgba: np.ndarray, path: str, height: int = 360) -> np.ndarray:
    """One column per pose: the whole figure above, the head close up below;
    written to `path` as PNG and returned (BGR)."""
    s = min(1.0, TEARING_MAX_SIDE / max(doc.canvas.width, doc.canvas.height))
    renderer = Renderer(doc, scale=s) if s < 1.0 else Renderer(doc)
    cw, ch = int(round(doc.canvas.width * s)), int(round(doc.canvas.height * s))
    if source_rgba.shape[:2] != (ch, cw):  # a large canvas scaled down, a small face's enlarged
        source_rgba = cv2.resize(
            source_rgba, (cw, ch), interpolation=cv2.INTER_AREA if s < 1.0 else cv2.INTER_LANCZOS4
        )
    scale = height / ch
    width = max(1, int(round(cw * scale)))
    face = doc.info.get("rig", {}).get("face_box") or [0, 0, doc.canvas.width, doc.canvas.height]
    fx0, fy0, fx1, fy1 = (v * s for v in face)
    side = 1.35 * max(fx1 - fx0, fy1 - fy0)
    cx, cy = 0.5 * (fx0 + fx1), 0.5 * (fy0 + fy1)
    hx0, hy0 = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
    hx1, hy1 = int(min(cw, cx + side / 2)), int(min(ch, cy + side / 2))
    head_h = int(round(width * (hy1 - hy0) / max(hx1 - hx0, 1)))
    images = [source_rgba] + [renderer.render(values) for _, values in SHEET_POSES]
    labels = ["input"] + [name for name, _ in SHEET_POSES]
    columns = []
    for img, label in zip(images, labels):
        rgb = over_white(img).astype(np.uint8)
        whole = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
        head = cv2.resize(
            np.ascontiguousarray(rgb[hy0:hy1, hx0:hx1]),
            (width, max(head_h, 1)),
            interpolation=cv2.INTER_AREA if hx1 - hx0 > width else cv2.INTER_LINEAR,
        )
        column = np.concatenate([whole, head], axis=0)
        cv2.putText(column, label, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (40, 40, 40), 1, cv2.LINE_AA)
        columns.append(column)
    sheet = np.concatenate(columns, axis=1)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    bgr = cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR)
    cv2.imwrite(path, bgr)
    return bgr


# ------------------------------------------------------------------ expression variants
def matching_parameters(change: str) -> dict[str, float]:
    """The parameters that make what the artist changed (one entry of "changes")."""
    c = change.lower()
    values: dict[str, float] = {}
    if "eye" in c:
        if "closed" in c:
            values.update(ParamEyeLOpen=0.0, ParamEyeROpen=0.0)
            if "smil" in c or "arched" in c:
                values.update(ParamEyeLSmile=1.0, ParamEyeRSmile=1.0)
        elif "squint" in c or "smiling" in c:
            values.update(ParamEyeLSmile=1.0, ParamEyeRSmile=1.0)
    if "mouth" in c and "open" in c:
        values["ParamMouthOpenY"] = 1.0
        if "smil" in c:
            values["ParamMouthForm"] = 1.0
    if "brow" in c and "raised" in c:
        values.update(ParamBrowLY=1.0, ParamBrowRY=1.0)
    return values


def variant_regions(doc, base: np.ndarray, variant: np.ndarray):
    """(eye box, mouth box) around the pixels the artist changed, split at the
    line halfway between the eyes and the mouth, inside the head."""
    diff = np.abs(over_white(base) - over_white(variant)).max(axis=2) > CHANGE_THRESHOLD
    diff = cv2.morphologyEx(diff.astype(np.uint8), cv2.MORPH_OPEN, np.ones((2, 2), np.uint8)).astype(bool)
    face = doc.info.get("rig", {}).get("face_box")
    eyes = layer_box(doc, lambda l: l.tag in ("eyewhite", "irides", "eyelash"))
    mouth = layer_box(doc, lambda l: l.tag == "mouth" and l.role == "")
    if face is None or eyes is None:
        return None, None
    fx0, fy0, fx1, fy1 = face
    fw, fh = fx1 - fx0, fy1 - fy0
    head = np.zeros_like(diff)
    head[
        max(0, int(fy0 - 0.2 * fh)) : int(fy1 + 0.15 * fh), max(0, int(fx0 - 0.1 * fw)) : int(fx1 + 0.1 * fw)
    ] = True
    diff &= head
    eye_y = 0.5 * (eyes[1] + eyes[3])
    mouth_y = 0.5 * (mouth[1] + mouth[3]) if mouth is not None else fy0 + 0.8 * fh
    split = int(round(0.5 * (eye_y + mouth_y)))
    upper, lower = diff.copy(), diff.copy()
    upper[split:] = False
    lower[:split] = False
    return box_of(upper, 2), box_of(lower, 2)


def score_variants(root: str, rigged: dict[str, object]) -> list[dict]:
    with open(os.path.join(root, "variants.json"), encoding="utf-8") as fh:
        pairs = json.load(fh)["pairs"]
    rows = []
    for pair in pairs:
        result = rigged.get(pair["base"])
        row = {"base": pair["base"], "variant": pair["variant"], "changes": pair["changes"]}
        if result is None:
            row["skipped"] = "the base image did not rig"
            rows.append(row)
            continue
        doc = result.doc
        base = read_rgba(os.path.join(root, pair["base"]))
        variant = read_rgba(os.path.join(root, pair["variant"]))
        factor = float(result.found.get("upscaled", 1.0))
        size = (int(round(base.shape[1] * factor)), int(round(base.shape[0] * factor)))
        if base.shape != variant.shape or size != (doc.canvas.width, doc.canvas.height):
            row["skipped"] = "the variant's canvas differs from the base"
            rows.append(row)
            continue
        if factor != 1.0:  # a small face was enlarged: score at the enlarged size (both enlarged alike)
            row["upscaled"] = round(factor, 3)
            base, variant = (cv2.resize(i, size, interpolation=cv2.INTER_LANCZOS4) for i in (base, variant))
        eye_box, mouth_box = variant_regions(doc, base, variant)
        renderer = Renderer(doc)
        for region, box, words in (("eyes", eye_box, ("eye",)), ("mouth", mouth_box, ("mouth",))):
            change = next((c for c in pair["changes"] if any(w in c for w in words)), None)
            if change is None or box is None:
                continue
            values = matching_parameters(change)
            if region == "eyes":
                values = {k: v for k, v in values.items() if "Eye" in k}
            else:
                values = {k: v for k, v in values.items() if "Mouth" in k}
            gain = gain_db(renderer, base, variant, values, box)
            kind = "closed" if "closed" in change else "open" if "open" in change else "other"
            row[region] = {
                "change": change,
                "kind": kind,
                "box": [int(v) for v in box],
                "values": values,
                "gain_db": round(gain, 2),
            }
            if region == "mouth" and kind == "open" and "ParamMouthForm" not in values:
                # for information: the same pair at the rig's round mouth (an open
                # frown, as shock is drawn); the target is scored at `values`
                round_values = dict(values, ParamMouthForm=-1.0)
                row[region]["round_gain_db"] = round(gain_db(renderer, base, variant, round_values, box), 2)
        rows.append(row)
    return rows


# ------------------------------------------------------------------ Augustina
def augustina(
    root: str, names: tuple[str, ...] = AUGUSTINA, composite_name: str = "augustina_composite.png"
) -> dict | None:
    folder = os.path.join(root, "renpy", "augustina_layered")
    if not os.path.isdir(folder) or not all(os.path.isfile(os.path.join(folder, n)) for n in names):
        return None
    layers = {}
    canvas = None
    for name in names:
        img = read_rgba(os.path.join(folder, name))
        if canvas is None:
            canvas = img.shape[:2]
        full = np.zeros(canvas + (4,), np.uint8)
        x, y = AUGUSTINA_MOUTH_AT if "mouth" in name else (0, 0)
        h, w = min(img.shape[0], canvas[0] - y), min(img.shape[1], canvas[1] - x)
        full[y : y + h, x : x + w] = img[:h, :w]
        layers[name] = full
    composite = np.zeros(canvas + (4,), np.float64)
    for name in names:
        src = layers[name].astype(np.float64) / 255.0
        a = src[..., 3:4]
        composite[..., :3] = src[..., :3] * a + composite[..., :3] * (1 - a)
        composite[..., 3:4] = a + composite[..., 3:4] * (1 - a)
    rgba = np.dstack(
        [
            np.where(composite[..., 3:4] > 0, composite[..., :3] / np.maximum(composite[..., 3:4], 1e-6), 0),
            composite[..., 3:4],
        ]
    )
    rgba = np.clip(np.rint(rgba * 255), 0, 255).astype(np.uint8)
    path = os.path.join(RESULTS, composite_name)
    os.makedirs(RESULTS, exist_ok=True)
    cv2.imwrite(path, cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    truth = {
        "eyes": layers["augustina_eyes_open.png"][..., 3] >= 128,
        "brows": layers["augustina_eyebrows_normal.png"][..., 3] >= 128,
        "mouth": layers["augustina_mouth_smile.png"][..., 3] >= 128,
    }
    # what of each truth layer is visible in the composite (layers above may cover it)
    order = list(names)
    for key, name in (
        ("eyes", "augustina_eyes_open.png"),
        ("brows", "augustina_eyebrows_normal.png"),
        ("mouth", "augustina_mouth_smile.png"),
    ):
        for above in order[order.index(name) + 1 :]:
            truth[key] &= ~(layers[above][..., 3] >= 128)
    try:
        result = run_pipeline(path)
    except ImageToRigError as exc:
        return {"rigged": False, "refusal": str(exc)}
    doc = result.doc
    tags = {"eyes": ("eyewhite", "irides", "eyelash"), "brows": ("eyebrow",), "mouth": ("mouth",)}
    out = {"rigged": True}
    for key, wanted in tags.items():
        masks = [
            l.full_mask(doc.canvas, visible=True)
            for l in doc.layers
            if l.tag in wanted and l.role in ("",) and not l.generated
        ]
        ours = np.any(masks, axis=0) if masks else np.zeros(canvas, bool)
        inter, union = (ours & truth[key]).sum(), (ours | truth[key]).sum()
        out[key] = round(float(inter / union), 3) if union else 0.0
    return out


# ------------------------------------------------------------------ main
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--realart", default=DEFAULT_REALART)
    parser.add_argument("--only", default="", help="only images whose path contains this text")
    parser.add_argument("--no-tearing", action="store_true", help="skip the 48-pose tearing check")
    parser.add_argument("--sheets", default=os.path.join(RESULTS, "sheets"))
    parser.add_argument(
        "--docs",
        action="store_true",
        help="also write the sheets whose licence allows it to docs/images/real/",
    )
    args = parser.parse_args(argv)
    root = os.path.abspath(args.realart)
    if not os.path.isdir(root):
        print(f"skipped: no real-art folder at {root} (set --realart or IMAGE_TO_RIG_REALART)")
        return 0
    os.makedirs(RESULTS, exist_ok=True)
    summary: dict = {"images": {}, "variants": [], "augustina": None}
    rigged = {}
    variant_bases = set()
    with open(os.path.join(root, "variants.json"), encoding="utf-8") as fh:
        variant_bases = {p["base"] for p in json.load(fh)["pairs"]}
    t_start = time.perf_counter()
    for path in discover(root, args.only):
        rel = os.path.relpath(path, root).replace(os.sep, "/")
        result, row = rig(path)
        row["part"] = is_part(rel)
        if result is not None:
            if rel in variant_bases:
                rigged[rel] = result
            if not args.no_tearing and not row["part"]:
                row["tearing"] = tearing_rows(result.doc)
            sheet = os.path.join(args.sheets, rel.replace("/", "__"))
            drawn = contact_sheet(result.doc, read_rgba(path), sheet)
            if args.docs and in_docs(rel, variant_bases):
                docs_sheet(drawn, rel)
        summary["images"][rel] = row
        status = "rigged" if row["rigged"] else f"refused: {row['refusal'][:90]}"
        tear = row.get("tearing")
        extra = (
            f" holes {tear['max_holes']} (torn {tear['max_torn']}) new pieces {tear['max_new_pieces']}"
            if tear
            else ""
        )
        print(f"{rel}: {status} ({row['seconds']} s){extra}", flush=True)
    summary["variants"] = score_variants(root, rigged) if rigged else []
    with_augustina = not args.only or "augustina" in args.only
    summary["augustina"] = augustina(root) if with_augustina else None
    summary["augustina_glasses"] = (
        augustina(root, AUGUSTINA_GLASSES, "augustina_glasses_composite.png") if with_augustina else None
    )
    summary["seconds"] = round(time.perf_counter() - t_start, 1)
    with open(os.path.join(RESULTS, "summary.json"), "w", encoding="utf-8") as fh:
        json.dump(summary, fh, indent=1)
    print_report(summary)
    return 0


def print_report(summary: dict) -> None:
    images = summary["images"]
    illus = {k: v for k, v in images.items() if not v["part"]}
    rigged = [k for k, v in illus.items() if v["rigged"]]
    print(
        f"\nillustrations rigged: {len(rigged)} of {len(illus)}; parts refused: "
        f"{sum(1 for v in images.values() if v['part'] and not v['rigged'])} of "
        f"{sum(1 for v in images.values() if v['part'])}"
    )
    torn = [(k, v["tearing"]) for k, v in illus.items() if v.get("tearing")]
    if torn:
        clean = sum(1 for _, t in torn if t["max_holes"] == 0 and t["max_new_pieces"] == 0)
        print(
            f"tearing: {clean} of {len(torn)} rigged images with 0 holes and 0 new pieces at all "
            f"{torn[0][1]['poses']} poses; worst holes {max(t['max_holes'] for _, t in torn)}, "
            f"worst new pieces {max(t['max_new_pieces'] for _, t in torn)}"
        )
        for key, what in (
            ("max_holes", "holes"),
            ("max_torn", "of them torn (opaque at rest)"),
            ("max_holes_in_place", "holes counting drawn gaps the pose moved (as earlier runs did)"),
        ):
            worst = np.array([t.get(key, 0) for _, t in torn])
            print(
                f"  worst {what} per image: median {np.median(worst):.0f}, 90th percentile "
                f"{np.percentile(worst, 90):.0f}, none on {int((worst == 0).sum())} images"
            )
        no_tear = sum(1 for _, t in torn if t.get("max_torn", 0) == 0 and t["max_new_pieces"] == 0)
        print(
            f"  {no_tear} with nothing torn and no new piece (the rest of their holes is "
            f"background a pose encloses); {sum(1 for _, t in torn if t['max_new_pieces'] == 0)} "
            f"with no new piece, {sum(1 for _, t in torn if t['max_new_pieces'] <= 1)} with at most one"
        )
    for kind, region, target in (("closed", "eyes", 3.0), ("open", "mouth", 1.0)):
        gains = [
            r[region]["gain_db"] for r in summary["variants"] if region in r and r[region]["kind"] == kind
        ]
        skipped = sum(1 for r in summary["variants"] if "skipped" in r)
        if gains:
            print(
                f"{region} {kind}: {len(gains)} pairs, mean {np.mean(gains):+.2f} dB (target "
                f">= +{target:g}), min {min(gains):+.2f} dB (target >= 0)"
            )
        else:
            print(f"{region} {kind}: no pair scored")
    rounds = [
        r["mouth"]["round_gain_db"] for r in summary["variants"] if "round_gain_db" in r.get("mouth", {})
    ]
    if rounds:
        print(
            f"  (for information: the {len(rounds)} open mouths scored without ParamMouthForm, at the round mouth "
            f"(form -1): mean {np.mean(rounds):+.2f} dB, min {min(rounds):+.2f} dB)"
        )
    if summary["variants"]:
        print(f"variant pairs whose base did not rig: {skipped}")
        for r in summary["variants"]:
            parts = [f"{k} {r[k]['gain_db']:+.2f} dB ({r[k]['kind']})" for k in ("eyes", "mouth") if k in r]
            print(f"  {r['variant']}: {', '.join(parts) or r.get('skipped', 'nothing scored')}")
    for key, label, target in (
        ("augustina", "Augustina", "targets >= 0.75"),
        ("augustina_glasses", "Augustina with her glasses on", "reported, no target"),
    ):
        aug = summary.get(key)
        if not aug:
            continue
        if aug.get("rigged"):
            print(
                f"{label} IoU: eyes {aug['eyes']:.3f}, brows {aug['brows']:.3f}, mouth {aug['mouth']:.3f} ({target})"
            )
        else:
            print(f"{label}: refused: {aug['refusal']}")
    print(f"({summary['seconds']} s)")


if __name__ == "__main__":
    sys.exit(main())
