# SPDX-License-Identifier: GPL-3.0-or-later
"""Parts: the anime face-parts UNet of Anime-Face-Segmentation (siyeong0).

Our implementation of its architecture: a MobileNet-V2 encoder (the first 17
feature blocks, grouped as en_block0..4 at 1/2 .. 1/32 resolution) and a
decoder of nearest-upsample + conv + instance norm + leaky ReLU blocks with
skip connections, ending in a softmax over 7 classes (PART_CLASSES).  Names
follow the original so its `UNet.pth` (optionally with "module." prefixes)
loads as is; widths and expansion ratios are read from the checkpoint.

Input: RGB scaled to 0..1 (no mean/std normalisation), 512 px square.
"""

from __future__ import annotations


import cv2
import numpy as np

from .base import PART_CLASSES, Needs, PartsBackend
from .isnet import letterbox
from .torch_util import load_into, load_tensors, shape_of, strip_prefix

LAYOUT = "anime face-parts UNet"
# MobileNet-V2 feature blocks 0..16 as (stride, is the stem conv) and their encoder group
MOBILENET_STRIDES = (2, 1, 2, 1, 2, 1, 1, 2, 1, 1, 1, 1, 1, 1, 2, 1, 1)
GROUPS = ((0, 1), (2, 3), (4, 5, 6), (7, 8, 9, 10, 11, 12, 13), (14, 15, 16))
DEFAULT_SIZE = 512


def _block_spec(tensors, group: int, pos: int, index: int):
    """(in, hidden, out, expands) of MobileNet feature block `index` inside
    en_block<group> position <pos>, from the checkpoint's shapes."""
    p = f"en_block{group}.{pos}"
    if index == 0:
        out_ch, in_ch = shape_of(tensors, f"{p}.0.weight", LAYOUT)[:2]
        return int(in_ch), int(out_ch), int(out_ch), None
    if f"{p}.conv.3.weight" in tensors or f"{p}.conv.3.running_mean" in tensors:  # expand, dw, project
        hidden, in_ch = shape_of(tensors, f"{p}.conv.0.0.weight", LAYOUT)[:2]
        out_ch = shape_of(tensors, f"{p}.conv.2.weight", LAYOUT)[0]
        return int(in_ch), int(hidden), int(out_ch), True
    hidden = shape_of(tensors, f"{p}.conv.0.0.weight", LAYOUT)[0]  # dw, project
    out_ch = shape_of(tensors, f"{p}.conv.1.weight", LAYOUT)[0]
    return int(hidden), int(hidden), int(out_ch), False


def build_face_parts_unet(specs: list[tuple[int, int, int, object]], num_classes: int = 7):
    """specs[i] = (in, hidden, out, expands) of MobileNet feature block i (0..16)."""
    import torch
    from torch import nn
    import torch.nn.functional as F

    class ConvBNReLU6(nn.Sequential):
        def __init__(self, cin, cout, k=3, stride=1, groups=1):
            super().__init__(
                nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False),
                nn.BatchNorm2d(cout),
                nn.ReLU6(inplace=True),
            )

    class InvertedResidual(nn.Module):
        def __init__(self, cin, hidden, cout, stride, expands):
            super().__init__()
            layers = []
            if expands:
                layers.append(ConvBNReLU6(cin, hidden, 1))
            layers += [
                ConvBNReLU6(hidden, hidden, 3, stride, groups=hidden),
                nn.Conv2d(hidden, cout, 1, bias=False),
                nn.BatchNorm2d(cout),
            ]
            self.conv = nn.Sequential(*layers)
            self.residual = stride == 1 and cin == cout

        def forward(self, x):
            return x + self.conv(x) if self.residual else self.conv(x)

    def feature_block(i):
        cin, hidden, cout, expands = specs[i]
        if i == 0:
            return ConvBNReLU6(cin, cout, 3, MOBILENET_STRIDES[0])
        return InvertedResidual(cin, hidden, cout, MOBILENET_STRIDES[i], expands)

    def decoder_block(cin, cout, last=False):
        if last:
            return nn.Sequential(
                nn.UpsamplingNearest2d(scale_factor=2), nn.Conv2d(cin, cout, 3, padding=1), nn.Softmax(dim=1)
            )
        return nn.Sequential(
            nn.UpsamplingNearest2d(scale_factor=2),
            nn.Conv2d(cin, cout, 3, padding=1),
            nn.InstanceNorm2d(cout),
            nn.LeakyReLU(0.1),
            nn.Dropout(p=0.2),
        )

    class FacePartsUNet(nn.Module):
        def __init__(self):
            super().__init__()
            outs = []
            for g, idxs in enumerate(GROUPS):
                setattr(self, f"en_block{g}", nn.Sequential(*[feature_block(i) for i in idxs]))
                outs.append(specs[idxs[-1]][2])
            self.de_block4 = decoder_block(outs[4], outs[3])
            self.de_block3 = decoder_block(outs[3] * 2, outs[2])
            self.de_block2 = decoder_block(outs[2] * 2, outs[1])
            self.de_block1 = decoder_block(outs[1] * 2, outs[0])
            self.de_block0 = decoder_block(outs[0] * 2, num_classes, last=True)

        def forward(self, x):
            e = [x]
            for g in range(5):
                e.append(getattr(self, f"en_block{g}")(e[-1]))
            e0, e1, e2, e3, e4 = e[1:]

            def up(d, like):
                return F.interpolate(d, size=like.shape[2:], mode="bilinear", align_corners=True)

            d = up(self.de_block4(e4), e3)
            d = up(self.de_block3(torch.cat((d, e3), 1)), e2)
            d = up(self.de_block2(torch.cat((d, e2), 1)), e1)
            d = up(self.de_block1(torch.cat((d, e1), 1)), e0)
            return self.de_block0(torch.cat((d, e0), 1))

    return FacePartsUNet()


def specs_from_checkpoint(tensors):
    specs = []
    for g, idxs in enumerate(GROUPS):
        for pos, i in enumerate(idxs):
            specs.append(_block_spec(tensors, g, pos, i))
    classes = int(shape_of(tensors, "de_block0.1.weight", LAYOUT)[0])
    return specs, classes


def load_face_parts_unet(path: str):
    tensors = strip_prefix(load_tensors(path, "face-parts UNet"), ("module.",))
    specs, classes = specs_from_checkpoint(tensors)
    if classes != len(PART_CLASSES):
        from .base import ModelLoadError

        raise ModelLoadError(
            f"the checkpoint does not match the {LAYOUT} layout: it predicts "
            f"{classes} classes, expected {len(PART_CLASSES)}"
        )
    return load_into(build_face_parts_unet(specs, classes), tensors, LAYOUT)


class AnimeFacePartsBackend(PartsBackend):
    name = "face_parts_unet"
    label = "Anime face-parts UNet"
    needs = Needs(packages=("torch",), model="anime_face_parts", gpu="optional")
    load_weights = staticmethod(load_face_parts_unet)

    _cache: dict[tuple, object] = {}

    def _model(self):
        from .torch_util import cached_model

        return cached_model(
            self._cache, self.model_path(), self.settings.get("device", "auto"), load_face_parts_unet
        )

    def probabilities(self, rgba: np.ndarray) -> np.ndarray:
        """(H, W, 7) class probabilities."""
        import torch
        from ..stages.landmarks import flatten_over_white

        self.require_available()
        model, device = self._model()
        size = int(self.settings.get("parts_size", DEFAULT_SIZE))
        rgb = flatten_over_white(rgba) if rgba.shape[2] == 4 else rgba
        square, (y0, x0, h, w) = letterbox(rgb.astype(np.float32) / 255.0, size, fill=1.0)
        x = torch.from_numpy(square.transpose(2, 0, 1)[None].copy()).to(device)
        with torch.inference_mode():
            prob = model(x)[0, :, y0 : y0 + h, x0 : x0 + w].float().cpu().numpy().transpose(1, 2, 0)
        return cv2.resize(
            np.ascontiguousarray(prob), (rgba.shape[1], rgba.shape[0]), interpolation=cv2.INTER_LINEAR
        )

    def segment(self, rgba: np.ndarray, mask: np.ndarray) -> np.ndarray:
        labels = np.argmax(self.probabilities(rgba), axis=2).astype(np.uint8)
        labels[~np.asarray(mask, bool)] = 0
        return labels
