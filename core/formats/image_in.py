# SPDX-License-Identifier: GPL-3.0-or-later
"""Reading the user's illustration safely into one RGBA uint8 array.

The size is checked from the file header before any pixel is decoded, so a
decompression bomb or a poster-sized scan is refused (or scaled) cheaply.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
from ..model.errors import ImageToRigError

# Refused outright, before decoding: more pixels than any illustration needs.
MAX_PIXELS = 100_000_000
# Larger images are scaled down to this longest side after decoding.
WORKING_MAX_SIDE = 4096
MIN_SIDE = 32


class ImageInputError(ImageToRigError):
    """The input file cannot be used as an illustration; the message says why."""


@dataclass
class LoadedImage:
    rgba: np.ndarray
    warnings: list[str] = field(default_factory=list)
    original_size: tuple = (0, 0)


def _to_rgba8(img: np.ndarray) -> np.ndarray:
    """Any OpenCV-decoded array (grey, BGR, BGRA; 8/16-bit or float) -> RGBA uint8."""
    import cv2

    if img.dtype == np.uint16:
        img = (img.astype(np.float32) / 257.0 + 0.5).astype(np.uint8)
    elif img.dtype in (np.float32, np.float64):
        img = np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8)
    elif img.dtype != np.uint8:
        raise ImageInputError(f"unsupported pixel type {img.dtype}")
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2RGBA)
    channels = img.shape[2]
    if channels == 1:
        return cv2.cvtColor(img[..., 0], cv2.COLOR_GRAY2RGBA)
    if channels == 2:  # grey + alpha
        grey, alpha = img[..., 0], img[..., 1]
        return np.dstack([grey, grey, grey, alpha])
    if channels == 3:
        return cv2.cvtColor(img, cv2.COLOR_BGR2RGBA)
    if channels == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA)
    raise ImageInputError(f"unsupported number of channels: {channels}")


def _decode_with_pillow(path: str) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        if im.mode in ("CMYK", "YCbCr", "LAB", "HSV"):
            im = im.convert("RGB")
        im = im.convert("RGBA")
        return np.array(im)


def load_image(path: str) -> LoadedImage:
    """Read an illustration as RGBA uint8 (straight alpha).

    Raises ImageInputError with a plain message for missing, unreadable,
    empty or oversized files.
    """
    import cv2
    from PIL import Image, UnidentifiedImageError

    if not os.path.exists(path):
        raise ImageInputError(f"the file {path!r} does not exist")
    if os.path.isdir(path):
        raise ImageInputError(f"{path!r} is a folder; pick an image file (PNG, JPEG, PSD ...)")
    if os.path.getsize(path) == 0:
        raise ImageInputError(f"the file {path!r} is empty")
    try:
        with Image.open(path) as header:  # reads the header only
            width, height = header.size
            fmt = header.format
    except UnidentifiedImageError:
        raise ImageInputError(
            f"{os.path.basename(path)!r} is not an image this tool can read "
            "(use PNG, JPEG, WebP, BMP, TIFF or PSD)"
        ) from None
    except Image.DecompressionBombError:
        raise ImageInputError(
            f"{os.path.basename(path)!r} has far more pixels than the limit of "
            f"{MAX_PIXELS // 1_000_000} megapixels. Scale it down and try again."
        ) from None
    except OSError as exc:
        raise ImageInputError(f"cannot read {path!r}: {exc}") from None
    if width * height > MAX_PIXELS:
        raise ImageInputError(
            f"{os.path.basename(path)!r} is {width}x{height} pixels; the limit is "
            f"{MAX_PIXELS // 1_000_000} megapixels. Scale it down and try again."
        )
    if min(width, height) < MIN_SIDE:
        raise ImageInputError(
            f"{os.path.basename(path)!r} is only {width}x{height} pixels; "
            f"an illustration needs at least {MIN_SIDE} pixels on each side"
        )
    warnings: list[str] = []
    img = None
    if fmt not in ("GIF", "PSD"):
        buf = np.fromfile(path, dtype=np.uint8)  # works with non-ASCII paths on Windows
        img = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    if img is not None and img.ndim == 3 and img.shape[2] == 3 and fmt == "PNG":
        # OpenCV drops palette transparency (tRNS); Pillow keeps it.
        with Image.open(path) as im:
            if "transparency" in im.info:
                img = None
    try:
        rgba = _to_rgba8(img) if img is not None else _decode_with_pillow(path)
    except (OSError, ValueError) as exc:
        if isinstance(exc, ImageInputError):
            raise
        raise ImageInputError(f"cannot decode {os.path.basename(path)!r}: {exc}") from None
    if rgba.shape[2] == 4 and rgba[..., 3].max() == 0:
        raise ImageInputError(f"{os.path.basename(path)!r} is fully transparent: nothing to rig")
    longest = max(rgba.shape[:2])
    if longest > WORKING_MAX_SIDE:
        scale = WORKING_MAX_SIDE / longest
        new = (max(1, round(rgba.shape[1] * scale)), max(1, round(rgba.shape[0] * scale)))
        rgba = cv2.resize(rgba, new, interpolation=cv2.INTER_AREA)
        warnings.append(
            f"the image was scaled from {width}x{height} to {new[0]}x{new[1]} to keep the rig responsive"
        )
    return LoadedImage(np.ascontiguousarray(rgba), warnings, (width, height))
