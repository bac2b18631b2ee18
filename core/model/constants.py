# SPDX-License-Identifier: GPL-3.0-or-later
"""The runtime constants Python and the JavaScript player share, read from
the one file both read: web/constants.json (the format's name and version,
limits against hostile files, the physics rate, blink and breath timing)."""

from __future__ import annotations

import json
import os
from typing import Any

PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONSTANTS_PATH = os.path.join(PACKAGE_DIR, "web", "constants.json")


def _load() -> dict[str, Any]:
    with open(CONSTANTS_PATH, encoding="utf-8") as fh:
        return json.load(fh)


RUNTIME: dict[str, Any] = _load()
LIMITS: dict[str, int] = {k: int(v) for k, v in RUNTIME["limits"].items()}
PHYSICS: dict[str, Any] = RUNTIME["physics"]
BLINK: dict[str, Any] = RUNTIME["blink"]
BREATH: dict[str, Any] = RUNTIME["breath"]
