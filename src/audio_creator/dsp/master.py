"""Master one signal: loudness to a target, true peak under a ceiling.

The mixer's last stage for a programme that is already one signal (rendered music, say): the
gain is solved on K-weighted sub-block energies with the same solver as the mixer; when the
limiter has work to do, the limited result is measured piece by piece on copies (and the gain
re-aimed if it missed), then the plan is applied and trimmed by the few hundredths of an LU left.

`master_in_place` works on an array, without a second full copy; `master_to_file` reads any
source a stretch at a time (a WAV file on disk, say) and writes the mastered signal to a WAV
file the same way, so an hour of music is mastered in a few tens of MB.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from audio_creator.audio import open_wav_writer
from audio_creator.audio_source import AudioSource
from audio_creator.dsp import limiter
from audio_creator.dsp.gain import GainPlan, apply_plan, plan_gain, safe_limiter
from audio_creator.dsp.loudness import SubBlockMeter, measure_energies
from audio_creator.dsp.true_peak import LazyBlockPeaks, block_sample_peaks, block_true_peaks
from audio_creator.errors import require_finite
from audio_creator.files import atomic_output

_TRIM_LIMIT_DB = 0.04  # as in the mixer: within the limiter's ceiling margin
_CHUNK = limiter.BLOCK * 16384  # samples measured or written at a time (about 11 s at 48 kHz)

Reader = Callable[[int, int], npt.NDArray[np.float32]]  # (start, stop) → [channels, stop − start]


@dataclass(frozen=True)
class MasterReport:
    """What mastering measured and did. Loudness of silence is None."""

    integrated_lufs: float | None
    true_peak_dbtp: float | None
    gain_db: float
    limiter_max_reduction_db: float


@dataclass(frozen=True)
class _Solved:
    plan: GainPlan
    loudness: float  # what the plan gives, before the trim
    trim_db: float  # the last few hundredths of an LU, upwards only
    source_peak: float | None  # the source's true peak (linear), when solving proved it

    def plain_peak(self) -> float | None:
        """The result's true peak, known without measuring when the plan is one gain."""
        if self.plan.max_reduction_db != 0.0 or self.source_peak is None:
            return None
        return self.source_peak * 10 ** ((self.plan.gain_db + self.trim_db) / 20)


def master_in_place(
    samples: npt.NDArray[np.float32],
    sample_rate: int,
    *,
    target_lufs: float = -18.0,
    true_peak_dbtp: float = -1.0,
) -> MasterReport:
    """Bring `samples` (`[channels, frames]`, float32, modified in place) to `target_lufs` with
    the true peak at or under `true_peak_dbtp`."""
    solved = _solve(
        lambda start, stop: samples[:, start:stop], samples.shape[0], samples.shape[1],
        sample_rate, target_lufs, true_peak_dbtp,
    )  # fmt: skip
    if solved is None:
        return MasterReport(None, None, 0.0, 0.0)
    apply_plan(samples, solved.plan)
    if solved.trim_db != 0.0:
        samples *= np.float32(10 ** (solved.trim_db / 20))
    top = solved.plain_peak()
    if top is None:  # limited: measure what the limiter left
        top = float(block_true_peaks(samples, sample_rate, limiter.BLOCK, None).max(initial=0.0))
    return _report(solved, top)


def master_to_file(
    source: AudioSource,
    path: str | os.PathLike[str],
    *,
    target_lufs: float = -18.0,
    true_peak_dbtp: float = -1.0,
    bit_depth: int = 24,
) -> MasterReport:
    """Master `source` into the WAV file `path` (atomically), a stretch at a time: memory stays
    a few chunks however long the signal. A silent source is written as it is."""
    rate, channels, frames = source.sample_rate, source.channels, source.frames
    solved = _solve(source.read, channels, frames, rate, target_lufs, true_peak_dbtp)
    top = 0.0
    with atomic_output(path) as tmp, open_wav_writer(tmp, rate, channels, bit_depth) as write:
        for start, stretch in _chunks(source.read, frames):
            # an in-memory source hands out read-only views
            piece = stretch if stretch.flags.writeable else stretch.copy()
            if solved is not None:
                apply_plan(piece, solved.plan, start // limiter.BLOCK)
                if solved.trim_db != 0.0:
                    piece *= np.float32(10 ** (solved.trim_db / 20))
            peaks = block_true_peaks(piece, rate, limiter.BLOCK, None)
            top = max(top, float(peaks.max(initial=0.0)))
            write(piece)
    return MasterReport(None, None, 0.0, 0.0) if solved is None else _report(solved, top)


def _solve(
    read: Reader, channels: int, frames: int, rate: int, target_lufs: float, ceiling: float
) -> _Solved | None:
    """The gain plan that brings the signal to `target_lufs` under `ceiling`; None for silence."""
    require_finite(target_lufs=target_lufs, true_peak=ceiling)
    limits = safe_limiter(limiter.LimiterOptions(ceiling_dbtp=ceiling))
    meter = SubBlockMeter(channels, rate)
    maxima = []
    for _, piece in _chunks(read, frames):
        meter.feed(piece)
        maxima.append(block_sample_peaks(piece, limiter.BLOCK))
    energies = meter.energies()
    peaks = LazyBlockPeaks(read, frames, rate, limiter.BLOCK, np.concatenate(maxima))
    aim = target_lufs
    plan = plan_gain(energies, peaks.at_least, rate, aim, limits)
    if plan is None:
        return None
    if plan.max_reduction_db == 0.0:  # one gain: loudness follows from the energies exactly
        loudness = measure_energies(energies * 10 ** (plan.gain_db / 10)).integrated_lufs
    else:  # measure the limited result before committing to it; re-aim on a clear miss
        for _ in range(3):
            loudness = _limited_loudness(read, channels, frames, rate, plan)
            miss = target_lufs - loudness
            if abs(miss) <= _TRIM_LIMIT_DB:
                break
            aim += miss
            replanned = plan_gain(energies, peaks.at_least, rate, aim, limits)
            if replanned is None:  # cannot happen for a signal that was not silent just now
                break
            plan = replanned
    trim_db = min(target_lufs - loudness, _TRIM_LIMIT_DB)
    return _Solved(plan, loudness, trim_db, peaks.exact_max())


def _limited_loudness(read: Reader, channels: int, frames: int, rate: int, plan: GainPlan) -> float:
    """Integrated loudness of the signal after `plan`, measured piece by piece on copies."""
    meter = SubBlockMeter(channels, rate)
    for start, stretch in _chunks(read, frames):
        piece = stretch.copy()  # an in-memory reader hands out views of the signal itself
        apply_plan(piece, plan, start // limiter.BLOCK)
        meter.feed(piece)
    return measure_energies(meter.energies()).integrated_lufs


def _chunks(read: Reader, frames: int) -> Iterator[tuple[int, npt.NDArray[np.float32]]]:
    """The signal in `_CHUNK`-sample pieces (a limiter-block multiple), with where each starts."""
    for start in range(0, frames, _CHUNK):
        yield start, read(start, min(start + _CHUNK, frames))


def _report(solved: _Solved, top: float) -> MasterReport:
    return MasterReport(
        solved.loudness + solved.trim_db,
        20 * math.log10(top) if top > 0 else None,
        solved.plan.gain_db + solved.trim_db,
        solved.plan.max_reduction_db,
    )
