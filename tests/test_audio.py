"""`Audio`: construction, file round trips, decoding of common formats, resampling, channels."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audio_creator.audio import Audio, load, save, validate_audio
from audio_creator.errors import ConfigError, MediaError
from helpers import peak_frequency_hz, run_ffmpeg, sine

# ----------------------------------------------------------------------------------- the object


def test_audio_keeps_samples_and_rate_together_and_is_immutable() -> None:
    source = np.zeros(480, np.float32)
    audio = Audio(source, 48000)
    assert audio.samples.shape == (1, 480)
    assert (audio.channels, audio.frames, audio.duration_s) == (1, 480, 0.01)
    with pytest.raises(ValueError):
        audio.samples[0, 0] = 1.0
    source[0] = 1.0  # the caller's array stays theirs: still writable
    assert source.flags.writeable


@pytest.mark.parametrize(
    ("samples", "rate"),
    [
        (np.zeros((2, 2, 2), np.float32), 48000),
        (np.zeros(4, np.int16), 48000),
        (np.zeros(4, np.float32), 0),
        (np.zeros(4, np.float32), 44100.5),
    ],
)
def test_audio_rejects_bad_construction(samples: np.ndarray, rate: float) -> None:
    with pytest.raises(ConfigError):
        Audio(samples, rate)  # type: ignore[arg-type]


def test_validate_audio_names_non_finite_samples_and_their_time() -> None:
    samples = np.zeros((2, 48000), np.float32)
    samples[1, 24000] = np.nan
    samples[0, 30000] = np.inf
    with pytest.raises(MediaError, match=r"2 NaN or infinite samples \(the first at 0\.500 s\)"):
        validate_audio(Audio(samples, 48000))
    with pytest.raises(MediaError, match="no samples"):
        validate_audio(Audio(np.zeros((2, 0), np.float32), 48000))


# ----------------------------------------------------------------------------- save/load round trip


@pytest.mark.parametrize(("bits", "tolerance"), [(16, 0.5 / 2**15), (24, 0.5 / 2**23), (32, 0.0)])
@pytest.mark.parametrize("rate", [8000, 44100, 192000])
def test_wav_round_trip_is_within_quantisation_error(
    tmp_path: Path, bits: int, tolerance: float, rate: int
) -> None:
    rng = np.random.default_rng(bits)
    original = Audio(rng.uniform(-1, 1 - 2**-15, size=(2, rate // 10)).astype(np.float32), rate)
    path = save(original, tmp_path / "x.wav", bit_depth=bits)
    info = sf.info(path)
    assert info.subtype == {16: "PCM_16", 24: "PCM_24", 32: "FLOAT"}[bits]
    back = load(path)
    assert back.sample_rate == rate and back.samples.shape == original.samples.shape
    error = np.abs(back.samples.astype(np.float64) - original.samples.astype(np.float64)).max()
    assert error <= tolerance + 1e-9


def test_saving_many_channels_and_clipping_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    samples = np.zeros((8, 1000), np.float32)
    samples[3, 10] = 1.5
    with caplog.at_level(logging.WARNING):
        save(Audio(samples, 96000), tmp_path / "eight.wav", bit_depth=16)
    assert "clipped 1 of 8000 samples" in caplog.text
    back = load(tmp_path / "eight.wav")
    assert back.channels == 8 and back.samples[3, 10] == pytest.approx(32767 / 32768)


def test_save_refuses_non_finite_audio_and_leaves_no_file(tmp_path: Path) -> None:
    bad = Audio(np.array([0.0, np.nan], np.float32), 48000)
    with pytest.raises(MediaError):
        save(bad, tmp_path / "bad.wav")
    assert list(tmp_path.iterdir()) == []


def test_save_rejects_unknown_bit_depth(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="bit depth"):
        save(Audio(np.zeros(10, np.float32), 48000), tmp_path / "x.wav", bit_depth=20)


def test_load_refuses_float_wav_with_nan(tmp_path: Path) -> None:
    data = np.zeros((100, 1), np.float32)
    data[50] = np.nan
    sf.write(tmp_path / "nan.wav", data, 48000, subtype="FLOAT")
    with pytest.raises(MediaError, match="NaN or infinite"):
        load(tmp_path / "nan.wav")


# ------------------------------------------------------------------------------- common formats


@pytest.mark.parametrize(
    ("suffix", "codec"),
    [
        (".wav", "pcm_s16le"),
        (".flac", "flac"),
        (".ogg", "libvorbis"),
        (".mp3", "libmp3lame"),
        (".m4a", "aac"),
        (".aac", "aac"),
        (".mp4", "aac"),
    ],
)
def test_load_decodes_common_formats(tmp_path: Path, suffix: str, codec: str) -> None:
    path = tmp_path / f"tone{suffix}"
    args = ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=1.5", "-ac", "2"]
    if suffix == ".mp4":  # the audio track of a video
        args = [
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=64x64:rate=10:duration=1.5",
            *args,
            "-c:v",
            "libx264",
        ]
    run_ffmpeg(*args, "-c:a", codec, str(path))
    audio = load(path)
    assert audio.sample_rate == 44100 and audio.channels == 2
    assert audio.duration_s == pytest.approx(1.5, abs=0.06)  # lossy codecs pad by a frame or so
    middle = audio.samples[0, 11025:55125]
    assert peak_frequency_hz(middle, 44100) == pytest.approx(440, abs=1)
    rms_db = 20 * np.log10(np.sqrt(np.mean(middle.astype(np.float64) ** 2)))
    # lavfi's sine has amplitude 1/8; ffmpeg's mono → stereo puts it in each channel at −3 dB.
    assert rms_db == pytest.approx(20 * np.log10(0.125 * np.sqrt(0.5) / np.sqrt(2)), abs=0.5)


def test_load_can_resample_and_convert_channels(tmp_path: Path) -> None:
    sf.write(tmp_path / "s.wav", sine(1000, 44100, 1.0)[:, None], 44100)
    audio = load(tmp_path / "s.wav", sample_rate=48000, channels=2)
    assert (audio.sample_rate, audio.channels, audio.frames) == (48000, 2, 48000)


def test_load_of_a_video_without_audio_says_so(silent_video: Path) -> None:
    with pytest.raises(MediaError, match="no audio track"):
        load(silent_video)


@pytest.mark.parametrize("content", [b"", b"this is not audio at all\n" * 20])
def test_load_of_garbage_is_a_media_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "fake.wav"
    path.write_bytes(content)
    with pytest.raises(MediaError):
        load(path)


# ----------------------------------------------------------------------------------- resampling


def _spectrum_db(signal: np.ndarray) -> np.ndarray:
    """Magnitude spectrum in dB re its peak, Blackman-Harris window (sidelobes < −92 dB)."""
    n = signal.size
    k = np.arange(n)
    window = (
        0.35875
        - 0.48829 * np.cos(2 * np.pi * k / n)
        + 0.14128 * np.cos(4 * np.pi * k / n)
        - 0.01168 * np.cos(6 * np.pi * k / n)
    )
    mags = np.abs(np.fft.rfft(signal.astype(np.float64) * window))
    return 20 * np.log10(mags / mags.max() + 1e-20)


@pytest.mark.parametrize("freq", [100.0, 1000.0, 9000.0, 18000.0, 20000.0])
def test_resampling_44k1_to_48k_keeps_frequency_and_level_without_aliases(freq: float) -> None:
    amplitude = 0.5
    audio = Audio(sine(freq, 44100, 2.0, amplitude), 44100).resample(48000)
    assert audio.sample_rate == 48000 and audio.frames == 96000
    steady = audio.samples[0, 24000:72000].astype(np.float64)  # away from the filter's edges
    assert peak_frequency_hz(steady, 48000) == pytest.approx(freq, abs=0.05)
    level_db = 20 * np.log10(np.sqrt(np.mean(steady**2)) * np.sqrt(2) / amplitude)
    assert abs(level_db) < 0.1
    spectrum = _spectrum_db(steady)
    bins_hz = np.fft.rfftfreq(steady.size, 1 / 48000)
    away = np.abs(bins_hz - freq) > 50  # everything but the tone's own main lobe
    assert spectrum[away].max() < -80


def test_downsampling_removes_content_above_the_new_nyquist() -> None:
    rate_in = 48000
    tone = sine(1000, rate_in, 2.0) + sine(23000, rate_in, 2.0)  # 23 kHz can't exist at 44.1 kHz
    out = Audio(tone, rate_in).resample(44100).samples[0, 22050:66150]
    spectrum = _spectrum_db(out)
    bins_hz = np.fft.rfftfreq(out.size, 1 / 44100)
    assert spectrum[np.abs(bins_hz - 1000) > 50].max() < -80  # its alias at 21.1 kHz is gone


# ------------------------------------------------------------------------------------- channels


def test_mono_to_stereo_and_back() -> None:
    mono = Audio(np.array([[0.1, -0.2]], np.float32), 48000)
    stereo = mono.to_channels(2)
    np.testing.assert_array_equal(stereo.samples, np.float32([[0.1, -0.2], [0.1, -0.2]]))
    lr = Audio(np.array([[0.2], [0.4]], np.float32), 48000)
    np.testing.assert_allclose(lr.to_channels(1).samples, [[0.3]])


def test_5_1_downmix_uses_the_itu_coefficients() -> None:
    # FL FR FC LFE BL BR as constant levels; ITU-R BS.775: Lo = L + 0.707 C + 0.707 Ls, LFE dropped.
    levels = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], np.float32)[:, None].repeat(4, axis=1)
    stereo = Audio(levels, 48000).to_channels(2)
    g = 10 ** (-3 / 20)
    np.testing.assert_allclose(
        stereo.samples[:, 0], [0.1 + g * 0.3 + g * 0.5, 0.2 + g * 0.3 + g * 0.6], atol=2e-3
    )
    mono = Audio(levels, 48000).to_channels(1)
    assert mono.samples[0, 0] == pytest.approx(stereo.samples[:, 0].mean())


def test_unsupported_channel_conversion_is_explained() -> None:
    with pytest.raises(ConfigError, match="no standard conversion from 3 to 2"):
        Audio(np.zeros((3, 10), np.float32), 48000).to_channels(2)


def test_fit_frames_pads_with_silence_or_trims() -> None:
    audio = Audio(np.ones((2, 10), np.float32), 100)
    assert audio.fit_frames(4).frames == 4
    padded = audio.fit_frames(15)
    assert (
        padded.frames == 15
        and padded.samples[:, 10:].max() == 0
        and padded.samples[:, :10].min() == 1
    )
