# SPDX-License-Identifier: GPL-3.0-or-later
"""`rig --out DIR` never loses a file (docs/security.md): a folder of the user's
own is refused, the final replace is all or nothing, two runs into one folder
do not race, Ctrl-C and SIGTERM leave nothing behind, and the error log cannot
be redirected through a planted link."""

import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time

import cv2
import pytest

from image_to_rig.core.formats import output_folder
from image_to_rig.core.formats.output_folder import FolderLock, OutputFolderError, swap_in

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAUNCH = (
    "import sys; sys.path.insert(0, {tests!r}); import conftest; exec({patch!r}); "
    "from image_to_rig.cli import main; sys.exit(main(sys.argv[1:]))"
)


def _env(tmp):
    env = dict(os.environ)
    env.pop("BLENDER_USER_RESOURCES", None)  # the CLI makes (and removes) its own
    env["TMPDIR"] = str(tmp)
    return env


def _start(args, tmp, patch=""):
    code = LAUNCH.format(tests=os.path.join(REPO, "tests"), patch=patch)
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(tmp),
        cwd=str(tmp),
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def _run(args, tmp, patch="", timeout=300):
    """Run the CLI with `patch` (Python source) executed first; (exit code, stderr)."""
    proc = _start(args, tmp, patch)
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, err


def _earlier_result(image, out, tmp):
    """A first, complete run into `out`; the snapshot of what it wrote."""
    code, err = _run(["rig", image, "--out", str(out), "--quiet"], tmp)
    assert code == 0, err
    return _snapshot(out)


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    from image_to_rig.devkit.sample import make_sample

    path = tmp_path_factory.mktemp("input") / "girl.png"
    cv2.imwrite(str(path), cv2.cvtColor(make_sample(256).image, cv2.COLOR_RGBA2BGRA))
    return str(path)


def _snapshot(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _leftovers(parent, name="out"):
    return sorted(
        e for e in os.listdir(parent) if e.startswith(f".{name}.") or e.startswith("image_to_rig-bl-")
    )


# ------------------------------------------------------------------ a folder of the user's own
@pytest.mark.parametrize("own", ["web", "layers", "report.json", "notes.txt"])
def test_a_folder_of_the_users_own_files_is_refused(image, tmp_path, own):
    out = tmp_path / "out"
    out.mkdir()
    if own in ("web", "layers"):
        (out / own).mkdir()
        (out / own / "mine.txt").write_text("my own work")
    else:
        (out / own).write_text(json.dumps({"my": "notes"}))
    before = _snapshot(out)
    code, err = _run(["rig", image, "--out", str(out), "--quiet"], tmp_path)
    assert code == 2, err
    assert "already holds other files and is not an earlier rig output" in err, err
    assert _snapshot(out) == before
    assert _leftovers(tmp_path) == []


def test_an_earlier_result_is_replaced_and_a_user_file_beside_it_is_kept(image, tmp_path):
    out = tmp_path / "out"
    code, err = _run(["rig", image, "--out", str(out), "--quiet", "--preview"], tmp_path)
    assert code == 0, err
    report = json.loads((out / "report.json").read_text())
    assert report["format"] == "image-to-rig-output"
    (tmp_path / "keep.txt").write_text("beside the folder")
    code, err = _run(["rig", image, "--out", str(out), "--quiet"], tmp_path)
    assert code == 0, err
    assert not (out / "preview.gif").exists(), "the earlier result is replaced as a whole"
    assert (tmp_path / "keep.txt").read_text() == "beside the folder"
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("case", ["file", "under-a-file", "unwritable"])
def test_unusable_output_paths_get_plain_errors(image, tmp_path, case):
    if case == "file":
        target = tmp_path / "out"
        target.write_text("x")
        expected = "is a file, not a folder"
    elif case == "under-a-file":
        (tmp_path / "blocker").write_text("x")
        target = tmp_path / "blocker" / "deeper" / "out"
        expected = "blocker is a file, not a folder"
    else:
        if os.geteuid() == 0:
            pytest.skip("root ignores permission bits")
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
        target = locked / "out"
        expected = "permission denied"
    code, err = _run(["rig", image, "--out", str(target), "--quiet"], tmp_path)
    assert code == 2 and expected in err and "Traceback" not in err, err


# ------------------------------------------------------------------ all or nothing
def _folder_with(tmp_path, name, text):
    folder = tmp_path / name
    (folder / "web").mkdir(parents=True)
    (folder / "web" / "model.json").write_text(text)
    (folder / "report.json").write_text(text)
    return folder


def test_swap_failure_puts_the_old_folder_back(tmp_path, monkeypatch):
    old = _folder_with(tmp_path, "out", "old")
    new = _folder_with(tmp_path, ".out.staging-x", "new")
    before = _snapshot(old)
    real_rename = os.rename

    def rename(src, dst):
        if os.path.basename(str(src)).startswith(".out.staging"):
            raise OSError(16, "Device or resource busy")
        return real_rename(src, dst)

    monkeypatch.setattr(output_folder.os, "rename", rename)
    with pytest.raises(OutputFolderError, match="nothing was changed there"):
        swap_in(str(new), str(old))
    assert _snapshot(old) == before
    assert sorted(os.listdir(tmp_path)) == ["out"], "no staging or aside folder left"


def test_a_failed_roll_back_says_where_the_old_results_are(tmp_path, monkeypatch):
    old = _folder_with(tmp_path, "out", "old")
    new = _folder_with(tmp_path, ".out.staging-x", "new")
    real_rename = os.rename

    def rename(src, dst):
        if os.path.basename(str(src)).startswith((".out.staging", ".out.old")):
            raise OSError(5, "Input/output error")
        return real_rename(src, dst)

    monkeypatch.setattr(output_folder.os, "rename", rename)
    with pytest.raises(OutputFolderError, match=r"your earlier results are in .*\.out\.old-") as info:
        swap_in(str(new), str(old))
    aside = str(info.value).split("your earlier results are in ")[1].split(",")[0]
    assert (open(os.path.join(aside, "report.json")).read()) == "old"


def test_cli_swap_failure_leaves_the_earlier_result_whole(image, tmp_path):
    out = tmp_path / "out"
    before = _earlier_result(image, out, tmp_path)
    patch = (
        "import os; from image_to_rig.core.formats import output_folder as F; _r = os.rename\n"
        "def _bad(a, b):\n"
        "    if '.staging-' in os.path.basename(str(a)): raise OSError(13, 'Permission denied')\n"
        "    return _r(a, b)\n"
        "F.os.rename = _bad\n"
    )
    code, err = _run(
        ["rig", image, "--out", str(out), "--quiet", "--mesh-density", "0.7"],
        tmp_path,
        patch=patch,
    )
    assert code == 2 and "nothing was changed there" in err, err
    assert _snapshot(out) == before, "report.json, web/, layers/ and the .blend all stay old"
    assert _leftovers(tmp_path) == []


# ------------------------------------------------------------------ one run at a time
def test_a_second_run_into_a_locked_folder_is_told_so(image, tmp_path):
    out = tmp_path / "out"
    with FolderLock(str(out)):
        code, err = _run(["rig", image, "--out", str(out), "--quiet"], tmp_path)
    assert code == 2 and "another Image to Rig run is writing" in err, err
    assert not out.exists()
    assert not (tmp_path / ".out.image_to_rig.lock").exists(), "the lock file goes with the lock"


def test_concurrent_runs_into_one_folder_never_mix(image, tmp_path):
    out = tmp_path / "out"
    procs = [_start(["rig", image, "--out", str(out), "--quiet"], tmp_path) for _ in range(3)]
    results = [(p.wait(timeout=600), p.stderr.read()) for p in procs]
    codes = [c for c, _ in results]
    assert codes.count(0) >= 1, results
    for code, err in results:
        assert code == 0 or (code == 2 and "another Image to Rig run is writing" in err), err
    report = json.loads((out / "report.json").read_text())
    model = json.loads((out / "web" / "model.json").read_text())
    assert len(os.listdir(out / "layers")) == len(model["layers"]) == len(report["layers"])
    assert _leftovers(tmp_path) == []


def test_folder_lock_is_exclusive_across_threads_of_processes(tmp_path):
    target = str(tmp_path / "out")
    held = FolderLock(target).acquire()
    errors = []

    def second():
        try:
            FolderLock(target).acquire()
        except OutputFolderError as exc:
            errors.append(str(exc))

    t = threading.Thread(target=second)
    t.start()
    t.join()
    held.release()
    assert errors and "another Image to Rig run" in errors[0]
    again = FolderLock(target).acquire()  # free again once released
    again.release()


# ------------------------------------------------------------------ cancel at any moment
@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_cancel_at_any_moment_leaves_nothing(image, tmp_path, sig):
    """Ctrl-C or SIGTERM at several moments (loading, the pipeline, Blender
    starting, the export, the swap): a plain message, exit 130 / 143, no crash,
    no staging folder, no Blender temp folder; the earlier result is whole."""
    out = tmp_path / "out"
    before = _earlier_result(image, out, tmp_path)
    for delay in (0.8, 1.2, 1.6, 2.0, 2.4, 2.8, 3.4):
        proc = _start(["rig", image, "--out", str(out), "--quiet"], tmp_path)
        time.sleep(delay)
        proc.send_signal(getattr(signal, sig))
        _, err = proc.communicate(timeout=300)
        if proc.returncode in (0, -getattr(signal, sig)):
            # Finished before the signal, or the signal came while Python was
            # shutting down after the work (its default action then ends the
            # process): the result must be whole and nothing left behind.
            assert "Traceback" not in err, err
            json.loads((out / "report.json").read_text())
            assert _leftovers(tmp_path) == [], (delay, _leftovers(tmp_path))
            before = _snapshot(out)
            continue
        expected = 130 if sig == "SIGINT" else 143
        assert proc.returncode == expected, (delay, proc.returncode, err)
        assert "nothing was written" in err or "already written" in err, err
        assert "Traceback" not in err and "Segmentation" not in err, err
        assert _leftovers(tmp_path) == [], (delay, _leftovers(tmp_path))
        if "nothing was written" in err:
            assert _snapshot(out) == before, delay
        before = _snapshot(out)


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_a_signal_inside_a_blender_handler_still_stops_the_run(image, tmp_path, sig):
    """Blender runs its depsgraph handler inside its own code and swallows what
    a handler raises (with a traceback): Ctrl-C or SIGTERM arriving there was
    lost, and the run went on.  The handler keeps it and the run stops right
    after the scene is built, as anywhere else."""
    out = tmp_path / "out"
    before = _earlier_result(image, out, tmp_path)
    patch = (
        "import os, signal; import image_to_rig.scene.controls as C; _u = C.on_depsgraph_update\n"
        "def _hit(*a, **k):\n"
        f"    os.kill(os.getpid(), signal.{sig}); _u(*a, **k)\n"
        "C.on_depsgraph_update = _hit\n"
    )
    code, err = _run(["rig", image, "--out", str(out), "--quiet"], tmp_path, patch=patch)
    assert code == (130 if sig == "SIGINT" else 143), (code, err)
    assert "nothing was written" in err and "Traceback" not in err, err
    assert _snapshot(out) == before
    assert _leftovers(tmp_path) == []


def test_a_normal_run_leaves_no_temporary_folder(image, tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    code, err = _run(["rig", image, "--out", str(tmp_path / "out"), "--quiet"], tmp)
    assert code == 0, err
    assert os.listdir(tmp) == [], os.listdir(tmp)


# ------------------------------------------------------------------ the error log
def test_the_error_log_is_private_and_never_follows_a_link(image, tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    os.symlink(victim, tmp / "image_to_rig-error.log")  # the name the log once had
    patch = (
        "import image_to_rig.core.pipeline as P\n"
        "def _boom(*a, **k): raise RuntimeError('a bug')\n"
        "P.run_pipeline = _boom\n"
    )
    code, err = _run(["rig", image, "--out", str(tmp_path / "out"), "--quiet"], tmp, patch=patch)
    assert code == 3 and "internal problem (RuntimeError: a bug)" in err, err
    assert victim.read_text() == "precious"
    log = err.split("Details for a bug report: ")[1].strip()
    assert os.path.dirname(log) == str(tmp) and log != str(tmp / "image_to_rig-error.log")
    assert stat.S_IMODE(os.stat(log).st_mode) == 0o600
    assert "RuntimeError: a bug" in open(log).read()
