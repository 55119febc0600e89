"""In-place mastering: loudness target and true-peak ceiling, checked with ffmpeg's meter."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from audio_creator.audio import Audio, save
from audio_creator.dsp.master import master_in_place
from helpers import ffmpeg_loudness, sine

RATE = 48000


def test_a_quiet_tone_is_brought_up_with_one_gain(tmp_path: Path) -> None:
    tone = np.stack([sine(997, 10.0, RATE, 0.05)] * 2).astype(np.float32)
    report = master_in_place(tone, RATE, target_lufs=-18.0, true_peak_dbtp=-1.0)
    assert report.limiter_max_reduction_db == 0.0
    measured = ffmpeg_loudness(save(Audio(tone, RATE), tmp_path / "tone.wav", bit_depth=32))
    assert measured["I"] == pytest.approx(-18.0, abs=0.05)
    assert report.integrated_lufs == pytest.approx(-18.0, abs=0.01)


def test_peaky_music_is_limited_under_the_ceiling(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    t = np.arange(12 * RATE) / RATE
    clicks = (rng.random(t.size) < 2e-4) * rng.choice([-0.9, 0.9], t.size)
    bed = 0.02 * np.sin(2 * np.pi * 220 * t)
    samples = np.stack([bed + clicks, bed - clicks]).astype(np.float32)
    report = master_in_place(samples, RATE, target_lufs=-14.0, true_peak_dbtp=-1.0)
    assert report.limiter_max_reduction_db > 3.0  # the clicks needed the limiter
    measured = ffmpeg_loudness(save(Audio(samples, RATE), tmp_path / "m.wav", bit_depth=32))
    assert measured["I"] == pytest.approx(-14.0, abs=0.1)
    assert measured["TP"] <= -1.0 + 0.05


def test_silence_is_left_alone() -> None:
    silence = np.zeros((2, RATE), np.float32)
    report = master_in_place(silence, RATE)
    assert report.integrated_lufs is None and report.true_peak_dbtp is None
    assert not silence.any()
