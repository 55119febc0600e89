"""Ducking: turn the music down while someone speaks, smoothly and ahead of time.

Speech activity comes from the speech stem's short-time level (10 ms frames) against a threshold
set relative to the speech's own loudness, so it works at any narration level. Pauses shorter than
the hold time are bridged, so the music doesn't pump between words; blips shorter than 40 ms are
ignored.

The gain curve is built offline, which lets it look ahead: each ducked stretch starts its attack
ramp `attack_s` before the speech does, so the music is fully down at the first syllable, and
starts its release ramp right when the speech ends. Ramps are linear in dB; overlapping ramps of
neighbouring stretches take the deeper value, so the curve never steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from audio_creator.errors import ConfigError, require_finite

FRAME_S = 0.01  # analysis and control resolution (a whole number of samples, see frame_hop)
_MIN_SPEECH_S = 0.04
_FLOOR_DBFS = -60.0  # nothing quieter than this counts as speech
_BELOW_SPEECH_DB = 30.0  # frames this far under the speech's typical level count as silence


@dataclass(frozen=True)
class DuckingOptions:
    depth_db: float = 8.0  # how far the music goes down under speech
    attack_s: float = 0.2  # ramp down, completed by the time speech starts
    release_s: float = 0.5  # ramp back up, starting when speech ends
    hold_s: float = 0.6  # pauses shorter than this stay ducked

    def __post_init__(self) -> None:
        require_finite(
            ducking_depth=self.depth_db,
            duck_attack=self.attack_s,
            duck_release=self.release_s,
            duck_hold=self.hold_s,
        )
        if self.depth_db < 0:
            raise ConfigError(f"ducking depth must be ≥ 0 dB, got {self.depth_db}")
        for name in ("attack_s", "release_s", "hold_s"):
            if getattr(self, name) < 0:
                raise ConfigError(f"ducking {name.removesuffix('_s')} must be ≥ 0 s")


def activity_from_power(power: npt.NDArray[np.float64], hold_s: float) -> npt.NDArray[np.bool_]:
    """Speech activity from the mean power of each 10 ms frame of the (mono) speech."""
    with np.errstate(divide="ignore"):
        level_db = 10 * np.log10(power)
    audible = level_db > _FLOOR_DBFS
    if not audible.any():
        return np.zeros(power.size, bool)
    typical = float(np.percentile(level_db[audible], 90))
    active = audible & (level_db > typical - _BELOW_SPEECH_DB)
    active = _fill_short_runs(active, value=False, shorter_than=round(hold_s / FRAME_S))
    return _fill_short_runs(active, value=True, shorter_than=round(_MIN_SPEECH_S / FRAME_S))


def duck_gain_db(
    active: npt.NDArray[np.bool_], options: DuckingOptions, frames: int | None = None
) -> npt.NDArray[np.float64]:
    """The music gain in dB per 10 ms frame: 0 where free, −depth where speech is active.

    Args:
        active: per-frame speech activity (see `activity_from_power`).
        options: depth and ramp times.
        frames: length of the result (default: that of `active`); extra frames are free.
    """
    count = active.size if frames is None else frames
    envelope = np.zeros(count)  # 0 = full level, 1 = fully ducked
    attack = max(1, round(options.attack_s / FRAME_S))
    release = max(1, round(options.release_s / FRAME_S))
    for start, stop in _runs_of(active):
        lo, hi = max(0, start - attack), min(count, stop + release)
        frame = np.arange(lo, hi)
        down = (frame - (start - attack)) / attack  # reaches 1 at the first speech frame
        up = 1 - (frame - stop + 1) / release  # leaves 1 after the last speech frame
        shape = np.clip(np.minimum(down, up), 0.0, 1.0)
        np.maximum(envelope[lo:hi], shape, out=envelope[lo:hi])
    return -options.depth_db * envelope


def apply_frame_gain_in_place(
    samples: npt.NDArray[np.float32],
    sample_rate: int,
    gain_db: npt.NDArray[np.float64],
    first_sample: int = 0,
) -> None:
    """Multiply `samples` by a per-10-ms gain curve, interpolated sample by sample (no steps).
    `samples` start at sample `first_sample` of the curve's timeline."""
    hop = frame_hop(sample_rate)
    lo = max(0, int(first_sample // hop) - 1)
    hi = min(gain_db.size, int((first_sample + samples.shape[1]) // hop) + 2)
    if lo >= hi:
        return
    centres = (np.arange(lo, hi) + 0.5) * hop
    linear = 10 ** (gain_db[lo:hi] / 20)
    chunk = 1 << 20
    for start in range(0, samples.shape[1], chunk):
        stop = min(start + chunk, samples.shape[1])
        position = np.arange(first_sample + start, first_sample + stop)
        samples[:, start:stop] *= np.interp(position, centres, linear).astype(np.float32)


def frame_hop(sample_rate: int) -> int:
    """Samples per control frame: 10 ms rounded to whole samples, the same in every stage."""
    return max(1, round(sample_rate * FRAME_S))


def _runs_of(mask: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """(start, stop) of every run of True."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()
    return list(zip(starts, stops, strict=True))


def _fill_short_runs(
    mask: npt.NDArray[np.bool_], *, value: bool, shorter_than: int
) -> npt.NDArray[np.bool_]:
    """Flip interior runs of `value` shorter than `shorter_than` frames to `not value`."""
    out = mask.copy()
    runs = _runs_of(mask == value)
    for start, stop in runs:
        interior = start > 0 and stop < mask.size
        if stop - start < shorter_than and (interior or value):
            out[start:stop] = not value
    return np.asarray(out, dtype=bool)
