"""Fitting music to a programme's length, and fades, computed for any stretch of the programme.

Everything here answers "what are samples [start, stop) of the fitted, faded music?", so the mixer
can render a programme of any length block by block without ever holding it twice.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from audio_creator.audio import Audio
from audio_creator.audio_source import AudioSource
from audio_creator.errors import ConfigError

FIT_MODES = ("loop", "pad", "trim")


@dataclass(frozen=True)
class FittedMusic:
    """`audio` laid over `frames` samples.

    Mode "loop" repeats the music with an equal-power crossfade of `crossfade_s` (at most a quarter
    of the music); "pad" and "trim" follow it with silence (for "trim" the mixer shortens the
    programme to the music, so the silence is never heard). Music longer than `frames` is cut.
    """

    audio: AudioSource
    frames: int
    mode: str = "loop"
    crossfade_s: float = 2.0

    def __post_init__(self) -> None:
        if self.mode not in FIT_MODES:
            raise ConfigError(f"music fit must be one of {', '.join(FIT_MODES)}, got {self.mode!r}")

    @property
    def audible_frames(self) -> int:
        """How far from its start the fitted music can sound: all of it when looped, else the
        music itself (the padding after it is silence, which a mix need not add)."""
        if self.mode == "loop" and 0 < self.audio.frames < self.frames:
            return self.frames
        return min(self.audio.frames, self.frames)

    @property
    def overlap(self) -> int:
        return min(round(self.crossfade_s * self.audio.sample_rate), self.audio.frames // 4)

    def segment(self, start: int, stop: int) -> npt.NDArray[np.float32]:
        """Samples [start, stop) of the fitted music, `[channels, stop − start]`."""
        out = np.zeros((self.audio.channels, stop - start), np.float32)
        length = self.audio.frames
        looping = self.mode == "loop" and 0 < length < self.frames
        overlap = self.overlap if looping else 0
        period = length - overlap
        last = (self.frames - 1) // period if looping and period > 0 else 0
        first = max(0, (start - length) // period + 1) if looping and period > 0 else 0
        fade_in, fade_out = equal_power_fades(overlap)
        for repeat in range(first, min(last, (stop - 1) // max(period, 1)) + 1):
            begin = repeat * period  # where this repeat starts in the programme
            lo, hi = max(start, begin), min(stop, begin + length, self.frames)
            if lo >= hi:
                continue
            piece = np.array(self.audio.read(lo - begin, hi - begin), dtype=np.float32)
            offsets = np.arange(lo - begin, hi - begin)
            if repeat > 0 and overlap:  # fading in over the previous repeat's tail
                head = offsets < overlap
                piece[:, head] *= fade_in[offsets[head]]
            if repeat < last and overlap:  # fading out under the next repeat's head
                tail = offsets >= length - overlap
                piece[:, tail] *= fade_out[offsets[tail] - (length - overlap)]
            if lo == start and hi == stop:
                return piece  # one repeat covers the whole stretch: no need to sum
            out[:, lo - start : hi - start] += piece
        return out


def fit_to_length(
    audio: Audio, frames: int, mode: str, crossfade_s: float = 2.0
) -> npt.NDArray[np.float32]:
    """The whole of `FittedMusic(audio, frames, mode, crossfade_s)` as one array."""
    return FittedMusic(audio, frames, mode, crossfade_s).segment(0, frames)


def equal_power_fades(length: int) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Fade-in and fade-out curves whose powers sum to one (for uncorrelated material)."""
    phase = (np.arange(length) + 0.5) / max(length, 1) * (np.pi / 2)
    return np.sin(phase).astype(np.float32), np.cos(phase).astype(np.float32)


def fade_gain(
    start: int, stop: int, frames: int, sample_rate: int, fade_in_s: float, fade_out_s: float
) -> npt.NDArray[np.float32] | None:
    """Gain of raised-cosine fades (in at 0, out at `frames`) over samples [start, stop); None
    where the stretch is untouched by either fade."""
    fade_in = round(max(0.0, fade_in_s) * sample_rate)
    fade_out = round(max(0.0, fade_out_s) * sample_rate)
    if start >= fade_in and stop <= frames - fade_out:
        return None
    gain = np.ones(stop - start, np.float32)
    if fade_in and start < fade_in:  # only the samples inside a fade are computed
        inside = np.arange(start, min(stop, fade_in)) + 0.5
        gain[: inside.size] = _raised_cosine(inside / fade_in)
    if fade_out and stop > frames - fade_out:
        first = max(start, frames - fade_out)
        inside = np.arange(first, stop) + 0.5
        ramp = _raised_cosine((frames - inside) / fade_out).astype(np.float32)
        gain[first - start :] = np.minimum(gain[first - start :], ramp)
    return gain


def _raised_cosine(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return np.asarray(0.5 - 0.5 * np.cos(np.pi * np.clip(x, 0.0, 1.0)), dtype=np.float64)
