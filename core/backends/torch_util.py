# SPDX-License-Identifier: GPL-3.0-or-later
"""Loading checkpoints safely and checking them against a model's layout.

* `.safetensors` files are read with safetensors (no code can run);
* other files with `torch.load(weights_only=True)` only: torch's restricted
  unpickler, which rebuilds tensors and plain containers; the few objects that
  published training checkpoints pickle beside their weights (big-lama's
  OmegaConf config) are allow-listed by name as inert stubs.  A file that needs
  anything else is refused with a message that says how to convert it
  (`convert_to_safetensors`, the explicit `convert-weights` command); no code
  from a weights file ever runs;
* `check_state_dict` compares names and shapes with the model and raises
  ModelLoadError naming the first mismatch.
"""

from __future__ import annotations

import os
import pickle
import re
from collections import OrderedDict
from collections.abc import Iterable, Mapping

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


# --------------------------------------------------------------------------- safe unpickling
# Objects that published training checkpoints pickle beside their tensors
# (big-lama's OmegaConf training config).  torch's weights_only unpickler
# builds each of them as an inert stub: it has no behaviour, keeps no state and
# is dropped with the rest of the checkpoint once the tensors are taken out.
KNOWN_CHECKPOINT_GLOBALS = (
    "omegaconf.dictconfig.DictConfig",
    "omegaconf.listconfig.ListConfig",
    "omegaconf.base.ContainerMetadata",
    "omegaconf.base.Metadata",
    "omegaconf.nodes.AnyNode",
    "omegaconf.nodes.StringNode",
    "omegaconf.nodes.IntegerNode",
    "omegaconf.nodes.FloatNode",
    "omegaconf.nodes.BooleanNode",
    "omegaconf.nodes.EnumNode",
    "omegaconf.nodes.ValueNode",
    "typing.Any",
    "builtins.dict",
    "builtins.list",
)


class _Inert:
    """Stands in for one of KNOWN_CHECKPOINT_GLOBALS: accepts whatever the
    unpickler hands it and does nothing with it."""

    def __new__(cls, *args, **kwargs):
        return object.__new__(cls)

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        pass


def _inert_globals(names=KNOWN_CHECKPOINT_GLOBALS):
    """(stub class, full name) pairs for torch.serialization.safe_globals."""
    return [
        (type(name.rsplit(".", 1)[-1], (_Inert,), {"__module__": "inert." + name}), name) for name in names
    ]


# What torch's restricted unpickler says when a file pickles an object it
# does not allow (as opposed to a damaged file).
_FOREIGN_OBJECT_SIGNS = (
    "GLOBAL",
    "Unsupported global",
    "Can only create new object",
    "Can only build",
    "reduce for unrecognized function",
    "Can only SETITEM",
    "Can only append",
)

CONVERT_HINT = (
    "if you trust where the file came from, convert it once with "
    "`python -m image_to_rig convert-weights {path} OUT.safetensors --trust-this-file` "
    "and use OUT.safetensors"
)


def _torch_load(path: str):
    """torch.load with weights_only=True (torch's restricted unpickler: tensors,
    plain containers and the inert stubs above).  A file that needs anything
    else is refused; nothing in it runs."""
    import torch

    try:
        with torch.serialization.safe_globals(_inert_globals()):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        text = str(exc)
        if not any(sign in text for sign in _FOREIGN_OBJECT_SIGNS):
            raise  # a damaged file: the caller says so
        found = re.search(r"GLOBAL ([\w.]+)", text)
        what = f" ({found.group(1)})" if found else ""
        raise ModelLoadError(
            f"{path} stores Python objects besides its weights{what}, and loading them could "
            "run code from the file, so Image to Rig does not load it; " + CONVERT_HINT.format(path=path)
        ) from None


# --------------------------------------------------------------------------- conversion
MAX_CONVERT_GLOBALS = 256


def convert_to_safetensors(src: str, dst: str) -> int:
    """Write the tensors of the checkpoint `src` to the safetensors file `dst`;
    return how many.  Only for a file the user says they trust, and even then
    nothing in it runs: it is read with weights_only=True, every object it
    pickles besides tensors is built as an inert stub (found one by one from
    torch's refusals) and left out.  `dst` is written beside and renamed into place."""
    import torch
    from safetensors.torch import save_file

    if not dst.endswith(".safetensors"):
        raise ModelLoadError(f"the converted file must end in .safetensors, got {dst}")
    if not os.path.isfile(src):
        raise ModelLoadError(f"{src} does not exist")
    names = list(KNOWN_CHECKPOINT_GLOBALS)
    data = None
    for _ in range(MAX_CONVERT_GLOBALS):
        try:
            with torch.serialization.safe_globals(_inert_globals(names)):
                data = torch.load(src, map_location="cpu", weights_only=True)
            break
        except pickle.UnpicklingError as exc:
            found = re.search(r"GLOBAL ([\w.]+)", str(exc))
            if found is None or found.group(1) in names:
                raise ModelLoadError(f"{src} cannot be converted: {_last_line(exc)}") from None
            names.append(found.group(1))
        except Exception as exc:
            raise ModelLoadError(
                f"{src} is not a PyTorch checkpoint that can be converted ({type(exc).__name__}: {exc})"
            ) from None
    else:
        raise ModelLoadError(
            f"{src} pickles more than {MAX_CONVERT_GLOBALS} kinds of objects; it is not a weights file"
        )
    tensors = _named_tensors(data, f"the weights file {src}")
    folder = os.path.dirname(os.path.abspath(dst)) or "."
    tmp = os.path.join(folder, "." + os.path.basename(dst) + ".part")
    try:
        save_file({k: v.detach().contiguous().clone() for k, v in tensors.items()}, tmp)
        os.replace(tmp, dst)
    except OSError as exc:
        raise ModelLoadError(f"could not write {dst}: {exc.strerror or exc}") from None
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return len(tensors)


def _last_line(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    useful = [line for line in lines if "GLOBAL" in line or "Can only" in line or "Unsupported" in line]
    return (useful or lines or [type(exc).__name__])[0]


def _named_tensors(data, label: str) -> OrderedDict[str, object]:
    """name -> tensor of a loaded checkpoint (a training checkpoint: its "state_dict");
    `label` names the file in errors ("the ISNet weights file PATH")."""
    if isinstance(data, Mapping) and "state_dict" in data and isinstance(data["state_dict"], Mapping):
        data = data["state_dict"]
    if not isinstance(data, Mapping):
        raise ModelLoadError(f"{label} holds a {type(data).__name__}, not a set of named tensors")
    import torch

    tensors = OrderedDict((str(k), v) for k, v in data.items() if isinstance(v, torch.Tensor))
    if not tensors:
        raise ModelLoadError(f"{label} contains no tensors")
    return tensors


def load_tensors(path: str, what: str) -> dict[str, object]:
    """name -> tensor from a .safetensors, .ckpt, .pth or .pt file (training
    checkpoints: their "state_dict"; Lightning/DataParallel prefixes are kept
    for the caller to strip)."""
    if not path or not os.path.isfile(path):
        raise ModelLoadError(
            f"the {what} weights file {path or '(no path)'} does not exist: set its "
            "path or download it in the add-on preferences"
        )
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
        raise ModelLoadError(
            f"the {what} weights file {path} is corrupted or not a PyTorch/"
            f"safetensors checkpoint ({type(exc).__name__}: {exc}): download it "
            "again"
        ) from exc
    return _named_tensors(data, f"the {what} weights file {path}")


def strip_prefix(tensors: Mapping[str, object], prefixes: Iterable[str]) -> OrderedDict[str, object]:
    """Keys under the first of `prefixes` that any key has, with the prefix removed
    (e.g. "net." of a Lightning module, "module." of DataParallel)."""
    for prefix in prefixes:
        if any(k.startswith(prefix) for k in tensors):
            return OrderedDict((k[len(prefix) :], v) for k, v in tensors.items() if k.startswith(prefix))
    return OrderedDict(tensors)


def check_state_dict(model, tensors: Mapping[str, object], layout: str) -> None:
    """Raise ModelLoadError unless `tensors` has every parameter/buffer of `model`
    with the same shape (extra keys are ignored)."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in tensors]
    if missing:
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        raise ModelLoadError(
            f"the checkpoint does not match the {layout} layout: it lacks {', '.join(missing[:3])}{more}"
        )
    for key, ref in expected.items():
        got = tuple(tensors[key].shape)
        if got != tuple(ref.shape):
            raise ModelLoadError(
                f"the checkpoint does not match the {layout} layout: {key} has "
                f"shape {list(got)}, expected {list(ref.shape)}"
            )


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
