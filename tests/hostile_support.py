# SPDX-License-Identifier: GPL-3.0-or-later
"""Running one hostile command-line case and measuring it.

`run_case` starts `python -m image_to_rig ...` (through a tiny launcher that
may first apply a `patch`, e.g. to make the disk look full) in its own
process, and reaps it with wait4: the exit code, stderr, wall time and the
process's own peak resident memory (VmHWM, which it records as it exits)
come back in a `CaseResult`.  A case that
runs past its timeout is killed and reported as such, never left running.

`Sandbox` is a folder a case may touch: a snapshot of everything in it
(paths, bytes, modes) before and after tells whether anything outside the
case's output changed, and whether an earlier good result is intact.

`tmpfs_available()` says whether this machine lets an unprivileged user make
a small private filesystem (a user and mount namespace with a tmpfs): a
real "disk full" and a real read-only folder.  Cases that need it skip with
that reason elsewhere.

The budgets every case must stay under (the issue's): 20 s and 2 GB.  They
are asserted as limits, never as timings to reach.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from collections.abc import Sequence

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS = os.path.join(REPO, "tests")
BUDGET_SECONDS = 20.0
BUDGET_MB = 2048.0

# The launcher records its own peak memory (VmHWM) when it exits: wait4's
# ru_maxrss would also count the pages the child shared with this (large)
# test process between fork and exec.
LAUNCH = (
    "import sys; sys.path.insert(0, {tests!r}); import conftest\n"
    "import atexit, os\n"
    "def _record_peak(path=os.environ.get('IMAGE_TO_RIG_TEST_PEAK_FILE')):\n"
    "    if path:\n"
    "        with open('/proc/self/status') as fh:\n"
    "            kb = [l.split()[1] for l in fh if l.startswith('VmHWM:')]\n"
    "        with open(path, 'w') as fh:\n"
    "            fh.write(kb[0] if kb else '')\n"
    "atexit.register(_record_peak)\n"
    "{patch}\n"
    "from image_to_rig.cli import main; sys.exit(main(sys.argv[1:]))"
)


def _recorded_peak_mb(path: str, fallback_kb: float) -> float:
    try:
        with open(path) as fh:
            return float(fh.read().strip()) / 1024.0
    except (OSError, ValueError):
        return fallback_kb / 1024.0


@dataclass
class CaseResult:
    code: int
    stdout: str
    stderr: str
    seconds: float
    peak_mb: float
    timed_out: bool = False

    def assert_plain_refusal(self, fragment: str, code: int = 2) -> None:
        """Exit `code`, a message holding `fragment`, no traceback, within budget."""
        assert not self.timed_out, f"ran past its timeout ({self.seconds:.1f} s)"
        assert self.code == code, (self.code, self.stderr[-2000:])
        assert fragment in self.stderr, (fragment, self.stderr[-2000:])
        assert "Traceback" not in self.stderr and "internal problem" not in self.stderr, self.stderr
        self.assert_within_budget()

    def assert_within_budget(self) -> None:
        assert self.seconds < BUDGET_SECONDS, f"took {self.seconds:.1f} s (budget {BUDGET_SECONDS} s)"
        assert self.peak_mb < BUDGET_MB, f"peak {self.peak_mb:.0f} MB (budget {BUDGET_MB:.0f} MB)"

    @property
    def error_line(self) -> str:
        lines = [l for l in self.stderr.splitlines() if l.startswith("error:") or ": error:" in l]
        return lines[-1] if lines else ""


def launcher(patch: str = "") -> list[str]:
    return [sys.executable, "-c", LAUNCH.format(tests=TESTS, patch=patch)]


def run_case(
    args: Sequence[str],
    cwd: str,
    patch: str = "",
    timeout: float = 120.0,
    prefix: Sequence[str] = (),
    env: dict[str, str] | None = None,
) -> CaseResult:
    """Run the CLI with `args` in `cwd` (its TMPDIR is a fresh folder inside
    `cwd`'s parent, checked empty afterwards by the caller if it likes);
    `prefix` wraps the command (e.g. unshare)."""
    full_env = dict(os.environ if env is None else env)
    full_env.pop("BLENDER_USER_RESOURCES", None)  # the CLI makes and removes its own
    full_env.setdefault("TMPDIR", cwd)
    with tempfile.TemporaryDirectory(prefix="hostile-io-") as io_dir:
        out_path, err_path = os.path.join(io_dir, "out"), os.path.join(io_dir, "err")
        peak_path = full_env["IMAGE_TO_RIG_TEST_PEAK_FILE"] = os.path.join(io_dir, "peak")
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            t0 = time.perf_counter()
            proc = subprocess.Popen(
                [*prefix, *launcher(patch), *args],
                cwd=cwd,
                env=full_env,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
            timed_out = False
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                if time.perf_counter() - t0 > timeout:
                    timed_out = True
                    os.killpg(proc.pid, signal.SIGKILL)
                    pid, status, usage = os.wait4(proc.pid, 0)
                    break
                time.sleep(0.02)
            seconds = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        with open(out_path, encoding="utf-8", errors="replace") as fh:
            stdout = fh.read()
        with open(err_path, encoding="utf-8", errors="replace") as fh:
            stderr = fh.read()
        peak_mb = _recorded_peak_mb(peak_path, usage.ru_maxrss)  # kilobytes on Linux
    return CaseResult(proc.returncode, stdout, stderr, seconds, peak_mb, timed_out)


def snapshot(folder: str) -> dict[str, object]:
    """Every entry under `folder`: files by content (SHA-256) and mode, folders
    and links by name."""
    out: dict[str, object] = {}
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in dirs:
            path = os.path.join(root, name)
            out[os.path.relpath(path, folder) + "/"] = "link" if os.path.islink(path) else "dir"
        for name in sorted(files):
            path = os.path.join(root, name)
            rel = os.path.relpath(path, folder)
            if os.path.islink(path):
                out[rel] = ("link", os.readlink(path))
                continue
            out[rel] = (os.stat(path).st_mode, _sha256(path))
    return out


def _sha256(path: str) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def changes(before: dict[str, object], after: dict[str, object]) -> list[str]:
    """What differs between two snapshots, in words (empty when nothing does)."""
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = sorted(k for k in set(before) & set(after) if before[k] != after[k])
    return (
        [f"added {k}" for k in added] + [f"removed {k}" for k in removed] + [f"changed {k}" for k in changed]
    )


_TMPFS: str | None = None


def tmpfs_available() -> str:
    """'' when a private tmpfs can be mounted here without privileges, else why not."""
    global _TMPFS
    if _TMPFS is None:
        unshare = shutil.which("unshare")
        if not unshare or not sys.platform.startswith("linux"):
            _TMPFS = "needs Linux and util-linux's unshare"
        else:
            with tempfile.TemporaryDirectory() as d:
                probe = subprocess.run(
                    [unshare, "-Urm", "sh", "-c", f"mount -t tmpfs -o size=1m tmpfs {d} && touch {d}/x"],
                    capture_output=True,
                    text=True,
                )
                _TMPFS = (
                    ""
                    if probe.returncode == 0
                    else (
                        "unprivileged user and mount namespaces are not allowed here: "
                        + (probe.stderr.strip().splitlines() or ["unshare failed"])[-1]
                    )
                )
    return _TMPFS


# The driver that runs inside a private namespace: mount a tmpfs (size, ro or
# rw) over a folder, copy the earlier result onto it, run the CLI, and write
# what the folder held afterwards (as JSON) where the test can read it.
NAMESPACE_DRIVER = r'''
import json, os, shutil, subprocess, sys, hashlib
spec = json.loads(sys.argv[1])
mnt = spec["mount"]
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dk,mode=0755" % spec["size_kb"], "tmpfs", mnt], check=True)
for name, src in spec["copy"].items():
    shutil.copytree(src, os.path.join(mnt, name), symlinks=True)
if spec.get("read_only"):
    subprocess.run(["mount", "-o", "remount,ro", mnt], check=True)
peak_file = spec["listing"] + ".peak"
child = subprocess.Popen(spec["command"], cwd=spec["cwd"],
                         env=dict(os.environ, IMAGE_TO_RIG_TEST_PEAK_FILE=peak_file, **spec["env"]))
_, status, usage = os.wait4(child.pid, 0)
try:
    with open(peak_file) as fh:
        peak_kb = float(fh.read().strip())
    os.unlink(peak_file)
except (OSError, ValueError):
    peak_kb = usage.ru_maxrss
child.returncode = os.waitstatus_to_exitcode(status)
listing = {}
for root, dirs, files in os.walk(mnt):
    for name in files:
        path = os.path.join(root, name)
        with open(path, "rb") as fh:
            listing[os.path.relpath(path, mnt)] = hashlib.sha256(fh.read()).hexdigest()
    for name in dirs:
        listing[os.path.relpath(os.path.join(root, name), mnt) + "/"] = "dir"
with open(spec["listing"], "w") as fh:
    json.dump({"files": listing, "peak_kb": peak_kb}, fh)
sys.exit(child.returncode)
'''


def tree_hashes(folder: str) -> dict[str, str]:
    """The listing NAMESPACE_DRIVER writes, for a folder on the real disk."""
    import hashlib

    out = {}
    for root, dirs, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as fh:
                out[os.path.relpath(path, folder)] = hashlib.sha256(fh.read()).hexdigest()
        for name in dirs:
            out[os.path.relpath(os.path.join(root, name), folder) + "/"] = "dir"
    return out


def run_in_tmpfs(
    args: Sequence[str],
    mount: str,
    size_kb: int,
    copy: dict[str, str],
    cwd: str,
    patch: str = "",
    read_only: bool = False,
    timeout: float = 120.0,
):
    """(CaseResult, listing of the tmpfs afterwards): the CLI run with a private
    tmpfs of `size_kb` mounted over `mount` (which must exist, empty), holding
    copies of `copy` (name -> source folder); `read_only` remounts it so."""
    listing_path = os.path.join(cwd, ".tmpfs-listing.json")
    spec = {
        "mount": mount,
        "size_kb": int(size_kb),
        "copy": copy,
        "read_only": read_only,
        "command": launcher(patch) + list(args),
        "cwd": cwd,
        "listing": listing_path,
        "env": {"TMPDIR": cwd},
    }
    env = dict(os.environ)
    env.pop("BLENDER_USER_RESOURCES", None)
    full = ["unshare", "-Urm", sys.executable, "-c", NAMESPACE_DRIVER, json.dumps(spec)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        full,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        timed_out = True
    seconds = time.perf_counter() - t0
    listing, peak_mb = {}, float("inf")
    if os.path.exists(listing_path):
        with open(listing_path) as fh:
            written = json.load(fh)
        os.unlink(listing_path)
        listing, peak_mb = written["files"], written["peak_kb"] / 1024.0
    return CaseResult(proc.returncode, stdout, stderr, seconds, peak_mb, timed_out), listing
