# SPDX-License-Identifier: GPL-3.0-or-later
"""Hand-made PSD files for the hostile-input tests, written byte by byte from
the published layout of the format (header, colour mode data, image
resources, layer and mask information, merged image data).  A layer's record
may claim any size: its channel data are only what the test gives, so a file
of a few kilobytes can declare a layer of a billion pixels."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence


def _pascal(name: str, pad: int = 4) -> bytes:
    raw = name.encode("latin-1")[:255]
    data = bytes([len(raw)]) + raw
    return data + b"\0" * (-len(data) % pad)


def _layer_record(name: str, box: tuple[int, int, int, int], channel_lengths: Sequence[int]) -> bytes:
    top, left, bottom, right = box
    out = struct.pack(">4iH", top, left, bottom, right, len(channel_lengths))
    for cid, length in zip((-1, 0, 1, 2), channel_lengths):
        out += struct.pack(">hI", cid, length)
    extra = struct.pack(">I", 0) + struct.pack(">I", 0) + _pascal(name)
    out += b"8BIMnorm" + struct.pack(">BBBB", 255, 0, 0, 0) + struct.pack(">I", len(extra)) + extra
    return out


def _zip_channel(width: int, height: int, value: int = 0) -> bytes:
    """Compression 2 (zip, no prediction) of a width x height channel of `value`,
    streamed so a huge channel never exists in memory."""
    comp = zlib.compressobj(9)
    row_block = bytes([value]) * min(width * height, 1 << 24)
    left = width * height
    parts = []
    while left > 0:
        n = min(left, len(row_block))
        parts.append(comp.compress(row_block[:n]))
        left -= n
    parts.append(comp.flush())
    return struct.pack(">H", 2) + b"".join(parts)


def _descriptor(depth: int) -> bytes:
    """A descriptor holding one object that holds one object ... `depth` deep."""

    def one(level: int) -> bytes:
        head = struct.pack(">I", 0) + struct.pack(">I", 0) + b"null"  # empty name, class "null"
        if level == 0:
            return head + struct.pack(">I", 0)
        return head + struct.pack(">I", 1) + struct.pack(">I", 0) + b"obj " + b"Objc" + one(level - 1)

    return one(depth)


def write_psd(
    path: str,
    width: int,
    height: int,
    layers: Sequence[tuple[str, tuple[int, int, int, int], bytes | None]] = (),
    nested_resource_depth: int = 0,
) -> str:
    """A PSD of `width` x `height` (RGB, 8 bits) with `layers`: (name, (top,
    left, bottom, right), channel data or None).  None fills each of the four
    channels (alpha, R, G, B) with zip-compressed opaque grey of the box's
    size; bytes are used as given for every channel (and need not decode).
    `nested_resource_depth` > 0 adds a layer-comps resource whose descriptor
    nests that deep."""
    header = b"8BPS" + struct.pack(">H", 1) + b"\0" * 6 + struct.pack(">HIIHH", 3, height, width, 8, 3)
    resources = b""
    if nested_resource_depth:
        block = struct.pack(">I", 16) + _descriptor(nested_resource_depth)
        block += b"\0" * (len(block) % 2)
        resources = b"8BIM" + struct.pack(">H", 1065) + b"\0\0" + struct.pack(">I", len(block)) + block
    records, channels = b"", b""
    for name, box, data in layers:
        top, left, bottom, right = box
        if data is None:
            per = [_zip_channel(right - left, bottom - top, v) for v in (255, 128, 128, 128)]
        else:
            per = [data] * 4
        records += _layer_record(name, box, [len(p) for p in per])
        channels += b"".join(per)
    layer_info = struct.pack(">h", len(layers)) + records + channels if layers else b""
    layer_info += b"\0" * (len(layer_info) % 2)
    layer_section = struct.pack(">I", len(layer_info)) + layer_info + struct.pack(">I", 0)
    merged = struct.pack(">H", 0) + bytes([200]) * (3 * width * height)
    return _write(
        path,
        header
        + struct.pack(">I", 0)
        + struct.pack(">I", len(resources))
        + resources
        + struct.pack(">I", len(layer_section))
        + layer_section
        + merged,
    )


def _write(path: str, data: bytes) -> str:
    with open(path, "wb") as fh:
        fh.write(data)
    return path


def small_layers(width: int, height: int) -> list[tuple[str, tuple[int, int, int, int], None]]:
    """A plausible layer list: a face and hair inside the canvas."""
    return [
        ("back hair", (0, 0, height, width), None),
        ("face", (height // 4, width // 4, 3 * height // 4, 3 * width // 4), None),
    ]
