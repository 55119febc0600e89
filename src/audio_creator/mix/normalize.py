"""Loudness normalisation to a target with a true-peak ceiling, to within a few hundredths of an LU.

One linear gain brings the programme to the target; the true-peak limiter then takes away some of
that loudness. Instead of trial and error on the audio, the gain is solved on the K-weighted
energies of 100 ms sub-blocks: for a candidate gain G, the limiter curve g is computed (cheap,
on 32-sample blocks) and the loudness after both is predicted from the energies scaled by
G²·mean(g²). The solved gain and its limiter curve are applied once; the result is measured, and a
small residual is corrected (turning down never needs the limiter again).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from audio_creator.audio import Audio
from audio_creator.mix import limiter
from audio_creator.mix.loudness import gated_integrated_lufs, sub_block_energies, window_energies
from audio_creator.mix.true_peak import block_true_peaks

logger = logging.getLogger(__name__)

TOLERANCE_LU = 0.02
_HEADROOM_DB = 6.0  # how far above the plain gain the solver may go to make up for limiting
_CEILING_MARGIN_DB = 0.05  # meters differ in their interpolators; stay a hair under the ceiling


@dataclass(frozen=True)
class NormalizeResult:
    gain_db: float  # the linear gain applied before limiting
    limiter_max_reduction_db: float
    integrated_lufs: float  # measured after normalisation
    sub_blocks: npt.NDArray[np.float64]  # the result's K-weighted sub-block energies


def normalize_in_place(
    samples: npt.NDArray[np.float32],
    sample_rate: int,
    target_lufs: float,
    limiter_options: limiter.LimiterOptions,
) -> NormalizeResult:
    """Scale and limit `samples` (`[channels, frames]`) to `target_lufs` under the ceiling."""
    options = limiter.LimiterOptions(
        ceiling_dbtp=limiter_options.ceiling_dbtp - _CEILING_MARGIN_DB,
        attack_s=limiter_options.attack_s,
        release_s=limiter_options.release_s,
        hold_s=limiter_options.hold_s,
    )
    energies = sub_block_energies(Audio(samples, sample_rate))
    loudness = _integrated(energies)
    if not math.isfinite(loudness):
        logger.warning("the mix is silent; it is left as it is")
        return NormalizeResult(0.0, 0.0, loudness, energies)
    ceiling = 10 ** (options.ceiling_dbtp / 20)
    plain_gain_db = target_lufs - loudness
    most_db = plain_gain_db + _HEADROOM_DB
    while True:  # exact peaks are needed only where the gain may push them over the ceiling
        peaks = block_true_peaks(
            samples, sample_rate, limiter.BLOCK, floor=ceiling / 10 ** (most_db / 20)
        )
        gain_db = _solve_gain_db(energies, peaks, sample_rate, target_lufs, plain_gain_db, options)
        if gain_db <= most_db:
            break
        most_db = gain_db + _HEADROOM_DB
    curve = _limiter_curve(peaks, 10 ** (gain_db / 20), sample_rate, options, ceiling)
    limiter.apply_block_gain(samples, curve * 10 ** (gain_db / 20), limiter.BLOCK)
    reduction = -20 * math.log10(float(curve.min(initial=1.0)))

    energies = sub_block_energies(Audio(samples, sample_rate))
    measured = _integrated(energies)
    for _ in range(3):  # residual corrections; rarely more than one
        error = target_lufs - measured
        if abs(error) <= TOLERANCE_LU:
            break
        samples *= np.float32(10 ** (error / 20))
        gain_db += error
        if error > 0:  # louder may cross the ceiling again
            reduction = max(
                reduction, limiter.limit_in_place(samples, sample_rate, options).max_reduction_db
            )
        energies = sub_block_energies(Audio(samples, sample_rate))
        measured = _integrated(energies)
    return NormalizeResult(gain_db, max(0.0, reduction), measured, energies)


def _integrated(energies: npt.NDArray[np.float64]) -> float:
    return gated_integrated_lufs(window_energies(energies, 4))


def _limiter_curve(
    peaks: npt.NDArray[np.float64],
    gain: float,
    sample_rate: int,
    options: limiter.LimiterOptions,
    ceiling: float,
) -> npt.NDArray[np.float64]:
    need = np.minimum(1.0, ceiling / np.maximum(peaks * gain, 1e-12))
    if need.min() >= 1.0:
        return np.ones_like(need)
    return limiter.smooth_gain(need, sample_rate, options)


def _solve_gain_db(
    energies: npt.NDArray[np.float64],
    peaks: npt.NDArray[np.float64],
    sample_rate: int,
    target_lufs: float,
    start_db: float,
    options: limiter.LimiterOptions,
) -> float:
    """The gain whose predicted loudness after limiting is the target (secant iterations)."""
    ceiling = 10 ** (options.ceiling_dbtp / 20)
    hop = round(sample_rate * 0.1)
    per_sub_block = hop / limiter.BLOCK

    def predicted(gain_db: float) -> float:
        gain = 10 ** (gain_db / 20)
        curve = _limiter_curve(peaks, gain, sample_rate, options, ceiling)
        # Mean of g² over each 100 ms sub-block (block edges need not line up exactly).
        edges = np.minimum(
            (np.arange(energies.size + 1) * per_sub_block).round().astype(int), curve.size
        )
        sums = np.concatenate([[0.0], np.cumsum(curve**2)])
        counts = np.maximum(np.diff(edges), 1)
        mean_sq = (sums[edges[1:]] - sums[edges[:-1]]) / counts
        return _integrated(energies * gain**2 * mean_sq)

    x0, y0 = start_db, predicted(start_db) - target_lufs
    if abs(y0) <= TOLERANCE_LU / 4:
        return x0
    x1 = x0 - y0
    for _ in range(12):
        y1 = predicted(x1) - target_lufs
        if abs(y1) <= TOLERANCE_LU / 4 or y1 == y0:
            return x1
        x0, y0, x1 = x1, y1, x1 - y1 * (x1 - x0) / (y1 - y0)
    return x1
