# SPDX-License-Identifier: GPL-3.0-or-later
"""Inpainting: Stable Diffusion inpainting through diffusers, fully offline.

The pipeline is loaded with `StableDiffusionInpaintPipeline.from_pretrained(
folder, local_files_only=True, use_safetensors=True)` from a local folder (a `save_pretrained`
folder or a Hugging Face cache snapshot); nothing is downloaded here, and only .safetensors weights are
read (a folder of pickled .bin weights is refused).  Each
layer gets its own prompt, seed, steps and strength.  The crop is scaled so
its long side is `sd_size` (512) px, padded to a multiple of 8, painted, and
scaled back; `InpaintBackend.inpaint` keeps every visible pixel as it was.
"""

from __future__ import annotations

import os

import cv2
import numpy as np

from .base import InpaintBackend, ModelLoadError, Needs, fill_from_nearest
from .torch_util import file_stamp, half_is_safe, pick_device

DEFAULT_SIZE = 512
DEFAULT_PROMPT = "{tag} of an anime character, flat colours, clean line art"
NEGATIVE_PROMPT = "text, watermark, blurry, photo, extra limbs"


def load_sd_inpaint(folder: str, device_preference: str = "auto"):
    if not folder or not os.path.isdir(folder):
        raise ModelLoadError(
            f"the Stable Diffusion inpainting folder {folder or '(no path)'} does "
            "not exist: set it or download the model in the add-on preferences"
        )
    if not os.path.isfile(os.path.join(folder, "model_index.json")):
        raise ModelLoadError(f"{folder} is not a diffusers pipeline folder (it has no model_index.json)")
    import torch
    from diffusers import StableDiffusionInpaintPipeline

    device = pick_device(device_preference)
    dtype = torch.float16 if half_is_safe(device) else torch.float32
    try:
        pipe = StableDiffusionInpaintPipeline.from_pretrained(
            folder,
            local_files_only=True,
            use_safetensors=True,
            dtype=dtype,
            safety_checker=None,
            requires_safety_checker=False,
        )
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise ModelLoadError(
            f"the Stable Diffusion inpainting model in {folder} could not be "
            f"loaded ({type(exc).__name__}: {exc})"
        ) from exc
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device), device


class StableDiffusionInpaint(InpaintBackend):
    name = "sd_inpaint"
    label = "Stable Diffusion inpainting"
    needs = Needs(packages=("torch", "diffusers", "transformers"), model="sd_inpaint", gpu="recommended")

    @classmethod
    def load_weights(cls, path: str):
        return load_sd_inpaint(path, "cpu")[0]

    @classmethod
    def describe_weights(cls, path: str) -> str:
        return f"loads ({type(cls.load_weights(path)).__name__})"

    _cache: dict[tuple, object] = {}

    def _pipe(self):
        path = self.model_path()
        key = (
            path,
            file_stamp(os.path.join(path or "", "model_index.json")),
            self.settings.get("device", "auto"),
        )
        if key not in self._cache:
            self._cache.clear()
            self._cache[key] = load_sd_inpaint(path, self.settings.get("device", "auto"))
        return self._cache[key]

    def paint(self, rgba, hole, prompt, seed, steps, strength):
        import torch
        from PIL import Image

        self.require_available()
        pipe, device = self._pipe()
        h, w = hole.shape
        known = (rgba[..., 3] > 0) & ~hole
        rgb = fill_from_nearest(rgba[..., :3], known) if known.any() else rgba[..., :3].copy()
        size = int(self.settings.get("sd_size", DEFAULT_SIZE))
        scale = size / max(h, w)
        sw = max(8, int(round(w * scale / 8)) * 8)
        sh = max(8, int(round(h * scale / 8)) * 8)
        image = Image.fromarray(cv2.resize(rgb, (sw, sh), interpolation=cv2.INTER_CUBIC))
        mask = cv2.resize(hole.astype(np.uint8) * 255, (sw, sh), interpolation=cv2.INTER_NEAREST)
        mask = cv2.dilate(mask, np.ones((3, 3), np.uint8))
        generator = torch.Generator(device="cpu").manual_seed(int(seed))
        result = pipe(
            prompt=prompt or "",
            negative_prompt=NEGATIVE_PROMPT,
            image=image,
            mask_image=Image.fromarray(mask),
            height=sh,
            width=sw,
            num_inference_steps=max(1, int(steps)),
            strength=float(min(max(strength, 0.01), 1.0)),
            generator=generator,
            output_type="np",
        )
        out = np.clip(np.asarray(result.images[0]) * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return cv2.resize(out, (w, h), interpolation=cv2.INTER_AREA if sw > w else cv2.INTER_CUBIC)
