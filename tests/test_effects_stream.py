"""Streamed sound effects: exact lengths, samples that do not depend on the block size, state
carried across blocks (no steps at block edges), the spectra each effect should have, and memory
that stays small however long the bed."""

from __future__ import annotations

import itertools
import logging
import tracemalloc

import numpy as np
import numpy.typing as npt
import pytest
from scipy import signal

from audio_creator.plan import effects
from audio_creator.plan.effects import CHUNK, effect_blocks, render_effect

RATE = 48000
NAMES = list(effects.KEYWORDS)  # every effect a description can name
PROCEDURAL = list(effects.PROCEDURAL)
Array = npt.NDArray[np.float64]


def stream(name: str, length_s: float, *, seed: int = 0, block: int = 1 << 16) -> Array:
    blocks = effect_blocks(name, length_s, RATE, seed, block)
    assert blocks is not None, name
    return np.concatenate(list(blocks), axis=1).astype(np.float64)


def band_fraction(x: Array, low: float, high: float) -> float:
    """The share of the signal's energy (both channels) between `low` and `high` Hz."""
    power = (np.abs(np.fft.rfft(x, axis=-1)) ** 2).sum(axis=0)
    freqs = np.fft.rfftfreq(x.shape[1], 1 / RATE)
    return float(power[(freqs >= low) & (freqs < high)].sum() / power.sum())


def worst_step(x: Array, edges: list[int]) -> float:
    """The largest sample-to-sample step across an edge (between frames e − 1 and e), measured
    against the typical step around it (the 99th percentile over ±256 frames)."""
    steps = np.abs(np.diff(x, axis=1))
    worst = 0.0
    for edge in edges:
        near = steps[:, max(0, edge - 257) : edge + 256]
        worst = max(worst, float(steps[:, edge - 1].max() / (np.quantile(near, 0.99) + 1e-12)))
    return worst


@pytest.mark.parametrize("name", NAMES)
def test_every_effect_streams_exactly_the_asked_length(name: str) -> None:
    length_s, block = 2.345, 4096
    blocks = effect_blocks(name, length_s, RATE, seed=3, block=block)
    assert blocks is not None
    pieces = list(blocks)
    frames = round(length_s * RATE)
    assert [p.shape[1] for p in pieces] == [block] * (frames // block) + [frames % block]
    assert all(p.dtype == np.float32 and p.ndim == 2 and p.shape[0] == 2 for p in pieces)
    x = np.concatenate(pieces, axis=1)
    assert np.isfinite(x).all()
    rms = np.sqrt((x.astype(np.float64) ** 2).mean(axis=1))
    assert (rms > 1e-4).all(), rms  # both channels sound
    assert np.abs(x).max() < 10  # of order 1, not normalised


@pytest.mark.parametrize("name", ["rain", "whoosh", "thunder", "riser", "birds"])
@pytest.mark.parametrize(("length_s", "frames"), [(0.0, 1), (1e-5, 1), (0.01, 480)])
def test_tiny_effects_have_their_length_too(name: str, length_s: float, frames: int) -> None:
    x = stream(name, length_s)
    assert x.shape == (2, frames) and np.isfinite(x).all()


def test_an_unknown_effect_is_none_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        assert effect_blocks("a dragon roars", 2.0) is None
    assert "no sound effect matches 'a dragon roars'" in caplog.text
    with pytest.raises(ValueError, match="block"):
        effect_blocks("rain", 1.0, block=0)


@pytest.mark.parametrize("name", [*PROCEDURAL, "birds"])
def test_samples_do_not_depend_on_the_block_size(name: str) -> None:
    whole = stream(name, 3.3, seed=5, block=1 << 16)
    for block in (4096, 777):
        np.testing.assert_allclose(
            stream(name, 3.3, seed=5, block=block), whole, rtol=1e-5, atol=1e-6
        )


@pytest.mark.parametrize("name", PROCEDURAL)
def test_a_seed_gives_the_same_sound_and_another_seed_another(name: str) -> None:
    first = stream(name, 2.0, seed=7)
    np.testing.assert_array_equal(stream(name, 2.0, seed=7), first)
    other = stream(name, 2.0, seed=8)
    assert np.abs(other - first).max() > 0.1 * np.abs(first).max()


def test_rain_hisses_above_a_kilohertz() -> None:
    assert band_fraction(stream("rain", 10.0), 1000, RATE) > 0.95


def test_wind_blows_between_150_and_900_hz() -> None:
    wind = stream("wind", 10.0)
    assert band_fraction(wind, 150, 900) > 0.7
    assert band_fraction(wind, 0, 2400) > 0.97


def test_room_tone_is_white_noise_under_a_1200_hz_low_pass() -> None:
    # Through a 2nd-order Butterworth low-pass, |H(f)|² = 1/(1 + (f/fc)⁴): the share of white
    # noise's energy below fc is ∫₀¹ dx/(1 + x⁴) over ∫₀^(Nyquist/fc) dx/(1 + x⁴) ≈ 0.78.
    x = np.linspace(0, RATE / 2 / 1200, 400_001)
    gain = 1 / (1 + x**4)
    expected = gain[x <= 1].sum() / gain.sum()
    room = stream("room tone", 10.0)
    assert abs(band_fraction(room, 0, 1200) - expected) < 0.03
    assert band_fraction(room, 2400, RATE) < 0.05


@pytest.mark.parametrize("name", ["thunder", "impact"])
def test_thunder_and_impacts_rumble_below_300_hz(name: str) -> None:
    assert band_fraction(stream(name, 10.0), 0, 300) > 0.95


@pytest.mark.parametrize("name", ["wind", "room tone", "thunder", "waves"])
def test_no_step_at_block_or_chunk_edges(name: str) -> None:
    block = 1000
    x = stream(name, 8.0, seed=2, block=block)
    frames = x.shape[1]
    edges = sorted(set(range(block, frames, block)) | set(range(CHUNK, frames, CHUNK)))
    assert worst_step(x, edges) < 3.0  # a filter restarting from rest steps by 5-20× this


def test_filters_carry_their_state_from_chunk_to_chunk() -> None:
    rng = np.random.default_rng(0)
    noise = rng.standard_normal((2, 20_000))
    cuts = [0, 1, 4096, 4097, 9000, 20_000]
    pieces = {
        "band": (effects._band(150, 900, RATE), signal.butter(2, [150, 900], "bandpass", fs=RATE)),
        "low": (effects._lowpass(20, RATE), signal.butter(2, 20, "lowpass", fs=RATE)),
    }
    for stateful, (b, a) in pieces.values():
        chunked = np.concatenate([stateful(noise[:, i:j]) for i, j in itertools.pairwise(cuts)], 1)
        np.testing.assert_allclose(chunked, signal.lfilter(b, a, noise, axis=-1), atol=1e-9)
    rumble, whole = effects._Rumble(RATE), effects._Rumble(RATE)(noise)
    chunked = np.concatenate([rumble(noise[:, i:j]) for i, j in itertools.pairwise(cuts)], 1)
    np.testing.assert_allclose(chunked, whole, atol=1e-9)


def test_a_gliding_sine_keeps_its_phase_across_chunks() -> None:
    freq = np.linspace(110, 330, 10_000)
    whole = np.sin(2 * np.pi * np.cumsum(freq) / RATE)
    phase, pieces = 0.0, []
    for i, j in [(0, 1), (1, 3000), (3000, 3001), (3001, 10_000)]:
        piece, phase = effects._sine(freq[i:j], RATE, phase)
        pieces.append(piece)
    np.testing.assert_allclose(np.concatenate(pieces), whole, atol=1e-9)


def test_an_impact_glides_as_its_frequency_integrated() -> None:
    """The boom's closed-form phase is the running sum of its frequency, 90 Hz falling to 40."""
    t = np.arange(20_000) / RATE
    freq = 40 + 50 * np.exp(-t / 0.08)
    glide = np.sin(2 * np.pi * (np.cumsum(freq) - freq[0]) / RATE) * np.exp(-t / 0.45)
    boom, burst = effects._impact_shape(0, 20_000, RATE)
    np.testing.assert_allclose(boom, glide, atol=2e-3)  # a sum against its integral
    np.testing.assert_allclose(burst, np.exp(-t / 0.05))
    later, _ = effects._impact_shape(5_000, 3_000, RATE)  # any stretch: a function of time
    np.testing.assert_array_equal(later, boom[5_000:8_000])


def test_drops_and_crackles_ring_as_their_old_kernels() -> None:
    n = np.arange(240)
    impulse = np.zeros((2, 240))
    impulse[:, 0] = 1.0
    splash = np.exp(-n / 30) * np.sin(2 * np.pi * 3000 * n / RATE)
    np.testing.assert_allclose(effects._ringing(30, 3000, RATE)(impulse)[0], splash, atol=1e-12)
    np.testing.assert_allclose(effects._dying(12)(impulse)[1], np.exp(-n / 12), atol=1e-12)


def test_edges_are_raised_cosine_fades() -> None:
    frames, attack, release = 1000, 100, 40
    gain = effects._fade(0, frames, frames, attack, release)
    np.testing.assert_allclose(gain[:attack], 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, attack)))
    np.testing.assert_allclose(gain[-release:], 0.5 + 0.5 * np.cos(np.linspace(0, np.pi, release)))
    assert (gain[attack:-release] == 1).all()
    # Streamed: the effect's first and last samples are silent, whatever the block size.
    rain = stream("rain", 1.0, block=333)
    assert np.abs(rain[:, [0, -1]]).max() == 0


def test_render_effect_is_the_stream_at_minus_6_dbfs() -> None:
    streamed = stream("fire", 2.5, seed=4)
    rendered = render_effect("fire", 2.5, RATE, seed=4)
    assert rendered is not None and rendered.dtype == np.float32
    np.testing.assert_allclose(rendered, streamed * (0.5 / np.abs(streamed).max()), atol=1e-6)
    assert np.abs(rendered).max() == pytest.approx(0.5)


def test_a_long_lasting_soundfont_sound_loops_without_a_seam() -> None:
    length_s = effects.SOUNDFONT_IN_MEMORY_S + 30
    x = stream("helicopter", length_s, block=4096)
    assert x.shape == (2, round(length_s * RATE)) and np.isfinite(x).all()
    np.testing.assert_allclose(stream("helicopter", length_s, block=1 << 16), x, atol=1e-7)
    start, loop = round(effects.LOOP_ATTACK_S * RATE), round(effects.LOOP_S * RATE)
    seams = list(range(start + loop, x.shape[1], loop))
    assert len(seams) >= 3
    assert worst_step(x, seams) < 3.0
    # Once the rotor is up to speed it stays there: every second within 1.5 dB of the rest,
    # the seconds across the seams included.
    seconds = x[:, start : x.shape[1] // RATE * RATE].reshape(2, -1, RATE)
    level = 10 * np.log10((seconds**2).mean(axis=(0, 2)))
    assert np.abs(level - np.median(level)).max() < 1.5, level


def test_a_long_one_shot_soundfont_sound_is_struck_again_and_again() -> None:
    length_s, every = effects.SOUNDFONT_IN_MEMORY_S + 30, round(effects.ONE_SHOT_S * RATE)
    x = stream("telephone", length_s)
    assert x.shape == (2, round(length_s * RATE))
    strikes = x[:, : x.shape[1] // every * every].reshape(2, -1, every)
    energy = (strikes**2).sum(axis=(0, 2))
    assert len(energy) >= 18
    np.testing.assert_allclose(energy[1:], energy[1], rtol=1e-3)  # every ring alike
    assert energy[0] > 0.5 * energy[1]  # the first, under the fade-in, too
    # Each ring is over before the next: the last tenth of every cycle is near silence.
    tails = (strikes[:, :, -every // 10 :] ** 2).sum(axis=(0, 2))
    assert (tails < 1e-4 * energy[1]).all()


def streamed_peak_memory(name: str, length_s: float) -> tuple[int, float, int]:
    """Peak traced memory (numpy's buffers included) while streaming the effect and keeping only
    a running sum of squares; that sum, and the frames seen."""
    tracemalloc.start()
    try:
        blocks = effect_blocks(name, length_s, RATE, seed=1)
        assert blocks is not None
        energy, frames = 0.0, 0
        for piece in blocks:
            energy += float(np.square(piece, dtype=np.float64).sum())
            frames += piece.shape[1]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, energy, frames


@pytest.mark.parametrize("name", ["rain", "birds"])
def test_ten_minutes_of_bed_stream_in_little_memory(name: str) -> None:
    peak, energy, frames = streamed_peak_memory(name, 600.0)
    assert frames == 600 * RATE
    assert energy / frames > 1e-6  # it sounded all along (birds are quiet)
    assert peak < 50e6, f"{peak / 1e6:.0f} MB"  # the whole length in float32 would be 230 MB
