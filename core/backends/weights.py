# SPDX-License-Identifier: GPL-3.0-or-later
"""The model weights the AI backends use: where they come from, where they are
on disk, and an explicit, checked download.  Whether a file loads is the
backend's to say (`core.backends.check_model` asks the one that uses it).

Nothing here downloads on its own.  `download_model` refuses unless the caller
passes `online_access=True` (in Blender: `bpy.app.online_access`, and only
when the user clicks Download).  Every downloaded file is checked against the
SHA-256 the Hugging Face Hub reports for it (Git LFS files) or its git blob id
(small files); the computed SHA-256 is recorded next to the file
("<file>.sha256") and shown in the preferences.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from collections.abc import Callable, Sequence
from ..model.errors import ImageToRigError

ENV_MODELS_DIR = "IMAGE_TO_RIG_MODELS"


@dataclass(frozen=True)
class ModelSpec:
    name: str
    label: str
    stage: str
    backend: str
    repo_id: str  # Hugging Face Hub repository
    files: tuple[str, ...]  # hub paths (fnmatch patterns for folder models)
    local_name: str  # file or folder name under the models folder
    kind: str = "file"  # "file", "folder" (a diffusers pipeline) or "zip" (one member of a zip)
    zip_member: str = ""
    revision: str = "main"
    source: str = ""  # where the model is described, for people


MODELS: dict[str, ModelSpec] = {
    m.name: m
    for m in (
        ModelSpec(
            "isnet_anime",
            "Anime segmentation (ISNet, SkyTNT)",
            "foreground",
            "isnet",
            "skytnt/anime-seg",
            ("isnetis.ckpt",),
            "isnetis.ckpt",
            source="github.com/SkyTNT/anime-segmentation (Apache-2.0)",
        ),
        ModelSpec(
            "anime_face_parts",
            "Anime face parts (UNet, Anime-Face-Segmentation)",
            "parts",
            "face_parts_unet",
            "bdsqlsz/qinglong_controlnet-lllite",
            ("Annotators/UNet.pth",),
            "anime_face_parts_UNet.pth",
            source="github.com/siyeong0/Anime-Face-Segmentation",
        ),
        ModelSpec(
            "big_lama",
            "LaMa inpainting (big-lama)",
            "inpaint",
            "lama",
            "smartywu/big-lama",
            ("big-lama.zip",),
            "big-lama.ckpt",
            kind="zip",
            zip_member="big-lama/models/best.ckpt",
            source="github.com/advimman/lama (Apache-2.0)",
        ),
        ModelSpec(
            "sd_inpaint",
            "Stable Diffusion 1.5 inpainting",
            "inpaint",
            "sd_inpaint",
            "stable-diffusion-v1-5/stable-diffusion-inpainting",
            (
                "model_index.json",
                "scheduler/scheduler_config.json",
                "tokenizer/*",
                "text_encoder/config.json",
                "text_encoder/model.safetensors",
                "unet/config.json",
                "unet/diffusion_pytorch_model.safetensors",
                "vae/config.json",
                "vae/diffusion_pytorch_model.safetensors",
                "feature_extractor/*",
            ),
            "stable-diffusion-inpainting",
            kind="folder",
            source="CreativeML OpenRAIL-M licence: read it before use",
        ),
    )
}


class ModelError(ImageToRigError):
    """A model could not be found, checked or downloaded."""


class DownloadRefused(ModelError):
    """Downloading is not allowed now (online access is off)."""


class DownloadCancelled(ModelError):
    """The user stopped the download."""


class ChecksumMismatch(ModelError):
    """A downloaded file differs from what the hub says it is."""


def spec(name: str) -> ModelSpec:
    if name not in MODELS:
        raise ModelError(f"unknown model '{name}': known models are {', '.join(MODELS)}")
    return MODELS[name]


def models_dir(base: str | None = None) -> str:
    return (
        base
        or os.environ.get(ENV_MODELS_DIR)
        or os.path.join(os.path.expanduser("~"), ".cache", "image_to_rig", "models")
    )


def default_model_path(name: str, base: str | None = None) -> str:
    return os.path.join(models_dir(base), spec(name).local_name)


# --------------------------------------------------------------------------- status and check
@dataclass
class ModelStatus:
    name: str
    path: str
    exists: bool
    size_bytes: int = 0
    recorded_sha256: str = ""

    def describe(self) -> str:
        if not self.exists:
            return "not on disk"
        text = f"{self.size_bytes / 2**20:.1f} MiB"
        if self.recorded_sha256:
            text += f", SHA-256 {self.recorded_sha256[:12]}..."
        return text


def _tree_size(path: str) -> int:
    if os.path.isfile(path):
        return os.path.getsize(path)
    total = 0
    for root, _, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    return total


def checksum_record_path(path: str) -> str:
    return path.rstrip("/\\") + ".sha256"


def read_checksum_record(path: str) -> dict[str, str]:
    try:
        with open(checksum_record_path(path), encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return {}


def model_status(name: str, path: str | None = None, base: str | None = None) -> ModelStatus:
    path = path or default_model_path(name, base)
    if not os.path.exists(path):
        return ModelStatus(name, path, False)
    record = read_checksum_record(path)
    main = record.get(spec(name).local_name) or next(iter(record.values()), "") if record else ""
    return ModelStatus(name, path, True, _tree_size(path), main)


# --------------------------------------------------------------------------- checksums
def sha256_of(path: str, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while True:
            block = fh.read(chunk)
            if not block:
                break
            digest.update(block)
    return digest.hexdigest()


def git_blob_sha1(path: str) -> str:
    """The git object id of a file (what the hub reports for files not in LFS)."""
    digest = hashlib.sha1()
    digest.update(f"blob {os.path.getsize(path)}\0".encode())
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class RemoteFile:
    path: str  # inside the repository
    size: int | None = None
    sha256: str | None = None  # Git LFS files
    blob_id: str | None = None  # git object id


def verify_file(local: str, remote: RemoteFile) -> str:
    """Check `local` against what the hub reports; return its SHA-256.
    Raises ChecksumMismatch (and deletes nothing: the caller decides)."""
    if remote.size is not None and os.path.getsize(local) != remote.size:
        raise ChecksumMismatch(
            f"{remote.path}: {os.path.getsize(local)} bytes on disk, the hub "
            f"reports {remote.size}: the download is incomplete or damaged"
        )
    digest = sha256_of(local)
    if remote.sha256:
        if digest != remote.sha256.lower():
            raise ChecksumMismatch(
                f"{remote.path}: SHA-256 {digest} differs from the hub's "
                f"{remote.sha256}: the download is damaged; try again"
            )
    elif remote.blob_id:
        blob = git_blob_sha1(local)
        if blob != remote.blob_id.lower():
            raise ChecksumMismatch(
                f"{remote.path}: git blob id {blob} differs from the hub's "
                f"{remote.blob_id}: the download is damaged; try again"
            )
    else:
        raise ChecksumMismatch(
            f"{remote.path}: the hub reported no checksum, so the download cannot be verified"
        )
    return digest


# --------------------------------------------------------------------------- the hub
class HubClient:
    """The two hub calls a download needs (replaced by a local fake in tests)."""

    def list_files(self, repo_id: str, revision: str) -> list[RemoteFile]:
        from huggingface_hub import HfApi

        info = HfApi().model_info(repo_id, revision=revision, files_metadata=True)
        out = []
        for s in info.siblings or []:
            lfs = getattr(s, "lfs", None)
            sha = getattr(lfs, "sha256", None) if lfs is not None else None
            if sha is None and isinstance(lfs, dict):
                sha = lfs.get("sha256")
            out.append(RemoteFile(s.rfilename, getattr(s, "size", None), sha, getattr(s, "blob_id", None)))
        return out

    def fetch(self, repo_id: str, path: str, revision: str, local_dir: str, tqdm_class) -> str:
        from huggingface_hub import hf_hub_download

        return hf_hub_download(repo_id, path, revision=revision, local_dir=local_dir, tqdm_class=tqdm_class)


ProgressFn = Callable[[str, int, int | None], None]  # (file, bytes done, total or None)


def _progress_tqdm(label: str, progress: ProgressFn | None, cancelled: Callable[[], bool] | None):
    from tqdm.auto import tqdm

    class DownloadProgress(tqdm):
        def __init__(self, *args, **kwargs):
            kwargs["disable"] = False
            kwargs.setdefault("file", open(os.devnull, "w"))
            super().__init__(*args, **kwargs)

        def update(self, n=1):
            if cancelled is not None and cancelled():
                raise DownloadCancelled("download cancelled")
            result = super().update(n)
            if progress is not None:
                progress(label, int(self.n), int(self.total) if self.total else None)
            return result

    return DownloadProgress


def _wanted(files: Sequence[RemoteFile], patterns: Sequence[str]) -> list[RemoteFile]:
    return [f for f in files if any(fnmatch.fnmatch(f.path, p) for p in patterns)]


def download_model(
    name: str,
    dest: str | None = None,
    *,
    online_access: bool,
    base: str | None = None,
    progress: ProgressFn | None = None,
    cancelled: Callable[[], bool] | None = None,
    hub: HubClient | None = None,
) -> tuple[str, dict[str, str]]:
    """Download model `name` to `dest` (default: its place in the models folder);
    return (path, {file: sha256}).  Only when `online_access` is True."""
    s = spec(name)
    dest = dest or default_model_path(name, base)
    if not online_access:
        raise DownloadRefused(
            f"{s.label} was not downloaded: online access is off (Blender: Preferences > System > "
            f"Network > Allow Online Access). Or download {s.repo_id} yourself and set its path."
        )
    hub = hub or HubClient()
    try:
        remote = _wanted(hub.list_files(s.repo_id, s.revision), s.files)
    except ModelError:
        raise
    except Exception as exc:  # network and hub errors, for people
        raise ModelError(f"could not reach the Hugging Face Hub for {s.repo_id}: {exc}") from exc
    missing = [p for p in s.files if "*" not in p and p not in {f.path for f in remote}]
    if missing or not remote:
        raise ModelError(f"{s.repo_id} on the Hugging Face Hub has no {', '.join(missing or s.files)}")
    os.makedirs(os.path.dirname(os.path.abspath(dest)) or ".", exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".i2r-download-", dir=os.path.dirname(os.path.abspath(dest)))
    sums: dict[str, str] = {}
    try:
        for item in remote:
            tqdm_class = _progress_tqdm(item.path, progress, cancelled)
            try:
                local = hub.fetch(s.repo_id, item.path, s.revision, staging, tqdm_class)
            except ModelError:
                raise
            except Exception as exc:
                raise ModelError(f"downloading {item.path} from {s.repo_id} failed: {exc}") from exc
            if cancelled is not None and cancelled():
                raise DownloadCancelled("download cancelled")
            sums[item.path] = verify_file(local, item)
        if s.kind == "file":
            produced = os.path.join(staging, s.files[0])
            record = {s.local_name: sums[s.files[0]]}
        elif s.kind == "zip":
            produced = _extract_member(os.path.join(staging, s.files[0]), s.zip_member, staging)
            record = {s.local_name: sha256_of(produced), s.files[0]: sums[s.files[0]]}
        else:
            produced = staging
            record = dict(sums)
        _replace(produced, dest)
        with open(checksum_record_path(dest), "w", encoding="utf-8") as fh:
            json.dump(record, fh, indent=1)
        return dest, record
    finally:
        if os.path.exists(staging):
            shutil.rmtree(staging, ignore_errors=True)


def _extract_member(archive: str, member: str, into: str) -> str:
    try:
        with zipfile.ZipFile(archive) as zf:
            if member not in zf.namelist():
                raise ModelError(f"{os.path.basename(archive)} does not contain {member}")
            target = os.path.join(into, "extracted.bin")
            with zf.open(member) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
            return target
    except zipfile.BadZipFile as exc:
        raise ModelError(f"{os.path.basename(archive)} is not a valid zip file") from exc


def _replace(produced: str, dest: str) -> None:
    """Move the verified download into place (the old copy goes only after)."""
    if os.path.isdir(produced):
        if os.path.exists(dest):
            shutil.rmtree(dest) if os.path.isdir(dest) else os.remove(dest)
        shutil.copytree(produced, dest, ignore=shutil.ignore_patterns(".cache"))
    else:
        os.replace(produced, dest)
