"""Fitting music to a programme's length, and fades."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from audio_creator.audio import Audio
from audio_creator.errors import ConfigError

FIT_MODES = ("loop", "pad", "trim")


def fit_to_length(
    audio: Audio, frames: int, mode: str, crossfade_s: float = 2.0
) -> npt.NDArray[np.float32]:
    """A new `[channels, frames]` array: `audio` cut to `frames`, or extended to it.

    Args:
        audio: the music.
        frames: the length wanted.
        mode: "loop" repeats the music with an equal-power crossfade of `crossfade_s` (at most a
            quarter of the music); "pad" and "trim" fill with silence (the mixer shortens the
            programme to the music for "trim", so the fill is never heard).
        crossfade_s: overlap between repeats when looping.
    """
    if mode not in FIT_MODES:
        raise ConfigError(f"music fit must be one of {', '.join(FIT_MODES)}, got {mode!r}")
    out = np.zeros((audio.channels, frames), np.float32)
    source = audio.samples
    if source.shape[1] >= frames or mode != "loop" or source.shape[1] == 0:
        take = min(frames, source.shape[1])
        out[:, :take] = source[:, :take]
        return out
    overlap = min(round(crossfade_s * audio.sample_rate), source.shape[1] // 4)
    fade_in, fade_out = equal_power_fades(overlap)
    out[:, : source.shape[1]] = source
    written = source.shape[1]
    while written < frames:
        start = written - overlap  # the next repeat starts inside the tail of the last one
        take = min(source.shape[1], frames - start)
        mixed = min(overlap, take)
        out[:, start : start + mixed] = (
            out[:, start : start + mixed] * fade_out[:mixed] + source[:, :mixed] * fade_in[:mixed]
        )
        out[:, start + mixed : start + take] = source[:, mixed:take]
        written = start + take
    return out


def equal_power_fades(length: int) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Fade-in and fade-out curves whose powers sum to one (for uncorrelated material)."""
    phase = (np.arange(length) + 0.5) / max(length, 1) * (np.pi / 2)
    return np.sin(phase).astype(np.float32), np.cos(phase).astype(np.float32)


def fade_in_place(
    samples: npt.NDArray[np.float32], sample_rate: int, fade_in_s: float, fade_out_s: float
) -> None:
    """Raised-cosine fade-in at the start and fade-out at the end of `samples`, in place."""
    frames = samples.shape[1]
    for seconds, at_start in ((fade_in_s, True), (fade_out_s, False)):
        length = min(frames, round(max(0.0, seconds) * sample_rate))
        if length == 0:
            continue
        ramp = (0.5 - 0.5 * np.cos(np.pi * (np.arange(length) + 0.5) / length)).astype(np.float32)
        if at_start:
            samples[:, :length] *= ramp
        else:
            samples[:, frames - length :] *= ramp[::-1]
