"""True peak (ITU-R BS.1770-4 Annex 2): the peak of the signal between its samples.

The signal is oversampled (4× below 96 kHz, 2× below 192 kHz) by a polyphase low-pass and the
largest absolute value is taken. Oversampling hours of audio is costly, so we prune: a block's
interpolated values can never exceed `interpolator gain bound × the largest sample near it`, so
only blocks whose bound reaches the level in question are oversampled. The result is exact (the
same as oversampling everything), usually at a small fraction of the cost.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache

import numpy as np
import numpy.typing as npt

from audio_creator.audio import Audio
from audio_creator.dsp.prefetch import prefetched

_TAPS_PER_PHASE = 16  # BS.1770-4's example interpolator has 12
_BLOCK = 1024  # samples per pruning block
_BLOCKS_PER_CALL = 4096  # blocks oversampled at once
_BRIDGE_BLOCKS = 64  # gaps between runs of blocks to oversample that are oversampled anyway


def oversampling_factor(sample_rate: int) -> int:
    return 4 if sample_rate < 96000 else 2 if sample_rate < 192000 else 1


@cache
def interpolator(factor: int) -> tuple[npt.NDArray[np.float64], float]:
    """Low-pass taps for `factor`× oversampling (gain `factor`), and the largest possible ratio
    of an interpolated value to the largest input sample feeding it."""
    from scipy.signal import firwin

    taps = firwin(factor * _TAPS_PER_PHASE, 1 / factor, window=("kaiser", 8.0)) * factor
    bound = max(float(np.abs(taps[phase::factor]).sum()) for phase in range(factor))
    return taps, bound


def sample_peak_dbfs(audio: Audio) -> float:
    return _db(float(block_sample_peaks(audio.samples, 1 << 16).max(initial=0.0)))


def true_peak_dbtp(audio: Audio) -> float:
    """The true peak of `audio` in dBTP."""
    peaks = block_true_peaks(audio.samples, audio.sample_rate, _BLOCK, floor=None)
    return _db(float(peaks.max(initial=0.0)))


def block_true_peaks(
    samples: npt.NDArray[np.float32],
    sample_rate: int,
    block: int,
    floor: float | None,
    candidates: npt.NDArray[np.bool_] | None = None,
) -> npt.NDArray[np.float64]:
    """The largest absolute oversampled value in each block of `block` samples (all channels).

    Args:
        samples: `[channels, frames]`.
        sample_rate: decides the oversampling factor.
        block: samples per block.
        floor: only blocks that may reach this linear level are oversampled; the others report
            an upper bound below `floor`. None: find the overall maximum exactly (blocks that
            can't beat the best found so far report their bound).
        candidates: if given, only these blocks are ever oversampled (the caller knows the
            others don't matter); the rest report their bound.
    """
    factor = oversampling_factor(sample_rate)
    block_max = block_sample_peaks(samples, block)
    if factor == 1:
        return block_max
    taps, gain_bound = interpolator(factor)
    # The filter reaches half its length into the neighbouring blocks (block ≥ filter span).
    near = np.maximum(block_max, np.maximum(np.roll(block_max, 1), np.roll(block_max, -1)))
    bounds = gain_bound * near
    # With no floor, blocks that can't beat the largest sample can't hold the maximum either.
    threshold = float(block_max.max(initial=0.0)) if floor is None else floor
    result = bounds.copy()
    wanted = bounds >= threshold
    if candidates is not None:
        wanted &= candidates
    spans = [
        (start, min(start + _BLOCKS_PER_CALL, run_stop))  # bounded memory per call
        for run_start, run_stop in _runs(np.flatnonzero(wanted), bridge=_BRIDGE_BLOCKS)
        for start in range(run_start, run_stop, _BLOCKS_PER_CALL)
    ]
    for start, stop in spans:  # sequential: the matrix products already use every core
        # The samples themselves are true-peak candidates too.
        exact = _exact(samples, taps, factor, block, start, stop)
        result[start:stop] = np.maximum(exact, block_max[start:stop])
    return np.asarray(result, dtype=np.float64)


def block_sample_peaks(samples: npt.NDArray[np.float32], block: int) -> npt.NDArray[np.float64]:
    """max |sample| of each block, all channels, computed in chunks (no full-size temporary)."""
    frames = samples.shape[1]
    count = math.ceil(frames / block)
    out = np.empty(count)
    step = block * max(1, (1 << 20) // block)
    for start in range(0, frames, step):
        part = np.abs(samples[:, start : start + step]).max(axis=0)
        whole = part.size // block * block
        first = start // block
        out[first : first + whole // block] = part[:whole].reshape(-1, block).max(axis=1)
        if whole < part.size:  # the short last block
            out[first + whole // block] = part[whole:].max()
    return out


def _exact(
    samples: npt.NDArray[np.float32],
    taps: npt.NDArray[np.float64],
    factor: int,
    block: int,
    first: int,
    last: int,
) -> npt.NDArray[np.float64]:
    """Oversampled block maxima of blocks [first, last), all channels.

    The polyphase interpolation is one matrix product: every window of `taps_per_phase` input
    samples times a `[taps_per_phase, factor]` matrix gives `factor` output samples. BLAS does
    that several times faster than a scalar FIR loop.
    """
    frames = samples.shape[1]
    per_phase = len(taps) // factor
    # Output sample m of the oversampled stream lies at input time (m − delay) / factor.
    delay = (len(taps) - 1) / 2
    margin = per_phase + 2
    lo, hi = first * block - margin, last * block + margin
    if lo >= 0 and hi <= frames:
        segment = samples[:, lo:hi]
    else:  # at the signal's edges: zeros beyond it
        segment = np.zeros((samples.shape[0], hi - lo), np.float32)
        segment[:, max(0, -lo) : min(hi, frames) - lo] = samples[:, max(0, lo) : min(hi, frames)]
    # phases[k, p] = taps[k·factor + p]; window w ends at input w + per_phase − 1.
    phases = taps.reshape(per_phase, factor)[::-1].astype(np.float32)
    peak = np.zeros((segment.shape[1] - per_phase + 1) * factor, np.float32)
    for channel in segment:
        windows = np.lib.stride_tricks.sliding_window_view(channel, per_phase)
        np.maximum(peak, np.abs(windows @ phases).reshape(-1), out=peak)
    # peak[j] is output m = j + (per_phase − 1)·factor; block `first` starts at input `margin`.
    begin = round(margin * factor + delay) - (per_phase - 1) * factor
    width = (last - first) * block * factor
    stretch = peak[begin : begin + width]
    if stretch.size < width:  # the signal's end: nothing beyond it
        stretch = np.concatenate([stretch, np.zeros(width - stretch.size, np.float32)])
    return np.asarray(stretch.reshape(last - first, -1).max(axis=1), dtype=np.float64)


def _runs(indices: npt.NDArray[np.intp], bridge: int = 0) -> list[tuple[int, int]]:
    """Runs of sorted indices as (start, stop) pairs; gaps up to `bridge` are bridged, since
    one larger call costs less than many small ones."""
    if indices.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(indices) > bridge + 1)
    starts = np.concatenate([[indices[0]], indices[breaks + 1]])
    stops = np.concatenate([indices[breaks] + 1, [indices[-1] + 1]])
    return list(zip(starts.tolist(), stops.tolist(), strict=True))


def _db(linear: float) -> float:
    return 20 * math.log10(linear) if linear > 0 else -math.inf


class LazyBlockPeaks:
    """Block true peaks of a signal rendered on demand, oversampled only where asked.

    Built from the blocks' sample maxima (one cheap pass). `at_least(floor)` returns every
    block's true peak, exact wherever it may reach `floor` and an upper bound below `floor`
    elsewhere; only the stretches holding such blocks are rendered (with one block of context on
    either side) and oversampled, and what was computed once is kept.
    """

    def __init__(
        self,
        render: Callable[[int, int], npt.NDArray[np.float32]],
        frames: int,
        sample_rate: int,
        block: int,
        block_max: npt.NDArray[np.float64],
        chunk_blocks: int = 1 << 15,
    ) -> None:
        self._render, self._frames, self._rate, self._block = render, frames, sample_rate, block
        self._chunk = chunk_blocks
        factor = oversampling_factor(sample_rate)
        gain_bound = interpolator(factor)[1] if factor > 1 else 1.0
        near = np.maximum(block_max, np.maximum(np.roll(block_max, 1), np.roll(block_max, -1)))
        self._bounds = gain_bound * near
        self.sample_peaks = block_max  # a lower bound of each block's true peak
        self._exact = np.full(block_max.size, np.nan)
        self._covered = math.inf  # every block whose bound reaches this is exact
        if factor == 1:
            self._exact[:] = block_max
            self._covered = 0.0

    def exact_max(self) -> float | None:
        """The largest true peak of the signal, if what has been oversampled already proves it."""
        if not np.any(np.isfinite(self._exact)):
            return None
        found = float(np.nanmax(self._exact))
        return found if found >= self._covered else None

    def at_least(self, floor: float) -> npt.NDArray[np.float64]:
        self._covered = min(self._covered, floor)
        wanted = (self._bounds >= floor) & np.isnan(self._exact)
        count = wanted.size
        firsts = [int(f) for f in np.unique(np.flatnonzero(wanted) // self._chunk) * self._chunk]
        spans = [(max(0, first - 1), min(count, first + self._chunk + 1)) for first in firsts]

        def render(lo: int, hi: int) -> npt.NDArray[np.float32]:
            return self._render(lo * self._block, min(self._frames, hi * self._block))

        for first, (lo, hi), samples in zip(firsts, spans, prefetched(render, spans), strict=True):
            chosen = wanted[lo:hi]
            peaks = block_true_peaks(samples, self._rate, self._block, 0.0, candidates=chosen)
            last = min(first + self._chunk, count)
            inner = slice(first - lo, last - lo)
            self._exact[first:last] = np.where(chosen[inner], peaks[inner], self._exact[first:last])
        return np.asarray(
            np.where(np.isnan(self._exact), self._bounds, self._exact), dtype=np.float64
        )
