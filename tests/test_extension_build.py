# SPDX-License-Identifier: GPL-3.0-or-later
"""The built extension zip (scripts/build_extension.py).

Offline: the wheel list matches requirements.txt, the platform rules match
Blender's own wheel filter, missing run-time requirements are found, and the
manifest passes Blender's validator.

Online (skipped when the package index cannot be reached): build the
linux-x64 zip, check what is inside, then install it with
`bpy.ops.extensions.package_install_files` into bpy in a SEPARATE, clean venv
(only `pip install bpy`, so cv2, jsonschema, psd_tools, soundfile ...
exist there only through the extension's wheels), enable it, import every
module and run sample -> pipeline -> scene -> gather -> export -> PSD and audio
back in.  The same check with the old, incomplete wheel list must fail.

Cost with a warm pip cache: about 35 s for the clean venv (bpy is ~800 MB
unpacked) plus a few seconds per install; the wheels are cached under
<system temp>/image_to_rig-wheels between runs.  It runs in the normal suite.
"""

import importlib.util
import os
import platform
import subprocess
import sys
import sysconfig
import tempfile
import tomllib
import zipfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_spec = importlib.util.spec_from_file_location(
    "build_extension", os.path.join(REPO, "scripts", "build_extension.py")
)
be = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(be)

WHEEL_CACHE = os.path.join(tempfile.gettempdir(), "image_to_rig-wheels")
ON_LINUX_X64 = sys.platform.startswith("linux") and platform.machine() in ("x86_64", "AMD64")


def _requirements_pins() -> dict:
    pins = {}
    with open(os.path.join(REPO, "requirements.txt"), encoding="utf-8") as fh:
        for line in fh:
            line = line.split("#", 1)[0].strip()
            if "==" in line:
                name, version = line.split("==", 1)
                pins[be.canonical(name)] = version.strip()
    return pins


# --------------------------------------------------------------------------- offline
def test_bundled_pins_match_requirements_and_cover_every_runtime_package():
    pins = _requirements_pins()
    bundled = {be.canonical(k): v for k, v in {**be.WHEELS, **be.LINUX_ONLY_WHEELS}.items()}
    for project, version in bundled.items():
        if project in pins:
            assert pins[project] == version, f"{project}: requirements.txt pins {pins[project]}"
    # Every run-time package of requirements.txt is bundled or ships with Blender
    # (bpy itself is Blender).
    not_bundled = set(pins) - set(bundled) - set(be.BLENDER_SHIPS) - {"bpy"}
    assert not not_bundled, f"requirements.txt packages missing from the extension: {not_bundled}"
    assert "torch" not in bundled and "numpy" not in bundled


def _fake_wheel(folder, filename: str, requires=()) -> str:
    project, version = filename.split("-")[:2]
    path = os.path.join(folder, filename)
    meta = "Metadata-Version: 2.1\nName: {}\nVersion: {}\n{}\nDescription body\n".format(
        project, version, "".join(f"Requires-Dist: {r}\n" for r in requires)
    )
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{project}-{version}.dist-info/METADATA", meta)
    return path


def test_requirement_problems_names_what_is_missing(tmp_path):
    app = _fake_wheel(
        tmp_path,
        "app-1.0-py3-none-any.whl",
        [
            "lib>=2",
            "winonly; sys_platform == 'win32'",
            "numpy>=3",
            "docs; extra == 'doc'",
            "old; python_version < '3.8'",
        ],
    )
    lib = _fake_wheel(tmp_path, "lib-2.5-cp311-cp311-manylinux_2_17_x86_64.whl")
    linux = be.requirement_problems([app, lib], "linux-x64")
    assert len(linux) == 1 and "numpy>=3" in linux[0] and "Blender ships" in linux[0]
    windows = be.requirement_problems([app, lib], "windows-x64")
    assert len(windows) == 2 and any("winonly" in p and "WHEELS" in p for p in windows)
    old_lib = _fake_wheel(tmp_path, "lib-1.0-py3-none-any.whl")
    assert any("lib>=2" in p for p in be.requirement_problems([app, old_lib], "macos-arm64"))


def _build_without_wheels(monkeypatch, out) -> str:
    """The zip as build() writes it, with no wheels (nothing downloaded)."""
    monkeypatch.setattr(be, "download_wheels", lambda platform, wheel_dir: [])
    monkeypatch.setattr(be, "requirement_problems", lambda paths, platform: [])
    return be.build(["linux-x64"], str(out), str(out))


def test_zip_ships_the_gpl_license(tmp_path, monkeypatch):
    """The LICENSE at the root is the GPL-3.0 text, and the zip carries it unchanged."""
    with open(os.path.join(REPO, "LICENSE"), "rb") as fh:
        licence = fh.read()
    assert b"GNU GENERAL PUBLIC LICENSE" in licence and b"Version 3, 29 June 2007" in licence
    assert b"END OF TERMS AND CONDITIONS" in licence and len(licence) > 30000  # the full text
    with open(os.path.join(REPO, "blender_manifest.toml"), "rb") as fh:
        assert tomllib.load(fh)["license"] == ["SPDX:GPL-3.0-or-later"]
    zip_path = _build_without_wheels(monkeypatch, tmp_path / "dist")
    with zipfile.ZipFile(zip_path) as zf:
        assert zf.read("LICENSE") == licence
    assert "LICENSE" in be.REQUIRED_IN_ZIP and be.zip_problems(zip_path) == []


def test_build_refuses_when_a_shipped_file_is_missing(tmp_path, monkeypatch):
    """A file the zip must ship that the checkout lacks stops the build (it was skipped silently)."""
    monkeypatch.setattr(be, "INCLUDE", be.INCLUDE + ["NO-SUCH-FILE"])
    with pytest.raises(be.BuildError, match="NO-SUCH-FILE"):
        _build_without_wheels(monkeypatch, tmp_path / "dist")
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(broken, "w") as zf:
        zf.writestr("__init__.py", "")
    assert "LICENSE is missing" in be.zip_problems(str(broken))


def test_platform_rules_match_blenders_wheel_filter(monkeypatch):
    pytest.importorskip("bpy")
    from bl_pkg import bl_extension_ops

    wheels = [
        "a-1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "a-1-cp311-cp311-manylinux_2_28_aarch64.whl",
        "a-1-cp311-cp311-win_amd64.whl",
        "a-1-cp311-cp311-win32.whl",
        "a-1-cp311-cp311-macosx_11_0_arm64.whl",
        "a-1-cp311-cp311-macosx_10_9_x86_64.whl",
        "a-1-cp311-cp311-macosx_10_9_universal2.whl",
        "a-1-cp312-cp312-win_amd64.whl",
        "b-1-cp37-abi3-manylinux_2_17_x86_64.whl",
        "b-1-cp312-abi3-win_amd64.whl",
        "c-1-py3-none-any.whl",
        "c-1-py2.py3-none-manylinux_2_28_x86_64.whl",
        "d-1-py2-none-any.whl",
        "e-1-cp310-cp310-macosx_11_0_arm64.whl",
    ]
    systems = {
        "linux-x64": "linux-x86_64",
        "windows-x64": "win-amd64",
        "macos-arm64": "macosx-11.2-arm64",
        "macos-x64": "macosx-11.2-x86_64",
    }
    assert set(systems) == set(be.PLATFORMS)
    for name, system in systems.items():
        monkeypatch.setattr(sysconfig, "get_platform", lambda system=system: system)
        blender = bl_extension_ops._extensions_wheel_filter_for_this_system(wheels)
        assert blender == [w for w in wheels if be.installs_on(w, name)], name
        assert blender  # the rules select something on every platform


def test_built_manifest_passes_blenders_validator():
    pytest.importorskip("bpy")
    from bl_pkg.cli import blender_ext

    with open(os.path.join(REPO, "blender_manifest.toml"), encoding="utf-8") as fh:
        text = fh.read()
    wheels = ["scipy-1.13.1-cp311-cp311-win_amd64.whl", "attrs-26.1.0-py3-none-any.whl"]
    built = tomllib.loads(be.manifest_with_wheels(text, wheels, list(be.PLATFORMS)))
    assert built["wheels"] == [f"./wheels/{w}" for w in wheels]
    assert built["platforms"] == list(be.PLATFORMS)
    assert built["permissions"] == tomllib.loads(text)["permissions"]
    assert blender_ext.pkg_manifest_is_valid_or_error_all(built, from_repo=False, strict=True) is None


# --------------------------------------------------------------------------- online
def _index_unreachable(tmp) -> bool:
    """True when pip cannot fetch even one small wheel (offline machine)."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--no-cache-dir",
            "-d",
            str(tmp),
            f"attrs=={be.WHEELS['attrs']}",
        ],
        capture_output=True,
        text=True,
    )
    return result.returncode != 0


@pytest.fixture(scope="module")
def linux_zip(tmp_path_factory):
    if not ON_LINUX_X64:
        pytest.skip("builds and installs the linux-x64 extension")
    out = tmp_path_factory.mktemp("dist")
    try:
        return be.build(["linux-x64"], str(out), WHEEL_CACHE)
    except be.BuildError:
        if _index_unreachable(tmp_path_factory.mktemp("probe")):
            pytest.skip("the package index cannot be reached to download the wheels")
        raise


@pytest.fixture(scope="module")
def clean_python(tmp_path_factory, linux_zip):
    venv = tmp_path_factory.mktemp("clean-venv")
    try:
        return be.create_clean_venv(str(venv))
    except be.BuildError:
        if _index_unreachable(tmp_path_factory.mktemp("probe")):
            pytest.skip("the package index cannot be reached to install bpy")
        raise


def test_zip_holds_the_addon_all_wheels_and_no_dev_files(linux_zip):
    with zipfile.ZipFile(linux_zip) as zf:
        names = zf.namelist()
        manifest = tomllib.loads(zf.read("blender_manifest.toml").decode("utf-8"))
    assert be.zip_problems(linux_zip) == []
    for web in ("web/index.html", "web/player.js", "web/viewer.js"):
        assert web in names
    assert "LICENSE" in names
    assert not [
        n
        for n in names
        if n.split("/")[0] in ("tests", "bench", ".venv", "dist", "samples", "scripts", ".git")
    ]
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    # Every add-on source file of the checkout is in the zip.
    for folder in ("core", "scene", "operators", "panels"):
        for root, dirs, files in os.walk(os.path.join(REPO, folder)):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            for name in files:
                if name.endswith((".py", ".json")):
                    rel = os.path.relpath(os.path.join(root, name), REPO).replace(os.sep, "/")
                    assert rel in names, rel
    # The manifest lists exactly the wheels in the zip: one per bundled project.
    listed = [w[len("./") :] for w in manifest["wheels"]]
    assert sorted(listed) == sorted(n for n in names if n.startswith("wheels/"))
    projects = sorted(be._wheel_fields(w)[0] for w in listed)
    assert projects == sorted(be.canonical(p) for p in be.wheel_specs("linux-x64"))
    assert all(be.installs_on(w, "linux-x64") for w in listed)
    assert manifest["platforms"] == ["linux-x64"]
    with zipfile.ZipFile(linux_zip) as zf:
        for name in listed:
            zf.extract(name, os.path.dirname(linux_zip))
    paths = [os.path.join(os.path.dirname(linux_zip), n) for n in listed]
    assert be.requirement_problems(paths, "linux-x64") == []


def test_extension_installs_and_runs_in_a_clean_blender(linux_zip, clean_python, tmp_path):
    report = be.check_install(linux_zip, clean_python, str(tmp_path))
    assert report["bpy"].startswith(be.bpy_version().rsplit(".", 1)[0])
    assert set(report["bundled_modules"]) >= {
        "cv2",
        "PIL",
        "jsonschema",
        "psd_tools",
        "soundfile",
        "rpds",
        "cffi",
        "animeface",
    }
    sources = sum(
        1
        for folder in ("core", "scene", "operators", "panels")
        for root, dirs, files in os.walk(os.path.join(REPO, folder))
        if "__pycache__" not in root
        for n in files
        if n.endswith(".py")
    )
    assert report["modules_imported"] >= sources
    assert report["layers"] >= 8 and report["parameters"] >= 10
    # The PSD reads back with every drawn layer (generated ones are hidden in it).
    assert report["psd_layers"] + report["generated_layers"] == report["layers"]
    assert {"model.json", "index.html", "player.js", "viewer.js"} <= set(report["exported"])
    assert set(report["audio"]) == {"ogg", "mp3", "flac"}
    assert all(abs(seconds - 1.0) < 0.1 for seconds in report["audio"].values())


def test_the_check_fails_when_a_wheel_is_missing(linux_zip, clean_python, tmp_path, monkeypatch):
    # The wheel list before jsonschema, psd-tools and soundfile were bundled.
    old = {p: be.WHEELS[p] for p in ("opencv-python-headless", "pillow")}
    monkeypatch.setattr(be, "WHEELS", old)
    incomplete = be.build(["linux-x64"], str(tmp_path / "dist"), WHEEL_CACHE)
    with pytest.raises(be.BuildError, match="jsonschema"):
        be.check_install(incomplete, clean_python, str(tmp_path / "work"))


def test_system_minimum_reads_the_wheel_tags():
    wheels = [
        "a-1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "b-1-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl",
        "c-1-cp311-cp311-macosx_10_9_x86_64.whl",
        "d-1-cp37-abi3-macosx_13_0_arm64.whl",
        "e-1-cp311-cp311-macosx_12_0_arm64.whl",
        "f-1-py3-none-any.whl",
        "g-1-cp311-cp311-win_amd64.whl",
    ]
    assert be.system_minimum(wheels, "linux-x64") == "glibc 2.24"  # either tag will do
    assert be.system_minimum(wheels, "macos-arm64") == "macOS 13.0"
    assert be.system_minimum(wheels, "macos-x64") == "macOS 10.9"
    assert be.system_minimum(wheels, "windows-x64") is None
