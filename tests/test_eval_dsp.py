"""The offline `dsp` audio embedding on signals with known descriptors; its mel filterbank
against librosa's."""

from __future__ import annotations

import numpy as np
import pytest

from audio_creator.audio import Audio
from audio_creator.eval import dsp

RATE = 16000


def features(audio: Audio) -> dict[str, float]:
    vector = dsp.embed(audio)
    assert vector.shape == (len(dsp.FEATURES),) and np.isfinite(vector).all()
    return dict(zip(dsp.FEATURES, vector.tolist(), strict=True))


def tone(hz: float, seconds: float = 4.0, level: float = 0.3) -> Audio:
    t = np.arange(round(seconds * RATE)) / RATE
    return Audio((level * np.sin(2 * np.pi * hz * t)).astype(np.float32)[None], RATE)


def test_the_mel_filterbank_equals_librosas() -> None:
    librosa = pytest.importorskip("librosa")
    theirs = librosa.filters.mel(sr=RATE, n_fft=dsp.FFT, n_mels=dsp.MELS, fmin=0.0, fmax=8000.0)
    assert np.allclose(dsp.mel_bank(), theirs, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize(("hz", "pitch_class"), [(440.0, 0), (261.63, 3), (392.0, 10)])
def test_a_tone_has_its_pitch_class_and_centroid(hz: float, pitch_class: int) -> None:
    found = features(tone(hz))
    chroma = np.array([found[f"chroma_{k}"] for k in range(12)])
    assert chroma.sum() == pytest.approx(1.0)
    assert int(np.argmax(chroma)) == pitch_class and chroma.max() > 0.9
    assert found["centroid_mean"] == pytest.approx(np.log2(hz / 100), abs=0.05)
    assert found["flatness_mean"] < 0.01  # a pure tone is as far from noise as it gets


def test_level_shifts_the_log_mel_by_its_decibels() -> None:
    quiet, loud = features(tone(1000.0, level=0.01)), features(tone(1000.0, level=0.1))
    band = int(np.argmax([quiet[f"mel_mean_{k}"] for k in range(dsp.MELS)]))
    assert loud[f"mel_mean_{band}"] - quiet[f"mel_mean_{band}"] == pytest.approx(2.0, abs=1e-3)


def test_tempo_and_pulse_of_a_click_track_and_of_noise() -> None:
    rng = np.random.default_rng(0)
    clicks = np.zeros(12 * RATE, np.float32)
    for t in np.arange(0.25, 12.0, 0.5):  # 120 BPM
        start = round(t * RATE)
        clicks[start : start + 160] = rng.normal(size=160) * np.exp(-np.arange(160) / 40)
    pulsing = features(Audio(clicks[None], RATE))
    noise = features(Audio(rng.normal(scale=0.1, size=(1, 12 * RATE)).astype(np.float32), RATE))
    assert 2 ** pulsing["tempo_log2"] * 120 == pytest.approx(120.0, rel=0.03)
    assert pulsing["pulse_clarity"] > 0.5 > noise["pulse_clarity"]
    assert noise["flatness_mean"] > 0.3
