# SPDX-License-Identifier: GPL-3.0-or-later
"""Layered PSD export: one pixel layer per rig layer, See-through tag names,
hidden parts complete, in depth order, so an artist can go on in Cubism
Editor, Photoshop or Clip Studio."""
from __future__ import annotations

import os
import tempfile
from typing import Sequence

from .document import Canvas, Layer


def psd_layer_name(layer: Layer) -> str:
    """See-through tag name, side and variant: 'eyewhite_l', 'mouth_interior', 'front hair'."""
    name = layer.tag
    if layer.role:
        name += f"_{layer.role}"
    if layer.side:
        name += f"_{layer.side}"
    return name


def write_psd(layers: Sequence[Layer], canvas: Canvas, path: str) -> str:
    """Write layers (back to front) as a layered RGBA PSD; atomic replace of `path`."""
    from PIL import Image
    from psd_tools import PSDImage
    from psd_tools.api.layers import PixelLayer

    psd = PSDImage.new(mode="RGBA", size=(canvas.width, canvas.height))
    for layer in layers:  # psd-tools appends on top: back to front
        pixel = PixelLayer.frompil(Image.fromarray(layer.image), psd,
                                   top=int(layer.y), left=int(layer.x))
        pixel.name = psd_layer_name(layer)  # the setter also writes the Unicode name
        pixel.opacity = int(round(layer.opacity * 255))
        psd.append(pixel)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(suffix=".psd", dir=folder)
    os.close(fd)
    try:
        psd.save(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path
