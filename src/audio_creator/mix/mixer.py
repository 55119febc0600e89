"""The mixer: music and speech stems in, a normalised, true-peak-limited programme out.

    music tracks ─ fit ─ volume ─ fades ─┐
                                          ├─ balance ─ duck ─ sum ─ normalise + limit ─ Audio
    speech tracks ─ volume ───────────────┘      (speech activity drives balance and ducking)

The programme is never held before it is final: `Programme` (programme.py) renders any stretch
of it on demand from the inputs, and the mixer makes three passes of ~22 s blocks — analysis
(stem loudness, speech activity), measurement (loudness and block maxima of the ducked mix; true
peaks are oversampled lazily while the gain is solved), and the final render with the solved gain
and limiter curve into memory or a WAV file. Long inputs are read from disk as needed, so an
hour-long mix written to a file needs a few hundred MB.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from audio_creator.audio import Audio, open_wav_writer, validate_audio
from audio_creator.dsp import limiter
from audio_creator.dsp.gain import TOLERANCE_LU, GainPlan, apply_plan, plan_gain, safe_limiter
from audio_creator.dsp.loudness import (
    FrameMeans,
    SubBlockMeter,
    gated_integrated_lufs,
    measure_energies,
    short_term_curve,
    to_lufs,
    window_energies,
)
from audio_creator.dsp.prefetch import prefetched
from audio_creator.dsp.true_peak import LazyBlockPeaks, block_sample_peaks, block_true_peaks
from audio_creator.errors import ConfigError
from audio_creator.files import atomic_output
from audio_creator.mix import ducking
from audio_creator.mix.options import MixOptions, Track
from audio_creator.mix.programme import (
    RENDER_BLOCK,
    Programme,
    limiter_blocks,
    render_blocks,
    with_context,
)

logger = logging.getLogger(__name__)

__all__ = [
    "MixOptions", "MixPlan", "MixReport", "MixResult", "RenderedMix", "Track", "mix", "mix_to_file",
    "plan_mix", "render_to_file",
]  # fmt: skip


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


Curve = tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]  # (times in s, values)


@dataclass(frozen=True)
class MixResult:
    audio: Audio
    report: MixReport
    duck_gain_db: npt.NDArray[np.float64]  # music gain per 10 ms frame (0 without speech)
    music_stem: Audio | None = None  # after fit, balance, fades and ducking; if asked for
    speech_stem: Audio | None = None
    short_term: Curve | None = None  # the output's short-term loudness (times, LUFS)


@dataclass(frozen=True)
class RenderedMix:
    """A mix written to a file: its report, and the output's short-term loudness (3 s windows
    every 100 ms, as (times where each window ends, LUFS)) from the mixer's own metering, so
    that nothing needs to read the file again to draw it."""

    report: MixReport
    short_term: Curve


_TRIM_LIMIT_DB = 0.04  # misses up to this are trimmed; the limiter's ceiling margin is larger
Sink = Callable[[int, npt.NDArray[np.float32]], None]  # (first sample, block) → stored


def mix(
    music: Sequence[Track],
    speech: Sequence[Track],
    options: MixOptions,
    *,
    keep_stems: bool = False,
) -> MixResult:
    """Mix music and speech tracks into one programme, in memory."""
    plan = _prepare(music, speech, options)
    output = np.empty((options.channels, plan.programme.frames), np.float32)

    @contextlib.contextmanager
    def into_output(final: bool) -> Iterator[Sink]:
        def store(start: int, block: npt.NDArray[np.float32]) -> None:
            output[:, start : start + block.shape[1]] = block

        yield store

    report, trim_db, energies = _render(plan, options, into_output)
    output *= np.float32(10 ** (trim_db / 20))
    stems: tuple[Audio | None, Audio | None] = (None, None)
    if keep_stems:
        programme = plan.programme
        stems = (
            Audio(programme.music_ducked(0, programme.frames), options.sample_rate),
            Audio(programme.speech_block(0, programme.frames), options.sample_rate)
            if programme.speech
            else None,
        )
    return MixResult(
        Audio(output, options.sample_rate), report, plan.duck_db, *stems,
        short_term_curve(energies),
    )  # fmt: skip


def mix_to_file(
    music: Sequence[Track],
    speech: Sequence[Track],
    options: MixOptions,
    path: str | os.PathLike[str],
    *,
    bit_depth: int = 24,
) -> MixReport:
    """Mix straight into a WAV file, block by block: memory stays flat however long the mix.

    The file appears atomically; a failure leaves nothing behind.
    """
    plan = plan_mix(music, speech, options)
    return render_to_file(plan, options, path, bit_depth=bit_depth).report


def plan_mix(music: Sequence[Track], speech: Sequence[Track], options: MixOptions) -> MixPlan:
    """Pass 1 of a mix: the stems' loudness, where the speech is, and the music's ducking
    (`plan.duck_db`, one value per 10 ms). `render_to_file` does the rest."""
    return _prepare(music, speech, options)


def render_to_file(
    plan: MixPlan, options: MixOptions, path: str | os.PathLike[str], *, bit_depth: int = 24
) -> RenderedMix:
    """Passes 2 and 3 of a planned mix, into a WAV file (see `mix_to_file`)."""
    rate, channels = options.sample_rate, options.channels
    with atomic_output(path) as output:
        raw = output.with_name(output.stem + ".render.wav")  # float32, trimmed on the way out
        direct = False
        try:

            @contextlib.contextmanager
            def fresh_file(final: bool) -> Iterator[Sink]:  # each attempt starts anew
                nonlocal direct
                direct = final  # no trim to come: write the final format straight away
                target, depth = (output, bit_depth) if final else (raw, 32)
                with open_wav_writer(target, rate, channels, depth) as write:
                    yield lambda start, block: write(block)

            report, trim_db, energies = _render(plan, options, fresh_file)
            if not direct:
                _copy_scaled(raw, output, 10 ** (trim_db / 20), bit_depth)
        finally:
            raw.unlink(missing_ok=True)
    return RenderedMix(report, short_term_curve(energies))


def _copy_scaled(source: Path, target: Path, gain: float, bit_depth: int) -> None:
    """Copy a WAV file block by block, scaled by `gain`, at `bit_depth`."""
    import soundfile as sf

    with (
        sf.SoundFile(source) as f,
        open_wav_writer(target, f.samplerate, f.channels, bit_depth) as write,
    ):
        for block in f.blocks(blocksize=RENDER_BLOCK, dtype="float32", always_2d=True):
            write(np.ascontiguousarray(block.T) * np.float32(gain))


@dataclass(frozen=True)
class MixPlan:
    """What pass 1 found; `duck_db` is the music's ducking gain per 10 ms frame."""

    programme: Programme
    duck_db: npt.NDArray[np.float64]
    balance_db: float
    active: npt.NDArray[np.bool_]
    music_energy: npt.NDArray[np.float64]  # per 100 ms sub-block; empty without speech
    speech_energy: npt.NDArray[np.float64]
    warnings: tuple[str, ...]


def _prepare(music: Sequence[Track], speech: Sequence[Track], options: MixOptions) -> MixPlan:
    """Check the inputs, then pass 1: the stems' loudness, the speech's activity, the ducking."""
    warnings: list[str] = []
    if any(track.audio.frames == 0 for track in speech):
        warnings.append("a speech track is empty; it is left out")
        speech = [track for track in speech if track.audio.frames > 0]
    if not music and not speech:
        raise ConfigError("nothing to mix: give at least one music or speech track")
    for kind, tracks in (("music", music), ("speech", speech)):
        for number, track in enumerate(tracks, start=1):
            if isinstance(track.audio, Audio):  # files are checked as they are read
                validate_audio(track.audio, name=f"{kind} track {number}")
    rate = options.sample_rate
    programme = Programme.build(music, speech, options)
    music_meter = SubBlockMeter(options.channels, rate)
    speech_meter = SubBlockMeter(programme.speech_channels, rate)
    speech_power = FrameMeans(ducking.frame_hop(rate))

    def stems(start: int, stop: int) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        return programme.music(start, stop), programme.speech_block(start, stop)

    def analyse_speech(voice: npt.NDArray[np.float32]) -> None:
        speech_meter.feed(voice)
        mono = voice[0] if voice.shape[0] == 1 else voice.mean(axis=0)
        speech_power.feed(np.square(mono))  # frame means accumulate in float64

    # Without speech there is nothing to balance or duck the music against: the mix is the
    # music, and pass 2 measures it (a pass saved, which counts for an hour of sound effects).
    if programme.speech:
        with ThreadPoolExecutor(max_workers=1) as helper:  # the speech alongside the music
            for fitted, voice in prefetched(stems, render_blocks(programme.frames)):
                speech_done = helper.submit(analyse_speech, voice)
                music_meter.feed(fitted)
                speech_done.result()
    music_energy, speech_energy = music_meter.energies(), speech_meter.energies()
    active = np.zeros(0, bool)
    if programme.speech:
        active = ducking.activity_from_power(speech_power.means(), options.ducking.hold_s)
        if not active.any():
            warnings.append("the speech is silent: no ducking")
        if music and not math.isfinite(gated_integrated_lufs(window_energies(music_energy, 4))):
            warnings.append("the music is silent")
    balance_db = _balance_db(
        speech_energy, music_energy, active, options.speech_over_music_lu, rate
    )
    control_frames = math.ceil(programme.frames / ducking.frame_hop(rate))
    duck_db = ducking.duck_gain_db(active, options.ducking, frames=control_frames)
    programme = replace(programme, music_gain_db=duck_db + balance_db)
    return MixPlan(
        programme, duck_db, balance_db, active, music_energy, speech_energy, tuple(warnings)
    )


def _render(
    plan: MixPlan,
    options: MixOptions,
    open_sink: Callable[[bool], contextlib.AbstractContextManager[Sink]],
) -> tuple[MixReport, float, npt.NDArray[np.float64]]:
    """Pass 2 measures the ducked mix and solves the gain; pass 3 renders it into a sink.

    `open_sink(final)` gives a fresh sink for each attempt; `final` says that no trim will
    follow. When the limiter has work to do, pass 3 measures what it renders; a miss of more
    than a few hundredths of an LU (rare) re-solves and renders again. Returns the report, the
    trim in dB still to apply to what the last sink received, and the K-weighted sub-block
    energies of the output (trim included).
    """
    programme, rate = plan.programme, options.sample_rate
    warnings = list(plan.warnings)
    limits = safe_limiter(limiter.LimiterOptions(ceiling_dbtp=options.true_peak_dbtp))
    # Pass 2 measures loudness and each block's largest sample; true peaks are oversampled later,
    # only for the blocks that the gain being solved could lift over the ceiling.
    energies, block_max = _measure_mix(programme, rate, options.channels)
    peaks = LazyBlockPeaks(programme.mixed, programme.frames, rate, limiter.BLOCK, block_max)
    target = options.target_lufs
    gain = plan_gain(energies, peaks.at_least, rate, target, limits)
    if gain is None:
        if not programme.speech:  # pass 1 left the music to this pass
            warnings.append("the music is silent")
        warnings.append("the programme is silent; nothing to normalise")
    if gain is not None and gain.max_reduction_db == 0.0:
        # Nothing needs limiting: the output is the mix times one gain, so its loudness follows
        # exactly from pass 2 (K-weighting is linear) and needs neither measuring nor a trim.
        mix_lufs = measure_energies(energies).integrated_lufs
        gain = replace(gain, gain_db=options.target_lufs - mix_lufs)
        known = peaks.exact_max()  # likewise the true peak, if the solve already pinned it down
        with open_sink(True) as sink:
            _, peak = _render_final(
                programme, gain, peaks, sink, rate, options.channels, False, known is None
            )
        if known is not None:
            peak = 20 * math.log10(known) + gain.gain_db if known > 0 else -math.inf
        energies_out = energies * 10 ** (gain.gain_db / 10)  # exact: the gain is one scalar
        loudness = measure_energies(energies_out)
        miss_db = 0.0
    else:
        for _ in range(3):
            with open_sink(False) as sink:
                energies_out, peak = _render_final(
                    programme, gain, peaks, sink, rate, options.channels, True, True
                )
            loudness = measure_energies(energies_out)
            miss_db = options.target_lufs - loudness.integrated_lufs
            if gain is None or abs(miss_db) <= _TRIM_LIMIT_DB:
                break
            target += miss_db  # aim off by the miss
            gain = plan_gain(energies, peaks.at_least, rate, target, limits)
    # What is left is trimmed with one scalar gain: exact for loudness, and too small to take
    # the true peak past the ceiling (the limiter left a larger margin).
    trim_db = 0.0
    if gain is not None and math.isfinite(miss_db):
        trim_db = min(miss_db, _TRIM_LIMIT_DB)  # upwards, never past the ceiling's margin
        if abs(miss_db - trim_db) > TOLERANCE_LU:
            warnings.append(
                f"the mix reaches {loudness.integrated_lufs + trim_db:.2f} LUFS, short of the "
                f"{options.target_lufs:g} LUFS target: the true-peak ceiling doesn't allow more"
            )
    for message in warnings:
        logger.warning("%s", message)
    report = MixReport(
        integrated_lufs=_finite(loudness.integrated_lufs + trim_db),
        true_peak_dbtp=_finite(peak + trim_db),
        loudness_range_lu=_finite(loudness.range_lu),
        duck_depth_db=_steady_duck_depth(plan.duck_db, plan.active),
        speech_over_music_lu=_speech_over_music(
            plan.speech_energy,
            plan.music_energy,
            plan.duck_db + plan.balance_db,
            plan.active,
            options.sample_rate,
        ),
        music_balance_db=round(plan.balance_db, 2),
        normalisation_gain_db=round(gain.gain_db if gain else 0.0, 2),
        limiter_max_reduction_db=round(gain.max_reduction_db if gain else 0.0, 2),
        duration_s=programme.frames / rate,
        sample_rate=rate,
        channels=options.channels,
        warnings=tuple(warnings),
    )
    return report, trim_db, energies_out * 10 ** (trim_db / 10)


def _render_final(
    programme: Programme,
    gain: GainPlan | None,
    peaks: LazyBlockPeaks,
    sink: Sink,
    rate: int,
    channels: int,
    measure: bool,
    find_peak: bool,
) -> tuple[npt.NDArray[np.float64], float]:
    """Render the normalised programme into `sink`; return its K-weighted sub-block energies (if
    `measure`; else none) and its true peak in dBTP (if `find_peak`; else −inf).

    Blocks are rendered with one limiter block of context on either side, so the true peak of
    their edges is exact. Only limiter blocks that could hold the loudest peak are oversampled:
    the output's largest sample is at least the largest input sample times its gain (within
    half a dB for the limiter curve moving inside a block), and a block whose bound stays
    under that can't hold the maximum.
    """
    meter = SubBlockMeter(channels, rate)
    peak = 0.0
    floor = 0.0
    if gain is not None:
        scale = gain.curve * 10 ** (gain.gain_db / 20)
        slack = 10 ** (-0.5 / 20) if gain.max_reduction_db > 0 else 1.0  # a flat gain is exact
        floor = float((peaks.sample_peaks * scale).max(initial=0.0)) * slack

    def block_peak(block: npt.NDArray[np.float32], inner: slice) -> float:
        found = block_true_peaks(block, rate, limiter.BLOCK, floor=floor if gain else None)
        return float(found[limiter_blocks(inner)].max(initial=0.0))

    with ThreadPoolExecutor(max_workers=2) as helpers:  # peak, meter and sink side by side
        for lo, block, inner in with_context(programme):
            if gain is not None:
                apply_plan(block, gain, first_block=lo // limiter.BLOCK)
            body = block[:, inner]
            jobs = [helpers.submit(sink, lo + inner.start, body)]
            if measure:
                jobs.append(helpers.submit(meter.feed, body))
            if find_peak:
                peak = max(peak, block_peak(block, inner))
            for job in jobs:
                job.result()
    return meter.energies(), 20 * math.log10(peak) if peak > 0 else -math.inf


def _measure_mix(
    programme: Programme, rate: int, channels: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Pass 2: the ducked mix's sub-block energies and the largest sample of each limiter block."""
    meter = SubBlockMeter(channels, rate)
    block_max = np.empty(-(-programme.frames // limiter.BLOCK))
    spans = render_blocks(programme.frames)
    with ThreadPoolExecutor(max_workers=1) as helper:  # metering beside the peak search
        for (start, _), mixed in zip(spans, prefetched(programme.mixed, spans), strict=True):
            metering = helper.submit(meter.feed, mixed)
            first = start // limiter.BLOCK
            found = block_sample_peaks(mixed, limiter.BLOCK)
            block_max[first : first + found.size] = found
            metering.result()
    return meter.energies(), block_max


def _per_sub_block(
    per_frame: npt.NDArray[np.float64], count: int, rate: int, missing: float
) -> npt.NDArray[np.float64]:
    """Mean of a per-10-ms-frame quantity over each of `count` 100 ms sub-blocks, matched by
    sample position (frames and sub-blocks are both rounded to whole samples, so a fixed ratio
    would drift); `missing` stands in where no frame falls."""
    sub_hop = round(rate * 0.1)
    frame = np.arange(per_frame.size)
    index = (frame * ducking.frame_hop(rate) + ducking.frame_hop(rate) // 2) // sub_hop
    inside = index < count
    sums = np.bincount(index[inside], weights=per_frame[inside], minlength=count)
    counts = np.bincount(index[inside], minlength=count)
    return np.where(counts > 0, sums / np.maximum(counts, 1), missing)


def _active_subrender_blocks(
    active: npt.NDArray[np.bool_], count: int, rate: int
) -> npt.NDArray[np.bool_]:
    """Speech activity per 100 ms sub-block: active for at least half of it."""
    return np.asarray(_per_sub_block(active.astype(np.float64), count, rate, 0.0) >= 0.5)


def _balance_db(
    speech_energy: npt.NDArray[np.float64],
    music_energy: npt.NDArray[np.float64],
    active: npt.NDArray[np.bool_],
    minimum_lu: float,
    rate: int,
) -> float:
    """Gain for the music so that it sits `minimum_lu` under the speech while speech plays."""
    if not active.any() or music_energy.size == 0 or speech_energy.size == 0:
        return 0.0
    speech_lufs = gated_integrated_lufs(window_energies(speech_energy, 4))
    under = _active_subrender_blocks(active, music_energy.size, rate)
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
    rate: int,
) -> float | None:
    """Median short-term (3 s) speech-minus-music loudness over windows where speech is active."""
    count = min(speech_energy.size, music_energy.size)
    if count < 30 or not active.any():
        return None
    gain_sq = _per_sub_block(10 ** (music_gain_db / 10), count, rate, 1.0)
    ducked_music = music_energy[:count] * gain_sq
    speech_st = window_energies(speech_energy[:count], 30)
    music_st = window_energies(ducked_music, 30)
    # Windows where speech runs throughout (pauses are bridged by the hold); failing that, any
    # window that is mostly speech.
    coverage = window_energies(_active_subrender_blocks(active, count, rate).astype(np.float64), 30)
    speaking = coverage >= 0.95
    if not speaking.any():
        speaking = coverage >= 0.5
    if not speaking.any():
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        difference = to_lufs(speech_st[speaking]) - to_lufs(music_st[speaking])
    return round(float(np.median(difference)), 2)


def _steady_duck_depth(
    duck_db: npt.NDArray[np.float64], active: npt.NDArray[np.bool_]
) -> float | None:
    take = min(active.size, duck_db.size)
    if take == 0 or not active[:take].any():
        return None
    return round(float(-np.median(duck_db[:take][active[:take]])), 2)


def _finite(value: float) -> float | None:
    return round(value, 2) if math.isfinite(value) else None
