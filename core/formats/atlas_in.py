# SPDX-License-Identifier: GPL-3.0-or-later
"""Reading an export's atlas pages within the runtime's budgets.

Each page's size comes from its PNG header (the first 33 bytes) and is
checked against the budgets of web/constants.json before a single pixel is
decoded: pixels per page (max_texture_pixels, sides up to max_canvas), all
pages together (max_total_texture_pixels), file size (max_texture_bytes) and
how many names the model lists (max_textures).  The same numbers, and the
same rules, as the player's checkAtlasBudget in web/player/load.js.  A page
named twice is decoded once.  Any PNG the player draws is read: 8 or 16 bits
per channel, grey, grey + alpha, RGB, RGBA or a palette.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from collections.abc import Sequence

import numpy as np

from ..model.constants import LIMITS
from ..model.errors import ImageToRigError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class AtlasError(ImageToRigError):
    """An atlas page cannot be used; the message says which and why."""


@dataclass(frozen=True)
class PngHeader:
    width: int
    height: int
    bit_depth: int
    colour_type: int

    @property
    def pixels(self) -> int:
        return self.width * self.height


def megapixels(n: int) -> str:
    return f"{n / 1e6:.{1 if n < 1e7 else 0}f} megapixels"


def read_png_header(path: str, name: str, error: type[ImageToRigError] = AtlasError) -> PngHeader:
    """Width, height, bit depth and colour type from a PNG's IHDR chunk, without
    decoding it; `error` with a plain message for anything that is not a PNG."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(33)
    except FileNotFoundError:
        raise error(f"atlas {name} is missing (it should be beside model.json)") from None
    except IsADirectoryError:
        raise error(f"atlas {name} is a folder, not a PNG image") from None
    except OSError as exc:
        raise error(f"cannot read atlas {name}: {exc.strerror or exc}") from None
    if len(head) < 33 or not head.startswith(PNG_SIGNATURE):
        raise error(f"atlas {name} is not a PNG image (export the model again)")
    length, kind = struct.unpack(">I4s", head[8:16])
    if length != 13 or kind != b"IHDR":
        raise error(f"atlas {name} is a damaged PNG (no image header)")
    width, height, depth, colour = struct.unpack(">IIBB", head[16:26])
    if width == 0 or height == 0:
        raise error(f"atlas {name} is an empty (0-pixel) image")
    return PngHeader(width, height, depth, colour)


def check_atlas_budget(
    headers: Sequence[PngHeader], names: Sequence[str], error: type[ImageToRigError] = AtlasError
) -> None:
    """Refuse pages beyond the pixel budgets (one page, all pages), before decoding.
    Every name counts, also one listed twice: the model draws from each."""
    total = 0
    max_side, max_page = LIMITS["max_canvas"], LIMITS["max_texture_pixels"]
    for header, name in zip(headers, names):
        if header.width > max_side or header.height > max_side or header.pixels > max_page:
            raise error(
                f"atlas {name} is {header.width}x{header.height} "
                f"({megapixels(header.pixels)}), more than the {megapixels(max_page)} "
                f"(at most {max_side} a side) per page the runtime decodes"
            )
        total += header.pixels
    if total > LIMITS["max_total_texture_pixels"]:
        raise error(
            f"the atlas pages hold {megapixels(total)} together, more than the "
            f"{megapixels(LIMITS['max_total_texture_pixels'])} the runtime decodes"
        )


def to_rgba8(img: np.ndarray) -> np.ndarray:
    """An OpenCV-decoded PNG (grey, BGR or BGRA; 8 or 16 bits) -> RGBA uint8."""
    import cv2

    if img.dtype == np.uint16:  # 16 bits per channel: the top 8, rounded
        img = ((img.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    elif img.dtype != np.uint8:
        raise AtlasError(f"unsupported pixel type {img.dtype}")
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2RGBA)
    if img.shape[2] == 1:
        return cv2.cvtColor(img[..., 0], cv2.COLOR_GRAY2RGBA)
    if img.shape[2] == 3:
        return cv2.cvtColor(img, cv2.COLOR_BGR2RGBA)
    if img.shape[2] == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA)
    raise AtlasError(f"unsupported number of channels: {img.shape[2]}")


def read_atlas_pages(
    folder: str, names: Sequence[str], error: type[ImageToRigError] = AtlasError
) -> list[np.ndarray]:
    """The pages `names` (plain file names in `folder`) as RGBA uint8 arrays,
    checked against every budget before any is decoded; a page listed twice
    is decoded once and shared."""
    import cv2

    if len(names) > LIMITS["max_textures"]:
        raise error(
            f"the model lists {len(names)} atlas pages, more than the "
            f"{LIMITS['max_textures']} the runtime supports"
        )
    for name in names:
        if not isinstance(name, str) or os.path.basename(name) != name or name in ("", ".", ".."):
            raise error("texture names must be plain file names beside model.json")
    headers = [read_png_header(os.path.join(folder, n), n, error) for n in names]
    check_atlas_budget(headers, names, error)
    for name in dict.fromkeys(names):
        size = os.path.getsize(os.path.join(folder, name))
        if size > LIMITS["max_texture_bytes"]:
            raise error(
                f"atlas {name} is {size / 2**20:.0f} MB, more than the "
                f"{LIMITS['max_texture_bytes'] / 2**20:.0f} MB the runtime reads"
            )
    decoded: dict[str, np.ndarray] = {}
    for name, header in zip(names, headers):
        if name in decoded:
            continue
        img = cv2.imread(os.path.join(folder, name), cv2.IMREAD_UNCHANGED)
        if img is None:
            raise error(f"atlas {name} is not a readable PNG image (export the model again)")
        if img.shape[:2] != (header.height, header.width):
            raise error(f"atlas {name} decodes to a different size than its header says")
        decoded[name] = to_rgba8(img)
    return [decoded[name] for name in names]
