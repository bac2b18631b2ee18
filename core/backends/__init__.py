# SPDX-License-Identifier: GPL-3.0-or-later
"""Backends per stage, chosen by name (see base.py for the protocol).

    make_backend("foreground", "isnet", settings).segment(rgba)

"builtin" is always there and is the offline default of every stage.
"""

from __future__ import annotations

import os
from typing import Any
from collections.abc import Callable

import numpy as np

from .base import (
    PART_CLASSES,
    PART_INDEX,
    Backend,
    BackendError,
    BackendUnavailable,
    ForegroundBackend,
    InpaintBackend,
    ModelLoadError,
    Needs,
    PartsBackend,
    missing_packages,
)
from .classical import BorderFloodFillForeground, BuiltinParts, OpenCVInpaint
from .face_parts import AnimeFacePartsBackend
from .isnet import ISNetForeground
from .lama import LamaInpaint
from .sd_inpaint import DEFAULT_PROMPT, StableDiffusionInpaint
from .weights import ModelError, default_model_path, spec

STAGES = ("foreground", "parts", "inpaint")
REGISTRY: dict[str, tuple[type[Backend], ...]] = {
    "foreground": (BorderFloodFillForeground, ISNetForeground),
    "parts": (BuiltinParts, AnimeFacePartsBackend),
    "inpaint": (OpenCVInpaint, LamaInpaint, StableDiffusionInpaint),
}
DEFAULT = "builtin"


def backend_classes(stage: str) -> tuple[type[Backend], ...]:
    if stage not in REGISTRY:
        raise BackendError(f"unknown pipeline stage '{stage}': choose one of {', '.join(STAGES)}")
    return REGISTRY[stage]


def backend_names(stage: str) -> list[str]:
    return [cls.name for cls in backend_classes(stage)]


def make_backend(stage: str, name: str, settings: dict[str, Any] | None = None) -> Backend:
    for cls in backend_classes(stage):
        if cls.name == (name or DEFAULT):
            return cls(settings)
    raise BackendError(
        f"there is no {stage} backend called '{name}': choose one of {', '.join(backend_names(stage))}"
    )


def availability(settings: dict[str, Any] | None = None) -> dict[str, list[tuple[str, str, bool, str]]]:
    """stage -> [(name, label, ok, why not)] for the panel."""
    out = {}
    for stage in STAGES:
        rows = []
        for cls in backend_classes(stage):
            ok, why = cls(settings).available()
            rows.append((cls.name, cls.label, ok, why))
        out[stage] = rows
    return out


def check_model(name: str, path: str | None = None, base: str | None = None) -> str:
    """Load model `name` from `path` with the backend that uses it; return a short
    success message or raise ModelError saying what is wrong (the preferences' Check)."""
    s = spec(name)
    path = path or default_model_path(name, base)
    if not os.path.exists(path):
        raise ModelError(f"{s.label}: nothing at {path}")
    users = [cls for classes in REGISTRY.values() for cls in classes if cls.needs.model == name]
    if not users:
        raise ModelError(f"{s.label}: no backend uses it")
    backend = users[0]
    missing = missing_packages(backend.needs.packages)
    if missing:
        raise ModelError(f"{s.label}: install {', '.join(missing)} first (requirements-ai.txt)")
    try:
        return f"{s.label}: {backend.describe_weights(path)}"
    except BackendError as exc:
        raise ModelError(f"{s.label}: {exc}") from exc


def layer_prompt(tag: str, settings: dict[str, Any]) -> str:
    prompts = settings.get("prompts") or {}
    if tag in prompts and prompts[tag]:
        return prompts[tag]
    template = settings.get("prompt") or DEFAULT_PROMPT
    return template.replace("{tag}", tag)


def inpaint_hook(
    backend: InpaintBackend, settings: dict[str, Any], progress: Callable[[str], None] | None = None
) -> Callable:
    """The callable core.stages.complete calls for each hidden region:
    hook(rgba crop, hole mask, layer) -> RGBA crop with only the hole painted."""
    seed = int(settings.get("seed", 0))
    steps = int(settings.get("steps", 20))
    strength = float(settings.get("strength", 1.0))
    seeds = settings.get("seeds") or {}

    def hook(rgba: np.ndarray, hole: np.ndarray, layer) -> np.ndarray:
        if progress is not None:
            progress(layer.id)
        return backend.inpaint(
            rgba,
            hole,
            prompt=layer_prompt(layer.tag, settings),
            seed=int(seeds.get(layer.tag, seed)),
            steps=steps,
            strength=strength,
        )

    return hook


__all__ = [
    "PART_CLASSES",
    "PART_INDEX",
    "Backend",
    "BackendError",
    "BackendUnavailable",
    "ForegroundBackend",
    "PartsBackend",
    "InpaintBackend",
    "ModelLoadError",
    "Needs",
    "STAGES",
    "REGISTRY",
    "DEFAULT",
    "backend_classes",
    "backend_names",
    "make_backend",
    "availability",
    "inpaint_hook",
    "layer_prompt",
    "check_model",
]
