# SPDX-License-Identifier: GPL-3.0-or-later
"""Hostile input to `rig` (issue 9, items 8 and 13): every case ends with
exit 2 and a plain message (or, for two characters side by side, a rig of
one of them and a warning that says which), touches nothing outside its
output, leaves an earlier good result in the output folder whole, and stays
within 20 s and 2 GB.  Each runs the real command line in its own process
(tests/hostile_support.py measures it)."""

import json
import os
import shutil
import struct
import zlib

import cv2
import numpy as np
import pytest

from hostile_support import changes, run_case, run_in_tmpfs, snapshot, tmpfs_available, tree_hashes
from psd_craft import small_layers, write_psd


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """An illustration and the result of rigging it: the earlier good result
    each case finds in its output folder."""
    from image_to_rig.devkit.sample import make_sample

    root = tmp_path_factory.mktemp("good")
    image = root / "girl.png"
    cv2.imwrite(str(image), cv2.cvtColor(make_sample(256).image, cv2.COLOR_RGBA2BGRA))
    result = run_case(["rig", str(image), "--out", str(root / "out"), "--quiet"], str(root))
    assert result.code == 0, result.stderr
    return {"image": str(image), "out": str(root / "out")}


def _sandbox(tmp_path, good):
    """tmp_path/in (the inputs), tmp_path/out (a copy of the earlier result),
    tmp_path/tmp (the case's TMPDIR, empty)."""
    (tmp_path / "in").mkdir()
    shutil.copy(good["image"], tmp_path / "in" / "girl.png")
    shutil.copytree(good["out"], tmp_path / "out")
    (tmp_path / "tmp").mkdir()
    return tmp_path


def _run_refused(tmp_path, good, args, fragment, make_input=None, patch=""):
    box = _sandbox(tmp_path, good)
    if make_input is not None:
        make_input(box / "in")
    before = snapshot(str(box))
    args = [a.replace("{in}", str(box / "in")) for a in args]
    result = run_case(
        ["rig", *args, "--out", str(box / "out")],
        str(box),
        env=dict(os.environ, TMPDIR=str(box / "tmp")),
        patch=patch,
    )
    result.assert_plain_refusal(fragment)
    assert changes(before, snapshot(str(box))) == [], "nothing changed, output included"
    return result


# ------------------------------------------------------------------ options
@pytest.mark.parametrize("value", ["inf", "nan", "-inf", "1e400", "-1", "0", "0.1", "100", "abc"])
def test_mesh_density_out_of_range_is_refused(tmp_path, good, value):
    fragment = (
        "the mesh density must be a number from 0.25 to 4.0"
        if value != "abc"
        else "argument --mesh-density: invalid float value: 'abc'"
    )
    result = _run_refused(tmp_path, good, ["{in}/girl.png", f"--mesh-density={value}"], fragment)
    assert result.seconds < 10


# ------------------------------------------------------------------ PSD input
def _huge_layer(folder):
    # a 64x64 canvas whose one layer record claims 60000x60000 (3.6 gigapixels)
    write_psd(str(folder / "art.psd"), 64, 64, [("face", (0, 0, 60000, 60000), b"\0\2")])


def _many_layers(folder):
    # each 9000x9000 layer is allowed alone; five together are 405 megapixels
    write_psd(str(folder / "art.psd"), 64, 64, [(f"part {i}", (0, 0, 9000, 9000), b"\0\2") for i in range(5)])


def _nested(folder):
    write_psd(str(folder / "art.psd"), 64, 64, small_layers(64, 64), nested_resource_depth=80)


def _huge_canvas(folder):
    write_psd(str(folder / "art.psd"), 64, 64, small_layers(64, 64))
    data = bytearray((folder / "art.psd").read_bytes())
    data[14:22] = struct.pack(">II", 20000, 20000)  # the header's height and width
    (folder / "art.psd").write_bytes(bytes(data))


def _truncated(folder):
    write_psd(str(folder / "art.psd"), 96, 96, small_layers(96, 96))
    data = (folder / "art.psd").read_bytes()
    (folder / "art.psd").write_bytes(data[:150])  # inside the layer records


def _not_a_psd(folder):
    (folder / "art.psd").write_text("just some notes, not a Photoshop file")


PSD_CASES = {
    "huge-layer": (
        _huge_layer,
        "layer 'face' is 60000x60000 pixels (3,600 megapixels), more than "
        "the 100 megapixels a layer may have",
    ),
    "layers-together": (_many_layers, "its layers hold more than 400 megapixels together"),
    "nested-descriptors": (_nested, "nests its descriptors deeper than a PSD reader follows"),
    "huge-canvas": (_huge_canvas, "is 20000x20000 pixels; the limit is 100 megapixels"),
    "truncated": (_truncated, "is not a readable PSD"),
    "not-a-psd": (_not_a_psd, "is not a readable PSD"),
}


@pytest.mark.parametrize("case", sorted(PSD_CASES))
def test_hostile_psd_is_refused_from_its_header(tmp_path, good, case):
    make, fragment = PSD_CASES[case]
    result = _run_refused(tmp_path, good, ["{in}/art.psd"], fragment, make_input=make)
    assert result.peak_mb < 1000, "refused before any layer was decoded"


def test_a_psd_layer_whose_pixels_do_not_decode_is_refused(tmp_path, good):
    def broken(folder):
        # a plausible layer whose zip-compressed channels are cut short
        good_channel = zlib.compress(b"\x80" * 64 * 64)
        write_psd(
            str(folder / "art.psd"),
            64,
            64,
            [("face", (0, 0, 64, 64), b"\0\2" + good_channel[: len(good_channel) // 2])],
        )

    result = _run_refused(tmp_path, good, ["{in}/art.psd"], "cannot use", make_input=broken)
    assert "cannot be decoded" in result.stderr or "no pixel layers" in result.stderr, result.stderr


def test_a_psd_whose_flattened_image_is_cut_short_rigs_its_layers_with_a_warning(tmp_path, good):
    box = _sandbox(tmp_path, good)
    write_psd(str(box / "in" / "art.psd"), 96, 96, small_layers(96, 96))
    data = (box / "in" / "art.psd").read_bytes()
    (box / "in" / "art.psd").write_bytes(data[: len(data) // 3])  # the layers whole, the rest cut
    before = snapshot(str(box))
    result = run_case(
        ["rig", str(box / "in" / "art.psd"), "--out", str(box / "out")],
        str(box),
        env=dict(os.environ, TMPDIR=str(box / "tmp")),
    )
    assert result.code == 0, result.stderr
    result.assert_within_budget()
    assert "warning: the PSD's flattened image is damaged" in result.stderr
    assert [c for c in changes(before, snapshot(str(box))) if not c.split()[1].startswith("out/")] == []
    assert os.listdir(box / "tmp") == []


# ------------------------------------------------------------------ image input
def _png_header_only(width, height):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


IMAGE_CASES = {
    "bomb-header": (lambda f: (f / "art.png").write_bytes(_png_header_only(60000, 60000)), "megapixels"),
    "text-as-png": (lambda f: (f / "art.png").write_text("hello"), "not an image"),
    "empty-file": (lambda f: (f / "art.png").write_bytes(b""), "art.png"),
    "tiny": (lambda f: cv2.imwrite(str(f / "art.png"), np.zeros((4, 4, 4), np.uint8)), "art.png"),
    "a-folder": (lambda f: (f / "art.png").mkdir(), "art.png"),
}


@pytest.mark.parametrize("case", sorted(IMAGE_CASES))
def test_hostile_image_input_is_refused(tmp_path, good, case):
    make, fragment = IMAGE_CASES[case]
    _run_refused(tmp_path, good, ["{in}/art.png"], fragment, make_input=make)


def _greyscale(f):
    cv2.imwrite(str(f / "art.png"), cv2.cvtColor(cv2.imread(str(f / "girl.png")), cv2.COLOR_BGR2GRAY))


def test_greyscale_art_without_animeface_is_refused_in_plain_words(tmp_path, good):
    """animeface reads shapes and rigs greyscale drawings; the built-in face
    finder needs skin tones and says so (the Windows case, no animeface wheel)."""
    _run_refused(tmp_path, good, ["{in}/art.png", "--no-animeface"], "greyscale", make_input=_greyscale)


def test_a_missing_input_is_refused(tmp_path, good):
    _run_refused(tmp_path, good, ["{in}/nowhere.png"], "does not exist")


# ------------------------------------------------------------------ disk full (simulated)
ENOSPC_REPORT = r"""
import builtins, errno, io
_open = builtins.open
class _Full(io.RawIOBase):
    def __init__(self, fh): self.fh = fh
    def writable(self): return True
    def write(self, data):
        self.fh.write(data[:10])  # a few bytes land, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")
    def close(self): self.fh.close()
def _patched(file, mode="r", *a, **k):
    fh = _open(file, mode, *a, **k)
    if str(file).endswith("report.json") and "w" in mode:
        return io.TextIOWrapper(io.BufferedWriter(_Full(_open(file, "wb"))), encoding="utf-8")
    return fh
builtins.open = _patched
"""

ENOSPC_BLEND = r"""
import image_to_rig.core.formats.export_folder as _E
_export = _E.export_folder
def _export_then_fill(*a, **k):
    out = _export(*a, **k)
    import bpy
    real = bpy.ops.wm
    class _WM:
        def __getattr__(self, name): return getattr(real, name)
        def save_as_mainfile(self, **kw):  # what Blender raises when its write fails
            raise RuntimeError("Error: No space left on device\n")
    bpy.ops.wm = _WM()
    return out
_E.export_folder = _export_then_fill
"""


@pytest.mark.parametrize("where", ["report.json", ".blend"])
def test_disk_full_is_a_plain_error_and_the_earlier_result_stays(tmp_path, good, where):
    patch = ENOSPC_REPORT if where == "report.json" else ENOSPC_BLEND
    fragment = "the disk is full" if where == ".blend" else "failed: the disk is full"
    result = _run_refused(tmp_path, good, ["{in}/girl.png"], fragment, patch=patch)
    assert "nothing was changed there" in result.stderr


# ------------------------------------------------------------------ disk full (a real, tiny disk)
FILL = r"""
def _fill():
    import os
    try:
        with open(os.path.join({mount!r}, "filler"), "wb") as fh:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
    except OSError:
        pass
"""

FILL_AT = {
    # name -> (code run before the CLI, the message)
    "layers": (
        "import image_to_rig.cli as _C\n_w = _C.write_layer_pngs\n"
        "def _p(*a, **k):\n    _fill(); return _w(*a, **k)\n_C.write_layer_pngs = _p\n",
        "the disk is full",
    ),
    "web-export": (
        "import image_to_rig.core.formats.export_folder as _E\n_x = _E.export_folder\n"
        "def _p(*a, **k):\n    _fill(); return _x(*a, **k)\n_E.export_folder = _p\n",
        "disk is full",
    ),
    ".blend": (
        "import image_to_rig.core.formats.export_folder as _E\n_x = _E.export_folder\n"
        "def _p(*a, **k):\n    r = _x(*a, **k); _fill(); return r\n_E.export_folder = _p\n",
        "Blender could not save girl.blend beside the output folder (the disk is full)",
    ),
    "report.json": (
        "import image_to_rig.core.pipeline as _P\n_r = _P.PipelineResult.report\n"
        "def _p(self):\n    _fill(); return _r(self)\n_P.PipelineResult.report = _p\n",
        "failed: the disk is full",
    ),
}


@pytest.mark.parametrize("where", sorted(FILL_AT))
def test_a_real_full_disk_is_a_plain_error_and_the_earlier_result_stays(tmp_path, good, where):
    """A 48 MB private filesystem (user + mount namespace) holds the earlier
    result; the disk fills up just before the named step writes."""
    why = tmpfs_available()
    if why:
        pytest.skip(why)
    mount = tmp_path / "disk"
    mount.mkdir()
    (tmp_path / "tmp").mkdir()
    code, fragment = FILL_AT[where]
    result, listing = run_in_tmpfs(
        ["rig", good["image"], "--out", str(mount / "out"), "--quiet"],
        str(mount),
        48 * 1024,
        {"out": good["out"]},
        str(tmp_path / "tmp"),
        patch=FILL.format(mount=str(mount)) + code,
    )
    result.assert_plain_refusal(fragment)
    assert "nothing was changed" in result.stderr, result.stderr
    assert ".staging" not in result.stderr, "the user's folder is named, not the staging one"
    expected = {f"out/{k}": v for k, v in tree_hashes(good["out"]).items()}
    expected["out/"] = "dir"
    expected["filler"] = listing.get("filler")
    assert listing == expected, sorted(set(listing) ^ set(expected))
    assert os.listdir(tmp_path / "tmp") == [], "no temporary folder left behind"


def test_a_read_only_disk_is_a_plain_error(tmp_path, good):
    why = tmpfs_available()
    if why:
        pytest.skip(why)
    mount = tmp_path / "disk"
    mount.mkdir()
    (tmp_path / "tmp").mkdir()
    result, listing = run_in_tmpfs(
        ["rig", good["image"], "--out", str(mount / "out"), "--quiet"],
        str(mount),
        16 * 1024,
        {"out": good["out"]},
        str(tmp_path / "tmp"),
        read_only=True,
    )
    result.assert_plain_refusal("is not writable; choose a folder you can write to")
    expected = {f"out/{k}": v for k, v in tree_hashes(good["out"]).items()}
    expected["out/"] = "dir"
    assert listing == expected


# ------------------------------------------------------------------ two characters
def _side_by_side(seed_a=3, seed_b=7, size=384, overlap=0):
    from image_to_rig.devkit.synth import make_character

    a = make_character(seed_a, size, background="transparent").image
    b = make_character(seed_b, size, background="transparent").image
    shift = size - overlap
    canvas = np.zeros((size, size + shift, 4), np.uint8)
    canvas[:, :size] = a
    region = canvas[:, shift:].astype(np.float64)
    alpha = b[..., 3:4] / 255.0
    region[..., :3] = b[..., :3] * alpha + region[..., :3] * (1 - alpha)
    region[..., 3:] = 255.0 * (alpha + region[..., 3:] / 255.0 * (1 - alpha))
    canvas[:, shift:] = np.rint(region).astype(np.uint8)
    return canvas


@pytest.mark.parametrize("animeface", [True, False], ids=["animeface", "built-in-finder"])
def test_two_characters_side_by_side_rig_one_and_say_which(tmp_path, good, animeface):
    if animeface:
        pytest.importorskip("animeface")
    box = _sandbox(tmp_path, good)
    image = _side_by_side()
    cv2.imwrite(str(box / "in" / "pair.png"), cv2.cvtColor(image, cv2.COLOR_RGBA2BGRA))
    before = snapshot(str(box))
    args = ["rig", str(box / "in" / "pair.png"), "--out", str(box / "out")]
    if not animeface:
        args.append("--no-animeface")
    result = run_case(args, str(box), env=dict(os.environ, TMPDIR=str(box / "tmp")))
    assert result.code == 0, result.stderr
    result.assert_within_budget()
    assert "warning: the image holds 2 characters: rigged the one on the" in result.stderr
    assert "crop the image to x" in result.stderr
    assert [c for c in changes(before, snapshot(str(box))) if not c.split()[1].startswith("out/")] == []
    report = json.loads((box / "out" / "report.json").read_text())
    faces = report["found"]["faces"]
    assert faces["count"] == 2 and len(faces["left_out"]) == 1
    rigged_x = (faces["rigged"][0] + faces["rigged"][2]) / 2
    other_x = (faces["left_out"][0][0] + faces["left_out"][0][2]) / 2
    # Nothing of the left-out character is in the rig: its half of every layer is empty.
    half = image.shape[1] // 2
    for name in os.listdir(box / "out" / "layers"):
        alpha = cv2.imread(str(box / "out" / "layers" / name), cv2.IMREAD_UNCHANGED)[..., 3]
        other_half = alpha[:, half:] if other_x > half else alpha[:, :half]
        assert other_half.max() == 0, f"{name} holds pixels of the left-out character"
    assert (rigged_x < half) != (other_x < half)


def test_two_touching_characters_are_refused_with_a_crop(tmp_path, good):
    pytest.importorskip("animeface")
    image = _side_by_side(overlap=132)

    def make(folder):
        cv2.imwrite(str(folder / "pair.png"), cv2.cvtColor(image, cv2.COLOR_RGBA2BGRA))

    result = _run_refused(tmp_path, good, ["{in}/pair.png"], "on one connected figure", make_input=make)
    assert "Crop the image to one character" in result.stderr and "keep about x 0-" in result.stderr


def test_one_character_gets_no_warning_about_faces(good):
    report = json.loads(open(os.path.join(good["out"], "report.json")).read())
    assert report["found"]["faces"]["count"] == 1
    assert not any("characters" in w for w in report["warnings"])
