# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared helpers of the bpy tests: a fresh empty Blender, the add-on, a synthetic rig.

The synthetic document exercises every feature of the scene builder: a rotation
chain root > body > neck > head with angle and translation keyforms, a warp
with a 2D keyform over two parameters, a warp nested in that warp, a mesh
keyform over one parameter with three keys, meshes partly outside their warp,
strengths other than 1 and an Idle motion.
"""

from __future__ import annotations

import atexit
import copy
import os
import tempfile

import numpy as np

os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="i2r-blender-user-"))

import bpy  # noqa: E402

from image_to_rig.core.model.document import (
    Canvas,
    Keyform,
    Layer,
    Mesh,
    Motion,  # noqa: E402
    MotionCurve,
    Parameter,
    RigDocument,
    RotationDeformer,
    WarpDeformer,
)
from image_to_rig.core.model.strength import baked_forms  # noqa: E402
from image_to_rig.scene.space import world_to_canvas  # noqa: E402

_registered = False


def reset_blender() -> None:
    """An empty scene with factory settings (fast; extensions stay enabled)."""
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)


def ensure_addon_registered() -> None:
    global _registered
    if not _registered:
        import image_to_rig

        image_to_rig.register()
        _registered = True
        # As Blender does at quit: the bpy 4.2 module crashes on exit (SIGSEGV, after
        # the tests passed) while panels, operators or handlers are still registered.
        atexit.register(unregister_addon)


def unregister_addon() -> None:
    global _registered
    if _registered:
        import image_to_rig

        image_to_rig.unregister()
        _registered = False


def _layer_image(w: int, h: int, colour, seed: int) -> np.ndarray:
    """An opaque-ish rectangle with a soft transparent border and a gradient."""
    rng = np.random.default_rng(seed)
    img = np.zeros((h, w, 4), np.uint8)
    img[..., :3] = colour
    yy, xx = np.mgrid[0:h, 0:w]
    img[..., 0] = np.clip(colour[0] + (xx * 60 // max(w, 1)), 0, 255)
    img[..., 3] = 255
    img[:2, :, 3] = 0
    img[:, :2, 3] = 0
    img[-2:, :, 3] = 0
    img[:, -2:, 3] = 0
    img[2:4, 2:-2, 3] = 128
    img[..., 1] = np.clip(img[..., 1].astype(int) + rng.integers(0, 3, (h, w)), 0, 255)
    return img


def grid_mesh(
    mesh_id: str, layer: Layer, cols: int, rows: int, deformer: str | None, inset: float = 2.0
) -> Mesh:
    """A triangulated grid over the layer's crop (pixel-exact UVs)."""
    w, h = layer.size
    xs = np.linspace(inset, w - inset, cols + 1)
    ys = np.linspace(inset, h - inset, rows + 1)
    gx, gy = np.meshgrid(xs, ys)
    uvs = np.stack([gx.ravel(), gy.ravel()], axis=1)
    verts = uvs + np.array([layer.x, layer.y], np.float64)
    tris = []
    for r in range(rows):
        for c in range(cols):
            a = r * (cols + 1) + c
            b, d, e = a + 1, a + cols + 1, a + cols + 2
            tris += [(a, b, e), (a, e, d)]
    return Mesh(mesh_id, layer.id, verts, np.array(tris, np.int32), uvs, deformer=deformer)


def synthetic_document(seed: int = 7) -> RigDocument:
    rng = np.random.default_rng(seed)
    canvas = Canvas(200, 160)
    body_layer = Layer("topwear", "topwear", _layer_image(120, 60, (40, 60, 160), 1), x=40, y=95)
    face_layer = Layer("face", "face", _layer_image(90, 80, (230, 200, 180), 2), x=55, y=20)
    eye_layer = Layer(
        "eyewhite_l", "eyewhite", _layer_image(30, 18, (250, 250, 250), 3), x=108, y=50, side="l", opacity=0.9
    )
    layers = [body_layer, face_layer, eye_layer]
    deformers = [
        RotationDeformer("root", (100.0, 155.0)),
        RotationDeformer("body", (100.0, 125.0), parent="root"),
        RotationDeformer("neck", (100.0, 98.0), parent="body"),
        RotationDeformer("head", (100.0, 90.0), parent="neck"),
        WarpDeformer("face_warp", (60.0, 25.0, 140.0, 95.0), rows=2, cols=3, parent="head"),
        WarpDeformer("eye_warp", (106.0, 46.0, 140.0, 70.0), rows=1, cols=2, parent="face_warp"),
    ]
    meshes = [
        grid_mesh("topwear", body_layer, 4, 2, "body"),
        grid_mesh("face", face_layer, 5, 4, "face_warp"),  # pokes out of the warp rect
        grid_mesh("eyewhite_l", eye_layer, 3, 2, "eye_warp"),
    ]
    parameters = [
        Parameter("ParamAngleX", -30, 0, 30, name="Angle X", group="Face", strength=0.5),
        Parameter("ParamAngleY", -30, 0, 30, name="Angle Y", group="Face"),
        Parameter("ParamAngleZ", -30, 0, 30, name="Angle Z", group="Face", strength=1.5),
        Parameter("ParamBodyAngleZ", -10, 0, 10, name="Body Angle Z", group="Body"),
        Parameter("ParamBaseX", -10, 0, 10, name="Base X", group="Body"),
        Parameter("ParamEyeLOpen", 0, 1, 1, name="Eye L Open", group="Eyes"),
        Parameter("ParamMouthForm", -1, 0, 1, name="Mouth Form", group="Mouth", strength=2.0),
        Parameter("ParamBreath", 0, 0, 1, name="Breath", group="Body"),
    ]
    warp_points = 3 * 4
    face_forms = rng.normal(0, 4.0, (9, warp_points, 2))
    face_forms[4] = 0.0  # the default node is the rest pose
    eye_forms = np.zeros((2, 2 * 3, 2))
    eye_forms[0, 0:3, 1] = 9.0  # closing: top row moves down
    mouth_forms = rng.normal(0, 2.5, (3, len(meshes[1].vertices), 2))
    mouth_forms[1] = 0.0
    keyforms = [
        Keyform(
            "head",
            ["ParamAngleZ"],
            [[-30, 0, 30]],
            np.array([[-12.0, -3.0, 1.0], [0, 0, 0], [12.0, 3.0, 1.5]]),
        ),
        Keyform("neck", ["ParamAngleZ"], [[-30, 0, 30]], np.array([[-4.0, 0, 0], [0, 0, 0], [4.0, 0, 0]])),
        Keyform(
            "body",
            ["ParamBodyAngleZ"],
            [[-10, 0, 10]],
            np.array([[-8.0, -2.0, 0.5], [0, 0, 0], [8.0, 2.0, 0.5]]),
        ),
        Keyform("body", ["ParamBreath"], [[0, 1]], np.array([[0, 0, 0], [0.0, 0.0, -2.0]])),
        Keyform("root", ["ParamBaseX"], [[-10, 10]], np.array([[0.0, -20.0, 0.0], [0.0, 20.0, 0.0]])),
        Keyform("face_warp", ["ParamAngleX", "ParamAngleY"], [[-30, 0, 30], [-30, 0, 30]], face_forms),
        Keyform("eye_warp", ["ParamEyeLOpen"], [[0, 1]], eye_forms),
        Keyform("face", ["ParamMouthForm"], [[-1, 0, 1]], mouth_forms),
    ]
    t = np.linspace(0.0, 3.0, 7)
    motion = Motion(
        "Idle",
        3.0,
        [
            MotionCurve("ParamAngleZ", t, 10.0 * np.sin(t * 2 * np.pi / 3.0)),
            MotionCurve("ParamBreath", t, 0.5 - 0.5 * np.cos(t * 2 * np.pi / 3.0)),
        ],
        strength=0.8,
    )
    doc = RigDocument(
        canvas,
        layers,
        meshes,
        deformers,
        parameters,
        keyforms,
        draw_order=["topwear", "face", "eyewhite_l"],
        motions=[motion],
        source="/tmp/synthetic.png",
    )
    doc.validate()
    return doc


def baked_document(doc: RigDocument) -> RigDocument:
    """A copy with parameter strengths baked into the keyforms (as export does)."""
    out = copy.deepcopy(doc)
    for kf, orig in zip(out.keyforms, doc.keyforms):
        kf.forms = np.array(baked_forms(doc, orig), np.float64)
    for p in out.parameters:
        p.strength = 1.0
    return out


def set_parameters(rig, values: dict[str, float]) -> None:
    for key, value in values.items():
        rig[key] = float(value)
    rig.update_tag()


def evaluated_vertices(collection) -> dict[str, np.ndarray]:
    """Deformed vertices (canvas px) of every rig mesh of the evaluated scene.

    The clip modifiers (last in the stack, they subdivide for the clip mask)
    are switched off meanwhile: what is compared is the deformation."""
    with clip_modifiers_disabled(collection):
        return _evaluated_vertices(collection)


def _evaluated_vertices(collection) -> dict[str, np.ndarray]:
    from image_to_rig.scene.keys import find_rig

    rig = find_rig(collection)
    W, H = (int(v) for v in rig["i2r_canvas"])
    dg = bpy.context.evaluated_depsgraph_get()
    dg.update()
    out = {}
    for obj in collection.all_objects:
        if obj.type != "MESH" or "i2r_mesh_id" not in obj:
            continue
        ev = obj.evaluated_get(dg)
        me = ev.to_mesh()
        co = np.empty(len(me.vertices) * 3, np.float32)
        me.vertices.foreach_get("co", co)
        mw = np.array(ev.matrix_world, np.float64)
        ev.to_mesh_clear()
        world = co.reshape(-1, 3).astype(np.float64) @ mw[:3, :3].T + mw[:3, 3]
        out[obj["i2r_mesh_id"]] = world_to_canvas(world, W, H)
    return out


def random_values(doc: RigDocument, rng) -> dict[str, float]:
    """Random values over (and a little beyond) each parameter's range."""
    vals = {}
    for p in doc.parameters:
        span = p.max - p.min
        vals[p.id] = float(rng.uniform(p.min - 0.1 * span, p.max + 0.1 * span))
    return vals


def max_vertex_error(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> float:
    assert sorted(a) == sorted(b)
    return max(float(np.abs(a[k] - b[k]).max()) for k in a)


def mesh_ids(collection) -> list[str]:
    return sorted(o["i2r_mesh_id"] for o in collection.all_objects if "i2r_mesh_id" in o)


def _disc_image(w: int, h: int, colour, rim, seed: int) -> np.ndarray:
    """An anti-aliased ellipse filling the crop, with a darker rim and some texture."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64) + 0.5
    r = np.hypot((xx - w / 2) / (w / 2 - 1), (yy - h / 2) / (h / 2 - 1))
    img = np.zeros((h, w, 4), np.uint8)
    t = np.clip(r, 0, 1)[..., None]
    rgb = np.array(colour, np.float64) * (1 - t**4) + np.array(rim, np.float64) * t**4
    rgb += rng.integers(0, 6, (h, w, 1))
    img[..., :3] = np.clip(rgb, 0, 255).astype(np.uint8)
    # Anti-aliased edge about one pixel wide.
    img[..., 3] = np.clip((1.0 - r) * (min(w, h) / 2) + 0.5, 0, 1) * 255
    return img


def clipping_document() -> RigDocument:
    """A face with an eye white and an iris clipped to it (as the pipeline makes).

    ParamEyeBallX moves the iris 22 px sideways (out of the 50 px wide eye
    white at the extremes), ParamEyeLOpen squashes the eye white, ParamAngleZ
    turns the head bone both hang from.
    """
    canvas = Canvas(160, 120)
    face = Layer("face", "face", _layer_image(110, 90, (230, 200, 180), 2), x=25, y=15)
    white = Layer(
        "eyewhite_l",
        "eyewhite",
        _disc_image(50, 30, (250, 250, 252), (200, 190, 200), 4),
        x=55,
        y=40,
        side="l",
    )
    iris = Layer(
        "irides_l",
        "irides",
        _disc_image(26, 26, (40, 70, 180), (10, 20, 60), 5),
        x=67,
        y=42,
        side="l",
        clip_to="eyewhite_l",
    )
    deformers = [RotationDeformer("head", (80.0, 100.0))]
    meshes = [
        grid_mesh("face", face, 4, 3, "head"),
        grid_mesh("eyewhite_l", white, 4, 2, "head", inset=0.0),
        grid_mesh("irides_l", iris, 3, 3, "head", inset=0.0),
    ]
    parameters = [
        Parameter("ParamAngleZ", -30, 0, 30, name="Angle Z", group="Face"),
        Parameter("ParamEyeLOpen", 0, 1, 1, name="Eye L Open", group="Eyes"),
        Parameter("ParamEyeBallX", -1, 0, 1, name="Eyeball X", group="Eyes"),
        Parameter("ParamEyeBallY", -1, 0, 1, name="Eyeball Y", group="Eyes"),
    ]
    white_mesh = meshes[1]
    squash = np.zeros((2, len(white_mesh.vertices), 2))
    top = white_mesh.vertices[:, 1] < 40 + 15  # upper half comes down when closing
    squash[0, top, 1] = 0.6 * (55 - white_mesh.vertices[top, 1])
    n_iris = len(meshes[2].vertices)
    gaze_x = np.zeros((3, n_iris, 2))
    gaze_x[0, :, 0], gaze_x[2, :, 0] = -22.0, 22.0
    gaze_y = np.zeros((3, n_iris, 2))
    gaze_y[0, :, 1], gaze_y[2, :, 1] = 8.0, -8.0
    keyforms = [
        Keyform(
            "head",
            ["ParamAngleZ"],
            [[-30, 0, 30]],
            np.array([[-10.0, 0, 0], [0, 0, 0], [10.0, 0, 0]]),
            owner="head_tilt",
        ),
        Keyform("eyewhite_l", ["ParamEyeLOpen"], [[0, 1]], squash, owner="blink"),
        Keyform("irides_l", ["ParamEyeBallX"], [[-1, 0, 1]], gaze_x, owner="gaze"),
        Keyform("irides_l", ["ParamEyeBallY"], [[-1, 0, 1]], gaze_y, owner="gaze"),
    ]
    doc = RigDocument(
        canvas,
        [face, white, iris],
        meshes,
        deformers,
        parameters,
        keyforms,
        draw_order=["face", "eyewhite_l", "irides_l"],
        source="/tmp/clipping.png",
    )
    doc.validate()
    return doc


def clip_modifiers_disabled(collection):
    """Context manager: evaluate without the clip modifiers (they subdivide the mesh)."""
    import contextlib
    from image_to_rig.scene.clip import clip_modifiers

    @contextlib.contextmanager
    def manager():
        mods = clip_modifiers(collection.all_objects)
        for m in mods:
            m.show_viewport = False
        try:
            yield
        finally:
            for m in mods:
                m.show_viewport = True

    return manager()
