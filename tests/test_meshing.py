# SPDX-License-Identifier: GPL-3.0-or-later
"""The auto mesh: covers every visible pixel, follows concave outlines, sane density."""

import cv2
import numpy as np
import pytest

from image_to_rig.core.model.document import Canvas, Layer, Mesh, RigDocument
from image_to_rig.core.stages.meshing import MeshingError, mesh_layer
from image_to_rig.core.runtime.render import Renderer, rasterize_uv


def _layer(lid, alpha, x=0, y=0, tag="objects", colour=(200, 80, 40)):
    img = np.zeros(alpha.shape + (4,), np.uint8)
    img[..., :3] = colour
    img[..., 3] = alpha
    return Layer(id=lid, tag=tag, image=img, x=x, y=y)


def _disc(size=120, radius=45):
    alpha = np.zeros((size, size), np.uint8)
    # Drawn at 4x subpixel precision with anti-aliasing: soft edge pixels.
    cv2.circle(alpha, (size * 8, size * 8), radius * 16, 255, -1, cv2.LINE_AA, shift=4)
    return alpha


def _c_shape(size=160):
    alpha = np.zeros((size, size), np.uint8)
    cv2.ellipse(alpha, (size // 2, size // 2), (60, 60), 0, 40, 320, 255, 14, cv2.LINE_AA)
    return alpha


def _islands():
    alpha = np.zeros((100, 200), np.uint8)
    cv2.rectangle(alpha, (10, 10), (60, 80), 255, -1)
    cv2.circle(alpha, (150, 50), 30, 180, -1, cv2.LINE_AA)
    alpha[90, 100] = 3  # a lone faint pixel must be covered too
    return alpha


def _render_alone(layer, verts, tris, uvs, canvas):
    mesh = Mesh(id="m", layer=layer.id, vertices=verts, triangles=tris, uvs=uvs)
    doc = RigDocument(canvas=canvas, layers=[layer], meshes=[mesh], draw_order=["m"])
    doc.validate()
    return Renderer(doc).render()


def _triangle_cross(verts, tris):
    p = verts[tris]
    return (p[:, 1, 0] - p[:, 0, 0]) * (p[:, 2, 1] - p[:, 0, 1]) - (p[:, 1, 1] - p[:, 0, 1]) * (
        p[:, 2, 0] - p[:, 0, 0]
    )


def _ring_with_island():
    alpha = np.zeros((160, 160), np.uint8)
    cv2.circle(alpha, (80, 80), 70, 255, 16, cv2.LINE_AA)
    cv2.circle(alpha, (80, 80), 12, 255, -1, cv2.LINE_AA)  # an island inside the hole
    return alpha


SHAPES = {"disc": _disc, "c_shape": _c_shape, "islands": _islands, "ring": _ring_with_island}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_mesh_covers_every_pixel_with_alpha(shape):
    alpha = SHAPES[shape]()
    layer = _layer(shape, alpha, x=13, y=7)
    canvas = Canvas(alpha.shape[1] + 30, alpha.shape[0] + 20)
    verts, tris, uvs = mesh_layer(layer, 150)
    out = _render_alone(layer, verts, tris, uvs, canvas)
    expected = layer.full_canvas(canvas)[..., 3].astype(int)
    assert np.count_nonzero(expected) > 0
    # Rendering samples the texture at pixel centres, so a covered pixel shows
    # exactly its texel; a missed pixel would come out transparent.
    missed = (expected > 0) & (out[..., 3] == 0)
    assert not missed.any(), f"{missed.sum()} pixels with alpha > 0 are not covered"
    assert np.abs(out[..., 3].astype(int) - expected).max() <= 1


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_triangles_are_wound_alike_and_not_degenerate(shape):
    layer = _layer(shape, SHAPES[shape]())
    verts, tris, uvs = mesh_layer(layer, 150)
    assert verts.dtype == np.float64 and uvs.dtype == np.float64 and tris.dtype == np.int32
    assert tris.shape[1] == 3 and tris.min() >= 0 and tris.max() < len(verts)
    cross = _triangle_cross(verts, tris)
    assert (cross > 0).all(), "every triangle must wind the same way (positive cross product)"
    assert cross.min() / 2 > 0.05, "degenerate sliver triangles"
    used = np.zeros(len(verts), bool)
    used[tris.ravel()] = True
    assert used.all(), "every vertex belongs to a triangle"
    np.testing.assert_allclose(verts - uvs, np.tile([[layer.x, layer.y]], (len(verts), 1)))


def test_concave_c_shape_is_not_bridged():
    alpha = _c_shape()
    layer = _layer("c", alpha)
    verts, tris, uvs = mesh_layer(layer, 200)
    h, w = alpha.shape
    _, _, covered = rasterize_uv(verts, uvs, tris, (w, h))
    # Allowed: the shape grown by the outline margin (a few px).  The inside of
    # the C and its opening are far from any opaque pixel.
    near = cv2.dilate((alpha > 0).astype(np.uint8), np.ones((11, 11), np.uint8)) > 0
    assert not (covered & ~near).any(), "a triangle bridges the concavity of the C"
    assert not covered[h // 2, w // 2] and not covered[h // 2, w - 20]


def test_islands_stay_separate():
    alpha = _islands()
    layer = _layer("isl", alpha)
    verts, tris, uvs = mesh_layer(layer, 150)
    _, _, covered = rasterize_uv(verts, uvs, tris, (alpha.shape[1], alpha.shape[0]))
    assert not covered[40, 100], "the gap between two islands is bridged"
    assert covered[90, 100], "the lone faint pixel is not covered"


def test_large_holes_stay_open():
    alpha = _ring_with_island()
    layer = _layer("ring", alpha)
    verts, tris, uvs = mesh_layer(layer, 200)
    _, _, covered = rasterize_uv(verts, uvs, tris, (160, 160))
    assert covered[80, 80], "the island inside the hole is meshed"
    assert not covered[80, 80 + 35] and not covered[80 - 35, 80], "the hole is bridged"


@pytest.mark.parametrize("target, low, high", [(60, 40, 110), (110, 50, 200), (360, 200, 500)])
def test_vertex_count_follows_target(target, low, high):
    alpha = np.zeros((300, 220), np.uint8)
    cv2.ellipse(alpha, (110, 150), (100, 140), 0, 0, 360, 255, -1, cv2.LINE_AA)
    verts, _, _ = mesh_layer(_layer("e", alpha), target)
    assert low <= len(verts) <= high


def test_tiny_part_gets_a_small_valid_mesh():
    alpha = np.zeros((9, 7), np.uint8)
    alpha[3:6, 2:5] = 255
    verts, tris, uvs = mesh_layer(_layer("dot", alpha), 100)
    assert 3 <= len(verts) <= 40 and len(tris) >= 1


def test_transparent_layer_is_an_error():
    with pytest.raises(MeshingError, match="transparent"):
        mesh_layer(_layer("empty", np.zeros((10, 10), np.uint8)), 50)


def test_sample_layers_are_covered_by_their_meshes():
    """(Meshing speed is measured by bench/bench_pipeline.py's rig stage, not here.)"""
    from image_to_rig.devkit.sample import make_sample

    sample = make_sample(1024)
    meshes = {
        l.id: mesh_layer(l, 300 if "hair" in l.tag or l.tag in ("face", "topwear") else 100)
        for l in sample.layers
    }
    for lid in ("front-hair", "eyelash_l"):
        layer = sample.layer(lid)
        verts, tris, uvs = meshes[lid]
        h, w = layer.image.shape[:2]
        _, _, covered = rasterize_uv(uvs, uvs, tris, (w, h))
        assert not ((layer.image[..., 3] > 0) & ~covered).any(), lid
