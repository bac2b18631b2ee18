# SPDX-License-Identifier: GPL-3.0-or-later
"""The headless command line, end to end on the sample, in a real subprocess."""

import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from image_to_rig.core.formats.model_json import load_model, validate_runtime

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAUNCH = (
    "import sys; sys.path.insert(0, {tests!r}); import conftest; "
    "from image_to_rig.cli import main; sys.exit(main(sys.argv[1:]))"
)


def run_cli(*args, cwd=None):
    env = dict(os.environ)
    env.setdefault("BLENDER_USER_RESOURCES", os.path.join(str(cwd or REPO), ".blender-user"))
    code = LAUNCH.format(tests=os.path.join(REPO, "tests"))
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=600
    )


@pytest.fixture(scope="module")
def rigged(tmp_path_factory):
    from image_to_rig.devkit.sample import make_sample

    tmp = tmp_path_factory.mktemp("cli")
    sample = make_sample(512)
    src = tmp / "girl.png"
    cv2.imwrite(str(src), cv2.cvtColor(sample.image, cv2.COLOR_RGBA2BGRA))
    out = tmp / "out"
    proc = run_cli("rig", str(src), "--out", str(out), cwd=tmp)
    assert proc.returncode == 0, proc.stderr
    return sample, src, out, proc


def test_rig_writes_every_output(rigged):
    sample, _, out, _ = rigged
    assert (out / "girl.blend").stat().st_size > 10_000
    with open(out / "web" / "model.json", encoding="utf-8") as fh:
        data = json.load(fh)
    validate_runtime(data)
    for name in ("index.html", "player.js", "atlas0.png"):
        assert (out / "web" / name).is_file(), name
    layer_files = sorted(os.listdir(out / "layers"))
    assert len(layer_files) == len(data["layers"])
    assert [f[:3] for f in layer_files] == [f"{i:02d}_" for i in range(len(layer_files))]
    for name in layer_files:
        img = cv2.imread(str(out / "layers" / name), cv2.IMREAD_UNCHANGED)
        assert img.shape == (512, 512, 4) and img[..., 3].max() == 255, name
    ids = [f[3:-4] for f in layer_files]
    for needed in (
        "back-hair",
        "face",
        "front-hair",
        "eyewhite_l",
        "eyewhite_r",
        "irides_l",
        "irides_r",
        "eyelash_l",
        "eyelash_r",
        "eyebrow_l",
        "eyebrow_r",
        "mouth",
    ):
        assert needed in ids, f"layer {needed} missing from {ids}"
    assert ids.index("back-hair") < ids.index("face") < ids.index("eyewhite_l") < ids.index("front-hair")


def test_report_has_timings_memory_confidence(rigged):
    _, _, out, _ = rigged
    report = json.loads((out / "report.json").read_text())
    for stage in (
        "foreground",
        "landmarks",
        "decompose",
        "complete",
        "rig",
        "motions",
        "blender_build",
        "export",
    ):
        assert report["stages"][stage] >= 0.0, stage
    assert report["peak_rss_mb"] > 50
    assert set(report["parameters"]) >= {
        "ParamAngleX",
        "ParamAngleY",
        "ParamAngleZ",
        "ParamEyeLOpen",
        "ParamEyeROpen",
        "ParamEyeBallX",
        "ParamEyeBallY",
        "ParamMouthOpenY",
        "ParamMouthForm",
        "ParamBodyAngleX",
        "ParamBreath",
    }
    for info in report["parameters"].values():
        assert 0.0 <= info["confidence"] <= 1.0
    assert report["found"]["tags"]


def test_render_default_pose_reproduces_the_input(rigged, tmp_path):
    sample, _, out, _ = rigged
    png = tmp_path / "default.png"
    proc = run_cli("render", str(out / "web" / "model.json"), "-o", str(png))
    assert proc.returncode == 0, proc.stderr
    img = cv2.cvtColor(cv2.imread(str(png), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGRA2RGBA)
    assert img.shape == (512, 512, 4)
    fg = sample.image[..., 3] > 0
    if sample.image[..., 3].min() == 255:  # opaque sample: compare on the character
        fg = np.zeros(fg.shape, bool)
        for layer in sample.layers:
            fg |= layer.full_canvas(sample.canvas)[..., 3] > 0
    inner = cv2.erode(fg.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    diff = np.abs(img[..., :3].astype(int) - sample.image[..., :3].astype(int)).mean(axis=2)
    assert img[inner, 3].mean() > 250
    assert diff[inner].mean() < 6.0, f"default pose differs from the input by {diff[inner].mean():.2f}"


def test_render_a_pose_moves_the_head(rigged, tmp_path):
    _, _, out, _ = rigged
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    assert run_cli("render", str(out / "web" / "model.json"), "-o", str(a)).returncode == 0
    proc = run_cli("render", str(out / "web" / "model.json"), "--param", "ParamAngleZ=30", "-o", str(b))
    assert proc.returncode == 0, proc.stderr
    ia, ib = cv2.imread(str(a), cv2.IMREAD_UNCHANGED), cv2.imread(str(b), cv2.IMREAD_UNCHANGED)
    changed = np.abs(ia.astype(int) - ib.astype(int)).max(axis=2) > 40
    ys = np.nonzero(changed)[0]
    assert changed.sum() > 2000 and ys.mean() < 300  # the head, not the body, moved


def test_bad_input_fails_cleanly(tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_text("hello")
    out = tmp_path / "out"
    proc = run_cli("rig", str(bad), "--out", str(out), cwd=tmp_path)
    assert proc.returncode == 2
    assert "not an image" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["notes.png"] or sorted(
        p.name for p in tmp_path.iterdir()
    ) == [".blender-user", "notes.png"]


def test_render_rejects_unknown_parameter_and_bad_model(rigged, tmp_path):
    _, _, out, _ = rigged
    proc = run_cli(
        "render", str(out / "web" / "model.json"), "--param", "ParamNope=1", "-o", str(tmp_path / "x.png")
    )
    assert proc.returncode == 2 and "unknown parameter" in proc.stderr
    broken = tmp_path / "model.json"
    broken.write_text("{not json")
    proc = run_cli("render", str(broken), "-o", str(tmp_path / "x.png"))
    assert proc.returncode == 2 and "not valid JSON" in proc.stderr and "Traceback" not in proc.stderr


def test_exported_model_loads_back(rigged):
    _, _, out, _ = rigged
    doc = load_model(str(out / "web" / "model.json"))
    assert doc.canvas.width == 512 and len(doc.meshes) == len(doc.draw_order)


def test_rig_names_a_missing_model_plainly(tmp_path):
    from image_to_rig.devkit.sample import write_sample_png

    src = write_sample_png(str(tmp_path / "s.png"), 256)
    proc = run_cli(
        "rig",
        src,
        "--out",
        str(tmp_path / "out"),
        "--foreground",
        "isnet",
        "--model",
        f"isnet_anime={tmp_path / 'nowhere.ckpt'}",
        cwd=tmp_path,
    )
    assert proc.returncode == 2 and "nowhere.ckpt" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------ the .moc3 beside model.json


def test_rig_writes_a_moc3_the_official_core_plays_as_blender_exported_it(rigged, tmp_path):
    """The CLI's export (gathered back from the Blender scene) carries a .moc3
    that the Core accepts and moves like model.json."""
    from cubism_core import cubism_core
    from moc3_check import assert_export_matches, compare_export

    _, _, out, _ = rigged
    assert (out / "web" / "girl.moc3").is_file()
    model3 = json.loads((out / "web" / "girl.model3.json").read_text(encoding="utf-8"))
    assert model3["FileReferences"]["Moc"] == "girl.moc3"
    result = compare_export(str(out / "web"), cubism_core(), vectors=20, seed=3, render_poses=2)
    assert_export_matches(result)


@pytest.mark.parametrize("target", ["girl.moc3", "girl.model3.json"])
def test_render_plays_the_moc3_like_model_json(rigged, tmp_path, target):
    _, _, out, _ = rigged
    images = []
    for name in ("model.json", target):
        png = tmp_path / f"{name}.png"
        proc = run_cli(
            "render",
            str(out / "web" / name),
            "--param",
            "ParamAngleX=25",
            "--param",
            "ParamEyeLOpen=0.3",
            "-o",
            str(png),
        )
        assert proc.returncode == 0, proc.stderr
        images.append(cv2.imread(str(png), cv2.IMREAD_UNCHANGED).astype(float))
    on = (images[0][..., 3] > 0) | (images[1][..., 3] > 0)
    assert on.sum() > 10_000
    assert np.abs(images[0] - images[1])[on].mean() < 0.5


def test_render_refuses_a_broken_or_lonely_moc3_plainly(rigged, tmp_path):
    import shutil

    _, _, out, _ = rigged
    web = tmp_path / "web"
    shutil.copytree(out / "web", web)
    data = bytearray((web / "girl.moc3").read_bytes())
    data[0x7C0 + 16 : 0x7C0 + 20] = (10_000).to_bytes(4, "little")  # art mesh count edited
    (web / "girl.moc3").write_bytes(bytes(data))
    proc = run_cli("render", str(web / "girl.moc3"), "-o", str(tmp_path / "x.png"))
    assert proc.returncode == 2 and "the moc3 is corrupt" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "x.png").exists()
    (web / "girl.moc3").write_bytes(bytes(data[:1000]))  # cut short
    proc = run_cli("render", str(web / "girl.model3.json"), "-o", str(tmp_path / "x.png"))
    assert proc.returncode == 2 and "is not a .moc3: it is only 1,000 bytes long" in proc.stderr
    lonely = tmp_path / "lonely.moc3"
    shutil.copy(out / "web" / "girl.moc3", lonely)
    proc = run_cli("render", str(lonely), "-o", str(tmp_path / "x.png"))
    assert proc.returncode == 2 and "no .model3.json beside lonely.moc3 names it" in proc.stderr
