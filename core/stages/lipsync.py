# SPDX-License-Identifier: GPL-3.0-or-later
"""Talk from audio: a voice recording -> a "Talk" motion (mouth open and form).

* ParamMouthOpenY follows the loudness: the RMS of a one-frame window around
  each frame time, in dB, through a noise gate (below it the mouth is shut)
  and normalised so the 95th loudness percentile of the voiced frames opens
  the mouth fully; then attack/release smoothing (opens fast, closes a little
  slower, like a jaw).
* ParamMouthForm follows a rough vowel estimate: the spectral centroid of the
  voiced frames (bright "i"/"e" -> wide, + ; dark "o"/"u" -> round, -),
  relative to the clip's own median, so it does not depend on the voice's pitch.

`load_audio` reads WAV with the standard library (8/16/24/32-bit PCM) and
other formats (MP3, OGG, FLAC, 32-bit float WAV) through the optional
`soundfile` package (its wheels bundle libsndfile).
"""

from __future__ import annotations

import math
import os
import wave

import numpy as np

from ..model.document import Motion, MotionCurve, RigDocument
from ..model.errors import ImageToRigError

# Envelope recipe as data.
TALK = {
    "gate_db": -45.0,  # absolute noise gate, dBFS: quieter frames keep the mouth shut
    "range_db": 28.0,  # the gate is at most this far below the loud reference
    "reference_percentile": 95.0,  # loudness that opens the mouth fully
    "attack_s": 0.015,  # smoothing time constant while opening
    "release_s": 0.06,  # ... while closing
    "curve": 0.8,  # openness = normalised level ** curve (a little eager)
    "form_scale": 0.9,  # MouthForm at one octave of centroid above the median
    "form_min_open": 0.15,  # the form is only estimated where the mouth is this open
}


class AudioError(ImageToRigError):
    """An audio file cannot be read, or the samples cannot be used."""


def _read_wav(path: str) -> tuple[np.ndarray, int]:
    with wave.open(path, "rb") as w:
        channels, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
        raw = w.readframes(w.getnframes())
    if width == 1:  # unsigned 8-bit
        data = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 2:
        data = np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0
    elif width == 3:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        v = np.where(v >= 1 << 23, v - (1 << 24), v)
        data = v.astype(np.float32) / float(1 << 23)
    elif width == 4:
        data = (np.frombuffer(raw, "<i4").astype(np.float64) / float(1 << 31)).astype(np.float32)
    else:
        raise AudioError(f"{os.path.basename(path)}: {8 * width}-bit WAV samples are not supported")
    data = data[: len(data) // channels * channels].reshape(-1, channels)
    return data.mean(axis=1).astype(np.float32), int(rate)


def load_audio(path: str) -> tuple[np.ndarray, int]:
    """Mono float32 samples in -1..1 and the sample rate of an audio file."""
    if not os.path.isfile(path):
        raise AudioError(f"there is no audio file at {path}")
    name = os.path.basename(path)
    if path.lower().endswith((".wav", ".wave")):
        try:
            samples, rate = _read_wav(path)
        except wave.Error as err:  # e.g. 32-bit float WAV: try soundfile below
            if "unknown format" not in str(err):
                raise AudioError(f"{name} is not a readable WAV file ({err})") from None
        except EOFError:
            raise AudioError(f"{name} is cut short (not a complete WAV file)") from None
        else:
            if len(samples) == 0:
                raise AudioError(f"{name} has no audio samples")
            return samples, rate
    try:
        import soundfile
    except ImportError:
        raise AudioError(
            f"reading {name} needs the 'soundfile' package (pip install soundfile); "
            "without it only PCM WAV files can be read"
        ) from None
    try:
        data, rate = soundfile.read(path, dtype="float32", always_2d=True)
    except Exception as err:  # soundfile raises its own LibsndfileError / RuntimeError
        raise AudioError(f"{name} could not be read as audio ({err})") from None
    if len(data) == 0:
        raise AudioError(f"{name} has no audio samples")
    return data.mean(axis=1).astype(np.float32), int(rate)


def _frames(samples: np.ndarray, rate: int, fps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frame times, RMS and spectral centroid (Hz) of a one-frame window at each time."""
    duration = len(samples) / rate
    n = int(math.floor(duration * fps)) + 1
    times = np.arange(n) / fps
    win = max(int(round(rate / fps)), 16)
    half = win // 2
    padded = np.pad(samples.astype(np.float64), (half, win))
    starts = np.clip(np.round(times * rate).astype(np.int64), 0, len(samples))
    idx = starts[:, None] + np.arange(win)[None, :]
    chunks = padded[idx]
    rms = np.sqrt(np.mean(chunks**2, axis=1))
    spec = np.abs(np.fft.rfft(chunks * np.hanning(win)[None, :], axis=1))
    freqs = np.fft.rfftfreq(win, 1.0 / rate)
    band = (freqs >= 100.0) & (freqs <= 5000.0)
    power = spec[:, band] ** 2
    centroid = (power * freqs[band]).sum(axis=1) / np.maximum(power.sum(axis=1), 1e-20)
    return times, rms, centroid


def _smooth(values: np.ndarray, fps: float, attack_s: float, release_s: float) -> np.ndarray:
    a_up = 1.0 - math.exp(-1.0 / (fps * attack_s)) if attack_s > 0 else 1.0
    a_down = 1.0 - math.exp(-1.0 / (fps * release_s)) if release_s > 0 else 1.0
    out = np.empty_like(values)
    level = 0.0
    for i, v in enumerate(values):
        level += (a_up if v > level else a_down) * (v - level)
        out[i] = level
    return out


def mouth_envelope(
    samples: np.ndarray, rate: int, fps: float = 30.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frame times, mouth openness 0..1, mouth form -1..1) of mono samples."""
    samples = np.asarray(samples, np.float32)
    if samples.ndim == 2:
        samples = samples.mean(axis=1)
    if samples.ndim != 1 or len(samples) == 0:
        raise AudioError("talk needs a non-empty mono (or multi-channel) sample array")
    if rate <= 0 or fps <= 0:
        raise AudioError(f"sample rate and fps must be positive (got {rate}, {fps})")
    times, rms, centroid = _frames(samples, int(rate), float(fps))
    db = 20.0 * np.log10(np.maximum(rms, 1e-9))
    voiced = db > TALK["gate_db"]
    openness = np.zeros_like(db)
    form = np.zeros_like(db)
    if voiced.any():
        ref = float(np.percentile(db[voiced], TALK["reference_percentile"]))
        gate = max(TALK["gate_db"], ref - TALK["range_db"])
        level = np.clip((db - gate) / max(ref - gate, 1.0), 0.0, 1.0)
        openness = level ** TALK["curve"]
        shaped = openness >= TALK["form_min_open"]
        if shaped.any():
            median = float(np.median(centroid[shaped]))
            octaves = np.log2(np.maximum(centroid, 1.0) / max(median, 1.0))
            form = np.where(shaped, np.clip(TALK["form_scale"] * octaves, -1.0, 1.0), 0.0)
    openness = _smooth(openness, fps, TALK["attack_s"], TALK["release_s"])
    form = _smooth(form, fps, 0.04, 0.04)
    return times, openness, form


def talk_motion(
    doc: RigDocument, samples: np.ndarray, rate: int, fps: float = 30.0, strength: float = 1.0
) -> Motion:
    """The "Talk" motion (not looping) of a voice clip: ParamMouthOpenY and, when
    the document has it, ParamMouthForm, one key per frame, ending closed."""
    params = {p.id: p for p in doc.parameters}
    if "ParamMouthOpenY" not in params:
        raise AudioError("this rig has no ParamMouthOpenY, so it cannot talk")
    times, openness, form = mouth_envelope(samples, rate, fps)
    duration = max(len(samples) / float(rate), 1.0 / fps)
    if times[-1] < duration:
        times = np.append(times, duration)
        openness = np.append(openness, 0.0)
        form = np.append(form, 0.0)
    openness[-1] = 0.0
    form[-1] = 0.0
    curves = []
    p = params["ParamMouthOpenY"]
    curves.append(
        MotionCurve(p.id, times, np.clip(p.min + (p.max - p.min) * openness * strength, p.min, p.max))
    )
    if "ParamMouthForm" in params:
        q = params["ParamMouthForm"]
        half = min(q.max - q.default, q.default - q.min)
        curves.append(
            MotionCurve(q.id, times.copy(), np.clip(q.default + half * form * strength, q.min, q.max))
        )
    return Motion(id="Talk", duration=float(times[-1]), curves=curves, loop=False, fps=float(fps))
