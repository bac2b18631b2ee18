# SPDX-License-Identifier: GPL-3.0-or-later
"""The model backends: tiny random-weight ISNet, face-parts UNet, LaMa and SD
inpainting models saved in the ORIGINAL checkpoint layouts, loaded through the
real loading code, and the pipeline run end to end with each of them on CPU."""

import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from image_to_rig.core.backends import ModelLoadError  # noqa: E402
from image_to_rig.devkit.sample import write_sample_png  # noqa: E402
from image_to_rig.devkit import tiny_models as tiny  # noqa: E402
from image_to_rig.core.backends.face_parts import (
    build_face_parts_unet,  # noqa: E402
    load_face_parts_unet,
)
from image_to_rig.core.backends.isnet import build_isnet, load_isnet  # noqa: E402
from image_to_rig.core.backends.lama import build_lama, load_lama  # noqa: E402

PUBLISHED_ISNET = {
    "stage1": (32, 64),
    "stage2": (32, 128),
    "stage3": (64, 256),
    "stage4": (128, 512),
    "stage5": (256, 512),
    "stage6": (256, 512),
    "stage5d": (256, 512),
    "stage4d": (128, 256),
    "stage3d": (64, 128),
    "stage2d": (32, 64),
    "stage1d": (16, 64),
}


def _published_face_parts_specs():
    table = ((1, 16, 1), (6, 24, 2), (6, 32, 3), (6, 64, 4), (6, 96, 3), (6, 160, 3))
    specs, cin = [(3, 32, 32, None)], 32
    for t, c, n in table:
        for _ in range(n):
            specs.append((cin, cin * t, c, t != 1))
            cin = c
    return specs


def test_published_layouts_have_the_original_names_and_sizes():
    isnet = build_isnet(PUBLISHED_ISNET, conv_in=64).state_dict()
    assert tuple(isnet["conv_in.weight"].shape) == (64, 3, 3, 3)
    assert tuple(isnet["stage5d.rebnconvin.conv_s1.weight"].shape) == (512, 1024, 3, 3)
    assert tuple(isnet["stage1d.rebnconv7.conv_s1.weight"].shape) == (16, 16, 3, 3)
    assert tuple(isnet["side6.weight"].shape) == (1, 512, 3, 3)
    assert "stage4.rebnconv3d.bn_s1.running_var" in isnet
    count = sum(
        v.numel() for k, v in isnet.items() if not k.endswith("num_batches_tracked") and "running" not in k
    )
    assert 43.0e6 < count < 44.5e6  # the published ONNX export is 176,069,933 bytes of fp32
    parts = build_face_parts_unet(_published_face_parts_specs()).state_dict()
    assert tuple(parts["en_block0.0.0.weight"].shape) == (32, 3, 3, 3)
    assert tuple(parts["en_block0.1.conv.1.weight"].shape) == (16, 32, 1, 1)
    assert tuple(parts["en_block4.2.conv.2.weight"].shape) == (160, 960, 1, 1)
    assert tuple(parts["de_block4.1.weight"].shape) == (96, 160, 3, 3)
    assert tuple(parts["de_block0.1.weight"].shape) == (7, 32, 3, 3)
    lama = build_lama(64, 18).state_dict()
    assert tuple(lama["model.1.ffc.convl2l.weight"].shape) == (64, 4, 7, 7)
    assert tuple(lama["model.4.ffc.convl2g.weight"].shape) == (384, 256, 3, 3)
    assert tuple(lama["model.5.conv1.ffc.convg2g.fu.conv_layer.weight"].shape) == (384, 384, 1, 1)
    assert tuple(lama["model.22.conv2.bn_g.running_mean"].shape) == (384,)
    assert tuple(lama["model.24.weight"].shape) == (512, 256, 3, 3)  # first ConvTranspose2d
    assert tuple(lama["model.34.weight"].shape) == (3, 64, 7, 7)
    count = sum(v.numel() for k, v in lama.items() if "running" not in k and "num_batches" not in k)
    assert 50e6 < count < 52e6  # the LaMa paper: Big LaMa has 51 M parameters


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    d = tmp_path_factory.mktemp("tiny-models")
    return {
        "isnet_anime": tiny.save_tiny_isnet(str(d / "isnetis.ckpt")),
        "anime_face_parts": tiny.save_tiny_face_parts(str(d / "UNet.pth")),
        "big_lama": tiny.save_tiny_lama(str(d / "best.ckpt")),
        "dir": d,
    }


def test_checkpoints_are_saved_in_the_original_layouts(tiny_models):
    isnet = torch.load(tiny_models["isnet_anime"], weights_only=True)
    assert "net.conv_in.weight" in isnet["state_dict"] and "pytorch-lightning_version" in isnet
    parts = torch.load(tiny_models["anime_face_parts"], weights_only=True)
    assert "module.en_block0.0.0.weight" in parts and "module.de_block0.1.bias" in parts
    with pytest.raises(Exception, match="weights_only|Unsupported global|TrainingConfig"):
        torch.load(tiny_models["big_lama"], weights_only=True)  # pickles a training config


def test_loaders_read_widths_and_run(tiny_models):
    isnet = load_isnet(tiny_models["isnet_anime"])
    assert isnet(torch.rand(1, 3, 128, 96)).shape == (1, 1, 128, 96)
    parts = load_face_parts_unet(tiny_models["anime_face_parts"])
    prob = parts(torch.rand(1, 3, 128, 128))
    assert prob.shape == (1, 7, 128, 128)
    assert torch.allclose(prob.sum(1), torch.ones(1, 128, 128), atol=1e-4)
    lama = load_lama(tiny_models["big_lama"])  # via the stub unpickler: no code runs
    with torch.no_grad():
        out = lama(torch.rand(1, 4, 64, 80))
    assert out.shape == (1, 3, 64, 80) and 0 <= float(out.min()) and float(out.max()) <= 1


def _resave(path, out, edit):
    data = tiny.load_tiny(path)
    state = data["state_dict"] if "state_dict" in data else data
    edit(state)
    torch.save(data, out)
    return out


def test_bad_checkpoints_give_clear_errors(tiny_models, tmp_path):
    src = tiny_models["isnet_anime"]
    wrong = _resave(
        src,
        str(tmp_path / "wrong.ckpt"),
        lambda s: s.__setitem__("net.conv_in.weight", torch.zeros(8, 4, 3, 3)),
    )
    with pytest.raises(
        ModelLoadError,
        match=r"does not match the ISNet layout: conv_in.weight has "
        r"shape \[8, 4, 3, 3\], expected \[8, 3, 3, 3\]",
    ):
        load_isnet(wrong)
    missing = _resave(src, str(tmp_path / "missing.ckpt"), lambda s: s.pop("net.side1.bias"))
    with pytest.raises(ModelLoadError, match="ISNet layout: it lacks side1.bias"):
        load_isnet(missing)
    inner = _resave(
        src,
        str(tmp_path / "inner.ckpt"),
        lambda s: s.__setitem__("net.stage3.rebnconv2.conv_s1.weight", torch.zeros(4, 5, 3, 3)),
    )
    with pytest.raises(ModelLoadError, match=r"stage3.rebnconv2.conv_s1.weight has shape \[4, 5, 3, 3\]"):
        load_isnet(inner)
    parts = _resave(
        tiny_models["anime_face_parts"],
        str(tmp_path / "p.pth"),
        lambda s: s.__setitem__("module.de_block0.1.weight", torch.zeros(5, 16, 3, 3)),
    )
    with pytest.raises(ModelLoadError, match="predicts 5 classes, expected 7"):
        load_face_parts_unet(parts)
    garbage = tmp_path / "garbage.ckpt"
    garbage.write_bytes(os.urandom(4096))
    for loader in (load_isnet, load_lama, load_face_parts_unet):
        with pytest.raises(ModelLoadError, match="corrupted"):
            loader(str(garbage))
    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes(open(src, "rb").read()[:20000])
    with pytest.raises(ModelLoadError, match="corrupted"):
        load_isnet(str(truncated))
    empty = tmp_path / "empty.safetensors"
    empty.write_bytes(b"")
    with pytest.raises(ModelLoadError, match="is empty"):
        load_isnet(str(empty))
    bad_st = tmp_path / "bad.safetensors"
    bad_st.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}")
    with pytest.raises(ModelLoadError, match="corrupted"):
        load_lama(str(bad_st))
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_isnet(str(tmp_path / "absent.ckpt"))


def test_safetensors_weights_load(tiny_models, tmp_path):
    from safetensors.torch import save_file

    data = torch.load(tiny_models["isnet_anime"], weights_only=True)["state_dict"]
    path = str(tmp_path / "isnet.safetensors")
    save_file({k: v.contiguous() for k, v in data.items()}, path)
    a, b = load_isnet(path), load_isnet(tiny_models["isnet_anime"])
    x = torch.rand(1, 3, 64, 64)
    assert torch.equal(a(x), b(x))


@pytest.fixture(scope="module")
def sample_path(tmp_path_factory):
    return write_sample_png(str(tmp_path_factory.mktemp("sample") / "sample.png"), 384)


@pytest.fixture(scope="module")
def builtin_result(sample_path):
    from image_to_rig.core.pipeline import run_pipeline

    return run_pipeline(sample_path)


def _settings(tiny_models, **more):
    paths = {k: v for k, v in tiny_models.items() if k != "dir"}
    return dict(model_paths=paths, device="cpu", isnet_size=256, parts_size=256, sd_size=64, steps=2, **more)


def test_pipeline_with_isnet_foreground(tiny_models, sample_path, tmp_path):
    from image_to_rig.core.backends.isnet import ISNetForeground
    from image_to_rig.core.pipeline import PipelineOptions, run_pipeline

    # random weights give noise; this tiny model is made to call everything "character"
    everything = _resave(
        tiny_models["isnet_anime"],
        str(tmp_path / "all.ckpt"),
        lambda s: (s["net.side1.weight"].zero_(), s["net.side1.bias"].fill_(8.0)),
    )
    models = dict(tiny_models, isnet_anime=everything)
    backend = ISNetForeground(_settings(models))
    from image_to_rig.core.formats.image_in import load_image

    assert backend.segment(load_image(sample_path).rgba).all()
    result = run_pipeline(
        sample_path, PipelineOptions(foreground_backend="isnet", backend_settings=_settings(models))
    )
    result.doc.validate()
    assert {"face", "front-hair"} <= {l.id for l in result.doc.layers}


def test_pipeline_with_the_parts_model(tiny_models, sample_path, builtin_result):
    from image_to_rig.core.pipeline import PipelineOptions, run_pipeline

    result = run_pipeline(
        sample_path, PipelineOptions(parts_backend="face_parts_unet", backend_settings=_settings(tiny_models))
    )
    result.doc.validate()

    def sizes(res):
        return {l.id: int((l.image[..., 3] > 0).sum()) for l in res.doc.layers}

    ai, builtin = sizes(result), sizes(builtin_result)
    fine = [k for k in builtin if k.startswith(("eyewhite", "irides", "eyebrow", "mouth"))]
    assert all(ai[k] == builtin[k] for k in fine)  # landmark parts untouched
    coarse = [k for k in builtin if k in ("face", "topwear", "front-hair", "back-hair", "neck")]
    assert any(ai.get(k) != builtin[k] for k in coarse)  # the (random) model moved pixels


class _Recording:
    """Wraps an inpainting backend and checks every call's contract."""

    def __init__(self, backend):
        self.backend, self.calls = backend, 0
        self.original = backend.inpaint

    def __call__(self, rgba, hole, **kw):
        out = self.original(rgba, hole, **kw)
        assert np.array_equal(out[~hole], rgba[~hole]), "a visible pixel changed"
        assert kw["prompt"] and kw["steps"] == 2
        self.calls += 1
        return out


@pytest.mark.parametrize("name", ["lama", "sd_inpaint"])
def test_pipeline_with_each_inpainting_model(name, tiny_models, sample_path, monkeypatch):
    from image_to_rig.core import backends
    from image_to_rig.core.pipeline import PipelineOptions, run_pipeline

    models = dict(tiny_models)
    if name == "sd_inpaint":
        if tiny.clip_vocab_gz() is None:
            pytest.skip("open-clip-torch (the CLIP vocabulary) is not installed")
        pytest.importorskip("diffusers")
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
        folder = tiny_models["dir"] / "sd-inpaint"
        if not folder.exists():
            tiny.save_tiny_sd_inpaint(str(folder))
        models["sd_inpaint"] = str(folder)
    made = {}
    real_make = backends.make_backend

    def make(stage, backend_name, settings=None):
        b = real_make(stage, backend_name, settings)
        if stage == "inpaint":
            made["rec"] = b.inpaint = _Recording(b)
        return b

    monkeypatch.setattr(backends, "make_backend", make)
    result = run_pipeline(
        sample_path,
        PipelineOptions(inpaint_backend=name, backend_settings=_settings(models, prompt="{tag}, anime")),
    )
    result.doc.validate()
    assert made["rec"].calls >= 3  # face, hair, neck ... each painted by the model
    assert {"face", "back-hair", "neck"} <= {l.id for l in result.doc.layers}


def test_sd_inpaint_folder_errors(tmp_path):
    pytest.importorskip("diffusers")
    from image_to_rig.core.backends.sd_inpaint import load_sd_inpaint

    with pytest.raises(ModelLoadError, match="does not exist"):
        load_sd_inpaint(str(tmp_path / "none"), "cpu")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError, match="no model_index.json"):
        load_sd_inpaint(str(tmp_path / "empty"), "cpu")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model_index.json").write_text(
        '{"_class_name": "StableDiffusionInpaintPipeline", "unet": ["diffusers", "UNet2DConditionModel"]}'
    )
    with pytest.raises(ModelLoadError, match="could not be loaded"):
        load_sd_inpaint(str(broken), "cpu")


def test_a_loaded_model_is_reused_until_its_file_changes(tiny_models, tmp_path):
    from image_to_rig.core.backends.lama import LamaInpaint

    path = tiny.save_tiny_lama(str(tmp_path / "best.ckpt"), seed=5)
    backend = LamaInpaint({"model_paths": {"big_lama": path}, "device": "cpu"})
    first, _ = backend._model()
    assert backend._model()[0] is first  # no second load (a worker keeps it between jobs)
    os.utime(path, ns=(1, 1))  # the file was replaced
    assert LamaInpaint({"model_paths": {"big_lama": path}, "device": "cpu"})._model()[0] is not first
