# SPDX-License-Identifier: GPL-3.0-or-later
"""One spec for two evaluators: the stored conformance vectors (tests/conformance/,
written by scripts/make_conformance.py).

* The Python reference (evaluator, physics, renderer) must still reproduce
  them: a change that moves a vertex, an opacity or a physics output fails here
  until the vectors are regenerated on purpose.
* The JavaScript player checks the same files under node
  (tests/node/conformance.test.mjs, run by test_web_player.py's node test) and,
  for the stored renders, in Chromium below.

Tolerances (as in every vectors.json): vertices 1e-6 x the canvas's larger
side in px, opacity 1e-9, physics outputs 1e-6.
"""

import json
import math
import os

import numpy as np
import pytest

from image_to_rig.core.formats.model_json import load_model
from image_to_rig.core.runtime.evaluate import Evaluator
from image_to_rig.core.runtime.physics import MAX_FRAME_DT, PhysicsSimulator
from image_to_rig.core.runtime.render import render

from web_support import INSTALL_HINT, chromium_path, launch_chromium, serve_folder

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.join(REPO, "tests", "conformance")
INDEX = json.load(open(os.path.join(ROOT, "index.json"), encoding="utf-8"))
NAMES = [m["name"] for m in INDEX["models"]]
TOLERANCE = {"vertices_per_canvas_px": 1e-6, "opacity": 1e-9, "physics": 1e-6}
SHOTS = os.environ.get("IMAGE_TO_RIG_SHOTS", "")


def _load(name):
    folder = os.path.join(ROOT, name)
    with open(os.path.join(folder, "vectors.json"), encoding="utf-8") as fh:
        vectors = json.load(fh)
    doc = load_model(os.path.join(folder, vectors["model"]))
    return folder, vectors, doc


def _decode(vectors, values):
    return {k: (math.nan if v == vectors["nan"] else v) for k, v in values.items()}


def test_the_index_lists_every_stored_model_with_the_stated_tolerances():
    folders = sorted(d for d in os.listdir(ROOT) if os.path.isdir(os.path.join(ROOT, d)))
    assert sorted(NAMES) == folders == ["edge", "face", "opacity", "rig"]
    assert INDEX["tolerance"] == TOLERANCE
    total = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(ROOT) for f in fs)
    assert total < 600 * 1024, f"the stored vectors stay small ({total // 1024} KB)"


@pytest.mark.parametrize("name", NAMES)
def test_python_reference_reproduces_the_stored_vectors(name):
    _, vectors, doc = _load(name)
    assert vectors["tolerance"] == TOLERANCE
    assert vectors["canvas"] == [doc.canvas.width, doc.canvas.height]
    tol = TOLERANCE["vertices_per_canvas_px"] * max(vectors["canvas"])
    ev = Evaluator(doc)
    worst_v = worst_o = 0.0
    for case in vectors["cases"]:
        values = _decode(vectors, case["values"])
        verts = ev.mesh_vertices(values)
        assert set(verts) == set(case["vertices"]), case["name"]
        for mesh_id, pts in verts.items():
            stored = np.asarray(case["vertices"][mesh_id], np.float64)
            assert stored.shape == (pts.size,), (case["name"], mesh_id)
            worst_v = max(worst_v, float(np.abs(pts.ravel() - stored).max()))
        opacity = ev.mesh_opacity(values)
        assert set(opacity) == set(case["opacity"]), case["name"]
        for mesh_id, o in opacity.items():
            worst_o = max(worst_o, abs(o - case["opacity"][mesh_id]))
        assert worst_v <= tol and worst_o <= TOLERANCE["opacity"], (case["name"], worst_v, worst_o)
    for seq in vectors["physics"]:
        sim = PhysicsSimulator(doc)
        for k, frame in enumerate(seq["frames"]):
            out = sim.step(_decode(vectors, frame["values"]), frame["dt"])
            got = [out[o] for o in seq["outputs"]]
            assert np.abs(np.asarray(got) - seq["expected"][k]).max() <= TOLERANCE["physics"], (
                seq["name"],
                k,
            )


def _case(vectors, label):
    return next(c for c in vectors["cases"] if c["name"] == label)


@pytest.mark.parametrize("name", NAMES)
def test_the_stored_vectors_exercise_what_they_claim(name):
    """Checks that cannot pass by accident: the poses move the model, clamping
    and NaN are really in the value sets, physics swings and sees odd frames."""
    _, vectors, doc = _load(name)
    rest = _case(vectors, "defaults")
    moved = max(
        float(np.abs(np.subtract(c["vertices"][m], rest["vertices"][m])).max())
        for c in vectors["cases"]
        for m in rest["vertices"]
    )
    assert moved > 5.0, f"the value sets deform the model ({moved:.2f} px at most)"
    if name != "face":
        # Out of range is clamped: +-1e300 draws as the alternating extremes; NaN as the defaults.
        assert _case(vectors, "huge")["vertices"] == _case(vectors, "max/min alternating")["vertices"]
        assert _case(vectors, "NaN reads as the default")["vertices"] == rest["vertices"]
        assert any(
            c["vertices"] != rest["vertices"]
            for c in vectors["cases"]
            if c["name"].startswith("out of range")
        )
    opacities = [o for c in vectors["cases"] for o in c["opacity"].values()]
    if name in ("opacity", "edge"):
        assert min(opacities) == 0.0 and max(opacities) == 1.0, "opacity keyforms clamp at both ends"
        assert any(0.05 < o < 0.95 and o not in (0.4, 0.55) for o in opacities), "and fade in between"
    for seq in vectors["physics"]:
        dts = [f["dt"] for f in seq["frames"]]
        assert 0.0 in dts and max(dts) > MAX_FRAME_DT and min(d for d in dts if d > 0) < 1e-3
        assert any(vectors["nan"] in f["values"].values() for f in seq["frames"])
        assert float(np.abs(seq["expected"]).max()) > 0.2, "the inputs swing the outputs"
    if name == "rig":
        assert any(layer.clip_to for layer in doc.layers), "the rig model covers clipping"
    if name == "edge":
        assert max(len(k.params) for k in doc.keyforms) == 3
        assert any(len(keys) == 1 for k in doc.keyforms for keys in k.keys)
        chain = [d.id for d in doc.deformer_chain("inner-warp")]
        assert chain == ["inner-warp", "outer-warp", "tip-rot", "mid-rot", "root-rot"], chain
        free = next(m for m in doc.meshes if m.id == "free")
        assert free.vertices[:, 0].min() < doc.deformer("free-warp").rect[0], (
            "a mesh reaches outside its warp"
        )


@pytest.mark.parametrize("name", [n for n in NAMES if n in ("rig", "opacity")])
def test_python_renderer_reproduces_the_stored_renders(name):
    import cv2

    folder, vectors, doc = _load(name)
    assert vectors["renders"], "the drawing models store renders"
    for r in vectors["renders"]:
        stored = cv2.cvtColor(
            cv2.imread(os.path.join(folder, r["png"]), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGRA2RGBA
        )
        got = render(doc, r["values"])
        assert got.shape == stored.shape
        diff = np.abs(got.astype(int) - stored.astype(int))
        assert diff.max() <= 1, (r["png"], int(diff.max()))


RENDER_IN_PLAYER = """async ([player, base, poses]) => {
  const { loadModel, createPlayer } = await import(player);
  const model = await loadModel(base);
  const p = createPlayer(document.createElement('canvas'), model);
  p.autoBlink = false; p.autoBreath = false; p.physicsEnabled = false;
  const out = [];
  for (const pose of poses) {
    p.resetParameters();
    for (const [id, v] of Object.entries(pose)) p.setParameter(id, v);
    const px = p.readPixels();
    out.push({ size: [px.width, px.height], data: Array.from(px.data) });
  }
  p.destroy();
  return out;
}"""


def test_player_draws_the_stored_renders_in_chromium():
    """The drawing half of the spec (clipping, opacity fades, blending) in a real
    WebGL2 player, against the stored reference renders: mean RGBA difference
    under 2 levels over the pixels either covers (as tests/test_web_player.py)."""
    import cv2

    try:
        import playwright  # noqa: F401
    except ImportError:
        pytest.skip("pip install playwright (Chromium comes from apt: " + INSTALL_HINT + ")")
    if not chromium_path():
        pytest.skip(INSTALL_HINT)
    with serve_folder(REPO) as url, launch_chromium() as browser:
        page = browser.new_page()
        page.goto(url + "tests/conformance/index.json")
        for name in ("rig", "opacity"):
            folder, vectors, _ = _load(name)
            poses = [r["values"] for r in vectors["renders"]]
            got = page.evaluate(
                RENDER_IN_PLAYER, [url + "web/player.js", url + f"tests/conformance/{name}/", poses]
            )
            for r, g in zip(vectors["renders"], got):
                w, h = g["size"]
                img = np.asarray(g["data"], np.uint8).reshape(h, w, 4)
                ref = cv2.cvtColor(
                    cv2.imread(os.path.join(folder, r["png"]), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGRA2RGBA
                )
                if SHOTS:
                    os.makedirs(SHOTS, exist_ok=True)
                    cv2.imwrite(
                        os.path.join(SHOTS, f"conformance_{name}_{r['png']}"),
                        cv2.cvtColor(img, cv2.COLOR_RGBA2BGRA),
                    )
                assert img.shape == ref.shape
                region = (ref[..., 3] > 0) | (img[..., 3] > 0)
                assert region.sum() > 500
                diff = float(np.abs(ref.astype(float) - img.astype(float))[region].mean())
                assert diff < 2.0, (name, r["png"], diff)
