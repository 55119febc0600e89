"""The loudness meter against EBU Tech 3341 / 3342 and against FFmpeg's ebur128 filter."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audio_creator.audio import Audio
from audio_creator.dsp.loudness import k_weighting_sos, measure
from audio_creator.dsp.true_peak import block_true_peaks, interpolator
from helpers import ffmpeg_loudness

RATES = [48000, 44100]


def tone(
    segments: list[tuple[float, float]], rate: int, channels: int = 2, freq: float = 1000.0
) -> Audio:
    """Concatenated 1 kHz sine segments of (dBFS peak, seconds), phase-continuous, all channels."""
    levels = np.concatenate([np.full(round(s * rate), 10 ** (db / 20)) for db, s in segments])
    t = np.arange(levels.size) / rate
    signal = (levels * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return Audio(np.repeat(signal[None, :], channels, axis=0), rate)


def test_k_weighting_at_48k_matches_the_coefficients_printed_in_bs1770() -> None:
    sos = k_weighting_sos(48000)
    np.testing.assert_allclose(
        sos[0, :3], [1.53512485958697, -2.69169618940638, 1.19839281085285], atol=1e-12
    )
    np.testing.assert_allclose(sos[0, 3:], [1.0, -1.69065929318241, 0.73248077421585], atol=1e-12)
    np.testing.assert_allclose(sos[1, :3], [1.0, -2.0, 1.0])
    np.testing.assert_allclose(sos[1, 3:], [1.0, -1.99004745483398, 0.99007225036621], atol=1e-12)


# ------------------------------------------------------------------------------ EBU Tech 3341


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize(
    ("case", "segments"),
    [
        (1, [(-23.0, 20.0)]),
        (2, [(-33.0, 20.0)]),
        (3, [(-36.0, 10.0), (-23.0, 60.0), (-36.0, 10.0)]),
        (4, [(-72.0, 10.0), (-36.0, 10.0), (-23.0, 60.0), (-36.0, 10.0), (-72.0, 10.0)]),
        (5, [(-26.0, 20.0), (-20.0, 20.1), (-26.0, 20.0)]),
    ],
)
def test_tech3341_integrated_loudness(
    rate: int, case: int, segments: list[tuple[float, float]]
) -> None:
    expected = -33.0 if case == 2 else -23.0
    result = measure(tone(segments, rate), true_peak=False)
    assert result.integrated_lufs == pytest.approx(expected, abs=0.1)
    if case in (1, 2):  # steady tones: momentary and short-term read the same everywhere
        assert np.all(np.abs(result.momentary_lufs - expected) <= 0.1)
        assert np.all(np.abs(result.short_term_lufs - expected) <= 0.1)


@pytest.mark.parametrize("rate", RATES)
def test_tech3341_case6_surround_channel_weights(rate: int) -> None:
    # 5.0 in the order L R C Ls Rs: −28, −28, −24, −30, −30 dBFS.
    levels = [-28.0, -28.0, -24.0, -30.0, -30.0]
    channels = [tone([(db, 20.0)], rate, channels=1).samples[0] for db in levels]
    result = measure(Audio(np.stack(channels), rate), true_peak=False)
    assert result.integrated_lufs == pytest.approx(-23.0, abs=0.1)


@pytest.mark.parametrize("rate", RATES)
def test_tech3341_case9_short_term_is_constant(rate: int) -> None:
    audio = tone([(-20.0, 1.34), (-30.0, 1.66)] * 5, rate)
    short_term = measure(audio, true_peak=False).short_term_lufs
    assert short_term.size > 100 and np.all(np.abs(short_term + 23.0) <= 0.1)


@pytest.mark.parametrize("rate", RATES)
def test_tech3341_case12_momentary_is_constant(rate: int) -> None:
    audio = tone([(-20.0, 0.18), (-30.0, 0.22)] * 25, rate)
    momentary = measure(audio, true_peak=False).momentary_lufs
    assert momentary.size > 90 and np.all(np.abs(momentary + 23.0) <= 0.1)


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize(
    ("divisor", "phase_deg", "amplitude", "expected_dbtp"),
    [
        (4, 0.0, 0.5, -6.0),
        (4, 45.0, 0.5, -6.0),
        (6, 60.0, 0.5, -6.0),
        (8, 67.5, 0.5, -6.0),
        (4, 45.0, 1.41, 3.0),
    ],
)
def test_tech3341_cases15_to_19_true_peak(
    rate: int, divisor: int, phase_deg: float, amplitude: float, expected_dbtp: float
) -> None:
    n = np.arange(2 * rate)
    signal = amplitude * np.sin(2 * np.pi * n / divisor + np.radians(phase_deg))
    fade = np.minimum(1.0, np.minimum(n, n[::-1]) / (0.01 * rate))  # 10 ms fades
    samples = (signal * fade).astype(np.float32)
    measured = measure(Audio(np.stack([samples, samples]), rate)).true_peak_dbtp
    assert expected_dbtp - 0.4 <= measured <= expected_dbtp + 0.2


# ------------------------------------------------------------------------------ EBU Tech 3342


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize(
    ("levels", "expected_lu"),
    [
        ([-20.0, -30.0], 10.0),
        ([-20.0, -15.0], 5.0),
        ([-40.0, -20.0], 20.0),
        ([-50.0, -35.0, -20.0, -35.0, -50.0], 15.0),
    ],
)
def test_tech3342_loudness_range(rate: int, levels: list[float], expected_lu: float) -> None:
    result = measure(tone([(db, 20.0) for db in levels], rate), true_peak=False)
    assert result.range_lu == pytest.approx(expected_lu, abs=1.0)
    assert result.range_lu == pytest.approx(expected_lu, abs=0.2)  # tighter than the standard asks


# ------------------------------------------------------------------- against FFmpeg's meter


def _programme(rate: int, channels: int, seed: int) -> Audio:
    """Music-like material: chords with a changing level, noise bursts, a quiet passage."""
    rng = np.random.default_rng(seed)
    t = np.arange(30 * rate) / rate
    chord = sum(
        np.sin(2 * np.pi * f * t + k) for k, f in enumerate([110, 220, 330, 523, 1760, 7040])
    )
    envelope = 0.05 + 0.04 * np.sin(2 * np.pi * 0.11 * t) + 0.2 * (t > 12) * (t < 20)
    bursts = rng.standard_normal(t.size) * (np.sin(2 * np.pi * 2 * t) > 0.95) * 0.3
    left = chord * envelope + bursts
    right = np.roll(left, 37) * 0.8 + 0.02 * rng.standard_normal(t.size)
    data = np.stack([left, right])[:channels]
    return Audio(data.astype(np.float32), rate)


@pytest.mark.parametrize(("rate", "channels"), [(48000, 2), (44100, 2), (44100, 1), (96000, 2)])
def test_agrees_with_ffmpeg_ebur128(tmp_path: Path, rate: int, channels: int) -> None:
    audio = _programme(rate, channels, seed=rate + channels)
    path = tmp_path / "programme.wav"
    sf.write(path, audio.samples.T, rate, subtype="FLOAT")
    ours = measure(audio)
    theirs = ffmpeg_loudness(path)
    assert ours.integrated_lufs == pytest.approx(theirs["I"], abs=0.03)
    assert ours.range_lu == pytest.approx(theirs["LRA"], abs=0.3)
    # Near-Nyquist content (the noise bursts) leaves room for interpretation; we may read a
    # little higher than FFmpeg, never lower, which is the safe side for a limiter.
    assert -0.1 <= ours.true_peak_dbtp - theirs["TP"] <= 0.25


def test_silence_and_short_audio_read_minus_infinity() -> None:
    silent = measure(Audio(np.zeros((2, 48000 * 3), np.float32), 48000))
    assert silent.integrated_lufs == -np.inf and silent.true_peak_dbtp == -np.inf
    assert silent.summary()["integrated_lufs"] is None
    short = measure(Audio(np.ones((2, 4000), np.float32) * 0.1, 48000))  # under one 400 ms block
    assert short.integrated_lufs == -np.inf


def test_block_true_peaks_equal_brute_force_oversampling() -> None:
    from scipy.signal import upfirdn

    rng = np.random.default_rng(5)
    x = (0.3 * rng.standard_normal((2, 32 * 400))).astype(np.float32)
    x[:, 5000:5100] *= 3  # a loud spot
    taps, _ = interpolator(4)
    brute = np.abs(upfirdn(taps, x.astype(np.float64), up=4, axis=-1)).max()
    brute = max(brute, np.abs(x).max())
    found = block_true_peaks(x, 48000, 32, floor=None).max()
    assert found == pytest.approx(brute, rel=1e-5)
    with_floor = block_true_peaks(x, 48000, 32, floor=0.5)
    assert with_floor.max() == pytest.approx(brute, rel=1e-5)
    assert np.all(with_floor >= np.abs(x).reshape(2, -1, 32).max(axis=(0, 2)) - 1e-6)


@pytest.mark.parametrize("freq", [100.0, 1000.0, 5000.0])
@pytest.mark.parametrize("level_db", [-23.0, -40.0])
def test_steady_sines_read_their_closed_form_loudness(freq: float, level_db: float) -> None:
    """L = −0.691 + 10·log10(Σ_channels mean square · |K(f)|²), with |K(f)| taken from the
    coefficients printed in BS.1770-4 (not from our filter design)."""
    from scipy.signal import freqz

    def gain_sq(b: list[float], a: list[float]) -> float:
        return float(np.abs(freqz(b, a, worN=[freq], fs=48000)[1][0]) ** 2)

    shelf = gain_sq(
        [1.53512485958697, -2.69169618940638, 1.19839281085285],
        [1.0, -1.69065929318241, 0.73248077421585],
    )
    highpass = gain_sq([1.0, -2.0, 1.0], [1.0, -1.99004745483398, 0.99007225036621])
    amplitude = 10 ** (level_db / 20)
    expected = -0.691 + 10 * np.log10(2 * amplitude**2 / 2 * shelf * highpass)
    audio = tone([(level_db, 10.0)], 48000, freq=freq)
    assert measure(audio, true_peak=False).integrated_lufs == pytest.approx(expected, abs=0.001)
