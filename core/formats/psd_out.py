# SPDX-License-Identifier: GPL-3.0-or-later
"""Layered PSD export: one pixel layer per rig layer, See-through tag names,
hidden parts complete, in depth order, so an artist can go on in Cubism
Editor, Photoshop, Krita or Clip Studio and rig the PSD again.

The PSD shows what was drawn: layers the pipeline generated (the mouth
interior, the blush) are in it but hidden, so the file opens with the mouth
closed and the blush once (it is drawn on the face), and reading it back
skips them (the pipeline makes them again).  Layers sit in groups (head with
eyes inside it, body) wherever depth order keeps a group's layers together.
The merged preview carries alpha; the file is written with the usual
permissions (0644 under the usual umask), like the rest of the export."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence

import numpy as np

from ..model.document import SEE_THROUGH_TAGS, Canvas, Layer


def psd_layer_name(layer: Layer) -> str:
    """See-through tag name, side and variant: 'eyewhite_l', 'mouth_interior', 'front hair'."""
    name = layer.tag
    if layer.role:
        name += f"_{layer.role}"
    if layer.side:
        name += f"_{layer.side}"
    return name


# the See-through tags from the neck down are the body's
BODY_TAGS = SEE_THROUGH_TAGS[SEE_THROUGH_TAGS.index("neck") :]
EYE_TAGS = ("eyewhite", "irides", "eyelash")


def psd_group_path(layer: Layer) -> tuple:
    """The groups a layer sits in: ("body",), ("head",) or ("head", "eyes")."""
    if layer.tag in BODY_TAGS:
        return ("body",)
    if layer.tag in EYE_TAGS:
        return ("head", "eyes")
    return ("head",)


def shown_in_psd(layer: Layer) -> bool:
    """Whether the layer is visible when the PSD opens (generated layers are not)."""
    return not layer.generated


def _composite(layers: Sequence[Layer], canvas: Canvas):
    """Straight-alpha "over" composite of the layers: (colour (H, W, 3), alpha (H, W, 1)) in 0..1."""
    premul = np.zeros((canvas.height, canvas.width, 3), np.float32)
    alpha = np.zeros((canvas.height, canvas.width, 1), np.float32)
    for layer in layers:
        h, w = layer.image.shape[:2]
        x0, y0 = max(layer.x, 0), max(layer.y, 0)
        x1, y1 = min(layer.x + w, canvas.width), min(layer.y + h, canvas.height)
        if x1 <= x0 or y1 <= y0:
            continue
        src = layer.image[y0 - layer.y : y1 - layer.y, x0 - layer.x : x1 - layer.x].astype(np.float32) / 255.0
        a = src[..., 3:4] * float(layer.opacity)
        premul[y0:y1, x0:x1] = src[..., :3] * a + premul[y0:y1, x0:x1] * (1.0 - a)
        alpha[y0:y1, x0:x1] = a + alpha[y0:y1, x0:x1] * (1.0 - a)
    colour = np.where(alpha > 1e-6, premul / np.maximum(alpha, 1e-6), 0.0)
    return colour, alpha


def _store_merged_preview(psd, layers: Sequence[Layer], canvas: Canvas) -> None:
    """Give the PSD its flattened preview from our own fast composite.

    psd-tools would otherwise composite the document itself on save, which
    takes seconds at 1024 px; if its internals differ, it still does that.
    """
    try:
        from psd_tools.api import numpy_io

        from psd_tools.constants import Tag
        from psd_tools.psd.tagged_blocks import TaggedBlocks

        info = psd._record.layer_and_mask_information
        if info.tagged_blocks is None:
            info.tagged_blocks = TaggedBlocks()
        # Marks the merged image's extra channel as its transparency (else readers
        # take the preview as opaque: black where nothing is drawn).
        info.tagged_blocks.set_data(Tag.SAVING_MERGED_TRANSPARENCY)
        colour, alpha = _composite([l for l in layers if shown_in_psd(l)], canvas)
        psd._record.image_data.set_data(numpy_io.encode_image_data(psd, colour, alpha), psd._record.header)
        psd._updated = False
    except (AttributeError, ImportError, TypeError):
        pass


def write_psd(layers: Sequence[Layer], canvas: Canvas, path: str) -> str:
    """Write layers (back to front) as a layered RGBA PSD; atomic replace of `path`."""
    from PIL import Image
    from psd_tools import PSDImage
    from psd_tools.api.layers import Group, PixelLayer

    psd = PSDImage.new(mode="RGBA", size=(canvas.width, canvas.height))
    # Open groups from the root down: [(name, group)]; a layer whose group path
    # differs closes groups until the paths agree, then opens what it needs.
    open_groups: list = []
    for layer in layers:  # psd-tools appends on top: back to front
        want = psd_group_path(layer)
        keep = 0
        while keep < min(len(open_groups), len(want)) and open_groups[keep][0] == want[keep]:
            keep += 1
        del open_groups[keep:]
        for name in want[keep:]:
            parent = open_groups[-1][1] if open_groups else psd
            open_groups.append((name, Group.new(parent, name=name)))
        pixel = PixelLayer.frompil(Image.fromarray(layer.image), psd, top=int(layer.y), left=int(layer.x))
        pixel.name = psd_layer_name(layer)  # the setter also writes the Unicode name
        pixel.opacity = int(round(layer.opacity * 255))
        pixel.visible = shown_in_psd(layer)
        open_groups[-1][1].append(pixel)
    _store_merged_preview(psd, layers, canvas)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(suffix=".psd", dir=folder)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private (0600)
    try:
        psd.save(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path
