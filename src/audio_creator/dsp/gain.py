"""Loudness normalisation to a target with a true-peak ceiling, to within a few hundredths of an LU.

One linear gain brings the programme to the target; the true-peak limiter then takes away some of
that loudness. Instead of trial and error on the audio, the gain is solved on the K-weighted
energies of 100 ms sub-blocks: for a candidate gain G, the limiter curve g is computed (cheap,
on 32-sample blocks) and the loudness after both is predicted from the energies scaled by
G²·mean(g²). The mixer applies the solved gain and curve as it renders, measures the result,
and in the rare case that it misses the target re-plans with the target offset by the miss.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from audio_creator.dsp import limiter
from audio_creator.dsp.loudness import gated_integrated_lufs, window_energies
from audio_creator.errors import ConfigError

logger = logging.getLogger(__name__)

TOLERANCE_LU = 0.02
_MAX_MAKEUP_DB = 30.0  # the most gain the solver adds beyond the plain gain
_HEADROOM_DB = 1.0  # how far above the plain gain peaks are checked at first; more as needed
_CEILING_MARGIN_DB = 0.05  # meters differ in their interpolators; stay a hair under the ceiling


@dataclass(frozen=True)
class GainPlan:
    """The linear gain and the limiter's per-block gain curve that together meet the target."""

    gain_db: float
    curve: npt.NDArray[np.float64]  # one value per `limiter.BLOCK` samples

    @property
    def max_reduction_db(self) -> float:
        return max(0.0, -20 * math.log10(float(self.curve.min(initial=1.0))))


PeakScan = Callable[[float], npt.NDArray[np.float64]]  # floor → block true peaks


def safe_limiter(options: limiter.LimiterOptions) -> limiter.LimiterOptions:
    """The limiter settings actually used: a hair under the asked-for ceiling."""
    return replace(options, ceiling_dbtp=options.ceiling_dbtp - _CEILING_MARGIN_DB)


def plan_gain(
    energies: npt.NDArray[np.float64],
    scan_peaks: PeakScan,
    sample_rate: int,
    target_lufs: float,
    options: limiter.LimiterOptions,
) -> GainPlan | None:
    """Solve the gain for a programme known by its sub-block energies and block true peaks.

    Args:
        energies: K-weighted 100 ms sub-block energies of the programme.
        scan_peaks: gives the programme's block true peaks, exact at least where they reach
            the floor it is called with.
        sample_rate: the programme's rate.
        target_lufs: integrated loudness wanted.
        options: the limiter (see `safe_limiter`).

    Returns:
        The plan, or None when the programme is silent.
    """
    loudness = _integrated(energies)
    if not math.isfinite(loudness):
        return None
    ceiling = 10 ** (options.ceiling_dbtp / 20)
    plain_gain_db = target_lufs - loudness
    most_db = plain_gain_db + _HEADROOM_DB
    while True:  # exact peaks are needed only where the gain may push them over the ceiling
        peaks = scan_peaks(ceiling / 10 ** (most_db / 20))
        gain_db = _solve_gain_db(energies, peaks, sample_rate, target_lufs, plain_gain_db, options)
        if gain_db <= most_db:
            break
        most_db = gain_db + _HEADROOM_DB
    return GainPlan(
        gain_db, _limiter_curve(peaks, 10 ** (gain_db / 20), sample_rate, options, ceiling)
    )


def apply_plan(samples: npt.NDArray[np.float32], plan: GainPlan, first_block: int = 0) -> None:
    """Apply the plan in place to `samples`, which start at block `first_block` of the programme."""
    gain = 10 ** (plan.gain_db / 20)
    if plan.max_reduction_db == 0.0:  # no limiting anywhere: one gain
        samples *= np.float32(gain)
        return
    blocks = -(-samples.shape[1] // limiter.BLOCK)
    # One block of context each side keeps the interpolation between block gains continuous.
    lo, hi = max(0, first_block - 1), min(plan.curve.size, first_block + blocks + 1)
    limiter.apply_block_gain(
        samples, plan.curve[lo:hi] * gain, limiter.BLOCK, offset_blocks=first_block - lo
    )


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
    """The gain whose predicted loudness after limiting is the target."""
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

    return _bracketed_root(lambda gain_db: predicted(gain_db) - target_lufs, start_db, target_lufs)


def _bracketed_root(f: Callable[[float], float], start: float, target_lufs: float) -> float:
    """A root of the non-decreasing `f` near `start`: bracket it, then regula falsi (Illinois).

    Raises:
        ConfigError: the limiter keeps the programme from ever reaching the target.
    """
    tolerance = TOLERANCE_LU / 4
    x, y = start, f(start)
    if abs(y) <= tolerance:
        return x
    step = max(1.0, abs(y))
    direction = 1.0 if y < 0 else -1.0
    a, fa = x, y
    while True:  # walk outwards until the sign changes
        b = a + direction * step
        fb = f(b)
        if (fb > 0) != (y > 0) or abs(fb) <= tolerance:
            break
        if direction > 0 and (b - start > _MAX_MAKEUP_DB or fb - fa < tolerance / 10):
            raise ConfigError(
                f"the target can't be reached under this true-peak ceiling: the limiter holds "
                f"the programme near {target_lufs + fb:.1f} LUFS; lower the target loudness or "
                "raise the ceiling"
            )
        a, fa, step = b, fb, step * 2
    if abs(fb) <= tolerance:
        return b
    side = 0
    for _ in range(40):
        c = b - fb * (b - a) / (fb - fa)
        fc = f(c)
        if abs(fc) <= tolerance:
            return c
        if (fc > 0) == (fb > 0):  # c replaces b; keep a, halving its weight if it stays twice
            b, fb = c, fc
            if side == -1:
                fa /= 2
            side = -1
        else:
            a, fa = b, fb
            b, fb = c, fc
            side = 1
    return c
