# SPDX-License-Identifier: GPL-3.0-or-later
"""Loading checkpoints safely and checking them against a model's layout.

* `.safetensors` files are read with safetensors (no code can run);
* other files with `torch.load(weights_only=True)`; training checkpoints that
  also pickle foreign objects (a Lightning checkpoint's OmegaConf config, for
  instance) are read by an unpickler that only rebuilds tensors and plain
  containers and replaces every other object with an inert stub, so no code
  from the file ever runs;
* `check_state_dict` compares names and shapes with the model and raises
  ModelLoadError naming the first mismatch.
"""
from __future__ import annotations

import os
import pickle
from collections import OrderedDict
from typing import Dict, Iterable, Mapping

from .base import ModelLoadError


def pick_device(preference: str = "auto"):
    """torch.device for "auto" (CUDA, then MPS, then CPU), "cpu", "cuda" or "mps"."""
    import torch
    preference = (preference or "auto").lower()
    if preference == "cuda" or (preference == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise ModelLoadError("CUDA was chosen but no CUDA GPU is available: choose Auto or CPU")
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    mps_ok = bool(mps is not None and mps.is_available())
    if preference == "mps" or (preference == "auto" and mps_ok):
        if not mps_ok:
            raise ModelLoadError("Apple MPS was chosen but is not available: choose Auto or CPU")
        return torch.device("mps")
    return torch.device("cpu")


def file_stamp(path: str):
    """Changes when the file (or folder) at `path` is replaced: part of model cache keys."""
    try:
        st = os.stat(path)
        return (st.st_mtime_ns, st.st_size)
    except OSError:
        return None


def half_is_safe(device) -> bool:
    """Half precision only on CUDA GPUs (CPU half is slow and MPS half is fragile)."""
    return getattr(device, "type", str(device)) == "cuda"


# --------------------------------------------------------------------------- stub unpickling
class _Stub:
    """Stands in for any object a checkpoint pickles besides tensors."""

    def __new__(cls, *args, **kwargs):
        return object.__new__(cls)

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        pass

    def __call__(self, *args, **kwargs):
        return _Stub()

    def __setitem__(self, key, value):  # a dict subclass being filled
        pass

    def append(self, value):
        pass

    def extend(self, values):
        pass


_ALLOWED_TORCH_PREFIXES = ("torch._utils._rebuild", "torch._tensor._rebuild")


def _allowed_global(module: str, name: str) -> bool:
    if module == "collections" and name == "OrderedDict":
        return True
    if module == "builtins" and name in ("set", "frozenset", "complex", "slice", "bytearray"):
        return True
    full = f"{module}.{name}"
    if full.startswith(_ALLOWED_TORCH_PREFIXES):
        return True
    if module == "torch" and (name.endswith("Storage") or name in ("Size", "device", "dtype")):
        return True
    if module == "torch" and name in ("float32", "float16", "bfloat16", "float64", "int64",
                                      "int32", "int16", "int8", "uint8", "bool"):
        return True
    if module == "torch.storage" and name in ("UntypedStorage", "TypedStorage"):
        return True
    if module == "torch.nn.parameter" and name == "Parameter":
        return True
    return False


class _StubUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if _allowed_global(module, name):
            return super().find_class(module, name)
        return type(name, (_Stub,), {"__module__": "stub." + module})


class _StubPickleModule:
    Unpickler = _StubUnpickler
    load = staticmethod(pickle.load)
    __name__ = "image_to_rig_stub_pickle"


def _torch_load(path: str):
    import torch
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "weights_only" not in str(exc) and "Unsupported global" not in str(exc):
            raise
    # a training checkpoint that pickles more than tensors: stubs for the rest
    return torch.load(path, map_location="cpu", weights_only=False, pickle_module=_StubPickleModule)


def load_tensors(path: str, what: str) -> Dict[str, "object"]:
    """name -> tensor from a .safetensors, .ckpt, .pth or .pt file (training
    checkpoints: their "state_dict"; Lightning/DataParallel prefixes are kept
    for the caller to strip)."""
    if not path or not os.path.isfile(path):
        raise ModelLoadError(f"the {what} weights file {path or '(no path)'} does not exist: set its "
                             "path or download it in the add-on preferences")
    if os.path.getsize(path) == 0:
        raise ModelLoadError(f"the {what} weights file {path} is empty: download it again")
    try:
        if path.endswith(".safetensors"):
            from safetensors.torch import load_file
            data = load_file(path, device="cpu")
        else:
            data = _torch_load(path)
    except ModelLoadError:
        raise
    except Exception as exc:  # every reader error means the same thing to a person
        raise ModelLoadError(f"the {what} weights file {path} is corrupted or not a PyTorch/"
                             f"safetensors checkpoint ({type(exc).__name__}: {exc}): download it "
                             "again") from exc
    if isinstance(data, Mapping) and "state_dict" in data and isinstance(data["state_dict"], Mapping):
        data = data["state_dict"]
    if not isinstance(data, Mapping):
        raise ModelLoadError(f"the {what} weights file {path} holds a {type(data).__name__}, not a "
                             "set of named tensors")
    import torch
    tensors = OrderedDict((str(k), v) for k, v in data.items() if isinstance(v, torch.Tensor))
    if not tensors:
        raise ModelLoadError(f"the {what} weights file {path} contains no tensors")
    return tensors


def strip_prefix(tensors: Mapping[str, object], prefixes: Iterable[str]) -> "OrderedDict[str, object]":
    """Keys under the first of `prefixes` that any key has, with the prefix removed
    (e.g. "net." of a Lightning module, "module." of DataParallel)."""
    for prefix in prefixes:
        if any(k.startswith(prefix) for k in tensors):
            return OrderedDict((k[len(prefix):], v) for k, v in tensors.items() if k.startswith(prefix))
    return OrderedDict(tensors)


def check_state_dict(model, tensors: Mapping[str, object], layout: str) -> None:
    """Raise ModelLoadError unless `tensors` has every parameter/buffer of `model`
    with the same shape (extra keys are ignored)."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in tensors]
    if missing:
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        raise ModelLoadError(f"the checkpoint does not match the {layout} layout: it lacks "
                             f"{', '.join(missing[:3])}{more}")
    for key, ref in expected.items():
        got = tuple(tensors[key].shape)
        if got != tuple(ref.shape):
            raise ModelLoadError(f"the checkpoint does not match the {layout} layout: {key} has "
                                 f"shape {list(got)}, expected {list(ref.shape)}")


def shape_of(tensors: Mapping[str, object], key: str, layout: str):
    if key not in tensors:
        raise ModelLoadError(f"the checkpoint does not match the {layout} layout: it lacks {key}")
    return tuple(tensors[key].shape)


def load_into(model, tensors: Mapping[str, object], layout: str):
    check_state_dict(model, tensors, layout)
    state = {k: tensors[k] for k in model.state_dict()}
    model.load_state_dict(state, strict=True)
    return model.eval()


def cached_model(cache: dict, path: str, device_setting: str, loader):
    """The model at `path` on the chosen device, loaded once per backend class.

    The key includes the file's stamp, so a replaced checkpoint is reloaded;
    only one model per backend class is kept in memory.
    """
    device = pick_device(device_setting)
    key = (path, file_stamp(path), str(device))
    if key not in cache:
        model = loader(path).to(device)
        cache.clear()
        cache[key] = model
    return cache[key], device
