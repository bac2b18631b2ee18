# SPDX-License-Identifier: GPL-3.0-or-later
"""`python -m image_to_rig rig samples/sample.png` on every Blender the manifest claims.

Each Blender is the bpy of its own virtual environment: `.venv` (5.0.x) and,
made by `scripts/setup.sh --bpy 4.2|4.5`, `.venv-bpy4.2` and `.venv-bpy4.5`.
The rig is made and exported under each one, and the exported model.json must
be the same file byte for byte (the pipeline is pure numpy/OpenCV; the export
gathers the rig back from the Blender scene, so this compares what each
Blender's scene holds).  A venv that is missing is skipped, unless
IMAGE_TO_RIG_REQUIRE_LTS=1 (scripts/test.sh sets it after making them).
"""

import hashlib
import json
import os
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENVS = {"5.0": ".venv", "4.2": ".venv-bpy4.2", "4.5": ".venv-bpy4.5"}
SAMPLE = os.path.join(REPO, "samples", "sample.png")


def _python(series: str):
    path = os.path.join(REPO, VENVS[series], "bin", "python")
    return path if os.path.exists(path) else None


def _probe(python: str) -> dict:
    code = (
        "import json, bpy, image_to_rig; "
        "print(json.dumps({'bpy': bpy.app.version_string, 'package': image_to_rig.__file__}))"
    )
    proc = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def json_differences(a, b, path="") -> list:
    """Where two JSON values differ, as 'path: a != b' lines (at most 20)."""
    out = []
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                out.append(f"{path}/{key}: only in {'second' if key not in a else 'first'}")
            else:
                out += json_differences(a[key], b[key], f"{path}/{key}")
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            out += json_differences(x, y, f"{path}[{i}]")
    elif a != b:
        out.append(f"{path}: {str(a)[:60]} != {str(b)[:60]}")
    return out[:20]


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    require = os.environ.get("IMAGE_TO_RIG_REQUIRE_LTS") == "1"
    found = {}
    for series in VENVS:
        python = _python(series)
        if python is None:
            if require:
                pytest.fail(f"{VENVS[series]} is missing: run scripts/setup.sh --bpy {series}")
            continue
        info = _probe(python)
        assert info["bpy"].startswith(series), info
        assert os.path.dirname(os.path.realpath(info["package"])) == os.path.realpath(REPO), (
            f"{VENVS[series]} imports image_to_rig from {info['package']}: run scripts/setup.sh there again"
        )
        out = tmp_path_factory.mktemp(f"bpy{series}") / "out"
        env = dict(os.environ, BLENDER_USER_RESOURCES=str(out.parent / "blender-user"))
        proc = subprocess.run(
            [python, "-m", "image_to_rig", "rig", SAMPLE, "--out", str(out)],
            capture_output=True,
            text=True,
            cwd=str(out.parent),
            env=env,
            timeout=600,
        )
        assert proc.returncode == 0, f"bpy {info['bpy']}:\n{proc.stdout[-1500:]}\n{proc.stderr[-3000:]}"
        found[series] = (info["bpy"], out)
    if len(found) < 2:
        pytest.skip("only one Blender is set up here (scripts/setup.sh --bpy 4.2 / 4.5 add more)")
    return found


def test_the_sample_rigs_with_every_blender(exports):
    for series, (version, out) in exports.items():
        for name in ("sample.blend", "report.json", "web/model.json", "web/sample.psd", "web/index.html"):
            assert (out / name).is_file(), f"bpy {version} wrote no {name}"


def test_the_exported_model_json_is_identical_across_blenders(exports):
    reference_series = "5.0" if "5.0" in exports else sorted(exports)[-1]
    ref_version, ref_out = exports[reference_series]
    ref_bytes = (ref_out / "web" / "model.json").read_bytes()
    for series, (version, out) in exports.items():
        data = (out / "web" / "model.json").read_bytes()
        if data != ref_bytes:
            diff = json_differences(json.loads(ref_bytes), json.loads(data))
            pytest.fail(
                f"model.json of bpy {version} differs from bpy {ref_version}:\n  " + "\n  ".join(diff)
            )
        print(f"bpy {version}: model.json sha1 {hashlib.sha1(data).hexdigest()[:12]}")
