# SPDX-License-Identifier: GPL-3.0-or-later
"""Hostile input to `render` and to model loading (issue 9, items 9-12).

Each command-line case runs `render` in its own process on a copy of a good
export with one thing broken, with an earlier good render at the -o path: it
must exit 2 with a plain message, change nothing (the earlier render, the
model and every other file stay as they were), and stay within 20 s and 2 GB
(tests/hostile_support.py measures wall time and peak RSS).  The in-process
tests below prove that the budgets are checked before anything is decoded
or allocated, and that render never draws a wrong image silently."""

import copy
import json
import os
import shutil
import struct
import zlib

import cv2
import numpy as np
import pytest

from hostile_support import changes, run_case, run_in_tmpfs, snapshot, tmpfs_available


def _png_header_only(width, height, depth=8, colour=6):
    """A PNG whose header claims width x height, with one tiny IDAT (never decoded)."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """A good export of the sample (model.json, atlas, .moc3 ...) and its
    default-pose render: the earlier good result of every case."""
    from image_to_rig.core.formats.export_folder import export_folder
    from image_to_rig.core.pipeline import PipelineOptions, run_pipeline
    from image_to_rig.devkit.sample import make_sample

    root = tmp_path_factory.mktemp("good")
    result = run_pipeline(make_sample(256).image, PipelineOptions(use_animeface=False))
    export_folder(result.doc, str(root / "web"))
    pose = run_case(["render", str(root / "web" / "model.json"), "-o", str(root / "pose.png")], str(root))
    assert pose.code == 0, pose.stderr
    data = json.loads((root / "web" / "model.json").read_text(encoding="utf-8"))
    return {"web": root / "web", "pose": root / "pose.png", "data": data}


# --------------------------------------------------------------------- how to break a model
def edit(change):
    """Apply `change(data)` to model.json (written with NaN/Infinity as Python writes them)."""

    def apply(folder, data):
        data = copy.deepcopy(data)
        change(data)
        (folder / "model.json").write_text(json.dumps(data), encoding="utf-8")

    return apply


def raw(text):
    def apply(folder, data):
        (folder / "model.json").write_bytes(text if isinstance(text, bytes) else text.encode())

    return apply


def substitute(change, marker, replacement):
    """`change` puts `marker` (a number) somewhere; its text is then replaced by `replacement`."""

    def apply(folder, data):
        data = copy.deepcopy(data)
        change(data)
        text = json.dumps(data).replace(json.dumps(marker), replacement, 1)
        (folder / "model.json").write_text(text, encoding="utf-8")

    return apply


def files(**contents):
    def apply(folder, data):
        for name, blob in contents.items():
            (folder / name).write_bytes(blob)

    return apply


def both(*steps):
    def apply(folder, data):
        for step in steps:
            step(folder, data)

    return apply


def _rotation(d):
    return next(x for x in d["deformers"] if x["type"] == "rotation")


def _set_nested(d, depth):
    node = {}
    d["extra"] = node
    for _ in range(depth):
        node["a"] = {}
        node = node["a"]


def _drop_keyforms_of(d, mesh_id):
    d["keyforms"] = [k for k in d["keyforms"] if k["target"] != mesh_id]


def _big_triangles(d):
    w, h = d["canvas"]["width"], d["canvas"]["height"]
    m = d["meshes"][0]
    m["vertices"] = [-10 * w, -10 * h, 10 * w, -10 * h, 0, 10 * h]
    m["uvs"] = [0, 0, 1, 0, 0, 1]
    m["triangles"] = [0, 1, 2] * 300000
    _drop_keyforms_of(d, m["id"])


def _many_vertices_large_triangles(d):
    """The issue's case: 900k vertices, 300k triangles each larger than the canvas."""
    w, h = d["canvas"]["width"], d["canvas"]["height"]
    m = d["meshes"][0]
    n = 900000
    m["vertices"] = np.tile([-w, -h, 2.0 * w, -h, 0.0, 2.0 * h], n // 3).tolist()
    m["uvs"] = [0.1] * (2 * n)
    m["triangles"] = list(range(n))
    _drop_keyforms_of(d, m["id"])


def _thin_slivers(d):
    """300k slivers along the canvas diagonal: almost no area (the player's rule
    passes them), but every one's bounding box is the whole canvas."""
    w, h = d["canvas"]["width"], d["canvas"]["height"]
    m = d["meshes"][0]
    m["vertices"] = [0, 0, float(w), float(h), float(w), float(h) + 0.01]
    m["uvs"] = [0, 0, 1, 1, 1, 1]
    m["triangles"] = [0, 1, 2] * 300000
    _drop_keyforms_of(d, m["id"])


def _overflowing_keyforms(d):
    """Two keyforms of one mesh, each within float range, whose sum is not."""
    k = next(
        k
        for k in d["keyforms"]
        if k["target"] in {m["id"] for m in d["meshes"]} and k.get("channel", "offset") == "offset"
    )
    k["forms"] = [1e308] * len(k["forms"])
    d["keyforms"].append(copy.deepcopy(k))


def _rects_over_budget(d):
    layer = d["layers"][0]
    extra = []
    for i in range(2100):  # 2100 x 256 x 256 = 138 megapixels of rectangles
        x = dict(layer, id=f"copy-{i}", atlas_rect=[0, 0, 256, 256])
        extra.append(x)
    d["layers"] = d["layers"] + extra


def _too_many_triangles(d):
    m = d["meshes"][0]
    m["vertices"], m["uvs"] = [0, 0, 1, 0, 0, 1], [0, 0, 1, 0, 0, 1]
    m["triangles"] = [0, 1, 2] * 2000001
    _drop_keyforms_of(d, m["id"])


def _long_curve(d):
    curve = d["motions"][0]["curves"][0]
    curve["times"] = [i * 0.001 for i in range(100001)]
    curve["values"] = [0.0] * 100001


def _sparse(name, size, head=b""):
    def apply(folder, data):
        with open(folder / name, "wb") as fh:
            fh.write(head)
            fh.truncate(size)

    return apply


# name -> (how to break the export, extra render arguments, message fragment)
MODEL_CASES = {
    "infinity-in-a-pivot": (
        edit(lambda d: _rotation(d)["pivot"].__setitem__(0, float("inf"))),
        [],
        "holds the number Infinity, which is not finite",
    ),
    "minus-infinity-vertex": (
        edit(lambda d: d["meshes"][0]["vertices"].__setitem__(0, float("-inf"))),
        [],
        "holds the number -Infinity",
    ),
    "nan-opacity": (edit(lambda d: d["layers"][1].update(opacity=float("nan"))), [], "holds the number NaN"),
    "overflowing-number": (
        substitute(lambda d: d["meshes"][0]["vertices"].__setitem__(0, 12345.625), 12345.625, "1e400"),
        [],
        "holds the number 1e400",
    ),
    "400-digit-integer": (
        substitute(lambda d: d["canvas"].update(width=987654), 987654, "9" * 400),
        [],
        "which is not finite",
    ),
    "nested-100k-deep": (raw("[" * 100000 + "]" * 100000), [], "nests lists or objects more than 64 deep"),
    "nested-65-deep": (edit(lambda d: _set_nested(d, 65)), [], "more than 64 deep"),
    "not-json": (raw('{"format": "image-to-rig",'), [], "is not valid JSON"),
    "not-utf8": (raw(b'{"format": "\xff\xfe"}'), [], "is not UTF-8 text"),
    "not-an-object": (raw("[1, 2, 3]"), [], "is not an Image to Rig model.json"),
    "over-128-mb": (
        _sparse("model.json", 200 * 2**20, b'{"format": "image-to-rig", "x": "'),
        [],
        "more than the 128 MB a model file may have",
    ),
    "wrong-version": (edit(lambda d: d.update(version=99)), [], "model.json is not valid at version"),
    "canvas-over-64-megapixels": (
        edit(lambda d: d["canvas"].update(width=16000, height=16000)),
        [],
        "megapixels the runtime draws",
    ),
    "canvas-side": (
        edit(lambda d: d["canvas"].update(width=100000)),
        [],
        "canvas is larger than the runtime supports",
    ),
    "canvas-zero": (edit(lambda d: d["canvas"].update(height=0)), [], "not valid at canvas/height"),
    "text-for-numbers": (
        edit(lambda d: d["meshes"][0].update(vertices=[str(v) for v in d["meshes"][0]["vertices"]])),
        [],
        "expected a flat list of numbers",
    ),
    "texture-path": (
        edit(lambda d: d.update(textures=["../../etc/passwd.png"])),
        [],
        "not valid at textures/0",
    ),
    "texture-named-2000-times": (
        edit(lambda d: d.update(textures=["atlas0.png"] * 2000)),
        [],
        "lists 2000 atlas pages, more than the 64",
    ),
    "missing-atlas": (edit(lambda d: d.update(textures=["gone.png"])), [], "atlas gone.png is missing"),
    "atlas-not-png": (files(**{"atlas0.png": b"GIF89a" + b"\0" * 100}), [], "is not a PNG image"),
    "atlas-0x0": (files(**{"atlas0.png": _png_header_only(0, 0)}), [], "empty (0-pixel) image"),
    "atlas-30000x30000": (
        files(**{"atlas0.png": _png_header_only(30000, 30000)}),
        [],
        "atlas0.png is 30000x30000 (900 megapixels)",
    ),
    "atlas-pages-together": (
        both(
            edit(lambda d: d.update(textures=["atlas0.png", "a1.png", "a2.png"])),
            files(**{"a1.png": _png_header_only(8192, 8192), "a2.png": _png_header_only(8192, 8192)}),
        ),
        [],
        "together, more than the 134 megapixels",
    ),
    "atlas-over-256-mb": (
        _sparse("atlas0.png", 300 * 2**20, _png_header_only(64, 64)),
        [],
        "more than the 256 MB the runtime reads",
    ),
    "atlas-cut-short": (
        lambda folder, data: (folder / "atlas0.png").write_bytes((folder / "atlas0.png").read_bytes()[:400]),
        [],
        "is not a readable PNG image",
    ),
    "atlas-rects-together": (edit(_rects_over_budget), [], "atlas rectangles hold 138 megapixels"),
    "atlas-rect-outside": (
        edit(lambda d: d["layers"][0].update(atlas_rect=[0, 0, 5000, 5000])),
        [],
        "atlas rect outside its texture",
    ),
    "too-many-items": (
        edit(lambda d: d.update(parameters=d["parameters"] * 2001)),
        [],
        "too many parameters",
    ),
    "triangle-index": (
        edit(lambda d: d["meshes"][0]["triangles"].__setitem__(0, -1)),
        [],
        "triangle index out of range",
    ),
    "300k-huge-triangles": (edit(_big_triangles), [], "canvases of triangles"),
    "900k-vertices-300k-large-triangles": (edit(_many_vertices_large_triangles), [], "canvases of triangles"),
    "300k-thin-slivers": (edit(_thin_slivers), [], "million triangle pixels, more than the"),
    "keyforms-overflow-at-the-pose": (
        edit(_overflowing_keyforms),
        [],
        "not finite numbers (its keyforms overflow)",
    ),
    "over-2m-triangles": (
        edit(_too_many_triangles),
        [],
        "triangles, more than the 2000000 the runtime supports",
    ),
    "curve-over-100k-keys": (edit(_long_curve), [], "a curve of more than 100000 keys"),
}

OPTION_CASES = {
    "param-nan": (["--param", "ParamAngleX=nan"], "'nan' is not a finite number"),
    "param-inf": (["--param", "ParamAngleX=inf"], "'inf' is not a finite number"),
    "param-text": (["--param", "ParamAngleX=left"], "'left' is not a number"),
    "param-unknown": (["--param", "ParamNope=1"], "unknown parameter(s) ParamNope"),
    "size-0x0": (["--size", "0x0"], "--size is 0x0; it needs at least one pixel each way"),
    "size-negative": (["--size=-5x10"], "--size is -5x10; it needs at least one pixel each way"),
    "size-beyond-a-side": (["--size", "100000x100000"], "at most 16384 pixels a side"),
    "size-beyond-the-pixels": (["--size", "10000x10000"], "more than the 67 megapixels the runtime draws"),
    "size-text": (["--size", "big"], "--size needs WIDTHxHEIGHT"),
}


def _box(tmp_path, good):
    shutil.copytree(good["web"], tmp_path / "web")
    shutil.copy(good["pose"], tmp_path / "pose.png")  # the earlier good render at -o
    (tmp_path / "tmp").mkdir()
    return tmp_path


def _render(box, args, model=None, out=None):
    model = model or str(box / "web" / "model.json")
    return run_case(
        ["render", model, "-o", out or str(box / "pose.png"), *args],
        str(box),
        env=dict(os.environ, TMPDIR=str(box / "tmp")),
    )


@pytest.mark.parametrize("case", sorted(MODEL_CASES))
def test_hostile_model_is_refused_plainly(tmp_path, good, case):
    breaker, args, fragment = MODEL_CASES[case]
    box = _box(tmp_path, good)
    breaker(box / "web", good["data"])
    before = snapshot(str(box))
    result = _render(box, args)
    result.assert_plain_refusal(fragment)
    assert changes(before, snapshot(str(box))) == [], "the earlier render and the model are untouched"


@pytest.mark.parametrize("case", sorted(OPTION_CASES))
def test_hostile_render_options_are_refused_plainly(tmp_path, good, case):
    args, fragment = OPTION_CASES[case]
    box = _box(tmp_path, good)
    before = snapshot(str(box))
    result = _render(box, args)
    result.assert_plain_refusal(fragment)
    assert changes(before, snapshot(str(box))) == []
    assert result.seconds < 10


# --------------------------------------------------------------------- where -o points
def _out_case(box, case):
    if case == "a-folder":
        (box / "renders").mkdir()
        return str(box / "renders"), "is a folder; give -o a file name ending in .png"
    if case == "text-suffix":
        return str(box / "pose.txt"), "'pose.txt' does not end in .png"
    if case == "jpeg-suffix":
        return str(box / "pose.jpg"), "the render is a PNG image (RGBA, with transparency)"
    if case == "under-a-file":
        return str(box / "pose.png" / "deeper" / "x.png"), "pose.png is a file, not a folder"
    if case == "the-models-own-atlas":
        return str(box / "web" / "atlas0.png"), "is one of the model's own files"
    raise AssertionError(case)


@pytest.mark.parametrize(
    "case", ["a-folder", "text-suffix", "jpeg-suffix", "under-a-file", "the-models-own-atlas"]
)
def test_an_unusable_output_path_is_refused_before_any_work(tmp_path, good, case):
    box = _box(tmp_path, good)
    out, fragment = _out_case(box, case)
    before = snapshot(str(box))
    result = _render(box, [], out=out)
    result.assert_plain_refusal(fragment)
    assert changes(before, snapshot(str(box))) == []


def test_an_unwritable_output_folder_is_refused(tmp_path, good):
    """A read-only filesystem (private tmpfs) where the user cannot write, even as root."""
    why = tmpfs_available()
    if why:
        if os.geteuid() == 0:
            pytest.skip(why)
        box = _box(tmp_path, good)
        (box / "locked").mkdir()
        (box / "locked").chmod(0o500)
        before = snapshot(str(box))
        result = _render(box, [], out=str(box / "locked" / "pose.png"))
        result.assert_plain_refusal("is not writable (permission denied)")
        assert changes(before, snapshot(str(box))) == []
        return
    box = _box(tmp_path, good)
    mount = box / "disk"
    mount.mkdir()
    earlier = box / "earlier"
    earlier.mkdir()
    shutil.copy(good["pose"], earlier / "pose.png")
    result, listing = run_in_tmpfs(
        ["render", str(box / "web" / "model.json"), "-o", str(mount / "renders" / "pose.png")],
        str(mount),
        4096,
        {"renders": str(earlier)},
        str(box / "tmp"),
        read_only=True,
    )
    result.assert_plain_refusal("is not writable (permission denied)")
    assert set(listing) == {"renders/", "renders/pose.png"}


def test_a_full_disk_keeps_the_earlier_render(tmp_path, good):
    """The disk fills up while the PNG is written: the earlier image at -o stays
    whole and no partial file is left (written beside, renamed into place)."""
    why = tmpfs_available()
    if why:
        pytest.skip(why)
    box = _box(tmp_path, good)
    mount = box / "disk"
    mount.mkdir()
    earlier = box / "earlier"
    earlier.mkdir()
    shutil.copy(good["pose"], earlier / "pose.png")
    fill = (
        "import image_to_rig.core.formats.image_out as _O\n_w = _O.write_png\n"
        "def _p(path, rgba):\n"
        "    try:\n"
        f"        with open({str(mount / 'filler')!r}, 'wb') as fh:\n"
        "            while True: fh.write(b'\\0' * 65536); fh.flush()\n"
        "    except OSError: pass\n"
        "    return _w(path, rgba)\n"
        "_O.write_png = _p\n"
    )
    result, listing = run_in_tmpfs(
        [
            "render",
            str(box / "web" / "model.json"),
            "--param",
            "ParamAngleX=20",
            "-o",
            str(mount / "renders" / "pose.png"),
        ],
        str(mount),
        4096,
        {"renders": str(earlier)},
        str(box / "tmp"),
        patch=fill,
    )
    result.assert_plain_refusal("could not be written (the disk is full); nothing was changed there")
    import hashlib

    assert listing["renders/pose.png"] == hashlib.sha256(good["pose"].read_bytes()).hexdigest()
    assert set(listing) == {"renders/", "renders/pose.png", "filler"}, "no partial file left"


# --------------------------------------------------------------------- the model's path
def test_a_model_path_that_is_a_folder_or_missing_is_refused(tmp_path, good):
    box = _box(tmp_path, good)
    before = snapshot(str(box))
    result = _render(box, [], model=str(box / "web"))
    result.assert_plain_refusal("is a folder; give the model.json")
    result = _render(box, [], model=str(box / "web" / "nowhere.json"))
    result.assert_plain_refusal("cannot read")
    assert changes(before, snapshot(str(box))) == []


# --------------------------------------------------------------------- the .moc3 route
MOC3_CASES = {
    "model3-nested-100k": (
        lambda f: (f / "sample.model3.json").write_text("[" * 100000 + "]" * 100000),
        "sample.model3.json",
        "nests lists or objects more than 64 deep",
    ),
    "texture-30000x30000": (
        lambda f: (f / "atlas0.png").write_bytes(_png_header_only(30000, 30000)),
        "sample.moc3",
        "atlas0.png is 30000x30000",
    ),
    "texture-not-png": (
        lambda f: (f / "atlas0.png").write_bytes(b"GIF89a" + b"\0" * 64),
        "sample.moc3",
        "is not a PNG image",
    ),
    "moc3-cut-short": (
        lambda f: (f / "sample.moc3").write_bytes((f / "sample.moc3").read_bytes()[:900]),
        "sample.moc3",
        "is not a .moc3: it is only 900 bytes long",
    ),
}


@pytest.mark.parametrize("case", sorted(MOC3_CASES))
def test_hostile_cubism_files_are_refused_plainly(tmp_path, good, case):
    breaker, target, fragment = MOC3_CASES[case]
    box = _box(tmp_path, good)
    stem = next(n[:-5] for n in os.listdir(box / "web") if n.endswith(".moc3"))
    names = {"sample.model3.json": f"{stem}.model3.json", "sample.moc3": f"{stem}.moc3"}
    breaker(_Renamer(box / "web", names))
    before = snapshot(str(box))
    result = _render(box, [], model=str(box / "web" / names.get(target, target)))
    result.assert_plain_refusal(fragment)
    assert changes(before, snapshot(str(box))) == []


class _Renamer:
    """A folder path whose / maps the cases' "sample.*" names onto the export's stem."""

    def __init__(self, folder, names):
        self.folder, self.names = folder, names

    def __truediv__(self, name):
        return self.folder / self.names.get(name, name)


# --------------------------------------------------------------------- never a wrong image
def test_a_16_bit_atlas_renders_like_the_8_bit_one(tmp_path, good):
    box = _box(tmp_path, good)
    img = cv2.imread(str(box / "web" / "atlas0.png"), cv2.IMREAD_UNCHANGED)
    cv2.imwrite(str(box / "web" / "atlas0.png"), img.astype(np.uint16) * 257)
    assert cv2.imread(str(box / "web" / "atlas0.png"), cv2.IMREAD_UNCHANGED).dtype == np.uint16
    result = _render(box, [], out=str(box / "pose16.png"))
    assert result.code == 0, result.stderr
    result.assert_within_budget()
    a = cv2.imread(str(good["pose"]), cv2.IMREAD_UNCHANGED)
    b = cv2.imread(str(box / "pose16.png"), cv2.IMREAD_UNCHANGED)
    assert a[..., 3].astype(bool).sum() > 10000
    assert np.array_equal(a, b), "the same pixels as the 8-bit atlas"


@pytest.mark.parametrize("kind", ["rgb", "grey", "palette"])
def test_other_png_kinds_of_atlas_load_as_the_player_reads_them(tmp_path, good, kind):
    from PIL import Image

    from image_to_rig.core.formats.atlas_in import read_atlas_pages

    rgba = cv2.cvtColor(
        cv2.imread(str(good["web"] / "atlas0.png"), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGRA2RGBA
    )
    im = Image.fromarray(rgba)
    converted = {
        "rgb": im.convert("RGB"),
        "grey": im.convert("L"),
        "palette": im.convert("RGB").convert("P"),
    }[kind]
    converted.save(tmp_path / "page.png")
    page = read_atlas_pages(str(tmp_path), ["page.png"])[0]
    expected = np.array(converted.convert("RGBA"))
    assert page.shape == rgba.shape and page.dtype == np.uint8
    assert np.array_equal(page, expected)


def test_the_budgets_are_checked_before_any_atlas_is_decoded(tmp_path, good, monkeypatch):
    """The refused models never reach the PNG decoder (nor allocate a page)."""
    from image_to_rig.core.formats.model_json import load_model
    from image_to_rig.core.model.document import DocumentError

    decoded = []
    real = cv2.imread

    def counting(path, *a):
        decoded.append(os.path.basename(path))
        return real(path, *a)

    monkeypatch.setattr(cv2, "imread", counting)  # atlas_in imports cv2 when it reads
    for case in (
        "atlas-30000x30000",
        "atlas-pages-together",
        "texture-named-2000-times",
        "300k-huge-triangles",
        "atlas-rects-together",
        "canvas-over-64-megapixels",
    ):
        folder = tmp_path / case
        shutil.copytree(good["web"], folder)
        MODEL_CASES[case][0](folder, good["data"])
        with pytest.raises(DocumentError):
            load_model(str(folder / "model.json"))
    assert decoded == [], decoded
    # and a page listed twice is decoded once
    folder = tmp_path / "twice"
    shutil.copytree(good["web"], folder)
    data = copy.deepcopy(good["data"])
    data["textures"] = ["atlas0.png", "atlas0.png"]
    (folder / "model.json").write_text(json.dumps(data))
    load_model(str(folder / "model.json"))
    assert decoded == ["atlas0.png"]


def test_banded_rendering_is_pixel_for_pixel_one_render(good):
    from image_to_rig.core.formats.model_json import load_model
    from image_to_rig.core.runtime.render import Renderer
    from image_to_rig.core.runtime.render_bounded import render_bounded

    renderer = Renderer(load_model(str(good["web"] / "model.json")))
    for values in ({}, {"ParamAngleX": 30, "ParamAngleZ": -20, "ParamBodyAngleX": 10}):
        whole = renderer.render(values)
        for band in (256 * 7, 256 * 31, 1 << 22):
            assert np.array_equal(render_bounded(renderer, values, band_pixels=band), whole)
        assert np.array_equal(
            render_bounded(renderer, values, (300, 280), (255, 255, 255), 300 * 9),
            renderer.render(values, (300, 280), (255, 255, 255)),
        )


def test_a_large_mostly_empty_render_stays_small(tmp_path, good):
    """The largest image the runtime draws (8192x8192): about 4 bytes a pixel,
    not the 16+ of one float render (it took 4.0 GB before)."""
    box = _box(tmp_path, good)
    result = _render(box, ["--size", "8192x8192"], out=str(box / "big.png"))
    assert result.code == 0, result.stderr
    result.assert_within_budget()
    assert result.peak_mb < 1024, result.peak_mb
    assert cv2.imread(str(box / "big.png"), cv2.IMREAD_UNCHANGED).shape == (8192, 8192, 4)
