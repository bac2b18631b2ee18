# SPDX-License-Identifier: GPL-3.0-or-later
"""Foreground: the anime-segmentation ISNet (IS-Net / DIS) of SkyTNT.

Our own implementation of the published architecture: nested residual U-blocks
(RSU-7 ... RSU-4F) in a six-stage encoder-decoder; the first side output is the
character mask.  Module and parameter names follow the original layout so the
published Lightning checkpoint `isnetis.ckpt` (keys "net.conv_in.weight", ...;
its "gt_encoder.*" training-only keys are ignored) loads as is.

Channel widths are read from the checkpoint (the published model: conv_in 64,
stages 64/128/256/512/512/512), so small test models use the same code.
Inference follows the original: the image is letterboxed into a square of
`isnet_size` (1024) px, scaled to 0..1, and the sigmoid of side output 1 is
thresholded at 0.5.
"""

from __future__ import annotations


import cv2
import numpy as np

from .base import ForegroundBackend, Needs
from .torch_util import half_is_safe, load_into, load_tensors, shape_of, strip_prefix

LAYOUT = "ISNet"
# block kind per stage and the stages feeding each decoder stage
ENCODER = (("stage1", 7), ("stage2", 6), ("stage3", 5), ("stage4", 4), ("stage5", 0), ("stage6", 0))
DECODER = (("stage5d", 0), ("stage4d", 4), ("stage3d", 5), ("stage2d", 6), ("stage1d", 7))
DEFAULT_SIZE = 1024


def build_isnet(widths: dict[str, tuple[int, int]], conv_in: int, in_ch: int = 3, out_ch: int = 1):
    """The ISNet module with (mid, out) channels per stage (`widths`)."""
    import torch
    from torch import nn
    import torch.nn.functional as F

    def up_like(src, tar):
        return F.interpolate(src, size=tar.shape[2:], mode="bilinear", align_corners=False)

    class ConvBNReLU(nn.Module):  # "REBNCONV"
        def __init__(self, cin, cout, dilation=1):
            super().__init__()
            self.conv_s1 = nn.Conv2d(cin, cout, 3, padding=dilation, dilation=dilation)
            self.bn_s1 = nn.BatchNorm2d(cout)
            self.relu_s1 = nn.ReLU(inplace=True)

        def forward(self, x):
            return self.relu_s1(self.bn_s1(self.conv_s1(x)))

    class ResidualUBlock(nn.Module):
        """RSU-L: a small U-Net of depth L inside a residual connection (L = 4..7);
        L = 0 is RSU-4F, which dilates instead of pooling."""

        def __init__(self, depth, cin, mid, cout):
            super().__init__()
            self.depth = depth
            self.rebnconvin = ConvBNReLU(cin, cout)
            if depth == 0:  # RSU-4F
                self.rebnconv1 = ConvBNReLU(cout, mid)
                self.rebnconv2 = ConvBNReLU(mid, mid, 2)
                self.rebnconv3 = ConvBNReLU(mid, mid, 4)
                self.rebnconv4 = ConvBNReLU(mid, mid, 8)
                self.rebnconv3d = ConvBNReLU(mid * 2, mid, 4)
                self.rebnconv2d = ConvBNReLU(mid * 2, mid, 2)
                self.rebnconv1d = ConvBNReLU(mid * 2, cout)
                return
            self.rebnconv1 = ConvBNReLU(cout, mid)
            for i in range(2, depth):
                setattr(self, f"rebnconv{i}", ConvBNReLU(mid, mid))
            setattr(self, f"rebnconv{depth}", ConvBNReLU(mid, mid, 2))
            for i in range(depth - 1, 1, -1):
                setattr(self, f"rebnconv{i}d", ConvBNReLU(mid * 2, mid))
            self.rebnconv1d = ConvBNReLU(mid * 2, cout)
            self.pool = nn.MaxPool2d(2, stride=2, ceil_mode=True)

        def forward(self, x):
            xin = self.rebnconvin(x)
            if self.depth == 0:
                x1 = self.rebnconv1(xin)
                x2 = self.rebnconv2(x1)
                x3 = self.rebnconv3(x2)
                x4 = self.rebnconv4(x3)
                x3d = self.rebnconv3d(torch.cat((x4, x3), 1))
                x2d = self.rebnconv2d(torch.cat((x3d, x2), 1))
                return self.rebnconv1d(torch.cat((x2d, x1), 1)) + xin
            depth = self.depth
            feats = [self.rebnconv1(xin)]
            h = feats[0]
            for i in range(2, depth):
                h = getattr(self, f"rebnconv{i}")(self.pool(h))
                feats.append(h)
            h = getattr(self, f"rebnconv{depth}")(h)  # dilated bottom, same size
            for i in range(depth - 1, 1, -1):
                h = getattr(self, f"rebnconv{i}d")(torch.cat((h, feats[i - 1]), 1))
                h = up_like(h, feats[i - 2])
            return self.rebnconv1d(torch.cat((h, feats[0]), 1)) + xin

    class ISNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv_in = nn.Conv2d(in_ch, conv_in, 3, stride=2, padding=1)
            self.pool_in = nn.MaxPool2d(2, stride=2, ceil_mode=True)
            cin = conv_in
            enc_out = {}
            for name, depth in ENCODER:
                mid, cout = widths[name]
                setattr(self, name, ResidualUBlock(depth, cin, mid, cout))
                enc_out[name] = cout
                cin = cout
            for i in range(1, 6):
                setattr(self, f"pool{i}{i + 1}", nn.MaxPool2d(2, stride=2, ceil_mode=True))
            below = enc_out["stage6"]
            dec_out = {}
            for name, depth in DECODER:
                skip = enc_out[name[:-1]]
                mid, cout = widths[name]
                setattr(self, name, ResidualUBlock(depth, below + skip, mid, cout))
                dec_out[name] = cout
                below = cout
            side_in = [
                dec_out["stage1d"],
                dec_out["stage2d"],
                dec_out["stage3d"],
                dec_out["stage4d"],
                dec_out["stage5d"],
                enc_out["stage6"],
            ]
            for i, c in enumerate(side_in, 1):
                setattr(self, f"side{i}", nn.Conv2d(c, out_ch, 3, padding=1))

        def forward(self, x):
            hxin = self.conv_in(x)
            # (the original computes pool_in but feeds stage1 the unpooled features)
            enc = []
            h = hxin
            for i, (name, _) in enumerate(ENCODER):
                h = getattr(self, name)(h)
                enc.append(h)
                if i < 5:
                    h = getattr(self, f"pool{i + 1}{i + 2}")(h)
            h = up_like(enc[5], enc[4])
            for j, (name, _) in enumerate(DECODER):
                skip = enc[4 - j]
                h = getattr(self, name)(torch.cat((h, skip), 1))
                if j < 4:
                    h = up_like(h, enc[3 - j])
            return up_like(self.side1(h), x)  # logits of the finest side output

    return ISNet()


def widths_from_checkpoint(tensors) -> tuple[dict[str, tuple[int, int]], int, int]:
    widths = {}
    for name, _ in ENCODER + DECODER:
        out_ch = shape_of(tensors, f"{name}.rebnconvin.conv_s1.weight", LAYOUT)[0]
        mid = shape_of(tensors, f"{name}.rebnconv1.conv_s1.weight", LAYOUT)[0]
        widths[name] = (int(mid), int(out_ch))
    conv_in = int(shape_of(tensors, "conv_in.weight", LAYOUT)[0])
    return widths, conv_in, 3


def load_isnet(path: str):
    """The ISNet module with the weights of `path` (eval mode, CPU)."""
    tensors = strip_prefix(load_tensors(path, "ISNet"), ("net.",))
    widths, conv_in, in_ch = widths_from_checkpoint(tensors)
    model = build_isnet(widths, conv_in, in_ch=in_ch)
    return load_into(model, tensors, LAYOUT)


def letterbox(rgb: np.ndarray, size: int, fill: float = 0.0):
    """`rgb` scaled to fit a size x size square, centred; returns (square, (y0, x0, h, w))."""
    h0, w0 = rgb.shape[:2]
    if h0 >= w0:
        h, w = size, max(1, int(round(size * w0 / h0)))
    else:
        h, w = max(1, int(round(size * h0 / w0))), size
    out = np.full((size, size, rgb.shape[2]), fill, np.float32)
    y0, x0 = (size - h) // 2, (size - w) // 2
    out[y0 : y0 + h, x0 : x0 + w] = cv2.resize(
        rgb, (w, h), interpolation=cv2.INTER_AREA if h < h0 else cv2.INTER_LINEAR
    ).astype(np.float32)
    return out, (y0, x0, h, w)


class ISNetForeground(ForegroundBackend):
    name = "isnet"
    label = "ISNet anime segmentation"
    needs = Needs(packages=("torch",), model="isnet_anime", gpu="optional")
    load_weights = staticmethod(load_isnet)

    _cache: dict[tuple, object] = {}

    def _model(self):
        from .torch_util import cached_model

        return cached_model(self._cache, self.model_path(), self.settings.get("device", "auto"), load_isnet)

    def probability(self, rgba: np.ndarray) -> np.ndarray:
        """(H, W) float32 character probability."""
        import torch
        from ..stages.landmarks import flatten_over_white

        self.require_available()
        model, device = self._model()
        size = int(self.settings.get("isnet_size", DEFAULT_SIZE))
        rgb = flatten_over_white(rgba) if rgba.shape[2] == 4 else rgba
        square, (y0, x0, h, w) = letterbox(rgb.astype(np.float32) / 255.0, size)
        x = torch.from_numpy(square.transpose(2, 0, 1)[None].copy()).to(device)
        with torch.inference_mode():
            if half_is_safe(device):
                with torch.autocast("cuda", dtype=torch.float16):
                    logits = model(x)
            else:
                logits = model(x)
        prob = torch.sigmoid(logits.float())[0, 0, y0 : y0 + h, x0 : x0 + w].cpu().numpy()
        return cv2.resize(prob, (rgba.shape[1], rgba.shape[0]), interpolation=cv2.INTER_LINEAR)

    def segment(self, rgba: np.ndarray) -> np.ndarray:
        from ..stages.foreground import (
            ForegroundError,
            _keep_main_components,
            extract_foreground,
            has_meaningful_alpha,
        )

        if has_meaningful_alpha(rgba):  # the artist's own cut-out is exact
            return extract_foreground(rgba)
        mask = self.probability(rgba) >= 0.5
        mask = _keep_main_components(mask, fill_holes=False)
        if not mask.any():
            raise ForegroundError("ISNet found no character in the image")
        return mask
