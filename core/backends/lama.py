# SPDX-License-Identifier: GPL-3.0-or-later
"""Inpainting: LaMa (big-lama), the fast Fourier-convolution ResNet generator.

Our implementation of the published generator (config "big-lama": 4 input
channels = RGB * (1 - mask) + mask, ngf 64, 3 stride-2 downsamplings, 18 FFC
ResNet blocks with 75 % global (spectral) channels, no LFU, 3 transposed-conv
upsamplings, sigmoid output).  Names follow the original `model.<i>...` layout
of `FFCResNetGenerator`, so the "generator." part of big-lama's
`models/best.ckpt` loads as is; ngf and the number of blocks are read from the
checkpoint.
"""

from __future__ import annotations


import numpy as np

from .base import InpaintBackend, ModelLoadError, Needs, fill_from_nearest
from .torch_util import load_into, load_tensors, shape_of, strip_prefix

LAYOUT = "LaMa (big-lama)"
N_DOWNSAMPLING = 3
GLOBAL_RATIO = 0.75
MAX_FEATURES = 1024


def build_lama(ngf: int = 64, n_blocks: int = 18, input_nc: int = 4, output_nc: int = 3):
    import torch
    from torch import nn

    class FourierUnit(nn.Module):
        """1x1 conv + BN + ReLU on the real/imaginary parts of the image's 2D FFT."""

        def __init__(self, cin, cout):
            super().__init__()
            self.conv_layer = nn.Conv2d(cin * 2, cout * 2, 1, bias=False)
            self.bn = nn.BatchNorm2d(cout * 2)
            self.relu = nn.ReLU(inplace=True)

        def forward(self, x):
            b, c, h, w = x.shape
            spec = torch.fft.rfftn(x.float(), dim=(-2, -1), norm="ortho")
            spec = torch.stack((spec.real, spec.imag), dim=2).reshape(b, c * 2, h, w // 2 + 1)
            spec = self.relu(self.bn(self.conv_layer(spec.to(x.dtype))))
            spec = spec.float().reshape(b, -1, 2, h, w // 2 + 1)
            spec = torch.complex(spec[:, :, 0], spec[:, :, 1])
            return torch.fft.irfftn(spec, s=(h, w), dim=(-2, -1), norm="ortho").to(x.dtype)

    class SpectralTransform(nn.Module):
        def __init__(self, cin, cout):
            super().__init__()
            self.conv1 = nn.Sequential(
                nn.Conv2d(cin, cout // 2, 1, bias=False), nn.BatchNorm2d(cout // 2), nn.ReLU(inplace=True)
            )
            self.fu = FourierUnit(cout // 2, cout // 2)
            self.conv2 = nn.Conv2d(cout // 2, cout, 1, bias=False)

        def forward(self, x):
            x = self.conv1(x)
            return self.conv2(x + self.fu(x))

    class FFC(nn.Module):
        """Local (conv) and global (spectral) branches with cross connections."""

        def __init__(self, cin, cout, k, ratio_in, ratio_out, stride=1, padding=0):
            super().__init__()
            in_g = int(cin * ratio_in)
            in_l = cin - in_g
            out_g = int(cout * ratio_out)
            out_l = cout - out_g
            self.ratio_out = ratio_out

            def conv(a, b):
                if a == 0 or b == 0:
                    return nn.Identity()
                return nn.Conv2d(a, b, k, stride, padding, bias=False, padding_mode="reflect")

            self.convl2l = conv(in_l, out_l)
            self.convl2g = conv(in_l, out_g)
            self.convg2l = conv(in_g, out_l)
            self.convg2g = nn.Identity() if in_g == 0 or out_g == 0 else SpectralTransform(in_g, out_g)
            self.has = (in_l > 0, in_g > 0, out_l > 0, out_g > 0)

        def forward(self, x):
            x_l, x_g = x if isinstance(x, tuple) else (x, None)
            in_l, in_g, out_l, out_g = self.has
            y_l = y_g = None
            if out_l:
                y_l = self.convl2l(x_l) if in_l else 0
                if in_g:
                    y_l = y_l + self.convg2l(x_g)
            if out_g:
                y_g = self.convl2g(x_l) if in_l else 0
                if in_g:
                    y_g = y_g + self.convg2g(x_g)
            return y_l, y_g

    class FFCBNAct(nn.Module):
        def __init__(self, cin, cout, k, ratio_in, ratio_out, stride=1, padding=0):
            super().__init__()
            self.ffc = FFC(cin, cout, k, ratio_in, ratio_out, stride, padding)
            out_g = int(cout * ratio_out)
            self.bn_l = nn.BatchNorm2d(cout - out_g) if ratio_out != 1 else nn.Identity()
            self.bn_g = nn.BatchNorm2d(out_g) if ratio_out != 0 else nn.Identity()
            self.act = nn.ReLU(inplace=True)

        def forward(self, x):
            y_l, y_g = self.ffc(x)
            y_l = self.act(self.bn_l(y_l)) if y_l is not None else None
            y_g = self.act(self.bn_g(y_g)) if y_g is not None else None
            return y_l, y_g

    class FFCResnetBlock(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.conv1 = FFCBNAct(dim, dim, 3, GLOBAL_RATIO, GLOBAL_RATIO, padding=1)
            self.conv2 = FFCBNAct(dim, dim, 3, GLOBAL_RATIO, GLOBAL_RATIO, padding=1)

        def forward(self, x):
            x_l, x_g = x
            y_l, y_g = self.conv2(self.conv1((x_l, x_g)))
            return x_l + y_l, x_g + y_g

    class ConcatTuple(nn.Module):
        def forward(self, x):
            x_l, x_g = x
            return x_l if x_g is None else torch.cat((x_l, x_g), 1)

    layers = [nn.ReflectionPad2d(3), FFCBNAct(input_nc, ngf, 7, 0, 0)]
    for i in range(N_DOWNSAMPLING):
        cin = min(MAX_FEATURES, ngf * 2**i)
        cout = min(MAX_FEATURES, ngf * 2 ** (i + 1))
        ratio_out = GLOBAL_RATIO if i == N_DOWNSAMPLING - 1 else 0
        layers.append(FFCBNAct(cin, cout, 3, 0, ratio_out, stride=2, padding=1))
    dim = min(MAX_FEATURES, ngf * 2**N_DOWNSAMPLING)
    layers += [FFCResnetBlock(dim) for _ in range(n_blocks)]
    layers.append(ConcatTuple())
    for i in range(N_DOWNSAMPLING):
        cin = min(MAX_FEATURES, ngf * 2 ** (N_DOWNSAMPLING - i))
        cout = min(MAX_FEATURES, ngf * 2 ** (N_DOWNSAMPLING - i) // 2)
        layers += [
            nn.ConvTranspose2d(cin, cout, 3, stride=2, padding=1, output_padding=1),
            nn.BatchNorm2d(cout),
            nn.ReLU(True),
        ]
    layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, 7), nn.Sigmoid()]

    class Generator(nn.Module):
        def __init__(self):
            super().__init__()
            self.model = nn.Sequential(*layers)

        def forward(self, x):
            h = x
            for layer in self.model:
                if isinstance(layer, FFCBNAct) and not isinstance(h, tuple):
                    h = layer((h, None))
                else:
                    h = layer(h)
            return h

    return Generator()


def config_from_checkpoint(tensors):
    ngf, input_nc = shape_of(tensors, "model.1.ffc.convl2l.weight", LAYOUT)[:2]
    n_blocks = 0
    while f"model.{5 + n_blocks}.conv1.ffc.convl2l.weight" in tensors:
        n_blocks += 1
    if n_blocks == 0:
        raise ModelLoadError(
            f"the checkpoint does not match the {LAYOUT} layout: it has no FFC "
            "ResNet blocks (model.5.conv1.ffc.convl2l.weight)"
        )
    return int(ngf), int(n_blocks), int(input_nc)


def load_lama(path: str):
    tensors = strip_prefix(load_tensors(path, "LaMa"), ("generator.",))
    ngf, n_blocks, input_nc = config_from_checkpoint(tensors)
    if input_nc != 4:
        raise ModelLoadError(
            f"the checkpoint does not match the {LAYOUT} layout: "
            f"model.1.ffc.convl2l.weight takes {input_nc} channels, expected 4 "
            "(RGB + mask)"
        )
    return load_into(build_lama(ngf, n_blocks), tensors, LAYOUT)


class LamaInpaint(InpaintBackend):
    name = "lama"
    label = "LaMa (fast)"
    needs = Needs(packages=("torch",), model="big_lama", gpu="optional")
    load_weights = staticmethod(load_lama)

    _cache: dict[tuple, object] = {}

    def _model(self):
        from .torch_util import cached_model

        return cached_model(self._cache, self.model_path(), self.settings.get("device", "auto"), load_lama)

    def paint(self, rgba, hole, prompt, seed, steps, strength):
        import torch
        import torch.nn.functional as F

        self.require_available()
        model, device = self._model()
        known = (rgba[..., 3] > 0) & ~hole
        rgb = fill_from_nearest(rgba[..., :3], known) if known.any() else rgba[..., :3]
        h, w = hole.shape
        img = torch.from_numpy(rgb.astype(np.float32).transpose(2, 0, 1)[None] / 255.0).to(device)
        mask = torch.from_numpy(hole.astype(np.float32)[None, None]).to(device)
        pad_h, pad_w = (-h) % 8, (-w) % 8
        if pad_h or pad_w:  # the generator needs sides divisible by 2 ** 3
            mode = "reflect" if min(h, w) > max(pad_h, pad_w) else "replicate"
            img = F.pad(img, (0, pad_w, 0, pad_h), mode=mode)
            mask = F.pad(mask, (0, pad_w, 0, pad_h), mode="replicate")
        with torch.inference_mode():
            out = model(torch.cat((img * (1 - mask), mask), 1))
        out = out[0, :, :h, :w].clamp(0, 1).mul(255).round().byte().cpu().numpy().transpose(1, 2, 0)
        return np.ascontiguousarray(out)
