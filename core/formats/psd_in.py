# SPDX-License-Identifier: GPL-3.0-or-later
"""Layered PSD input: artists' and decomposition models' layers -> tagged Layers.

Names are matched against a table (data below) of See-through tags, their
common variants and typical hand-made Live2D names in English and Japanese.
Group names give context ("white" inside "左目" is the left eye white).  Both
eyes in one layer are split left/right.  Unknown layers are kept and follow
the nearest tagged body part.
"""

from __future__ import annotations

import os
import re
import struct
import zlib
import unicodedata
from dataclasses import dataclass, field
from collections.abc import Sequence

import numpy as np

from ..model.document import SEE_THROUGH_TAGS, SIDED_TAGS, Canvas, Layer, layer_id
from .image_in import MAX_PIXELS, ImageInputError

# Words (after normalisation: lower case, separators as spaces) -> See-through tag.
# Longer phrases are tried before shorter ones, so "eye white" wins over "eye".
TAG_WORDS: dict[str, str] = {
    **{tag: tag for tag in SEE_THROUGH_TAGS},
    "backhair": "back hair",
    "hair back": "back hair",
    "rear hair": "back hair",
    "後ろ髪": "back hair",
    "後髪": "back hair",
    "うしろ髪": "back hair",
    "frontal hair": "front hair",
    "fronthair": "front hair",
    "hair front": "front hair",
    "bangs": "front hair",
    "fringe": "front hair",
    "side hair": "front hair",
    "sidehair": "front hair",
    "前髪": "front hair",
    "横髪": "front hair",
    "もみあげ": "front hair",
    "hat": "headwear",
    "ribbon": "headwear",
    "hair ornament": "headwear",
    "帽子": "headwear",
    "髪飾り": "headwear",
    "リボン": "headwear",
    "skin": "face",
    "head": "face",
    "顔": "face",
    "輪郭": "face",
    "肌": "face",
    "iris": "irides",
    "irises": "irides",
    "pupil": "irides",
    "eyeball": "irides",
    "瞳": "irides",
    "黒目": "irides",
    "虹彩": "irides",
    "目玉": "irides",
    "brow": "eyebrow",
    "brows": "eyebrow",
    "eyebrows": "eyebrow",
    "眉": "eyebrow",
    "眉毛": "eyebrow",
    "eye white": "eyewhite",
    "eyewhites": "eyewhite",
    "sclera": "eyewhite",
    "白目": "eyewhite",
    "lash": "eyelash",
    "lashes": "eyelash",
    "eyelashes": "eyelash",
    "upper lash": "eyelash",
    "eyelid": "eyelash",
    "lid": "eyelash",
    "まつ毛": "eyelash",
    "まつげ": "eyelash",
    "睫毛": "eyelash",
    "まぶた": "eyelash",
    "glasses": "eyewear",
    "spectacles": "eyewear",
    "眼鏡": "eyewear",
    "メガネ": "eyewear",
    "ear": "ears",
    "耳": "ears",
    "earring": "earwear",
    "earrings": "earwear",
    "イヤリング": "earwear",
    "nose": "nose",
    "鼻": "nose",
    "lips": "mouth",
    "lip": "mouth",
    "口": "mouth",
    "くち": "mouth",
    "首": "neck",
    "collar": "neckwear",
    "necktie": "neckwear",
    "tie": "neckwear",
    "choker": "neckwear",
    "ネクタイ": "neckwear",
    "body": "topwear",
    "torso": "topwear",
    "clothes": "topwear",
    "shirt": "topwear",
    "jacket": "topwear",
    "top": "topwear",
    "体": "topwear",
    "胴体": "topwear",
    "服": "topwear",
    "上着": "topwear",
    "gloves": "handwear",
    "hand": "handwear",
    "hands": "handwear",
    "手": "handwear",
    "skirt": "bottomwear",
    "pants": "bottomwear",
    "スカート": "bottomwear",
    "legs": "legwear",
    "socks": "legwear",
    "足": "legwear",
    "shoes": "footwear",
    "靴": "footwear",
    "尻尾": "tail",
    "しっぽ": "tail",
    "翼": "wings",
    "羽": "wings",
    # plain "hair": front or back is decided by its depth relative to the face
    "hair": "hair",
    "髪": "hair",
    "髪の毛": "hair",
    # generic eye words come last (shortest): a lone "eye" layer is the iris set
    "eye": "irides",
    "eyes": "irides",
    "目": "irides",
}
# Words that make a layer a variant of its tag.
ROLE_WORDS: dict[str, str] = {
    "close": "closed",
    "closed": "closed",
    "閉じ": "closed",
    "閉": "closed",
    "open": "open",
    "opened": "open",
    "開き": "open",
    "開": "open",
}
LEFT_WORDS = ("l", "left", "左")
RIGHT_WORDS = ("r", "right", "右")


class PsdInputError(ImageInputError):
    """The PSD cannot be used; the message says why."""


@dataclass
class PsdImport:
    canvas: Canvas
    layers: list[Layer]
    composite: np.ndarray  # the PSD's own flattened RGBA image
    variants: list[Layer] = field(default_factory=list)  # closed eyes, open mouth ...
    report: dict[str, object] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def normalise_name(name: str) -> str:
    """Lower case, NFKC, separators to spaces, numbered duplicates removed."""
    text = unicodedata.normalize("NFKC", name).lower().strip()
    text = re.sub(r"\b(copy|コピー)\b\s*\d*", " ", text)
    text = re.sub(r"[_\-.()\[\]{}/]+", " ", text)
    text = re.sub(r"(?<=[a-z])\s*\d+$", "", text)  # "front hair 1" -> "front hair"
    text = re.sub(r"\s+", " ", text).strip()
    return text


def _contains(text: str, word: str) -> bool:
    if re.search(r"[a-z]", word):
        return re.search(rf"(?<![a-z]){re.escape(word)}(?![a-z])", text) is not None
    return word in text


def classify_name(name: str) -> tuple[str | None, str, str]:
    """(tag or None, side 'l'/'r'/'', role) of one layer or group name."""
    text = normalise_name(name)
    tag = None
    for word in sorted(TAG_WORDS, key=len, reverse=True):
        if _contains(text, word) or _contains(text.replace(" ", ""), word.replace(" ", "")):
            tag = TAG_WORDS[word]
            break
    side = ""
    tokens = text.split()
    # a side letter glued to non-Latin text counts too: "瞳r", "l目"
    glued = re.search(r"(?:^|[^a-z])([lr])$", text) or re.search(r"^([lr])(?:[^a-z]|$)", text)
    if any(t in LEFT_WORDS for t in tokens) or "左" in text or (glued and glued.group(1) == "l"):
        side = "l"
    elif any(t in RIGHT_WORDS for t in tokens) or "右" in text or (glued and glued.group(1) == "r"):
        side = "r"
    role = ""
    for word, value in ROLE_WORDS.items():
        if _contains(text, word):
            role = value
            break
    if tag == "mouth" and role == "closed":
        role = ""  # a closed mouth is the default mouth
    if role == "closed" and tag in ("irides", "eyewhite"):
        tag = "eyelash"  # "eye_close": the drawn closed lid line
    return tag, side, role


def _layer_rgba(layer) -> np.ndarray | None:
    img = layer.topil()
    if img is None:
        img = layer.composite()
    if img is None:
        return None
    return np.array(img.convert("RGBA"))


def split_left_right(layer: Layer, centre_x: float) -> list[Layer]:
    """Both eyes (or brows) in one layer -> the character's left (image right) and right."""
    split = int(round(centre_x)) - layer.x
    if split <= 0 or split >= layer.image.shape[1]:
        return [layer]
    parts = []
    for side, sl in (("r", slice(0, split)), ("l", slice(split, None))):
        img = np.zeros_like(layer.image)
        img[:, sl] = layer.image[:, sl]
        ys, xs = np.nonzero(img[..., 3])
        if len(xs) == 0:
            continue
        x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
        parts.append(
            Layer(
                layer_id(layer.tag, side, layer.role),
                layer.tag,
                img[y0:y1, x0:x1].copy(),
                layer.x + x0,
                layer.y + y0,
                side=side,
                role=layer.role,
                opacity=layer.opacity,
                source_name=layer.source_name,
            )
        )
    return parts


def _nearest_tagged(extra: Layer, tagged: Sequence[Layer]) -> str | None:
    """The tagged layer that overlaps the extra most (or whose box centre is nearest)."""
    best, best_score = None, None
    ex0, ey0 = extra.x, extra.y
    ex1, ey1 = ex0 + extra.image.shape[1], ey0 + extra.image.shape[0]
    ecx, ecy = (ex0 + ex1) / 2, (ey0 + ey1) / 2
    for t in tagged:
        tx0, ty0 = t.x, t.y
        tx1, ty1 = tx0 + t.image.shape[1], ty0 + t.image.shape[0]
        overlap = max(0, min(ex1, tx1) - max(ex0, tx0)) * max(0, min(ey1, ty1) - max(ey0, ty0))
        dist = np.hypot((tx0 + tx1) / 2 - ecx, (ty0 + ty1) / 2 - ecy)
        score = (-overlap, dist)
        if best_score is None or score < best_score:
            best, best_score = t.id, score
    return best


def _unique_id(base: str, used: dict[str, int]) -> str:
    if base not in used:
        used[base] = 1
        return base
    used[base] += 1
    return f"{base}-{used[base]}"


def load_psd(path: str) -> PsdImport:
    """Read a layered PSD into tagged layers (back to front) plus variants."""
    try:
        from psd_tools import PSDImage
        from psd_tools.api.adjustments import AdjustmentLayer, FillLayer
        from psd_tools.api.layers import TypeLayer
    except ImportError:  # pragma: no cover - psd-tools is a requirement
        raise PsdInputError("reading PSD files needs the psd-tools package") from None
    if not os.path.isfile(path):
        raise PsdInputError(f"the file {path!r} does not exist")
    from .psd_budget import (
        ParseLimitError,
        layer_size_problem,
        parse_limit_message,
        undecodable_layer_message,
    )

    try:
        psd = PSDImage.open(path)
    except ParseLimitError as exc:
        raise PsdInputError(parse_limit_message(exc)) from None
    except Exception as exc:  # psd-tools raises many kinds on corrupt files
        raise PsdInputError(
            f"{os.path.basename(path)!r} is not a readable PSD ({exc.__class__.__name__})"
        ) from None
    if psd.width * psd.height > MAX_PIXELS:
        raise PsdInputError(
            f"{os.path.basename(path)!r} is {psd.width}x{psd.height} pixels; "
            f"the limit is {MAX_PIXELS // 1_000_000} megapixels"
        )
    try:  # every layer's size from its record, before any is decoded
        problem = layer_size_problem(psd.descendants())
    except ParseLimitError as exc:
        raise PsdInputError(parse_limit_message(exc)) from None
    if problem:
        raise PsdInputError(problem)
    canvas = Canvas(int(psd.width), int(psd.height))
    warnings: list[str] = []
    skipped: list[str] = []
    entries = []  # (Layer, tag or None, hidden)

    def walk(group, context: list[str], hidden: bool):
        for child in group:  # psd-tools lists children bottom to top
            child_hidden = hidden or not child.visible
            if child.is_group():
                walk(child, context + [child.name], child_hidden)
                continue
            kind = str(child.kind)
            # Adjustments and fills change the layers below rather than draw a part, and
            # text is the artist's notes: none of them is a body part to rig.
            if isinstance(child, (AdjustmentLayer, FillLayer, TypeLayer)):
                skipped.append(f"{child.name} ({kind} layer)")
                continue
            if child.bbox[2] <= child.bbox[0] or child.bbox[3] <= child.bbox[1]:
                skipped.append(f"{child.name} (empty)")
                continue
            try:
                rgba = _layer_rgba(child)
            except ParseLimitError as exc:
                raise PsdInputError(parse_limit_message(exc)) from None
            except (ValueError, OSError, EOFError, zlib.error, struct.error):
                raise PsdInputError(undecodable_layer_message(child.name)) from None
            if rgba is None or rgba[..., 3].max() == 0:
                skipped.append(f"{child.name} (empty)")
                continue
            if str(child.blend_mode).split(".")[-1].lower() not in ("normal", "pass_through"):
                warnings.append(
                    f"layer {child.name!r} uses blend mode "
                    f"{str(child.blend_mode).split('.')[-1].lower()}; it is drawn as normal"
                )
            tag, side, role = classify_name(child.name)
            for ctx in reversed(context):  # inner groups first
                ctag, cside, crole = classify_name(ctx)
                tag = tag or ctag
                side = side or cside
                role = role or crole
            left, top = int(child.left), int(child.top)
            layer = Layer(
                "",
                tag or "objects",
                rgba,
                left,
                top,
                side=side,
                role=role,
                opacity=float(child.opacity) / 255.0,
                source_name=child.name,
            )
            entries.append((layer, tag, child_hidden))

    walk(psd, [], False)
    if not entries:
        raise PsdInputError(f"{os.path.basename(path)!r} has no pixel layers to rig")

    face_index = next((i for i, (_, tag, hidden) in enumerate(entries) if tag == "face" and not hidden), None)
    for i, (layer, tag, hidden) in enumerate(entries):
        if tag == "hair":
            tag = "front hair" if face_index is not None and i > face_index else "back hair"
            layer.tag = tag
            entries[i] = (layer, tag, hidden)
    faces = [l for l, tag, hidden in entries if tag == "face" and not hidden]
    centre_x = canvas.width / 2
    if faces:
        ys, xs = np.nonzero(faces[0].image[..., 3] > 0)
        centre_x = faces[0].x + float(xs.mean())

    layers: list[Layer] = []
    variants: list[Layer] = []
    used: dict[str, int] = {}
    for layer, tag, hidden in entries:
        is_variant = layer.role in ("closed", "open")
        if hidden and not is_variant:
            skipped.append(f"{layer.source_name} (hidden)")
            continue
        pieces = [layer]
        if tag in SIDED_TAGS and not layer.side:
            pieces = split_left_right(layer, centre_x)
        for piece in pieces:
            piece.id = _unique_id(layer_id(piece.tag, piece.side, piece.role), used)
            (variants if is_variant else layers).append(piece)
    tagged = [l for l in layers if l.tag != "objects"]
    for layer in layers:
        if layer.tag == "objects":
            layer.follows = _nearest_tagged(layer, tagged)
            if layer.follows:
                near = next(t for t in tagged if t.id == layer.follows)
                layer.side = near.side
    try:
        composite = np.array(psd.composite().convert("RGBA"))
    except ParseLimitError as exc:
        raise PsdInputError(parse_limit_message(exc)) from None
    except (ValueError, OSError, EOFError, zlib.error, struct.error):
        # a damaged flattened image: nothing downstream needs it, the layers are read
        warnings.append(
            "the PSD's flattened image is damaged (the file may be cut short); its layers were used"
        )
        composite = np.zeros((0, 0, 4), np.uint8)
    if composite.shape[:2] != (canvas.height, canvas.width):
        composite = np.zeros((canvas.height, canvas.width, 4), np.uint8)
    _set_visible_masks(layers, canvas)
    report = {
        "layers": [
            {
                "id": l.id,
                "tag": l.tag,
                "side": l.side,
                "from": l.source_name,
                **({"follows": l.follows} if l.follows else {}),
            }
            for l in layers
        ],
        "variants": [{"id": v.id, "tag": v.tag, "role": v.role, "from": v.source_name} for v in variants],
        "skipped": skipped,
        "tags_found": sorted({l.tag for l in layers if l.tag != "objects"}),
    }
    if skipped:
        warnings.append(
            f"{len(skipped)} PSD layer(s) skipped: "
            + ", ".join(skipped[:8])
            + (" ..." if len(skipped) > 8 else "")
        )
    return PsdImport(canvas, layers, composite, variants, report, warnings)


def _set_visible_masks(layers: list[Layer], canvas: Canvas) -> None:
    """Visible where no layer above covers the pixel with alpha >= 128."""
    covered = np.zeros((canvas.height, canvas.width), bool)
    for layer in reversed(layers):
        full = layer.full_canvas(canvas)[..., 3] > 0
        h, w = layer.image.shape[:2]
        vis = full & ~covered
        x0, y0 = max(layer.x, 0), max(layer.y, 0)
        crop = np.zeros((h, w), bool)
        x1, y1 = min(layer.x + w, canvas.width), min(layer.y + h, canvas.height)
        if x1 > x0 and y1 > y0:
            crop[y0 - layer.y : y1 - layer.y, x0 - layer.x : x1 - layer.x] = vis[y0:y1, x0:x1]
        layer.visible_mask = crop
        covered |= layer.full_canvas(canvas)[..., 3] >= 128
