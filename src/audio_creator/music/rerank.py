"""Rank candidate pieces by how well they fit the picture.

The score is a weighted sum of terms in 0–1. The rhythmic terms are built in: cut alignment (is
there an onset right at each cut?) and motion–onset correlation (does the music get busier when
the picture moves?, the original project's `rhythm` metric). A semantic term (CLAP/CLIP
similarity) joins as one more `Term` when those models are present.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from audio_creator.analysis.onsets import ONSET_RATE_HZ, onset_strength
from audio_creator.analysis.video import CURVE_RATE_HZ, VideoAnalysis
from audio_creator.audio import Audio
from audio_creator.audio_source import AudioFile

CUT_WINDOW_S = 0.07  # an onset this close to a cut counts for it
HEARD_MOST_S = 600.0  # a model that listens to a piece in memory hears at most this much


@dataclass(frozen=True)
class Candidate:
    """A piece under evaluation, with what is measured on it computed once for every term."""

    audio: Audio | AudioFile  # a long piece may wait on disk

    @cached_property
    def onsets(self) -> np.ndarray:
        """Onset strength at ONSET_RATE_HZ."""
        return onset_strength(self.audio)

    def heard(self, most_s: float = HEARD_MOST_S) -> Audio:
        """The piece in memory, or, for a long one on disk, its first `most_s` seconds."""
        if isinstance(self.audio, Audio):
            return self.audio
        frames = min(self.audio.frames, round(most_s * self.audio.sample_rate))
        return Audio(self.audio.read(0, frames), self.audio.sample_rate)


Term = Callable[[Candidate, VideoAnalysis], float]


@dataclass(frozen=True)
class Ranked:
    """One candidate's place: its index among the candidates, total score and each term."""

    index: int
    score: float
    terms: dict[str, float]


def cut_alignment(candidate: Candidate, analysis: VideoAnalysis) -> float:
    """Fraction of cuts with a clear onset within 70 ms: the strongest onset near the cut stands
    out (above mean + one standard deviation) of the onsets in the two seconds around it."""
    envelope = candidate.onsets
    hits = []
    for cut in analysis.cuts_s:
        centre = round(cut * ONSET_RATE_HZ)
        if centre >= envelope.size:
            continue
        reach, context = round(CUT_WINDOW_S * ONSET_RATE_HZ), round(ONSET_RATE_HZ)
        near = envelope[max(0, centre - reach) : centre + reach + 1]
        around = envelope[max(0, centre - context) : centre + context + 1]
        hits.append(float(near.max() > around.mean() + around.std()))
    return float(np.mean(hits)) if hits else 1.0


def motion_onset_correlation(candidate: Candidate | Audio, analysis: VideoAnalysis) -> float:
    """Pearson r between the motion curve and the onset strength (both smoothed over 1 s)."""
    if isinstance(candidate, Audio):
        candidate = Candidate(candidate)
    envelope = candidate.onsets
    step = round(ONSET_RATE_HZ / CURVE_RATE_HZ)
    count = min(analysis.motion.size, envelope.size // step)
    if count < 3:
        return 0.0
    onsets = envelope[: count * step].reshape(count, step).mean(axis=1)
    kernel = np.ones(round(CURVE_RATE_HZ)) / round(CURVE_RATE_HZ)
    a = np.convolve(analysis.motion[:count], kernel, mode="same")
    b = np.convolve(onsets, kernel, mode="same")
    if a.std() < 1e-9 or b.std() < 1e-9:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


RHYTHMIC_TERMS: dict[str, tuple[float, Term]] = {
    "cut_alignment": (0.5, cut_alignment),
    # r in −1…1 → 0…1
    "motion_onset": (0.5, lambda heard, video: (motion_onset_correlation(heard, video) + 1) / 2),
}


def score(
    audio: Audio | AudioFile,
    analysis: VideoAnalysis,
    index: int = 0,
    terms: dict[str, tuple[float, Term]] | None = None,
) -> Ranked:
    """One candidate's weighted score and its terms."""
    chosen = terms or RHYTHMIC_TERMS
    total_weight = sum(weight for weight, _ in chosen.values())
    heard = Candidate(audio)
    values = {name: term(heard, analysis) for name, (_, term) in chosen.items()}
    total = sum(chosen[name][0] * value for name, value in values.items()) / total_weight
    return Ranked(index, total, values)


def rank(
    candidates: Sequence[Audio],
    analysis: VideoAnalysis,
    terms: dict[str, tuple[float, Term]] | None = None,
) -> list[Ranked]:
    """Candidates from best to worst (ties keep their order)."""
    ranked = [score(audio, analysis, index, terms) for index, audio in enumerate(candidates)]
    return sorted(ranked, key=lambda r: (-r.score, r.index))
