# SPDX-License-Identifier: GPL-3.0-or-later
"""Tearing: the hole counter finds real holes and ignores drawn gaps; the
sample's rig (ground-truth layers and the full pipeline) opens none at any
parameter extreme, grid corner or combined extreme."""

import cv2
import numpy as np
import pytest

from image_to_rig.core.stages import rig as rigging
from image_to_rig.devkit import tearing
from image_to_rig.core.stages.complete import make_mouth_interior
from image_to_rig.core.model.document import Canvas, Keyform, Layer, Mesh, Parameter, RigDocument
from image_to_rig.core.stages.meshing import mesh_layer
from image_to_rig.core.pipeline import run_pipeline
from image_to_rig.core.runtime.render import Renderer
from image_to_rig.devkit.sample import make_sample


def _square_doc(hole_in_base: bool, patch: bool, slide: float = 40.0) -> RigDocument:
    """A 100 px square (optionally with a 24 px hole) and a patch over the hole;
    ParamX slides the patch (or, without one, the square) `slide` px to the right."""
    canvas = Canvas(200, 200)
    base = np.zeros((100, 100, 4), np.uint8)
    base[..., :3] = 120
    base[..., 3] = 255
    if hole_in_base:
        base[38:62, 38:62, 3] = 0
    layers = [Layer("base", "topwear", base, 50, 50)]
    if patch:
        p = np.zeros((30, 30, 4), np.uint8)
        p[..., 3] = 255
        layers.append(Layer("patch", "objects", p, 85, 85))
    return _sliding_doc(canvas, layers, slide)


def _sliding_doc(canvas: Canvas, layers: list[Layer], slide: float) -> RigDocument:
    """The layers meshed, back to front; ParamX slides the last one `slide` px
    to the right (left when negative)."""
    meshes = []
    for layer in layers:
        v, t, uv = mesh_layer(layer, 120)
        meshes.append(Mesh(layer.id, layer.id, v, t, uv))
    moving = meshes[-1]
    shift = np.zeros((2,) + moving.vertices.shape)
    shift[1, :, 0] = slide
    keyforms = [Keyform(moving.id, ["ParamX"], [[0.0, 1.0]], shift)]
    doc = RigDocument(
        canvas, layers, meshes, [], [Parameter("ParamX", 0, 0, 1)], keyforms, [m.id for m in meshes]
    )
    doc.validate()
    return doc


def test_alpha_renderer_matches_the_reference_renderer():
    sample = make_sample(256)
    doc = rigging.build_rig(sample.canvas, sample.layers, mesh_density=0.6)
    for values in ({}, {"ParamAngleX": 30, "ParamAngleY": -30, "ParamCheek": 1}):
        fast = tearing.AlphaRenderer(doc).render(values)
        ref = Renderer(doc).render(values)[..., 3] / 255.0
        assert np.abs(fast - ref).max() < 0.03  # the reference rounds to 8 bits


def test_a_slid_patch_shows_its_hole_and_a_drawn_gap_does_not_count():
    doc = _square_doc(hole_in_base=True, patch=True)
    assert tearing.count_holes(doc, {}) == 0
    holes = tearing.count_holes(doc, {"ParamX": 1})
    assert 24 * 24 * 0.8 < holes <= 24 * 24, holes
    # The same hole with nothing over it is part of the drawing: moving the
    # square (the hole moves less than its size) is no tearing.
    gap = _square_doc(hole_in_base=True, patch=False, slide=12.0)
    assert tearing.TearingChecker(gap).rest_holes > 400
    assert tearing.count_holes(gap, {"ParamX": 1}) == 0
    # moved farther than its own size, the hole is where the square's mesh
    # carried it: still the drawing's own gap (a pose's alpha alone, without
    # the values that say how the meshes moved, counts it)
    far = _square_doc(hole_in_base=True, patch=False, slide=40.0)
    assert tearing.count_holes(far, {"ParamX": 1}) == 0
    checker = tearing.TearingChecker(far)
    assert checker.holes_of_alpha(checker.renderer.render({"ParamX": 1})).sum() > 400
    # a solid square with a patch sliding off its edge: outline, not a hole
    solid = _square_doc(hole_in_base=False, patch=True)
    assert tearing.count_holes(solid, {"ParamX": 1}) == 0


def _closing_gate_doc() -> RigDocument:
    """A 100 px ring open on its right side (a 30 px gap) and a bar beside
    the gap that ParamX slides across it, closing the ring."""
    canvas = Canvas(240, 200)
    ring = np.zeros((100, 100, 4), np.uint8)
    ring[..., :3] = 120
    ring[..., 3] = 255
    inside = np.zeros((100, 100), np.uint8)
    cv2.circle(inside, (50, 50), 30, 1, -1)  # round: a square's inner corners close at rest
    inside[40:60, 50:] = 1  # the gap to the outside
    ring[inside > 0, 3] = 0
    bar = np.zeros((40, 12, 4), np.uint8)
    bar[..., 3] = 255
    layers = [Layer("ring", "topwear", ring, 50, 50), Layer("bar", "objects", bar, 170, 80)]
    return _sliding_doc(canvas, layers, -28.0)  # onto the ring's gap (x 130..150, y 90..110)


def test_torn_holes_are_the_ones_the_rest_pose_had_opaque():
    """A patch slid off a hole tears the drawing there (the rest pose had the
    patch's pixels); a bar closing the gap of a ring only encloses background
    the rest pose showed as well: a hole, not torn."""
    doc = _square_doc(hole_in_base=True, patch=True)
    checker = tearing.TearingChecker(doc)
    alpha = checker.renderer.render({"ParamX": 1})
    holes = checker.holes_of_alpha(alpha)
    assert holes.sum() > 400
    assert checker.torn_of_alpha(alpha).sum() == holes.sum()
    gate = _closing_gate_doc()
    checker = tearing.TearingChecker(gate)
    assert checker.rest_holes < 100  # the inside is open to the outside at rest
    alpha = checker.renderer.render({"ParamX": 1})
    holes = checker.holes_of_alpha(alpha)
    assert holes.sum() > 2500, holes.sum()  # the ring's inside, enclosed
    assert checker.torn_of_alpha(alpha, holes).sum() == 0


def test_report_covers_every_extreme_and_the_grid_corners():
    sample = make_sample(256)
    doc = rigging.build_rig(sample.canvas, sample.layers, mesh_density=0.5)
    names = [name for name, _ in tearing.report_poses(doc)]
    for p in doc.parameters:
        for v in (p.min, p.max):
            if v != p.default:
                assert f"{p.id}={v:g}" in names
    for corner in (
        "AngleX=-30,AngleY=-30",
        "AngleX=30,AngleY=30",
        "AngleX=-30,AngleY=30",
        "AngleX=30,AngleY=-30",
    ):
        assert corner in names
    assert "all at max" in names and "all at min" in names


def _ground_truth_rig(size):
    sample = make_sample(size)
    layers = list(sample.layers)
    interior = make_mouth_interior(sample.layer("mouth"), sample.landmarks, sample.canvas)
    layers.insert([l.id for l in layers].index("mouth"), interior)
    return rigging.build_rig(sample.canvas, layers)


@pytest.mark.parametrize("source", ["ground truth", "pipeline"])
def test_the_sample_rig_never_tears(source):
    if source == "pipeline":
        doc = run_pipeline(make_sample(384).image).doc
    else:
        doc = _ground_truth_rig(384)
    rows = tearing.tearing_report(doc)
    assert len(rows) == len(tearing.report_poses(doc)) > 40
    torn = [(r.pose, r.holes) for r in rows if r.holes]
    assert not torn, torn
