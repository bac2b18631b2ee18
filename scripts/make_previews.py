# SPDX-License-Identifier: GPL-3.0-or-later
"""Render an exported model at a few telling poses, plus one contact sheet.

python scripts/make_previews.py out/web/model.json out/previews
"""

import os
import sys

import cv2
import numpy as np

from image_to_rig.core.runtime.render import Renderer
from image_to_rig.core.formats.model_json import load_model

POSES = {
    "default": {},
    "mouth_open": {"ParamMouthOpenY": 1.0},
    "eyes_closed": {"ParamEyeLOpen": 0.0, "ParamEyeROpen": 0.0},
    "head_turned": {"ParamAngleX": 30.0, "ParamAngleY": 10.0},
    "head_tilted": {"ParamAngleZ": 20.0, "ParamBodyAngleX": 10.0},
    "smile_look": {"ParamMouthForm": 1.0, "ParamEyeBallX": 1.0, "ParamEyeBallY": 0.5},
}


def main(model_path: str, out_dir: str, tile: int = 384) -> None:
    doc = load_model(model_path)
    renderer = Renderer(doc)
    os.makedirs(out_dir, exist_ok=True)
    tiles = []
    for name, values in POSES.items():
        img = renderer.render(values, background=(255, 255, 255))
        cv2.imwrite(os.path.join(out_dir, f"{name}.png"), cv2.cvtColor(img, cv2.COLOR_RGBA2BGRA))
        scale = tile / max(img.shape[:2])
        small = cv2.resize(img[..., :3], None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        cv2.putText(small, name, (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (40, 40, 40), 2, cv2.LINE_AA)
        tiles.append(small)
    sheet = np.concatenate([np.concatenate(tiles[:3], axis=1), np.concatenate(tiles[3:], axis=1)], axis=0)
    cv2.imwrite(os.path.join(out_dir, "contact_sheet.png"), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    print(f"wrote {len(POSES)} poses and contact_sheet.png to {out_dir}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python scripts/make_previews.py MODEL_JSON OUT_DIR")
    main(sys.argv[1], sys.argv[2])
