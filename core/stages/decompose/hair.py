# SPDX-License-Identifier: GPL-3.0-or-later
"""Where the front hair is cut out from the back hair.

Shading splits hair into many flat regions; pieces that only dark line art
separates are one hair part.  Each hair region joins the group (regions
bridged across thin gaps) holding most of its pixels; the largest group and
every group reaching above the eyes are the front hair (fringe and locks),
the rest is the back hair, except a group that starts far below the chin:
hanging from nothing, it is part of the body."""

from __future__ import annotations

import cv2
import numpy as np

from .context import _Context, _components_in, _label_index


# of the face height below the chin: a hair group that starts lower is no hair
DETACHED_BELOW_CHIN = 0.8


def assign_hair(
    ctx: _Context,
    cls: np.ndarray,
    lab: np.ndarray,
    hair_regions,
    max_dist: np.ndarray,
    cents,
    region: np.ndarray,
    line: np.ndarray,
    thin: float,
    eye_y: float,
) -> None:
    """Classify the hair regions (flat-region labels `hair_regions` of `lab`) as
    front or back hair, in the per-region class table `cls` (in place)."""
    idx = _label_index()
    n = len(cls)
    # shading splits hair into many flat regions; pieces only dark line art
    # separates are the hair parts (front fringe and locks vs. back hair)
    is_hair = np.zeros(n, bool)
    is_hair[hair_regions] = True
    hair_px = is_hair[lab].astype(np.uint8)
    thin_px = (max_dist <= thin)[lab] & (lab > 0)
    bridged = cv2.dilate(hair_px, np.ones((5, 5), np.uint8)).astype(bool) & region & ~line & ~thin_px
    gn, glab, gst, gcents = _components_in(bridged)
    # each hair region joins the group holding most of its pixels
    counts_rg = {}
    sel = hair_px.astype(bool) & (glab > 0)
    pairs = lab[sel].astype(np.int64) * (gn + 1) + glab[sel]
    uniq, cnt = np.unique(pairs, return_counts=True)
    for u, c in zip(uniq, cnt):
        r, g = divmod(int(u), gn + 1)
        if c > counts_rg.get(r, (0, 0))[0]:
            counts_rg[r] = (c, g)
    group_of = {r: counts_rg.get(r, (0, 0))[1] for r in hair_regions}
    largest = 1 + int(np.argmax(gst[1:, cv2.CC_STAT_AREA])) if gn > 1 else 0
    front_group = np.zeros(gn, bool)
    for g in range(1, gn):
        front_group[g] = g == largest or gcents[g][1] < eye_y
    # a group that starts far below the chin hangs from nothing: a detail of the
    # clothes in the hair's colour (a stripe down a trouser leg), or the end of
    # a lock whose rest something covers; it moves with the body
    fy0, fy1 = ctx.lm.face_box[1], ctx.lm.face_box[3]
    detached = gst[:, cv2.CC_STAT_TOP] > ctx.lm.chin[1] + DETACHED_BELOW_CHIN * (fy1 - fy0)
    detached[[0, largest]] = False  # the background label and the largest group
    for i in hair_regions:
        if group_of[i] > 0 and detached[group_of[i]]:
            cls[i] = idx[("topwear", "")]
            continue
        front = front_group[group_of[i]] if group_of[i] > 0 else cents[i][1] < eye_y
        cls[i] = idx[("front hair", "")] if front else idx[("back hair", "")]
