# SPDX-License-Identifier: GPL-3.0-or-later
"""A layered PSD's size, checked from its layer records before any layer is
decoded, and psd-tools' own limits told in plain words.

A PSD's canvas may be small while a layer record claims a box of any size;
decoding such a layer allocates its full box (a 64x64 canvas holding a
60000x60000 layer asked for gigabytes).  Each layer's box may hold at most
MAX_LAYER_PIXELS (the limit of any input image, core/formats/image_in.py),
and all layers together MAX_TOTAL_LAYER_PIXELS (four such images: 1.6 GB as
RGBA), which a file made by a painting program does not come near.
"""

from __future__ import annotations

from collections.abc import Iterable

from .image_in import MAX_PIXELS

try:  # psd-tools 1.26 limits what its parser materialises; older versions have no such error
    from psd_tools import ParseLimitError
except ImportError:  # pragma: no cover - depends on the installed psd-tools

    class ParseLimitError(ValueError):
        """Stands in for psd-tools' own where it has none."""


MAX_LAYER_PIXELS = MAX_PIXELS
MAX_TOTAL_LAYER_PIXELS = 4 * MAX_PIXELS

# psd-tools' ParseLimits names -> what they limit, for the message.
_LIMIT_WORDS = {
    "max_nesting_depth": "nests its descriptors deeper than a PSD reader follows",
    "max_objects": "holds more values than a PSD reader reads",
    "max_read_bytes": "asks to read a larger block than a PSD reader reads at once",
    "max_total_bytes": "asks to read more data than a PSD reader reads",
}


def _megapixels(n: int) -> str:
    return f"{n / 1e6:,.0f} megapixels"


def layer_size_problem(layers: Iterable) -> str:
    """A plain message when a layer (or all of them) is beyond the budget, else ''.
    `layers` are psd-tools layers; only their records' boxes are read."""
    total = 0
    for layer in layers:
        if layer.is_group():
            continue
        width, height = max(int(layer.width), 0), max(int(layer.height), 0)
        pixels = width * height
        if pixels > MAX_LAYER_PIXELS:
            return (
                f"layer {layer.name!r} is {width}x{height} pixels "
                f"({_megapixels(pixels)}), more than the {_megapixels(MAX_LAYER_PIXELS)} a layer "
                "may have; crop the layer to the canvas in your painting program"
            )
        total += pixels
        if total > MAX_TOTAL_LAYER_PIXELS:
            return (
                f"its layers hold more than {_megapixels(MAX_TOTAL_LAYER_PIXELS)} together "
                "(the canvas is smaller); merge or crop layers, or save a smaller copy"
            )
    return ""


def parse_limit_message(exc: Exception) -> str:
    """psd-tools' ParseLimitError ("max_objects exceeded: 1000001 > 1000000") in plain words."""
    text = str(exc)
    what = next(
        (words for key, words in _LIMIT_WORDS.items() if text.startswith(key)),
        "is larger or more deeply nested than a PSD reader handles",
    )
    return (
        f"the PSD cannot be read safely: it {what} (a damaged or unusual file); open it in "
        "your painting program and save a copy"
    )


def undecodable_layer_message(layer_name: str) -> str:
    return (
        f"the pixels of layer {layer_name!r} cannot be decoded (the file is damaged); open "
        "it in your painting program and save it again"
    )
