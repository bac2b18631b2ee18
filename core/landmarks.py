# SPDX-License-Identifier: GPL-3.0-or-later
"""Stage 2: where the face, eyes, nose, mouth and chin are.

`detect_landmarks` tries the `animeface` detector (an optional dependency: it
has no wheels for Windows) and falls back to our own colour/shape analysis.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Tuple

import numpy as np

Box = Tuple[int, int, int, int]  # x0, y0, x1, y1 (canvas px, x1/y1 exclusive)
Point = Tuple[int, int]


@dataclass
class FaceLandmarks:
    """Face features on the canvas.  `eye_l` is the character's left eye, which
    appears on the RIGHT half of the image."""

    face_box: Box
    eye_l: Box
    eye_r: Box
    nose: Point
    mouth: Box
    chin: Point
    skin_rgb: Tuple[int, int, int]
    hair_rgb: Tuple[int, int, int]
    source: str = "fallback"  # "animeface", "fallback" or "ground truth"
    confidence: float = 0.5
    warnings: List[str] = field(default_factory=list)
    brow_l: Optional[Box] = None
    brow_r: Optional[Box] = None
    iris_rgb_l: Optional[Tuple[int, int, int]] = None
    iris_rgb_r: Optional[Tuple[int, int, int]] = None
