# SPDX-License-Identifier: GPL-3.0-or-later
"""A weights file never runs code (docs/security.md).

Every way a checkpoint reaches the loaders is tried with files whose pickled
payload would create a marker file if any code from them ran: the three
loaders, the CLI's --model NAME=PATH, --models-dir, IMAGE_TO_RIG_MODELS and
the preferences' Check (core.backends.check_model).  The marker must never
exist, and the message must say how to convert a file the user trusts."""

import os
import subprocess
import sys

import cv2
import pytest

torch = pytest.importorskip("torch")

from image_to_rig.core.backends import ModelLoadError  # noqa: E402
from image_to_rig.devkit import tiny_models as tiny  # noqa: E402
from image_to_rig.core.backends.face_parts import load_face_parts_unet  # noqa: E402
from image_to_rig.core.backends.isnet import load_isnet  # noqa: E402
from image_to_rig.core.backends.lama import load_lama  # noqa: E402
from image_to_rig.core.backends import check_model  # noqa: E402
from image_to_rig.core.backends.weights import MODELS  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAUNCH = (
    "import sys; sys.path.insert(0, {tests!r}); import conftest; "
    "from image_to_rig.cli import main; sys.exit(main(sys.argv[1:]))"
)


class _Payload:
    """Pickles as a call of os.system: unpickling it with plain pickle runs the command."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _hostile_checkpoint(real_path: str, out: str, marker: str, legacy: bool) -> str:
    """The tensors of a real (tiny) checkpoint plus the payload, in the zip or
    the legacy (non-zip) torch format."""
    with tiny.omegaconf_names():  # the tiny big-lama pickles OmegaConf names
        data = tiny.load_tiny(real_path)
        if not isinstance(data, dict):
            data = {"state_dict": data}
        data["payload"] = _Payload(marker)
        torch.save(data, out, _use_new_zipfile_serialization=not legacy)
    return out


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    d = tmp_path_factory.mktemp("real-weights")
    return {
        "isnet_anime": tiny.save_tiny_isnet(str(d / "isnetis.ckpt")),
        "anime_face_parts": tiny.save_tiny_face_parts(str(d / "UNet.pth")),
        "big_lama": tiny.save_tiny_lama(str(d / "best.ckpt")),
    }


LOADERS = {"isnet_anime": load_isnet, "anime_face_parts": load_face_parts_unet, "big_lama": load_lama}


@pytest.mark.parametrize("legacy", [True, False], ids=["legacy-format", "zip-format"])
@pytest.mark.parametrize("name", sorted(LOADERS))
def test_loaders_refuse_a_checkpoint_that_would_run_code(real, tmp_path, name, legacy):
    marker = tmp_path / "code-ran"
    evil = _hostile_checkpoint(real[name], str(tmp_path / "evil.ckpt"), str(marker), legacy)
    with pytest.raises(ModelLoadError, match="convert-weights .* --trust-this-file"):
        LOADERS[name](evil)
    assert not marker.exists(), "code from the weights file ran"


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_the_preferences_check_refuses_it_too(real, tmp_path, name):
    marker = tmp_path / "code-ran"
    evil = _hostile_checkpoint(real[name], str(tmp_path / "evil.ckpt"), str(marker), True)
    with pytest.raises(ValueError, match="does not load it"):
        check_model(name, evil)
    assert not marker.exists()


def test_a_training_config_pickled_beside_the_weights_still_loads(real):
    """big-lama's checkpoint pickles an OmegaConf config: allowed by name as inert
    stubs under weights_only=True, no omegaconf needed."""
    with pytest.raises(Exception, match="omegaconf"):
        torch.load(real["big_lama"], weights_only=True)  # plain weights_only refuses it
    model = load_lama(real["big_lama"])
    assert sum(p.numel() for p in model.parameters()) > 0


def _run_cli(*args, env=None, cwd=None):
    full_env = dict(os.environ)
    full_env.update(env or {})
    code = LAUNCH.format(tests=os.path.join(REPO, "tests"))
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full_env,
        timeout=300,
    )


@pytest.fixture(scope="module")
def small_image(tmp_path_factory):
    from image_to_rig.devkit.sample import make_sample

    path = tmp_path_factory.mktemp("img") / "girl.png"
    cv2.imwrite(str(path), cv2.cvtColor(make_sample(256).image, cv2.COLOR_RGBA2BGRA))
    return str(path)


BACKEND_FLAGS = {
    "isnet_anime": ["--foreground", "isnet"],
    "anime_face_parts": ["--parts", "face_parts_unet"],
    "big_lama": ["--inpaint", "lama"],
}


@pytest.mark.parametrize("route", ["--model", "--models-dir", "IMAGE_TO_RIG_MODELS"])
@pytest.mark.parametrize("name", sorted(LOADERS))
def test_cli_refuses_hostile_weights_by_every_route(real, small_image, tmp_path, name, route):
    marker = tmp_path / "code-ran"
    models = tmp_path / "models"
    models.mkdir()
    evil = _hostile_checkpoint(real[name], str(models / MODELS[name].local_name), str(marker), legacy=True)
    args = ["rig", small_image, "--out", str(tmp_path / "out"), "--quiet"] + BACKEND_FLAGS[name]
    env = {"IMAGE_TO_RIG_MODELS": str(tmp_path / "elsewhere")}
    if route == "--model":
        args += ["--model", f"{name}={evil}"]
    elif route == "--models-dir":
        args += ["--models-dir", str(models)]
    else:
        env = {"IMAGE_TO_RIG_MODELS": str(models)}
    proc = _run_cli(*args, env=env, cwd=str(tmp_path))
    assert proc.returncode == 2, proc.stderr
    assert "does not load it" in proc.stderr and "--trust-this-file" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert not marker.exists(), "code from the weights file ran"
    assert not (tmp_path / "out").exists(), "nothing is written"


class TrainerState:
    """An object a training run pickled beside its weights (no weights_only allow-list has it)."""

    def __init__(self):
        self.best_score = 0.25
        self.callbacks = ["checkpoint"]


def test_convert_weights_needs_the_users_word_and_never_runs_code(real, tmp_path):
    src = tmp_path / "trained.ckpt"
    with tiny.omegaconf_names():
        data = tiny.load_tiny(real["big_lama"])
        data["trainer"] = TrainerState()
        torch.save(data, src, _use_new_zipfile_serialization=False)
    with pytest.raises(ModelLoadError, match="TrainerState"):
        load_lama(str(src))  # refused as it is

    out = tmp_path / "lama.safetensors"
    refused = _run_cli("convert-weights", str(src), str(out))
    assert refused.returncode == 2 and "--trust-this-file" in refused.stderr, refused.stderr
    assert not out.exists()
    done = _run_cli("convert-weights", str(src), str(out), "--trust-this-file")
    assert done.returncode == 0, done.stderr
    assert "which you said you trust" in done.stderr
    model = load_lama(str(out))  # the converted weights load like the original
    original = load_lama(real["big_lama"])
    for (k, a), (_, b) in zip(model.state_dict().items(), original.state_dict().items()):
        assert torch.equal(a, b), k
    bad = _run_cli("convert-weights", str(src), str(tmp_path / "x.bin"), "--trust-this-file")
    assert bad.returncode == 2 and ".safetensors" in bad.stderr


@pytest.mark.parametrize("legacy", [True, False], ids=["legacy-format", "zip-format"])
def test_convert_weights_refuses_a_file_that_calls_the_system(real, tmp_path, legacy):
    marker = tmp_path / "code-ran"
    evil = _hostile_checkpoint(real["isnet_anime"], str(tmp_path / "evil.ckpt"), str(marker), legacy)
    out = tmp_path / "isnet.safetensors"
    proc = _run_cli("convert-weights", evil, str(out), "--trust-this-file")
    assert proc.returncode == 2, proc.stderr
    assert "cannot be converted" in proc.stderr and "system" in proc.stderr, proc.stderr
    assert not marker.exists(), "code from the weights file ran"
    assert not out.exists()


def test_stable_diffusion_folder_with_pickled_weights_is_refused(tmp_path, monkeypatch):
    pytest.importorskip("diffusers")
    if tiny.clip_vocab_gz() is None:
        pytest.skip("open-clip-torch (the CLIP vocabulary) is not installed")
    from image_to_rig.core.backends.sd_inpaint import load_sd_inpaint

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    folder = tmp_path / "sd"
    tiny.save_tiny_sd_inpaint(str(folder))
    marker = tmp_path / "code-ran"
    for st in folder.rglob("*.safetensors"):  # the same pipeline with pickled weights
        torch.save({"payload": _Payload(str(marker))}, st.with_suffix(".bin"))
        st.unlink()
    with pytest.raises(ModelLoadError, match="could not be loaded"):
        load_sd_inpaint(str(folder), "cpu")
    assert not marker.exists(), "code from a pickled diffusers weights file ran"
