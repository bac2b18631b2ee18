# SPDX-License-Identifier: GPL-3.0-or-later
"""What each wheel bundled in the extension zip costs, and who needs it.

    .venv/bin/python bench/bench_footprint.py [--wheels DIR] [--platform linux-x64 ...]

For every bundled project (scripts/build_extension.py WHEELS): the wheel's
download size and its installed size (the files it unpacks), per platform,
and why it is there: the add-on modules that import it, or the bundled
project that requires it.  A project nobody imports or requires is reported
as unneeded (``unused_projects``; tests/test_blender_ux.py keeps that list
empty).  Wheels come from the build's cache (dist/wheels); missing ones are
downloaded by the build script's own ``download_wheels``.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import os
import sys
import zipfile
from importlib import metadata

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ADDON_FOLDERS = ("core", "scene", "operators", "panels")
# Import name of each bundled project where it differs from the project name.
IMPORT_NAMES = {
    "opencv-python-headless": "cv2",
    "pillow": "PIL",
    "psd-tools": "psd_tools",
    "rpds-py": "rpds",
    "typing-extensions": "typing_extensions",
    "jsonschema-specifications": "jsonschema_specifications",
}


def build_extension():
    spec = importlib.util.spec_from_file_location(
        "build_extension", os.path.join(REPO, "scripts", "build_extension.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def addon_imports() -> dict[str, set[str]]:
    """{top-level module: add-on files importing it} over the shipped sources."""
    found: dict[str, set[str]] = {}
    files = [os.path.join(REPO, n) for n in os.listdir(REPO) if n.endswith(".py")]
    for folder in ADDON_FOLDERS:
        for dirpath, dirs, names in os.walk(os.path.join(REPO, folder)):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            files += [os.path.join(dirpath, n) for n in names if n.endswith(".py")]
    for path in files:
        rel = os.path.relpath(path, REPO)
        with open(path, encoding="utf-8") as fh:
            tree = ast.parse(fh.read(), rel)
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                found.setdefault(name.split(".")[0], set()).add(rel)
    return found


def requirements_of(project: str) -> list[str]:
    """Bundled projects `project` requires at run time (from its installed metadata)."""
    be = build_extension()
    bundled = {be.canonical(p) for p in {**be.WHEELS, **be.LINUX_ONLY_WHEELS}}
    Requirement, _ = be._packaging()
    env = be.marker_environment("linux-x64")
    out = []
    try:
        lines = metadata.requires(project) or []
    except metadata.PackageNotFoundError:
        return out
    for line in lines:
        req = Requirement(line)
        if req.marker is not None and not req.marker.evaluate(env):
            continue
        if be.canonical(req.name) in bundled:
            out.append(be.canonical(req.name))
    return out


def why_bundled() -> dict[str, list[str]]:
    """{project: reasons}; an empty list means nothing needs it."""
    be = build_extension()
    imports = addon_imports()
    projects = [be.canonical(p) for p in {**be.WHEELS, **be.LINUX_ONLY_WHEELS}]
    reasons: dict[str, list[str]] = {p: [] for p in projects}
    for project in projects:
        name = IMPORT_NAMES.get(project, project.replace("-", "_"))
        for rel in sorted(imports.get(name, ())):
            reasons[project].append(f"imported by {rel}")
    for project in projects:  # requirements of needed projects are needed too
        if reasons[project]:
            for dep in requirements_of(project):
                reasons.setdefault(dep, []).append(f"required by {project}")
    changed = True
    while changed:  # ... transitively
        changed = False
        for project in projects:
            if not reasons[project]:
                continue
            for dep in requirements_of(project):
                note = f"required by {project}"
                if note not in reasons.setdefault(dep, []):
                    reasons[dep].append(note)
                    changed = True
    return reasons


def unused_projects() -> list[str]:
    return sorted(p for p, why in why_bundled().items() if not why)


def wheel_rows(names: list[str], wheel_dir: str) -> list[dict]:
    """Download and installed size of each wheel file."""
    be = build_extension()
    rows = []
    for name in names:
        path = os.path.join(wheel_dir, name)
        if not os.path.isfile(path):
            continue
        with zipfile.ZipFile(path) as zf:
            installed = sum(i.file_size for i in zf.infolist())
        rows.append(
            {
                "project": be._wheel_fields(name)[0],
                "wheel": name,
                "download": os.path.getsize(path),
                "installed": installed,
            }
        )
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheels", default=os.path.join(REPO, "dist", "wheels"))
    parser.add_argument("--platform", action="append")
    args = parser.parse_args(argv)
    be = build_extension()
    platforms = args.platform or list(be.PLATFORMS)
    reasons = why_bundled()
    mb = 1e6
    for platform in platforms:
        names = be.download_wheels(platform, args.wheels)
        rows = sorted(wheel_rows(names, args.wheels), key=lambda r: -r["installed"])
        print(
            f"\n{platform}: {len(rows)} wheels, download {sum(r['download'] for r in rows) / mb:.1f} MB, "
            f"installed {sum(r['installed'] for r in rows) / mb:.1f} MB"
        )
        print("| project | download MB | installed MB | why |")
        print("|---|---|---|---|")
        for r in rows:
            why = reasons.get(r["project"]) or ["NOTHING NEEDS IT"]
            print(
                f"| {r['project']} | {r['download'] / mb:.1f} | {r['installed'] / mb:.1f} | "
                f"{'; '.join(why[:3])}{' ...' if len(why) > 3 else ''} |"
            )
    unused = unused_projects()
    print("\nunneeded:", ", ".join(unused) if unused else "none")
    return 1 if unused else 0


if __name__ == "__main__":
    sys.exit(main())
