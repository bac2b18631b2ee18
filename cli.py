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
import math
import os
import shutil
import sys
import tempfile
import time


class CliError(Exception):
    """A problem to tell the user in one line, with exit code 2."""


def _peak_rss_mb() -> float | None:
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / 1024.0 if sys.platform != "darwin" else peak / 2**20, 1)


def write_layer_pngs(doc, folder: str) -> list[str]:
    """One full-canvas RGBA PNG per layer, NN = draw order from 00 at the back."""
    import cv2

    os.makedirs(folder, exist_ok=True)
    names = []
    for index, layer in enumerate(doc.layers):
        name = f"{index:02d}_{layer.id}.png"
        rgba = layer.full_canvas(doc.canvas)
        ok, data = cv2.imencode(".png", cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
        if not ok:
            raise CliError(f"could not encode layer {layer.id} as PNG")
        with open(os.path.join(folder, name), "wb") as fh:  # a full disk raises OSError here
            fh.write(data.tobytes())
        names.append(name)
    return names


def write_preview_gif(
    doc, path: str, seconds: float | None = None, fps: int = 12, max_side: int = 384
) -> None:
    """An animated GIF of the first motion (the idle), rendered by the reference renderer."""
    import numpy as np
    from PIL import Image

    from .core.runtime.evaluate import resolve_values, sample_motion
    from .core.runtime.render import Renderer

    scale = min(1.0, max_side / max(doc.canvas.width, doc.canvas.height))
    renderer = Renderer(doc, scale=scale)
    motion = doc.motions[0] if doc.motions else None
    duration = seconds or (motion.duration if motion else 1.0)
    frames = []
    for i in range(max(1, int(duration * fps))):
        values = sample_motion(doc, motion, i / fps) if motion else {}
        img = renderer.render(resolve_values(doc, values), background=(255, 255, 255))
        frames.append(Image.fromarray(np.ascontiguousarray(img[..., :3])))
    frames[0].save(
        path, save_all=True, append_images=frames[1:], duration=int(1000 / fps), loop=0, optimize=False
    )


@contextlib.contextmanager
def blender_session():
    """An empty Blender scene with this add-on registered (background bpy).

    Ctrl-C and SIGTERM wait while Blender starts and stops (interrupting its
    start-up crashes it); Blender's user folder is a private temporary one,
    removed afterwards, unless BLENDER_USER_RESOURCES is set."""
    from .core.formats.output_folder import drop_deferred, signals_held

    drop_deferred()
    own_resources = None
    if not os.environ.get("BLENDER_USER_RESOURCES"):
        own_resources = tempfile.mkdtemp(prefix="image_to_rig-bl-")
        os.environ["BLENDER_USER_RESOURCES"] = own_resources
    registered = False
    try:
        with signals_held():
            import bpy

            from . import register, unregister

            bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
            register()
            registered = True
        yield
    finally:
        if registered:
            with signals_held():
                unregister()
        if own_resources is not None:
            os.environ.pop("BLENDER_USER_RESOURCES", None)
            shutil.rmtree(own_resources, ignore_errors=True)


REPORT_FORMAT = "image-to-rig-output"


def is_rig_output(folder: str) -> bool:
    """Whether `folder` holds an earlier `rig` result (its report.json says so;
    older results are known by their report's keys)."""
    try:
        with open(os.path.join(folder, "report.json"), encoding="utf-8") as fh:
            report = json.load(fh)
    except (OSError, ValueError, RecursionError):
        return False
    if not isinstance(report, dict):
        return False
    return report.get("format") == REPORT_FORMAT or {"parameters", "layers", "stages"} <= set(report)


def _model_paths(items: list[str]) -> dict[str, str]:
    paths = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise CliError(f"--model needs NAME=PATH, got {item!r}")
        paths[name.strip()] = os.path.abspath(path)
    return paths


def command_rig(args) -> int:
    from .core.formats.image_in import ImageInputError
    from .core.model.errors import ImageToRigError
    from .core.formats.output_folder import (
        FolderLock,
        OutputFolderError,
        check_target,
        make_staging,
        plain_os_error,
        swap_in,
    )
    from .core.pipeline import PipelineOptions, PipelineOptionsError, check_mesh_density, run_pipeline

    started = time.perf_counter()
    try:  # argparse's float takes inf and nan: the range is the pipeline's to say
        check_mesh_density(args.mesh_density)
    except PipelineOptionsError as exc:
        raise CliError(str(exc)) from None
    stem = os.path.splitext(os.path.basename(args.input))[0] or "rig"
    settings = {
        "model_paths": _model_paths(args.model),
        "seed": args.seed,
        "steps": args.steps,
        "strength": args.strength,
    }
    if args.prompt:
        settings["prompt"] = args.prompt
    if args.models_dir:
        settings["models_dir"] = os.path.abspath(args.models_dir)
    options = PipelineOptions(
        use_animeface=not args.no_animeface,
        mesh_density=args.mesh_density,
        foreground_backend=args.foreground,
        parts_backend=args.parts,
        inpaint_backend=args.inpaint,
        backend_settings=settings,
        external_command=args.external_command or "",
    )

    def progress(stage: str, fraction: float) -> None:
        if not args.quiet:
            print(f"[{fraction * 100:5.1f}%] {stage}", file=sys.stderr)

    try:
        out_dir = check_target(args.out, is_rig_output, "rig output")
        lock = FolderLock(out_dir).acquire()
    except OutputFolderError as exc:
        raise CliError(str(exc)) from None
    try:
        try:
            result = run_pipeline(args.input, options, progress)
        except ImageInputError as exc:
            raise CliError(f"cannot use {args.input!r}: {exc}") from None
        except ImageToRigError as exc:
            raise CliError(f"could not rig {args.input!r}: {exc}") from None
        try:
            staging = make_staging(out_dir)
        except OutputFolderError as exc:
            raise CliError(str(exc)) from None
        try:
            _write_rig_outputs(result, staging, stem, args, started)
            try:
                swap_in(staging, out_dir)
            except KeyboardInterrupt as exc:
                if not os.path.isdir(staging):  # the swap was done: say so
                    exc.args = (f"the results were already written to {out_dir}",)
                raise
        except OSError as exc:
            raise CliError(
                f"writing the results beside {out_dir} failed: {plain_os_error(exc)}; "
                "nothing was changed there"
            ) from None
        except OutputFolderError as exc:
            raise CliError(str(exc)) from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    finally:
        lock.release()
    if not args.quiet:
        print(
            f"wrote {out_dir}: {stem}.blend, web/, layers/ ({len(result.doc.layers)} layers), "
            f"report.json in {time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
        for warning in result.warnings:
            print(f"warning: {warning}", file=sys.stderr)
    return 0


def _blender_reason(exc: RuntimeError) -> str:
    """A Blender operator's error report in plain words."""
    text = " ".join(str(exc).replace("Error:", " ").split())
    if "No space left" in text:
        return "the disk is full"
    if "Permission denied" in text:
        return "permission denied"
    return text[:200] or "no reason given"


def _write_rig_outputs(result, staging: str, stem: str, args, started: float) -> None:
    """Every result file into the staging folder (the swap puts them in place)."""
    from .core.formats.export_folder import ExportError
    from .core.formats.output_folder import raise_deferred

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
        raise_deferred()  # a Ctrl-C or SIGTERM that came inside one of Blender's handlers
        timings["blender_build"] = round(time.perf_counter() - t0, 4)
        t0 = time.perf_counter()
        gathered = gather_document(collection)
        from .core.formats.export_folder import export_folder

        try:
            export_folder(gathered, os.path.join(staging, "web"), warnings=result.warnings)
        except ExportError as exc:  # said of the staging folder: say it of the user's
            reason = str(exc).replace(f" beside {os.path.realpath(os.path.join(staging, 'web'))}", "")
            raise CliError(f"{reason}; nothing was changed in {os.path.abspath(args.out)}") from None
        timings["export"] = round(time.perf_counter() - t0, 4)
        t0 = time.perf_counter()
        blend = os.path.join(staging, f"{stem}.blend")
        try:
            bpy.ops.wm.save_as_mainfile(filepath=blend, compress=True)
        except RuntimeError as exc:  # Blender's own report, e.g. "Error: No space left on device"
            raise CliError(
                f"Blender could not save {stem}.blend beside the output folder "
                f"({_blender_reason(exc)}); nothing was changed there"
            ) from None
        if not os.path.isfile(blend):  # Blender reports a failed save only in its log
            raise CliError(
                f"Blender could not save {stem}.blend beside the output folder "
                "(is the disk full?); nothing was changed there"
            )
        timings["save_blend"] = round(time.perf_counter() - t0, 4)
    raise_deferred()
    if args.preview:
        t0 = time.perf_counter()
        write_preview_gif(result.doc, os.path.join(staging, "preview.gif"))
        timings["preview"] = round(time.perf_counter() - t0, 4)

    report = result.report()
    report["format"] = REPORT_FORMAT
    report["stages"] = timings
    report["rig_and_export_seconds"] = round(
        sum(v for k, v in timings.items() if k not in ("layer_pngs", "save_blend", "preview")), 4
    )
    report["wall_seconds"] = round(time.perf_counter() - started, 3)
    report["peak_rss_mb"] = _peak_rss_mb()
    with open(os.path.join(staging, "report.json"), "w", encoding="utf-8") as fh:
        json.dump(report, fh, indent=2)


def parse_params(items: list[str]) -> dict[str, float]:
    values: dict[str, float] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise CliError(f"--param needs ID=VALUE, got {item!r}")
        try:
            value = float(raw)
        except ValueError:
            raise CliError(f"--param {key}: {raw!r} is not a number") from None
        if value != value or value in (float("inf"), float("-inf")):
            raise CliError(
                f"--param {key}: {raw!r} is not a finite number; give a value in "
                "the parameter's range (it is clamped to it)"
            )
        values[key.strip()] = value
    return values


def _cubism_render(path: str):
    """(parameter ids, render function) of a .moc3, or of a model3.json naming one."""
    from .core.formats.moc3 import Moc3Error
    from .core.formats.moc3_runtime import open_cubism_model, render_drawables
    from .core.runtime.raster_budget import check_image_size

    try:
        moc, model, pages = open_cubism_model(path)
    except Moc3Error as exc:
        raise CliError(f"cannot render {os.path.basename(path)}: {exc}") from None

    def draw(values, size):
        if size is None:
            w, h = moc.canvas.width, moc.canvas.height
            if not (math.isfinite(w) and math.isfinite(h)):
                raise CliError(
                    f"cannot render {os.path.basename(path)}: its canvas size is not a finite number"
                )
            size = (int(round(w)), int(round(h)))
            check_image_size(*size, what=f"the canvas of {os.path.basename(path)}")
        return render_drawables(moc, model.evaluate(values), pages, size)

    return set(model.param_ids), draw


def _names_a_moc3(path: str) -> bool:
    from .core.formats.json_text import read_json_or_none

    data = read_json_or_none(path, lambda d: isinstance(d, dict))
    refs = data.get("FileReferences") if data else None
    moc = refs.get("Moc", "") if isinstance(refs, dict) else ""
    return isinstance(moc, str) and moc.endswith(".moc3")


def command_render(args) -> int:
    from .core.formats.image_out import check_png_target, write_png
    from .core.formats.model_budget import check_reference_render_work
    from .core.formats.model_json import load_model
    from .core.formats.render_request import model_own_files, parse_size
    from .core.model.errors import ImageToRigError
    from .core.runtime.raster_budget import check_image_size
    from .core.runtime.render import Renderer
    from .core.runtime.render_bounded import render_bounded

    try:  # what the command line asks is checked before any work
        out = check_png_target(args.output)
        values = parse_params(args.param)
        size = parse_size(args.size) if args.size else None
        if size is not None:
            check_image_size(*size, what="--size")
        if os.path.isdir(args.model):
            raise CliError(f"{args.model} is a folder; give the model.json (or .moc3) in it")
        if os.path.exists(out):  # never over one of the model's own files
            out = check_png_target(out, model_own_files(args.model))
        if args.model.endswith(".moc3") or (
            args.model.endswith(".model3.json") and _names_a_moc3(args.model)
        ):
            known, draw = _cubism_render(args.model)
        else:
            renderer = Renderer(
                load_model(  # drawing budget at rest, before any decoding
                    args.model, lambda data: check_reference_render_work(data, size)
                )
            )
            known = {p.id for p in renderer.doc.parameters}
            draw = lambda values, size: render_bounded(renderer, values, size)  # noqa: E731
        unknown = sorted(set(values) - known)
        if unknown:
            raise CliError(
                f"unknown parameter(s) {', '.join(unknown)}; the model has: {', '.join(sorted(known))}"
            )
        write_png(out, draw(values, size))
    except ImageToRigError as exc:
        raise CliError(str(exc)) from None
    if not args.quiet:
        print(f"wrote {out}", file=sys.stderr)
    return 0


def command_convert_weights(args) -> int:
    """A checkpoint that pickles more than tensors -> a .safetensors file the
    backends load.  Only on the user's explicit word that they trust it."""
    from .core.backends.base import BackendError, missing_packages

    if not args.trust_this_file:
        raise CliError(
            f"{args.input} is converted only if you trust where it came from: add "
            "--trust-this-file to say so (its tensors are copied into a .safetensors "
            "file; other objects in it are left out)"
        )
    missing = missing_packages(("torch", "safetensors"))
    if missing:
        raise CliError(f"converting weights needs {', '.join(missing)} (requirements-ai.txt)")
    from .core.backends.torch_util import convert_to_safetensors

    try:
        count = convert_to_safetensors(os.path.abspath(args.input), os.path.abspath(args.output))
    except BackendError as exc:
        raise CliError(str(exc)) from None
    if not args.quiet:
        print(
            f"wrote {args.output}: {count} tensors from {args.input}, which you said you "
            "trust; use the .safetensors file from now on",
            file=sys.stderr,
        )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m image_to_rig", description="Turn one character illustration into a 2D rig."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    rig = sub.add_parser("rig", help="illustration -> .blend, web export, layers, report")
    rig.add_argument("input", help="the illustration (PNG, JPEG, ...)")
    rig.add_argument("--out", required=True, help="output folder")
    rig.add_argument("--no-animeface", action="store_true", help="use the built-in face detector only")
    rig.add_argument(
        "--mesh-density",
        type=float,
        default=1.0,
        help="scale the number of mesh vertices, 0.25 to 4 (default 1.0)",
    )
    rig.add_argument("--preview", action="store_true", help="also write preview.gif of the idle motion")
    ai = rig.add_argument_group("AI backends (optional; see requirements-ai.txt)")
    ai.add_argument("--foreground", default="builtin", help="foreground backend: builtin or isnet")
    ai.add_argument("--parts", default="builtin", help="part segmentation: builtin or face_parts_unet")
    ai.add_argument("--inpaint", default="builtin", help="inpainting: builtin, lama or sd_inpaint")
    ai.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="where a model's weights are: isnet_anime, anime_face_parts, big_lama or "
        "sd_inpaint (e.g. isnet_anime=~/models/isnetis.ckpt)",
    )
    ai.add_argument("--models-dir", help="folder holding downloaded models")
    ai.add_argument(
        "--external-command",
        metavar="TEMPLATE",
        help="run your own layered decomposition (e.g. a See-through install) and "
        "rig its PSD: a command with {input} and {output} (or {output_dir})",
    )
    ai.add_argument("--prompt", help="inpainting prompt ('{tag}' is replaced by the layer tag)")
    ai.add_argument("--seed", type=int, default=0)
    ai.add_argument("--steps", type=int, default=20)
    ai.add_argument("--strength", type=float, default=1.0)
    rig.add_argument("--quiet", action="store_true")
    rig.set_defaults(func=command_rig)
    render = sub.add_parser("render", help="render an exported model.json (or its .moc3) at parameter values")
    render.add_argument(
        "model",
        help="an exported model.json, or the .moc3 / .model3.json beside it (played as the Cubism Core does)",
    )
    render.add_argument("--param", action="append", default=[], metavar="ID=VALUE")
    render.add_argument("-o", "--output", required=True, help="output PNG")
    render.add_argument("--size", help="WIDTHxHEIGHT (default: the input image's canvas)")
    render.add_argument("--quiet", action="store_true")
    render.set_defaults(func=command_render)
    convert = sub.add_parser(
        "convert-weights",
        help="copy the tensors of a checkpoint you trust into a .safetensors "
        "file (for weights that store more than tensors)",
    )
    convert.add_argument("input", help="the checkpoint (.ckpt, .pth, .pt)")
    convert.add_argument("output", help="the .safetensors file to write")
    convert.add_argument(
        "--trust-this-file", action="store_true", help="say that you trust where the checkpoint came from"
    )
    convert.add_argument("--quiet", action="store_true")
    convert.set_defaults(func=command_convert_weights)
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM: the run stops like Ctrl-C, cleaning up on the way out."""


def _on_sigterm(signum, frame):
    raise Terminated()


def write_error_log() -> str:
    """The traceback of the exception being handled, in a new private file
    (unpredictable name, mode 0600, created without following links)."""
    import traceback

    fd, path = tempfile.mkstemp(prefix="image_to_rig-error-", suffix=".log")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        traceback.print_exc(file=fh)
    return path


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    import signal

    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return args.func(args)
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (Terminated)
        what = exc.args[0] if exc.args else "nothing was written"
        stopped = isinstance(exc, Terminated)
        print(f"{'stopped' if stopped else 'cancelled'}; {what}", file=sys.stderr)
        return 143 if stopped else 130
    except Exception as exc:  # a bug, not the user's fault: say so, keep the details
        log = write_error_log()
        print(
            f"error: Image to Rig hit an internal problem ({exc.__class__.__name__}: {exc}). "
            f"Nothing was written. Details for a bug report: {log}",
            file=sys.stderr,
        )
        return 3
