# SPDX-License-Identifier: GPL-3.0-or-later
"""The pipeline: image -> rig document, in named, timed stages with progress.

foreground -> landmarks -> decompose -> complete -> rig (meshes included) ->
motions (`STAGES`; each stage module's docstring starts "Stage N of the
pipeline (name)").  Export is separate (core/formats/export_folder.py)
because in Blender it runs on the gathered scene.
"""

from __future__ import annotations

import math
import tempfile
import time
import tracemalloc
from dataclasses import dataclass, field
from collections.abc import Callable

import numpy as np

from .model.document import Canvas, RigDocument
from .model.errors import ImageToRigError
from .formats.image_in import load_image
from .stages.hair_physics import default_hair_physics

ProgressCallback = Callable[[str, float], None]  # (stage label, fraction 0..1)


class PipelineCancelled(Exception):
    """The progress callback asked the pipeline to stop."""


@dataclass
class PipelineOptions:
    use_animeface: bool = True  # use the animeface detector when it is installed
    mesh_density: float = 1.0  # scales the vertex counts of the auto mesh
    track_memory: bool = False  # record peak Python-heap memory per run (slower)
    # Backends per stage, by name (core/backends); "builtin" is the classical default.
    foreground_backend: str = "builtin"
    parts_backend: str = "builtin"
    inpaint_backend: str = "builtin"
    # Plain, picklable settings the backends read: "model_paths", "models_dir",
    # "device", "prompt", "prompts" (per tag), "seed", "steps", "strength", sizes.
    backend_settings: dict[str, object] = field(default_factory=dict)
    # An external layered decomposition (e.g. a See-through installation): a command
    # template with {input} and {output}; its PSD replaces stages 1-4.
    external_command: str = ""


@dataclass
class StageTiming:
    name: str
    seconds: float


@dataclass
class PipelineResult:
    doc: RigDocument
    timings: list[StageTiming] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    found: dict[str, object] = field(default_factory=dict)
    peak_memory_mb: float | None = None

    def report(self) -> dict:
        return {
            "source": self.doc.source,
            "canvas": [self.doc.canvas.width, self.doc.canvas.height],
            "stages": {t.name: round(t.seconds, 4) for t in self.timings},
            "total_seconds": round(sum(t.seconds for t in self.timings), 4),
            "peak_memory_mb": self.peak_memory_mb,
            "found": self.found,
            "layers": [
                {"id": l.id, "tag": l.tag, "side": l.side, "generated": l.generated, "depth": i}
                for i, l in enumerate(self.doc.layers)
            ],
            "parameters": {
                p.id: {"confidence": round(p.confidence, 3), "min": p.min, "default": p.default, "max": p.max}
                for p in self.doc.parameters
            },
            "warnings": list(self.warnings),
        }


STAGES = ("foreground", "landmarks", "decompose", "complete", "rig", "motions")
MESH_DENSITY_RANGE = (0.25, 4.0)  # the panel's slider range (registration.py)


class PipelineOptionsError(ImageToRigError):
    """An option is out of its range; the message says which and what it takes."""


def check_mesh_density(value) -> float:
    """The mesh density as a float in MESH_DENSITY_RANGE, or PipelineOptionsError."""
    lo, hi = MESH_DENSITY_RANGE
    try:
        density = float(value)
    except (TypeError, ValueError):
        raise PipelineOptionsError(f"the mesh density must be a number, got {value!r}") from None
    if not (math.isfinite(density) and lo <= density <= hi):
        raise PipelineOptionsError(
            f"the mesh density must be a number from {lo} to {hi} (1.0 is the default), got {value!r}"
        )
    return density


def run_pipeline(
    source: str | np.ndarray, options: PipelineOptions | None = None, progress: ProgressCallback | None = None
) -> PipelineResult:
    """Run every stage on an image path or an RGBA array; raise ValueError subclasses
    with a plain message on bad input.  `progress` may raise PipelineCancelled."""
    from .stages import complete, decompose, faces, foreground, landmarks, rig, upscale

    options = options or PipelineOptions()
    check_mesh_density(options.mesh_density)
    timings: list[StageTiming] = []
    warnings: list[str] = []

    def step(index: int, name: str):
        if progress is not None:
            progress(name, index / len(STAGES))

    if options.track_memory:
        tracemalloc.start()
    try:
        t0 = time.perf_counter()
        if isinstance(source, str) and source.lower().endswith(".psd"):
            return _run_layered(source, options, progress, timings, warnings)
        if isinstance(source, str) and options.external_command:
            from .backends.external import run_external_decomposition

            if progress is not None:
                progress("external decomposition", 0.0)
            load_image(source)  # the same checks and plain errors as any input
            with tempfile.TemporaryDirectory(prefix="image_to_rig-external-") as work:
                psd = run_external_decomposition(options.external_command, source, work)
                timings.append(StageTiming("external", time.perf_counter() - t0))
                result = _run_layered(psd, options, progress, timings, warnings)
            result.doc.source = source
            result.found["input"] = "external decomposition"
            return result
        if isinstance(source, str):
            loaded = load_image(source)
            rgba = loaded.rgba
            warnings.extend(loaded.warnings)
            source_name = source
        else:
            rgba = np.ascontiguousarray(source)
            if rgba.ndim != 3 or rgba.shape[2] != 4 or rgba.dtype != np.uint8:
                raise ValueError("the pipeline needs an RGBA uint8 image")
            source_name = ""
        timings.append(StageTiming("load", time.perf_counter() - t0))

        def find_character(rgba):
            step(0, "foreground")
            t0 = time.perf_counter()
            if options.foreground_backend in ("", "builtin"):
                mask = foreground.extract_foreground(rgba)
            else:
                from .backends import make_backend

                mask = make_backend(
                    "foreground", options.foreground_backend, options.backend_settings
                ).segment(rgba)
            timings.append(StageTiming("foreground", time.perf_counter() - t0))

            step(1, "landmarks")
            t0 = time.perf_counter()
            lm = landmarks.detect_landmarks(rgba, mask, use_animeface=options.use_animeface)
            # more than one character: rig the one found, leave the others out (or refuse)
            face_check = faces.check_one_character(rgba, mask, lm, use_animeface=options.use_animeface)
            timings.append(StageTiming("landmarks", time.perf_counter() - t0))
            return lm, face_check

        lm, face_check = find_character(rgba)
        # a character drawn small is enlarged and found again at the larger size
        enlarged = upscale.upscale_small_face(rgba, lm.face_box[2] - lm.face_box[0])
        if enlarged is not None:
            rgba = enlarged.rgba
            warnings.append(enlarged.warning)
            lm, face_check = find_character(rgba)
        canvas = Canvas(int(rgba.shape[1]), int(rgba.shape[0]))
        mask = face_check.mask
        warnings.extend(face_check.warnings)

        step(2, "decompose")
        t0 = time.perf_counter()
        # an opaque image's rim blends the character with its background: un-blended,
        # a part moving over another shows no light line along its edge
        rgba = foreground.unblend_edges(rgba, mask)
        layers = decompose.decompose(rgba, mask, lm)
        if options.parts_backend not in ("", "builtin"):
            from .backends import make_backend
            from .backends.parts_hint import apply_parts_hint

            labels = make_backend("parts", options.parts_backend, options.backend_settings).segment(
                rgba, mask
            )
            if labels is not None:
                layers = apply_parts_hint(rgba, mask, layers, labels, lm.chin[1])
        timings.append(StageTiming("decompose", time.perf_counter() - t0))

        step(3, "complete")
        t0 = time.perf_counter()
        if options.inpaint_backend in ("", "builtin"):
            layers = complete.complete_layers(layers, canvas, lm)
        else:
            from .backends import inpaint_hook, make_backend

            painter = make_backend("inpaint", options.inpaint_backend, options.backend_settings)
            painter.require_available()
            hook = inpaint_hook(
                painter, options.backend_settings, progress=lambda layer: step(3, f"complete: {layer}")
            )
            layers = complete.complete_layers(layers, canvas, lm, inpaint=hook)
        timings.append(StageTiming("complete", time.perf_counter() - t0))

        step(4, "rig")
        t0 = time.perf_counter()
        doc = rig.build_rig(canvas, layers, mesh_density=options.mesh_density)
        doc.source = source_name
        timings.append(StageTiming("rig", time.perf_counter() - t0))

        _finish(doc, timings, progress)

        found = {
            "landmarks": lm.source,
            "face_confidence": round(float(lm.confidence), 3),
            "faces": face_check.report(),
            "tags": sorted({l.tag for l in layers}),
            "generated": sorted(l.id for l in layers if l.generated),
        }
        if enlarged is not None:
            found["upscaled"] = enlarged.factor
        for p in doc.parameters:
            if p.confidence < 0.5:
                warnings.append(f"{p.id} has low confidence ({p.confidence:.2f}): check it in Blender")
        warnings.extend(getattr(lm, "warnings", []))
        peak = None
        if options.track_memory:
            peak = tracemalloc.get_traced_memory()[1] / 2**20
        return PipelineResult(doc, timings, warnings, found, peak)
    finally:
        if options.track_memory:
            tracemalloc.stop()


def _finish(doc: RigDocument, timings: list[StageTiming], progress: ProgressCallback | None) -> None:
    """The last stage, shared by both inputs: motions and hair physics."""
    from .stages import motions

    if progress is not None:
        progress("motions", 5 / len(STAGES))
    t0 = time.perf_counter()
    doc.motions = motions.make_all_motions(doc)
    doc.physics = default_hair_physics(doc)
    doc.validate()
    timings.append(StageTiming("motions", time.perf_counter() - t0))
    if progress is not None:
        progress("done", 1.0)


def _run_layered(
    path: str,
    options: PipelineOptions,
    progress: ProgressCallback | None,
    timings: list[StageTiming],
    warnings: list[str],
) -> PipelineResult:
    """A layered PSD: the artist's (or a decomposition model's) layers replace stages 1-4."""
    from .stages import complete, rig
    from .model.document import layer_id
    from .formats.psd_in import load_psd

    t0 = time.perf_counter()
    imported = load_psd(path)
    warnings.extend(imported.warnings)
    layers = list(imported.layers)
    timings.append(StageTiming("load", time.perf_counter() - t0))
    if progress is not None:
        progress("complete", 3 / len(STAGES))
    t0 = time.perf_counter()
    generated: list[str] = []
    used_variants: list[str] = []
    interior_id = layer_id("mouth", role="interior")
    open_mouth = next((v for v in imported.variants if v.tag == "mouth" and v.role == "open"), None)
    mouth = next((l for l in layers if l.tag == "mouth" and not l.role), None)
    if interior_id not in {l.id for l in layers} and mouth is not None:
        if open_mouth is not None:
            # The artist's open mouth is what talking reveals.
            open_mouth.id, open_mouth.role = interior_id, "interior"
            interior = open_mouth
            used_variants.append(open_mouth.source_name)
        else:
            face = next((l for l in layers if l.tag == "face"), None)
            interior = complete.make_mouth_interior(
                mouth,
                None,
                imported.canvas,
                skin_rgb=complete.drawn_colour(face),
                eyewhite=next((l for l in layers if l.tag == "eyewhite"), None),
            )
            generated.append(interior.id)
        layers.insert(layers.index(mouth), interior)
    # Drawn closed eyes go right above their side's eye parts; the rig fades
    # them in as the eye closes (an opacity keyform, core/stages/rig).
    eye_tags = ("eyewhite", "irides", "eyelash")
    for variant in imported.variants:
        if variant.role != "closed" or variant.tag not in eye_tags:
            continue
        parts = [
            i
            for i, l in enumerate(layers)
            if l.tag in eye_tags and l.side == variant.side and l.role != "closed"
        ]
        if not variant.side or not parts or variant.id in {l.id for l in layers}:
            continue
        variant.opacity = 0.0
        layers.insert(max(parts) + 1, variant)
        used_variants.append(variant.source_name)
    # an eye without a drawn closed eye gets a generated one, as a flat image does
    before = {l.id for l in layers}
    layers = complete.add_closed_lids(layers, imported.canvas, _centre_of_eyes(layers))
    generated += [l.id for l in layers if l.id not in before]
    unused = [v.source_name for v in imported.variants if v.source_name not in used_variants]
    if unused:
        warnings.append(
            "these variant layers are not used (a closed eye needs its side, "
            "l or r, and that eye's parts): " + ", ".join(unused)
        )
    timings.append(StageTiming("complete", time.perf_counter() - t0))
    if progress is not None:
        progress("rig", 4 / len(STAGES))
    t0 = time.perf_counter()
    doc = rig.build_rig(imported.canvas, layers, mesh_density=options.mesh_density)
    doc.source = path
    timings.append(StageTiming("rig", time.perf_counter() - t0))
    _finish(doc, timings, progress)
    found = {
        "input": "layered PSD",
        "tags": imported.report["tags_found"],
        "generated": generated,
        "variants_used": used_variants,
        "psd_layers": imported.report["layers"],
        "skipped": imported.report["skipped"],
    }
    for p in doc.parameters:
        if p.confidence < 0.5:
            warnings.append(f"{p.id} has low confidence ({p.confidence:.2f}): check it in Blender")
    return PipelineResult(doc, timings, warnings, found, None)


def _centre_of_eyes(layers) -> float:
    """The x halfway between the two eyes of layered input (the canvas middle
    of the eye parts when only one side has any)."""
    xs = []
    for side in ("l", "r"):
        boxes = [
            (l.x, l.x + l.image.shape[1])
            for l in layers
            if l.side == side and l.tag in ("eyewhite", "irides", "eyelash")
        ]
        if boxes:
            xs.append(0.5 * (min(b[0] for b in boxes) + max(b[1] for b in boxes)))
    return float(np.mean(xs)) if xs else 0.0
