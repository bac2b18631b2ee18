# SPDX-License-Identifier: GPL-3.0-or-later
"""Tiny random-weight models saved in the ORIGINAL checkpoint layouts.

For the tests and the benchmark: the same key names and file formats as the
published weights (a Lightning checkpoint for ISNet, a DataParallel state dict
for the face-parts UNet, a Lightning checkpoint with a pickled OmegaConf
training config for big-lama, a diffusers `save_pretrained` folder for SD inpainting), only
with small channel widths, so the real loading code is exercised end to end.
Outputs are noise: these models check plumbing, not quality.
"""

from __future__ import annotations

import contextlib
import gzip
import importlib.util
import json
import os
import sys
import types
import typing

TINY_ISNET_WIDTHS = {
    name: (4, 8)
    for name in (
        "stage1",
        "stage2",
        "stage3",
        "stage4",
        "stage5",
        "stage6",
        "stage5d",
        "stage4d",
        "stage3d",
        "stage2d",
        "stage1d",
    )
}


@contextlib.contextmanager
def omegaconf_names():
    """Classes that pickle under OmegaConf's names, as big-lama's training
    config does (an OmegaConf DictConfig of nodes with typing.Any metadata),
    from a stand-in module that exists only while saving: no omegaconf needed."""
    made = {}
    names = ("omegaconf", "omegaconf.dictconfig", "omegaconf.base", "omegaconf.nodes")
    if any(n in sys.modules for n in names):  # the real package: use it as it is
        raise RuntimeError("the tiny big-lama stand-in cannot be saved while omegaconf is imported")
    package = types.ModuleType("omegaconf")
    package.__path__ = []
    sys.modules["omegaconf"] = package
    for module_name, class_names in (
        ("omegaconf.dictconfig", ("DictConfig",)),
        ("omegaconf.base", ("ContainerMetadata",)),
        ("omegaconf.nodes", ("AnyNode",)),
    ):
        module = types.ModuleType(module_name)
        for name in class_names:
            setattr(module, name, type(name, (), {"__module__": module_name}))
            made[name] = getattr(module, name)
        sys.modules[module_name] = module
    try:
        yield made
    finally:
        for module_name in names:
            sys.modules.pop(module_name, None)


def load_tiny(path: str):
    """A checkpoint these helpers wrote, read back for a test to edit it, with
    `torch.load(weights_only=True)`: only the tiny big-lama's stand-in OmegaConf
    classes, `typing.Any` and `dict` (its config's metadata) are allow-listed.
    Use inside `omegaconf_names()` for a big-lama checkpoint."""
    import torch

    allowed = [
        getattr(sys.modules[m], n)
        for m, n in (
            ("omegaconf.dictconfig", "DictConfig"),
            ("omegaconf.base", "ContainerMetadata"),
            ("omegaconf.nodes", "AnyNode"),
        )
        if m in sys.modules
    ]
    with torch.serialization.safe_globals([*allowed, typing.Any, dict]):
        return torch.load(path, map_location="cpu", weights_only=True)


def _training_config(classes, values: dict):
    config = classes["DictConfig"]()
    meta = classes["ContainerMetadata"]()
    meta.__dict__.update(ref_type=typing.Any, object_type=dict, optional=True, key=None)
    nodes = {}
    for key, value in values.items():
        node = classes["AnyNode"]()
        node.__dict__.update(_val=value, _metadata=None)
        nodes[key] = node
    config.__dict__.update(_content=nodes, _metadata=meta, _parent=None)
    return config


def _randomise(model, seed: int):
    import torch

    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if t.dtype.is_floating_point:
                if name.endswith("running_var"):
                    t.copy_(torch.rand(t.shape, generator=g) + 0.5)
                elif name.endswith("running_mean"):
                    t.copy_(torch.randn(t.shape, generator=g) * 0.1)
                else:
                    t.copy_(torch.randn(t.shape, generator=g) * (0.5 / max(1, t[0].numel()) ** 0.5))
    return model


def save_tiny_isnet(path: str, seed: int = 0) -> str:
    import torch
    from ..core.backends.isnet import build_isnet

    model = _randomise(build_isnet(TINY_ISNET_WIDTHS, conv_in=8), seed)
    state = {"net." + k: v for k, v in model.state_dict().items()}
    state["gt_encoder.conv_in.conv.weight"] = torch.zeros(16, 1, 3, 3)  # training-only part
    torch.save(
        {
            "epoch": 3,
            "global_step": 1200,
            "pytorch-lightning_version": "1.9.4",
            "state_dict": state,
            "optimizer_states": [],
            "lr_schedulers": [],
        },
        path,
    )
    return path


def tiny_face_parts_specs():
    """(in, hidden, out, expands) of the 17 MobileNet-V2 blocks at tiny widths."""
    stem = 8
    table = ((1, 4, 1, 1), (2, 6, 2, 2), (2, 8, 3, 2), (2, 16, 4, 2), (2, 24, 3, 1), (2, 40, 3, 2))
    specs = [(3, stem, stem, None)]
    cin = stem
    for t, c, n, _ in table:
        for _ in range(n):
            hidden = cin * t
            specs.append((cin, hidden, c, t != 1))
            cin = c
    return specs


def save_tiny_face_parts(path: str, seed: int = 1) -> str:
    import torch
    from ..core.backends.face_parts import build_face_parts_unet

    model = _randomise(build_face_parts_unet(tiny_face_parts_specs()), seed)
    torch.save({"module." + k: v for k, v in model.state_dict().items()}, path)
    return path


def save_tiny_lama(path: str, seed: int = 2, ngf: int = 4, n_blocks: int = 2) -> str:
    import torch
    from ..core.backends.lama import build_lama

    model = _randomise(build_lama(ngf=ngf, n_blocks=n_blocks), seed)
    state = {"generator." + k: v for k, v in model.state_dict().items()}
    state["discriminator.model0.0.ffc.convl2l.weight"] = torch.zeros(4, 3, 3, 3)
    with omegaconf_names() as classes:
        config = _training_config(classes, {"kind": "ffc_resnet", "ngf": ngf})
        torch.save({"epoch": 40, "state_dict": state, "hyper_parameters": config}, path)
    return path


def clip_vocab_gz() -> str | None:
    """The CLIP BPE vocabulary that ships inside the open-clip-torch wheel (found
    without importing open_clip, which would need torchvision)."""
    found = importlib.util.find_spec("open_clip")
    if found is None or not found.submodule_search_locations:
        return None
    for folder in found.submodule_search_locations:
        path = os.path.join(folder, "bpe_simple_vocab_16e6.txt.gz")
        if os.path.isfile(path):
            return path
    return None


def _bytes_to_unicode():
    """CLIP's reversible byte -> printable character table."""
    bs = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def write_clip_tokenizer_files(folder: str, vocab_gz: str) -> None:
    """vocab.json + merges.txt (the Hugging Face CLIP tokenizer files) from the
    BPE merges list: 256 byte tokens, their end-of-word forms, the merges, and
    the two special tokens; 49408 entries like the real CLIP vocabulary."""
    with gzip.open(vocab_gz, "rt", encoding="utf-8") as fh:
        lines = fh.read().split("\n")
    merges = [tuple(m.split()) for m in lines[1 : 49152 - 256 - 2 + 1]]
    vocab = list(_bytes_to_unicode().values())
    vocab = vocab + [v + "</w>" for v in vocab]
    vocab += ["".join(m) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as fh:
        json.dump({tok: i for i, tok in enumerate(vocab)}, fh, ensure_ascii=False)
    with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as fh:
        fh.write("#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n")


def save_tiny_sd_inpaint(folder: str, seed: int = 3) -> str:
    """A tiny random StableDiffusionInpaintPipeline saved with save_pretrained."""
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionInpaintPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    vocab_gz = clip_vocab_gz()
    if vocab_gz is None:
        raise RuntimeError("the CLIP vocabulary of open-clip-torch is not installed")
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=(16, 32),
        layers_per_block=1,
        sample_size=16,
        in_channels=9,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=16,
        attention_head_dim=4,
        norm_num_groups=8,
    )
    # four blocks: latents at 1/8 of the image, as in SD 1.5 (two would put the VAE's
    # attention on a quarter-resolution grid: minutes at 512 px)
    vae = AutoencoderKL(
        block_out_channels=(8, 8, 16, 16),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        latent_channels=4,
        norm_num_groups=8,
        sample_size=64,
        layers_per_block=1,
    )
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            bos_token_id=49406,
            eos_token_id=49407,
            pad_token_id=49407,
            hidden_size=16,
            intermediate_size=32,
            num_attention_heads=2,
            num_hidden_layers=2,
            vocab_size=49408,
            max_position_embeddings=77,
            projection_dim=16,
        )
    )
    tok_dir = os.path.join(folder, "_tokenizer_src")
    write_clip_tokenizer_files(tok_dir, vocab_gz)
    tokenizer = CLIPTokenizer(
        os.path.join(tok_dir, "vocab.json"), os.path.join(tok_dir, "merges.txt"), model_max_length=77
    )
    scheduler = DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
    )
    pipe = StableDiffusionInpaintPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(folder, safe_serialization=True)
    import shutil

    shutil.rmtree(tok_dir, ignore_errors=True)
    return folder
