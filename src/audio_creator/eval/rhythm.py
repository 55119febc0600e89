"""Does the music move with the picture? Motion against onsets, cuts against beats.

- **motion–onset r**: Pearson's correlation of the video's motion (the mean magnitude of
  Farneback optical flow between frames at 10 fps, when OpenCV is installed; else the
  project's own normal-flow motion curve) and the audio's onset strength (spectral flux,
  averaged into the same 100 ms bins), both lightly smoothed (300 ms) so that a movement and the
  sound it starts need not fall in the very same bin.
- **tempo** and **beats**: a dynamic-programming beat tracker (Ellis, 2007) on the onset
  strength: the tempo is the autocorrelation's strongest period near 120 BPM, the beats the
  path that best combines strong onsets and steady spacing at that period.
- **cut-to-beat hit rate**: the fraction of the video's hard cuts with a beat within 70 ms.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from audio_creator.analysis.onsets import ONSET_RATE_HZ, onset_strength
from audio_creator.analysis.video import VideoAnalysis
from audio_creator.audio import Audio
from audio_creator.eval.metrics import pearson

Floats = npt.NDArray[np.float64]

CURVE_HZ = 10.0
SMOOTH_S = 0.3
HIT_WINDOW_S = 0.07
FLOW_SIDE = 128  # px, the short side frames are scaled to for optical flow


@dataclass(frozen=True)
class Rhythm:
    motion_onset_r: float
    tempo_bpm: float
    beats_s: tuple[float, ...]
    cut_hit_rate: float | None  # None: the video has no cuts
    motion_method: str  # "farneback" or "normal-flow"

    def summary(self) -> dict[str, float | str | None]:
        return {"motion_onset_r": self.motion_onset_r, "tempo_bpm": self.tempo_bpm,
                "cut_hit_rate": self.cut_hit_rate, "motion": self.motion_method}  # fmt: skip


def measure(video: str | os.PathLike[str], audio: Audio, analysis: VideoAnalysis) -> Rhythm:
    """All the rhythm measures of one video (with its analysis: cuts, motion) and its
    soundtrack."""
    motion, method = motion_curve(video, analysis)
    onsets = onset_strength(audio)
    r = motion_onset_r(motion, onsets)
    tempo, beats = track_beats(onsets)
    return Rhythm(
        r, tempo, tuple(float(b) for b in beats), cut_hit_rate(analysis.cuts_s, beats), method
    )


def motion_curve(
    video: str | os.PathLike[str], analysis: VideoAnalysis | None = None
) -> tuple[Floats, str]:
    """Motion at 10 Hz (value k: between the frames at (k − 1)/10 and k/10 s; 0 for k = 0):
    Farneback flow with OpenCV, else the analysis' own motion curve (`analysis`, when the
    caller has it, is not decoded again)."""
    try:
        import cv2
    except ImportError:
        from audio_creator.analysis.video import CURVE_RATE_HZ, analyse_video

        assert CURVE_RATE_HZ == CURVE_HZ
        found = analysis if analysis is not None else analyse_video(video)
        return np.asarray(found.motion, np.float64), "normal-flow"
    from audio_creator.media.frames import iter_frames

    values: list[float] = []
    previous = None
    for frame in iter_frames(Path(video), fps=CURVE_HZ, short_side=FLOW_SIDE):
        grey = cv2.cvtColor(frame.image, cv2.COLOR_RGB2GRAY)
        if previous is None:
            values.append(0.0)
        else:
            flow = cv2.calcOpticalFlowFarneback(  # type: ignore[call-overload]  # (None is valid)
                previous, grey, None, 0.5, 3, 15, 3, 5, 1.2, 0
            )
            values.append(float(np.hypot(flow[..., 0], flow[..., 1]).mean()))
        previous = grey
    return np.array(values), "farneback"


def onset_curve(onsets: npt.ArrayLike) -> Floats:
    """100 Hz onset strength → 10 Hz: bin k is the mean over [(k − 1)/10, k/10) s, the span
    the motion value k measures (0 for k = 0, as motion)."""
    envelope = np.asarray(onsets, np.float64)
    step = round(ONSET_RATE_HZ / CURVE_HZ)
    padded = np.concatenate([np.zeros(step), envelope, np.zeros(step)])
    count = max(1, round(envelope.size / step) + 1)
    return np.asarray(padded[: count * step].reshape(count, step).mean(axis=1), np.float64)


def motion_onset_r(motion: npt.ArrayLike, onsets: npt.ArrayLike) -> float:
    """Pearson's r of the motion curve and the binned onsets, both smoothed."""
    a, b = np.asarray(motion, np.float64), onset_curve(onsets)
    count = min(a.size, b.size)
    if count < 3:
        return 0.0
    width = max(1, round(SMOOTH_S * CURVE_HZ))
    kernel = np.bartlett(width + 2)[1:-1]
    kernel /= kernel.sum()
    return pearson(np.convolve(a[:count], kernel, "same"), np.convolve(b[:count], kernel, "same"))


def track_beats(onsets: npt.ArrayLike, tightness: float = 100.0) -> tuple[float, Floats]:
    """(tempo in BPM, beat times in seconds) of a 100 Hz onset-strength envelope."""
    envelope = np.asarray(onsets, np.float64)
    if envelope.size < ONSET_RATE_HZ or envelope.std() == 0:
        return 0.0, np.zeros(0)
    envelope = (envelope - envelope.mean()) / envelope.std()
    period = beat_period(envelope)
    # the best score of a path of beats ending at each frame (Ellis's recursion)
    reach = np.arange(-round(period), round(period) + 1)
    local = np.convolve(envelope, np.exp(-0.5 * (reach * 32 / period) ** 2), "same")  # σ: T/32
    score, back = local.copy(), np.full(envelope.size, -1)
    gaps = np.arange(round(period / 2), round(2 * period) + 1)
    cost = -tightness * np.log(gaps / period) ** 2
    for t in range(gaps[0], envelope.size):
        usable = gaps <= t
        before = t - gaps[usable]
        candidates = score[before] + cost[usable]
        best = int(np.argmax(candidates))
        if candidates[best] > 0:
            score[t], back[t] = local[t] + candidates[best], before[best]
    # end on the best-scoring frame in the last period, then follow the path back
    tail = score[-int(period) :]
    t = envelope.size - int(period) + int(np.argmax(tail))
    beats = []
    while t >= 0:
        beats.append(t)
        t = int(back[t])
    tempo = 60.0 * ONSET_RATE_HZ / period
    return tempo, np.array(beats[::-1], np.float64) / ONSET_RATE_HZ


def beat_period(envelope: Floats, centre_bpm: float = 120.0) -> float:
    """Frames per beat: the autocorrelation's peak within 40–240 BPM, weighted towards 120
    BPM (a log-normal of one octave's deviation), refined by a parabola through the peak."""
    size = envelope.size
    spectrum = np.fft.rfft(envelope, 2 * size)
    correlation = np.fft.irfft(spectrum * np.conj(spectrum))[:size]
    lags = np.arange(size, dtype=np.float64)
    lo, hi = round(60 * ONSET_RATE_HZ / 240), min(size - 2, round(60 * ONSET_RATE_HZ / 40))
    bpm = 60 * ONSET_RATE_HZ / np.maximum(lags, 1)
    weight = np.exp(-0.5 * np.log2(bpm / centre_bpm) ** 2)
    weighted = correlation * weight
    peak = lo + int(np.argmax(weighted[lo : hi + 1]))
    left, middle, right = weighted[peak - 1], weighted[peak], weighted[peak + 1]
    bend = left - 2 * middle + right
    shift = 0.5 * (left - right) / bend if bend < 0 else 0.0
    return float(peak + np.clip(shift, -0.5, 0.5))


def cut_hit_rate(cuts_s: tuple[float, ...], beats_s: Floats) -> float | None:
    """Fraction of cuts with a beat within 70 ms; None without cuts."""
    if not cuts_s:
        return None
    if beats_s.size == 0:
        return 0.0
    gaps = np.abs(np.asarray(cuts_s)[:, None] - beats_s[None, :]).min(axis=1)
    return float(np.mean(gaps <= HIT_WINDOW_S))
