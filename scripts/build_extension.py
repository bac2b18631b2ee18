# SPDX-License-Identifier: GPL-3.0-or-later
"""Build the installable Blender extension: dist/image_to_rig-<version>[-<platform>].zip.

Blender ships numpy (and requests); every other library the add-on imports at
run time (see WHEELS) is downloaded as a binary wheel for Python 3.11 on each
target platform with ``pip download --only-binary=:all:`` into dist/wheels/,
checked for completeness (each wheel's Requires-Dist), listed in the manifest
that goes into the zip, and installed by Blender together with the extension.
The optional AI packages (torch, ...) are not bundled.  See docs/install.md.

    python scripts/build_extension.py                      # every platform, one zip
    python scripts/build_extension.py --platform linux-x64 # one platform
    python scripts/build_extension.py --platform linux-x64 --check
        # + install it into bpy in a clean venv (only bpy installed) and run it
        #   end to end; --venv-python PATH re-uses such a venv
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Sequence

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON_VERSION = "3.11"  # Blender 4.2 - 5.x

# Wheels Blender lacks, pinned like requirements.txt, with everything they require
# at run time (their Requires-Dist closure; `requirement_problems` checks it).
#   core:            opencv-python-headless, pillow (Delaunay and nearest points are
#                    core/stages/triangulate.py's: no SciPy, 119.5 MB installed)
#   model.json check: jsonschema -> attrs, jsonschema-specifications, referencing,
#                    rpds-py (binary), typing-extensions (referencing, on Python < 3.13)
#   PSD in and out:  psd-tools (binary) -> attrs, pillow, numpy
#   talk from audio: soundfile (bundles libsndfile: FLAC, OGG, MP3) -> cffi (binary)
#                    -> pycparser; typing-extensions
# The optional AI backends (torch, diffusers, ...) are NOT bundled: see docs/install.md.
WHEELS = {
    "opencv-python-headless": "4.11.0.86",
    "pillow": "11.3.0",
    "jsonschema": "4.26.0",
    "jsonschema-specifications": "2025.9.1",
    "referencing": "0.37.0",
    "rpds-py": "2026.9.1",
    "attrs": "26.1.0",
    "typing-extensions": "4.16.0",
    "psd-tools": "1.26.0",
    "soundfile": "0.14.0",
    "cffi": "2.1.1",
    "pycparser": "3.12",
}
# animeface has no Windows or macOS wheels; the core falls back to its own
# landmark finder without it.
LINUX_ONLY_WHEELS = {"animeface": "2.0.3"}

# What Blender 4.2 - 5.x ships in its own Python (bundled site-packages; the bpy
# wheel declares the same as its requirements): never bundled, and a requirement
# on them must hold for Blender's version.
BLENDER_SHIPS = {
    "numpy": "1.26.4",  # Blender 4.2 - 5.0; the bpy 5.0.1 wheel requires numpy>=1.26,<2
    "requests": None,
    "certifi": None,
    "idna": None,
    "urllib3": None,
    "charset-normalizer": None,
    "zstandard": None,
    "cython": None,
}

# Environment markers (PEP 508) of Blender's Python on each platform.
MARKER_ENVIRONMENTS = {
    "linux-x64": {
        "sys_platform": "linux",
        "platform_system": "Linux",
        "platform_machine": "x86_64",
        "os_name": "posix",
    },
    "windows-x64": {
        "sys_platform": "win32",
        "platform_system": "Windows",
        "platform_machine": "AMD64",
        "os_name": "nt",
    },
    "macos-arm64": {
        "sys_platform": "darwin",
        "platform_system": "Darwin",
        "platform_machine": "arm64",
        "os_name": "posix",
    },
    "macos-x64": {
        "sys_platform": "darwin",
        "platform_system": "Darwin",
        "platform_machine": "x86_64",
        "os_name": "posix",
    },
}

# Blender platform name -> pip --platform tags (newest first is not required).
PLATFORMS = {
    "linux-x64": ["manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64"],
    "windows-x64": ["win_amd64"],
    "macos-arm64": ["macosx_11_0_arm64", "macosx_12_0_arm64", "macosx_13_0_arm64", "macosx_14_0_arm64"],
    "macos-x64": ["macosx_10_9_x86_64", "macosx_10_13_x86_64", "macosx_12_0_x86_64", "macosx_13_0_x86_64"],
}

# Besides every top-level .py file (the add-on's entry point, registration, preferences, CLI).
INCLUDE = [
    "blender_manifest.toml",
    "LICENSE",
    "README.md",
    "core",
    "scene",
    "operators",
    "panels",
    "web",
    "docs/blender.md",
]
EXCLUDE = ["__pycache__", "*.pyc", "*.pyo", ".DS_Store", "node_modules"]
# The add-on reads these at run time: a zip without them is broken.
REQUIRED_IN_ZIP = [
    "__init__.py",
    "registration.py",
    "preferences.py",
    "properties.py",
    "active_job.py",
    "blender_manifest.toml",
    "LICENSE",
    "docs/blender.md",
    "core/formats/schema/model.schema.json",
    "web/index.html",
    "web/player.js",
    "web/viewer.js",
]
# Development folders that must never ship.
NEVER_IN_ZIP = [
    "tests/",
    "bench/",
    ".venv/",
    "dist/",
    "samples/",
    "scripts/",
    "out/",
    ".git/",
    ".ci/",
    "__pycache__/",
    "devkit/",
]
# The modules the bundled wheels provide (import names), checked in a clean Blender.
BUNDLED_MODULES = [
    "cv2",
    "PIL",
    "jsonschema",
    "jsonschema_specifications",
    "referencing",
    "rpds",
    "attrs",
    "typing_extensions",
    "psd_tools",
    "soundfile",
    "cffi",
    "pycparser",
]
LINUX_ONLY_MODULES = ["animeface"]


class BuildError(RuntimeError):
    pass


def manifest_version(text: str) -> str:
    match = re.search(r'^version\s*=\s*"([^"]+)"', text, re.M)
    if not match:
        raise BuildError("blender_manifest.toml has no version")
    return match.group(1)


def canonical(name: str) -> str:
    """A project name as PEP 503 compares them (Pillow == pillow, rpds_py == rpds-py)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def wheel_specs(platform: str) -> dict[str, str]:
    """{project: pinned version} of every wheel bundled for one Blender platform."""
    specs = dict(WHEELS)
    if platform.startswith("linux"):
        specs.update(LINUX_ONLY_WHEELS)
    return specs


def _wheel_fields(wheel: str) -> tuple[str, str, str, str, str]:
    """(project, version, python tag, abi tag, platform tag) of a wheel file name."""
    parts = os.path.basename(wheel)[:-4].split("-")
    if not wheel.endswith(".whl") or len(parts) not in (5, 6):
        raise BuildError(f"{wheel} is not a wheel file name")
    return canonical(parts[0]), parts[1], parts[-3], parts[-2], parts[-1]


def installs_on(wheel: str, platform: str) -> bool:
    """Whether Blender (Python 3.11) installs `wheel` on `platform`: the rules of
    Blender's own filter (bl_pkg `_extensions_wheel_filter_for_this_system`)."""
    _, _, python_tag, abi_tag, platform_tag = _wheel_fields(wheel)
    arch = {"linux-x64": "_x86_64", "windows-x64": None, "macos-arm64": "_arm64", "macos-x64": "_x86_64"}[
        platform
    ]
    if platform_tag == "any":
        pass
    elif platform == "windows-x64":
        if platform_tag != "win_amd64":
            return False
    elif platform == "linux-x64":
        if not (platform_tag.startswith("manylinux") and platform_tag.endswith(arch)):
            return False
    elif not (
        platform_tag.startswith("macosx_")
        and (platform_tag.endswith(arch) or platform_tag.endswith("_universal2"))
    ):
        return False
    major, minor = (int(v) for v in PYTHON_VERSION.split("."))
    for tag in python_tag.split("."):
        digits = tag[2:]
        if digits == str(major):
            return True
        if digits[:1] == str(major) and digits[1:].isdigit():
            version = int(digits[1:])
            if version == minor or ("abi3" in abi_tag.split(".") and version <= minor):
                return True
    return False


_LEGACY_MANYLINUX = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}


def system_minimum(wheels: Sequence[str], platform: str) -> str | None:
    """The oldest system the wheels installed on `platform` load on: "glibc 2.28",
    "macOS 13.0"; None for Windows or when nothing sets a floor."""
    floor = None
    for wheel in wheels:
        if not installs_on(wheel, platform):
            continue
        needs = []
        for tag in _wheel_fields(wheel)[4].split("."):
            match = re.match(r"(?:manylinux|macosx)_(\d+)_(\d+)_", tag)
            if match:
                needs.append((int(match.group(1)), int(match.group(2))))
            elif tag.split("_")[0] in _LEGACY_MANYLINUX:
                needs.append(_LEGACY_MANYLINUX[tag.split("_")[0]])
        if needs and (floor is None or min(needs) > floor):
            floor = min(needs)  # a wheel with several tags loads where any of them does
    if floor is None:
        return None
    return ("glibc " if platform.startswith("linux") else "macOS ") + f"{floor[0]}.{floor[1]}"


def _find_wheel(wheel_dir: str, project: str, version: str, platform: str) -> str | None:
    if not os.path.isdir(wheel_dir):
        return None
    found = []
    for name in os.listdir(wheel_dir):
        if not name.endswith(".whl"):
            continue
        wheel_project, wheel_version, *_ = _wheel_fields(name)
        if wheel_project == canonical(project) and wheel_version == version and installs_on(name, platform):
            found.append(name)
    return sorted(found)[-1] if found else None


def download_wheels(platform: str, wheel_dir: str) -> list[str]:
    """Binary wheels of every bundled project for one Blender platform; returns their
    file names.  Wheels already in `wheel_dir` are re-used without asking pip."""
    specs = wheel_specs(platform)
    missing = [p for p, v in specs.items() if _find_wheel(wheel_dir, p, v, platform) is None]
    if missing:
        os.makedirs(wheel_dir, exist_ok=True)
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--only-binary=:all:",
            "--no-deps",
            "--python-version",
            PYTHON_VERSION,
            "--implementation",
            "cp",
            "-d",
            wheel_dir,
        ]
        for tag in PLATFORMS[platform]:
            cmd += ["--platform", tag]
        cmd += [f"{p}=={specs[p]}" for p in missing]
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0:
            raise BuildError(
                f"pip could not download the wheels for {platform} "
                f"(is the package index reachable?):\n{result.stderr[-2000:]}"
            )
    names = []
    for project, version in specs.items():
        name = _find_wheel(wheel_dir, project, version, platform)
        if name is None:
            raise BuildError(
                f"pip downloaded no {platform} wheel of {project}=={version} "
                f"for Python {PYTHON_VERSION} into {wheel_dir}"
            )
        names.append(name)
    return names


def _packaging():
    """`packaging` (Requirement, Version); pip vendors it when it is not installed."""
    try:
        from packaging.requirements import Requirement
        from packaging.version import Version
    except ImportError:
        from pip._vendor.packaging.requirements import Requirement
        from pip._vendor.packaging.version import Version
    return Requirement, Version


def wheel_requirements(path: str) -> list[str]:
    """The Requires-Dist lines of a wheel's METADATA."""
    with zipfile.ZipFile(path) as zf:
        meta = [n for n in zf.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
        if not meta:
            raise BuildError(f"{os.path.basename(path)} has no .dist-info/METADATA")
        text = zf.read(meta[0]).decode("utf-8")
    header = text.split("\n\n", 1)[0]
    return [
        line.split(":", 1)[1].strip() for line in header.splitlines() if line.startswith("Requires-Dist:")
    ]


def marker_environment(platform: str) -> dict[str, str]:
    """PEP 508 marker values of Blender's Python on `platform` (no extras asked for)."""
    env = {
        "python_version": PYTHON_VERSION,
        "python_full_version": PYTHON_VERSION + ".9",
        "implementation_name": "cpython",
        "implementation_version": PYTHON_VERSION + ".9",
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_version": "",
        "extra": "",
    }
    env.update(MARKER_ENVIRONMENTS[platform])
    return env


def requirement_problems(wheel_paths: Sequence[str], platform: str) -> list[str]:
    """Run-time requirements of the bundled wheels on `platform` that neither another
    bundled wheel nor Blender's own Python satisfies (empty when all is well)."""
    Requirement, Version = _packaging()
    env = marker_environment(platform)
    bundled = {}
    for path in wheel_paths:
        project, version, *_ = _wheel_fields(os.path.basename(path))
        bundled[project] = version
    problems = []
    for path in wheel_paths:
        owner = _wheel_fields(os.path.basename(path))[0]
        for line in wheel_requirements(path):
            req = Requirement(line)
            if req.marker is not None and not req.marker.evaluate(env):
                continue
            name = canonical(req.name)
            if name in BLENDER_SHIPS:
                have, where = BLENDER_SHIPS[name], "Blender ships"
            elif name in bundled:
                have, where = bundled[name], "the extension bundles"
            else:
                problems.append(
                    f"{owner} needs {line.split(';')[0].strip()}, which is neither "
                    f"bundled for {platform} nor shipped with Blender: add it to WHEELS"
                )
                continue
            if have is not None and not req.specifier.contains(Version(have), prereleases=True):
                problems.append(f"{owner} needs {req.name}{req.specifier}, but {where} {have}")
    return problems


def manifest_with_wheels(text: str, wheels: list, platforms: list) -> str:
    listed = ",\n".join(f'  "./wheels/{w}"' for w in wheels)
    extra = f"\nwheels = [\n{listed},\n]\n" if wheels else "\n"
    extra += "platforms = [" + ", ".join(f'"{p}"' for p in platforms) + "]\n"
    # Top-level keys must come before the first [table].
    index = text.find("\n[")
    return text[:index] + "\n" + extra + text[index:] if index >= 0 else text + extra


def _excluded(rel: str) -> bool:
    parts = rel.replace(os.sep, "/").split("/")
    return any(fnmatch.fnmatch(p, pat) for p in parts for pat in EXCLUDE)


def zip_problems(zip_path: str) -> list[str]:
    """What is missing from or wrongly inside a built extension zip."""
    with zipfile.ZipFile(zip_path) as zf:
        names = zf.namelist()
    problems = [f"{need} is missing" for need in REQUIRED_IN_ZIP if need not in names]
    for folder in NEVER_IN_ZIP:
        inside = [n for n in names if ("/" + n).find("/" + folder) >= 0]
        if inside:
            problems.append(f"{folder} must not ship ({inside[0]} is in the zip)")
    return problems


def build(platforms: list, out_dir: str, wheel_dir: str) -> str:
    with open(os.path.join(REPO, "blender_manifest.toml"), encoding="utf-8") as fh:
        manifest = fh.read()
    version = manifest_version(manifest)
    wheels: list = []
    for platform in platforms:
        names = download_wheels(platform, wheel_dir)
        problems = requirement_problems([os.path.join(wheel_dir, n) for n in names], platform)
        if problems:
            raise BuildError(f"the {platform} wheels are incomplete:\n  " + "\n  ".join(problems))
        for name in names:
            if name not in wheels:
                wheels.append(name)
    suffix = (
        "" if len(platforms) == len(PLATFORMS) else "-" + "-".join(p.replace("-", "_") for p in platforms)
    )
    os.makedirs(out_dir, exist_ok=True)
    zip_path = os.path.join(out_dir, f"image_to_rig-{version}{suffix}.zip")
    items = sorted(n for n in os.listdir(REPO) if n.endswith(".py")) + INCLUDE
    missing = [item for item in INCLUDE if not os.path.exists(os.path.join(REPO, item))]
    if missing:  # never ship a zip without them (the LICENSE was once left out unnoticed)
        raise BuildError("the checkout lacks what the extension ships: " + ", ".join(missing))
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("blender_manifest.toml", manifest_with_wheels(manifest, wheels, platforms))
        for item in items:
            path = os.path.join(REPO, item)
            if item == "blender_manifest.toml":
                continue
            if os.path.isfile(path):
                zf.write(path, item)
                continue
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not _excluded(d))
                for name in sorted(files):
                    full = os.path.join(root, name)
                    rel = os.path.relpath(full, REPO)
                    if not _excluded(rel):
                        zf.write(full, rel.replace(os.sep, "/"))
        for name in wheels:
            # Wheels are already compressed.
            zf.write(os.path.join(wheel_dir, name), f"wheels/{name}", zipfile.ZIP_STORED)
    problems = zip_problems(zip_path)
    if problems:
        raise BuildError(f"{zip_path} is not a complete extension: " + "; ".join(problems))
    return zip_path


# --------------------------------------------------------------------------- install check
def bpy_version() -> str:
    """The Blender the check installs into: the bpy of the running Python when it has
    one (so the LTS test venvs check their own Blender), else requirements.txt's pin."""
    from importlib import metadata

    try:
        return metadata.version("bpy")
    except metadata.PackageNotFoundError:
        pass
    with open(os.path.join(REPO, "requirements.txt"), encoding="utf-8") as fh:
        match = re.search(r"^bpy==(\S+)", fh.read(), re.M)
    return match.group(1) if match else "5.0.1"


def wheel_cache() -> str:
    """Where scripts/setup.sh keeps downloaded wheels (bpy among them) between runs."""
    return os.environ.get("IMAGE_TO_RIG_WHEEL_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "image_to_rig", "wheels"
    )


def _venv_python(venv: str) -> str:
    return (
        os.path.join(venv, "Scripts", "python.exe")
        if os.name == "nt"
        else os.path.join(venv, "bin", "python")
    )


def create_clean_venv(venv: str, python: str | None = None) -> str:
    """A new venv at `venv` holding only bpy (and what bpy requires: numpy, requests,
    zstandard, cython, i.e. what Blender ships); returns its python."""
    if python is None:
        if sys.version_info[:2] == tuple(int(v) for v in PYTHON_VERSION.split(".")):
            python = sys.executable
        else:
            python = shutil.which(f"python{PYTHON_VERSION}")
            if python is None:
                raise BuildError(
                    f"the install check needs Python {PYTHON_VERSION} (bpy's version); none was found on PATH"
                )
    install = [_venv_python(venv), "-m", "pip", "install", "-q", f"bpy=={bpy_version()}"]
    result = subprocess.run([python, "-m", "venv", venv], capture_output=True, text=True)
    if result.returncode == 0 and os.path.isdir(wheel_cache()):
        # Offline from scripts/setup.sh's wheel cache when it holds this bpy; else the index.
        offline = subprocess.run(
            install + ["--no-index", "--find-links", wheel_cache()], capture_output=True, text=True
        )
        if offline.returncode == 0:
            return _venv_python(venv)
    for cmd in ([python, "-m", "venv", venv], install):
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0:
            raise BuildError(f"creating the clean venv failed ({' '.join(cmd)}):\n{result.stderr[-2000:]}")
    return _venv_python(venv)


def check_install(zip_path: str, venv_python: str | None = None, work_dir: str | None = None) -> dict:
    """Install the zip into a throw-away Blender (bpy in a clean venv, where none of
    the bundled modules is installed), enable it and run it end to end; returns the
    check's report.  Without `venv_python` a clean venv is made (and removed)."""
    owned = []
    try:
        if work_dir is None:
            work_dir = tempfile.mkdtemp(prefix="i2r-ext-check-")
            owned.append(work_dir)
        os.makedirs(work_dir, exist_ok=True)
        if venv_python is None:
            venv = tempfile.mkdtemp(prefix="i2r-clean-venv-")
            owned.append(venv)
            t0 = time.perf_counter()
            venv_python = create_clean_venv(venv)
            print(f"clean venv with bpy=={bpy_version()} in {time.perf_counter() - t0:.0f} s")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        env["BLENDER_USER_RESOURCES"] = os.path.join(work_dir, "blender-user")
        # -I: the script's folder and the current one are not on sys.path, so nothing
        # of this checkout can be imported except through the installed extension.
        cmd = [
            venv_python,
            "-I",
            os.path.abspath(__file__),
            "--installed-check",
            os.path.abspath(zip_path),
            "--work",
            work_dir,
        ]
        result = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=work_dir)
        lines = [l for l in result.stdout.splitlines() if l.startswith(_REPORT)]
        if result.returncode != 0 or not lines:
            raise BuildError(
                f"the installed extension failed its check:\n{result.stdout[-3000:]}\n{result.stderr[-4000:]}"
            )
        return json.loads(lines[-1][len(_REPORT) :])
    finally:
        for path in owned:
            shutil.rmtree(path, ignore_errors=True)


_REPORT = "IMAGE_TO_RIG_CHECK "


def _installed_check(zip_path: str, work: str) -> dict:
    """Runs inside the clean venv (see check_install): install, enable, import every
    add-on module, then sample -> pipeline (in-process and in the worker) -> scene ->
    gather -> export -> PSD and audio back in.  Raises on any failure."""
    import importlib
    import importlib.util

    linux = sys.platform.startswith("linux")
    modules = BUNDLED_MODULES + (LINUX_ONLY_MODULES if linux else [])
    present = [m for m in modules if importlib.util.find_spec(m) is not None]
    if present:
        raise BuildError(f"not a clean venv: {', '.join(present)} already installed")
    import bpy

    report: dict = {"bpy": bpy.app.version_string}
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    t0 = time.perf_counter()
    result = bpy.ops.extensions.package_install_files(
        filepath=zip_path, repo="user_default", enable_on_install=True
    )
    report["install_seconds"] = round(time.perf_counter() - t0, 1)
    package = "bl_ext.user_default.image_to_rig"
    if result != {"FINISHED"} or package not in bpy.context.preferences.addons:
        raise BuildError(
            f"package_install_files returned {result}; enabled add-ons: "
            f"{list(bpy.context.preferences.addons.keys())}"
        )
    if not (hasattr(bpy.ops.image_to_rig, "generate") and hasattr(bpy.types, "IMAGE_TO_RIG_PT_main")):
        raise BuildError("the add-on is enabled but its operators or panel are not registered")
    user = os.path.realpath(os.environ["BLENDER_USER_RESOURCES"])
    missing = []
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            missing.append(f"{name} ({exc})")
            continue
        where = os.path.realpath(module.__file__)
        if not where.startswith(user + os.sep):
            raise BuildError(f"{name} was imported from {where}, not from the extension's wheels")
    if missing:
        raise BuildError("the installed extension cannot import " + ", ".join(missing))
    report["bundled_modules"] = modules

    root = os.path.dirname(sys.modules[package].__file__)
    imported = []
    for folder in ("core", "scene", "operators", "panels", ""):
        for dirpath, dirs, files in os.walk(os.path.join(root, folder)):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__") if folder else []
            for name in sorted(files):
                if not name.endswith(".py") or (not folder and name in ("__main__.py", "cli.py")):
                    continue
                rel = os.path.relpath(os.path.join(dirpath, name), root)[:-3]
                dotted = ".".join(p for p in rel.replace(os.sep, "/").split("/") if p != "__init__")
                importlib.import_module(package + ("." + dotted if dotted else ""))
                imported.append(dotted or "(package)")
    report["modules_imported"] = len(imported)

    def mod(name):
        return importlib.import_module(f"{package}.{name}")

    import cv2
    import numpy as np
    import soundfile

    # The bundled sample (devkit/, which draws it, is not in the zip), at 256 px.
    full = cv2.imread(os.path.join(REPO, "samples", "sample.png"), cv2.IMREAD_UNCHANGED)
    png = os.path.join(work, "sample.png")
    cv2.imwrite(png, cv2.resize(full, (256, 256), interpolation=cv2.INTER_AREA))
    t0 = time.perf_counter()
    doc = mod("core.pipeline").run_pipeline(png).doc
    report["pipeline_seconds"] = round(time.perf_counter() - t0, 2)
    t0 = time.perf_counter()
    in_worker = mod("core.worker").run_in_worker(png, timeout=300).doc
    mod("core.worker").shutdown_idle_worker()
    report["worker_seconds"] = round(time.perf_counter() - t0, 2)
    if [l.id for l in in_worker.layers] != [l.id for l in doc.layers]:
        raise BuildError("the worker process made a different rig than the add-on's process")
    scene = mod("scene")
    collection = scene.build_scene(doc)
    gathered = scene.gather_document(collection)
    out = mod("core.formats.export_folder").export_folder(gathered, os.path.join(work, "export"))
    exported = sorted(os.listdir(out))
    for name in ("model.json", "index.html", "player.js", "viewer.js"):
        if name not in exported:
            raise BuildError(f"the export lacks {name}: {exported}")
    import jsonschema

    with open(os.path.join(out, "model.json"), encoding="utf-8") as fh:
        jsonschema.validate(json.load(fh), mod("core.formats.model_json").load_schema())
    psds = [n for n in exported if n.endswith(".psd")]
    if len(psds) != 1:
        raise BuildError(f"the export holds {len(psds)} PSD files: {exported}")
    layered = mod("core.formats.psd_in").load_psd(os.path.join(out, psds[0]))
    if len(layered.layers) < len(gathered.layers) // 2:
        raise BuildError(
            f"the exported PSD read back with {len(layered.layers)} layers, "
            f"the rig has {len(gathered.layers)}"
        )
    report.update(
        layers=len(gathered.layers),
        parameters=len(gathered.parameters),
        psd_layers=len(layered.layers),  # generated layers are hidden there
        generated_layers=sum(1 for l in gathered.layers if l.generated),
        exported=exported,
    )
    rate = 16000
    t = np.arange(rate, dtype=np.float32) / rate
    voice = (0.5 * np.sin(2 * np.pi * 220 * t) * (np.sin(2 * np.pi * 3 * t) > 0)).astype(np.float32)
    lipsync = mod("core.stages.lipsync")
    formats = {}
    for ext in ("ogg", "mp3", "flac"):
        path = os.path.join(work, f"voice.{ext}")
        soundfile.write(path, voice, rate)
        samples, got_rate = lipsync.load_audio(path)
        motion = lipsync.talk_motion(gathered, samples, got_rate)
        if not motion.curves:
            raise BuildError(f"the talk motion of voice.{ext} has no curves")
        formats[ext] = round(len(samples) / got_rate, 2)
    report["audio"] = formats
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--platform",
        action="append",
        choices=sorted(PLATFORMS),
        help="target platform (repeatable; default: all)",
    )
    parser.add_argument("--out", default=os.path.join(REPO, "dist"))
    parser.add_argument(
        "--wheels",
        default=os.path.join(REPO, "dist", "wheels"),
        help="wheel cache folder (re-used between builds)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="then install the linux-x64 zip into bpy in a clean venv and run it",
    )
    parser.add_argument(
        "--venv-python",
        help="--check: use this clean venv's python (holding only bpy) instead of making a new venv",
    )
    parser.add_argument("--installed-check", metavar="ZIP", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        if args.installed_check:
            report = _installed_check(args.installed_check, args.work)
            print(_REPORT + json.dumps(report))
            return 0
        platforms = args.platform or list(PLATFORMS)
        zip_path = build(platforms, args.out, args.wheels)
        print(f"built {zip_path} ({os.path.getsize(zip_path) / 2**20:.1f} MiB)")
        with zipfile.ZipFile(zip_path) as zf:
            wheels = [n for n in zf.namelist() if n.startswith("wheels/")]
        for platform in platforms:
            floor = system_minimum(wheels, platform)
            print(
                f"  {platform}: {sum(installs_on(w, platform) for w in wheels)} wheels"
                + (f", need {floor} or newer" if floor else "")
            )
        if args.check:
            if "linux-x64" not in platforms or not sys.platform.startswith("linux"):
                raise BuildError("--check installs the linux-x64 build on Linux")
            report = check_install(zip_path, args.venv_python)
            print("installed and ran in a clean Blender:", json.dumps(report, indent=1))
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
