"""Onset strength of audio: how much new sound starts at each instant (spectral flux)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from audio_creator.audio_source import AudioSource

ONSET_RATE_HZ = 100.0
_BLOCK_FRAMES = 1024  # analysis frames per block: memory stays a few MB at any length


def onset_strength(audio: AudioSource) -> npt.NDArray[np.float32]:
    """Spectral flux at 100 Hz: the summed rise of log-magnitude spectra between frames.

    Frame k is centred on k / 100 s exactly (at any sample rate, without drift) and spans
    40 ms. Computed block by block, so an hour of audio needs no more memory than a minute
    (and a file is read a block at a time).
    """
    rate = audio.sample_rate
    size = 4 * round(rate / ONSET_RATE_HZ)
    window = np.hanning(size).astype(np.float32)
    count = max(1, round(audio.frames / rate * ONSET_RATE_HZ))
    # Frame k covers samples [start_k − size/2, start_k + size/2): centred on k / 100 s.
    starts = np.round(np.arange(count) * rate / ONSET_RATE_HZ).astype(np.int64) - size // 2
    flux = np.empty(count, np.float32)
    previous: npt.NDArray[np.float32] | None = None
    for first in range(0, count, _BLOCK_FRAMES):
        block = starts[first : first + _BLOCK_FRAMES]
        lo, hi = int(block[0]), int(block[-1]) + size
        mono = np.zeros(hi - lo, np.float32)  # this block's samples, zeros beyond either end
        inside = slice(max(lo, 0), min(hi, audio.frames))
        if inside.start < inside.stop:
            samples = audio.read(inside.start, inside.stop)
            mono[inside.start - lo : inside.stop - lo] = samples.mean(axis=0)
        frames = mono[(block - lo)[:, None] + np.arange(size)[None, :]] * window
        log = np.log1p(np.float32(1000) * np.abs(np.fft.rfft(frames, axis=1))).astype(np.float32)
        before = np.concatenate([log[:1] if previous is None else previous, log[:-1]])
        flux[first : first + block.size] = np.maximum(log - before, 0).sum(axis=1)
        previous = log[-1:]
    return flux
