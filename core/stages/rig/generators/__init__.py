# SPDX-License-Identifier: GPL-3.0-or-later
"""The rig generators, one module per part (head, eyes, brows, mouth, cheek,
hair, body, and the underlays that fill gaps), in the order they run.  Each module declares its `Generator`
records (context.py): the owner of its keyforms, its creator controls and the
hooks it contributes to the build; the controls table (controls.py) is derived
from them."""

from __future__ import annotations


from ..context import Generator
from . import body, brows, cheek, eyes, hair, head, mouth, underlay

GENERATORS: tuple[Generator, ...] = (
    underlay.UNDERLAY,
    head.TURN,
    head.TILT,
    eyes.BLINK,
    eyes.GAZE,
    brows.BROWS,
    mouth.MOUTH,
    cheek.CHEEK,
    hair.SWAY,
    body.TURN,
    body.BREATH,
)
