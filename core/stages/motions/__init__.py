# SPDX-License-Identifier: GPL-3.0-or-later
"""Stage 6 of the pipeline (motions): the idle loop (idle.py) with its blinks
(blink.py), a head-turn demo (head_turn.py) and short expressions
(expressions.py); curves.py builds the curves.  Every motion animates only
parameters the document has, inside their ranges."""

from __future__ import annotations


from ...model.document import Motion, RigDocument
from .blink import BLINK_CLOSE_S, BLINK_HOLD_S, BLINK_OPEN_S, BLINK_PARAMS, blink_curve, blink_times
from .expressions import EXPRESSIONS, MotionError, make_expression_motion
from .head_turn import make_head_turn_demo
from .idle import IDLE_DURATION, IDLE_SEED, make_idle


def make_all_motions(doc: RigDocument) -> list[Motion]:
    """Idle, the head-turn demo and every expression, for the parameters `doc` has."""
    return [make_idle(doc), make_head_turn_demo(doc)] + [
        make_expression_motion(doc, name) for name in EXPRESSIONS
    ]


__all__ = [
    "BLINK_CLOSE_S",
    "BLINK_HOLD_S",
    "BLINK_OPEN_S",
    "BLINK_PARAMS",
    "blink_curve",
    "blink_times",
    "EXPRESSIONS",
    "MotionError",
    "make_expression_motion",
    "make_head_turn_demo",
    "IDLE_DURATION",
    "IDLE_SEED",
    "make_idle",
    "make_all_motions",
]
