# SPDX-License-Identifier: GPL-3.0-or-later
"""The Live2D Cubism .moc3 binary: layout, writer and a strict reader.

Written from the publicly documented description of the format (the
community MOC3 format specification and the public Cubism Core header); no
other project's code.  What this module knows about the file:

* A 64-byte header: "MOC3", the format version (1 = Cubism 3.0, 2 = 3.3,
  3 = 4.0, 4 = 4.2, 5 = 5.0, 6 = 5.3), a big-endian flag (0 here), zeros.
* At 0x40 the section offset table (0x280 bytes): one u32 file offset per
  array, in the order of `FIELDS` (plus `FIELDS_V3_3` from version 2 on).
  The space after it, up to 0x7C0, stays zero (the documented layout
  reserves it; the Core revives the file in place).
* The count table (128 bytes): the element count of every array family
  (`COUNTS`), then the canvas (64 bytes): pixels per unit, origin x/y,
  width, height (float32) and a flags byte.
* Every array starts on a 64-byte boundary.  "Runtime" arrays are scratch
  space for the Core: 8 zero bytes per element.  Ids are 64-byte NUL-padded
  strings.  The float arrays of keyform positions and UVs count floats (two
  per point), and indices into them count floats too.

`pack_moc3` lays out arrays by name; `read_moc3` parses a file back into the
same arrays and refuses anything malformed with a `Moc3Error` that says what
is wrong.  The rig -> arrays conversion is in core/formats/moc3_export.py.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from collections.abc import Sequence

import numpy as np

from ..model.errors import ImageToRigError

MAGIC = b"MOC3"
VERSION_3_0, VERSION_3_3, VERSION_4_0, VERSION_4_2, VERSION_5_0, VERSION_5_3 = 1, 2, 3, 4, 5, 6
VERSION_NAMES = {
    VERSION_3_0: "3.0",
    VERSION_3_3: "3.3",
    VERSION_4_0: "4.0",
    VERSION_4_2: "4.2",
    VERSION_5_0: "5.0",
    VERSION_5_3: "5.3",
}
HEADER_SIZE = 64
SECTION_TABLE_OFFSET = 0x40
SECTION_TABLE_SIZE = 0x280
DATA_START = 0x7C0
COUNT_TABLE_SIZE = 128
CANVAS_SIZE = 64
ALIGN = 64
ID_BYTES = 64
RUNTIME_BYTES = 8  # per element of a runtime (scratch) array

# Element count families, in count-table order (versions before 4.2).
COUNTS: tuple[str, ...] = (
    "parts",
    "deformers",
    "warp_deformers",
    "rotation_deformers",
    "art_meshes",
    "parameters",
    "part_keyforms",
    "warp_deformer_keyforms",
    "rotation_deformer_keyforms",
    "art_mesh_keyforms",
    "keyform_positions",
    "parameter_binding_indices",
    "keyform_bindings",
    "parameter_bindings",
    "keys",
    "uvs",
    "position_indices",
    "drawable_masks",
    "draw_order_groups",
    "draw_order_group_objects",
    "glue",
    "glue_info",
    "glue_keyforms",
)

# The arrays in section-table order: (name, element kind, count family).
# Kinds: "runtime" (8 scratch bytes), "id" (64-byte string), numpy dtypes.
FIELDS: tuple[tuple[str, str, str], ...] = (
    ("parts.runtime", "runtime", "parts"),
    ("parts.ids", "id", "parts"),
    ("parts.keyform_binding_index", "<i4", "parts"),
    ("parts.keyform_begin", "<i4", "parts"),
    ("parts.keyform_count", "<i4", "parts"),
    ("parts.is_visible", "<u4", "parts"),
    ("parts.is_enabled", "<u4", "parts"),
    ("parts.parent_part", "<i4", "parts"),
    ("deformers.runtime", "runtime", "deformers"),
    ("deformers.ids", "id", "deformers"),
    ("deformers.keyform_binding_index", "<i4", "deformers"),
    ("deformers.is_visible", "<u4", "deformers"),
    ("deformers.is_enabled", "<u4", "deformers"),
    ("deformers.parent_part", "<i4", "deformers"),
    ("deformers.parent_deformer", "<i4", "deformers"),
    ("deformers.type", "<u4", "deformers"),  # 0 warp, 1 rotation
    ("deformers.specific_index", "<i4", "deformers"),  # into the warp or rotation arrays
    ("warp_deformers.keyform_binding_index", "<i4", "warp_deformers"),
    ("warp_deformers.keyform_begin", "<i4", "warp_deformers"),
    ("warp_deformers.keyform_count", "<i4", "warp_deformers"),
    ("warp_deformers.vertex_count", "<i4", "warp_deformers"),
    ("warp_deformers.rows", "<u4", "warp_deformers"),
    ("warp_deformers.columns", "<u4", "warp_deformers"),
    ("rotation_deformers.keyform_binding_index", "<i4", "rotation_deformers"),
    ("rotation_deformers.keyform_begin", "<i4", "rotation_deformers"),
    ("rotation_deformers.keyform_count", "<i4", "rotation_deformers"),
    ("rotation_deformers.base_angle", "<f4", "rotation_deformers"),
    ("art_meshes.runtime0", "runtime", "art_meshes"),
    ("art_meshes.runtime1", "runtime", "art_meshes"),
    ("art_meshes.runtime2", "runtime", "art_meshes"),
    ("art_meshes.runtime3", "runtime", "art_meshes"),
    ("art_meshes.ids", "id", "art_meshes"),
    ("art_meshes.keyform_binding_index", "<i4", "art_meshes"),
    ("art_meshes.keyform_begin", "<i4", "art_meshes"),
    ("art_meshes.keyform_count", "<i4", "art_meshes"),
    ("art_meshes.is_visible", "<u4", "art_meshes"),
    ("art_meshes.is_enabled", "<u4", "art_meshes"),
    ("art_meshes.parent_part", "<i4", "art_meshes"),
    ("art_meshes.parent_deformer", "<i4", "art_meshes"),
    ("art_meshes.texture", "<u4", "art_meshes"),
    ("art_meshes.flags", "<u1", "art_meshes"),  # bits: blend (2), double-sided, inverted mask
    ("art_meshes.vertex_count", "<i4", "art_meshes"),
    ("art_meshes.uv_begin", "<i4", "art_meshes"),
    ("art_meshes.index_begin", "<i4", "art_meshes"),
    ("art_meshes.index_count", "<i4", "art_meshes"),
    ("art_meshes.mask_begin", "<i4", "art_meshes"),
    ("art_meshes.mask_count", "<i4", "art_meshes"),
    ("parameters.runtime", "runtime", "parameters"),
    ("parameters.ids", "id", "parameters"),
    ("parameters.max", "<f4", "parameters"),
    ("parameters.min", "<f4", "parameters"),
    ("parameters.default", "<f4", "parameters"),
    ("parameters.is_repeat", "<u4", "parameters"),
    ("parameters.decimal_places", "<u4", "parameters"),
    ("parameters.binding_begin", "<i4", "parameters"),
    ("parameters.binding_count", "<i4", "parameters"),
    ("part_keyforms.draw_order", "<f4", "part_keyforms"),
    ("warp_deformer_keyforms.opacity", "<f4", "warp_deformer_keyforms"),
    ("warp_deformer_keyforms.position_begin", "<i4", "warp_deformer_keyforms"),
    ("rotation_deformer_keyforms.opacity", "<f4", "rotation_deformer_keyforms"),
    ("rotation_deformer_keyforms.angle", "<f4", "rotation_deformer_keyforms"),
    ("rotation_deformer_keyforms.origin_x", "<f4", "rotation_deformer_keyforms"),
    ("rotation_deformer_keyforms.origin_y", "<f4", "rotation_deformer_keyforms"),
    ("rotation_deformer_keyforms.scale", "<f4", "rotation_deformer_keyforms"),
    ("rotation_deformer_keyforms.reflect_x", "<u4", "rotation_deformer_keyforms"),
    ("rotation_deformer_keyforms.reflect_y", "<u4", "rotation_deformer_keyforms"),
    ("art_mesh_keyforms.opacity", "<f4", "art_mesh_keyforms"),
    ("art_mesh_keyforms.draw_order", "<f4", "art_mesh_keyforms"),
    ("art_mesh_keyforms.position_begin", "<i4", "art_mesh_keyforms"),
    ("keyform_positions.xy", "<f4", "keyform_positions"),
    ("parameter_binding_indices.binding", "<i4", "parameter_binding_indices"),
    ("keyform_bindings.index_begin", "<i4", "keyform_bindings"),
    ("keyform_bindings.index_count", "<i4", "keyform_bindings"),
    ("parameter_bindings.keys_begin", "<i4", "parameter_bindings"),
    ("parameter_bindings.keys_count", "<i4", "parameter_bindings"),
    ("keys.value", "<f4", "keys"),
    ("uvs.uv", "<f4", "uvs"),
    ("position_indices.index", "<i2", "position_indices"),
    ("drawable_masks.art_mesh", "<i4", "drawable_masks"),
    ("draw_order_groups.object_begin", "<i4", "draw_order_groups"),
    ("draw_order_groups.object_count", "<i4", "draw_order_groups"),
    ("draw_order_groups.object_total", "<i4", "draw_order_groups"),
    ("draw_order_groups.max_draw_order", "<u4", "draw_order_groups"),
    ("draw_order_groups.min_draw_order", "<u4", "draw_order_groups"),
    ("draw_order_group_objects.type", "<u4", "draw_order_group_objects"),  # 0 art mesh, 1 part
    ("draw_order_group_objects.index", "<i4", "draw_order_group_objects"),
    ("draw_order_group_objects.self_index", "<i4", "draw_order_group_objects"),
    ("glue.runtime", "runtime", "glue"),
    ("glue.ids", "id", "glue"),
    ("glue.keyform_binding_index", "<i4", "glue"),
    ("glue.keyform_begin", "<i4", "glue"),
    ("glue.keyform_count", "<i4", "glue"),
    ("glue.art_mesh_a", "<i4", "glue"),
    ("glue.art_mesh_b", "<i4", "glue"),
    ("glue.info_begin", "<i4", "glue"),
    ("glue.info_count", "<i4", "glue"),
    ("glue_info.weight", "<f4", "glue_info"),
    ("glue_info.position_index", "<i2", "glue_info"),
    ("glue_keyforms.intensity", "<f4", "glue_keyforms"),
)
# From version 2 (Cubism 3.3): per warp, interpolate each cell bilinearly
# ("quad") rather than as two triangles.
FIELDS_V3_3: tuple[tuple[str, str, str], ...] = (("warp_deformers.is_quad", "<u4", "warp_deformers"),)


class Moc3Error(ImageToRigError):
    """A .moc3 cannot be written or read; the message says what is wrong."""


@dataclass
class Moc3Canvas:
    pixels_per_unit: float
    origin_x: float
    origin_y: float
    width: float
    height: float
    flags: int = 0


def fields_for(version: int) -> tuple[tuple[str, str, str], ...]:
    if version == VERSION_3_0:
        return FIELDS
    if version == VERSION_3_3:
        return FIELDS + FIELDS_V3_3
    raise Moc3Error(
        f"moc3 version {VERSION_NAMES.get(version, version)} is not supported here "
        f"(this tool writes and reads versions 3.0 and 3.3)"
    )


def _element_size(kind: str) -> int:
    if kind == "runtime":
        return RUNTIME_BYTES
    if kind == "id":
        return ID_BYTES
    return np.dtype(kind).itemsize


def _encode_ids(ids: Sequence[str], what: str) -> bytes:
    out = bytearray()
    for name in ids:
        raw = str(name).encode("ascii", "strict") if str(name).isascii() else None
        if raw is None or not raw or len(raw) >= ID_BYTES or b"\0" in raw:
            raise Moc3Error(
                f"{what} id {name!r} cannot be stored in a moc3 (ids are ASCII, "
                f"1 to {ID_BYTES - 1} characters)"
            )
        out += raw.ljust(ID_BYTES, b"\0")
    return bytes(out)


def _pad_to(buf: bytearray, alignment: int) -> None:
    buf += b"\0" * ((-len(buf)) % alignment)


def pack_moc3(arrays: dict[str, object], canvas: Moc3Canvas, version: int = VERSION_3_3) -> bytes:
    """Lay out named arrays (see FIELDS) as a .moc3 file.  Every field must be
    given except runtime arrays (allocated from the counts); all arrays of one
    count family must have the same length."""
    fields = fields_for(version)
    counts: dict[str, int] = {}
    for name, kind, family in fields:
        if kind == "runtime":
            continue
        if name not in arrays:
            raise Moc3Error(f"moc3 array {name} is missing")
        n = len(arrays[name])
        if counts.setdefault(family, n) != n:
            raise Moc3Error(
                f"moc3 arrays of {family} differ in length ({name} has {n}, expected {counts[family]})"
            )
    for family in COUNTS:
        counts.setdefault(family, 0)
    unknown = set(arrays) - {f[0] for f in fields}
    if unknown:
        raise Moc3Error(f"unknown moc3 arrays: {', '.join(sorted(unknown))}")

    buf = bytearray(DATA_START)
    buf[0:4] = MAGIC
    buf[4] = version
    buf[5] = 0  # little endian
    offsets: list[int] = []
    count_offset = len(buf)
    buf += struct.pack("<%dI" % len(COUNTS), *(counts[c] for c in COUNTS))
    buf += b"\0" * (count_offset + COUNT_TABLE_SIZE - len(buf))
    canvas_offset = len(buf)
    buf += struct.pack(
        "<5fB",
        canvas.pixels_per_unit,
        canvas.origin_x,
        canvas.origin_y,
        canvas.width,
        canvas.height,
        canvas.flags,
    )
    _pad_to(buf, ALIGN)
    for name, kind, family in fields:
        n = counts[family]
        _pad_to(buf, ALIGN)
        offsets.append(len(buf))
        if kind == "runtime":
            buf += b"\0" * (n * RUNTIME_BYTES)
        elif kind == "id":
            buf += _encode_ids(arrays[name], name)
        else:
            values = np.asarray(arrays[name])
            if values.dtype.kind == "f" and not np.all(np.isfinite(values)):
                raise Moc3Error(f"moc3 array {name} holds a value that is not a finite number")
            if np.dtype(kind).kind in "iu" and len(values):
                info = np.iinfo(np.dtype(kind))
                if values.min() < info.min or values.max() > info.max:
                    raise Moc3Error(
                        f"moc3 array {name} holds a value outside {kind} ({values.min()}..{values.max()})"
                    )
            buf += np.ascontiguousarray(values, dtype=kind).tobytes()
    _pad_to(buf, ALIGN)
    table = [count_offset, canvas_offset] + offsets
    if 4 * len(table) > SECTION_TABLE_SIZE:
        raise Moc3Error("internal error: the section table does not fit")
    struct.pack_into("<%dI" % len(table), buf, SECTION_TABLE_OFFSET, *table)
    return bytes(buf)


# --------------------------------------------------------------------------- reading

MAX_ELEMENTS = 50_000_000  # per count family: far beyond any rig, far below a hostile size


@dataclass
class Moc3File:
    """A parsed .moc3: version, canvas, element counts and every array by name
    (ids as lists of str, the rest as numpy arrays)."""

    version: int
    canvas: Moc3Canvas
    counts: dict[str, int]
    arrays: dict[str, object]

    def __getitem__(self, name: str):
        return self.arrays[name]


def _plain_size(n: int) -> str:
    return f"{n:,} bytes"


def read_moc3(data: bytes, check: bool = True) -> Moc3File:
    """Parse a .moc3; refuse a truncated, corrupt or hand-broken file with a
    Moc3Error saying what is wrong.  `check` also verifies that every index
    and range in the file is consistent (see `check_moc3`)."""
    data = bytes(data)
    if len(data) < DATA_START + COUNT_TABLE_SIZE + CANVAS_SIZE:
        raise Moc3Error(f"this is not a .moc3: it is only {_plain_size(len(data))} long")
    if data[:4] != MAGIC:
        raise Moc3Error("this is not a .moc3 (it does not start with 'MOC3')")
    version = data[4]
    if version not in VERSION_NAMES:
        raise Moc3Error(f"unknown moc3 version {version}")
    if data[5] != 0:
        raise Moc3Error("big-endian .moc3 files are not supported")
    fields = fields_for(version)
    table = struct.unpack_from("<%dI" % (2 + len(fields)), data, SECTION_TABLE_OFFSET)
    count_offset, canvas_offset = table[0], table[1]
    for what, offset, size in (("count table", count_offset, 4 * len(COUNTS)), ("canvas", canvas_offset, 21)):
        if offset < DATA_START or offset + size > len(data):
            raise Moc3Error(
                f"the moc3 is corrupt: its {what} lies outside the file "
                f"(offset {offset}, file {_plain_size(len(data))})"
            )
    counts = dict(zip(COUNTS, struct.unpack_from("<%dI" % len(COUNTS), data, count_offset)))
    for family, n in counts.items():
        if n > MAX_ELEMENTS:
            raise Moc3Error(f"the moc3 is corrupt: it claims {n:,} {family.replace('_', ' ')}")
    ppu, ox, oy, w, h = struct.unpack_from("<5f", data, canvas_offset)
    canvas = Moc3Canvas(ppu, ox, oy, w, h, data[canvas_offset + 20])
    if not all(np.isfinite([ppu, ox, oy, w, h])) or ppu <= 0 or w <= 0 or h <= 0:
        raise Moc3Error("the moc3 is corrupt: its canvas size or scale is not a positive number")
    arrays: dict[str, object] = {}
    spans: list[tuple[int, int, str]] = []
    for (name, kind, family), offset in zip(fields, table[2:]):
        n = counts[family]
        size = n * _element_size(kind)
        if offset % ALIGN or offset < DATA_START or offset + size > len(data):
            raise Moc3Error(
                f"the moc3 is corrupt: array {name} ({n:,} elements at offset "
                f"{offset}) lies outside the file or off its 64-byte grid"
            )
        if size:
            spans.append((offset, offset + size, name))
        if kind == "runtime":
            continue
        raw = data[offset : offset + size]
        if kind == "id":
            ids = []
            for i in range(n):
                chunk = raw[i * ID_BYTES : (i + 1) * ID_BYTES].split(b"\0", 1)[0]
                try:
                    ids.append(chunk.decode("ascii"))
                except UnicodeDecodeError:
                    raise Moc3Error(f"the moc3 is corrupt: {name}[{i}] is not an ASCII id") from None
            arrays[name] = ids
        else:
            arrays[name] = np.frombuffer(raw, dtype=kind).copy()
    spans.sort()
    for (a0, a1, a), (b0, b1, b) in zip(spans, spans[1:]):
        if b0 < a1:
            raise Moc3Error(f"the moc3 is corrupt: arrays {a} and {b} overlap")
    moc = Moc3File(version, canvas, counts, arrays)
    if check:
        check_moc3(moc)
    return moc


def _ranges(moc: Moc3File, begin: str, count: str, family: str, what: str) -> None:
    """Every (begin, count) pair must lie inside the arrays of `family`."""
    b = np.asarray(moc[begin], np.int64)
    c = np.asarray(moc[count], np.int64)
    total = moc.counts[family]
    bad = np.nonzero((b < 0) | (c < 0) | (b + c > total))[0]
    if len(bad):
        i = int(bad[0])
        raise Moc3Error(
            f"the moc3 is corrupt: {what} {i} points at {family.replace('_', ' ')} "
            f"{int(b[i])}..{int(b[i] + c[i])}, but there are only {total}"
        )


def _indices(moc: Moc3File, name: str, family: str, what: str, allow_none: bool = False) -> None:
    v = np.asarray(moc[name], np.int64)
    low = -1 if allow_none else 0
    bad = np.nonzero((v < low) | (v >= moc.counts[family]))[0]
    if len(bad):
        i = int(bad[0])
        raise Moc3Error(
            f"the moc3 is corrupt: {what} {i} refers to {family.replace('_', ' ')} "
            f"{int(v[i])}, but there are {moc.counts[family]}"
        )


def _finite(moc: Moc3File, *names: str) -> None:
    for name in names:
        if not np.all(np.isfinite(moc[name])):
            raise Moc3Error(f"the moc3 is corrupt: {name} holds a value that is not a number")


def keyform_binding_key_counts(moc: Moc3File) -> list[list[int]]:
    """Per keyform binding: the parameter binding indices it combines."""
    out = []
    begins, counts = moc["keyform_bindings.index_begin"], moc["keyform_bindings.index_count"]
    indices = moc["parameter_binding_indices.binding"]
    for b, c in zip(begins, counts):
        out.append([int(i) for i in indices[int(b) : int(b) + int(c)]])
    return out


def check_moc3(moc: Moc3File) -> None:
    """Every index and range consistent, keyform counts equal to the key grids,
    deformer parents acyclic, keys ascending, values finite: what a reader
    must know before it touches the data."""
    c = moc.counts
    if c["draw_order_groups"] < 1:
        raise Moc3Error("the moc3 is corrupt: it has no draw order group")
    for family in ("parts", "deformers", "art_meshes", "parameters", "glue"):
        ids = moc[f"{family}.ids"]
        if any(not i for i in ids):
            raise Moc3Error(f"the moc3 is corrupt: one of its {family.replace('_', ' ')} has an empty id")
        if len(set(ids)) != len(ids):
            dup = next(i for i in ids if ids.count(i) > 1)
            raise Moc3Error(f"the moc3 is corrupt: {family.replace('_', ' ')} id {dup!r} appears twice")
    _finite(
        moc,
        "parameters.min",
        "parameters.max",
        "parameters.default",
        "keys.value",
        "keyform_positions.xy",
        "uvs.uv",
        "part_keyforms.draw_order",
        "warp_deformer_keyforms.opacity",
        "art_mesh_keyforms.opacity",
        "art_mesh_keyforms.draw_order",
        "rotation_deformer_keyforms.opacity",
        "rotation_deformer_keyforms.angle",
        "rotation_deformer_keyforms.origin_x",
        "rotation_deformer_keyforms.origin_y",
        "rotation_deformer_keyforms.scale",
        "rotation_deformers.base_angle",
    )
    lo, hi, de = moc["parameters.min"], moc["parameters.max"], moc["parameters.default"]
    bad = np.nonzero(~((lo <= de) & (de <= hi)))[0]
    if len(bad):
        raise Moc3Error(
            f"the moc3 is corrupt: parameter {moc['parameters.ids'][int(bad[0])]!r} "
            f"has its default outside min..max"
        )
    # Parameter bindings: each parameter owns a contiguous run; each run's keys ascend.
    _ranges(moc, "parameters.binding_begin", "parameters.binding_count", "parameter_bindings", "parameter")
    _ranges(
        moc, "parameter_bindings.keys_begin", "parameter_bindings.keys_count", "keys", "parameter binding"
    )
    keys = moc["keys.value"]
    for i, (b, n) in enumerate(
        zip(moc["parameter_bindings.keys_begin"], moc["parameter_bindings.keys_count"])
    ):
        k = keys[int(b) : int(b) + int(n)]
        if n < 1 or np.any(np.diff(k) <= 0):
            raise Moc3Error(
                f"the moc3 is corrupt: parameter binding {i} has no keys or keys that do not ascend"
            )
    _ranges(
        moc,
        "keyform_bindings.index_begin",
        "keyform_bindings.index_count",
        "parameter_binding_indices",
        "keyform binding",
    )
    _indices(moc, "parameter_binding_indices.binding", "parameter_bindings", "parameter binding index")
    grid = [
        int(np.prod([int(moc["parameter_bindings.keys_count"][p]) for p in pbs]))
        for pbs in keyform_binding_key_counts(moc)
    ]
    # Objects: keyform binding, keyform range, and the grid size it implies.
    for family, keyforms in (
        ("parts", "part_keyforms"),
        ("art_meshes", "art_mesh_keyforms"),
        ("warp_deformers", "warp_deformer_keyforms"),
        ("rotation_deformers", "rotation_deformer_keyforms"),
        ("glue", "glue_keyforms"),
    ):
        _indices(moc, f"{family}.keyform_binding_index", "keyform_bindings", family.replace("_", " ")[:-1])
        _ranges(
            moc, f"{family}.keyform_begin", f"{family}.keyform_count", keyforms, family.replace("_", " ")[:-1]
        )
        for i, (kb, n) in enumerate(
            zip(moc[f"{family}.keyform_binding_index"], moc[f"{family}.keyform_count"])
        ):
            if grid[int(kb)] != int(n):
                raise Moc3Error(
                    f"the moc3 is corrupt: {family.replace('_', ' ')[:-1]} {i} has "
                    f"{int(n)} keyforms, but its parameters' keys make {grid[int(kb)]}"
                )
    _indices(moc, "parts.parent_part", "parts", "part", allow_none=True)
    _indices(moc, "deformers.parent_part", "parts", "deformer", allow_none=True)
    _indices(moc, "art_meshes.parent_part", "parts", "art mesh", allow_none=True)
    _indices(moc, "deformers.parent_deformer", "deformers", "deformer", allow_none=True)
    _indices(moc, "art_meshes.parent_deformer", "deformers", "art mesh", allow_none=True)
    for family, parent_name in (("parts", "parts.parent_part"), ("deformers", "deformers.parent_deformer")):
        parents = [int(p) for p in moc[parent_name]]
        for start in range(len(parents)):
            seen, node = set(), start
            while node != -1:
                if node in seen:
                    raise Moc3Error(
                        f"the moc3 is corrupt: {family} form a parent cycle "
                        f"(at {moc[family + '.ids'][start]!r})"
                    )
                seen.add(node)
                node = parents[node]
    types = moc["deformers.type"]
    if np.any(types > 1):
        raise Moc3Error("the moc3 is corrupt: a deformer has an unknown type")
    specific = moc["deformers.specific_index"]
    for kind, family in ((0, "warp_deformers"), (1, "rotation_deformers")):
        sel = specific[types == kind]
        if (
            len(sel)
            and (sel.min() < 0 or sel.max() >= c[family])
            or len(set(sel.tolist())) != len(sel)
            or len(sel) != c[family]
        ):
            raise Moc3Error(
                f"the moc3 is corrupt: its deformers do not map one to one onto its "
                f"{family.replace('_', ' ')}"
            )
    # Warp grids and keyform positions.
    rows, cols = moc["warp_deformers.rows"], moc["warp_deformers.columns"]
    vcount = moc["warp_deformers.vertex_count"]
    if np.any(rows < 1) or np.any(cols < 1) or np.any(vcount != (rows + 1) * (cols + 1)):
        raise Moc3Error("the moc3 is corrupt: a warp deformer's grid size does not match its points")
    npos = c["keyform_positions"]
    for family, keyforms, counts_of in (
        ("warp_deformers", "warp_deformer_keyforms", vcount),
        ("art_meshes", "art_mesh_keyforms", moc["art_meshes.vertex_count"]),
    ):
        begin = moc[f"{keyforms}.position_begin"].astype(np.int64)
        for i, (b, n, v) in enumerate(
            zip(moc[f"{family}.keyform_begin"], moc[f"{family}.keyform_count"], counts_of)
        ):
            starts = begin[int(b) : int(b) + int(n)]
            if len(starts) and (starts.min() < 0 or starts.max() + 2 * int(v) > npos):
                raise Moc3Error(
                    f"the moc3 is corrupt: {family.replace('_', ' ')[:-1]} {i}'s "
                    f"keyform positions lie outside the position array"
                )
    # Art meshes: uvs, triangles, masks.
    n_v = moc["art_meshes.vertex_count"].astype(np.int64)
    if np.any(n_v < 1):
        raise Moc3Error("the moc3 is corrupt: an art mesh has no vertices")
    uv_begin = moc["art_meshes.uv_begin"].astype(np.int64)
    if np.any(uv_begin < 0) or np.any(uv_begin + 2 * n_v > c["uvs"]):
        raise Moc3Error("the moc3 is corrupt: an art mesh's UVs lie outside the UV array")
    _ranges(moc, "art_meshes.index_begin", "art_meshes.index_count", "position_indices", "art mesh")
    _ranges(moc, "art_meshes.mask_begin", "art_meshes.mask_count", "drawable_masks", "art mesh")
    _indices(moc, "drawable_masks.art_mesh", "art_meshes", "drawable mask")
    tri = moc["position_indices.index"].astype(np.int64)
    for i, (b, n, v) in enumerate(zip(moc["art_meshes.index_begin"], moc["art_meshes.index_count"], n_v)):
        t = tri[int(b) : int(b) + int(n)]
        if n % 3 or (len(t) and (t.min() < 0 or t.max() >= v)):
            raise Moc3Error(
                f"the moc3 is corrupt: art mesh {moc['art_meshes.ids'][i]!r} has a "
                f"triangle index outside its {int(v)} vertices"
            )
    if np.any(moc["art_meshes.flags"] & 0xF0):
        raise Moc3Error("the moc3 is corrupt: an art mesh has unknown flags")
    # Draw order groups.
    _ranges(
        moc,
        "draw_order_groups.object_begin",
        "draw_order_groups.object_count",
        "draw_order_group_objects",
        "draw order group",
    )
    obj_type = moc["draw_order_group_objects.type"]
    if np.any(obj_type > 1):
        raise Moc3Error("the moc3 is corrupt: a draw order object has an unknown type")
    obj_index = moc["draw_order_group_objects.index"].astype(np.int64)
    limit = np.where(obj_type == 0, c["art_meshes"], c["parts"])
    if np.any(obj_index < 0) or np.any(obj_index >= limit):
        raise Moc3Error("the moc3 is corrupt: a draw order object refers to a missing art mesh or part")
    _indices(moc, "glue.art_mesh_a", "art_meshes", "glue")
    _indices(moc, "glue.art_mesh_b", "art_meshes", "glue")
    _ranges(moc, "glue.info_begin", "glue.info_count", "glue_info", "glue")
