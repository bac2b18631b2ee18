# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: every backend at 512 x 512, and how long the UI thread stalls.

    .venv/bin/python bench/bench_backends.py [--size 512] [--repeat 3] [--steps 10]
                                             [--full-size] [--no-modal]

1. Per backend (CPU, and CUDA when present): the first call (loading the
   weights included) and the median of warm calls, with the TINY random-weight
   models of devkit/tiny_models.py.  Real weights are far heavier (ISNet 44 M
   parameters run at 1024 px, big-lama 51 M, SD 1.5 inpainting ~1 B with 20+
   steps) and WILL BE MUCH SLOWER; `--full-size` adds ISNet, the face-parts UNet
   and big-lama at their published sizes (random weights, same cost as real).
2. The modal operator's main-thread stalls during one interactive run (the
   worker runs the pipeline; the operator is ticked every TIMER_STEP_S like
   Blender's timer would): the longest time inside one tick, the longest gap
   between ticks, and the final scene build, against the synchronous run that
   blocks the UI for the whole pipeline.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests"))
import conftest  # noqa: E402,F401  registers the package image_to_rig

import numpy as np  # noqa: E402


def _time(fn, repeat):
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    warm = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        warm.append(time.perf_counter() - t0)
    return first, statistics.median(warm)


def bench_backends(size: int, repeat: int, steps: int, full_size: bool):
    import torch
    from image_to_rig.core.backends import make_backend, tiny
    from image_to_rig.devkit.sample import make_sample

    folder = tempfile.mkdtemp(prefix="i2r-bench-")
    paths = {
        "isnet_anime": tiny.save_tiny_isnet(os.path.join(folder, "isnetis.ckpt")),
        "anime_face_parts": tiny.save_tiny_face_parts(os.path.join(folder, "UNet.pth")),
        "big_lama": tiny.save_tiny_lama(os.path.join(folder, "best.ckpt")),
    }
    if tiny.clip_vocab_gz() is not None:
        paths["sd_inpaint"] = tiny.save_tiny_sd_inpaint(os.path.join(folder, "sd"))
    rgba = make_sample(size).image
    mask = make_backend("foreground", "builtin").segment(rgba)
    hole = np.zeros(mask.shape, bool)
    hole[size // 4 : size // 2, size // 4 : 3 * size // 4] = True  # an eighth of the image
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    rows = []
    cases = [
        ("foreground", "builtin"),
        ("foreground", "isnet"),
        ("parts", "face_parts_unet"),
        ("inpaint", "builtin"),
        ("inpaint", "lama"),
        ("inpaint", "sd_inpaint"),
    ]
    for device in devices:
        settings = {
            "model_paths": paths,
            "device": device,
            "isnet_size": 1024,
            "parts_size": 512,
            "sd_size": size,
            "steps": steps,
        }
        for stage, name in cases:
            if name == "sd_inpaint" and "sd_inpaint" not in paths:
                continue
            if device != "cpu" and name == "builtin":
                continue
            backend = make_backend(stage, name, settings)
            for cls in type(backend).__mro__:  # a fresh load per device
                if isinstance(cls.__dict__.get("_cache"), dict):
                    cls.__dict__["_cache"].clear()
            if stage == "foreground" and name == "isnet":  # random weights find no one:
                fn = lambda b=backend: b.probability(rgba)  # noqa: E731  time the model itself
            elif stage == "foreground":
                fn = lambda b=backend: b.segment(rgba)  # noqa: E731
            elif stage == "parts":
                fn = lambda b=backend: b.segment(rgba, mask)  # noqa: E731
            else:
                fn = lambda b=backend: b.inpaint(
                    rgba,
                    hole,
                    prompt="face",
                    seed=0,  # noqa: E731
                    steps=steps,
                    strength=1.0,
                )
            first, warm = _time(fn, repeat)
            rows.append((stage, name, "tiny" if name != "builtin" else "-", device, first, warm))
    if full_size:
        from image_to_rig.core.backends.face_parts import build_face_parts_unet
        from image_to_rig.core.backends.isnet import build_isnet
        from image_to_rig.core.backends.lama import build_lama

        sys.path.insert(0, os.path.join(REPO, "tests"))
        from test_models_networks import PUBLISHED_ISNET, _published_face_parts_specs

        for device in devices:
            dev = torch.device(device)
            nets = [
                ("foreground", "isnet", build_isnet(PUBLISHED_ISNET, 64), (1, 3, 1024, 1024)),
                (
                    "parts",
                    "face_parts_unet",
                    build_face_parts_unet(_published_face_parts_specs()),
                    (1, 3, 512, 512),
                ),
                ("inpaint", "lama", build_lama(64, 18), (1, 4, size, size)),
            ]
            for stage, name, net, shape in nets:
                net = net.eval().to(dev)
                x = torch.rand(shape, device=dev)

                def run(net=net, x=x):
                    with torch.inference_mode():
                        net(x)
                    if dev.type == "cuda":
                        torch.cuda.synchronize()

                first, warm = _time(run, max(1, repeat // 2))
                rows.append((stage, name, "published size", device, first, warm))
    return rows


def bench_modal(size: int):
    """Main-thread stalls of one interactive run, and of the synchronous run."""
    os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp())
    import bpy
    from types import SimpleNamespace
    from blender_support import ensure_addon_registered, reset_blender
    from image_to_rig.devkit.sample import write_sample_png
    from image_to_rig.operators import generate

    reset_blender()
    ensure_addon_registered()
    path = write_sample_png(os.path.join(tempfile.mkdtemp(), "sample.png"), size)

    class Op:
        filepath = path

        def report(self, kind, message):
            pass

    for name in ("_start", "_show", "_stop", "_on_tick", "modal", "cancel"):
        setattr(Op, name, generate.IMAGE_TO_RIG_OT_generate.__dict__[name])
    op = Op()
    timer = SimpleNamespace(type="TIMER", value="NOTHING")
    t0 = time.perf_counter()
    start_t = time.perf_counter()
    op._start(bpy.context)
    start_s = time.perf_counter() - start_t
    state = {"RUNNING_MODAL"}
    while state == {"RUNNING_MODAL"}:
        time.sleep(generate.TIMER_STEP_S)
        state = op.modal(bpy.context, timer)
    total = time.perf_counter() - t0
    stats = dict(generate.LAST_RUN_STATS, start_s=start_s, total_s=total, state=sorted(state)[0])
    reset_blender()
    t0 = time.perf_counter()
    bpy.ops.image_to_rig.generate(filepath=path)
    stats["synchronous_s"] = time.perf_counter() - t0
    return stats


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--steps", type=int, default=10, help="SD inpainting steps")
    ap.add_argument("--full-size", action="store_true", help="also the published-size networks")
    ap.add_argument("--no-modal", action="store_true")
    ap.add_argument("--modal-sizes", type=int, nargs="+", default=[512, 1024, 2048])
    args = ap.parse_args()
    import torch

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, "
        f"CUDA: {torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'none'}"
    )
    rows = bench_backends(args.size, args.repeat, args.steps, args.full_size)
    print(f"\nBackends at {args.size} x {args.size} px (SD: {args.steps} steps; ISNet runs at 1024 px)")
    print(f"{'stage':<11}{'backend':<17}{'weights':<16}{'device':<7}{'first s':>9}{'warm s':>9}")
    for stage, name, weights, device, first, warm in rows:
        print(f"{stage:<11}{name:<17}{weights:<16}{device:<7}{first:>9.3f}{warm:>9.3f}")
    print(
        "Tiny models check plumbing only: real weights are heavier and will be slower "
        "(see --full-size for ISNet, the parts UNet and big-lama at published sizes)."
    )
    for size in [] if args.no_modal else args.modal_sizes:
        s = bench_modal(size)
        print(
            f"\nModal run at {size} px ({s['state']}): {s['timer_ticks']} timer ticks, "
            f"worker start {s['start_s'] * 1000:.1f} ms, longest tick "
            f"{s['longest_tick_s'] * 1000:.1f} ms, longest poll (result transfer) "
            f"{s['longest_poll_s'] * 1000:.1f} ms, longest gap between ticks "
            f"{s['longest_gap_s'] * 1000:.1f} ms (timer step {generate_step() * 1000:.0f} ms), "
            f"final scene build {s['build_s'] * 1000:.0f} ms, whole run {s['total_s']:.2f} s"
        )
        print(f"Synchronous run (the UI would be frozen throughout): {s['synchronous_s']:.2f} s")


def generate_step():
    from image_to_rig.operators.generate import TIMER_STEP_S

    return TIMER_STEP_S


if __name__ == "__main__":
    main()
