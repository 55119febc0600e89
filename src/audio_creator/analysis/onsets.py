"""Onset strength of audio: how much new sound starts at each instant (spectral flux)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from audio_creator.audio import Audio

ONSET_RATE_HZ = 100.0


def onset_strength(audio: Audio) -> npt.NDArray[np.float32]:
    """Spectral flux at 100 Hz: the summed rise of log-magnitude spectra between 10 ms frames.

    Frame k describes the sound around k / 100 s (the analysis window is centred there).
    """
    mono = audio.samples.mean(axis=0)
    hop = round(audio.sample_rate / ONSET_RATE_HZ)
    size = 4 * hop
    padded = np.pad(mono, (size // 2, size))
    count = max(1, (padded.size - size) // hop)
    frames = np.lib.stride_tricks.sliding_window_view(padded, size)[::hop][:count]
    spectra = np.abs(np.fft.rfft(frames * np.hanning(size).astype(np.float32), axis=1))
    log = np.log1p(1000.0 * spectra)
    flux = np.maximum(np.diff(log, axis=0, prepend=log[:1]), 0.0).sum(axis=1)
    frames_out = round(audio.duration_s * ONSET_RATE_HZ)
    return np.asarray(flux[:frames_out], dtype=np.float32)
