"""The mixer: music and speech stems in, a normalised, true-peak-limited programme out.

    music tracks ─ fit ─ volume ─ fades ─┐
                                          ├─ balance ─ duck ─ sum ─ normalise + limit ─ Audio
    speech tracks ─ volume ───────────────┘      (speech activity drives balance and ducking)

Work is done in place on arrays the mixer owns, so a one-hour mix needs little more memory than
its inputs and its output.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from audio_creator.audio import Audio, validate_audio
from audio_creator.errors import ConfigError
from audio_creator.mix import ducking, limiter
from audio_creator.mix.fit import fade_in_place, fit_to_length
from audio_creator.mix.loudness import (
    gated_integrated_lufs,
    measure,
    sub_block_energies,
    to_lufs,
    window_energies,
)
from audio_creator.mix.normalize import normalize_in_place

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Track:
    """One input of the mix, placed on the programme's timeline."""

    audio: Audio
    offset_s: float = 0.0  # where it starts in the programme
    gain: float = 1.0  # linear volume


@dataclass(frozen=True)
class MixOptions:
    target_lufs: float = -16.0  # integrated loudness of the output
    true_peak_dbtp: float = -1.0  # ceiling for the output's true peak
    sample_rate: int = 48000
    channels: int = 2
    music_volume: float = 1.0  # linear, applied to every music track
    speech_volume: float = 1.0  # linear, applied to every speech track
    ducking: ducking.DuckingOptions = field(default_factory=ducking.DuckingOptions)
    speech_over_music_lu: float = 10.0  # music at least this far under the speech, before ducking
    music_fit: str = "loop"  # loop | pad | trim, see fit.fit_to_length
    crossfade_s: float = 2.0  # between loop repeats
    fade_in_s: float = 1.0  # music fade-in
    fade_out_s: float = 2.0  # music fade-out at the end of the programme
    duration_s: float | None = None  # programme length; default: the speech's, else the music's

    def __post_init__(self) -> None:
        if not -70.0 <= self.target_lufs <= -5.0:
            raise ConfigError(f"target loudness must be within −70…−5 LUFS, got {self.target_lufs}")
        if self.true_peak_dbtp > 0.0:
            raise ConfigError(f"true-peak ceiling must be ≤ 0 dBTP, got {self.true_peak_dbtp}")
        if self.channels not in (1, 2):
            raise ConfigError(f"output must be mono or stereo, got {self.channels} channels")
        if not 8000 <= self.sample_rate <= 384000:
            raise ConfigError(f"output sample rate must be 8–384 kHz, got {self.sample_rate}")
        if self.music_volume < 0 or self.speech_volume < 0:
            raise ConfigError("volumes must be ≥ 0")
        if self.duration_s is not None and self.duration_s <= 0:
            raise ConfigError(f"duration must be positive, got {self.duration_s}")


@dataclass(frozen=True)
class MixReport:
    """What the mix measured and did. Loudness of silence is reported as None."""

    integrated_lufs: float | None
    true_peak_dbtp: float | None
    loudness_range_lu: float | None
    duck_depth_db: float | None  # median music gain reduction in steady speech
    speech_over_music_lu: float | None  # median short-term difference while speech is active
    music_balance_db: float  # gain given to the music to sit under the speech
    normalisation_gain_db: float
    limiter_max_reduction_db: float
    duration_s: float
    sample_rate: int
    channels: int
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class MixResult:
    audio: Audio
    report: MixReport
    duck_gain_db: npt.NDArray[np.float64]  # music gain per 10 ms frame (0 without speech)
    music_stem: Audio | None = None  # after fit, balance, fades and ducking; if asked for
    speech_stem: Audio | None = None


def mix(
    music: Sequence[Track],
    speech: Sequence[Track],
    options: MixOptions,
    *,
    keep_stems: bool = False,
) -> MixResult:
    """Mix music and speech tracks into one programme; see the module docstring for the stages."""
    warnings: list[str] = []
    if any(track.audio.frames == 0 for track in speech):
        warnings.append("a speech track is empty; it is left out")
        speech = [track for track in speech if track.audio.frames > 0]
    if not music and not speech:
        raise ConfigError("nothing to mix: give at least one music or speech track")
    for kind, tracks in (("music", music), ("speech", speech)):
        for number, track in enumerate(tracks, start=1):
            validate_audio(track.audio, name=f"{kind} track {number}")
            if track.offset_s < 0:
                raise ConfigError(f"{kind} track {number}: offset must be ≥ 0 s")
    rate = options.sample_rate
    frames = _programme_frames(music, speech, options)

    speech_bus = _sum_tracks(speech, options.speech_volume, frames, rate, channels=None)
    active = np.zeros(0, bool)
    if speech_bus is not None:
        active = ducking.speech_activity(Audio(speech_bus, rate), options.ducking.hold_s)
        if not active.any():
            warnings.append("the speech is silent: no ducking")
    music_bus = (
        _music_bus(music, options, frames)
        if music
        else np.zeros((options.channels, frames), np.float32)
    )
    music_energy = sub_block_energies(Audio(music_bus, rate)) if music else np.zeros(0)
    if music and not math.isfinite(gated_integrated_lufs(window_energies(music_energy, 4))):
        warnings.append("the music is silent")

    speech_energy = (
        sub_block_energies(Audio(speech_bus, rate)) if speech_bus is not None else np.zeros(0)
    )
    balance_db = _balance_db(speech_energy, music_energy, active, options.speech_over_music_lu)
    duck_db = ducking.duck_gain_db(
        active, options.ducking, frames=math.ceil(frames / (rate * ducking.FRAME_S))
    )
    ducking.apply_frame_gain_in_place(music_bus, rate, duck_db + balance_db)

    stems = (
        (Audio(music_bus.copy(), rate), Audio(speech_bus.copy(), rate))
        if keep_stems and speech_bus is not None
        else (None, None)
    )
    report_ratio = _speech_over_music(speech_energy, music_energy, duck_db + balance_db, active)
    programme = music_bus  # the music bus becomes the mix, in place
    if speech_bus is not None:
        programme += speech_bus  # a mono speech bus spreads over every output channel
        del speech_bus
    result = normalize_in_place(
        programme,
        rate,
        options.target_lufs,
        limiter.LimiterOptions(ceiling_dbtp=options.true_peak_dbtp),
    )
    audio = Audio(programme, rate)
    loudness = measure(audio, sub_blocks=result.sub_blocks)
    for message in warnings:
        logger.warning("%s", message)
    report = MixReport(
        integrated_lufs=_finite(loudness.integrated_lufs),
        true_peak_dbtp=_finite(loudness.true_peak_dbtp),
        loudness_range_lu=_finite(loudness.range_lu),
        duck_depth_db=_steady_duck_depth(duck_db, active, options.ducking),
        speech_over_music_lu=report_ratio,
        music_balance_db=round(balance_db, 2),
        normalisation_gain_db=round(result.gain_db, 2),
        limiter_max_reduction_db=round(result.limiter_max_reduction_db, 2),
        duration_s=audio.duration_s,
        sample_rate=rate,
        channels=audio.channels,
        warnings=tuple(warnings),
    )
    return MixResult(audio, report, duck_db, *stems)


def _programme_frames(music: Sequence[Track], speech: Sequence[Track], options: MixOptions) -> int:
    def end_s(tracks: Sequence[Track]) -> float:
        return max(t.offset_s + t.audio.duration_s for t in tracks)

    if options.duration_s is not None:
        length = options.duration_s
    else:
        length = end_s(speech) if speech else end_s(music)
    if options.music_fit == "trim" and music and end_s(music) < length:
        logger.warning(
            "--music-fit trim: the programme ends with the music, at %.2f s", end_s(music)
        )
        length = end_s(music)
    return max(1, round(length * options.sample_rate))


def _conform(audio: Audio, options: MixOptions, channels: int) -> Audio:
    return audio.resample(options.sample_rate).to_channels(channels)


def _sum_tracks(
    tracks: Sequence[Track], volume: float, frames: int, rate: int, channels: int | None
) -> npt.NDArray[np.float32] | None:
    """Speech tracks on one bus: mono if every track is mono, else `channels` (stereo)."""
    if not tracks:
        return None
    width = channels or (1 if all(t.audio.channels == 1 for t in tracks) else 2)
    bus = np.zeros((width, frames), np.float32)
    for track in tracks:
        audio = track.audio.resample(rate).to_channels(width)
        start = round(track.offset_s * rate)
        take = min(audio.frames, frames - start)
        if take > 0:
            bus[:, start : start + take] += audio.samples[:, :take] * np.float32(
                track.gain * volume
            )
    return bus


def _music_bus(music: Sequence[Track], options: MixOptions, frames: int) -> npt.NDArray[np.float32]:
    """Every music track fitted from its offset to the end of the programme, faded, summed."""
    rate = options.sample_rate
    bus: npt.NDArray[np.float32] | None = None
    for track in music:
        start = round(track.offset_s * rate)
        if start >= frames:
            continue
        audio = _conform(track.audio, options, options.channels)
        fitted = fit_to_length(audio, frames - start, options.music_fit, options.crossfade_s)
        fitted *= np.float32(track.gain * options.music_volume)
        fade_in_place(fitted, rate, options.fade_in_s, options.fade_out_s)
        if bus is None and start == 0:
            bus = fitted  # the common case, one track: no second programme-length buffer
            continue
        if bus is None:
            bus = np.zeros((options.channels, frames), np.float32)
        bus[:, start:] += fitted
    return bus if bus is not None else np.zeros((options.channels, frames), np.float32)


def _active_sub_blocks(active: npt.NDArray[np.bool_], count: int) -> npt.NDArray[np.bool_]:
    """Speech activity per 100 ms sub-block: active for at least half of it."""
    per = round(0.1 / ducking.FRAME_S)
    padded = np.zeros(count * per, bool)
    take = min(active.size, padded.size)
    padded[:take] = active[:take]
    return np.asarray(padded.reshape(count, per).mean(axis=1) >= 0.5)


def _balance_db(
    speech_energy: npt.NDArray[np.float64],
    music_energy: npt.NDArray[np.float64],
    active: npt.NDArray[np.bool_],
    minimum_lu: float,
) -> float:
    """Gain for the music so that it sits `minimum_lu` under the speech while speech plays."""
    if not active.any() or music_energy.size == 0 or speech_energy.size == 0:
        return 0.0
    speech_lufs = gated_integrated_lufs(window_energies(speech_energy, 4))
    under = _active_sub_blocks(active, music_energy.size)
    if not under.any() or not math.isfinite(speech_lufs):
        return 0.0
    music_lufs = float(to_lufs(music_energy[under].mean()))
    if not math.isfinite(music_lufs):
        return 0.0
    return min(0.0, (speech_lufs - music_lufs) - minimum_lu)


def _speech_over_music(
    speech_energy: npt.NDArray[np.float64],
    music_energy: npt.NDArray[np.float64],
    music_gain_db: npt.NDArray[np.float64],
    active: npt.NDArray[np.bool_],
) -> float | None:
    """Median short-term (3 s) speech-minus-music loudness over windows where speech is active."""
    count = min(speech_energy.size, music_energy.size)
    if count < 30 or not active.any():
        return None
    per = round(0.1 / ducking.FRAME_S)
    gain_sq = np.ones(count * per)
    take = min(gain_sq.size, music_gain_db.size)
    gain_sq[:take] = 10 ** (music_gain_db[:take] / 10)
    ducked_music = music_energy[:count] * gain_sq.reshape(count, per).mean(axis=1)
    speech_st = window_energies(speech_energy[:count], 30)
    music_st = window_energies(ducked_music, 30)
    # Windows where speech runs throughout (pauses are bridged by the hold); failing that, any
    # window that is mostly speech.
    coverage = window_energies(_active_sub_blocks(active, count).astype(np.float64), 30)
    speaking = coverage >= 0.95
    if not speaking.any():
        speaking = coverage >= 0.5
    if not speaking.any():
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        difference = to_lufs(speech_st[speaking]) - to_lufs(music_st[speaking])
    return round(float(np.median(difference)), 2)


def _steady_duck_depth(
    duck_db: npt.NDArray[np.float64], active: npt.NDArray[np.bool_], options: ducking.DuckingOptions
) -> float | None:
    take = min(active.size, duck_db.size)
    if take == 0 or not active[:take].any():
        return None
    return round(float(-np.median(duck_db[:take][active[:take]])), 2)


def _finite(value: float) -> float | None:
    return round(value, 2) if math.isfinite(value) else None
