"""The `dsp` audio embedding: standard descriptors, no weights, so the evaluation runs on a fresh
install.

A clip (mono, 16 kHz) becomes one vector of:

- log-mel statistics: the mean and the standard deviation over time of 64 log-mel bands
  (25 ms Hann windows every 10 ms, 0–8 kHz, Slaney-style mel scale);
- chroma: the share of the energy between 110 Hz and 4.2 kHz in each of the 12 pitch classes
  (from 256 ms windows, fine enough to tell semitones apart there), summing to 1;
- rhythm: the tempo (as log₂ of BPM / 120), the onset strength's mean and spread, and how
  clearly it pulses (the autocorrelation's peak at the beat period);
- timbre: the mean and spread of the spectral centroid (in octaves above 100 Hz) and flatness.

The layout is fixed (`FEATURES`); `VERSION` changes whenever a descriptor does, so cached
embeddings of an older layout are never mixed with new ones.
"""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt

from audio_creator.audio import Audio

VERSION = "dsp-1"
RATE = 16000
WINDOW, HOP, FFT = 400, 160, 512  # 25 ms every 10 ms
CHROMA_WINDOW = 4096  # 256 ms, hop half of it
MELS = 64
FEATURES = (
    [f"mel_mean_{k}" for k in range(MELS)] + [f"mel_std_{k}" for k in range(MELS)]
    + [f"chroma_{k}" for k in range(12)]
    + ["tempo_log2", "onset_mean", "onset_std", "pulse_clarity"]
    + ["centroid_mean", "centroid_std", "flatness_mean", "flatness_std"]
)  # fmt: skip


def embed(audio: Audio) -> npt.NDArray[np.float64]:
    """The descriptor vector of a clip (see the module docstring)."""
    from audio_creator.analysis.onsets import onset_strength
    from audio_creator.eval.rhythm import beat_period

    mono = audio.to_channels(1).resample(RATE).samples[0].astype(np.float64)
    power = _power_spectrogram(mono, WINDOW, HOP, FFT)  # [frames, bins]
    log_mel = np.log10(power @ mel_bank().T + 1e-10)
    long_power = _power_spectrogram(mono, CHROMA_WINDOW, CHROMA_WINDOW // 2, CHROMA_WINDOW)
    chroma = (long_power @ _chroma_bank().T).sum(axis=0)
    chroma = chroma / chroma.sum() if chroma.sum() > 0 else np.full(12, 1 / 12)
    freqs = np.fft.rfftfreq(FFT, 1 / RATE)
    total = power.sum(axis=1) + 1e-12
    centroid = np.log2(np.maximum((power @ freqs) / total, 100.0) / 100.0)
    flatness = np.exp(np.log(power + 1e-12).mean(axis=1)) / (power.mean(axis=1) + 1e-12)
    onsets = onset_strength(audio).astype(np.float64)
    rhythm = [0.0, float(onsets.mean()), float(onsets.std()), 0.0]
    if onsets.size >= 200 and onsets.std() > 0:
        normal = (onsets - onsets.mean()) / onsets.std()
        period = beat_period(normal)
        rhythm[0] = float(np.log2(6000.0 / period / 120.0))
        lag = round(period)
        rhythm[3] = float(np.dot(normal[:-lag], normal[lag:]) / (normal.size - lag))
    return np.concatenate([
        log_mel.mean(axis=0), log_mel.std(axis=0), chroma, rhythm,
        [centroid.mean(), centroid.std(), flatness.mean(), flatness.std()],
    ])  # fmt: skip


def _power_spectrogram(
    mono: npt.NDArray[np.float64], window: int, hop: int, fft: int
) -> npt.NDArray[np.float64]:
    if mono.size < window:
        mono = np.pad(mono, (0, window - mono.size))
    count = 1 + (mono.size - window) // hop
    index = np.arange(window)[None, :] + hop * np.arange(count)[:, None]
    frames = mono[index] * np.hanning(window)
    return np.abs(np.fft.rfft(frames, fft, axis=1)) ** 2  # type: ignore[no-any-return]


def _hz_to_mel(hz: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Slaney's mel scale: linear below 1 kHz, logarithmic above."""
    linear = hz / (200.0 / 3)
    log = 15.0 + np.log(np.maximum(hz, 1e-9) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(hz < 1000.0, linear, log)  # type: ignore[no-any-return]


def _mel_to_hz(mel: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    linear = mel * (200.0 / 3)
    log = 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0))
    return np.where(mel < 15.0, linear, log)  # type: ignore[no-any-return]


@functools.cache
def mel_bank() -> npt.NDArray[np.float64]:
    """Triangular filters [MELS, bins], area-normalised (Slaney), 0–8 kHz."""
    freqs = np.fft.rfftfreq(FFT, 1 / RATE)
    edges = _mel_to_hz(np.linspace(0.0, float(_hz_to_mel(np.array(RATE / 2))), MELS + 2))
    bank = np.zeros((MELS, freqs.size))
    for k in range(MELS):
        lo, mid, hi = edges[k : k + 3]
        rising, falling = (freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)
        bank[k] = np.maximum(0.0, np.minimum(rising, falling)) * 2.0 / (hi - lo)
    return bank


@functools.cache
def _chroma_bank() -> npt.NDArray[np.float64]:
    """Each bin between 110 Hz and 4.2 kHz to its pitch class (A = 0) [12, bins]."""
    freqs = np.fft.rfftfreq(CHROMA_WINDOW, 1 / RATE)
    bank = np.zeros((12, freqs.size))
    inside = (freqs >= 110.0) & (freqs <= 4200.0)
    classes = np.round(12 * np.log2(freqs[inside] / 440.0)).astype(int) % 12
    bank[classes, np.flatnonzero(inside)] = 1.0
    return bank
