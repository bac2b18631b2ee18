# SPDX-License-Identifier: GPL-3.0-or-later
"""What the `render` command is asked for, read in plain terms: the image
size (`--size WIDTHxHEIGHT`) and which files belong to the model (so that
`-o` never overwrites the model's own atlas pages)."""

from __future__ import annotations

import os
import re

from ..model.errors import ImageToRigError
from .json_text import read_json_or_none

_SIZE = re.compile(r"\s*([+-]?\d{1,12})\s*[xX×]\s*([+-]?\d{1,12})\s*")


class RenderRequestError(ImageToRigError):
    """A render option is malformed; the message says what it needs."""


def parse_size(text: str) -> tuple[int, int]:
    """(width, height) from "WIDTHxHEIGHT"; the range is checked by
    core/runtime/raster_budget.check_image_size."""
    match = _SIZE.fullmatch(text or "")
    if not match:
        raise RenderRequestError(f"--size needs WIDTHxHEIGHT in whole pixels (e.g. 1024x768), got {text!r}")
    return int(match.group(1)), int(match.group(2))


def model_own_files(model_path: str) -> list[str]:
    """The files a model.json, .model3.json or .moc3 reads (its atlas pages and
    itself), as absolute paths; what cannot be read is simply not listed."""
    path = os.path.abspath(model_path)
    folder = os.path.dirname(path)
    own = [path]
    if path.endswith(".moc3"):
        candidates = [os.path.join(folder, n) for n in os.listdir(folder) if n.endswith(".model3.json")]
    else:
        candidates = [path]
    for candidate in candidates:
        data = read_json_or_none(candidate, lambda d: isinstance(d, dict))
        if data is None:
            continue
        names = data.get("textures")
        refs = data.get("FileReferences")
        if isinstance(refs, dict):
            names = refs.get("Textures")
            own.append(candidate)
        for name in names if isinstance(names, list) else []:
            if isinstance(name, str):
                own.append(os.path.normpath(os.path.join(folder, name)))
    return own
