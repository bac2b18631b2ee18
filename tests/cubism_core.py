# SPDX-License-Identifier: GPL-3.0-or-later
"""The official Live2D Cubism Core, loaded with ctypes from the `live2d-py` wheel.

`live2d-py` (PyPI, a test dependency only: Live2D's Core is under Live2D's own
licence and is never bundled with the extension) links the Core statically and
exports its C API.  This helper calls that C API directly -- the same calls
every Cubism SDK makes -- so a test can ask the Core itself whether it accepts
a .moc3 and what it computes from it:

    core = cubism_core()            # pytest.skip()s with a reason when absent
    core.moc_version(data)          # csmGetMocVersion
    core.has_consistency(data)      # csmHasMocConsistency
    model = core.load(data)         # csmReviveMocInPlace + csmInitializeModelInPlace
    model.update({"ParamAngleX": 30})
    model.vertex_positions()        # per drawable (N, 2) float32, Core units (y up)

The signatures follow the public header Live2DCubismCore.h.  Nothing here
imports the `live2d` package itself (it would start its OpenGL framework):
only its shared library is opened.
"""

from __future__ import annotations

import ctypes
import glob
import importlib.util
import os
from dataclasses import dataclass

import numpy as np

ALIGN_MOC = 64  # csmAlignofMoc
ALIGN_MODEL = 16  # csmAlignofModel


class CoreUnavailable(RuntimeError):
    """The live2d-py wheel (and with it the Cubism Core) is not installed here."""


class Vector2(ctypes.Structure):
    _fields_ = [("x", ctypes.c_float), ("y", ctypes.c_float)]


def core_library_path() -> str:
    spec = importlib.util.find_spec("live2d")
    if spec is None or not spec.submodule_search_locations:
        raise CoreUnavailable(
            "the live2d-py wheel is not installed (pip install -r "
            "requirements-test.txt; it exists for x86_64 Linux, Windows, macOS)"
        )
    for folder in spec.submodule_search_locations:
        found = sorted(
            glob.glob(os.path.join(folder, "_live2d*.so")) + glob.glob(os.path.join(folder, "_live2d*.pyd"))
        )
        if found:
            return found[0]
    raise CoreUnavailable("the live2d-py package has no _live2d shared library")


_SIGNATURES = {
    # name: (restype, argtypes)
    "csmGetVersion": (ctypes.c_uint, []),
    "csmGetLatestMocVersion": (ctypes.c_uint, []),
    "csmGetMocVersion": (ctypes.c_uint, [ctypes.c_void_p, ctypes.c_uint]),
    "csmHasMocConsistency": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_uint]),
    "csmReviveMocInPlace": (ctypes.c_void_p, [ctypes.c_void_p, ctypes.c_uint]),
    "csmGetSizeofModel": (ctypes.c_uint, [ctypes.c_void_p]),
    "csmInitializeModelInPlace": (ctypes.c_void_p, [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint]),
    "csmUpdateModel": (None, [ctypes.c_void_p]),
    "csmReadCanvasInfo": (
        None,
        [ctypes.c_void_p, ctypes.POINTER(Vector2), ctypes.POINTER(Vector2), ctypes.POINTER(ctypes.c_float)],
    ),
    "csmGetRenderOrders": (ctypes.POINTER(ctypes.c_int), [ctypes.c_void_p]),
    "csmGetParameterCount": (ctypes.c_int, [ctypes.c_void_p]),
    "csmGetParameterIds": (ctypes.POINTER(ctypes.c_char_p), [ctypes.c_void_p]),
    "csmGetParameterTypes": (ctypes.POINTER(ctypes.c_int), [ctypes.c_void_p]),
    "csmGetParameterMinimumValues": (ctypes.POINTER(ctypes.c_float), [ctypes.c_void_p]),
    "csmGetParameterMaximumValues": (ctypes.POINTER(ctypes.c_float), [ctypes.c_void_p]),
    "csmGetParameterDefaultValues": (ctypes.POINTER(ctypes.c_float), [ctypes.c_void_p]),
    "csmGetParameterValues": (ctypes.POINTER(ctypes.c_float), [ctypes.c_void_p]),
    "csmGetParameterKeyCounts": (ctypes.POINTER(ctypes.c_int), [ctypes.c_void_p]),
    "csmGetParameterKeyValues": (ctypes.POINTER(ctypes.POINTER(ctypes.c_float)), [ctypes.c_void_p]),
    "csmGetPartCount": (ctypes.c_int, [ctypes.c_void_p]),
    "csmGetPartIds": (ctypes.POINTER(ctypes.c_char_p), [ctypes.c_void_p]),
    "csmGetPartOpacities": (ctypes.POINTER(ctypes.c_float), [ctypes.c_void_p]),
    "csmGetPartParentPartIndices": (ctypes.POINTER(ctypes.c_int), [ctypes.c_void_p]),
    "csmGetDrawableCount": (ctypes.c_int, [ctypes.c_void_p]),
    "csmGetDrawableIds": (ctypes.POINTER(ctypes.c_char_p), [ctypes.c_void_p]),
    "csmGetDrawableConstantFlags": (ctypes.POINTER(ctypes.c_ubyte), [ctypes.c_void_p]),
    "csmGetDrawableDynamicFlags": (ctypes.POINTER(ctypes.c_ubyte), [ctypes.c_void_p]),
    "csmGetDrawableTextureIndices": (ctypes.POINTER(ctypes.c_int), [ctypes.c_void_p]),
    "csmGetDrawableDrawOrders": (ctypes.POINTER(ctypes.c_int), [ctypes.c_void_p]),
    "csmGetDrawableOpacities": (ctypes.POINTER(ctypes.c_float), [ctypes.c_void_p]),
    "csmGetDrawableMaskCounts": (ctypes.POINTER(ctypes.c_int), [ctypes.c_void_p]),
    "csmGetDrawableMasks": (ctypes.POINTER(ctypes.POINTER(ctypes.c_int)), [ctypes.c_void_p]),
    "csmGetDrawableVertexCounts": (ctypes.POINTER(ctypes.c_int), [ctypes.c_void_p]),
    "csmGetDrawableVertexPositions": (ctypes.POINTER(ctypes.POINTER(Vector2)), [ctypes.c_void_p]),
    "csmGetDrawableVertexUvs": (ctypes.POINTER(ctypes.POINTER(Vector2)), [ctypes.c_void_p]),
    "csmGetDrawableIndexCounts": (ctypes.POINTER(ctypes.c_int), [ctypes.c_void_p]),
    "csmGetDrawableIndices": (ctypes.POINTER(ctypes.POINTER(ctypes.c_ushort)), [ctypes.c_void_p]),
    "csmGetDrawableParentPartIndices": (ctypes.POINTER(ctypes.c_int), [ctypes.c_void_p]),
    "csmSetLogFunction": (None, [ctypes.c_void_p]),
}
LOG_FUNCTION = ctypes.CFUNCTYPE(None, ctypes.c_char_p)


def _aligned(size: int, alignment: int):
    """A zeroed ctypes buffer and an address inside it aligned to `alignment`."""
    raw = ctypes.create_string_buffer(size + alignment)
    base = ctypes.addressof(raw)
    return raw, base + (-base) % alignment


@dataclass
class CanvasInfo:
    width: float
    height: float
    origin_x: float
    origin_y: float
    pixels_per_unit: float

    def to_pixels(self, units: np.ndarray) -> np.ndarray:
        """Core units (y up, origin at origin_x/y) -> canvas pixels (y down)."""
        out = np.empty_like(units, dtype=np.float64)
        out[:, 0] = self.origin_x + units[:, 0] * self.pixels_per_unit
        out[:, 1] = self.origin_y - units[:, 1] * self.pixels_per_unit
        return out


class CoreModel:
    """One model instance initialised by the Core from moc3 bytes."""

    def __init__(self, core: CubismCore, data: bytes):
        lib = core.lib
        self.lib = lib
        self._moc_raw, self._moc_addr = _aligned(len(data), ALIGN_MOC)
        ctypes.memmove(self._moc_addr, data, len(data))
        self.moc = lib.csmReviveMocInPlace(self._moc_addr, len(data))
        if not self.moc:
            raise ValueError("csmReviveMocInPlace refused the moc")
        size = lib.csmGetSizeofModel(self.moc)
        if not size:
            raise ValueError("csmGetSizeofModel returned 0")
        self._model_raw, self._model_addr = _aligned(size, ALIGN_MODEL)
        self.model = lib.csmInitializeModelInPlace(self.moc, self._model_addr, size)
        if not self.model:
            raise ValueError("csmInitializeModelInPlace refused the moc")
        self.parameter_ids = self._strings(lib.csmGetParameterIds, lib.csmGetParameterCount(self.model))
        self.part_ids = self._strings(lib.csmGetPartIds, lib.csmGetPartCount(self.model))
        self.drawable_ids = self._strings(lib.csmGetDrawableIds, lib.csmGetDrawableCount(self.model))

    # ------------------------------------------------------------ helpers
    def _strings(self, getter, count: int) -> list[str]:
        ptr = getter(self.model)
        return [ptr[i].decode("utf-8") for i in range(count)]

    @staticmethod
    def _array(ptr, count: int, dtype) -> np.ndarray:
        if count == 0:
            return np.zeros(0, dtype)
        return np.ctypeslib.as_array(ptr, shape=(count,)).astype(dtype).copy()

    # ------------------------------------------------------------ static info
    def canvas(self) -> CanvasInfo:
        size, origin, ppu = Vector2(), Vector2(), ctypes.c_float()
        self.lib.csmReadCanvasInfo(self.model, ctypes.byref(size), ctypes.byref(origin), ctypes.byref(ppu))
        return CanvasInfo(size.x, size.y, origin.x, origin.y, ppu.value)

    def parameters(self) -> list[dict]:
        lib, n = self.lib, len(self.parameter_ids)
        mins = self._array(lib.csmGetParameterMinimumValues(self.model), n, np.float64)
        maxs = self._array(lib.csmGetParameterMaximumValues(self.model), n, np.float64)
        defaults = self._array(lib.csmGetParameterDefaultValues(self.model), n, np.float64)
        key_counts = self._array(lib.csmGetParameterKeyCounts(self.model), n, np.int64)
        key_values = lib.csmGetParameterKeyValues(self.model)
        types = self._array(lib.csmGetParameterTypes(self.model), n, np.int64)
        out = []
        for i, pid in enumerate(self.parameter_ids):
            keys = [float(key_values[i][k]) for k in range(int(key_counts[i]))]
            out.append(
                {
                    "id": pid,
                    "min": mins[i],
                    "max": maxs[i],
                    "default": defaults[i],
                    "keys": keys,
                    "type": int(types[i]),
                }
            )
        return out

    def part_parents(self) -> np.ndarray:
        return self._array(self.lib.csmGetPartParentPartIndices(self.model), len(self.part_ids), np.int64)

    def drawable_parts(self) -> np.ndarray:
        return self._array(
            self.lib.csmGetDrawableParentPartIndices(self.model), len(self.drawable_ids), np.int64
        )

    def texture_indices(self) -> np.ndarray:
        return self._array(
            self.lib.csmGetDrawableTextureIndices(self.model), len(self.drawable_ids), np.int64
        )

    def constant_flags(self) -> np.ndarray:
        return self._array(self.lib.csmGetDrawableConstantFlags(self.model), len(self.drawable_ids), np.int64)

    def vertex_counts(self) -> np.ndarray:
        return self._array(self.lib.csmGetDrawableVertexCounts(self.model), len(self.drawable_ids), np.int64)

    def uvs(self) -> list[np.ndarray]:
        ptr = self.lib.csmGetDrawableVertexUvs(self.model)
        return [self._vec2(ptr[i], int(n)) for i, n in enumerate(self.vertex_counts())]

    def indices(self) -> list[np.ndarray]:
        counts = self._array(self.lib.csmGetDrawableIndexCounts(self.model), len(self.drawable_ids), np.int64)
        ptr = self.lib.csmGetDrawableIndices(self.model)
        return [self._array(ptr[i], int(n), np.int64) for i, n in enumerate(counts)]

    def masks(self) -> list[list[int]]:
        counts = self._array(self.lib.csmGetDrawableMaskCounts(self.model), len(self.drawable_ids), np.int64)
        ptr = self.lib.csmGetDrawableMasks(self.model)
        return [[int(ptr[i][k]) for k in range(int(n))] for i, n in enumerate(counts)]

    # ------------------------------------------------------------ dynamic state
    def update(self, values: dict[str, float] | None = None) -> None:
        """Set parameters (defaults for the rest) and run csmUpdateModel."""
        params = self.parameters()
        buf = self.lib.csmGetParameterValues(self.model)
        for i, p in enumerate(params):
            buf[i] = float((values or {}).get(p["id"], p["default"]))
        self.lib.csmUpdateModel(self.model)

    @staticmethod
    def _vec2(ptr, count: int) -> np.ndarray:
        if count == 0:
            return np.zeros((0, 2), np.float64)
        flat = ctypes.cast(ptr, ctypes.POINTER(ctypes.c_float))
        return np.ctypeslib.as_array(flat, shape=(count * 2,)).astype(np.float64).reshape(count, 2)

    def vertex_positions(self) -> list[np.ndarray]:
        ptr = self.lib.csmGetDrawableVertexPositions(self.model)
        return [self._vec2(ptr[i], int(n)) for i, n in enumerate(self.vertex_counts())]

    def opacities(self) -> np.ndarray:
        return self._array(self.lib.csmGetDrawableOpacities(self.model), len(self.drawable_ids), np.float64)

    def draw_orders(self) -> np.ndarray:
        return self._array(self.lib.csmGetDrawableDrawOrders(self.model), len(self.drawable_ids), np.int64)

    def render_orders(self) -> np.ndarray:
        return self._array(self.lib.csmGetRenderOrders(self.model), len(self.drawable_ids), np.int64)

    def dynamic_flags(self) -> np.ndarray:
        return self._array(self.lib.csmGetDrawableDynamicFlags(self.model), len(self.drawable_ids), np.int64)


class CubismCore:
    def __init__(self, path: str | None = None):
        self.path = path or core_library_path()
        try:
            self.lib = ctypes.CDLL(self.path)
        except OSError as exc:
            raise CoreUnavailable(f"cannot open the Cubism Core in {self.path}: {exc}") from None
        missing = []
        for name, (restype, argtypes) in _SIGNATURES.items():
            try:
                fn = getattr(self.lib, name)
            except AttributeError:
                missing.append(name)
                continue
            fn.restype = restype
            fn.argtypes = argtypes
        if missing:
            raise CoreUnavailable(f"{os.path.basename(self.path)} does not export {', '.join(missing)}")
        # The Core explains a refusal through its log function: keep the messages.
        self.log: list[str] = []
        self._log_callback = LOG_FUNCTION(
            lambda message: self.log.append(message.decode("utf-8", "replace").rstrip())
        )
        self.lib.csmSetLogFunction(ctypes.cast(self._log_callback, ctypes.c_void_p))

    def version(self) -> str:
        v = self.lib.csmGetVersion()
        return f"{v >> 24}.{(v >> 16) & 0xFF}.{v & 0xFFFF}"

    def latest_moc_version(self) -> int:
        return int(self.lib.csmGetLatestMocVersion())

    def moc_version(self, data: bytes) -> int:
        raw, addr = _aligned(len(data), ALIGN_MOC)
        ctypes.memmove(addr, data, len(data))
        return int(self.lib.csmGetMocVersion(addr, len(data)))

    def has_consistency(self, data: bytes) -> bool:
        raw, addr = _aligned(len(data), ALIGN_MOC)
        ctypes.memmove(addr, data, len(data))
        return bool(self.lib.csmHasMocConsistency(addr, len(data)))

    def load(self, data: bytes) -> CoreModel:
        """A model instance; only call it on data that `has_consistency` accepted
        (the Core does not bounds-check a moc it revives)."""
        return CoreModel(self, data)


_CORE: CubismCore | None = None


def cubism_core() -> CubismCore:
    """The Core, or pytest.skip() with the reason it is not available here."""
    global _CORE
    if _CORE is None:
        try:
            _CORE = CubismCore()
        except CoreUnavailable as exc:
            import pytest

            pytest.skip(f"the official Cubism Core is not available: {exc}")
    return _CORE
