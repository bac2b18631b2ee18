# SPDX-License-Identifier: GPL-3.0-or-later
"""Talk from audio: WAV/OGG reading, the mouth follows tone bursts with known
on/off times, silence keeps it shut, bright and dark vowels shape it."""

import os
import wave

import numpy as np
import pytest

from image_to_rig.core.stages import lipsync, rig as rigging
from image_to_rig.devkit.sample import make_sample

RATE = 16000
FPS = 30.0
BURSTS = ((0.5, 1.1, 220.0), (1.6, 1.9, 2600.0), (2.4, 3.0, 300.0))  # on, off, pitch (Hz)


def _voice(duration=3.6, bursts=BURSTS, level=0.4, noise=0.002, seed=0):
    t = np.arange(int(duration * RATE)) / RATE
    x = noise * np.random.default_rng(seed).standard_normal(len(t))
    for on, off, f in bursts:
        m = (t >= on) & (t < off)
        # a voice-like tone: a few harmonics with a syllable-rate wobble
        tone = sum(np.sin(2 * np.pi * f * k * t[m]) / k for k in (1, 2, 3))
        x[m] += level * tone / 1.8 * (0.8 + 0.2 * np.sin(2 * np.pi * 5 * t[m]))
    return x.astype(np.float32)


@pytest.fixture(scope="module")
def doc():
    sample = make_sample(256)
    return rigging.build_rig(sample.canvas, sample.layers, mesh_density=0.4)


def _at(curve, t):
    return float(np.interp(t, curve.times, curve.values))


def test_mouth_opens_at_onsets_and_closes_after_offsets(doc):
    motion = lipsync.talk_motion(doc, _voice(), RATE, fps=FPS)
    assert motion.id == "Talk" and not motion.loop and abs(motion.duration - 3.6) < 0.05
    mouth = next(c for c in motion.curves if c.param == "ParamMouthOpenY")
    frame = 1.0 / FPS
    for on, off, _ in BURSTS:
        assert _at(mouth, on - 2 * frame) < 0.05, "shut before the sound"
        assert _at(mouth, on + 2 * frame) > 0.6, "open within two frames of the onset"
        assert _at(mouth, (on + off) / 2) > 0.6
        assert _at(mouth, off + 5 * frame) < 0.15, "shut again soon after the offset"
    assert mouth.values.max() <= 1.0 and mouth.values.min() >= 0.0
    assert mouth.values[-1] == 0.0
    doc.motions = [motion]  # a valid part of a document
    try:
        doc.validate()
    finally:
        doc.motions = []


def test_silence_and_noise_keep_the_mouth_shut(doc):
    for samples in (np.zeros(RATE * 2, np.float32), _voice(2.0, bursts=(), noise=0.003)):
        motion = lipsync.talk_motion(doc, samples, RATE)
        for c in motion.curves:
            np.testing.assert_allclose(c.values, doc.parameter(c.param).default, atol=1e-9)


def test_loudness_is_normalised_and_strength_scales(doc):
    quiet = lipsync.talk_motion(doc, _voice(level=0.05), RATE)
    loud = lipsync.talk_motion(doc, _voice(level=0.5), RATE)
    q = next(c for c in quiet.curves if c.param == "ParamMouthOpenY").values
    l = next(c for c in loud.curves if c.param == "ParamMouthOpenY").values
    assert abs(q.max() - l.max()) < 0.05, "a quiet recording opens the mouth as wide"
    half = lipsync.talk_motion(doc, _voice(level=0.5), RATE, strength=0.5)
    h = next(c for c in half.curves if c.param == "ParamMouthOpenY").values
    assert 0.45 < h.max() < 0.55


def test_bright_vowels_widen_and_dark_vowels_round_the_mouth(doc):
    motion = lipsync.talk_motion(doc, _voice(), RATE)
    form = next(c for c in motion.curves if c.param == "ParamMouthForm")
    assert _at(form, 1.75) > 0.3, "bright (2.6 kHz) burst: wide"
    assert _at(form, 0.8) < -0.1, "darkest burst: round"
    assert _at(form, 2.7) < _at(form, 1.75) - 0.3, "relative to the clip's own median"
    assert abs(_at(form, 0.3)) < 1e-3 and abs(_at(form, 3.4)) < 1e-3, "neutral while silent"


@pytest.mark.parametrize("width", [1, 2, 3, 4])
def test_wav_files_of_every_width_and_stereo(tmp_path, width):
    x = _voice(1.0, bursts=((0.2, 0.7, 440.0),))
    x = np.clip(x, -0.99, 0.99)
    stereo = np.stack([x, 0.5 * x], axis=1)
    if width == 1:
        raw = np.clip(np.round(stereo * 127 + 128), 0, 255).astype(np.uint8).tobytes()
    elif width == 3:
        v = np.round(stereo * (2**23 - 1)).astype(np.int32).ravel()
        raw = np.stack([v & 255, (v >> 8) & 255, (v >> 16) & 255], axis=1).astype(np.uint8).tobytes()
    else:
        dtype = {2: "<i2", 4: "<i4"}[width]
        raw = np.round(stereo * (2 ** (8 * width - 1) - 1)).astype(dtype).tobytes()
    path = os.path.join(tmp_path, f"v{width}.wav")
    with wave.open(path, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(width)
        w.setframerate(RATE)
        w.writeframes(raw)
    samples, rate = lipsync.load_audio(path)
    assert rate == RATE and samples.dtype == np.float32 and samples.ndim == 1
    tol = 2.0 / 128 if width == 1 else 1e-3
    np.testing.assert_allclose(samples, 0.75 * x, atol=tol)


@pytest.mark.parametrize("fmt, subtype", [("OGG", "VORBIS"), ("MP3", "MPEG_LAYER_III")])
def test_compressed_audio_through_soundfile(tmp_path, doc, fmt, subtype):
    soundfile = pytest.importorskip("soundfile")
    if fmt not in soundfile.available_formats():
        pytest.skip(f"this libsndfile cannot write {fmt}")
    path = os.path.join(tmp_path, "voice." + fmt.lower())
    soundfile.write(path, _voice(), RATE, format=fmt, subtype=subtype)
    samples, rate = lipsync.load_audio(path)
    assert rate == RATE and abs(len(samples) - 3.6 * RATE) < RATE * 0.1
    mouth = next(c for c in lipsync.talk_motion(doc, samples, rate).curves if c.param == "ParamMouthOpenY")
    assert _at(mouth, 0.8) > 0.6 and _at(mouth, 1.3) < 0.15


def test_bad_input_gives_plain_errors(tmp_path, doc):
    with pytest.raises(lipsync.AudioError, match="no audio file"):
        lipsync.load_audio(os.path.join(tmp_path, "missing.wav"))
    junk = os.path.join(tmp_path, "junk.wav")
    with open(junk, "wb") as f:
        f.write(b"RIFF0000WAVEjunk")
    with pytest.raises(lipsync.AudioError):
        lipsync.load_audio(junk)
    with pytest.raises(lipsync.AudioError):
        lipsync.talk_motion(doc, np.zeros(0, np.float32), RATE)
