"""Muxing a soundtrack read from disk block by block, and measuring a muxed file's true peak
while decoding it: the same results as with everything in memory, in flat memory."""

from __future__ import annotations

import math
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audio_creator.audio import Audio, load, save
from audio_creator.audio_source import AudioFile
from audio_creator.dsp.true_peak import true_peak_dbtp
from audio_creator.errors import ConfigError, MediaError
from audio_creator.media import probe
from audio_creator.media.audio_encoder import EncoderSettings, encode_audio
from audio_creator.media.mux import (
    _TP_BLOCK,
    _TruePeakMeter,
    encoded_true_peak_dbtp,
    mux,
    soundtrack_source,
)
from helpers import decode_audio_with_ffmpeg, make_video, packet_hashes, run_ffmpeg


def _music(duration_s: float, rate: int = 48000, channels: int = 2, seed: int = 1) -> Audio:
    """Chords, a noise floor and a few hits: something an encoder has to work on."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(duration_s * rate)) / rate
    chord = sum(np.sin(2 * np.pi * f * t) / (k + 1) for k, f in enumerate([220, 277.2, 329.6]))
    rows = []
    for c in range(channels):
        signal = 0.2 * chord * (1 + 0.3 * np.sin(2 * np.pi * (0.5 + c) * t))
        rows.append(signal + 0.02 * rng.standard_normal(t.size))
    return Audio(np.asarray(rows, np.float32), rate)


def _as_file(audio: Audio, path: Path) -> AudioFile:
    save(audio, path, bit_depth=32)  # float: the file holds exactly the in-memory samples
    source = soundtrack_source(path)
    assert isinstance(source, AudioFile)
    return source


def _same_decoded(a: Path, b: Path) -> None:
    left, right = decode_audio_with_ffmpeg(a), decode_audio_with_ffmpeg(b)
    assert left.shape == right.shape
    assert float(np.abs(left - right).max()) < 1e-4
    if np.abs(left).max() > 0:
        assert np.corrcoef(left.ravel(), right.ravel())[0, 1] > 0.999


# --------------------------------------------------------------------------------- file sources


def test_file_source_reads_wavs_on_demand_and_loads_the_rest(
    tmp_path: Path, audio_only: Path
) -> None:
    wav = tmp_path / "music.wav"
    source = _as_file(_music(1.0), wav)
    assert (source.sample_rate, source.channels, source.frames) == (48000, 2, 48000)
    assert isinstance(soundtrack_source(audio_only), Audio)  # AAC: decoded into memory
    with pytest.raises(MediaError, match="not found"):
        soundtrack_source(tmp_path / "missing.wav")


@pytest.mark.parametrize(
    ("source", "suffix"), [("mp4", ".mp4"), ("mp4", ".mkv"), ("webm", ".webm"), ("mp4", ".avi")]
)
@pytest.mark.parametrize("audio_s", [3.0, 1.2])  # cut, and padded with silence
def test_muxing_from_a_file_equals_muxing_from_memory(
    tmp_path: Path, sample_videos: dict[str, Path], source: str, suffix: str, audio_s: float
) -> None:
    audio = _music(audio_s)
    video = sample_videos[source]
    from_memory, from_file = tmp_path / f"memory{suffix}", tmp_path / f"file{suffix}"
    mux(video, audio, from_memory)
    result = mux(video, _as_file(audio, tmp_path / "music.wav"), from_file)
    assert result.video_copied
    assert packet_hashes(from_file) == packet_hashes(from_memory)  # AVI's rewrapped alike
    assert packet_hashes(from_file, "a:0") == packet_hashes(from_memory, "a:0")  # same encoding
    _same_decoded(from_memory, from_file)
    decoded = decode_audio_with_ffmpeg(from_file)
    info = probe(from_file)
    priming_s = 0.05 if suffix == ".avi" else 0.0  # MP3 in AVI keeps its encoder's priming
    assert abs(decoded.shape[1] / 48000 - info.duration_s) <= 1 / info.fps + priming_s
    if audio_s < info.duration_s:  # the padding is silence
        assert np.abs(decoded[:, round((audio_s + 0.1) * 48000) :]).max() < 0.01


def test_keep_longer_audio_from_a_file(tmp_path: Path, sample_videos: dict[str, Path]) -> None:
    audio = _music(3.0)
    source = _as_file(audio, tmp_path / "music.wav")
    from_memory, from_file = tmp_path / "memory.mp4", tmp_path / "file.mp4"
    mux(sample_videos["mp4"], audio, from_memory, keep_longer_audio=True)
    mux(sample_videos["mp4"], source, from_file, keep_longer_audio=True)
    decoded = decode_audio_with_ffmpeg(from_file)
    assert abs(decoded.shape[1] - 3 * 48000) <= 1024  # the whole soundtrack, past the video
    _same_decoded(from_memory, from_file)


def test_a_surround_file_is_downmixed_block_by_block(
    tmp_path: Path, sample_videos: dict[str, Path]
) -> None:
    audio = _music(2.0, channels=6)
    from_memory, from_file = tmp_path / "memory.mp4", tmp_path / "file.mp4"
    mux(sample_videos["mp4"], audio, from_memory)
    mux(sample_videos["mp4"], _as_file(audio, tmp_path / "surround.wav"), from_file)
    assert probe(from_file).audio_channels == 2
    _same_decoded(from_memory, from_file)


def test_a_file_at_a_rate_the_container_refuses_is_resampled(
    tmp_path: Path, sample_videos: dict[str, Path]
) -> None:
    audio = _music(2.0, rate=22050)
    from_memory, from_file = tmp_path / "memory.webm", tmp_path / "file.webm"
    mux(sample_videos["webm"], audio, from_memory)
    mux(sample_videos["webm"], _as_file(audio, tmp_path / "low.wav"), from_file)
    assert probe(from_file).audio_sample_rate == 48000
    _same_decoded(from_memory, from_file)


def test_non_finite_samples_in_a_file_are_refused(
    tmp_path: Path, sample_videos: dict[str, Path]
) -> None:
    samples = _music(2.0).samples.copy()
    samples[1, 60000] = np.nan
    wav = tmp_path / "broken.wav"
    sf.write(wav, samples.T, 48000, subtype="FLOAT")
    out = tmp_path / "out.mp4"
    with pytest.raises(MediaError, match=r"NaN or infinite samples"):
        mux(sample_videos["mp4"], AudioFile(wav, 48000, 2, samples.shape[1]), out)
    assert not out.exists() and not list(tmp_path.glob(".out.*"))


def test_empty_and_undownmixable_sources_are_refused_up_front(
    tmp_path: Path, sample_videos: dict[str, Path]
) -> None:
    three = tmp_path / "three.wav"
    sf.write(three, np.zeros((4800, 3), np.float32), 48000, subtype="FLOAT")
    with pytest.raises(ConfigError, match="no standard conversion"):
        mux(sample_videos["mp4"], AudioFile(three, 48000, 3, 4800), tmp_path / "out.mp4")
    with pytest.raises(MediaError, match="no samples"):
        mux(sample_videos["mp4"], AudioFile(three, 48000, 3, 0), tmp_path / "out.mp4")
    assert not (tmp_path / "out.mp4").exists()


def test_the_mix_file_cannot_be_the_output(tmp_path: Path, sample_videos: dict[str, Path]) -> None:
    source = AudioFile(tmp_path / "x.mp4", 48000, 2, 48000)
    with pytest.raises(MediaError, match="also an input"):
        mux(sample_videos["mp4"], source, tmp_path / "x.mp4")


def test_parallel_pieces_read_from_a_file_encode_as_from_memory(tmp_path: Path) -> None:
    """More pieces than workers (a window of them in flight), each reading its own span."""
    audio = _music(12.0)
    source = _as_file(audio, tmp_path / "music.wav")
    settings = EncoderSettings("aac", 192_000, 48000, "stereo")

    def encoded(source: Audio | AudioFile) -> list[bytes]:
        packets = encode_audio(source, settings, workers=2, min_segment_s=1.0, max_segment_s=2.0)
        return [bytes(packet) for packet in packets]

    from_memory, from_file = encoded(audio), encoded(source)
    single = list(encode_audio(audio, settings, workers=1))
    assert from_file == from_memory
    assert len(from_file) == len(single)


def test_a_consumer_that_stops_early_stops_the_encoders(tmp_path: Path) -> None:
    source = _as_file(_music(12.0), tmp_path / "music.wav")
    settings = EncoderSettings("aac", 192_000, 48000, "stereo")
    packets = encode_audio(source, settings, workers=2, min_segment_s=1.0, max_segment_s=2.0)
    assert next(packets) is not None
    packets.close()  # the pool is shut down, the queued pieces cancelled: no hang, no error


# ---------------------------------------------------------------------------- true peak, stream


def _inter_sample_bursts(frames: int, at: list[int], rate: int = 48000) -> Audio:
    """Faint noise, and bursts of a quarter-rate sine whose samples all miss its crests: a true
    peak 3 dB above the sample peak, right where asked."""
    rng = np.random.default_rng(5)
    samples = 0.01 * rng.standard_normal((2, frames))
    n = np.arange(64)
    for k, position in enumerate(at):
        burst = (0.5 + 0.01 * k) * np.sin(np.pi / 2 * n + np.pi / 4)
        lo = max(0, position - 32)
        samples[k % 2, lo : position + 32] = burst[lo - (position - 32) :][: frames - lo]
    return Audio(samples.astype(np.float32), rate)


def _stream_peak_db(audio: Audio, feed: int) -> float:
    meter = _TruePeakMeter(audio.sample_rate)
    for start in range(0, audio.frames, feed):
        meter.feed(audio.samples[:, start : start + feed])
    peak = meter.finish()
    return 20 * math.log10(peak) if peak > 0 else -math.inf


def test_streaming_true_peak_equals_the_whole_signals(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of a few blocks, fed in pieces of every size: the loudest burst, at any block
    boundary (so across every seam between chunks, wherever the feeding puts them), is found
    exactly as in the whole signal."""
    monkeypatch.setattr(sys.modules[_TruePeakMeter.__module__], "_TP_CHUNK", 4 * _TP_BLOCK)
    frames = 40 * _TP_BLOCK + 300
    feeds = [333, 1024, 7001, 10**6]
    for loudest in [*range(0, frames, _TP_BLOCK), 5 * _TP_BLOCK + 3, 6 * _TP_BLOCK - 3, frames - 3]:
        audio = _inter_sample_bursts(frames, [loudest])
        expected = true_peak_dbtp(audio)
        assert expected > 20 * math.log10(0.5 * math.sqrt(0.5)) + 2.5  # really inter-sample
        for feed in feeds:
            assert _stream_peak_db(audio, feed) == pytest.approx(expected, abs=1e-4), loudest
    several = _inter_sample_bursts(frames, list(range(0, frames, 3 * _TP_BLOCK // 2)))
    for feed in feeds:
        assert _stream_peak_db(several, feed) == pytest.approx(true_peak_dbtp(several), abs=1e-4)


def test_streaming_true_peak_of_silence_and_of_nothing() -> None:
    assert _stream_peak_db(Audio(np.zeros((2, 5000), np.float32), 48000), 1000) == -math.inf
    assert _TruePeakMeter(48000).finish() == 0.0


def test_encoded_true_peak_matches_loading_the_file(tmp_path: Path) -> None:
    """An AAC track of several measuring chunks: the same as decoding it whole."""
    video = make_video(tmp_path / "v.mp4", audio_codec=None, duration_s=13.0, size="64x36", fps=5)
    loud = _music(13.0)
    audio = Audio(loud.samples * np.float32(0.95 / np.abs(loud.samples).max()), 48000)
    out = tmp_path / "scored.mp4"
    mux(video, _as_file(audio, tmp_path / "loud.wav"), out)
    measured = encoded_true_peak_dbtp(out)
    assert measured is not None
    assert measured == pytest.approx(true_peak_dbtp(load(out)), abs=0.01)
    assert measured > -1.0  # the encoder's overshoot is there to find


def test_encoded_true_peak_of_a_video_without_audio(silent_video: Path) -> None:
    assert encoded_true_peak_dbtp(silent_video) is None


# ------------------------------------------------------------------------------- flat memory


def _silent_ish_wav(path: Path, duration_s: float, rate: int = 48000) -> Path:
    """A faint tone, written a second at a time."""
    second = (1e-3 * np.sin(2 * np.pi * 440 * np.arange(rate) / rate)).astype(np.float32)
    block = np.stack([second, second]).T
    with sf.SoundFile(path, "w", rate, 2, subtype="PCM_16", format="WAV") as f:
        for _ in range(round(duration_s)):
            f.write(block)
    return path


def test_a_long_soundtrack_is_muxed_and_measured_in_flat_memory(tmp_path: Path) -> None:
    """Four minutes of soundtrack (92 MB as float32; loaded and oversampled, several hundred)
    pass in what one block of work takes; bench/long.py muxes two hours the same way."""
    minutes_s = 4 * 60.0
    video = tmp_path / "long.mp4"
    run_ffmpeg(
        "-f", "lavfi", "-i", "color=black:s=64x36:r=1", "-t", str(int(minutes_s)),
        "-c:v", "libx264", "-pix_fmt", "yuv420p", str(video),
    )  # fmt: skip
    wav = _silent_ish_wav(tmp_path / "long.wav", minutes_s)
    source = soundtrack_source(wav)
    assert isinstance(source, AudioFile)
    out = tmp_path / "scored.mp4"

    tracemalloc.start()
    try:
        mux(video, source, out)
        held, mux_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        peak_db = encoded_true_peak_dbtp(out)
        measure_peak = tracemalloc.get_traced_memory()[1] - held  # what measuring added
    finally:
        tracemalloc.stop()
    assert mux_peak < 80 * 2**20, f"muxing traced {mux_peak / 2**20:.0f} MB"
    # one chunk's oversampling (about 56 MB of windows and products), whatever the length
    assert measure_peak < 80 * 2**20, f"measuring traced {measure_peak / 2**20:.0f} MB"
    assert peak_db is not None and -62 < peak_db < -58  # the −60 dBFS tone
    assert probe(out).duration_s == pytest.approx(minutes_s, abs=1.0)
