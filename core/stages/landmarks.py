# SPDX-License-Identifier: GPL-3.0-or-later
"""Stage 2 of the pipeline (landmarks): where the face, eyes, nose, mouth and chin are.

`detect_landmarks` tries the `animeface` detector (an optional dependency: it
has no wheels for Windows) and falls back to our own colour/shape analysis.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from ..model.errors import ImageToRigError

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 (canvas px, x1/y1 exclusive)
Point = tuple[int, int]


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
    skin_rgb: tuple[int, int, int]
    hair_rgb: tuple[int, int, int]
    source: str = "fallback"  # "animeface", "fallback" or "ground truth"
    confidence: float = 0.5
    warnings: list[str] = field(default_factory=list)
    brow_l: Box | None = None
    brow_r: Box | None = None
    iris_rgb_l: tuple[int, int, int] | None = None
    iris_rgb_r: tuple[int, int, int] | None = None
    # every face the detector saw, (box, likelihood), for counting characters (core/stages/faces.py)
    detected: list[tuple[Box, float]] = field(default_factory=list)

    # --- helpers ------------------------------------------------------------
    def eye(self, side: str) -> Box:
        return self.eye_l if side == "l" else self.eye_r

    def brow(self, side: str) -> Box | None:
        return self.brow_l if side == "l" else self.brow_r

    @property
    def face_centre_x(self) -> float:
        return 0.5 * (self.eye_l[0] + self.eye_l[2] + self.eye_r[0] + self.eye_r[2]) / 2.0

    def scaled(self, factor: float) -> FaceLandmarks:
        """These landmarks on a canvas scaled by `factor`."""

        def b(box):
            return None if box is None else tuple(int(round(v * factor)) for v in box)

        def p(pt):
            return (int(round(pt[0] * factor)), int(round(pt[1] * factor)))

        return FaceLandmarks(
            b(self.face_box),
            b(self.eye_l),
            b(self.eye_r),
            p(self.nose),
            b(self.mouth),
            p(self.chin),
            self.skin_rgb,
            self.hair_rgb,
            self.source,
            self.confidence,
            list(self.warnings),
            b(self.brow_l),
            b(self.brow_r),
            self.iris_rgb_l,
            self.iris_rgb_r,
        )


class LandmarkError(ImageToRigError):
    """No face could be found in the image."""


DETECT_MAX_SIDE = 512  # animeface runs on a copy no larger than this
FALLBACK_MAX_SIDE = 384  # our own detector works at this resolution


def detect_landmarks(rgba: np.ndarray, mask: np.ndarray, use_animeface: bool = True) -> FaceLandmarks:
    """Face landmarks of the character; animeface when available, else our fallback.

    Raises LandmarkError when neither finds a face.  animeface reads shapes, so
    it finds faces in greyscale and monochrome drawings too; our own finder
    needs skin tones and says so for an image without colour."""
    warnings: list[str] = []
    have_animeface = False
    if use_animeface:
        try:
            lm = detect_with_animeface(rgba)
            have_animeface = True
        except ImportError:
            lm = None
            warnings.append("animeface is not installed: used the built-in face finder")
        if lm is not None:
            return _with_drawn_colours(lm, rgba, mask)
        if not warnings:
            warnings.append("animeface found no face: used the built-in face finder")

    def look_harder(error: LandmarkError) -> FaceLandmarks:
        # the last try before refusing: animeface at other sizes, and with the
        # lines darkened (not before the built-in finder: where that finds a
        # face, it finds the skin's extent better than a second look does)
        lm = detect_with_animeface(rgba, look_harder=True) if have_animeface else None
        if lm is None:
            raise error
        lm.warnings = [
            "animeface found the face only on a second look (at another size or with the "
            "lines darkened): check where the rig put the eyes and mouth"
        ]
        return _with_drawn_colours(lm, rgba, mask)

    if is_greyscale(rgba, mask):
        return look_harder(
            LandmarkError(
                "no face found in this greyscale image: the built-in face finder "
                "needs colour (skin tones); "
                + (
                    "animeface found none either"
                    if use_animeface and not any("not installed" in w for w in warnings)
                    else "install animeface (pip install animeface), which reads "
                    "shapes, or use a coloured illustration"
                )
            )
        )
    try:
        lm = detect_fallback(rgba, mask)
    except LandmarkError as exc:
        return look_harder(exc)
    lm.warnings = warnings + lm.warnings
    lm.hair_rgb = estimate_hair_colour(rgba, mask, lm) or lm.hair_rgb
    return lm


def _with_drawn_colours(lm: FaceLandmarks, rgba: np.ndarray, mask: np.ndarray) -> FaceLandmarks:
    """animeface's landmarks with the skin and hair colours read from the drawing."""
    if not refine_with_colours(lm, rgba, mask):
        # animeface's colours differ a little from call to call (its own
        # sampling): the skin is read from the drawing, so that the same
        # image always gives the same rig
        lm.skin_rgb = cheek_colour(flatten_over_white(rgba), mask.astype(bool), lm) or lm.skin_rgb
    lm.hair_rgb = estimate_hair_colour(rgba, mask, lm) or lm.hair_rgb
    return lm


def estimate_hair_colour(
    rgba: np.ndarray, mask: np.ndarray, lm: FaceLandmarks
) -> tuple[int, int, int] | None:
    """The hair's main colour: the commonest colour of the fringe band between the
    top of the head and the brows, leaving out line art (pixels much darker than
    their surroundings) and skin-coloured pixels.  None when the band is empty."""
    import cv2

    h, w = mask.shape
    ex0 = min(lm.eye_r[0], lm.eye_l[0])
    ex1 = max(lm.eye_r[2], lm.eye_l[2])
    eye_top = min(lm.eye_r[1], lm.eye_l[1])
    eye_h = max(lm.eye_r[3] - lm.eye_r[1], lm.eye_l[3] - lm.eye_l[1], 2)
    face_h = max(lm.chin[1] - eye_top, 4)
    y0, y1 = max(0, int(eye_top - 1.1 * face_h)), max(0, int(eye_top - 0.9 * eye_h))
    x0, x1 = max(0, int(ex0)), min(w, int(ex1))
    if y1 - y0 < 2 or x1 - x0 < 2:
        return None
    rgb = flatten_over_white(rgba[y0:y1, x0:x1])
    fg = np.asarray(mask, bool)[y0:y1, x0:x1]
    lum = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    k = max(3, int(round(0.15 * eye_h)) | 1)
    blackhat = cv2.morphologyEx(lum, cv2.MORPH_BLACKHAT, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.int16)
    ref = cv2.cvtColor(np.uint8([[lm.skin_rgb]]), cv2.COLOR_RGB2LAB).astype(np.int16)[0, 0]
    near_skin = np.abs(lab - ref).max(axis=2) <= 10
    sel = fg & (blackhat <= 25) & ~near_skin
    if sel.sum() < 20:
        return None
    q = (rgb[sel] // 16).astype(np.int32)
    codes = (q[:, 0] << 8) | (q[:, 1] << 4) | q[:, 2]
    best = np.bincount(codes).argmax()
    return tuple(int(v) for v in rgb[sel][codes == best].mean(axis=0).round())


# --------------------------------------------------------------------------- animeface
def _animeface_at(rgb: np.ndarray, side: int, darken: bool):
    """animeface's faces on a copy of `rgb` whose longer side is `side` px
    (`darken`: grey, its lightness stretched so the darkest ink is black), and
    the factor from the image to that copy."""
    import animeface  # optional dependency (no Windows wheel)
    import cv2
    from PIL import Image

    h, w = rgb.shape[:2]
    factor = side / max(h, w)
    img = rgb
    if factor != 1.0:
        size = (max(1, int(round(w * factor))), max(1, int(round(h * factor))))
        img = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if factor < 1.0 else cv2.INTER_CUBIC)
    if darken:
        grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
        drawn = grey[grey < 250]
        lo = float(np.percentile(drawn, 2)) if drawn.size else 0.0
        grey = np.clip((grey - lo) * (255.0 / max(255.0 - lo, 1.0)), 0, 255).astype(np.uint8)
        img = cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB)
    return animeface.detect(Image.fromarray(np.ascontiguousarray(img))), factor


# When neither animeface at DETECT_MAX_SIDE nor the built-in finder finds a face,
# animeface looks again at other sizes, and with the lines darkened (light
# coloured line art: orange or green ink on white), keeping the likeliest face
# found at RETRY_MIN_LIKELIHOOD or more (below it, boxes on a star or a hand).
RETRY_SIDES = (384, 640, 768, 1024)
RETRY_MIN_LIKELIHOOD = 0.6


def detect_with_animeface(rgba: np.ndarray, look_harder: bool = False) -> FaceLandmarks | None:
    """Run animeface on a downscaled copy; None when it finds no face.
    `look_harder`: on the copies of RETRY_SIDES too, plain and with the lines
    darkened, keeping the likeliest face of RETRY_MIN_LIKELIHOOD or more."""
    import animeface  # noqa: F401  (optional dependency: ImportError when missing)

    h, w = rgba.shape[:2]
    rgb = flatten_over_white(rgba)
    faces, factor = _animeface_at(rgb, min(max(h, w), DETECT_MAX_SIDE), darken=False)
    if look_harder:
        best = None
        for darken in (False, True):
            for side in (DETECT_MAX_SIDE,) + RETRY_SIDES if darken else RETRY_SIDES:
                found, f = _animeface_at(rgb, side, darken)
                found = [g for g in found if g.likelihood >= RETRY_MIN_LIKELIHOOD]
                top = max(found, key=lambda g: g.likelihood, default=None)
                if top is not None and (best is None or top.likelihood > best[0].likelihood):
                    best = (top, found, f)
        if best is not None:
            faces, factor = best[1], best[2]
    if not faces:
        return None
    f = max(faces, key=lambda f: f.likelihood * f.face.pos.width * f.face.pos.height)
    inv = 1.0 / factor

    def box(part) -> Box:
        b = part.pos
        return (
            int(round(b.x * inv)),
            int(round(b.y * inv)),
            int(round((b.x + b.width) * inv)),
            int(round((b.y + b.height) * inv)),
        )

    def point(part) -> Point:
        return (int(round(part.pos.x * inv)), int(round(part.pos.y * inv)))

    def colour(part) -> tuple[int, int, int]:
        c = part.color
        return (int(c.r), int(c.g), int(c.b))

    # animeface's "left" eye is the one on the image's left = the character's right
    eye_img_left, eye_img_right = box(f.left_eye), box(f.right_eye)
    if eye_img_left[0] > eye_img_right[0]:
        eye_img_left, eye_img_right = eye_img_right, eye_img_left
    return FaceLandmarks(
        detected=[(box(g.face), float(g.likelihood)) for g in faces],
        face_box=box(f.face),
        eye_l=eye_img_right,
        eye_r=eye_img_left,
        nose=point(f.nose),
        mouth=box(f.mouth),
        chin=point(f.chin),
        skin_rgb=colour(f.skin),
        hair_rgb=colour(f.hair),
        source="animeface",
        confidence=float(min(1.0, max(0.0, f.likelihood))),
        iris_rgb_l=colour(f.right_eye) if f.right_eye.pos.x > f.left_eye.pos.x else colour(f.left_eye),
        iris_rgb_r=colour(f.left_eye) if f.right_eye.pos.x > f.left_eye.pos.x else colour(f.right_eye),
    )


def is_greyscale(rgba: np.ndarray, mask: np.ndarray | None = None) -> bool:
    """True when the character's pixels carry (almost) no colour."""
    rgb = np.asarray(rgba)[..., :3]
    step = max(1, int(np.sqrt(rgb.shape[0] * rgb.shape[1] / 250000.0)))
    sub = rgb[::step, ::step].astype(np.int16)
    sel = np.ones(sub.shape[:2], bool) if mask is None else np.asarray(mask, bool)[::step, ::step]
    if not sel.any():
        return False
    spread = (sub.max(axis=2) - sub.min(axis=2))[sel]
    return bool((spread > 12).mean() < 0.01)


def flatten_over_white(rgba: np.ndarray) -> np.ndarray:
    """RGB over white (transparent backgrounds confuse colour analysis)."""
    if rgba.shape[2] == 3:
        return np.ascontiguousarray(rgba)
    a = rgba[..., 3:4].astype(np.float32) / 255.0
    rgb = rgba[..., :3].astype(np.float32) * a + 255.0 * (1.0 - a)
    return np.clip(rgb + 0.5, 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------- colour analysis
def skin_mask(rgb: np.ndarray, fg: np.ndarray, skin_rgb: tuple[int, int, int] | None = None):
    """Pixels of skin colour (lit or shaded) inside `fg`; returns (mask, skin_rgb).

    Without `skin_rgb`, the skin tone is the commonest light, warm, weakly
    saturated colour of the foreground."""
    import cv2

    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.int16)  # L 0..255, a/b offset 128
    if skin_rgb is None:
        hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
        hue, sat, val = hsv[..., 0], hsv[..., 1], hsv[..., 2]
        prior = fg & ((hue <= 20) | (hue >= 170)) & (sat >= 8) & (sat <= 125) & (val >= 170)
        if prior.sum() < 20:
            return np.zeros_like(fg), None
        q = (rgb[prior] // 8).astype(np.int32)
        codes = (q[:, 0] << 10) | (q[:, 1] << 5) | q[:, 2]
        best = np.bincount(codes).argmax()
        sel = codes == best
        skin_rgb = tuple(int(v) for v in rgb[prior][sel].mean(axis=0).round())
    ref = cv2.cvtColor(np.uint8([[skin_rgb]]), cv2.COLOR_RGB2LAB).astype(np.int16)[0, 0]
    da = lab[..., 1] - ref[1]
    db = lab[..., 2] - ref[2]
    dl = lab[..., 0] - ref[0]
    warm = (lab[..., 1] - 128) + (lab[..., 2] - 128)
    ref_warm = float((ref[1] - 128) + (ref[2] - 128))
    # warm skin must stay warm (hair of a near hue is not skin); a drawing whose
    # skin is its paper or a cool tint is matched by distance alone
    min_warm = max(3.0, 0.4 * ref_warm) if ref_warm > 8 else -1e9
    mask = fg & (da * da + db * db <= 22 * 22) & (dl >= -60) & (dl <= 25) & (warm >= min_warm)
    return mask, skin_rgb


def cheek_colour(rgb: np.ndarray, fg: np.ndarray, lm: FaceLandmarks) -> tuple[int, int, int] | None:
    """The skin's colour, read where skin surely is: just under each eye and
    above the mouth, leaving out strokes (pixels much darker
    than the area's median).  Works whatever colours the drawing uses (a
    monochrome drawing's skin is its paper or its tint).  None when those
    places are not in the character."""
    h, w = fg.shape
    eye_bottom = max(lm.eye_l[3], lm.eye_r[3])
    eye_h = max(lm.eye_l[3] - lm.eye_l[1], lm.eye_r[3] - lm.eye_r[1], 2)
    mouth_top = max(lm.mouth[1], eye_bottom + 2)
    r = max(1, int(round(0.25 * eye_h)))
    samples = []
    # just under the eyes and above the mouth (a blush sits lower on the cheeks)
    centres = [
        (0.5 * (e[0] + e[2]), eye_bottom + 0.2 * (mouth_top - eye_bottom)) for e in (lm.eye_l, lm.eye_r)
    ]
    centres.append((lm.face_centre_x, mouth_top - 0.3 * (mouth_top - eye_bottom)))
    for cx, cy in centres:
        x0, x1 = int(max(0, cx - r)), int(min(w, cx + r + 1))
        y0, y1 = int(max(0, cy - r)), int(min(h, cy + r + 1))
        if x1 <= x0 or y1 <= y0:
            continue
        px = rgb[y0:y1, x0:x1][fg[y0:y1, x0:x1]]
        if len(px):
            samples.append(px)
    if not samples:
        return None
    px = np.concatenate(samples).astype(np.float64)
    lum = px.mean(axis=1)
    keep = px[lum >= np.median(lum) - 20]
    return tuple(int(v) for v in np.median(keep, axis=0).round())


def _components(mask: np.ndarray, connectivity: int = 8):
    import cv2

    n, labels, stats, centroids = cv2.connectedComponentsWithStats(
        mask.astype(np.uint8), connectivity=connectivity
    )
    return n, labels, stats, centroids


def detect_fallback(rgba: np.ndarray, mask: np.ndarray) -> FaceLandmarks:
    """Our own face finder: skin region, eyes as the two big symmetric non-skin
    blobs inside it, brows above them, the mouth below, the chin at the bottom."""
    import cv2

    h, w = rgba.shape[:2]
    factor = min(1.0, FALLBACK_MAX_SIDE / max(h, w))
    rgb = flatten_over_white(rgba)
    fg = mask.astype(bool)
    if factor < 1.0:
        size = (int(round(w * factor)), int(round(h * factor)))
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        fg = cv2.resize(fg.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool)
    lm = _fallback_small(rgb, fg)
    return lm.scaled(1.0 / factor) if factor < 1.0 else lm


def _fallback_small(rgb: np.ndarray, fg: np.ndarray) -> FaceLandmarks:
    import cv2

    warnings: list[str] = []
    skin, skin_rgb = skin_mask(rgb, fg)
    if skin_rgb is None:
        raise LandmarkError(
            "no face found: no skin-coloured area in the character; "
            "use a front-facing portrait with a visible face"
        )
    skin = cv2.morphologyEx(skin.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)).astype(bool)
    # 4-connected: a thin chin line, downscaled, leaves diagonal steps of skin that
    # would join the face to the neck
    n, labels, stats, cents = _components(skin, connectivity=4)
    ys, xs = np.nonzero(fg)
    fy0, fy1 = ys.min(), ys.max()
    scored = []
    for i in range(1, n):
        area = stats[i, cv2.CC_STAT_AREA]
        cy = cents[i][1]
        upper = 1.0 - 0.5 * (cy - fy0) / max(fy1 - fy0, 1)  # faces sit high
        if area >= 0.002 * fg.size:
            scored.append((area * upper, i))
    if not scored:
        raise LandmarkError(
            "no face found: the skin area is too small; use a front-facing portrait with a visible face"
        )
    scored.sort(reverse=True)

    def eyes_in(best):
        """The face analysis of skin component `best`: its box, features and the best
        eye pair in it (None when it holds none)."""
        face = labels == best
        x, y, bw, bh = stats[best, :4]
        if bh > 1.5 * bw:  # skin runs on into neck/body: keep a face-shaped top part
            face[int(y + 1.3 * bw) :] = False
            bh = int(1.3 * bw)
        hull_pts = cv2.findNonZero(face.astype(np.uint8))
        hull = np.zeros(face.shape, np.uint8)
        cv2.fillConvexPoly(hull, cv2.convexHull(hull_pts), 1)
        hull = hull.astype(bool)
        fy0f = y
        cx_face = x + 0.5 * bw
        features = hull & ~skin & fg
        features = cv2.morphologyEx(features.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
        rim = hull & ~cv2.erode(hull.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)

        def find_pair(features):
            n2, lab2, st2, ce2 = _components(features)
            on_rim = np.zeros(n2, bool)
            on_rim[np.unique(lab2[rim & (lab2 > 0)])] = True
            blobs, eye_cands = [], []
            for i in range(1, n2):
                bx, by, bw2, bh2, area = st2[i]
                sizeable = 0.0008 * bw * bh <= area <= 0.15 * bw * bh
                if sizeable:
                    # blobs on the rim of the face hull are mostly hair reaching in (fringe tips)
                    blobs.append(
                        dict(i=i, box=(bx, by, bx + bw2, by + bh2), area=area, c=ce2[i], top=bool(on_rim[i]))
                    )
                halves = _split_at_bridge(lab2[by : by + bh2, bx : bx + bw2] == i, cx_face - bx)
                if halves is None:
                    if sizeable:
                        eye_cands.append(blobs[-1])
                    continue
                # both eyes joined by a glasses bridge (or a frame line): one blob across
                # the face's middle, cut at its narrowest column into two eye candidates
                # (brows, nose and mouth are still looked for among the whole blobs)
                for k, half in enumerate(halves):
                    ys_h, xs_h = np.nonzero(half)
                    if not 0.0008 * bw * bh <= len(xs_h) <= 0.15 * bw * bh:
                        continue
                    box = (bx + xs_h.min(), by + ys_h.min(), bx + xs_h.max() + 1, by + ys_h.max() + 1)
                    eye_cands.append(
                        dict(
                            i=n2 + 2 * i + k,
                            parent=i,
                            area=len(xs_h),
                            box=box,
                            c=(bx + xs_h.mean(), by + ys_h.mean()),
                            top=bool(rim[by : by + bh2, bx : bx + bw2][half].any()),
                        )
                    )
            # eyes: the best symmetric pair of sizeable blobs in the middle band
            pair, pair_score = None, 0.0
            for a in eye_cands:
                for b in eye_cands:
                    if a["c"][0] >= cx_face or b["c"][0] <= cx_face:
                        continue
                    ya, yb = a["c"][1], b["c"][1]
                    ha = a["box"][3] - a["box"][1]
                    hb = b["box"][3] - b["box"][1]
                    if abs(ya - yb) > 0.5 * max(ha, hb):
                        continue
                    rel = (0.5 * (ya + yb) - fy0f) / max(bh, 1)
                    if not (0.05 <= rel <= 0.8):
                        continue
                    ratio = min(a["area"], b["area"]) / max(a["area"], b["area"])
                    if ratio < 0.35:
                        continue
                    sym = 1.0 - abs((cx_face - a["c"][0]) - (b["c"][0] - cx_face)) / max(bw, 1)
                    score = (
                        min(a["area"], b["area"])
                        * ratio
                        * max(sym, 0.1)
                        * (0.3 if a["top"] or b["top"] else 1.0)
                    )
                    if score > pair_score:
                        pair, pair_score = (a, b), score
            return blobs, pair, pair_score

        blobs, pair, pair_score = find_pair(features)
        # glasses frames (thin strokes) join both eyes into one blob: try without them
        thick = cv2.morphologyEx(features, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
        blobs2, pair2, score2 = find_pair(thick)
        if pair2 is not None and score2 > pair_score:
            # eyes from the thick parts; brows and mouth (thin) from the full features
            pair, pair_score = tuple(dict(p, i=-1 - k, parent=None) for k, p in enumerate(pair2)), score2
        return dict(face=face, box=(x, y, bw, bh), blobs=blobs, pair=pair, score=pair_score)

    # the face is the skin region holding the best pair of eyes: of the likeliest
    # regions (large, high up), not just the first (hair close to the skin tone can
    # make a larger skin-coloured region above the face; glasses can cut the face's
    # skin in two): each weighed by how likely its size and place and its eyes are
    found, found_score = None, 0.0
    for prior, i in scored[:3]:
        cand = eyes_in(i)
        if cand["pair"] is not None and prior * cand["score"] > found_score:
            found, found_score = cand, prior * cand["score"]
    if found is None:
        raise LandmarkError("no eyes found in the face: use a front-facing portrait with both eyes open")
    face, (x, y, bw, bh), blobs, pair = found["face"], found["box"], found["blobs"], found["pair"]
    fx0, fy0f, fx1, fy1f = x, y, x + bw, y + bh
    eye_r, eye_l = pair[0]["box"], pair[1]["box"]  # image-left blob = character's right eye
    eye_h = max(eye_r[3] - eye_r[1], eye_l[3] - eye_l[1])
    eye_bottom = max(eye_r[3], eye_l[3])
    eye_mid_y = 0.5 * (pair[0]["c"][1] + pair[1]["c"][1])
    used = {pair[0]["i"], pair[1]["i"], pair[0].get("parent"), pair[1].get("parent")}

    def brow_above(eye):
        cands = [
            bl
            for bl in blobs
            if bl["i"] not in used
            and not bl["top"]
            and bl["box"][3] <= eye[1] + 0.2 * eye_h
            and eye[1] - bl["box"][3] <= 1.2 * eye_h
            and bl["c"][0] > eye[0] - 0.3 * (eye[2] - eye[0])
            and bl["c"][0] < eye[2] + 0.3 * (eye[2] - eye[0])
        ]
        if not cands:
            return None
        bl = min(cands, key=lambda c: eye[1] - c["box"][3])  # the nearest above the eye
        used.add(bl["i"])
        return tuple(int(v) for v in bl["box"])

    brow_r, brow_l = brow_above(eye_r), brow_above(eye_l)
    eye_gap_x = 0.5 * (eye_r[2] + eye_l[0])
    eye_dist = 0.5 * (eye_l[0] + eye_l[2]) - 0.5 * (eye_r[0] + eye_r[2])
    below = [
        bl
        for bl in blobs
        if bl["i"] not in used
        and not bl["top"]
        and bl["c"][1] > eye_bottom
        and abs(bl["c"][0] - eye_gap_x) < 0.45 * eye_dist
    ]
    below.sort(key=lambda c: c["c"][1])
    chin_y = int(fy1f)
    col = face[:, int(round(eye_gap_x))]
    rows = np.nonzero(col)[0]
    if len(rows):
        chin_y = int(rows.max())
    mouth_box, nose_pt = None, None
    lower = [bl for bl in below if bl["c"][1] > eye_mid_y + 0.55 * (chin_y - eye_mid_y)]
    if lower:
        m = max(lower, key=lambda c: c["area"] * (1.0 + (c["box"][2] - c["box"][0]) / max(eye_dist, 1)))
        mouth_box = tuple(int(v) for v in m["box"])
        used.add(m["i"])
    else:
        warnings.append("no mouth found: placed it from the face proportions")
        my = int(eye_mid_y + 0.72 * (chin_y - eye_mid_y))
        half = max(1, int(0.18 * eye_dist))
        mouth_box = (
            int(eye_gap_x) - half,
            my - max(1, half // 4),
            int(eye_gap_x) + half,
            my + max(1, half // 4),
        )
    mid = [bl for bl in below if bl["i"] not in used and bl["c"][1] < mouth_box[1]]
    if mid:
        nb = max(mid, key=lambda c: c["area"])
        nose_pt = (int(round(nb["c"][0])), int(nb["box"][3]))
    else:
        nose_pt = (int(round(eye_gap_x)), int(round(0.5 * (eye_bottom + mouth_box[1]))))
    # hair: the commonest foreground colour just above the face
    band = fg & ~skin
    band[int(fy0f) :] = False
    band[: max(0, int(fy0f - 0.4 * bh))] = False
    hair_rgb = (0, 0, 0)
    if band.any():
        q = (rgb[band] // 16).astype(np.int32)
        codes = (q[:, 0] << 8) | (q[:, 1] << 4) | q[:, 2]
        best_code = np.bincount(codes).argmax()
        hair_rgb = tuple(int(v) for v in rgb[band][codes == best_code].mean(axis=0).round())
    confidence = (
        0.35 + 0.15 * (brow_l is not None) + 0.15 * (brow_r is not None) + 0.2 * bool(lower) + 0.1 * bool(mid)
    )
    return FaceLandmarks(
        face_box=(int(fx0), int(fy0f), int(fx1), int(chin_y + 1)),
        eye_l=tuple(int(v) for v in eye_l),
        eye_r=tuple(int(v) for v in eye_r),
        nose=nose_pt,
        mouth=mouth_box,
        chin=(int(round(eye_gap_x)), chin_y),
        skin_rgb=skin_rgb,
        hair_rgb=hair_rgb,
        source="fallback",
        confidence=float(min(confidence, 0.95)),
        warnings=warnings,
        brow_l=brow_l,
        brow_r=brow_r,
    )


def _split_at_bridge(blob: np.ndarray, centre_x: float) -> tuple[np.ndarray, np.ndarray] | None:
    """A blob (its bounding-box crop) that spans the face's middle and is much wider
    than tall, cut into its left and right parts at the narrowest column near the
    middle (a glasses bridge or a frame line joining the eyes); None when it is not
    such a blob or has no narrow neck there."""
    import cv2

    bh, bw = blob.shape
    if bw < 1.6 * bh or not (0.25 * bw < centre_x < 0.75 * bw):
        return None
    cols = blob.sum(axis=0)
    lo, hi = int(max(1, centre_x - 0.2 * bw)), int(min(bw - 1, centre_x + 0.2 * bw + 1))
    if hi <= lo:
        return None
    window = cols[lo:hi].astype(np.float64) + 1e-3 * np.abs(np.arange(lo, hi) - centre_x)
    cut = lo + int(np.argmin(window))
    if cols[cut] > 0.5 * cols.max():
        return None  # no neck: one wide feature (a mouth), not two joined ones
    left, right = blob.copy(), blob.copy()
    left[:, cut:] = False
    right[:, : cut + 1] = False
    halves = []
    for half in (left, right):
        # the eye is the thick part of its half: thin frame strokes come off
        core = cv2.morphologyEx(half.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
        n, lab, st, _ = cv2.connectedComponentsWithStats(core, connectivity=8)
        if n > 1:
            half = lab == 1 + int(np.argmax(st[1:, cv2.CC_STAT_AREA]))
        if not half.any():
            return None
        halves.append(half)
    return halves[0], halves[1]


# Our own eye blobs replace animeface's eye boxes only when about their size:
# a blob this many times wider or taller is line art joined up around the eye
# (Pepper's sketchy face: one stroke network from brow to chin), not a tighter box.
REFINE_MAX_GROWTH = 3.0


def refine_with_colours(lm: FaceLandmarks, rgba: np.ndarray, mask: np.ndarray) -> bool:
    """Fill in what animeface does not report (brows) from our own analysis, when
    it agrees (then the colours are ours too); whether it did.  Our eye blobs
    replace animeface's boxes only when about their size (REFINE_MAX_GROWTH)."""
    try:
        own = detect_fallback(rgba, mask)
    except LandmarkError:
        return False

    def overlaps(a, b):
        return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])

    def near_in_size(a, b):  # own box `a` against animeface's `b`
        return all(
            (a[hi] - a[lo]) <= REFINE_MAX_GROWTH * max(1, b[hi] - b[lo]) for lo, hi in ((0, 2), (1, 3))
        )

    if not (overlaps(own.eye_l, lm.eye_l) and overlaps(own.eye_r, lm.eye_r)):
        return False
    if near_in_size(own.eye_l, lm.eye_l) and near_in_size(own.eye_r, lm.eye_r):
        lm.brow_l, lm.brow_r = own.brow_l, own.brow_r
        lm.eye_l, lm.eye_r = own.eye_l, own.eye_r  # tighter blob boxes
        if overlaps(own.mouth, lm.mouth):
            lm.mouth = own.mouth
    # (blobs far larger than the eyes: animeface's eyes stand, and the brows are
    # left to the decomposition; the face is the same one, its colours ours)
    lm.skin_rgb, lm.hair_rgb = own.skin_rgb, own.hair_rgb
    return True
