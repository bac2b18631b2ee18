# SPDX-License-Identifier: GPL-3.0-or-later
"""Write an export folder: model.json, atlas PNGs and the web viewer, plus the
Cubism interchange files and a layered PSD for going on in other tools.

Folder contents (``<stem>`` is the source image's name without extension, or
"model"):

* model.json, atlas<N>.png, index.html, player.js, viewer.js: the web player;
* motions/<id>.motion3.json, expressions/<name>.exp3.json, <stem>.cdi3.json,
  <stem>.physics3.json (when the rig has physics): Cubism interchange files;
* <stem>.moc3: the same rig for the official Cubism Core (VTube Studio, the
  Cubism SDKs), written by core/formats/moc3_export.py from model.json's own data;
* <stem>.model3.json listing them (Moc: the .moc3, plus textures, physics,
  motions, expressions, display info, the EyeBlink / LipSync groups and the
  Head / Body hit areas).  The folder is a Cubism model folder as VTube
  Studio's Live2DModels expects it (docs/vtube-studio.md).  Our player reads
  model.json beside the .moc3; both describe the same rig.
* <stem>.psd: the layers (hidden parts complete) in depth order.

The folder is written into a hidden sibling and swapped into place only when
complete (core/formats/output_folder.py), so a failed export leaves nothing
half-written and an earlier export in the same place untouched.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Sequence

import cv2
import numpy as np

from .atlas import AtlasError, pack_atlas
from ..model.document import DocumentError, Layer, RigDocument
from ..model.errors import ImageToRigError
from .cubism_json import interchange_files
from .moc3 import Moc3Error
from .moc3_export import moc3_from_runtime
from .model_json import to_runtime, validate_runtime
from .output_folder import FolderLock, OutputFolderError, check_target, make_staging, plain_os_error, swap_in
from .psd_out import write_psd

PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WEB_DIR = os.path.join(PACKAGE_DIR, "web")
VIEWER_FILES = (
    "index.html",
    "live.html",
    "player.js",
    "viewer.js",
    "live.js",
    "hotkeys.js",
    "constants.json",
    "LICENSE-MIT",
)
# Folders of web/ whose run-time files are copied too (the player's modules, the
# vendored face tracker); package.json, README, CHANGELOG and player.d.ts are
# for developers and stay behind.
VIEWER_FOLDERS = ("player", "vendor")
VIEWER_SUFFIXES = (".js", ".json", ".bin", ".wasm", ".txt", ".md")
MODEL_FILE = "model.json"


class ExportError(ImageToRigError):
    """The export folder could not be written; the message says why and what to do."""


def atlas_name(page: int) -> str:
    return f"atlas{page}.png"


def export_stem(doc: RigDocument) -> str:
    """File stem of the Cubism files: the source image's name without extension, or "model"."""
    base = os.path.splitext(os.path.basename(doc.source or ""))[0]
    base = re.sub(r"[^A-Za-z0-9_.-]+", "_", base).strip("._")
    return base or "model"


# Hit areas: (name, the meshes that stand for it, first found).
HIT_AREAS = (
    ("Head", ("face", "front-hair", "back-hair")),
    ("Body", ("topwear", "neck-mesh", "neck", "bottomwear")),
)


def model3(
    doc: RigDocument, stem: str, textures: Sequence[str], files: dict[str, dict], moc: str = MODEL_FILE
) -> dict:
    """The <stem>.model3.json dictionary listing the interchange files (see the module docstring)."""
    refs: dict = {"Moc": moc, "Textures": list(textures)}
    if f"{stem}.physics3.json" in files:
        refs["Physics"] = f"{stem}.physics3.json"
    if f"{stem}.cdi3.json" in files:
        refs["DisplayInfo"] = f"{stem}.cdi3.json"
    expressions = [
        {"Name": path.split("/")[-1][: -len(".exp3.json")], "File": path}
        for path in files
        if path.startswith("expressions/")
    ]
    if expressions:
        refs["Expressions"] = expressions
    motions: dict[str, list] = {}
    for m in doc.motions:
        path = f"motions/{m.id}.motion3.json"
        if path in files:
            motions.setdefault(m.id, []).append({"File": path, "FadeInTime": 0.5, "FadeOutTime": 0.5})
    if motions:
        refs["Motions"] = motions
    have = {p.id for p in doc.parameters}
    groups = []
    for name, ids in (("EyeBlink", ("ParamEyeLOpen", "ParamEyeROpen")), ("LipSync", ("ParamMouthOpenY",))):
        present = [i for i in ids if i in have]
        if present:
            groups.append({"Target": "Parameter", "Name": name, "Ids": present})
    out = {"Version": 3, "FileReferences": refs}
    if groups:
        out["Groups"] = groups
    hit_areas = model3_hit_areas(doc)
    if hit_areas:
        out["HitAreas"] = hit_areas
    return out


def model3_hit_areas(doc: RigDocument) -> list[dict]:
    """model3.json HitAreas: Head and Body, each the id of an existing mesh."""
    have = {m.id for m in doc.meshes}
    out = []
    for name, candidates in HIT_AREAS:
        mesh = next((c for c in candidates if c in have), None)
        if mesh:
            out.append({"Id": mesh, "Name": name})
    return out


def psd_layer_order(doc: RigDocument) -> list[Layer]:
    """Layers back to front: by their first mesh in the draw order; layers
    without a mesh stay just above the layer listed before them."""
    mesh_layer = {m.id: m.layer for m in doc.meshes}
    depth: dict[str, float] = {}
    for i, mesh_id in enumerate(doc.draw_order):
        depth.setdefault(mesh_layer[mesh_id], float(i))
    keyed, last = [], -1.0
    for i, layer in enumerate(doc.layers):
        last = depth.get(layer.id, last + 1e-3)
        keyed.append((last, i, layer))
    return [layer for _, _, layer in sorted(keyed, key=lambda k: (k[0], k[1]))]


def build_runtime(doc: RigDocument, padding: int = 4, max_size: int = 4096) -> tuple[dict, list[np.ndarray]]:
    """The checked model.json dictionary and its atlas pages (RGBA, straight alpha)."""
    try:
        doc.validate()
        pages, placements = pack_atlas(doc.layers, padding=padding, max_size=max_size)
        names = [atlas_name(i) for i in range(len(pages))]
        sizes = [(int(p.shape[1]), int(p.shape[0])) for p in pages]
        data = to_runtime(doc, names, sizes, placements)
        validate_runtime(data)
    except (DocumentError, AtlasError) as exc:
        raise ExportError(f"cannot export this rig: {exc}") from None
    return data, pages


def _write_png(path: str, rgba: np.ndarray) -> None:
    ok, buf = cv2.imencode(".png", cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA), [cv2.IMWRITE_PNG_COMPRESSION, 3])
    if not ok:
        raise ExportError(f"could not encode {os.path.basename(path)} as PNG")
    with open(path, "wb") as fh:
        fh.write(buf.tobytes())


def _write_model(path: str, data: dict) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(data, fh, separators=(",", ":"), ensure_ascii=False)


def viewer_files() -> list[str]:
    """The web/ files an export needs at run time, as paths relative to web/."""
    names = list(VIEWER_FILES)
    for top in VIEWER_FOLDERS:
        for root, dirs, files in os.walk(os.path.join(WEB_DIR, top)):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "node_modules")
            for name in sorted(files):
                if name.endswith(VIEWER_SUFFIXES) or name.startswith("LICENSE"):
                    names.append(os.path.relpath(os.path.join(root, name), WEB_DIR).replace(os.sep, "/"))
    return names


def _copy_viewer(folder: str) -> None:
    for name in viewer_files():
        src = os.path.join(WEB_DIR, *name.split("/"))
        if not os.path.isfile(src):
            raise ExportError(
                f"the web viewer file {name} is missing from the add-on ({WEB_DIR}); reinstall Image to Rig"
            )
        dst = os.path.join(folder, *name.split("/"))
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(src, dst)


def moc3_name(doc: RigDocument) -> str:
    return f"{export_stem(doc)}.moc3"


def build_moc3(data: dict, pages: Sequence[np.ndarray]) -> bytes:
    """The .moc3 of a checked model.json and its atlas pages."""
    try:
        return moc3_from_runtime(data, pages)
    except (Moc3Error, DocumentError) as exc:
        raise ExportError(f"cannot write the .moc3 for VTube Studio and the Cubism SDKs: {exc}") from None


def _write_interchange(folder: str, doc: RigDocument, textures: Sequence[str], moc: bytes = None) -> None:
    stem = export_stem(doc)
    files = interchange_files(doc, stem)
    if moc is not None:
        with open(os.path.join(folder, moc3_name(doc)), "wb") as fh:
            fh.write(moc)
    files[f"{stem}.model3.json"] = model3(
        doc, stem, textures, files, moc3_name(doc) if moc is not None else MODEL_FILE
    )
    for rel, content in files.items():
        path = os.path.join(folder, *rel.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(content, fh, indent=1, ensure_ascii=False)
    write_psd(psd_layer_order(doc), doc.canvas, os.path.join(folder, f"{stem}.psd"))


def _write_contents(
    folder: str, data: dict, pages: Sequence[np.ndarray], doc: RigDocument = None, moc: bytes = None
) -> None:
    for i, page in enumerate(pages):
        _write_png(os.path.join(folder, atlas_name(i)), page)
    _write_model(os.path.join(folder, MODEL_FILE), data)
    if doc is not None:
        _write_interchange(folder, doc, data["textures"], moc)
    _copy_viewer(folder)


def is_export(folder: str) -> bool:
    """An earlier export (it holds a model.json), which may be replaced."""
    return os.path.isfile(os.path.join(folder, MODEL_FILE))


def export_folder(
    doc: RigDocument,
    out_dir: str,
    padding: int = 4,
    max_size: int = 4096,
    moc3: bool = True,
    warnings: list[str] | None = None,
) -> str:
    """Export `doc` as a self-contained web folder at `out_dir`; returns its absolute path.

    An existing `out_dir` is replaced only if it is empty or an earlier export
    (holds a model.json); anything else is refused rather than deleted.  The
    folder is written beside and swapped in all or nothing
    (core/formats/output_folder.py).  `moc3` writes <stem>.moc3 and points
    model3.json at it (the default).  A rig the Cubism Core cannot reproduce
    exactly (core/formats/moc3_export.py says why) is exported without it, its
    model3.json naming model.json as before; the reason is appended to
    `warnings` (pass a list to hear it) -- never a .moc3 that moves differently.
    """
    data, pages = build_runtime(doc, padding=padding, max_size=max_size)
    moc = None
    if moc3:
        try:
            moc = build_moc3(data, pages)
        except ExportError as exc:
            if warnings is None:
                warnings = []
            warnings.append(f"{exc}; the export has no .moc3")
    try:
        out_dir = check_target(out_dir, is_export, "export")
        with FolderLock(out_dir):
            staging = make_staging(out_dir)
            try:
                try:
                    _write_contents(staging, data, pages, doc, moc)
                except OSError as exc:
                    raise ExportError(
                        f"writing the export beside {out_dir} failed: "
                        f"{plain_os_error(exc)}; check free disk space and "
                        "permissions"
                    ) from None
                swap_in(staging, out_dir)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    except OutputFolderError as exc:
        raise ExportError(str(exc)) from None
    return out_dir
