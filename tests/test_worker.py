# SPDX-License-Identifier: GPL-3.0-or-later
"""The pipeline in a worker process: progress, result, errors and cancel."""

import os
import signal
import time

import pytest

from image_to_rig.core.pipeline import STAGES, PipelineOptions, run_pipeline
from image_to_rig.devkit.sample import write_sample_png
from image_to_rig.core.worker import PipelineJob, run_in_worker, shutdown_idle_worker


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return write_sample_png(str(tmp_path_factory.mktemp("worker") / "sample.png"), 320)


def test_worker_reports_progress_and_returns_the_same_document(sample):
    job = PipelineJob(sample, PipelineOptions(use_animeface=False)).start()
    assert job.running
    messages = job.wait(120)
    kinds = [m.kind for m in messages]
    assert kinds[-1] == "result" and "error" not in kinds
    stages = [m.stage for m in messages if m.kind == "progress"]
    assert [s for s in stages if s in STAGES] == list(STAGES)  # every stage, in order
    fractions = [m.fraction for m in messages if m.kind == "progress"]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    got = messages[-1].result
    here = run_pipeline(sample, PipelineOptions(use_animeface=False))
    assert [l.id for l in got.doc.layers] == [l.id for l in here.doc.layers]
    assert [p.id for p in got.doc.parameters] == [p.id for p in here.doc.parameters]
    for a, b in zip(got.doc.layers, here.doc.layers):
        assert (a.x, a.y) == (b.x, b.y) and (a.image == b.image).all()
    assert not job.running and job.poll() == []
    # the worker stays for the next job (models it loaded stay loaded)
    again = PipelineJob(sample, PipelineOptions(use_animeface=False)).start()
    assert again.process.pid == job.process.pid
    assert again.wait(120)[-1].kind == "result"
    shutdown_idle_worker()
    assert not again.worker.alive() and again.worker.exitcode == 0


def test_bad_input_comes_back_as_a_plain_message(tmp_path):
    bad = tmp_path / "character.png"
    bad.write_bytes(b"this is not a PNG")
    messages = PipelineJob(str(bad)).start().wait(60)
    assert messages[-1].kind == "error" and messages[-1].user_error
    assert "Traceback" not in messages[-1].error and messages[-1].error
    with pytest.raises(ValueError):
        run_in_worker(str(bad))


def test_a_bug_in_the_worker_is_reported_as_a_bug(sample):
    messages = PipelineJob(sample, options="not options").start().wait(60)
    assert messages[-1].kind == "error" and not messages[-1].user_error
    assert "AttributeError" in messages[-1].error


def test_cancel_stops_the_worker_and_leaves_nothing(sample, tmp_path):
    before = sorted(os.listdir(os.path.dirname(sample)))
    job = PipelineJob(sample).start()
    deadline = time.perf_counter() + 60
    seen = []
    while not seen and time.perf_counter() < deadline:  # wait until it is really working
        seen = [m for m in job.poll() if m.kind == "progress"]
        time.sleep(0.01)
    assert seen, "the worker never reported progress"
    assert job.process.is_alive()
    t0 = time.perf_counter()
    job.cancel()
    assert time.perf_counter() - t0 < 5
    assert job.done and job.poll() == [] and not job.worker.alive()
    if os.name == "posix":
        assert job.exitcode == -signal.SIGTERM  # stopped mid-run, not finished
    assert sorted(os.listdir(os.path.dirname(sample))) == before
    job.cancel()  # twice is harmless


def test_backend_choices_reach_the_worker(sample, tmp_path):
    pytest.importorskip("torch")
    from image_to_rig.devkit import tiny_models as tiny

    lama = tiny.save_tiny_lama(str(tmp_path / "best.ckpt"))
    options = PipelineOptions(
        inpaint_backend="lama", backend_settings={"model_paths": {"big_lama": lama}, "device": "cpu"}
    )
    result = run_in_worker(sample, options, timeout=120)
    result.doc.validate()
    missing = PipelineOptions(
        inpaint_backend="lama", backend_settings={"model_paths": {"big_lama": str(tmp_path / "absent.ckpt")}}
    )
    with pytest.raises(ValueError, match="absent.ckpt"):
        run_in_worker(sample, missing, timeout=120)
