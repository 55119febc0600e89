"""Parallel AAC encoding: pieces encoded at once must play back like one encoder's output."""

from __future__ import annotations

import itertools
from pathlib import Path

import av
import numpy as np
import pytest

from audio_creator.audio import Audio
from audio_creator.media.audio_encoder import EncoderSettings, _piece_bounds, encode_audio
from helpers import decode_audio_with_ffmpeg

RATE = 48000
SETTINGS = EncoderSettings("aac", 192_000, RATE, "stereo")


def _music_like(duration_s: float, transients_at: list[int]) -> Audio:
    """Chords with a slow tremolo, a noise floor, and sharp drum-like hits at given samples."""
    rng = np.random.default_rng(3)
    t = np.arange(round(duration_s * RATE)) / RATE
    chord = sum(
        np.sin(2 * np.pi * f * t) / (k + 1) for k, f in enumerate([220, 277.2, 329.6, 440, 880])
    )
    signal = 0.15 * chord * (1 + 0.3 * np.sin(2 * np.pi * 0.7 * t)) + 0.01 * rng.standard_normal(
        t.size
    )
    for at in transients_at:  # 30 ms noise bursts starting exactly at `at`
        burst = rng.standard_normal(1440) * np.exp(-np.arange(1440) / 200)
        signal[at : at + 1440] += 0.5 * burst[: signal.size - at]
    left = signal.astype(np.float32)
    return Audio(np.stack([left, np.roll(left, 480)]), RATE)


def _write_m4a(packets: list[av.Packet], path: Path) -> None:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=RATE, layout="stereo")
        stream.bit_rate = SETTINGS.bit_rate
        for packet in packets:
            packet.stream = stream
            out.mux(packet)


def _window_snr_db(reference: np.ndarray, decoded: np.ndarray, window: int = 2048) -> np.ndarray:
    n = (min(reference.shape[1], decoded.shape[1]) // window) * window
    ref = reference[:, :n].reshape(2, -1, window).astype(np.float64)
    err = decoded[:, :n].reshape(2, -1, window) - ref
    return 10 * np.log10((ref**2).sum(axis=(0, 2)) / ((err**2).sum(axis=(0, 2)) + 1e-20))


def test_piece_bounds_cover_everything_on_the_frame_grid() -> None:
    bounds = _piece_bounds(1_000_000, 3, 1024)
    assert bounds[0][0] == 0 and bounds[-1][1] == 1_000_000
    assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))
    assert all(start % 1024 == 0 for start, _ in bounds)


def test_parallel_pieces_decode_like_a_single_encoder(tmp_path: Path) -> None:
    duration_s, pieces = 8.0, 4
    seams = [start for start, _ in _piece_bounds(round(duration_s * RATE), pieces, 1024)[1:]]
    # The hardest case for a seam: a transient right on it (and one just before another).
    audio = _music_like(duration_s, [seams[0], seams[1] - 300, RATE])
    single = list(encode_audio(audio, SETTINGS, workers=1))
    parallel = list(encode_audio(audio, SETTINGS, workers=pieces, min_segment_s=1.0))
    assert len(parallel) == len(single)
    assert [p.pts for p in parallel] == [p.pts for p in single]

    _write_m4a(single, tmp_path / "single.m4a")
    _write_m4a(parallel, tmp_path / "parallel.m4a")
    one = decode_audio_with_ffmpeg(tmp_path / "single.m4a")
    many = decode_audio_with_ffmpeg(tmp_path / "parallel.m4a")
    assert one.shape == many.shape
    assert abs(one.shape[1] - audio.frames) < 1024

    snr_one = _window_snr_db(audio.samples, one)
    snr_many = _window_snr_db(audio.samples, many)
    seam_windows = [s // 2048 + d for s in seams for d in (-1, 0, 1)]
    # Around each seam the parallel stream is as clean as the single encoder was there...
    assert np.all(snr_many[seam_windows] > snr_one[seam_windows] - 3)
    # ...and a seam without a transient is as clean as the stream is anywhere else.
    quiet_seam = [seams[2] // 2048 + d for d in (-1, 0, 1)]
    assert snr_many[quiet_seam].min() > np.median(snr_many) - 3
    assert np.mean(snr_many) == pytest.approx(np.mean(snr_one), abs=0.5)


def test_short_audio_and_other_codecs_use_one_encoder() -> None:
    audio = _music_like(3.0, [])
    opus = EncoderSettings("libopus", 128_000, RATE, "stereo")
    packets = list(encode_audio(audio, opus, workers=4, min_segment_s=1.0))
    assert packets and all(p.size > 0 for p in packets)
    assert len(list(encode_audio(audio, SETTINGS, workers=4))) == len(
        list(encode_audio(audio, SETTINGS, workers=1))
    )
