# SPDX-License-Identifier: GPL-3.0-or-later
"""Build the installable Blender extension: dist/image_to_rig-<version>[-<platform>].zip.

Blender ships numpy (and requests); the other libraries the core needs are
downloaded as binary wheels for each target platform with
``pip download --only-binary=:all:`` into wheels/, listed in the manifest that
goes into the zip, and installed by Blender together with the extension.

    python scripts/build_extension.py                      # every platform, one zip
    python scripts/build_extension.py --platform linux-x64 # one platform
    python scripts/build_extension.py --platform linux-x64 --check  # + install into bpy
"""
from __future__ import annotations

import argparse
import fnmatch
import os
import re
import subprocess
import sys
import tempfile
import zipfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON_VERSION = "3.11"  # Blender 4.2 - 5.x

# Wheels Blender lacks, pinned like requirements.txt.  animeface has no Windows
# or macOS wheels; the core falls back to its own landmark finder without it.
WHEELS = ["opencv-python-headless==4.11.0.86", "scipy==1.13.1", "pillow==11.3.0"]
LINUX_ONLY_WHEELS = ["animeface==2.0.3"]

# Blender platform name -> pip --platform tags (newest first is not required).
PLATFORMS = {
    "linux-x64": ["manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64"],
    "windows-x64": ["win_amd64"],
    "macos-arm64": ["macosx_11_0_arm64", "macosx_12_0_arm64", "macosx_13_0_arm64",
                    "macosx_14_0_arm64"],
    "macos-x64": ["macosx_10_9_x86_64", "macosx_10_13_x86_64", "macosx_12_0_x86_64",
                  "macosx_13_0_x86_64"],
}

INCLUDE = ["__init__.py", "__main__.py", "cli.py", "registration.py", "blender_manifest.toml",
           "LICENSE", "README.md", "core", "scene", "operators", "panels", "web"]
EXCLUDE = ["__pycache__", "*.pyc", "*.pyo", ".DS_Store", "node_modules"]


class BuildError(RuntimeError):
    pass


def manifest_version(text: str) -> str:
    match = re.search(r'^version\s*=\s*"([^"]+)"', text, re.M)
    if not match:
        raise BuildError("blender_manifest.toml has no version")
    return match.group(1)


def download_wheels(platform: str, wheel_dir: str) -> list:
    """Binary wheels of WHEELS for one Blender platform; returns their file names."""
    os.makedirs(wheel_dir, exist_ok=True)
    specs = WHEELS + (LINUX_ONLY_WHEELS if platform.startswith("linux") else [])
    cmd = [sys.executable, "-m", "pip", "download", "--only-binary=:all:", "--no-deps",
           "--python-version", PYTHON_VERSION, "--implementation", "cp", "-d", wheel_dir]
    for tag in PLATFORMS[platform]:
        cmd += ["--platform", tag]
    result = subprocess.run(cmd + specs, capture_output=True, text=True)
    if result.returncode != 0:
        raise BuildError(f"pip could not download the wheels for {platform}:\n{result.stderr[-2000:]}")
    names = []
    for spec in specs:
        project = spec.split("==")[0].replace("-", "_").lower()
        version = spec.split("==")[1]
        found = [n for n in os.listdir(wheel_dir)
                 if n.lower().startswith(f"{project}-{version}-") and _matches(n, platform)]
        if not found:
            raise BuildError(f"no {platform} wheel of {spec} in {wheel_dir}")
        names.append(sorted(found)[-1])
    return names


def _matches(wheel: str, platform: str) -> bool:
    tag = wheel[:-4].split("-")[-1]
    return any(t in tag for t in PLATFORMS[platform]) or (
        platform == "linux-x64" and "manylinux" in tag and "x86_64" in tag) or (
        platform == "macos-arm64" and "macosx" in tag and "arm64" in tag) or (
        platform == "macos-x64" and "macosx" in tag and "x86_64" in tag)


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


def build(platforms: list, out_dir: str, wheel_dir: str) -> str:
    with open(os.path.join(REPO, "blender_manifest.toml"), encoding="utf-8") as fh:
        manifest = fh.read()
    version = manifest_version(manifest)
    wheels: list = []
    for platform in platforms:
        for name in download_wheels(platform, wheel_dir):
            if name not in wheels:
                wheels.append(name)
    suffix = "" if len(platforms) == len(PLATFORMS) else "-" + "-".join(p.replace("-", "_") for p in platforms)
    os.makedirs(out_dir, exist_ok=True)
    zip_path = os.path.join(out_dir, f"image_to_rig-{version}{suffix}.zip")
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("blender_manifest.toml", manifest_with_wheels(manifest, wheels, platforms))
        for item in INCLUDE:
            path = os.path.join(REPO, item)
            if item == "blender_manifest.toml" or not os.path.exists(path):
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
            zf.write(os.path.join(wheel_dir, name), f"wheels/{name}")
    return zip_path


def check_install(zip_path: str) -> None:
    """Install the zip into a throw-away Blender user folder with bpy and enable it."""
    code = f"""
import bpy, sys
bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
repo = "user_default"
result = bpy.ops.extensions.package_install_files(filepath={zip_path!r}, repo=repo, enable_on_install=True)
print("install:", result)
import addon_utils
mods = [m.__name__ for m in addon_utils.modules() if m.__name__.endswith("image_to_rig")]
print("modules:", mods)
ok = hasattr(bpy.ops.image_to_rig, "generate") and hasattr(bpy.types, "IMAGE_TO_RIG_PT_main")
import importlib
for name in ("cv2", "scipy.spatial", "PIL.Image"):
    importlib.import_module(name)
print("enabled:", ok)
sys.exit(0 if ok and result == {{"FINISHED"}} else 1)
"""
    env = dict(os.environ, BLENDER_USER_RESOURCES=tempfile.mkdtemp(prefix="i2r-ext-check-"))
    # A clean interpreter without the dev checkout on the path.
    env.pop("PYTHONPATH", None)
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                            cwd=tempfile.gettempdir())
    print(result.stdout[-3000:])
    if result.returncode != 0:
        raise BuildError(f"installing {zip_path} into Blender failed:\n{result.stderr[-3000:]}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--platform", action="append", choices=sorted(PLATFORMS),
                        help="target platform (repeatable; default: all)")
    parser.add_argument("--out", default=os.path.join(REPO, "dist"))
    parser.add_argument("--wheels", default=os.path.join(REPO, "dist", "wheels"),
                        help="wheel cache folder (re-used between builds)")
    parser.add_argument("--check", action="store_true",
                        help="install the zip with bpy's extensions.package_install_files")
    args = parser.parse_args(argv)
    try:
        zip_path = build(args.platform or list(PLATFORMS), args.out, args.wheels)
        print(f"built {zip_path} ({os.path.getsize(zip_path) / 2**20:.1f} MiB)")
        if args.check:
            check_install(zip_path)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
