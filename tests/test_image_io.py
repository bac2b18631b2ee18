# SPDX-License-Identifier: GPL-3.0-or-later
"""Reading odd illustrations: every kind either loads as RGBA or fails in plain words."""

import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

from image_to_rig.core.formats.image_in import ImageInputError, load_image


def _png_with_header(path, width, height):
    """A PNG whose header claims width x height but carries almost no data."""

    def chunk(kind, data):
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    raw = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 16))
        + chunk(b"IEND", b"")
    )
    path.write_bytes(raw)


def _gradient(h=64, w=80):
    y, x = np.mgrid[0:h, 0:w]
    return np.dstack([x * 3 % 256, y * 4 % 256, (x + y) % 256]).astype(np.uint8)


def test_grey_palette_16bit_cmyk_and_alpha(tmp_path):
    rgb = _gradient()
    Image.fromarray(rgb).convert("L").save(tmp_path / "grey.png")
    pal = Image.fromarray(rgb).convert("P", palette=Image.ADAPTIVE, colors=16)
    pal.info["transparency"] = 0
    pal.save(tmp_path / "pal.png", transparency=0)
    cv2.imwrite(str(tmp_path / "deep.png"), (rgb[..., ::-1].astype(np.uint16) * 257))
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "cmyk.jpg")
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 128, np.uint8)])
    Image.fromarray(rgba).save(tmp_path / "alpha.png")

    grey = load_image(str(tmp_path / "grey.png")).rgba
    assert grey.shape == (64, 80, 4) and (grey[..., 0] == grey[..., 1]).all() and grey[..., 3].min() == 255
    palette = load_image(str(tmp_path / "pal.png")).rgba
    assert palette.shape == (64, 80, 4) and palette[..., 3].min() == 0 and palette[..., 3].max() == 255
    deep = load_image(str(tmp_path / "deep.png")).rgba
    assert deep.dtype == np.uint8 and np.abs(deep[..., :3].astype(int) - rgb).max() <= 1
    cmyk = load_image(str(tmp_path / "cmyk.jpg")).rgba
    assert cmyk.shape == (64, 80, 4) and np.abs(cmyk[..., :3].astype(int) - rgb).mean() < 20
    alpha = load_image(str(tmp_path / "alpha.png")).rgba
    assert (alpha[..., 3] == 128).all() and np.array_equal(alpha[..., :3], rgb)


def test_refuses_huge_before_decoding(tmp_path):
    _png_with_header(tmp_path / "huge.png", 20000, 20000)
    with pytest.raises(ImageInputError, match="megapixels"):
        load_image(str(tmp_path / "huge.png"))


def test_scales_large_images_with_a_warning(tmp_path):
    big = np.zeros((100, 5000, 3), np.uint8)
    big[:, ::2] = 255
    cv2.imwrite(str(tmp_path / "wide.png"), big)
    loaded = load_image(str(tmp_path / "wide.png"))
    assert loaded.rgba.shape[1] == 4096 and loaded.warnings and "scaled" in loaded.warnings[0]


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: None, "does not exist"),
        (lambda p: p.write_bytes(b""), "is empty"),
        (lambda p: p.write_text("not an image"), "not an image"),
        (lambda p: Image.new("RGB", (8, 8)).save(p, format="PNG"), "at least"),
        (lambda p: Image.new("RGBA", (64, 64), (0, 0, 0, 0)).save(p, format="PNG"), "fully transparent"),
    ],
)
def test_bad_files_fail_in_plain_words(tmp_path, make, message):
    path = tmp_path / "input.png"
    make(path)
    with pytest.raises(ImageInputError, match=message):
        load_image(str(path))
