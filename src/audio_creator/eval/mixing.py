"""The `mix` metric: is the finished mix at its loudness, under its ceiling, and can the
narration be understood over the music?

- loudness: integrated loudness, loudness range and true peak (EBU R 128, the project's own
  meter), the error against the target and how far the peak goes over the ceiling;
- speech-to-music difference (LU), when the narration stem is given: the stem's gain in the mix
  is found by least squares (the mix was normalised after it was made), the rest of the mix is
  the music bed, and the difference is between their integrated loudness;
- intelligibility: ESTOI (Jensen & Taal, 2016; `pystoi`) of the mix against the narration stem,
  0–1, when `pystoi` is installed.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from audio_creator.audio import Audio


def measure(
    mix: Audio, target_lufs: float, ceiling_dbtp: float, speech: Audio | None = None
) -> dict[str, Any]:
    """The mix metric's figures for one mix (and its narration stem, if known)."""
    from audio_creator.dsp.loudness import measure as loudness

    found = loudness(mix)
    out: dict[str, Any] = {
        **found.summary(),
        "lufs_error": _finite(found.integrated_lufs - target_lufs),
        "true_peak_over_db": _finite(max(0.0, found.true_peak_dbtp - ceiling_dbtp)),
    }
    if speech is not None:
        voice, bed = split(mix, speech)
        out["speech_to_music_lu"] = _finite(
            loudness(voice, true_peak=False).integrated_lufs
            - loudness(bed, true_peak=False).integrated_lufs
        )
        out["estoi"] = estoi(mix, speech)
    return out


def split(mix: Audio, speech: Audio) -> tuple[Audio, Audio]:
    """(the narration as it sits in the mix, the rest): the stem scaled by its least-squares
    gain in the mix, and the mix minus that."""
    rate = mix.sample_rate
    stem = speech.resample(rate).to_channels(mix.channels).fit_frames(mix.frames)
    x, y = stem.samples.astype(np.float64), mix.samples.astype(np.float64)
    energy = float((x * x).sum())
    gain = float((x * y).sum()) / energy if energy > 0 else 0.0
    voice = (gain * x).astype(np.float32)
    return Audio(voice, rate), Audio((y - voice).astype(np.float32), rate)


def estoi(mix: Audio, speech: Audio) -> float | None:
    """ESTOI of the mix (degraded) against the narration (clean), mono; None without
    `pystoi`."""
    try:
        from pystoi import stoi
    except ImportError:
        return None
    rate = mix.sample_rate
    clean = speech.resample(rate).to_channels(1).fit_frames(mix.frames).samples[0]
    degraded = mix.to_channels(1).samples[0]
    return float(stoi(clean.astype(np.float64), degraded.astype(np.float64), rate, extended=True))


def _finite(value: float) -> float | None:
    return round(value, 3) if math.isfinite(value) else None
