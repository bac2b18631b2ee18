# SPDX-License-Identifier: GPL-3.0-or-later
"""Headless command line: the same code as the add-on, driven through bpy.

    python -m image_to_rig rig INPUT --out DIR
    python -m image_to_rig render MODEL_JSON --param ParamAngleX=30 -o OUT.png
    python -m image_to_rig render MODEL.moc3 --param ParamAngleX=30 -o OUT.png
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from typing import Dict, List, Optional


class CliError(Exception):
    """A problem to tell the user in one line, with exit code 2."""


def _peak_rss_mb() -> Optional[float]:
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / 1024.0 if sys.platform != "darwin" else peak / 2**20, 1)


def write_layer_pngs(doc, folder: str) -> List[str]:
    """One full-canvas RGBA PNG per layer, NN = draw order from 00 at the back."""
    import cv2

    os.makedirs(folder, exist_ok=True)
    names = []
    for index, layer in enumerate(doc.layers):
        name = f"{index:02d}_{layer.id}.png"
        rgba = layer.full_canvas(doc.canvas)
        if not cv2.imwrite(os.path.join(folder, name), cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA)):
            raise CliError(f"could not write {os.path.join(folder, name)}")
        names.append(name)
    return names


def write_preview_gif(doc, path: str, seconds: Optional[float] = None, fps: int = 12,
                      max_side: int = 384) -> None:
    """An animated GIF of the first motion (the idle), rendered by the reference renderer."""
    import numpy as np
    from PIL import Image

    from .core.evaluate import resolve_values, sample_motion
    from .core.render import Renderer

    scale = min(1.0, max_side / max(doc.canvas.width, doc.canvas.height))
    renderer = Renderer(doc, scale=scale)
    motion = doc.motions[0] if doc.motions else None
    duration = seconds or (motion.duration if motion else 1.0)
    frames = []
    for i in range(max(1, int(duration * fps))):
        values = sample_motion(doc, motion, i / fps) if motion else {}
        img = renderer.render(resolve_values(doc, values), background=(255, 255, 255))
        frames.append(Image.fromarray(np.ascontiguousarray(img[..., :3])))
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=int(1000 / fps),
                   loop=0, optimize=False)


@contextlib.contextmanager
def blender_session():
    """An empty Blender scene with this add-on registered (background bpy)."""
    os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="image_to_rig-bl-"))
    import bpy

    from . import register, unregister

    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    register()
    try:
        yield
    finally:
        unregister()


def command_rig(args) -> int:
    from .core.image_io import ImageInputError
    from .core.pipeline import PipelineOptions, run_pipeline

    started = time.perf_counter()
    out_dir = os.path.abspath(args.out)
    stem = os.path.splitext(os.path.basename(args.input))[0] or "rig"
    model_paths = {}
    for item in args.model:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise CliError(f"--model needs NAME=PATH, got {item!r}")
        model_paths[name.strip()] = os.path.abspath(path)
    settings = {"model_paths": model_paths, "seed": args.seed, "steps": args.steps,
                "strength": args.strength}
    if args.prompt:
        settings["prompt"] = args.prompt
    if args.models_dir:
        settings["models_dir"] = os.path.abspath(args.models_dir)
    options = PipelineOptions(use_animeface=not args.no_animeface, mesh_density=args.mesh_density,
                              foreground_backend=args.foreground, parts_backend=args.parts,
                              inpaint_backend=args.inpaint, backend_settings=settings,
                              external_command=args.external_command or "")

    def progress(stage: str, fraction: float) -> None:
        if not args.quiet:
            print(f"[{fraction * 100:5.1f}%] {stage}", file=sys.stderr)

    try:
        result = run_pipeline(args.input, options, progress)
    except ImageInputError as exc:
        raise CliError(f"cannot use {args.input!r}: {exc}") from None
    except ValueError as exc:
        raise CliError(f"could not rig {args.input!r}: {exc}") from None

    os.makedirs(os.path.dirname(out_dir) or ".", exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".image_to_rig-", dir=os.path.dirname(out_dir) or ".")
    try:
        timings = {t.name: round(t.seconds, 4) for t in result.timings}
        t0 = time.perf_counter()
        write_layer_pngs(result.doc, os.path.join(staging, "layers"))
        timings["layer_pngs"] = round(time.perf_counter() - t0, 4)

        t0 = time.perf_counter()
        with blender_session():
            from .scene.build import build_scene
            from .scene.gather import gather_document
            import bpy

            collection = build_scene(result.doc)
            timings["blender_build"] = round(time.perf_counter() - t0, 4)
            t0 = time.perf_counter()
            gathered = gather_document(collection)
            from .core.export_web import export_folder
            export_folder(gathered, os.path.join(staging, "web"), warnings=result.warnings)
            timings["export"] = round(time.perf_counter() - t0, 4)
            t0 = time.perf_counter()
            bpy.ops.wm.save_as_mainfile(filepath=os.path.join(staging, f"{stem}.blend"),
                                        compress=True)
            timings["save_blend"] = round(time.perf_counter() - t0, 4)
        if args.preview:
            t0 = time.perf_counter()
            write_preview_gif(result.doc, os.path.join(staging, "preview.gif"))
            timings["preview"] = round(time.perf_counter() - t0, 4)

        report = result.report()
        report["stages"] = timings
        report["rig_and_export_seconds"] = round(
            sum(v for k, v in timings.items() if k not in ("layer_pngs", "save_blend", "preview")), 4)
        report["wall_seconds"] = round(time.perf_counter() - started, 3)
        report["peak_rss_mb"] = _peak_rss_mb()
        with open(os.path.join(staging, "report.json"), "w", encoding="utf-8") as fh:
            json.dump(report, fh, indent=2)
        _replace_folder_contents(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if not args.quiet:
        print(f"wrote {out_dir}: {stem}.blend, web/, layers/ ({len(result.doc.layers)} layers), "
              f"report.json in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        for warning in result.warnings:
            print(f"warning: {warning}", file=sys.stderr)
    return 0


def _replace_folder_contents(staging: str, out_dir: str) -> None:
    """Move the finished outputs into out_dir, replacing same-named entries only."""
    os.makedirs(out_dir, exist_ok=True)
    for name in os.listdir(staging):
        target = os.path.join(out_dir, name)
        if os.path.isdir(target) and not os.path.islink(target):
            shutil.rmtree(target)
        elif os.path.exists(target):
            os.remove(target)
        os.replace(os.path.join(staging, name), target)
    os.rmdir(staging)


def parse_params(items: List[str]) -> Dict[str, float]:
    values: Dict[str, float] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise CliError(f"--param needs ID=VALUE, got {item!r}")
        try:
            values[key.strip()] = float(raw)
        except ValueError:
            raise CliError(f"--param {key}: {raw!r} is not a number") from None
    return values


def _cubism_render(path: str):
    """(parameter ids, render function) of a .moc3, or of a model3.json naming one."""
    from .core.moc3 import Moc3Error
    from .core.moc3_runtime import open_cubism_model, render_drawables

    try:
        moc, model, pages = open_cubism_model(path)
    except Moc3Error as exc:
        raise CliError(f"cannot render {os.path.basename(path)}: {exc}") from None
    return set(model.param_ids), lambda values, size: render_drawables(
        moc, model.evaluate(values), pages, size)


def _names_a_moc3(path: str) -> bool:
    try:
        with open(path, encoding="utf-8") as fh:
            moc = json.load(fh).get("FileReferences", {}).get("Moc", "")
    except (OSError, ValueError, AttributeError):
        return False
    return isinstance(moc, str) and moc.endswith(".moc3")


def command_render(args) -> int:
    import cv2

    from .core.document import DocumentError
    from .core.render import Renderer
    from .core.runtime_format import load_model

    if args.model.endswith(".moc3") or (args.model.endswith(".model3.json") and _names_a_moc3(args.model)):
        known, draw = _cubism_render(args.model)
    else:
        try:
            doc = load_model(args.model)
        except DocumentError as exc:
            raise CliError(str(exc)) from None
        known = {p.id for p in doc.parameters}
        renderer = Renderer(doc)
        draw = lambda values, size: renderer.render(values, size=size)  # noqa: E731
    values = parse_params(args.param)
    unknown = sorted(set(values) - known)
    if unknown:
        raise CliError(f"unknown parameter(s) {', '.join(unknown)}; the model has: "
                       f"{', '.join(sorted(known))}")
    size = None
    if args.size:
        try:
            w, h = (int(v) for v in args.size.lower().split("x"))
        except ValueError:
            raise CliError(f"--size needs WIDTHxHEIGHT, got {args.size!r}") from None
        size = (w, h)
    img = draw(values, size)
    out = os.path.abspath(args.output)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    if not cv2.imwrite(out, cv2.cvtColor(img, cv2.COLOR_RGBA2BGRA)):
        raise CliError(f"could not write {out} (use a .png name in a writable folder)")
    if not args.quiet:
        print(f"wrote {out}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m image_to_rig",
                                     description="Turn one character illustration into a 2D rig.")
    sub = parser.add_subparsers(dest="command", required=True)
    rig = sub.add_parser("rig", help="illustration -> .blend, web export, layers, report")
    rig.add_argument("input", help="the illustration (PNG, JPEG, ...)")
    rig.add_argument("--out", required=True, help="output folder")
    rig.add_argument("--no-animeface", action="store_true",
                     help="use the built-in face detector only")
    rig.add_argument("--mesh-density", type=float, default=1.0,
                     help="scale the number of mesh vertices (default 1.0)")
    rig.add_argument("--preview", action="store_true", help="also write preview.gif of the idle motion")
    ai = rig.add_argument_group("AI backends (optional; see requirements-ai.txt)")
    ai.add_argument("--foreground", default="builtin", help="foreground backend: builtin or isnet")
    ai.add_argument("--parts", default="builtin", help="part segmentation: builtin or face_parts_unet")
    ai.add_argument("--inpaint", default="builtin", help="inpainting: builtin, lama or sd_inpaint")
    ai.add_argument("--model", action="append", default=[], metavar="NAME=PATH",
                    help="where a model's weights are: isnet_anime, anime_face_parts, big_lama or "
                         "sd_inpaint (e.g. isnet_anime=~/models/isnetis.ckpt)")
    ai.add_argument("--models-dir", help="folder holding downloaded models")
    ai.add_argument("--external-command", metavar="TEMPLATE",
                    help="run your own layered decomposition (e.g. a See-through install) and "
                         "rig its PSD: a command with {input} and {output} (or {output_dir})")
    ai.add_argument("--prompt", help="inpainting prompt ('{tag}' is replaced by the layer tag)")
    ai.add_argument("--seed", type=int, default=0)
    ai.add_argument("--steps", type=int, default=20)
    ai.add_argument("--strength", type=float, default=1.0)
    rig.add_argument("--quiet", action="store_true")
    rig.set_defaults(func=command_rig)
    render = sub.add_parser("render", help="render an exported model.json (or its .moc3) at "
                                           "parameter values")
    render.add_argument("model", help="an exported model.json, or the .moc3 / .model3.json beside "
                                      "it (played as the Cubism Core does)")
    render.add_argument("--param", action="append", default=[], metavar="ID=VALUE")
    render.add_argument("-o", "--output", required=True, help="output PNG")
    render.add_argument("--size", help="WIDTHxHEIGHT (default: the input image's canvas)")
    render.add_argument("--quiet", action="store_true")
    render.set_defaults(func=command_render)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("cancelled; nothing was written", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, not the user's fault: say so, keep the details
        import traceback

        log = os.path.join(tempfile.gettempdir(), "image_to_rig-error.log")
        with open(log, "w", encoding="utf-8") as fh:
            traceback.print_exc(file=fh)
        print(f"error: Image to Rig hit an internal problem ({exc.__class__.__name__}: {exc}). "
              f"Nothing was written. Details for a bug report: {log}", file=sys.stderr)
        return 3
