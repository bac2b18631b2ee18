# SPDX-License-Identifier: GPL-3.0-or-later
"""Model management: status, checks, and downloads that are refused unless
online access is on, verified by checksum, and never touch the network here
(the hub is a local fake)."""

import hashlib
import json
import os
import zipfile

import pytest

from image_to_rig.core.backends import check_model
from image_to_rig.core.backends import weights as models
from image_to_rig.core.backends.weights import (
    ChecksumMismatch,
    DownloadCancelled,
    DownloadRefused,
    ModelError,
    RemoteFile,
    download_model,
    git_blob_sha1,
    model_status,
    sha256_of,
    verify_file,
)


class _NoNetwork(models.HubClient):
    def list_files(self, *a, **k):
        raise AssertionError("the hub was contacted")

    fetch = list_files


class FakeHub(models.HubClient):
    """Serves files from a local folder and reports checksums like the hub."""

    def __init__(self, root, lfs=True, corrupt=None):
        self.root, self.lfs, self.corrupt, self.fetched = root, lfs, corrupt, []

    def list_files(self, repo_id, revision):
        out = []
        for folder, _, files in os.walk(self.root):
            for f in files:
                full = os.path.join(folder, f)
                rel = os.path.relpath(full, self.root).replace(os.sep, "/")
                out.append(
                    RemoteFile(
                        rel,
                        os.path.getsize(full),
                        sha256_of(full) if self.lfs else None,
                        None if self.lfs else git_blob_sha1(full),
                    )
                )
        return out

    def fetch(self, repo_id, path, revision, local_dir, tqdm_class):
        self.fetched.append(path)
        data = open(os.path.join(self.root, path), "rb").read()
        if path == self.corrupt:
            data = data[:-1] + bytes([data[-1] ^ 1])
        target = os.path.join(local_dir, path)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        bar = tqdm_class(total=len(data), unit="B")
        with open(target, "wb") as fh:
            for i in range(0, len(data), 1000):
                fh.write(data[i : i + 1000])
                bar.update(len(data[i : i + 1000]))
        bar.close()
        return target


def test_every_model_names_its_hub_source():
    for name, spec in models.MODELS.items():
        assert spec.repo_id.count("/") == 1 and spec.files and spec.local_name
        assert models.default_model_path(name, "/m").startswith("/m" + os.sep)
    assert models.MODELS["isnet_anime"].files == ("isnetis.ckpt",)
    with pytest.raises(ModelError, match="unknown model"):
        models.spec("gpt")


def test_download_is_refused_without_online_access(tmp_path):
    for name in models.MODELS:
        with pytest.raises(DownloadRefused, match="online access is off"):
            download_model(name, str(tmp_path / name), online_access=False, hub=_NoNetwork())
    assert os.listdir(tmp_path) == []


def test_checksums_are_checked_against_the_hub(tmp_path):
    f = tmp_path / "w.bin"
    f.write_bytes(b"weights" * 1000)
    digest = hashlib.sha256(f.read_bytes()).hexdigest()
    assert verify_file(str(f), RemoteFile("w.bin", 7000, digest)) == digest
    with pytest.raises(ChecksumMismatch, match="differs from the hub's"):
        verify_file(str(f), RemoteFile("w.bin", 7000, "0" * 64))
    with pytest.raises(ChecksumMismatch, match="incomplete or damaged"):
        verify_file(str(f), RemoteFile("w.bin", 7001, digest))
    # small files outside Git LFS: the git blob id (what `git hash-object` prints)
    (tmp_path / "hello.txt").write_bytes(b"hello\n")
    blob = git_blob_sha1(str(tmp_path / "hello.txt"))
    assert blob == "ce013625030ba8dba906f756967f9e9ca394464a"
    verify_file(str(tmp_path / "hello.txt"), RemoteFile("hello.txt", 6, None, blob))
    with pytest.raises(ChecksumMismatch, match="git blob id"):
        verify_file(str(f), RemoteFile("w.bin", 7000, None, blob))
    with pytest.raises(ChecksumMismatch, match="no checksum"):
        verify_file(str(f), RemoteFile("w.bin", 7000))


def test_download_verifies_records_and_reports_progress(tmp_path):
    hub_root = tmp_path / "hub"
    hub_root.mkdir()
    (hub_root / "isnetis.ckpt").write_bytes(os.urandom(5000))
    (hub_root / "README.md").write_text("not wanted")
    seen = []
    dest = tmp_path / "models" / "isnetis.ckpt"
    hub = FakeHub(str(hub_root))
    path, record = download_model(
        "isnet_anime",
        str(dest),
        online_access=True,
        hub=hub,
        progress=lambda f, done, total: seen.append((f, done, total)),
    )
    assert hub.fetched == ["isnetis.ckpt"]
    assert open(path, "rb").read() == (hub_root / "isnetis.ckpt").read_bytes()
    assert record == {"isnetis.ckpt": sha256_of(str(hub_root / "isnetis.ckpt"))}
    assert json.load(open(str(dest) + ".sha256")) == record
    assert seen[-1] == ("isnetis.ckpt", 5000, 5000) and len(seen) == 5
    status = model_status("isnet_anime", str(dest))
    assert status.exists and status.size_bytes == 5000 and status.recorded_sha256 == record["isnetis.ckpt"]
    assert [p for p in os.listdir(tmp_path / "models") if p.startswith(".i2r")] == []


def test_a_damaged_download_is_rejected_and_nothing_replaced(tmp_path):
    hub_root = tmp_path / "hub"
    hub_root.mkdir()
    (hub_root / "isnetis.ckpt").write_bytes(os.urandom(3000))
    dest = tmp_path / "models" / "isnetis.ckpt"
    dest.parent.mkdir()
    dest.write_bytes(b"the user's old file")
    with pytest.raises(ChecksumMismatch):
        download_model(
            "isnet_anime", str(dest), online_access=True, hub=FakeHub(str(hub_root), corrupt="isnetis.ckpt")
        )
    assert dest.read_bytes() == b"the user's old file"
    assert sorted(os.listdir(dest.parent)) == ["isnetis.ckpt"]


def test_download_can_be_cancelled(tmp_path):
    hub_root = tmp_path / "hub"
    hub_root.mkdir()
    (hub_root / "isnetis.ckpt").write_bytes(os.urandom(9000))
    with pytest.raises(DownloadCancelled):
        download_model(
            "isnet_anime",
            str(tmp_path / "m" / "isnetis.ckpt"),
            online_access=True,
            hub=FakeHub(str(hub_root)),
            cancelled=lambda: True,
        )
    assert os.listdir(tmp_path / "m") == []


def test_zip_member_and_folder_models(tmp_path):
    hub_root = tmp_path / "hub"
    hub_root.mkdir()
    with zipfile.ZipFile(hub_root / "big-lama.zip", "w") as zf:
        zf.writestr("big-lama/config.yaml", "generator: {kind: ffc_resnet}\n")
        zf.writestr("big-lama/models/best.ckpt", b"checkpoint bytes")
    path, record = download_model(
        "big_lama", str(tmp_path / "m" / "big-lama.ckpt"), online_access=True, hub=FakeHub(str(hub_root))
    )
    assert open(path, "rb").read() == b"checkpoint bytes"
    assert record["big-lama.ckpt"] == hashlib.sha256(b"checkpoint bytes").hexdigest()
    sd = tmp_path / "sdhub"
    wanted = [p for p in models.MODELS["sd_inpaint"].files if "*" not in p] + ["tokenizer/vocab.json"]
    for rel in wanted + [
        "unet/diffusion_pytorch_model.bin",
        "safety_checker/model.safetensors",
        "sd-v1-5-inpainting.ckpt",
    ]:
        (sd / rel).parent.mkdir(parents=True, exist_ok=True)
        (sd / rel).write_bytes(rel.encode())
    hub = FakeHub(str(sd), lfs=False)
    path, record = download_model("sd_inpaint", str(tmp_path / "m" / "sd"), online_access=True, hub=hub)
    assert sorted(record) == sorted(wanted)  # no .bin duplicates, no 4 GB .ckpt, no safety checker
    assert (tmp_path / "m" / "sd" / "unet" / "diffusion_pytorch_model.safetensors").is_file()
    assert not (tmp_path / "m" / "sd" / "safety_checker").exists()


def test_check_model_loads_the_weights(tmp_path):
    pytest.importorskip("torch")
    from image_to_rig.devkit import tiny_models as tiny

    path = tiny.save_tiny_lama(str(tmp_path / "big-lama.ckpt"))
    assert "loads" in check_model("big_lama", path)
    (tmp_path / "bad.ckpt").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ModelError, match="corrupted"):
        check_model("isnet_anime", str(tmp_path / "bad.ckpt"))
    with pytest.raises(ModelError, match="nothing at"):
        check_model("isnet_anime", str(tmp_path / "absent.ckpt"))
