# SPDX-License-Identifier: GPL-3.0-or-later
"""Render the everyday Blender features to PNGs to look at (headless, EEVEE):

    .venv/bin/python scripts/render_blender_ux.py [OUT_DIR]    (default out/ux)

01_built.png        the sample right after Image to Rig (Idle, frame 1)
02_pose_f30.png     Pose from Sliders (head turned, mouth open), rendered at frame 30
03_no_motion.png    No Motion, a slider set, rendered at frame 45
04_replaced.png     after running Image to Rig again with Replace
05_round_trip.png   after the exported PSD's shirt was repainted red and rigged again
"""

import os
import sys

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests"))
import conftest  # noqa: E402,F401  (registers the checkout as image_to_rig)

import bpy  # noqa: E402

from blender_support import ensure_addon_registered, reset_blender  # noqa: E402


def render(path, frame):
    from image_to_rig.scene.compat import eevee_engine

    scene = bpy.context.scene
    scene.render.engine = eevee_engine()
    scene.frame_set(frame)
    scene.render.filepath = path
    bpy.ops.render.render(write_still=True)
    print("wrote", path)


def main():
    out = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "out", "ux"))
    os.makedirs(out, exist_ok=True)
    from image_to_rig.devkit.sample import write_sample_png
    from image_to_rig.scene.keys import find_rig

    png = write_sample_png(os.path.join(out, "sample.png"), 512)
    reset_blender()
    ensure_addon_registered()
    bpy.ops.image_to_rig.generate(filepath=png)
    rig = find_rig(bpy.data.collections["sample"])
    render(os.path.join(out, "01_built.png"), 1)
    rig["ParamAngleX"], rig["ParamAngleZ"], rig["ParamMouthOpenY"] = 30.0, 15.0, 1.0
    bpy.ops.image_to_rig.pose_from_sliders()
    render(os.path.join(out, "02_pose_f30.png"), 30)
    bpy.ops.image_to_rig.no_motion()
    rig["ParamAngleX"], rig["ParamAngleZ"], rig["ParamMouthOpenY"] = -30.0, -15.0, 0.0
    rig["ParamEyeLOpen"] = rig["ParamEyeROpen"] = 0.0
    render(os.path.join(out, "03_no_motion.png"), 45)
    bpy.ops.image_to_rig.generate(filepath=png)
    print("status:", bpy.context.scene.image_to_rig.status)
    render(os.path.join(out, "04_replaced.png"), 45)
    export = os.path.join(out, "export")
    bpy.ops.image_to_rig.export(directory=export)
    from PIL import Image
    from psd_tools import PSDImage
    from psd_tools.api.layers import PixelLayer

    psd = PSDImage.open(os.path.join(export, "sample.psd"))
    shirt = next(l for l in psd.descendants() if l.name == "topwear")
    px = np.asarray(shirt.topil().convert("RGBA")).copy()
    px[..., :3] = np.where(px[..., 3:] > 0, [200, 40, 40], px[..., :3])
    fixed = PixelLayer.frompil(Image.fromarray(px), psd, shirt.name, shirt.top, shirt.left)
    shirt.parent.insert(shirt.parent.index(shirt), fixed)
    shirt.parent.remove(shirt)
    fixed_path = os.path.join(out, "sample_fixed.psd")
    psd.save(fixed_path)
    bpy.ops.image_to_rig.generate(filepath=fixed_path)
    print("status:", bpy.context.scene.image_to_rig.status)
    print(
        "rigs:",
        [o.name for o in bpy.data.objects if o.type == "ARMATURE"],
        "cameras:",
        [o.name for o in bpy.data.objects if o.type == "CAMERA"],
        "collections:",
        [c.name for c in bpy.data.collections],
    )
    render(os.path.join(out, "05_round_trip.png"), 45)
    PSDImage.open(os.path.join(export, "sample.psd")).topil().save(os.path.join(out, "06_psd_preview.png"))


if __name__ == "__main__":
    main()
