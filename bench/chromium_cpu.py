# SPDX-License-Identifier: GPL-3.0-or-later
"""CPU time of headless Chromium's threads, read from /proc (Linux).

Wall-clock frame times on a shared machine measure the other processes too;
the CPU time a thread actually ran (``/proc/<pid>/task/<tid>/schedstat``,
nanoseconds) does not.  ``CpuMeter`` snapshots every thread of the renderer
processes started by this Python process (and the GPU process) and reports,
between two snapshots, the busiest renderer's main thread, its dedicated
workers, the whole renderer process and the GPU process.
"""

from __future__ import annotations

import os


def _children(pid: int) -> list:
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as fh:
                out += [int(c) for c in fh.read().split()]
    except OSError:
        pass
    return out


def _descendants(pid: int) -> list:
    seen, todo = [], [pid]
    while todo:
        p = todo.pop()
        for c in _children(p):
            if c not in seen:
                seen.append(c)
                todo.append(c)
    return seen


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _threads(pid: int) -> dict[int, tuple[str, int]]:
    """tid -> (thread name, ns of CPU time so far)."""
    out = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as fh:
                ns = int(fh.read().split()[0])
            with open(f"/proc/{pid}/task/{tid}/comm") as fh:
                name = fh.read().strip()
        except (OSError, ValueError, IndexError):
            continue
        out[int(tid)] = (name, ns)
    return out


def available() -> bool:
    return os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/schedstat")


class CpuMeter:
    """Snapshots of Chromium's thread CPU times; `since(snapshot)` gives ms spent."""

    def snapshot(self) -> dict:
        procs = {}
        for pid in _descendants(os.getpid()):
            cmd = _cmdline(pid)
            if "--type=renderer" in cmd:
                kind = "renderer"
            elif "--type=gpu-process" in cmd:
                kind = "gpu"
            else:
                continue
            procs[pid] = (kind, _threads(pid))
        return procs

    def since(self, before: dict, after: dict | None = None) -> dict:
        """ms of CPU between two snapshots: main (the main thread of the
        renderer that ran most), workers (its DedicatedWorker threads), renderer (all its
        threads), gpu (the GPU process: SwiftShader's rasterising here)."""
        after = self.snapshot() if after is None else after

        def delta(pid):
            kind, now = after[pid]
            then = before.get(pid, (kind, {}))[1]
            return {tid: (name, ns - then.get(tid, (name, 0))[1]) for tid, (name, ns) in now.items()}

        renderers = [(pid, delta(pid)) for pid, (kind, _) in after.items() if kind == "renderer"]
        if not renderers:
            return {
                "main": float("nan"),
                "workers": float("nan"),
                "renderer": float("nan"),
                "gpu": float("nan"),
            }
        # The page's renderer: the one that ran most (its main thread and workers).
        pid, threads = max(renderers, key=lambda r: sum(ns for _, ns in r[1].values()))
        gpu = sum(ns for p, (kind, _) in after.items() if kind == "gpu" for _, ns in delta(p).values())
        return {
            "main": threads.get(pid, ("", 0))[1] / 1e6,
            "workers": sum(ns for name, ns in threads.values() if "Worker" in name) / 1e6,
            "renderer": sum(ns for _, ns in threads.values()) / 1e6,
            "gpu": gpu / 1e6,
        }
