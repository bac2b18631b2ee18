# SPDX-License-Identifier: GPL-3.0-or-later
"""The one interactive Image to Rig run in progress (started by operators/generate.py,
drawn by the panels)."""

from __future__ import annotations

_ACTIVE_JOB = None  # a core.worker.PipelineJob, one at a time


def active_job():
    """The running interactive job, or None."""
    job = _ACTIVE_JOB
    return job if job is not None and job.running else None


def set_active_job(job) -> None:
    global _ACTIVE_JOB
    _ACTIVE_JOB = job


def clear_active_job(job) -> None:
    """Forget `job` if it is the active one (a newer run is left alone)."""
    global _ACTIVE_JOB
    if _ACTIVE_JOB is job:
        _ACTIVE_JOB = None
