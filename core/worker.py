# SPDX-License-Identifier: GPL-3.0-or-later
"""Run the pipeline in a worker process so the caller (Blender's UI) never waits.

    job = PipelineJob(path, options).start()
    ... every timer tick:
    for message in job.poll():      # never blocks on the pipeline
        message.kind: "progress" (stage, fraction) | "result" | "error"
    job.cancel()                    # terminates the worker; nothing is left behind

The worker is a `multiprocessing` *spawn* process (a fresh interpreter: in
Blender `sys.executable` is Blender's own Python, and no Blender state is
copied).  It runs only `core`, which never imports bpy.  The child registers
the add-on folder under the parent's package name (`image_to_rig`, or
`bl_ext.user_default.image_to_rig` as an extension), so the pickled result
names classes the parent knows.

A worker that finished a job stays alive, idle, for the next one: models a
backend loaded (hundreds of MB to GB) are not loaded again.  Cancelling
terminates it (the next job starts a fresh one); `shutdown_idle_worker()` ends
the idle one (the add-on calls it when it is disabled).  Errors come back as
plain text: ValueError subclasses keep their message (bad input or settings);
anything else also says it is a bug, with the traceback for the console.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import sys
import time
import traceback
from dataclasses import dataclass
from typing import Any

from .model.errors import ImageToRigError

# The add-on's package name here; the child registers the folder under the same name.
PACKAGE_NAME = __name__.rsplit(".core.worker", 1)[0] if __name__.endswith(".core.worker") else "image_to_rig"
CORE_DIR = os.path.dirname(os.path.abspath(__file__))
PACKAGE_DIR = os.path.dirname(CORE_DIR)

# Runs first in the child (the Process target is builtins.exec, which pickles by
# name): registers the add-on folder as a package, then serves jobs.
_BOOTSTRAP = """
import importlib.util, os, sys, types
parts = PACKAGE_NAME.split(".")
for i in range(1, len(parts)):  # empty parents, e.g. bl_ext and bl_ext.user_default
    name = ".".join(parts[:i])
    if name not in sys.modules:
        parent = types.ModuleType(name)
        parent.__path__ = []
        sys.modules[name] = parent
spec = importlib.util.spec_from_file_location(
    PACKAGE_NAME, os.path.join(PACKAGE_DIR, "__init__.py"), submodule_search_locations=[PACKAGE_DIR])
module = importlib.util.module_from_spec(spec)
sys.modules[PACKAGE_NAME] = module
spec.loader.exec_module(module)
from importlib import import_module
import_module(PACKAGE_NAME + ".core.worker")._child_serve(CONN)
"""


@dataclass
class JobMessage:
    kind: str  # "progress", "result" or "error"
    stage: str = ""
    fraction: float = 0.0
    result: Any = None  # PipelineResult for "result"
    error: str = ""  # message for "error"
    user_error: bool = False  # True: bad input (ValueError), False: a bug or a crash


# --------------------------------------------------------------------------- child side
def _child_run(conn, source, options) -> None:
    from .pipeline import run_pipeline

    def progress(stage: str, fraction: float) -> None:
        conn.send(("progress", stage, float(fraction)))

    try:
        result = run_pipeline(source, options, progress=progress)
        payload = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
    except ImageToRigError as exc:  # bad input or settings: the message is for people
        conn.send(("error", str(exc), True))
        return
    except Exception as exc:  # a bug: say so, keep the traceback for the console
        conn.send(("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}", False))
        return
    conn.send_bytes(b"R" + payload)


def _child_serve(conn) -> None:
    """The worker's loop: one job at a time until told to quit or orphaned."""
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request[0] != "run":
            return
        _child_run(conn, request[1], request[2])


# --------------------------------------------------------------------------- parent side
class _no_main_module:
    """Hide the parent's __main__ while the worker starts: spawn would otherwise
    re-run the parent's main script in the child (in Blender a text block or a
    command-line script; in tests pytest's).  The worker needs nothing from it."""

    def __enter__(self):
        import types

        self.saved = sys.modules.get("__main__")
        sys.modules["__main__"] = types.ModuleType("__main__")

    def __exit__(self, *exc):
        if self.saved is not None:
            sys.modules["__main__"] = self.saved


def _python_executable() -> str:
    """The interpreter for the worker: Blender's bundled Python inside Blender."""
    exe = sys.executable or ""
    if "python" in os.path.basename(exe).lower():
        return exe
    for candidate in ("bin/python3.11", "bin/python3", "bin/python.exe", "python.exe"):
        path = os.path.join(sys.exec_prefix, candidate)
        if os.path.isfile(path):
            return path
    return exe


class _Worker:
    """One worker process and the parent's end of its pipe."""

    def __init__(self):
        ctx = multiprocessing.get_context("spawn")
        ctx.set_executable(_python_executable())
        self.conn, child = ctx.Pipe(duplex=True)
        env = {"PACKAGE_NAME": PACKAGE_NAME, "PACKAGE_DIR": PACKAGE_DIR, "CONN": child}
        self.process = ctx.Process(
            target=exec, args=(_BOOTSTRAP, env), daemon=True, name="image-to-rig-pipeline"
        )
        with _no_main_module():
            self.process.start()
        child.close()  # the child holds its own end; EOF then means it is gone
        self.exitcode: int | None = None

    def alive(self) -> bool:
        try:
            return self.process.is_alive()
        except ValueError:  # closed
            return False

    def stop(self, terminate: bool) -> None:
        if self.alive():
            if terminate:
                self.process.terminate()
            else:
                try:
                    self.conn.send(("quit",))
                except OSError:
                    self.process.terminate()
            self.process.join(5)
            if self.alive():
                self.process.kill()
                self.process.join(5)
        try:
            self.conn.close()
        except OSError:
            pass
        try:
            if self.exitcode is None:
                self.exitcode = self.process.exitcode
            self.process.close()
        except ValueError:
            pass


_idle: _Worker | None = None  # a finished worker kept for the next job


def _take_worker() -> _Worker:
    global _idle
    worker, _idle = _idle, None
    if worker is not None and worker.alive():
        return worker
    if worker is not None:
        worker.stop(terminate=True)
    return _Worker()


def shutdown_idle_worker() -> None:
    """End the idle worker (and the models it holds)."""
    global _idle
    worker, _idle = _idle, None
    if worker is not None:
        worker.stop(terminate=False)


class PipelineJob:
    """One pipeline run in a worker process."""

    def __init__(self, source, options=None, keep_worker: bool = True):
        self.source = source
        self.options = options
        self.keep_worker = keep_worker  # keep the process (and its models) for the next job
        self.worker: _Worker | None = None
        self.done = False
        self.started_at = 0.0
        self.last_progress = ("starting", 0.0)
        self.exitcode: int | None = None  # the worker's, if it ended (-15: terminated)

    @property
    def process(self):
        return self.worker.process if self.worker is not None else None

    @property
    def running(self) -> bool:
        return self.worker is not None and not self.done

    def start(self) -> PipelineJob:
        self.started_at = time.perf_counter()
        self.worker = _take_worker()
        try:
            self.worker.conn.send(("run", self.source, self.options))
        except (OSError, pickle.PicklingError, TypeError, AttributeError):
            self.worker.stop(terminate=True)
            self.done = True
            raise
        return self

    def poll(self) -> list[JobMessage]:
        """Every message the worker sent since the last call; never waits for the
        pipeline (a result is read once it is complete)."""
        out: list[JobMessage] = []
        if self.worker is None or self.done:
            return out
        conn = self.worker.conn
        while True:
            try:
                if not conn.poll():
                    break
                raw = conn.recv_bytes()
            except (EOFError, OSError):
                self.worker.process.join(2)
                self._finish(keep=False)
                out.append(
                    JobMessage(
                        "error", error=f"the worker process stopped unexpectedly (exit code {self.exitcode})"
                    )
                )
                break
            if raw[:1] == b"R":
                out.append(JobMessage("result", stage="done", fraction=1.0, result=pickle.loads(raw[1:])))
                self._finish(keep=self.keep_worker)
                break
            message = pickle.loads(raw)
            if message[0] == "progress":
                self.last_progress = (message[1], message[2])
                out.append(JobMessage("progress", stage=message[1], fraction=message[2]))
            else:
                out.append(JobMessage("error", error=message[1], user_error=bool(message[2])))
                self._finish(keep=self.keep_worker)
                break
        return out

    def wait(self, timeout: float = 600.0) -> list[JobMessage]:
        """Block until the job ends (for scripts and tests); all its messages."""
        end = time.perf_counter() + timeout
        messages: list[JobMessage] = []
        while not self.done and time.perf_counter() < end:
            if self.worker is not None:
                try:
                    self.worker.conn.poll(0.05)
                except (EOFError, OSError):
                    pass
            messages.extend(self.poll())
        if not self.done:
            self.cancel()
            messages.append(JobMessage("error", error=f"the pipeline took longer than {timeout:.0f} s"))
        return messages

    def cancel(self) -> None:
        """Stop the worker now; nothing it made survives (it writes no files)."""
        if self.worker is not None and not self.done:
            self._finish(keep=False)

    def _finish(self, keep: bool) -> None:
        global _idle
        self.done = True
        worker = self.worker
        if worker is None:
            return
        if keep and worker.alive():
            if _idle is not None and _idle is not worker:
                _idle.stop(terminate=False)
            _idle = worker
            return
        worker.stop(terminate=True)
        self.exitcode = worker.exitcode


def run_in_worker(source, options=None, timeout: float = 600.0):
    """Run the pipeline in a worker and return its PipelineResult (raises
    ImageToRigError with the worker's message on failure)."""
    job = PipelineJob(source, options).start()
    for message in job.wait(timeout):
        if message.kind == "result":
            return message.result
        if message.kind == "error":
            raise ImageToRigError(message.error)
    raise ImageToRigError("the worker ended without a result")
