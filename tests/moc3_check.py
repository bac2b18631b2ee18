# SPDX-License-Identifier: GPL-3.0-or-later
"""Hold an export's .moc3 to its model.json: what the official Cubism Core
reads and computes from the .moc3 against our reference evaluator and
renderer on model.json.  Used by tests/test_moc3.py and bench/bench_moc3.py.

`compare_export(folder, core)` returns the measurements (and the mismatches
it found in the static data, as readable strings); `assert_export_matches`
turns them into test assertions with the issue's bounds.
"""

from __future__ import annotations

import json
import os

import cv2
import numpy as np

from image_to_rig.core.formats.cubism_json import part_ids
from image_to_rig.core.runtime.evaluate import Evaluator
from image_to_rig.core.formats.moc3 import read_moc3
from image_to_rig.core.formats.moc3_runtime import Moc3Model, Moc3State, render_drawables
from image_to_rig.core.runtime.render import Renderer
from image_to_rig.core.formats.model_json import load_model

VERTEX_PX = 0.5  # the bounds the issue sets
OPACITY = 0.01
RENDER_MEAN = 2.0  # of 255, on the character


def read_export(folder: str):
    """(model3 dict, moc3 bytes, model.json dict, reference document, atlas pages)."""
    names = [n for n in os.listdir(folder) if n.endswith(".model3.json")]
    assert len(names) == 1, f"{folder} should hold one model3.json, has {names}"
    with open(os.path.join(folder, names[0]), encoding="utf-8") as fh:
        model3 = json.load(fh)
    with open(os.path.join(folder, model3["FileReferences"]["Moc"]), "rb") as fh:
        moc = fh.read()
    with open(os.path.join(folder, "model.json"), encoding="utf-8") as fh:
        data = json.load(fh)
    pages = [
        cv2.cvtColor(cv2.imread(os.path.join(folder, t), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGRA2RGBA)
        for t in data["textures"]
    ]
    return model3, moc, data, load_model(os.path.join(folder, "model.json")), pages


def random_vectors(doc, count: int, seed: int) -> list[dict[str, float]]:
    rng = np.random.default_rng(seed)
    return [{p.id: float(rng.uniform(p.min, p.max)) for p in doc.parameters} for _ in range(count)]


def render_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference (of 255, RGBA) over the pixels either image covers."""
    on = (a[..., 3] > 0) | (b[..., 3] > 0)
    if not on.any():
        return 0.0
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64))[on].mean())


def compare_export(
    folder: str, core, vectors: int = 20, seed: int = 0, render_poses: int = 3, images_to: str | None = None
) -> dict:
    model3, moc, data, doc, pages = read_export(folder)
    out: dict = {
        "moc_version": core.moc_version(moc),
        "consistent": core.has_consistency(moc),
        "bytes": len(moc),
        "mismatches": [],
    }
    if not out["consistent"]:
        return out
    model = core.load(moc)
    bad = out["mismatches"]
    # ---- static data
    params = model.parameters()
    if [p["id"] for p in params] != [p.id for p in doc.parameters]:
        bad.append("parameter ids differ")
    for ours, theirs in zip(doc.parameters, params):
        for key in ("min", "default", "max"):
            if abs(float(getattr(ours, key)) - theirs[key]) > 1e-5:
                bad.append(f"{ours.id} {key}: {theirs[key]} in the moc3, {getattr(ours, key)} ours")
    if model.part_ids != list(part_ids(doc).values()):
        bad.append(f"part ids differ: {model.part_ids[:5]}...")
    if [m.id for m in doc.meshes] != model.drawable_ids:
        bad.append("drawable ids differ from the mesh ids")
    runtime = {m["id"]: m for m in data["meshes"]}
    tex = model.texture_indices()
    uvs = model.uvs()
    tris = model.indices()
    masks = model.masks()
    flags = model.constant_flags()
    layers = {l.id: l for l in doc.layers}
    for i, mid in enumerate(model.drawable_ids):
        m = runtime[mid]
        if tex[i] != m["texture"]:
            bad.append(f"{mid}: texture {tex[i]} in the moc3, {m['texture']} ours")
        uv = np.asarray(m["uvs"], np.float64).reshape(-1, 2)
        if uvs[i].shape != uv.shape or np.abs(uvs[i] - np.c_[uv[:, 0], 1 - uv[:, 1]]).max() > 1e-6:
            bad.append(f"{mid}: UVs differ")
        # The Core reverses each triangle's winding along with its y-up positions.
        if tris[i].reshape(-1, 3)[:, ::-1].ravel().tolist() != [int(t) for t in m["triangles"]]:
            bad.append(f"{mid}: triangles differ")
        clip = layers[m["layer"]].clip_to
        expected = [k.id for k in doc.meshes if clip and k.layer == clip]
        if [model.drawable_ids[k] for k in masks[i]] != expected:
            bad.append(f"{mid}: masks {masks[i]} in the moc3, {expected} ours")
        if not flags[i] & 4:
            bad.append(f"{mid}: not double-sided")
    model.update({})
    order = [model.drawable_ids[i] for i in np.argsort(model.render_orders())]
    if order != list(doc.draw_order):
        bad.append("render order differs from the draw order")
    # ---- at random poses
    evaluator = Evaluator(doc)
    runtime_model = Moc3Model(read_moc3(moc))
    canvas = model.canvas()
    worst_px = worst_opacity = worst_runtime = 0.0
    hidden = 0
    poses = random_vectors(doc, vectors, seed)
    for values in poses:
        model.update(values)
        positions = model.vertex_positions()
        opacities = model.opacities()
        ours = evaluator.mesh_vertices(values)
        ours_opacity = evaluator.mesh_opacity(values)
        # The Core also clears isVisible at opacity 0 (as we skip those): count the rest.
        hidden += int(np.sum(((model.dynamic_flags() & 1) == 0) & (opacities > 1e-6)))
        state = runtime_model.evaluate(values)
        for i, mid in enumerate(model.drawable_ids):
            worst_px = max(worst_px, float(np.abs(canvas.to_pixels(positions[i]) - ours[mid]).max()))
            worst_opacity = max(worst_opacity, abs(float(opacities[i]) - ours_opacity[mid]))
            worst_runtime = max(worst_runtime, float(np.abs(state.positions[i] - positions[i]).max()))
    out.update(
        vectors=len(poses),
        max_vertex_px=worst_px,
        max_opacity=worst_opacity,
        hidden_drawables=hidden,
        runtime_vs_core_units=worst_runtime,
    )
    # ---- renders of the Core's output against our reference render
    renderer = Renderer(doc)
    moc_file = read_moc3(moc)
    diffs = []
    for k, values in enumerate([{}] + poses[: max(render_poses - 1, 0)]):
        model.update(values)
        state = Moc3State(
            model.vertex_positions(),
            model.opacities(),
            (model.dynamic_flags() & 1).astype(bool),
            model.render_orders(),
        )
        core_img = render_drawables(moc_file, state, pages)
        ref_img = renderer.render(values)
        diffs.append(render_difference(core_img, ref_img))
        if images_to:
            os.makedirs(images_to, exist_ok=True)
            side = np.concatenate([ref_img, core_img], axis=1)
            cv2.imwrite(
                os.path.join(images_to, f"pose{k}_reference_vs_core.png"),
                cv2.cvtColor(side, cv2.COLOR_RGBA2BGRA),
            )
    out["render_mean_diff"] = max(diffs) if diffs else 0.0
    out["hit_areas"] = model3.get("HitAreas", [])
    out["groups"] = {g["Name"]: g["Ids"] for g in model3.get("Groups", [])}
    return out


def assert_export_matches(result: dict) -> None:
    assert result["moc_version"] == 2, result
    assert result["consistent"], "csmHasMocConsistency refused the .moc3"
    assert result["mismatches"] == []
    assert result["hidden_drawables"] == 0, "the Core hid drawables (a parameter outside its keys)"
    assert result["max_vertex_px"] <= VERTEX_PX, result
    assert result["max_opacity"] <= OPACITY, result
    assert result["render_mean_diff"] <= RENDER_MEAN, result
