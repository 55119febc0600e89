"""The music plan: tempo and beats fitted to the cuts, sections, key and intensity.

The plan holds every decision that follows the picture; the arranger then turns it into notes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from audio_creator.analysis.beat_grid import TOLERANCE_S, BeatGrid, fit_beat_grid
from audio_creator.analysis.video import VideoAnalysis
from audio_creator.music.procedural.styles import Style

PHRASE_BARS = 8  # a long shot is still divided into phrases of this many bars
# A cut this close to the start is no musical event (the music begins there anyway; often it is
# a glitch, the second frame of the file): it does not steer the beat grid.
EARLIEST_CUT_S = 0.5
# The closing chord lands on the last cut that comes this close to the end, and rings out after
# it; without one, it comes on the last downbeat that leaves room to ring out.
FINAL_CUT_WITHIN_S = 2.0
SHORTEST_RING_S = 0.25  # a cut closer to the end than this leaves no room for the chord
# Keys from cool (flat) to warm (sharp) pictures: Eb Bb F C G D A.
KEYS_BY_WARMTH = (3, 10, 5, 0, 7, 2, 9)


@dataclass(frozen=True)
class Section:
    """A stretch of the piece between two section changes, in beats of the grid."""

    first_beat: int
    stop_beat: int  # exclusive
    intensity: float  # 0 (sparse) … 1 (full)
    progression: tuple[int, ...]  # chord roots as scale degrees, one per bar
    on_cut: bool  # it begins at a hard cut


@dataclass(frozen=True)
class MusicPlan:
    """Everything the arranger needs to know."""

    style: Style
    duration_s: float
    grid: BeatGrid
    key_root: int
    mode: str
    sections: tuple[Section, ...]
    beat_intensity: np.ndarray  # per beat, 0–1, following the picture's energy
    cut_beats: frozenset[int]  # beats that sit on a hard cut
    final_beat: int  # the beat where the closing chord starts


def plan_music(
    analysis: VideoAnalysis | None, duration_s: float, style: Style, seed: int
) -> MusicPlan:
    """Decide tempo, beats, sections, key and intensity for a piece of `duration_s`.

    Without an analysis (no video) the piece has a calm, even shape and no cuts to follow.
    """
    rng = np.random.default_rng(seed)
    energy = _energy(analysis)
    slow, fast = style.tempo_bpm
    target = slow + (fast - slow) * float(np.clip((energy - 0.15) / 0.6, 0, 1))
    cuts = [c for c in analysis.cuts_s if EARLIEST_CUT_S <= c < duration_s] if analysis else []
    grid = fit_beat_grid(duration_s, cuts, target)
    beats = grid.beats_s
    cut_beats = frozenset(
        int(np.argmin(np.abs(beats - c))) for c in cuts if np.min(np.abs(beats - c)) <= TOLERANCE_S
    )
    key_root, mode = _key(analysis, style, rng)
    intensity = _beat_intensity(analysis, grid, duration_s)
    final_beat = _final_beat(grid, duration_s, cut_beats)
    sections = _sections(grid, cut_beats, intensity, style, rng, final_beat)
    return MusicPlan(
        style, duration_s, grid, key_root, mode, sections, intensity, cut_beats, final_beat
    )


def _energy(analysis: VideoAnalysis | None) -> float:
    if analysis is None or analysis.energy.size == 0:
        return 0.3
    return float(np.median(analysis.energy))


def _key(analysis: VideoAnalysis | None, style: Style, rng: np.random.Generator) -> tuple[int, str]:
    warmth = float(np.median(analysis.warmth)) if analysis else 0.0
    brightness = float(np.median(analysis.brightness)) if analysis else 0.5
    position = np.clip((warmth + 0.15) / 0.3, 0, 1) * (len(KEYS_BY_WARMTH) - 1)
    # The seed may move the key one step round the circle of fifths, never further.
    index = int(np.clip(round(position) + rng.integers(-1, 2), 0, len(KEYS_BY_WARMTH) - 1))
    mode = style.mode or ("major" if brightness >= 0.42 else "minor")
    return KEYS_BY_WARMTH[index], mode


def _beat_intensity(
    analysis: VideoAnalysis | None, grid: BeatGrid, duration_s: float
) -> np.ndarray:
    beats = grid.beats_s
    if analysis is None:
        return np.full(beats.size, 0.45)
    stops = np.r_[beats[1:], duration_s]
    raw = np.array([analysis.at(analysis.energy, a, b) for a, b in zip(beats, stops, strict=True)])
    # Half absolute (a calm video stays calm), half relative (its own peaks still stand out).
    low, high = float(raw.min()), float(raw.max())
    relative = (raw - low) / max(high - low, 0.15)
    return np.clip(0.5 * raw / 0.7 + 0.5 * relative, 0.05, 1.0)


def _final_beat(grid: BeatGrid, duration_s: float, cut_beats: frozenset[int]) -> int:
    """Where the closing chord starts: on the last cut if it comes in the last
    FINAL_CUT_WITHIN_S (or near where the chord would come anyway), else on the last downbeat
    that leaves room (two beats and 1.5 s, or a third of a short piece) to ring out; failing a
    downbeat, the last beat that does."""
    beats = grid.beats_s
    period = 60.0 / grid.nominal_bpm
    room = min(max(1.5, 2 * period), duration_s / 3)
    latest = duration_s - SHORTEST_RING_S
    late_cuts = [
        b for b in cut_beats
        if min(duration_s - FINAL_CUT_WITHIN_S, duration_s - 2 * room) <= beats[b] <= latest
    ]  # fmt: skip
    if late_cuts and beats[max(late_cuts)] > 0:
        return max(late_cuts)
    fits = beats <= duration_s - room
    candidates = np.flatnonzero(grid.downbeat & fits)
    if candidates.size and candidates[-1] > 0:
        return int(candidates[-1])
    fitting = np.flatnonzero(fits)  # a short piece: some music before the closing chord
    return int(fitting[-1]) if fitting.size else 0


def _sections(
    grid: BeatGrid,
    cut_beats: frozenset[int],
    intensity: np.ndarray,
    style: Style,
    rng: np.random.Generator,
    final_beat: int,
) -> tuple[Section, ...]:
    downbeats = np.flatnonzero(grid.downbeat)
    starts = {0, *(b for b in cut_beats if b < final_beat)}
    # Long stretches without a cut still change every PHRASE_BARS bars.
    ordered = sorted(starts)
    for first, stop in zip(ordered, [*ordered[1:], final_beat], strict=True):
        bars = [int(d) for d in downbeats if first < d < stop]
        starts.update(bars[PHRASE_BARS - 1 :: PHRASE_BARS])
    ordered = sorted(b for b in starts if b < final_beat) or [0]
    sections = []
    previous: tuple[int, ...] | None = None
    for first, stop in zip(ordered, [*ordered[1:], final_beat], strict=True):
        choices = [p for p in style.progressions if p != previous] or list(style.progressions)
        progression = choices[int(rng.integers(len(choices)))]
        previous = progression
        level = float(intensity[first:stop].mean()) if stop > first else float(intensity[first])
        sections.append(Section(first, stop, level, progression, first in cut_beats))
    return tuple(sections)
