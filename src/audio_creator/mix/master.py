"""Master one signal in place: loudness to a target, true peak under a ceiling.

The mixer's last stage for a programme that is already one array (rendered music, say): the
gain is solved on K-weighted sub-block energies with the same solver as the mixer; when the
limiter has work to do, the limited result is measured piece by piece on copies (and the gain
re-aimed if it missed), then the plan is applied in place and trimmed by the few hundredths of
an LU left. No second full copy of the signal is made, which matters for hour-long pieces.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from audio_creator.audio import Audio
from audio_creator.errors import require_finite
from audio_creator.mix import limiter
from audio_creator.mix.loudness import SubBlockMeter, measure_energies, sub_block_energies
from audio_creator.mix.normalize import GainPlan, apply_plan, plan_gain, safe_limiter
from audio_creator.mix.true_peak import LazyBlockPeaks, block_sample_peaks, block_true_peaks

_TRIM_LIMIT_DB = 0.04  # as in the mixer: within the limiter's ceiling margin


@dataclass(frozen=True)
class MasterReport:
    """What mastering measured and did. Loudness of silence is None."""

    integrated_lufs: float | None
    true_peak_dbtp: float | None
    gain_db: float
    limiter_max_reduction_db: float


def master_in_place(
    samples: npt.NDArray[np.float32],
    sample_rate: int,
    *,
    target_lufs: float = -18.0,
    true_peak_dbtp: float = -1.0,
) -> MasterReport:
    """Bring `samples` (`[channels, frames]`, float32, modified in place) to `target_lufs` with
    the true peak at or under `true_peak_dbtp`."""
    require_finite(target_lufs=target_lufs, true_peak=true_peak_dbtp)
    audio = Audio(samples, sample_rate)  # a read-only view of the same memory, for measuring
    limits = safe_limiter(limiter.LimiterOptions(ceiling_dbtp=true_peak_dbtp))
    energies = sub_block_energies(audio)
    peaks = LazyBlockPeaks(
        lambda start, stop: samples[:, start:stop],
        samples.shape[1],
        sample_rate,
        limiter.BLOCK,
        block_sample_peaks(samples, limiter.BLOCK),
    )
    aim = target_lufs
    plan = plan_gain(energies, peaks.at_least, sample_rate, aim, limits)
    if plan is None:
        return MasterReport(None, None, 0.0, 0.0)
    if plan.max_reduction_db == 0.0:  # one gain: loudness follows from the energies exactly
        loudness = measure_energies(energies * 10 ** (plan.gain_db / 10)).integrated_lufs
    else:  # measure the limited result before committing to it; re-aim on a clear miss
        for _ in range(3):
            loudness = _limited_loudness(samples, sample_rate, plan)
            miss = target_lufs - loudness
            if abs(miss) <= _TRIM_LIMIT_DB:
                break
            aim += miss
            replanned = plan_gain(energies, peaks.at_least, sample_rate, aim, limits)
            if replanned is None:  # cannot happen for a signal that was not silent just now
                break
            plan = replanned
    apply_plan(samples, plan)
    trim_db = min(target_lufs - loudness, _TRIM_LIMIT_DB)  # upwards, never past the margin
    if trim_db != 0.0:
        samples *= np.float32(10 ** (trim_db / 20))
    top = float(block_true_peaks(samples, sample_rate, limiter.BLOCK, None).max(initial=0.0))
    return MasterReport(
        loudness + trim_db,
        20 * math.log10(top) if top > 0 else None,
        plan.gain_db + trim_db,
        plan.max_reduction_db,
    )


def _limited_loudness(samples: npt.NDArray[np.float32], sample_rate: int, plan: GainPlan) -> float:
    """Integrated loudness of `samples` after `plan`, measured piece by piece on copies."""
    meter = SubBlockMeter(samples.shape[0], sample_rate)
    step = limiter.BLOCK * 16384
    for start in range(0, samples.shape[1], step):
        piece = samples[:, start : start + step].copy()
        apply_plan(piece, plan, start // limiter.BLOCK)
        meter.feed(piece)
    return measure_energies(meter.energies()).integrated_lufs
