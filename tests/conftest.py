# SPDX-License-Identifier: GPL-3.0-or-later
"""Make the repository root importable as the package ``image_to_rig``.

The repository root is the Blender extension itself, so its directory name is
whatever the clone is called; tests import it under its real package name.
"""

import importlib.util
import os
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _register_package() -> None:
    current = sys.modules.get("image_to_rig")
    if current is not None:
        if os.path.dirname(os.path.abspath(current.__file__)) == REPO:
            return
        # Another checkout was linked into this venv: test this one.
        for name in [n for n in sys.modules if n == "image_to_rig" or n.startswith("image_to_rig.")]:
            del sys.modules[name]
    spec = importlib.util.spec_from_file_location(
        "image_to_rig", os.path.join(REPO, "__init__.py"), submodule_search_locations=[REPO]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["image_to_rig"] = module
    spec.loader.exec_module(module)


_register_package()


@pytest.fixture(scope="session")
def repo_root() -> str:
    return REPO


# The Cubism JSON schemas, vendored with their notice (tests/data/cubism-schemas/NOTICE).
CUBISM_SCHEMAS = os.path.join(REPO, "tests", "data", "cubism-schemas")


def cubism_schema(name: str) -> dict:
    """The named Cubism schema (motion3, physics3 ...)."""
    import json

    with open(os.path.join(CUBISM_SCHEMAS, f"{name}.schema.json"), encoding="utf-8") as fh:
        return json.load(fh)
