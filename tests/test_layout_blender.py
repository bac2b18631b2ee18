# SPDX-License-Identifier: GPL-3.0-or-later
"""The Blender layer's dependencies run one way (read from the sources, no bpy needed).

    core  <-  scene  <-  properties, active_job, preferences  <-  operators, panels  <-  registration

* scene/ never imports operators/, panels/, registration, properties, active_job
  or preferences (it builds and gathers; the UI is above it);
* operators/ and panels/ never import each other (what both need lives in
  properties.py, active_job.py, scene/ or core/);
* scene/keys.py is a leaf: it imports no other add-on module;
* the shared ``i2r_*`` custom-property keys are spelled only in scene/keys.py.

Imports inside functions count as much as those at the top of a file.
"""

import ast
import os

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UI_TOP = ("registration", "properties", "active_job", "preferences")

# i2r_ names that are private to one module and never read elsewhere.
PRIVATE_KEYS = {
    "scene/clip.py": {"i2r_clip_uv", "i2r_clip_hit", "i2r_clip_version"},
    "scene/drivers.py": {"i2r_"},  # prefix of the driven weight properties (i2r_t0, i2r_w3 ...)
}


def module_name(rel: str) -> str:
    parts = rel[:-3].split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imported_modules(path: str, rel: str):
    """(line, absolute module inside the add-on or a top-level name outside it)."""
    with open(path, encoding="utf-8") as fh:
        tree = ast.parse(fh.read(), rel)
    package = module_name(rel).split(".")
    if not rel.endswith("__init__.py"):
        package = package[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, "<abs>." + alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                yield node.lineno, "<abs>." + (node.module or "")
                continue
            base = package[: len(package) - (node.level - 1)] if node.level > 1 else list(package)
            if node.level - 1 > len(package):
                yield node.lineno, "<outside>"
                continue
            target = ".".join(base + ([node.module] if node.module else []))
            if node.module is None:  # from . import x, y
                for alias in node.names:
                    yield node.lineno, (target + "." if target else "") + alias.name
            else:
                yield node.lineno, target


def sources(root: str, folders):
    for folder in folders:
        base = os.path.join(root, folder)
        if os.path.isfile(base + ".py"):
            yield folder + ".py", base + ".py"
            continue
        for dirpath, dirs, files in os.walk(base):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            for name in sorted(files):
                if name.endswith(".py"):
                    full = os.path.join(dirpath, name)
                    yield os.path.relpath(full, root).replace(os.sep, "/"), full


def _top(module: str) -> str:
    return module.split(".")[0]


def layering_violations(root: str) -> list:
    """Every import of the Blender layer that runs the wrong way, in plain words."""
    problems = []
    for rel, path in sources(root, ["scene", "operators", "panels", *UI_TOP]):
        layer = rel.split("/")[0].removesuffix(".py")
        for line, target in imported_modules(path, rel):
            if target.startswith("<abs>."):
                name = target[len("<abs>.") :]
                if _top(name) == "image_to_rig":  # the package by its own name
                    target = name.split(".", 1)[1] if "." in name else ""
                else:
                    continue
            top = _top(target)
            where = f"{rel}:{line} imports {target}"
            if layer == "scene" and top in ("operators", "panels", *UI_TOP):
                problems.append(f"{where}: scene/ must not import the UI above it")
            if layer == "operators" and top == "panels":
                problems.append(f"{where}: operators/ must not import panels/")
            if layer == "panels" and top == "operators":
                problems.append(f"{where}: panels/ must not import operators/")
            if layer in ("properties", "active_job") and top in ("operators", "panels"):
                problems.append(f"{where}: {layer}.py sits below operators/ and panels/")
            if rel == "scene/keys.py" and top in ("scene", "core", "operators", "panels", *UI_TOP):
                problems.append(f"{where}: scene/keys.py must stay a leaf")
    return problems


def spelled_keys(root: str) -> list:
    """``i2r_`` string literals outside scene/keys.py (and the private ones above)."""
    found = []
    for rel, path in sources(root, ["scene", "operators", "panels", *UI_TOP]):
        if rel == "scene/keys.py":
            continue
        with open(path, encoding="utf-8") as fh:
            tree = ast.parse(fh.read(), rel)
        docstrings = {
            id(n.body[0].value)
            for n in ast.walk(tree)
            if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef))
            and n.body
            and isinstance(n.body[0], ast.Expr)
            and isinstance(n.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                for word in node.value.replace('"', " ").replace("[", " ").split():
                    if word.startswith("i2r_") and word not in PRIVATE_KEYS.get(rel, ()):
                        found.append(f"{rel}:{node.lineno}: {word}")
    return found


def test_the_blender_layer_imports_only_downwards():
    assert layering_violations(REPO) == []


def test_the_shared_keys_are_spelled_in_one_place():
    assert spelled_keys(REPO) == []


def _write(root, rel, text):
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.mark.parametrize(
    "rel,text,expected",
    [
        ("scene/build.py", "from ..operators import generate\n", "scene/ must not import"),
        ("scene/gather.py", "def f():\n    from ..panels.sidebar import x\n", "scene/ must not import"),
        ("scene/motion.py", "import image_to_rig.registration\n", "scene/ must not import"),
        ("scene/keys.py", "from .build import find_rig\n", "must stay a leaf"),
        (
            "operators/generate.py",
            "from ..panels.backends import backend_settings\n",
            "operators/ must not import panels/",
        ),
        ("panels/backends.py", "from ..operators import generate\n", "panels/ must not import operators/"),
        ("panels/sidebar.py", "from .. import operators\n", "panels/ must not import operators/"),
        ("properties.py", "from .operators.generate import x\n", "sits below"),
    ],
)
def test_the_check_finds_an_import_that_runs_the_wrong_way(tmp_path, rel, text, expected):
    _write(tmp_path, "scene/__init__.py", "")
    _write(tmp_path, "scene/keys.py", "import json\n")
    _write(tmp_path, "operators/__init__.py", "from ..scene import keys\n")
    _write(tmp_path, "panels/__init__.py", "from ..properties import classes\n")
    assert layering_violations(str(tmp_path)) == []
    _write(tmp_path, rel, text)
    problems = layering_violations(str(tmp_path))
    assert len(problems) == 1 and expected in problems[0], problems


def test_the_check_finds_a_key_spelled_outside_keys(tmp_path):
    _write(tmp_path, "scene/keys.py", 'RIG = "i2r_rig"\n')
    _write(tmp_path, "scene/build.py", '"""Docs may say i2r_rig."""\nRIG = "i2r_rig"\n')
    _write(tmp_path, "panels/sidebar.py", "x = '[\"i2r_owners\"]'\n")
    assert spelled_keys(str(tmp_path)) == ["scene/build.py:2: i2r_rig", "panels/sidebar.py:1: i2r_owners"]
