# SPDX-License-Identifier: GPL-3.0-or-later
"""Reading a JSON file someone else made, within the runtime's budgets.

Python's `json` accepts what the JSON standard does not (NaN, Infinity,
numbers so large they become infinite) and recurses once per level of
nesting, so a text nested 100k deep ends in a RecursionError.  `read_json`
checks the size before reading, the nesting depth before parsing (strings
skipped, like the player's jsonDepthOver in web/player/load.js) and every
number while parsing; each problem is a plain one-line error.  The limits are
the player's: web/constants.json "max_json_bytes" and "max_json_depth".
"""

from __future__ import annotations

import json
import math
import os
import re
from typing import Any
from collections.abc import Callable

import numpy as np

from ..model.constants import LIMITS
from ..model.errors import ImageToRigError

MAX_JSON_BYTES = LIMITS["max_json_bytes"]
MAX_JSON_DEPTH = LIMITS["max_json_depth"]

# A JSON string: quote, anything but quote or backslash, escapes, quote.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
# A number that may not fit a float: an exponent of 100 or more, or 300 digits in a row.
# Only then are numbers parsed one by one (slow) to find the one that overflows.  Each
# search starts with a literal or is a plain find, so it runs at C speed (an alternation
# took 11 s on a 124 MB file, these 0.5 s).
_BIG_EXPONENTS = (re.compile(rb"e\+?0*[1-9][0-9]{2,}"), re.compile(rb"E\+?0*[1-9][0-9]{2,}"))
_DIGIT_MARKS = bytes(49 if 48 <= b <= 57 else 48 for b in range(256))  # digit -> "1", else "0"


def _may_overflow(stripped: bytes) -> bool:
    if any(r.search(stripped) for r in _BIG_EXPONENTS):
        return True
    return stripped.translate(_DIGIT_MARKS).find(b"1" * 300) >= 0


_BRACKETS = bytes(range(256)).translate(None, b"[]{}")  # every byte that is not a bracket


class JsonTextError(ImageToRigError):
    """A JSON file is unreadable, too large, too deep or holds non-finite numbers."""


def nesting_depth(data: bytes) -> int:
    """How deeply lists and objects nest in a JSON text (brackets inside strings
    do not count).  Linear time, no recursion: C-speed regex and numpy."""
    return _depth_of_stripped(_STRING.sub(b'""', data))


def _depth_of_stripped(stripped: bytes) -> int:
    brackets = stripped.translate(None, _BRACKETS)
    if not brackets:
        return 0
    codes = np.frombuffer(brackets, np.uint8)
    steps = np.where((codes == ord("[")) | (codes == ord("{")), 1, -1).astype(np.int32)
    return int(np.cumsum(steps).max())


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotFinite(text)
    return value


def _plain_int(text: str):
    # Python ints are unbounded (and refuse to parse past 4300 digits); a
    # number with more digits than a float holds is read as one, then checked.
    return int(text) if len(text) <= 18 else _finite_float(text)


def _no_constant(name: str):
    raise _NotFinite(name)


class _NotFinite(ValueError):
    pass


def parse_json(
    data: bytes,
    where: str,
    error: type[ImageToRigError] = JsonTextError,
    max_bytes: int = MAX_JSON_BYTES,
    max_depth: int = MAX_JSON_DEPTH,
) -> Any:
    """The value of a JSON text, or `error` with a one-line message naming `where`."""
    if len(data) > max_bytes:
        raise error(
            f"{where} is {len(data) / 2**20:.0f} MB, more than the "
            f"{max_bytes / 2**20:.0f} MB a model file may have"
        )
    stripped = _STRING.sub(b'""', data)
    if _depth_of_stripped(stripped) > max_depth:
        raise error(
            f"{where} nests lists or objects more than {max_depth} deep; it is not an export of this add-on"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"{where} is not UTF-8 text (byte {exc.start})") from None
    # Numbers are parsed by json's C code unless one may overflow (_may_overflow);
    # NaN and Infinity always reach _no_constant.
    hooks = {"parse_constant": _no_constant}
    if _may_overflow(stripped):
        hooks.update(parse_float=_finite_float, parse_int=_plain_int)
    try:
        return json.loads(text, **hooks)
    except _NotFinite as exc:
        raise error(
            f"{where} holds the number {str(exc)[:40]}, which is not finite (JSON has no NaN or Infinity)"
        ) from None
    except json.JSONDecodeError as exc:
        raise error(f"{where} is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    except (ValueError, RecursionError) as exc:  # e.g. an integer too long to read
        raise error(f"{where} is not valid JSON ({str(exc).splitlines()[0][:80]})") from None


def read_json(
    path: str,
    error: type[ImageToRigError] = JsonTextError,
    max_bytes: int = MAX_JSON_BYTES,
    max_depth: int = MAX_JSON_DEPTH,
    where: str | None = None,
) -> Any:
    """Read and parse a JSON file with the checks above; `error` is the class
    raised (e.g. DocumentError), with the file named in its message."""
    where = where or path
    try:
        size = os.path.getsize(path)
        if size > max_bytes:
            raise error(
                f"{where} is {size / 2**20:.0f} MB, more than the "
                f"{max_bytes / 2**20:.0f} MB a model file may have"
            )
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except IsADirectoryError:
        raise error(f"{where} is a folder, not a JSON file") from None
    except OSError as exc:
        raise error(f"cannot read {where}: {exc.strerror or exc}") from None
    return parse_json(data, where, error, max_bytes, max_depth)


def read_json_or_none(path: str, check: Callable[[Any], bool] = lambda v: True) -> Any:
    """The value of a JSON file, or None when it cannot be read for any reason
    (for files that are only looked at, e.g. to see whether one names a .moc3)."""
    try:
        value = read_json(path)
    except JsonTextError:
        return None
    return value if check(value) else None
