# SPDX-License-Identifier: GPL-3.0-or-later
"""Writing a folder of results without ever losing what was there.

* `check_target` says, before any work, whether a folder may receive the
  results: a new or empty folder, or one that holds an earlier result of the
  same kind; a file, a path under a file, an unwritable place or a folder of
  somebody's own files is refused in plain words.
* `FolderLock` makes a second run into the same folder wait for nothing: it
  is told at once that the folder is busy.
* `swap_in` replaces the folder with a finished staging folder beside it, all
  or nothing: the old folder is renamed aside, the new one renamed in, the old
  one removed; if a step fails everything is put back, and where even that is
  impossible the error says exactly where each copy is.

An earlier result is replaced as a whole (a stale atlas page or motion of the
old result must not linger beside the new one); that is why only a folder
recognised as an earlier result, or an empty one, is accepted.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import tempfile
import uuid
from collections.abc import Callable, Iterator
from ..model.errors import ImageToRigError


class OutputFolderError(ImageToRigError):
    """The results cannot be written there; the message says why and what to do."""


def plain_os_error(exc: OSError) -> str:
    """An OSError in words a user reads (disk full, permission denied ...)."""
    if exc.errno == errno.ENOSPC:
        return "the disk is full"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.EROFS:
        return "the disk is read-only"
    return exc.strerror or str(exc)


def existing_ancestor(path: str) -> str:
    """The nearest ancestor of `path` that exists ("" for a bare relative name)."""
    parent = os.path.dirname(path)
    while parent and not os.path.exists(parent):
        up = os.path.dirname(parent)
        if up == parent:
            break
        parent = up
    return parent


def _under_a_file(path: str) -> str | None:
    """The nearest existing ancestor of `path` when it is not a folder."""
    parent = existing_ancestor(path)
    if parent and os.path.exists(parent) and not os.path.isdir(parent):
        return parent
    return None


def check_target(out_dir: str, is_earlier_result: Callable[[str], bool], what: str) -> str:
    """The real absolute path of `out_dir` if results may be written there, else
    OutputFolderError.  `is_earlier_result(folder)` recognises a folder this
    tool wrote before; `what` names the results in messages ("rig output")."""
    out_dir = os.path.realpath(os.path.abspath(os.fspath(out_dir)))
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise OutputFolderError(f"{out_dir} is a file, not a folder; choose a folder for the {what}")
    blocker = _under_a_file(out_dir)
    if blocker is not None:
        raise OutputFolderError(f"{out_dir} cannot be made: {blocker} is a file, not a folder")
    if os.path.isdir(out_dir):
        if os.listdir(out_dir) and not is_earlier_result(out_dir):
            raise OutputFolderError(
                f"{out_dir} already holds other files and is not an earlier {what}; choose an "
                "empty or new folder so nothing of yours is overwritten"
            )
        if not os.access(out_dir, os.W_OK | os.X_OK):
            raise OutputFolderError(f"{out_dir} is not writable; choose a folder you can write to")
    parent = os.path.dirname(out_dir)
    existing = parent
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputFolderError(
            f"cannot write into {existing} (permission denied); choose a folder you can write to"
        )
    return out_dir


# --------------------------------------------------------------------------- signals
@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Ctrl-C and SIGTERM wait while the block runs and take effect right after
    it: for steps that must not stop half-way (a pair of renames, Blender
    starting up, whose initialisation crashes when interrupted).

    The signals' Python handlers are swapped for ones that only note the
    signal (a C library that unmasks signals cannot bring the interruption
    back), and where the platform has them the signals are also masked."""
    wanted = [signal.SIGINT] + ([signal.SIGTERM] if hasattr(signal, "SIGTERM") else [])
    noted: list[int] = []
    try:
        previous = {s: signal.signal(s, lambda signum, frame: noted.append(signum)) for s in wanted}
    except ValueError:  # not the main thread: signals reach only the main thread anyway
        yield
        return
    mask = getattr(signal, "pthread_sigmask", None)
    old_mask = mask(signal.SIG_BLOCK, wanted) if mask else None
    try:
        yield
    finally:
        if mask:
            mask(signal.SIG_SETMASK, old_mask)  # a pending signal is noted now
        for s, handler in previous.items():
            signal.signal(s, handler)
        for s in noted[:1]:
            handler = previous[s]
            if callable(handler):
                handler(s, None)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(s)


# Blender runs its handlers (a depsgraph update while the scene is built) inside
# its own C code and swallows what they raise, printing a traceback: a Ctrl-C or
# SIGTERM that lands in one would be lost.  The handler keeps it here instead,
# and the run raises it once Blender's call has returned.
_DEFERRED: list[BaseException] = []


def defer_interrupt(exc: BaseException) -> None:
    """Keep an interruption that arrived inside a Blender callback for later."""
    _DEFERRED.append(exc)


def drop_deferred() -> None:
    """Forget kept interruptions (a run starts afresh)."""
    _DEFERRED.clear()


def raise_deferred() -> None:
    """Raise the interruption a Blender callback kept, if any (the first one)."""
    if _DEFERRED:
        exc = _DEFERRED[0]
        _DEFERRED.clear()
        raise exc


# --------------------------------------------------------------------------- lock
class FolderLock:
    """An exclusive lock on a results folder, held by one run at a time.

    The lock file sits beside the folder (``.<name>.image_to_rig.lock``), is
    created without following links, locked with flock (POSIX) or msvcrt
    (Windows), and removed when the lock is released."""

    def __init__(self, out_dir: str):
        parent, name = os.path.split(os.path.realpath(out_dir))
        self.path = os.path.join(parent, f".{name}.image_to_rig.lock")
        self.out_dir = out_dir
        self._fd: int | None = None

    def acquire(self) -> FolderLock:
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        while True:
            try:
                fd = os.open(self.path, flags, 0o600)
            except OSError as exc:
                raise OutputFolderError(f"cannot lock {self.out_dir}: {plain_os_error(exc)}") from None
            if not self._lock(fd):
                os.close(fd)
                raise OutputFolderError(
                    f"another Image to Rig run is writing {self.out_dir} right now; wait for it to "
                    "finish or choose another folder"
                )
            # The lock file may have been removed by its last holder between our
            # open and lock: only a lock on the file at the path counts.
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path, follow_symlinks=False))
            except OSError:
                same = False
            if same:
                self._fd = fd
                return self
            os.close(fd)

    @staticmethod
    def _lock(fd: int) -> bool:
        try:
            import fcntl
        except ImportError:  # Windows
            import msvcrt

            try:
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
                return True
            except OSError:
                return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError:
            return False

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            os.unlink(self.path)  # while still holding it: the next run makes a new one
        except OSError:
            pass
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> FolderLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


# --------------------------------------------------------------------------- staging and swap
def make_staging(out_dir: str) -> str:
    """A hidden, private folder beside `out_dir` (same disk, so renames are atomic)."""
    parent, name = os.path.split(out_dir)
    try:
        os.makedirs(parent, exist_ok=True)
        return tempfile.mkdtemp(prefix=f".{name}.staging-", dir=parent)
    except OSError as exc:
        raise OutputFolderError(
            f"cannot write into {parent}: {plain_os_error(exc)}; choose a folder you can write to"
        ) from None


def _aside_name(out_dir: str) -> str:
    parent, name = os.path.split(out_dir)
    return os.path.join(parent, f".{name}.old-{uuid.uuid4().hex[:12]}")


def swap_in(staging: str, out_dir: str) -> None:
    """Make the finished `staging` folder the new `out_dir`, all or nothing (see
    the module docstring).  `staging` is gone afterwards whatever happens.  A
    Ctrl-C or SIGTERM during the swap takes effect when it is complete."""
    aside = None
    with signals_held():
        try:
            if os.path.isdir(out_dir):
                aside = _aside_name(out_dir)
                os.rename(out_dir, aside)
            os.chmod(staging, 0o777 & ~_umask())
            os.rename(staging, out_dir)
        except OSError as exc:
            problem = _roll_back(out_dir, aside)
            shutil.rmtree(staging, ignore_errors=True)
            if problem:
                raise OutputFolderError(
                    f"replacing {out_dir} failed ({plain_os_error(exc)}) and so did putting it "
                    f"back ({problem}): your earlier results are in {aside}, the new ones were "
                    "removed"
                ) from None
            raise OutputFolderError(
                f"cannot replace {out_dir}: {plain_os_error(exc)}; nothing was changed there. "
                "Close programs that use the folder and try again"
            ) from None
        if aside is not None:
            shutil.rmtree(aside, ignore_errors=True)


def _roll_back(out_dir: str, aside: str | None) -> str:
    """Undo a failed swap; '' when everything is back as it was, else what failed."""
    try:
        if aside is not None and os.path.isdir(aside) and not os.path.exists(out_dir):
            os.rename(aside, out_dir)
    except OSError as exc:
        return plain_os_error(exc)
    return ""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
