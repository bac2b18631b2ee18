# SPDX-License-Identifier: GPL-3.0-or-later
"""The viewer fetches only from the model's own folder (docs/security.md).

A model3.json may name motion3 and exp3 files with any string; the viewer must
never follow one to another origin, another host or a sibling folder, and must
not play what such a file holds."""

import json
import shutil

import pytest

from image_to_rig.core.formats.cubism_json import motion3
from image_to_rig.core.formats.export_folder import export_folder, export_stem

from web_support import INSTALL_HINT, chromium_path, launch_chromium, make_face_document, serve_folder

try:
    import playwright  # noqa: F401

    BROWSER_MISSING = None if chromium_path() else INSTALL_HINT
except ImportError:
    BROWSER_MISSING = "pip install playwright (Chromium comes from apt: " + INSTALL_HINT + ")"

HOSTILE_REFERENCES = (
    "http://127.0.0.1:{other}/evil.motion3.json",
    "//127.0.0.1:{other}/evil.motion3.json",
    "../sibling/evil.motion3.json",
    "/sibling/evil.motion3.json",
    "motions/../../sibling/evil.motion3.json",
    "motions\\..\\..\\sibling\\evil.motion3.json",
    "data:application/json,{{}}",
)


@pytest.fixture()
def sites(tmp_path):
    """The export (with a hostile model3.json) on one server, an attacker's
    server on another port; both keep a log of what was asked of them."""
    if BROWSER_MISSING:
        pytest.skip(BROWSER_MISSING)
    doc = make_face_document()
    root, other_root = tmp_path / "site", tmp_path / "other"
    export_folder(doc, root / "model")
    evil = motion3(doc, doc.motions[0])
    for folder in (root / "sibling", other_root):
        folder.mkdir(parents=True)
        (folder / "evil.motion3.json").write_text(json.dumps(evil), encoding="utf-8")
        (folder / "evil.exp3.json").write_text(
            json.dumps({"Type": "Live2D Expression", "Parameters": []}), encoding="utf-8"
        )
    with serve_folder(str(root)) as url, serve_folder(str(other_root)) as other_url:
        yield {"doc": doc, "root": root, "url": url, "other": other_url}


def test_model3_references_outside_the_folder_are_never_fetched(sites):
    doc, url = sites["doc"], sites["url"]
    other_port = sites["other"].rstrip("/").rsplit(":", 1)[1]
    model3_path = sites["root"] / "model" / f"{export_stem(doc)}.model3.json"
    model3 = json.loads(model3_path.read_text(encoding="utf-8"))
    refs = [r.format(other=other_port) for r in HOSTILE_REFERENCES]
    model3["FileReferences"]["Motions"]["Evil"] = [{"File": r} for r in refs]
    model3["FileReferences"]["Expressions"] = model3["FileReferences"].get("Expressions", []) + [
        {"Name": f"evil{i}", "File": r.replace("motion3", "exp3")} for i, r in enumerate(refs)
    ]
    model3_path.write_text(json.dumps(model3), encoding="utf-8")

    with launch_chromium() as browser:
        page = browser.new_page()
        requested = []
        page.on("request", lambda r: requested.append(r.url))
        page.goto(url + "model/index.html")
        page.wait_for_function("document.body.dataset.ready === 'true'", timeout=30000)
        motions = page.locator("#motions button").all_text_contents()
        expressions = page.locator("#expressions button").all_text_contents()

    assert requested, "the page made requests"
    off_folder = [r for r in requested if not r.startswith(url + "model/")]
    assert off_folder == [], f"fetched outside the model's folder: {off_folder}"
    assert not any(m.startswith("Evil") for m in motions), motions
    assert not any(e.startswith("evil") for e in expressions), expressions
    # The model's own companions still load.
    assert motions == ["Idle"], motions  # the model.json Idle and its motion3 twin are one button
    assert "smile" in expressions


def test_the_export_itself_references_only_plain_relative_paths(tmp_path):
    doc = make_face_document()
    export_folder(doc, tmp_path / "model")
    model3 = json.loads((tmp_path / "model" / f"{export_stem(doc)}.model3.json").read_text())
    refs = model3["FileReferences"]
    files = [m["File"] for group in refs["Motions"].values() for m in group]
    files += [e["File"] for e in refs.get("Expressions", [])]
    assert files
    for f in files:
        assert not f.startswith(("/", ".")) and ":" not in f and ".." not in f.split("/"), f
    shutil.rmtree(tmp_path / "model")
