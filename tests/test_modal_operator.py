# SPDX-License-Identifier: GPL-3.0-or-later
"""The modal Image to Rig operator, driven by hand: timers never fire in
background mode, so the test feeds modal() fake TIMER and ESC events."""

import time
from types import SimpleNamespace

import pytest

bpy = pytest.importorskip("bpy")

from blender_support import ensure_addon_registered, reset_blender  # noqa: E402
from image_to_rig.core.pipeline import STAGES  # noqa: E402
from image_to_rig.devkit.sample import write_sample_png  # noqa: E402
from image_to_rig.operators import generate  # noqa: E402

DATA = (
    "objects",
    "meshes",
    "materials",
    "images",
    "collections",
    "actions",
    "armatures",
    "lattices",
    "cameras",
)
TIMER = SimpleNamespace(type="TIMER", value="NOTHING")
ESC = SimpleNamespace(type="ESC", value="PRESS")
MOUSE = SimpleNamespace(type="MOUSEMOVE", value="NOTHING")


def _counts():
    return {name: len(getattr(bpy.data, name)) for name in DATA}


class FakeOperator:
    """The operator's own methods on a plain object (a registered operator cannot
    be instantiated from Python)."""

    def __init__(self, filepath):
        self.filepath = filepath
        self.reports = []

    def report(self, kind, message):
        self.reports.append((set(kind), message))


for _name in ("_start", "_stop", "_on_tick", "modal", "cancel"):
    setattr(FakeOperator, _name, generate.IMAGE_TO_RIG_OT_generate.__dict__[_name])


def _show(self, context, stage, fraction):
    """The operator's own _show, recording what it showed (several messages can
    arrive in one tick)."""
    self.__dict__.setdefault("shown", []).append((stage, round(fraction, 3)))
    generate.IMAGE_TO_RIG_OT_generate.__dict__["_show"](self, context, stage, fraction)


FakeOperator._show = _show


@pytest.fixture
def addon(tmp_path):
    reset_blender()
    ensure_addon_registered()
    yield
    bpy.context.scene.image_to_rig.status = ""


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return write_sample_png(str(tmp_path_factory.mktemp("modal") / "sample.png"), 320)


def _tick_until(op, predicate, timeout=90.0):
    end = time.perf_counter() + timeout
    while time.perf_counter() < end:
        state = op.modal(bpy.context, TIMER)
        if predicate(state):
            return state
        time.sleep(0.02)
    raise AssertionError("the job did not get there in time")


def test_modal_run_shows_progress_and_builds_at_the_end(addon, sample):
    ai = bpy.context.scene.image_to_rig_ai
    op = FakeOperator(sample)
    before = _counts()
    assert op._start(bpy.context) == {"RUNNING_MODAL"}
    assert ai.running
    assert op.modal(bpy.context, MOUSE) == {"PASS_THROUGH"}  # the UI keeps its events
    seen = []
    end = time.perf_counter() + 90
    state = {"RUNNING_MODAL"}
    while state == {"RUNNING_MODAL"} and time.perf_counter() < end:
        state = op.modal(bpy.context, TIMER)
        if state == {"RUNNING_MODAL"}:
            seen.append((ai.progress_text, round(ai.progress, 3)))
            assert _counts() == before  # nothing is built while the worker runs
        time.sleep(0.02)
    assert state == {"FINISHED"}
    assert len(seen) >= 2 and seen[0][0] != seen[-1][0]  # the panel saw the stages change
    stages = [s for s, _ in op.shown]
    assert stages[0] == "starting the worker" and stages[-1] == "building the scene"
    assert generate.active_job() is None
    assert [s for s in stages if s in STAGES] == list(STAGES)
    progress = [p for _, p in op.shown]
    assert progress == sorted(progress)
    assert not ai.running and ai.progress_text == ""
    assert _counts()["armatures"] == before["armatures"] + 1
    rig = bpy.context.view_layer.objects.active
    assert rig is not None and rig.get("i2r_rig")
    assert bpy.context.scene.image_to_rig.status.startswith("Rigged sample.png")
    stats = generate.LAST_RUN_STATS
    assert stats["timer_ticks"] >= 3
    assert stats["longest_tick_s"] < 0.25  # polling never holds the main thread long
    assert stats["build_s"] > 0


def test_esc_cancels_and_leaves_the_scene_as_it_was(addon, sample):
    ai = bpy.context.scene.image_to_rig_ai
    op = FakeOperator(sample)
    before = _counts()
    op._start(bpy.context)
    assert generate.active_job() is op._job
    assert FakeOperator(sample)._start(bpy.context) == {"CANCELLED"}  # one run at a time
    _tick_until(op, lambda state: ai.progress_text not in ("", "starting the worker"))
    job = op._job
    assert op.modal(bpy.context, ESC) == {"CANCELLED"}
    assert job.done and job.exitcode is not None
    assert _counts() == before
    assert not ai.running and bpy.context.scene.image_to_rig.status == "Cancelled"
    assert any("cancelled" in m for _, m in op.reports)


def test_a_failing_run_reports_and_builds_nothing(addon, tmp_path):
    bad = tmp_path / "character.png"
    bad.write_bytes(b"not an image")
    op = FakeOperator(str(bad))
    before = _counts()
    op._start(bpy.context)
    state = _tick_until(op, lambda s: s != {"RUNNING_MODAL"})
    assert state == {"CANCELLED"}
    assert _counts() == before
    assert bpy.context.scene.image_to_rig.status.startswith("Failed: ")
    assert op.reports and {"ERROR"} == op.reports[-1][0]


def test_invoke_in_background_mode_runs_synchronously(addon, sample):
    assert bpy.app.background
    assert bpy.ops.image_to_rig.generate("INVOKE_DEFAULT", filepath=sample) == {"FINISHED"}
    assert not bpy.context.scene.image_to_rig_ai.running


def test_download_is_refused_while_online_access_is_off(addon, tmp_path, monkeypatch):
    if bpy.app.online_access:
        pytest.skip("this Blender has online access on")
    monkeypatch.setenv("IMAGE_TO_RIG_MODELS", str(tmp_path / "models"))
    with pytest.raises(RuntimeError, match="online access is off"):
        bpy.ops.image_to_rig.model_download("INVOKE_DEFAULT", model="isnet_anime")
    with pytest.raises(RuntimeError, match="online access is off"):
        bpy.ops.image_to_rig.model_download(model="sd_inpaint")
    assert not (tmp_path / "models").exists()
    with pytest.raises(RuntimeError, match="nothing at"):
        bpy.ops.image_to_rig.model_check(model="big_lama")


class FakeLayout:
    """Records what a draw() function puts in the UI."""

    def __init__(self, log=None):
        self.log = [] if log is None else log
        self.enabled = True

    def __getattr__(self, name):
        def call(*args, **kwargs):
            self.log.append((name, args, kwargs))
            if name == "operator":
                return SimpleNamespace()
            return FakeLayout(self.log)

        return call

    def texts(self):
        return [k.get("text", "") for _, _, k in self.log]


def test_backend_choices_flow_into_the_pipeline_options(addon, monkeypatch):
    from image_to_rig.panels.backends import IMAGE_TO_RIG_PT_backends, draw_progress

    ai = bpy.context.scene.image_to_rig_ai
    ai.inpaint_backend = "sd_inpaint"
    ai.prompt, ai.seed, ai.steps = "{tag}, watercolour", 7, 12
    options = generate.pipeline_options(bpy.context, False, 1.0)
    assert (options.foreground_backend, options.parts_backend, options.inpaint_backend) == (
        "builtin",
        "builtin",
        "sd_inpaint",
    )
    s = options.backend_settings
    assert (s["prompt"], s["seed"], s["steps"], s["device"]) == ("{tag}, watercolour", 7, 12, "auto")
    assert set(s["model_paths"]) == {"isnet_anime", "anime_face_parts", "big_lama", "sd_inpaint"}
    layout = FakeLayout()
    IMAGE_TO_RIG_PT_backends.draw(SimpleNamespace(layout=layout), bpy.context)
    props = [a[1] for n, a, _ in layout.log if n == "prop"]
    assert {"inpaint_backend", "prompt", "seed", "steps", "strength"} <= set(props)
    assert any("needs" in t for t in layout.texts())  # why SD cannot run here is shown
    assert not draw_progress(FakeLayout(), bpy.context)
    ai.running, ai.progress, ai.progress_text = True, 0.5, "decompose"
    assert not draw_progress(FakeLayout(), bpy.context)  # no job behind it (a file saved mid-run)
    import image_to_rig.active_job as active_job

    monkeypatch.setattr(active_job, "active_job", lambda: object())
    bar = FakeLayout()
    assert draw_progress(bar, bpy.context)
    assert "decompose (50 %)" in " ".join(bar.texts())
    ai.running = False


def test_preferences_list_every_model_with_check_and_download(addon, tmp_path, monkeypatch):
    from image_to_rig.core.backends.weights import MODELS
    from image_to_rig.preferences import ImageToRigPreferences

    monkeypatch.setenv("IMAGE_TO_RIG_MODELS", str(tmp_path))
    prefs = SimpleNamespace(models_dir="", device="AUTO", **{f"{n}_path": "" for n in MODELS})
    layout = FakeLayout()
    ImageToRigPreferences.draw(SimpleNamespace(layout=layout, **vars(prefs)), bpy.context)
    ops = [a[0] for n, a, _ in layout.log if n == "operator"]
    assert ops.count("image_to_rig.model_check") == len(MODELS)
    assert ops.count("image_to_rig.model_download") == len(MODELS)
    assert sum("not on disk" in t for t in layout.texts()) == len(MODELS)
    if not bpy.app.online_access:
        assert any("Online access is off" in t for t in layout.texts())
