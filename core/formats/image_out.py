# SPDX-License-Identifier: GPL-3.0-or-later
"""Writing a rendered image where the user asked, and nowhere else.

`check_png_target` says before any work whether a path can take a PNG: not a
folder, a .png name (the render is RGBA with transparency), a parent that is
a folder, or can be made, and that can be written.  `write_png` writes the
file beside its target and renames it into place, so a failure (a full disk,
a permission) leaves an earlier image at that path as it was and no
half-written file behind.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable

import numpy as np

from ..model.errors import ImageToRigError
from .output_folder import existing_ancestor, plain_os_error


class ImageOutputError(ImageToRigError):
    """The image cannot be written there; the message says why and what to do."""


def check_png_target(path: str, protected: Iterable[str] = ()) -> str:
    """The absolute path to write a PNG to, or ImageOutputError.  `protected`
    files (e.g. the model's own atlas pages) are never overwritten."""
    out = os.path.abspath(os.fspath(path))
    if os.path.isdir(out):
        raise ImageOutputError(f"{out} is a folder; give -o a file name ending in .png")
    if os.path.splitext(out)[1].lower() != ".png":
        raise ImageOutputError(
            f"{os.path.basename(out)!r} does not end in .png; the render is "
            "a PNG image (RGBA, with transparency): name it e.g. pose.png"
        )
    real = os.path.realpath(out)
    for other in protected:
        if os.path.exists(other) and os.path.exists(real) and os.path.samefile(real, other):
            raise ImageOutputError(
                f"{out} is one of the model's own files; choose another name so the model stays whole"
            )
    ancestor = existing_ancestor(out)
    if ancestor and not os.path.isdir(ancestor):
        raise ImageOutputError(f"{out} cannot be written: {ancestor} is a file, not a folder")
    if ancestor and not os.access(ancestor, os.W_OK | os.X_OK):
        raise ImageOutputError(
            f"{out} cannot be written: {ancestor} is not writable "
            "(permission denied); choose a folder you can write to"
        )
    if os.path.exists(out) and not os.access(out, os.W_OK):
        raise ImageOutputError(f"{out} exists and is not writable (permission denied)")
    return out


def write_png(path: str, rgba: np.ndarray) -> None:
    """Write straight-alpha RGBA uint8 `rgba` to `path` all or nothing."""
    import cv2

    ok, encoded = cv2.imencode(".png", cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    if not ok:
        raise ImageOutputError(f"could not encode the image for {path}")
    folder = os.path.dirname(path)
    made = []  # folders this call creates, removed again if the write fails
    missing = folder
    while missing and not os.path.exists(missing):
        made.append(missing)
        missing = os.path.dirname(missing)

    def remove_made():
        for name in made:  # deepest first
            try:
                os.rmdir(name)
            except OSError:
                pass

    try:
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".part", dir=folder)
    except OSError as exc:
        remove_made()
        raise ImageOutputError(f"{path} cannot be written: {plain_os_error(exc)}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(encoded.tobytes())
            fh.flush()
            os.fsync(fh.fileno())
        if os.path.exists(path):  # keep the permissions of the image being replaced
            os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        remove_made()
        if isinstance(exc, OSError):
            raise ImageOutputError(
                f"{path} could not be written ({plain_os_error(exc)}); nothing was changed there"
            ) from None
        raise
