"""A look-ahead true-peak limiter for offline use.

Working offline lets the limiter see the whole signal, so it can be exact without being a
feedback loop. Per block of 32 samples it finds the true peak (oversampled, see `true_peak`) and
the gain that peak needs, `r = min(1, ceiling / peak)`. The applied gain is then

    g = box_W2(box_W1(m)),  m[n] = min(r[n − hold … n + W1 + W2])

Every value of `m` that the two moving averages combine at a peak already includes that peak's
own requirement, so `g ≤ r` holds at every peak: the ceiling is guaranteed, not approximated.
The min reaches W1 + W2 blocks ahead (the look-ahead) and `hold` blocks back; the two averages
turn the steps of `m` into smooth S-shaped ramps of W1 + W2 blocks, in and out, with no clicks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from audio_creator.dsp.true_peak import block_true_peaks

BLOCK = 32  # samples per gain-control block (0.67 ms at 48 kHz)
_APPLY_CHUNK = 1 << 20  # samples per in-place gain multiplication


@dataclass(frozen=True)
class LimiterOptions:
    ceiling_dbtp: float = -1.0  # the true peak the output may reach
    attack_s: float = 0.005  # the fast ramp (W1)
    release_s: float = 0.060  # the slow ramp (W2); the look-ahead is attack + release
    hold_s: float = 0.010  # how long full reduction is held after a peak


@dataclass(frozen=True)
class LimiterResult:
    max_reduction_db: float  # deepest gain reduction applied
    limited_fraction: float  # share of the signal that was turned down by more than 0.1 dB


def limit_in_place(
    samples: npt.NDArray[np.float32], sample_rate: int, options: LimiterOptions
) -> LimiterResult:
    """Bring the true peak of `samples` (`[channels, frames]`, modified in place) under the
    ceiling."""
    ceiling = 10 ** (options.ceiling_dbtp / 20)
    peaks = block_true_peaks(samples, sample_rate, BLOCK, floor=ceiling)
    need = np.minimum(1.0, ceiling / np.maximum(peaks, 1e-12))
    if need.min() >= 1.0:
        return LimiterResult(0.0, 0.0)
    gain = smooth_gain(need, sample_rate, options)
    apply_block_gain(samples, gain, BLOCK)
    reduced = gain < 10 ** (-0.1 / 20)
    return LimiterResult(-20 * math.log10(float(gain.min())), float(reduced.mean()))


def smooth_gain(
    need: npt.NDArray[np.float64], sample_rate: int, options: LimiterOptions
) -> npt.NDArray[np.float64]:
    """The gain per block: never above `need` where `need` < 1, with smooth ramps."""
    blocks_per_s = sample_rate / BLOCK
    w1 = max(1, round(options.attack_s * blocks_per_s))
    w2 = max(1, round(options.release_s * blocks_per_s))
    hold = max(0, round(options.hold_s * blocks_per_s))
    # One block of slack on each side keeps the per-sample interpolation between block gains
    # (see apply_block_gain) under the requirement as well.
    m = _running_min(need, back=hold + 1, ahead=w1 + w2)
    return _moving_average(_moving_average(m, w1), w2)


def _running_min(x: npt.NDArray[np.float64], back: int, ahead: int) -> npt.NDArray[np.float64]:
    """min(x[n − back … n + ahead]) for every n (beyond the edges: 1, no reduction needed)."""
    padded = np.concatenate([np.ones(back), x, np.ones(ahead)])
    return _window_min(padded, back + ahead + 1)


def _window_min(x: npt.NDArray[np.float64], size: int) -> npt.NDArray[np.float64]:
    """min(x[k … k + size − 1]) for k = 0 … len(x) − size."""
    from scipy.ndimage import minimum_filter1d

    centred = minimum_filter1d(x, size, mode="nearest")
    offset = size // 2
    return np.asarray(centred[offset : offset + x.size - size + 1], dtype=np.float64)


def _moving_average(x: npt.NDArray[np.float64], width: int) -> npt.NDArray[np.float64]:
    """Mean of x[n − width + 1 … n]; before the start, x[0] stands in (which keeps the guarantee:
    x[0] already includes the requirements of the first blocks)."""
    padded = np.concatenate([np.full(width - 1, x[0] if x.size else 1.0), x])
    sums = np.concatenate([[0.0], np.cumsum(padded)])
    return np.asarray((sums[width:] - sums[:-width]) / width, dtype=np.float64)


def apply_block_gain(
    samples: npt.NDArray[np.float32],
    gain: npt.NDArray[np.float64],
    block: int,
    offset_blocks: int = 0,
) -> None:
    """Multiply `samples` in place by `gain`, one value per block, linearly interpolated between
    block centres. `samples` start at block `offset_blocks` of `gain`."""
    frames = samples.shape[1]
    centres = (np.arange(gain.size) + 0.5 - offset_blocks) * block
    for start in range(0, frames, _APPLY_CHUNK):
        stop = min(start + _APPLY_CHUNK, frames)
        g = np.interp(np.arange(start, stop) + 0.5, centres, gain).astype(np.float32)
        samples[:, start:stop] *= g
