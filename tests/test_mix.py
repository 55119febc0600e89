"""The mixer: loudness to target (checked by FFmpeg), true-peak ceiling, ducking, fitting."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from audio_creator.audio import Audio, save
from audio_creator.dsp import limiter
from audio_creator.dsp.loudness import measure
from audio_creator.errors import ConfigError, MediaError
from audio_creator.mix.ducking import DuckingOptions
from audio_creator.mix.fit import fit_to_length
from audio_creator.mix.mixer import MixOptions, Track, mix
from helpers import ffmpeg_loudness, speech_like, tone_envelope_db

MUSIC_HZ = 200.0
# Sentences (start, end) in seconds: inside each, words with 100 ms gaps (shorter than the hold).
SENTENCES = [(3.0, 7.0), (10.0, 13.4), (16.0, 20.0)]  # each ends with the end of a word


def music_bed(rate: int, seconds: float, channels: int = 2, peak_dbfs: float = -6.0) -> Audio:
    """A steady 200 Hz tone with some harmonics and noise, scaled to a given sample peak."""
    rng = np.random.default_rng(1)
    t = np.arange(round(seconds * rate)) / rate
    bed = np.sin(2 * np.pi * MUSIC_HZ * t) + 0.3 * np.sin(2 * np.pi * 3 * MUSIC_HZ * t)
    bed = bed + 0.05 * rng.standard_normal(t.size)
    bed *= 10 ** (peak_dbfs / 20) / np.abs(bed).max()
    return Audio(np.repeat(bed[None, :].astype(np.float32), channels, axis=0), rate)


def narration(rate: int, level: float = 0.05) -> Audio:
    return Audio(speech_like(rate, SENTENCES, level=level), rate)


# ---------------------------------------------------------------- loudness and true peak (FFmpeg)


@pytest.mark.parametrize(
    ("target", "rate", "channels", "peak_dbfs"),
    [
        (-16.0, 48000, 2, -6.0),
        (-14.0, 44100, 1, 6.0),
        (-23.0, 48000, 1, -20.0),
        (-14.0, 48000, 2, 6.0),
        (-16.0, 44100, 2, 0.0),
        (-23.0, 44100, 2, 6.0),
    ],
)
def test_output_meets_the_target_and_the_ceiling_by_ffmpeg(
    tmp_path: Path, target: float, rate: int, channels: int, peak_dbfs: float
) -> None:
    music = music_bed(
        rate, 25.0, channels, peak_dbfs
    )  # +6 dBFS: a float bed peaking over full scale
    speech = narration(rate)
    result = mix([Track(music)], [Track(speech)], MixOptions(target_lufs=target))
    path = save(result.audio, tmp_path / "mix.wav", bit_depth=24)
    theirs = ffmpeg_loudness(path)
    assert theirs["I"] == pytest.approx(target, abs=0.1)
    assert theirs["TP"] <= -1.0
    assert result.report.integrated_lufs == pytest.approx(target, abs=0.05)
    assert result.audio.sample_rate == 48000 and result.audio.channels == 2


def test_music_only_mastering_meets_target_and_ceiling(tmp_path: Path) -> None:
    music = music_bed(44100, 20.0, 2, peak_dbfs=6.0)
    result = mix([Track(music)], [], MixOptions(target_lufs=-14.0, true_peak_dbtp=-2.0))
    theirs = ffmpeg_loudness(save(result.audio, tmp_path / "m.wav"))
    assert theirs["I"] == pytest.approx(-14.0, abs=0.1) and theirs["TP"] <= -2.0
    assert result.report.duck_depth_db is None and not result.duck_gain_db.any()


def test_limiter_guarantees_the_ceiling_and_moves_smoothly() -> None:
    rng = np.random.default_rng(3)
    t = np.arange(10 * 48000) / 48000
    x = 0.5 * np.sin(2 * np.pi * 60 * t) + 0.4 * rng.standard_normal(t.size) * (t % 1 < 0.05)
    samples = np.stack([x, -x]).astype(np.float32)
    original = samples.copy()
    result = limiter.limit_in_place(samples, 48000, limiter.LimiterOptions(ceiling_dbtp=-1.0))
    assert result.max_reduction_db > 3
    assert measure(Audio(samples, 48000)).true_peak_dbtp <= -1.0 + 1e-6
    # The applied gain, recovered sample by sample, changes by less than 0.05 dB a sample.
    with np.errstate(divide="ignore", invalid="ignore"):
        gain_db = 20 * np.log10(samples[0].astype(np.float64) / original[0])
    audible = np.abs(original[0]) > 0.05  # where the ratio is well defined
    steps = np.diff(gain_db)[audible[:-1] & audible[1:]]
    assert np.abs(steps).max() < 0.01


# -------------------------------------------------------------------------------------- ducking


@pytest.fixture(scope="module")
def ducked() -> tuple[np.ndarray, float, DuckingOptions]:
    """Music stem gain (dB, per 10 ms, relative to the undocked bed) for a 12 dB duck."""
    rate = 48000
    options = MixOptions(ducking=DuckingOptions(depth_db=12.0), fade_in_s=0.0, fade_out_s=0.0)
    result = mix([Track(music_bed(rate, 24.0))], [Track(narration(rate))], options, keep_stems=True)
    assert result.music_stem is not None
    stem = tone_envelope_db(result.music_stem.samples[0], rate, MUSIC_HZ)
    reference = tone_envelope_db(music_bed(rate, 24.0).samples[0], rate, MUSIC_HZ)[: stem.size]
    return (
        stem - reference - result.report.music_balance_db,
        result.report.music_balance_db,
        options.ducking,
    )


def test_steady_speech_ducks_by_the_depth(ducked: tuple[np.ndarray, float, DuckingOptions]) -> None:
    gain, _, _ = ducked
    for start, end in SENTENCES:  # word gaps included: no pumping inside a sentence
        inside = gain[round(start * 100) : round(end * 100)]
        assert np.all(np.abs(inside + 12.0) <= 1.0)


def test_music_is_down_before_the_first_syllable(
    ducked: tuple[np.ndarray, float, DuckingOptions],
) -> None:
    gain, _, _ = ducked
    for start, _ in SENTENCES:
        assert gain[round(start * 100)] <= -11.0  # within 1 dB of full depth at the onset


def test_music_comes_back_within_the_release_time(
    ducked: tuple[np.ndarray, float, DuckingOptions],
) -> None:
    gain, _, options = ducked
    for _, end in SENTENCES:
        back = round((end + options.release_s * 1.1) * 100)
        assert np.all(np.abs(gain[back : back + 50]) <= 1.0)
        assert np.all(np.abs(gain[round(end * 100) - 5 : round(end * 100)] + 12) <= 1.0)


def test_gain_never_steps_more_than_1_db_per_10_ms(
    ducked: tuple[np.ndarray, float, DuckingOptions],
) -> None:
    gain, _, _ = ducked
    assert np.abs(np.diff(gain[10:-10])).max() <= 1.0


def test_speech_sits_at_least_10_lu_over_the_music() -> None:
    rate = 48000
    loud_music = music_bed(rate, 24.0, peak_dbfs=0.0)  # far louder than the speech on input
    result = mix(
        [Track(loud_music)], [Track(narration(rate, level=0.02))], MixOptions(), keep_stems=True
    )
    assert result.music_stem is not None and result.speech_stem is not None
    speech_st = measure(result.speech_stem, true_peak=False).short_term_lufs
    music_st = measure(result.music_stem, true_peak=False).short_term_lufs
    # Windows (3 s, every 100 ms) lying wholly inside a sentence.
    inside = [
        k
        for k in range(speech_st.size)
        if any(s <= k / 10 and k / 10 + 3 <= e for s, e in SENTENCES)
    ]
    difference = np.median(speech_st[inside] - music_st[inside])
    assert difference >= 10.0
    assert result.report.speech_over_music_lu == pytest.approx(difference, abs=1.5)
    assert result.report.music_balance_db < -5  # the balance stage did turn the music down


# --------------------------------------------------------------------------------------- fitting


def test_loop_fills_the_programme_with_a_seamless_crossfade() -> None:
    rate = 48000
    rng = np.random.default_rng(2)
    clip = Audio((0.3 * rng.standard_normal((2, 5 * rate))).astype(np.float32), rate)
    looped = fit_to_length(clip, 12 * rate, "loop", crossfade_s=1.0)
    rms_db = 10 * np.log10((looped[0].reshape(-1, 2400).astype(np.float64) ** 2).mean(axis=1))
    assert rms_db.max() - rms_db.min() < 2.0  # equal-power: no dip or bump at the seams
    padded = fit_to_length(clip, 12 * rate, "pad")
    assert not padded[:, 5 * rate :].any()
    assert fit_to_length(clip, 2 * rate, "loop").shape == (2, 2 * rate)


def test_many_short_padded_tracks_sum_to_their_placed_clips() -> None:
    """The programme skips a padded track once only its silence is left (so a mix of many
    short items is linear in them): what it renders is still exactly the clips, placed."""
    from audio_creator.mix.programme import Programme, render_blocks

    rate = 8000
    rng = np.random.default_rng(5)
    options = MixOptions(sample_rate=rate, channels=2, music_fit="pad", fade_in_s=0.0,
                         fade_out_s=0.0, duration_s=30.0)  # fmt: skip
    tracks, expected = [], np.zeros((2, 30 * rate), np.float32)
    for k in range(60):
        clip = (0.1 * rng.standard_normal((2, rate // 4 + 37 * k))).astype(np.float32)
        start = round(k * 0.45 * rate)
        tracks.append(Track(Audio(clip, rate), start / rate))
        expected[:, start : start + clip.shape[1]] += clip
    programme = Programme.build(tracks, [], options)
    rendered = np.concatenate([programme.music(a, b) for a, b in render_blocks(programme.frames)],
                              axis=1)  # fmt: skip
    np.testing.assert_allclose(rendered, expected, atol=1e-6)
    odd = programme.music(12_345, 54_321)  # a stretch across several tracks' ends
    np.testing.assert_allclose(odd, expected[:, 12_345:54_321], atol=1e-6)


def test_trim_ends_the_programme_with_the_music(caplog: pytest.LogCaptureFixture) -> None:
    rate = 48000
    with caplog.at_level(logging.WARNING):
        result = mix(
            [Track(music_bed(rate, 8.0))], [Track(narration(rate))], MixOptions(music_fit="trim")
        )
    assert result.audio.duration_s == pytest.approx(8.0)
    assert "programme ends with the music" in caplog.text


def test_fades_and_offsets() -> None:
    rate = 48000
    options = MixOptions(fade_in_s=1.0, fade_out_s=1.0, duration_s=10.0)
    result = mix([Track(music_bed(rate, 10.0), offset_s=2.0)], [], options)
    start = np.abs(result.audio.samples[:, : 2 * rate]).max()
    assert start == 0.0  # nothing before the music's offset
    early = np.abs(result.audio.samples[:, 2 * rate : 2 * rate + 480]).max()
    middle = np.abs(result.audio.samples[:, 5 * rate : 6 * rate]).max()
    assert early < 0.01 * middle and np.abs(result.audio.samples[:, -48:]).max() < 0.01 * middle


# ------------------------------------------------------------------------------------ bad input


def test_rates_and_channel_counts_are_conformed() -> None:
    music = music_bed(44100, 12.0, channels=1)
    speech = Audio(np.stack([speech_like(22050, [(2.0, 6.0)])] * 2), 22050)  # stereo narration
    result = mix([Track(music)], [Track(speech)], MixOptions())
    assert (result.audio.sample_rate, result.audio.channels) == (48000, 2)
    assert result.audio.duration_s == pytest.approx(7.0, abs=0.01)


def test_silent_or_empty_speech_mixes_without_ducking(caplog: pytest.LogCaptureFixture) -> None:
    rate = 48000
    silent = Audio(np.zeros((1, 10 * rate), np.float32), rate)
    empty = Audio(np.zeros((1, 0), np.float32), rate)
    with caplog.at_level(logging.WARNING):
        result = mix([Track(music_bed(rate, 10.0))], [Track(silent), Track(empty)], MixOptions())
    assert not result.duck_gain_db.any()
    assert set(result.report.warnings) == {
        "the speech is silent: no ducking",
        "a speech track is empty; it is left out",
    }
    assert result.report.integrated_lufs == pytest.approx(-16.0, abs=0.05)


def test_silent_music_warns_and_speech_is_still_mastered() -> None:
    rate = 48000
    silent = Audio(np.zeros((2, 24 * rate), np.float32), rate)
    result = mix([Track(silent)], [Track(narration(rate))], MixOptions())
    assert "the music is silent" in result.report.warnings
    assert result.report.integrated_lufs == pytest.approx(-16.0, abs=0.05)


def test_non_finite_samples_are_refused() -> None:
    bad = np.zeros((2, 48000), np.float32)
    bad[0, 100] = np.nan
    with pytest.raises(MediaError, match="music track 1 has 1 NaN"):
        mix([Track(Audio(bad, 48000))], [], MixOptions())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target_lufs": -80.0}, "within −70…−5"),
        ({"target_lufs": -3.0}, "within −70…−5"),
        ({"true_peak_dbtp": 0.5}, "≤ 0 dBTP"),
        ({"channels": 6}, "mono or stereo"),
    ],
)
def test_bad_options_are_refused(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        MixOptions(**kwargs)  # type: ignore[arg-type]


def test_nothing_to_mix_is_refused() -> None:
    with pytest.raises(ConfigError, match="nothing to mix"):
        mix([], [], MixOptions())


def test_an_unreachable_target_is_refused_not_hung_on() -> None:
    rng = np.random.default_rng(0)
    clicks = (0.05 * rng.standard_normal((2, 48000 * 3))).astype(np.float32)
    clicks[:, ::2400] = 0.99  # a full-scale click every 50 ms: the limiter never lets go
    with pytest.raises(ConfigError, match="can't be reached under this true-peak ceiling"):
        mix([Track(Audio(clicks, 48000))], [], MixOptions(target_lufs=-14.0))


def test_a_re_rendered_file_mix_is_written_once(tmp_path: Path) -> None:
    from audio_creator.mix.mixer import mix_to_file

    rng = np.random.default_rng(0)
    clicks = (0.05 * rng.standard_normal((2, 48000 * 3))).astype(np.float32)
    clicks[:, ::4800] = 0.99  # heavy limiting: the first render misses and is redone
    report = mix_to_file(
        [Track(Audio(clicks, 48000))], [], MixOptions(target_lufs=-20.0), tmp_path / "clicks.wav"
    )
    import soundfile as sf

    assert sf.info(tmp_path / "clicks.wav").frames == 3 * 48000
    assert report.integrated_lufs == pytest.approx(-20.0, abs=0.05)
    assert ffmpeg_loudness(tmp_path / "clicks.wav")["TP"] <= -1.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clicks.wav"]


def test_ducking_stays_on_time_at_22050_hz() -> None:
    rate = 22050
    speech = Audio(speech_like(rate, [(2.0, 4.0), (60.0, 64.0)], level=0.05), rate)
    options = MixOptions(sample_rate=rate, ducking=DuckingOptions(depth_db=12.0), fade_in_s=0.0)
    result = mix([Track(music_bed(rate, 70.0))], [Track(speech)], options, keep_stems=True)
    assert result.music_stem is not None
    gain = tone_envelope_db(result.music_stem.samples[0], rate, MUSIC_HZ)
    gain -= tone_envelope_db(music_bed(rate, 70.0).samples[0], rate, MUSIC_HZ)[: gain.size]
    gain -= result.report.music_balance_db
    at = round(60.0 * rate / round(0.01 * rate))  # envelope frames are 220 samples here
    assert gain[at] <= -11.0  # the second sentence starts at 60.00 s: already down
    assert np.all(np.abs(gain[at : at + 280] + 12) <= 1.0)  # until the final fade-out


@pytest.mark.parametrize(
    "kwargs",
    [
        {"true_peak_dbtp": float("nan")},
        {"true_peak_dbtp": -float("inf")},
        {"duration_s": float("inf")},
        {"music_volume": float("nan")},
        {"fade_in_s": -1.0},
    ],
)
def test_non_finite_options_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        MixOptions(**kwargs)  # type: ignore[arg-type]


def test_non_finite_track_placement_is_refused() -> None:
    audio = Audio(np.zeros((1, 10), np.float32), 48000)
    for offset, gain in [
        (float("nan"), 1.0),
        (float("inf"), 1.0),
        (0.0, float("nan")),
        (-1.0, 1.0),
    ]:
        with pytest.raises(ConfigError):
            Track(audio, offset, gain)
    with pytest.raises(ConfigError):
        DuckingOptions(attack_s=float("nan"))


@pytest.mark.parametrize("limited", [False, True])
def test_the_mixers_loudness_curve_is_that_of_the_file_it_wrote(
    tmp_path: Path, limited: bool
) -> None:
    """The short-term loudness the mixer hands on (so that nothing reads the mix again to draw
    it) is what metering the written file gives, with one flat gain or with a limiter at work."""
    from audio_creator.jobs.timeline_picture import short_term_loudness
    from audio_creator.mix.mixer import plan_mix, render_to_file

    rate = 48000
    rng = np.random.default_rng(1)
    music = (0.05 * rng.standard_normal((2, rate * 12))).astype(np.float32)
    music[:, rate * 6 :] *= 0.2  # quieter in the second half: the curve has a shape to follow
    if limited:
        music[:, ::4800] = 0.99
    speech = Audio(speech_like(rate, [(2.0, 5.0)], level=0.1), rate)
    options = MixOptions(target_lufs=-12.0 if limited else -18.0, duration_s=12.0)
    plan = plan_mix([Track(Audio(music, rate))], [Track(speech)], options)
    made = render_to_file(plan, options, tmp_path / "m.wav")
    assert (made.report.limiter_max_reduction_db > 0) == limited
    times, lufs = made.short_term
    file_times, file_lufs = short_term_loudness(tmp_path / "m.wav")
    np.testing.assert_array_equal(times, file_times)
    np.testing.assert_allclose(lufs, file_lufs, atol=0.01)
    assert lufs[times.searchsorted(5.9)] - lufs[-1] > 10  # the quieter half is seen
