# SPDX-License-Identifier: GPL-3.0-or-later
"""The backend protocol: one small class per stage, interchangeable by name.

A backend says what it needs (`needs`), whether it can run here
(`available()` -> (ok, why not)), and does one thing:

* ForegroundBackend.segment(rgba) -> (H, W) bool mask of the character;
* PartsBackend.segment(rgba, mask) -> (H, W) uint8 label map over PART_CLASSES
  (the pipeline combines it with the built-in landmarks for left/right and the
  fine parts);
* InpaintBackend.inpaint(rgba, hole_mask, prompt, seed, steps, strength) -> rgba,
  where only `hole_mask` pixels may differ from the input: `inpaint` blends the
  model's output back itself, so visible pixels never change whatever the model does.

Backends never import torch at module level: the classical ones must work on a
machine without it, and `available()` says plainly what is missing.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
from ..model.errors import ImageToRigError

# The classes of Anime-Face-Segmentation, in the order of its output channels.
PART_CLASSES: tuple[str, ...] = ("background", "hair", "eye", "mouth", "face", "skin", "clothes")
PART_INDEX: dict[str, int] = {name: i for i, name in enumerate(PART_CLASSES)}


class BackendError(ImageToRigError):
    """A backend could not run (missing package or weights, bad settings)."""


class BackendUnavailable(BackendError):
    """The chosen backend cannot run on this machine; the message says why."""


class ModelLoadError(BackendError):
    """A weights file is missing, corrupted, or does not match the model's layout."""


@dataclass
class Needs:
    """What a backend requires, for the panel and the preferences."""

    packages: tuple[str, ...] = ()  # importable module names
    model: str | None = None  # name in core.backends.weights.MODELS whose weights it loads
    gpu: str = "no"  # "no", "optional" or "recommended"

    def describe(self) -> str:
        parts = []
        if self.packages:
            parts.append("packages: " + ", ".join(self.packages))
        if self.model:
            parts.append(f"weights: {self.model}")
        if self.gpu != "no":
            parts.append(f"GPU {self.gpu}")
        return "; ".join(parts) or "nothing extra"


def missing_packages(packages) -> list[str]:
    return [p for p in packages if importlib.util.find_spec(p) is None]


class Backend:
    """Common part of every backend.  `settings` is a plain dict (picklable, so a
    worker process gets the same choices): model paths under "model_paths",
    "device" ("auto", "cpu", "cuda", "mps") and per-backend options."""

    name = ""
    label = ""
    stage = ""
    needs = Needs()

    def __init__(self, settings: dict[str, Any] | None = None):
        self.settings: dict[str, Any] = dict(settings or {})

    # -- what it needs ------------------------------------------------------
    def model_path(self) -> str | None:
        if not self.needs.model:
            return None
        paths = self.settings.get("model_paths") or {}
        path = paths.get(self.needs.model)
        if not path:
            from .weights import default_model_path

            path = default_model_path(self.needs.model, self.settings.get("models_dir"))
        return path

    def available(self) -> tuple[bool, str]:
        missing = missing_packages(self.needs.packages)
        if missing:
            return False, (
                f"{self.label} needs the Python package(s) {', '.join(missing)}: "
                "install requirements-ai.txt into Blender's Python"
            )
        path = self.model_path()
        if self.needs.model and (not path or not os.path.exists(path)):
            return False, (
                f"{self.label} needs the '{self.needs.model}' weights, not found at "
                f"{path or '(no path set)'}: set the path or download them in the "
                "add-on preferences"
            )
        return True, ""

    def require_available(self) -> None:
        ok, why = self.available()
        if not ok:
            raise BackendUnavailable(why)

    # -- its weights --------------------------------------------------------
    @classmethod
    def load_weights(cls, path: str):
        """The backend's model loaded from `path` (a torch module); raises
        ModelLoadError saying what is wrong.  Backends without weights have none."""
        raise BackendError(f"{cls.label} uses no model weights")

    @classmethod
    def describe_weights(cls, path: str) -> str:
        """Load the weights at `path` and say what loaded (for the preferences' Check)."""
        model = cls.load_weights(path)
        count = sum(p.numel() for p in model.parameters())
        return f"loads ({count / 1e6:.1f} M parameters)"


class ForegroundBackend(Backend):
    stage = "foreground"

    def segment(self, rgba: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class PartsBackend(Backend):
    stage = "parts"

    def segment(self, rgba: np.ndarray, mask: np.ndarray) -> np.ndarray | None:
        """(H, W) uint8 indices into PART_CLASSES, or None for "no opinion"."""
        raise NotImplementedError


class InpaintBackend(Backend):
    stage = "inpaint"

    def inpaint(
        self,
        rgba: np.ndarray,
        hole_mask: np.ndarray,
        prompt: str = "",
        seed: int = 0,
        steps: int = 20,
        strength: float = 1.0,
    ) -> np.ndarray:
        """`rgba` with the `hole_mask` pixels painted (opaque); every other pixel is
        returned exactly as given."""
        rgba = np.ascontiguousarray(rgba)
        hole = np.asarray(hole_mask, bool)
        if rgba.ndim != 3 or rgba.shape[2] != 4 or rgba.dtype != np.uint8:
            raise BackendError(f"inpainting needs an RGBA uint8 image, got {rgba.shape} {rgba.dtype}")
        if hole.shape != rgba.shape[:2]:
            raise BackendError("the hole mask and the image differ in size")
        out = rgba.copy()
        if not hole.any():
            return out
        painted_rgb = self.paint(
            rgba, hole, prompt=prompt, seed=int(seed), steps=int(steps), strength=float(strength)
        )
        if painted_rgb.shape[:2] != hole.shape:
            raise BackendError(f"{self.label} returned an image of the wrong size")
        out[hole, :3] = painted_rgb[hole, :3]
        out[hole, 3] = 255
        return out

    def paint(
        self, rgba: np.ndarray, hole: np.ndarray, prompt: str, seed: int, steps: int, strength: float
    ) -> np.ndarray:
        """The model's RGB (H, W, 3) uint8 picture; only its hole pixels are used."""
        raise NotImplementedError


def fill_from_nearest(rgb: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Every pixel outside `known` takes the colour of the nearest known pixel, so a
    model never sees empty (black) surroundings around a layer crop."""
    import cv2

    if known.all() or not known.any():
        return rgb.copy()
    _, labels = cv2.distanceTransformWithLabels(
        (~known).astype(np.uint8), cv2.DIST_L2, 3, labelType=cv2.DIST_LABEL_PIXEL
    )
    colours = rgb[known]  # labels number the zero pixels in scan order, from 1
    out = colours[labels - 1].reshape(rgb.shape)
    out[known] = rgb[known]
    return out
