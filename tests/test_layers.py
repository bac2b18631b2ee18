# SPDX-License-Identifier: GPL-3.0-or-later
"""The layer rules of the code (docs/architecture.md), read from the imports.

Every import of every module is read with `ast` (function-level imports
included, TYPE_CHECKING blocks too) and resolved to a module of this package.
A dependency that runs the wrong way, bpy inside core, product code that
imports the devkit, or an import circle fails the test, naming the files."""

import ast
import os

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SKIP_DIRS = {
    ".venv",
    ".git",
    "__pycache__",
    "node_modules",
    "tests",
    "bench",
    "scripts",
    "dist",
    "out",
    "web",
    "docs",
    "samples",
}
BLENDER_MODULES = ("bpy", "bpy_extras", "mathutils", "bmesh", "gpu", "blf", "idprop")

# Who may import whom inside core, bottom up: a layer may import itself and
# the layers listed for it, nothing above.
CORE_LAYERS = {
    "core.model": {"core.model"},
    "core.runtime": {"core.model", "core.runtime"},
    "core.formats": {"core.model", "core.runtime", "core.formats"},
    "core.stages": {"core.model", "core.runtime", "core.stages"},
    "core.backends": {"core.model", "core.runtime", "core.formats", "core.stages", "core.backends"},
    "core.pipeline": {"core.model", "core.runtime", "core.formats", "core.stages", "core.backends"},
    "core.worker": {"core.model", "core.pipeline"},
}


def _modules():
    """module name (dotted, relative to the package) -> (path, is_package)."""
    out = {}
    for root, dirs, files in os.walk(REPO):
        rel_root = os.path.relpath(root, REPO)
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
        for name in files:
            if not name.endswith(".py"):
                continue
            rel = os.path.normpath(os.path.join(rel_root, name))[:-3].replace(os.sep, ".")
            is_pkg = rel.endswith("__init__")
            if is_pkg:
                rel = rel[: -len(".__init__")] if rel != "__init__" else ""
            out[rel] = (os.path.join(root, name), is_pkg)
    return out


MODULES = _modules()


def _resolve(current: str, is_pkg: bool, level: int, module: str):
    base = current.split(".") if current else []
    if not is_pkg:
        base = base[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def _imports(name: str):
    """(imported module of this package, or an outside top-level name, line)."""
    path, is_pkg = MODULES[name]
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                inside = alias.name.split(".", 1)[1] if top == "image_to_rig" and "." in alias.name else None
                found.append((inside or ("<outside>" + top), node.lineno))
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                mod = node.module or ""
                if mod == "image_to_rig" or mod.startswith("image_to_rig."):
                    target = mod[len("image_to_rig.") :] if "." in mod else ""
                else:
                    found.append(("<outside>" + mod.split(".")[0], node.lineno))
                    continue
            else:
                target = _resolve(name, is_pkg, node.level, node.module)
            # `from pkg import mod` names a submodule when one exists
            for alias in node.names:
                sub = f"{target}.{alias.name}" if target else alias.name
                found.append((sub if sub in MODULES else target, node.lineno))
    return found


def _owner(module: str, groups) -> str:
    best = ""
    for g in groups:
        if (module == g or module.startswith(g + ".")) and len(g) > len(best):
            best = g
    return best


def test_core_never_imports_blender():
    bad = [
        f"{MODULES[m][0]}:{line} imports {t[len('<outside>') :]}"
        for m in MODULES
        if m == "core" or m.startswith(("core.", "devkit"))
        for t, line in _imports(m)
        if t.startswith("<outside>") and t[len("<outside>") :] in BLENDER_MODULES
    ]
    assert bad == [], "\n".join(bad)


def test_core_layers_depend_only_downwards():
    bad = []
    for m in MODULES:
        layer = _owner(m, CORE_LAYERS)
        if not layer:
            continue
        for target, line in _imports(m):
            if target.startswith("<outside>") or not target:
                continue
            if not target.startswith("core"):
                bad.append(f"{MODULES[m][0]}:{line}: {layer} imports {target} (outside core)")
                continue
            allowed = CORE_LAYERS[layer]
            owner = _owner(target, CORE_LAYERS) or target
            if target == "core" or owner not in allowed:
                bad.append(f"{MODULES[m][0]}:{line}: {layer} imports {target}")
    assert bad == [], "dependencies that run the wrong way:\n" + "\n".join(bad)


def test_product_code_never_imports_the_devkit():
    bad = [
        f"{MODULES[m][0]}:{line} imports {t}"
        for m in MODULES
        if not m.startswith("devkit")
        for t, line in _imports(m)
        if t == "devkit" or t.startswith("devkit.")
    ]
    assert bad == [], "\n".join(bad)


def _cycles(names):
    graph = {m: sorted({t for t, _ in _imports(m) if t in names and t != m}) for m in names}
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


@pytest.mark.parametrize("area", ["core", "devkit"])
def test_no_import_circles(area):
    names = {m for m in MODULES if m == area or m.startswith(area + ".")}
    # a package's __init__ re-exporting its own modules is not a circle of code
    names = {m for m in names if not MODULES[m][1] or _has_code(m)}
    assert _cycles(names) == []


def _has_code(module: str) -> bool:
    tree = ast.parse(open(MODULES[module][0], encoding="utf-8").read())
    return any(isinstance(n, (ast.FunctionDef, ast.ClassDef)) for n in tree.body)


def test_the_rules_see_real_imports():
    """The reader itself works: known edges are found (a check that cannot fail is no check)."""
    assert ("core.model.document", 19) in {
        (t, line) for t, line in _imports("core.runtime.evaluate")
    } or "core.model.document" in {t for t, _ in _imports("core.runtime.evaluate")}
    assert "core.stages.rig" in {t for t, _ in _imports("core.pipeline")}
    assert any(t == "<outside>bpy" for m in MODULES if m.startswith("scene") for t, _ in _imports(m))


ARCHITECTURE_DOC = os.path.join(REPO, "docs", "architecture.md")
# The areas whose every module docs/architecture.md describes.
DOCUMENTED_AREAS = (
    ("core", ".py"),
    ("devkit", ".py"),
    ("scene", ".py"),
    ("operators", ".py"),
    ("panels", ".py"),
    (os.path.join("web", "player"), ".js"),
)


def _doc_paths():
    """Every `backticked` repository path in docs/architecture.md: a token with a
    slash or a file extension; placeholders like <stem> and calls like f(x) are not paths."""
    import re

    text = open(ARCHITECTURE_DOC, encoding="utf-8").read()
    return sorted(
        {
            t.rstrip("/")
            for t in re.findall(r"`([^`\s]+)`", text)
            if ("/" in t or re.search(r"\.(py|js|mjs|ts|json|md|toml|sh|html)$", t))
            and not re.search(r"[<>*()|]", t)
        }
    )


def test_every_path_in_the_architecture_doc_exists():
    paths = _doc_paths()
    assert len(paths) > 100, f"the path reader finds the doc's paths: {len(paths)}"
    assert "core/stages/motions/blink.py" in paths and "web/player/model.js" in paths
    missing = [p for p in paths if not os.path.exists(os.path.join(REPO, p))]
    assert missing == [], "docs/architecture.md names paths that do not exist:\n" + "\n".join(missing)


def test_the_architecture_doc_names_every_module():
    named = set(_doc_paths())
    absent = []
    for area, ext in DOCUMENTED_AREAS:
        for root, dirs, files in os.walk(os.path.join(REPO, area)):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in files:
                rel = os.path.relpath(os.path.join(root, name), REPO).replace(os.sep, "/")
                if (
                    name.endswith(ext)
                    and not (name == "__init__.py" and not _has_code(_module_of(rel)))
                    and rel not in named
                ):
                    absent.append(rel)
    top = [n for n in os.listdir(REPO) if n.endswith(".py")]
    absent += [n for n in top if n not in named]
    assert absent == [], "modules docs/architecture.md does not describe:\n" + "\n".join(sorted(absent))


def _module_of(rel: str) -> str:
    name = rel[:-3].replace("/", ".")
    return name[: -len(".__init__")] if name.endswith(".__init__") else name


def _pipeline_stages():
    """core/pipeline.py's STAGES, read from the source (no import)."""
    tree = ast.parse(open(os.path.join(REPO, "core", "pipeline.py"), encoding="utf-8").read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "STAGES" for t in node.targets):
            return tuple(ast.literal_eval(node.value))
    raise AssertionError("core/pipeline.py has no STAGES")


def test_stage_numbers_in_docstrings_follow_the_pipeline():
    """A module docstring that starts with "Stage" says "Stage N of the pipeline
    (name):" with name the N-th of core/pipeline.py's STAGES, and every stage has
    such a module."""
    import re

    stages = _pipeline_stages()
    bad, seen = [], set()
    for m, (path, _) in MODULES.items():
        if not (m == "core" or m.startswith("core.")):
            continue
        doc = ast.get_docstring(ast.parse(open(path, encoding="utf-8").read())) or ""
        first = doc.splitlines()[0] if doc else ""
        if not re.match(r"stage\b", first, re.I):
            continue
        found = re.match(r"Stage (\d+) of the pipeline \((\w+)\):", first)
        if not found:
            bad.append(f"{path}: {first!r} is not 'Stage N of the pipeline (name): ...'")
            continue
        n, name = int(found.group(1)), found.group(2)
        if not (1 <= n <= len(stages) and stages[n - 1] == name):
            bad.append(f"{path}: stage {n} ({name}), the pipeline's stages are {stages}")
        seen.add(name)
    assert bad == [], "\n".join(bad)
    assert seen == set(stages), f"stages without a module that says so: {set(stages) - seen}"
