# SPDX-License-Identifier: GPL-3.0-or-later
"""External layered decomposition: run a See-through (or similar) installation
the user already has, then import the layered PSD it writes.

The command is a template the user configures, e.g.

    python /opt/see-through/inference.py --image {input} --output {output}

`{input}` becomes the illustration's path and `{output}` the PSD path to
write (or `{output_dir}`, a folder in which the newest .psd is taken).  The
command runs without a shell (no quoting surprises, no injection through file
names), in its own process group so cancelling stops all of it.
"""

from __future__ import annotations

import glob
import os
import shlex
import shutil
import signal
import subprocess
import tempfile

from .base import BackendError

PLACEHOLDERS = ("{input}", "{output}", "{output_dir}")


class ExternalCommandError(BackendError):
    """The configured decomposition command could not produce a PSD."""


def parse_command(template: str) -> list:
    try:
        parts = shlex.split(template, posix=os.name != "nt")
    except ValueError as exc:
        raise ExternalCommandError(f"the decomposition command cannot be read: {exc}") from None
    if not parts:
        raise ExternalCommandError("no decomposition command is configured")
    if not any(p in template for p in ("{input}",)):
        raise ExternalCommandError(
            "the decomposition command must contain {input} (where the illustration's path goes)"
        )
    if not any(p in template for p in ("{output}", "{output_dir}")):
        raise ExternalCommandError(
            "the decomposition command must contain {output} or "
            "{output_dir} (where it writes the layered PSD)"
        )
    return parts


def available(template: str) -> tuple[bool, str]:
    try:
        parts = parse_command(template)
    except ExternalCommandError as exc:
        return False, str(exc)
    exe = parts[0]
    if os.path.sep in exe or (os.altsep and os.altsep in exe):
        if not os.path.isfile(exe):
            return False, f"the program {exe!r} does not exist"
    elif shutil.which(exe) is None:
        return False, f"the program {exe!r} is not on the PATH"
    return True, ""


def run_external_decomposition(
    template: str, image_path: str, work_dir: str | None = None, timeout: float = 3600.0
) -> str:
    """Run the command on one image; return the path of the PSD it wrote."""
    ok, why = available(template)
    if not ok:
        raise ExternalCommandError(why)
    work_dir = work_dir or tempfile.mkdtemp(prefix="image_to_rig-external-")
    output = os.path.join(work_dir, os.path.splitext(os.path.basename(image_path))[0] + ".psd")
    values = {"input": os.path.abspath(image_path), "output": output, "output_dir": work_dir}
    args = [part.format(**values) if "{" in part else part for part in parse_command(template)]
    kwargs = (
        {"start_new_session": True}
        if os.name != "nt"
        else {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
    )
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=work_dir, **kwargs
    )
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(proc)
        raise ExternalCommandError(
            f"the decomposition command did not finish within {timeout:.0f} s and was stopped"
        ) from None
    except BaseException:  # cancelled: stop the whole command, then pass it on
        _kill(proc)
        raise
    if proc.returncode != 0:
        tail = "\n".join((err or "").strip().splitlines()[-5:])
        raise ExternalCommandError(
            f"the decomposition command failed (exit code {proc.returncode})" + (f":\n{tail}" if tail else "")
        )
    if os.path.isfile(output):
        return output
    found = sorted(glob.glob(os.path.join(work_dir, "**", "*.psd"), recursive=True), key=os.path.getmtime)
    if not found:
        raise ExternalCommandError(
            f"the decomposition command finished but wrote no .psd file into {work_dir}"
        )
    return found[-1]


def _kill(proc: subprocess.Popen) -> None:
    try:
        if os.name != "nt":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except (ProcessLookupError, PermissionError, OSError):
        pass
    proc.wait()
