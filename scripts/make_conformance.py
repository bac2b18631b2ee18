# SPDX-License-Identifier: GPL-3.0-or-later
"""Write the stored conformance vectors (tests/conformance/) from the Python reference.

    .venv/bin/python scripts/make_conformance.py           # rewrite tests/conformance/
    .venv/bin/python scripts/make_conformance.py --check   # compare, write nothing

One specification, two evaluators: every model here is exported with the
real exporter, read back from its model.json (so the numbers are those of the
file, rounding included), and evaluated by the Python reference
(core/runtime/evaluate.py, core/runtime/physics.py, core/runtime/render.py).
The results are stored beside the model; tests/test_conformance.py checks that
the Python reference still reproduces them and tests/node/conformance.test.mjs
that the JavaScript player does.  A change to either evaluator that changes
results fails both until the vectors are regenerated on purpose with this
script (and the change is explained in the commit).

Per model (tests/conformance/<name>/): model.json and its atlas PNGs as
exported, vectors.json (parameter value sets with the deformed vertices and
mesh opacities expected for each; physics frame sequences at irregular dt with
the expected output parameters) and, for the models that test drawing,
render_<k>.png (the reference renderer's straight-alpha image of a pose).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests"))
import conftest  # noqa: E402,F401  registers the package image_to_rig

from image_to_rig.core.formats.export_folder import export_folder  # noqa: E402
from image_to_rig.core.formats.model_json import load_model  # noqa: E402
from image_to_rig.core.model.document import (
    Canvas,
    Keyform,
    Layer,
    Parameter,  # noqa: E402
    RigDocument,
    RotationDeformer,
    WarpDeformer,
)
from image_to_rig.core.runtime.evaluate import Evaluator  # noqa: E402
from image_to_rig.core.runtime.physics import (
    PhysicsInput,
    PhysicsOutput,
    PhysicsSetting,  # noqa: E402
    PhysicsSimulator,
    PhysicsVertex,
)
from web_support import (
    _grid_mesh,
    make_face_document,
    make_opacity_document,  # noqa: E402
    make_test_document,
)

OUT = os.path.join(REPO, "tests", "conformance")

# The tolerances both checks use (also written into every vectors.json and
# stated in tests/node/conformance.test.mjs and tests/test_conformance.py).
TOLERANCE = {
    "vertices_per_canvas_px": 1e-6,  # |difference| <= 1e-6 * max(canvas width, height) px
    "opacity": 1e-9,
    "physics": 1e-6,  # parameter units
}
VERTEX_DIGITS = 6  # stored rounding: 1e-6 px, far below the tolerance
OPACITY_DIGITS = 12
PHYSICS_DIGITS = 10
NAN = "NaN"  # JSON has no NaN: value sets write it as this string; both checks decode it


# ------------------------------------------------------------------ a model of edge cases


def _flat_image(w: int, h: int, colour, alpha: int = 255) -> np.ndarray:
    img = np.zeros((h, w, 4), np.uint8)
    img[..., :3] = colour
    img[1:-1, 1:-1, 3] = alpha
    return img


def make_edge_document() -> RigDocument:
    """Edge cases of the evaluation rules, small: a three-level rotation chain,
    a warp under a warp under a rotation, a keyform over three parameters with
    uneven keys and a parameter whose default is not a key, a parameter with a
    single key, two keyforms summed on one target, a mesh reaching outside its
    warp (edge offsets are clamped), a mesh keyform on a mesh without deformer,
    a rotation without keyforms, an opacity keyform that clamps, and physics
    with a three-vertex chain, reflected inputs and outputs, outputs below 100 %
    weight and two settings writing one parameter."""
    canvas = Canvas(200, 160)
    specs = [  # id, tag, (w, h), colour, x, y, opacity
        ("inner", "face", (60, 50), (240, 200, 180), 70, 40, 1.0),
        ("outer", "topwear", (120, 40), (60, 90, 200), 40, 100, 1.0),
        ("free", "objects", (60, 40), (200, 60, 60), -10, 50, 1.0),
        ("spin", "objects", (30, 30), (60, 200, 90), 130, 20, 0.4),
        ("loose", "objects", (24, 20), (230, 200, 40), 10, 10, 1.0),
    ]
    layers = [
        Layer(i, tag, _flat_image(w, h, colour), x, y, opacity=o) for i, tag, (w, h), colour, x, y, o in specs
    ]
    deformers = [
        RotationDeformer("root-rot", (100.0, 150.0)),
        RotationDeformer("mid-rot", (100.0, 100.0), parent="root-rot"),
        RotationDeformer("tip-rot", (100.0, 60.0), parent="mid-rot"),
        WarpDeformer("outer-warp", (20.0, 10.0, 180.0, 150.0), rows=2, cols=3, parent="tip-rot"),
        WarpDeformer("inner-warp", (60.0, 30.0, 140.0, 100.0), rows=3, cols=2, parent="outer-warp"),
        WarpDeformer("free-warp", (0.0, 40.0, 40.0, 80.0), rows=1, cols=1),
        RotationDeformer("still-rot", (150.0, 40.0), parent="tip-rot"),
    ]
    meshes = [
        _grid_mesh("inner", layers[0], 12, "inner-warp"),
        _grid_mesh("outer", layers[1], 20, "outer-warp"),
        _grid_mesh("free", layers[2], 15, "free-warp"),  # x from -10 to 50: beyond the warp's 0..40
        _grid_mesh("spin", layers[3], 15, "still-rot"),
        _grid_mesh("loose", layers[4], 12, None),
    ]
    params = [
        Parameter("ParamA", -1, 0, 1, "A", "Edge"),
        Parameter("ParamB", 0, 2, 10, "B (default 2, keys uneven)", "Edge"),
        Parameter("ParamC", -5, 0, 5, "C", "Edge"),
        Parameter("ParamD", -1, 0.3, 1, "D (default not a key)", "Edge"),
        Parameter("ParamSingle", 0, 1, 1, "one key", "Edge"),
        Parameter("ParamOut1", -1, 0, 1, "physics 1", "Physics"),
        Parameter("ParamOut2", -1, 0, 1, "physics 2", "Physics"),
    ]
    rng = np.random.default_rng(31)

    def warp_nodes(w):
        return (w.rows + 1) * (w.cols + 1)

    outer, inner, free = deformers[3], deformers[4], deformers[5]
    keyforms = [
        Keyform(
            "root-rot", ["ParamC"], [[-5, 0, 5]], np.array([[-20, 3, -2], [0, 0, 0], [15, -4, 1]], float)
        ),
        Keyform(
            "mid-rot",
            ["ParamA", "ParamB"],
            [[-1, 0, 1], [0, 2, 5, 10]],
            np.concatenate([rng.normal(0, 8, (12, 1)), rng.normal(0, 3, (12, 2))], axis=1),
        ),
        Keyform(
            "tip-rot",
            ["ParamB"],
            [[0, 1, 2, 10]],
            np.array([[12, 0, 0], [-6, 1, 1], [0, 0, 0], [30, -5, 2]], float),
        ),
        Keyform(
            "inner-warp",
            ["ParamA", "ParamB", "ParamC"],
            [[-1, 0, 1], [0, 2, 5, 10], [-5, 5]],
            rng.normal(0, 4, (3 * 4 * 2, warp_nodes(inner), 2)),
        ),
        Keyform("outer-warp", ["ParamA"], [[-1, 1]], rng.normal(0, 5, (2, warp_nodes(outer), 2))),
        Keyform(
            "outer-warp",
            ["ParamB", "ParamSingle"],
            [[0, 2, 10], [1]],
            rng.normal(0, 3, (3, warp_nodes(outer), 2)),
        ),
        Keyform("free-warp", ["ParamD"], [[-1, -0.2, 0.3, 1]], rng.normal(0, 6, (4, warp_nodes(free), 2))),
        Keyform(
            "loose",
            ["ParamA", "ParamC"],
            [[-1, 0, 1], [-5, 5]],
            rng.normal(0, 2, (6, len(meshes[4].vertices), 2)),
        ),
        Keyform("free", ["ParamD"], [[-1, 1]], rng.normal(0, 2, (2, len(meshes[2].vertices), 2))),
        Keyform(
            "spin",
            ["ParamA", "ParamB"],
            [[-1, 0, 1], [0, 10]],
            np.array([[-0.9], [0.2], [0.0], [0.3], [0.7], [-0.5]]),
            channel="opacity",
        ),
    ]
    doc = RigDocument(
        canvas,
        layers,
        meshes,
        deformers,
        params,
        keyforms,
        ["outer", "free", "inner", "spin", "loose"],
        [],
        source="edge cases.png",
    )
    chain = [
        PhysicsVertex((0.0, 0.0), 1.0, 1.0, 1.0, 0.0),
        PhysicsVertex((0.0, 8.0), 0.9, 0.8, 1.3, 8.0),
        PhysicsVertex((0.0, 20.0), 0.8, 0.6, 0.9, 12.0),
    ]
    doc.physics = [
        PhysicsSetting(
            "PhysicsSetting1",
            "three-vertex chain",
            inputs=[
                PhysicsInput("ParamA", 70.0, "X"),
                PhysicsInput("ParamC", 50.0, "Angle", reflect=True),
                PhysicsInput("ParamB", 30.0, "X"),
            ],
            outputs=[
                PhysicsOutput("ParamOut1", 1, 1.5, 100.0),
                PhysicsOutput("ParamOut2", 2, 0.8, 60.0, reflect=True),
            ],
            vertices=chain,
            normalization_position=(-8.0, 0.0, 12.0),
            normalization_angle=(-15.0, 0.0, 10.0),
        ),
        PhysicsSetting(
            "PhysicsSetting2",
            "second writer of ParamOut1",
            inputs=[PhysicsInput("ParamC", 100.0, "X")],
            outputs=[PhysicsOutput("ParamOut1", 1, 2.0, 50.0)],
            vertices=[
                PhysicsVertex((0.0, 0.0), 1.0, 1.0, 1.0, 0.0),
                PhysicsVertex((0.0, 15.0), 0.95, 0.5, 1.0, 15.0),
            ],
        ),
    ]
    doc.validate()
    return doc


# ------------------------------------------------------------------ parameter value sets


def _keys_of(doc: RigDocument):
    keys = {}
    for kf in doc.keyforms:
        for p, ks in zip(kf.params, kf.keys):
            keys.setdefault(p, set()).update(float(k) for k in ks)
    return {p: sorted(v) for p, v in keys.items()}


def value_sets(doc: RigDocument, seed: int, randoms: int = 6, each_parameter: bool = True, only=None):
    """Named parameter value sets: defaults, extremes, keys, random, out of range
    (`only`: just the sets with these names)."""
    rng = np.random.default_rng(seed)
    params = doc.parameters
    sets = [
        ("defaults", {}),
        ("all at min", {p.id: p.min for p in params}),
        ("all at max", {p.id: p.max for p in params}),
        ("min/max alternating", {p.id: (p.min if i % 2 else p.max) for i, p in enumerate(params)}),
        ("max/min alternating", {p.id: (p.max if i % 2 else p.min) for i, p in enumerate(params)}),
    ]
    if each_parameter:
        for p in params:
            sets += [(f"{p.id} at min", {p.id: p.min}), (f"{p.id} at max", {p.id: p.max})]
    keys = _keys_of(doc)
    for k in range(2):
        sets.append((f"on keys {k + 1}", {p: float(rng.choice(ks)) for p, ks in keys.items()}))
    for k in range(randoms):
        sets.append((f"random {k + 1}", {p.id: float(rng.uniform(p.min, p.max)) for p in params}))
    for k in range(2):
        sets.append(
            (
                f"out of range {k + 1}",
                {
                    p.id: float(
                        rng.choice([-1, 1]) * rng.uniform(1.05, 2.0) * (p.max - p.min) + (p.min + p.max) / 2
                    )
                    for p in params
                },
            )
        )
    sets.append(("huge", {p.id: (1e300 if i % 2 else -1e300) for i, p in enumerate(params)}))
    sets.append(("NaN reads as the default", {p.id: NAN for p in params}))
    sets.append(("unknown ids are ignored", {"ParamNotInThisModel": 3.0, params[0].id: params[0].max}))
    return [s for s in sets if only is None or s[0] in only]


def decode(values: dict) -> dict:
    return {k: (math.nan if v == NAN else v) for k, v in values.items()}


# ------------------------------------------------------------------ physics frame sequences


def physics_frames(doc: RigDocument, seed: int, seconds: float, drives):
    """Frames at an irregular rate (dt 0, tiny, 1/144 .. 1/30, a 0.4 s stall
    that is clamped, a 1 s stall), inputs from `drives` (id -> f(t)), some
    frames out of range and some NaN."""
    rng = np.random.default_rng(seed)
    choices = [1 / 30, 1 / 60, 1 / 144, 1 / 90, 1 / 120, 0.0, 1e-4, 0.05, 0.4]
    frames, t, k = [], 0.0, 0
    while t < seconds:
        dt = float(rng.choice(choices))
        if k == 40:
            dt = 1.0
        t += dt
        values = {pid: round(float(f(t)), 6) for pid, f in drives.items()}
        if k % 23 == 11:  # out of range: clamped by both
            pid = list(drives)[k % len(drives)]
            p = doc.parameter(pid)
            values[pid] = p.max + 2 * (p.max - p.min)
        if k % 31 == 17:
            values[list(drives)[0]] = NAN
        frames.append({"dt": dt, "values": values})
        k += 1
    return frames


def run_physics(doc: RigDocument, frames, outputs):
    sim = PhysicsSimulator(doc)
    expected = []
    for f in frames:
        out = sim.step(decode(f["values"]), f["dt"])
        expected.append([round(float(out[o]), PHYSICS_DIGITS) for o in outputs])
    return expected


# ------------------------------------------------------------------ the models


def _sin(amplitude, hz, phase=0.0, until=math.inf):
    return lambda t: amplitude * math.sin(2 * math.pi * hz * t + phase) * (t < until)


def models():
    """name -> (document, what it covers, value set options, physics drives, render poses)."""
    return {
        "rig": (
            make_test_document(),
            "rotation chain, warp under a rotation, 2-parameter keyform grid, mesh keyform, "
            "clipping, layer opacity 0.55",
            {"seed": 1, "randoms": 6, "each_parameter": False},
            None,
            [
                {},
                {"ParamEyeBallX": 1.0, "ParamAngleX": -30, "ParamBreath": 1.0, "ParamBodyAngleX": 10},
                {"ParamAngleX": 21, "ParamAngleZ": -17, "ParamEyeBallX": -0.6, "ParamBodyAngleX": -4},
            ],
        ),
        "opacity": (
            make_opacity_document(),
            "opacity keyforms: a closed eye fading in, a 2-parameter opacity grid clamping at 0 and 1",
            {"seed": 2, "randoms": 4, "each_parameter": False},
            None,
            [{"ParamEyeLOpen": 0.125, "ParamAngleX": 10}, {"ParamEyeLOpen": 0.0, "ParamAngleX": -30}],
        ),
        "face": (
            make_face_document(),
            "hair physics (front, side, back) driven by head and body angles",
            {"seed": 3, "randoms": 1, "only": ("defaults", "all at max", "random 1")},
            {
                "ParamAngleX": _sin(30, 0.9, until=3.0),
                "ParamAngleZ": lambda t: 25.0 * (1.0 < t < 2.2),
                "ParamBodyAngleX": _sin(10, 0.4),
            },
            [],
        ),
        "edge": (
            make_edge_document(),
            "3-level rotation chain, warp under warp under rotation, 3-parameter grid with uneven keys, "
            "single-key parameter, summed keyforms, mesh outside its warp, clamping opacity keyform, "
            "3-vertex physics chain with reflection, partial weights and two writers",
            {"seed": 4, "randoms": 6},
            {
                "ParamA": _sin(1.0, 0.7),
                "ParamB": lambda t: 2 + 8 * (t % 1.5 > 0.75),
                "ParamC": _sin(5, 1.3, 0.5),
                "ParamOut2": _sin(0.5, 0.2),
            },
            [],
        ),
    }


def _physics_outputs(doc):
    out = []
    for s in doc.physics:
        for o in s.outputs:
            if o.destination not in out:
                out.append(o.destination)
    return out


def build(name, doc, about, set_options, drives, poses, folder):
    from image_to_rig.core.runtime.render import render
    import cv2

    with tempfile.TemporaryDirectory() as tmp:
        export_folder(doc, tmp)
        data = json.load(open(os.path.join(tmp, "model.json"), encoding="utf-8"))
        os.makedirs(folder, exist_ok=True)
        shutil.copyfile(os.path.join(tmp, "model.json"), os.path.join(folder, "model.json"))
        for tex in data["textures"]:
            shutil.copyfile(os.path.join(tmp, tex), os.path.join(folder, tex))
    # Everything below comes from the stored file, as the checks read it.
    stored = load_model(os.path.join(folder, "model.json"))
    ev = Evaluator(stored)
    cases = []
    for label, values in value_sets(stored, **set_options):
        verts = ev.mesh_vertices(decode(values))
        opacity = ev.mesh_opacity(decode(values))
        cases.append(
            {
                "name": label,
                "values": values,
                "vertices": {
                    m: [round(float(v), VERTEX_DIGITS) for v in pts.ravel()] for m, pts in verts.items()
                },
                "opacity": {m: round(float(o), OPACITY_DIGITS) for m, o in opacity.items()},
            }
        )
    physics = []
    if drives:
        outputs = _physics_outputs(stored)
        frames = physics_frames(stored, seed=set_options["seed"] + 100, seconds=4.0, drives=drives)
        physics.append(
            {
                "name": "irregular frames",
                "outputs": outputs,
                "frames": frames,
                "expected": run_physics(stored, frames, outputs),
            }
        )
    renders = []
    for k, pose in enumerate(poses):
        png = f"render_{k}.png"
        img = render(stored, pose)
        cv2.imwrite(os.path.join(folder, png), cv2.cvtColor(img, cv2.COLOR_RGBA2BGRA))
        renders.append({"values": pose, "png": png})
    vectors = {
        "about": f"Conformance vectors of {name}: {about}. Written by scripts/make_conformance.py "
        "from the Python reference; do not edit by hand.",
        "model": "model.json",
        "canvas": [stored.canvas.width, stored.canvas.height],
        "tolerance": TOLERANCE,
        "nan": NAN,
        "cases": cases,
        "physics": physics,
        "renders": renders,
    }
    with open(os.path.join(folder, "vectors.json"), "w", encoding="utf-8") as fh:
        json.dump(vectors, fh, separators=(",", ":"))
        fh.write("\n")
    return {
        "name": name,
        "covers": about,
        "cases": len(cases),
        "physics_frames": sum(len(p["frames"]) for p in physics),
        "renders": len(renders),
    }


def write_all(out: str) -> list:
    os.makedirs(out, exist_ok=True)
    index = []
    for name, (doc, about, opts, drives, poses) in models().items():
        folder = os.path.join(out, name)
        if os.path.isdir(folder):
            shutil.rmtree(folder)
        index.append(build(name, doc, about, opts, drives, poses, folder))
    with open(os.path.join(out, "index.json"), "w", encoding="utf-8") as fh:
        json.dump(
            {
                "about": "The conformance models (one folder each); see README.md.",
                "tolerance": TOLERANCE,
                "models": index,
            },
            fh,
            indent=1,
        )
        fh.write("\n")
    return index


def _same_tree(a: str, b: str) -> list:
    import cv2

    problems = []
    for root, _, files in os.walk(a):
        for f in files:
            pa = os.path.join(root, f)
            pb = os.path.join(b, os.path.relpath(pa, a))
            if not os.path.exists(pb):
                problems.append(f"missing {os.path.relpath(pb, b)}")
            elif f.endswith(".png"):
                ia, ib = cv2.imread(pa, cv2.IMREAD_UNCHANGED), cv2.imread(pb, cv2.IMREAD_UNCHANGED)
                if ia.shape != ib.shape or not np.array_equal(ia, ib):
                    problems.append(f"{os.path.relpath(pb, b)} differs")
            elif open(pa, "rb").read() != open(pb, "rb").read():
                problems.append(f"{os.path.relpath(pb, b)} differs")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="regenerate into a temporary folder and compare")
    ap.add_argument("--out", default=OUT)
    args = ap.parse_args()
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            write_all(tmp)
            problems = _same_tree(tmp, args.out)
        for p in problems:
            print(p)
        print(
            "the stored vectors are up to date"
            if not problems
            else f"{len(problems)} stored files differ from what the Python reference writes now"
        )
        return 1 if problems else 0
    index = write_all(args.out)
    total = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(args.out) for f in fs)
    for m in index:
        print(
            f"{m['name']:8} {m['cases']:3d} value sets, {m['physics_frames']:4d} physics frames, "
            f"{m['renders']} renders"
        )
    print(f"wrote {args.out} ({total / 1024:.0f} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
