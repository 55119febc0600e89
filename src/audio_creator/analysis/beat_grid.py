"""A beat grid whose beats land on the video's cuts: tempo and phase fitted jointly.

Two plans compete under one cost (in units of "one cut missed"):

- one constant tempo near the target, its phase anchored on a cut, scored by how many cuts fall
  within `tolerance_s` of a beat;
- a piecewise-constant tempo that may change at cuts: a dynamic programme over the cuts, where
  each segment between two chosen cuts holds a whole number of beats (so both ends land on a
  beat, and every chosen cut on a downbeat), paying for distance from the target tempo, for
  each tempo change and for the cuts inside it that miss.

The cheaper plan wins, so a video whose cuts already sit on a common grid keeps one tempo.

A missed cut costs more than any push, pull or tempo change the plan could make instead
(`MISS_COST`), so a real cut is never given up for a tidier grid; a flash cut, one that comes less
than `FLASH_GAP_S` after the cut before it, costs little to miss (`FLASH_MISS_COST`): a burst of
cuts a few tenths of a second apart is one event to a listener, and bending the tempo to each
of them would lose the beat.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from audio_creator.errors import ConfigError

TOLERANCE_S = 0.02  # a cut this close to a beat counts as on it
MISS_COST = 3.0  # per cut that no beat meets
FLASH_GAP_S = 1.0  # a cut this soon after the one before is a flash cut…
FLASH_MISS_COST = 1.0  # …and missing it costs this
MAX_DEVIATION = 0.2  # no segment's tempo further than this (relative) from the target
DEVIATION_COST = 2.0  # per unit of |log(tempo / target)|, per segment
CHANGE_COST = 6.0  # per unit of |log(new / old)| at a tempo change
OFF_DOWNBEAT_COST = 0.25  # per cut on a beat that does not start a bar (or per irregular bar)
ERROR_COST = 0.2  # per cut on a beat, times its distance from the beat ÷ tolerance
# A segment whose first beat is shortened or lengthened to keep the tempo pays RESET_COST plus
# RESET_SIZE_COST × |log(that beat / a beat)|: beat trackers, like listeners, follow small ones.
RESET_COST = 0.2
RESET_SIZE_COST = 1.0
MAX_PUSH = 0.5  # the most a pushed or pulled bar's beats may differ from the target tempo
MAX_RESET = 0.7  # |log(span remainder / beat)|: round() keeps the remainder within ½–1½ beats
MAX_SPAN = 8  # a segment may skip over at most this many cuts
MAX_ANCHORS = 64  # a constant tempo's phase is tried on at most this many cuts


@dataclass(frozen=True)
class BeatGrid:
    """Beat times and bar structure of a piece. Times in seconds."""

    beats_s: npt.NDArray[np.float64]  # every beat, increasing; the first within half a beat of 0
    downbeat: npt.NDArray[np.bool_]  # True where a bar starts
    bpm: npt.NDArray[np.float64]  # tempo of the beat starting at each beats_s
    nominal_bpm: float  # the tempo that most of the piece is in
    cuts_on_beat: float  # fraction of cuts within TOLERANCE_S of a beat (1.0 without cuts)

    def beat_at(self, time_s: float) -> int:
        """Index of the beat sounding at `time_s`."""
        return max(0, int(np.searchsorted(self.beats_s, time_s + 1e-9, side="right")) - 1)


def fit_beat_grid(
    duration_s: float,
    cuts_s: Sequence[float],
    target_bpm: float,
    *,
    beats_per_bar: int = 4,
    tolerance_s: float = TOLERANCE_S,
) -> BeatGrid:
    """Fit tempo and phase so that the cuts land on beats, preferring downbeats.

    Args:
        duration_s: length of the piece.
        cuts_s: hard-cut times, increasing.
        target_bpm: the tempo the picture asks for; the fit stays within ±20 % of it.
        beats_per_bar: bar length in beats.
        tolerance_s: how close a cut must be to a beat to count as on it.
    """
    if not duration_s > 0 or not math.isfinite(duration_s):
        raise ConfigError(f"duration must be positive, got {duration_s}")
    if not 20 <= target_bpm <= 300:
        raise ConfigError(f"tempo must be within 20–300 BPM, got {target_bpm}")
    cuts = np.array([c for c in cuts_s if 0 < c < duration_s], dtype=np.float64)
    misses = miss_costs(cuts)
    constant_cost, constant = _constant_plan(
        cuts, misses, duration_s, target_bpm, beats_per_bar, tolerance_s
    )
    base_period = constant[0][1]  # the best single tempo is also the one resets keep
    segments_cost, segments = _segment_plan(
        cuts, misses, duration_s, target_bpm, beats_per_bar, tolerance_s, base_period
    )
    plan = segments if segments_cost < constant_cost - 1e-9 else constant
    return _grid(plan, cuts, duration_s, beats_per_bar, tolerance_s)


def miss_costs(cuts: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """What missing each cut costs: MISS_COST, or FLASH_MISS_COST for a flash cut."""
    gaps = np.diff(cuts, prepend=-np.inf)
    return np.where(gaps < FLASH_GAP_S, FLASH_MISS_COST, MISS_COST)


# A plan is a list of (start time, beat period, beats, starts a bar) pieces; the last runs to the
# end of the piece.
_Plan = list[tuple[float, float, int, bool]]


def _constant_plan(
    cuts: npt.NDArray[np.float64],
    misses: npt.NDArray[np.float64],
    duration: float,
    target: float,
    per_bar: int,
    tol: float,
) -> tuple[float, _Plan]:
    # Tempi within ±MAX_DEVIATION of the target, evenly spaced in log-tempo.
    periods = 60.0 / (target * np.geomspace(1 / (1 + MAX_DEVIATION), 1 + MAX_DEVIATION, 481))
    if cuts.size == 0:
        return 0.0, [(0.0, 60.0 / target, math.ceil(duration * target / 60) + 1, True)]
    # Phase anchored on a cut (each in turn, or a spread of them); score the cuts on that grid.
    # One anchor at a time keeps memory at tempi × cuts, however long the video.
    deviation = DEVIATION_COST * np.abs(np.log(60.0 / periods / target))
    best = (math.inf, 0, float(cuts[0]))  # (cost, period index, anchor)
    for anchor in cuts[
        np.unique(np.linspace(0, cuts.size - 1, min(cuts.size, MAX_ANCHORS)).astype(int))
    ]:
        on, nearest, error = _on_grid(cuts, float(anchor), periods, tol)
        cost = (
            ((~on) * misses).sum(axis=1)
            + OFF_DOWNBEAT_COST * (on & (np.mod(nearest, per_bar) != 0)).sum(axis=1)
            + ERROR_COST * np.where(on, error / tol, 0.0).sum(axis=1)
            + deviation
        )
        p = int(np.argmin(cost))
        if cost[p] < best[0]:
            best = (float(cost[p]), p, float(anchor))
    total, p, anchor = best
    period = float(periods[p])
    # Refine: the least-squares line through the cuts on the grid (time = phase + beat × period)
    # puts them on their beats exactly rather than merely within tolerance.
    on, nearest, _ = _on_grid(cuts, anchor, periods[p : p + 1], tol)
    hit = on[0]
    if hit.sum() >= 2:
        fitted, phase = np.polyfit(nearest[0, hit], cuts[hit] - anchor, 1)
        if abs(math.log(fitted * target / 60.0)) <= math.log(1 + MAX_DEVIATION):
            period, anchor = float(fitted), anchor + float(phase)
    start = anchor - math.floor(anchor / period) * period
    return total, [(start, period, math.ceil((duration - start) / period) + 1, True)]


def _on_grid(
    cuts: npt.NDArray[np.float64], anchor: float, periods: npt.NDArray[np.float64], tol: float
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """For grids through `anchor` with each period: which cuts are on a beat, the beat numbers
    nearest them, and their distance from it (all `[period, cut]`)."""
    beats = (cuts[None, :] - anchor) / periods[:, None]
    nearest = np.rint(beats)
    error = np.abs(beats - nearest) * periods[:, None]
    return error <= tol, nearest, error


def _segment_plan(
    cuts: npt.NDArray[np.float64],
    misses: npt.NDArray[np.float64],
    duration: float,
    target: float,
    per_bar: int,
    tol: float,
    base_period: float,
) -> tuple[float, _Plan]:
    """The dynamic programme over cuts (see the module docstring).

    A segment between two chosen cuts is either *even* (a whole number of beats at its own
    tempo) or a *reset* at the base tempo: the beats are counted back from the later cut, so the
    first beat of the segment is shortened or lengthened (by at most half a beat) and the tempo
    itself never moves.
    """
    nodes = np.r_[0.0, cuts]  # node 0 is the start of the piece: a downbeat at 0
    count = nodes.size
    target_period = 60.0 / target
    # best[state] = (cost, previous state, segment entries, the segment's main period), where a
    # state (j, i, option) is a plan whose last segment runs from node i to node j.
    best: dict[tuple[int, int, int], tuple[float, tuple[int, int, int] | None, _Plan, float]] = {}
    ending_at: dict[int, list[tuple[int, int, int]]] = {}
    for j in range(1, count):
        for i in range(max(0, j - MAX_SPAN - 1), j):
            for option, (entries, beats, main, extra) in enumerate(
                _segment_options(nodes[i], nodes[j], target_period, base_period, per_bar)
            ):
                if abs(math.log(target_period / main)) > math.log(1 + MAX_DEVIATION):
                    continue
                deviation = abs(math.log(base_period / main))  # from the piece's own tempo
                inner = nodes[i + 1 : j]
                distance = np.abs(inner[:, None] - beats[None, :])
                nearest = np.argmin(distance, axis=1) if inner.size else np.zeros(0, int)
                error = distance[np.arange(inner.size), nearest]
                on = error <= tol
                cost = (
                    DEVIATION_COST * deviation
                    + extra
                    + float(misses[i : j - 1][~on].sum())
                    + ERROR_COST * float(error[on].sum() / tol)
                    # bars restart at the segment's start
                    + OFF_DOWNBEAT_COST * float((on & (nearest % per_bar != 0)).sum())
                )
                state = (j, i, option)
                if i == 0:
                    best[state] = (cost, None, entries, main)
                else:
                    options = [
                        (best[key][0] + CHANGE_COST * abs(math.log(best[key][3] / main)), key)
                        for key in ending_at.get(i, ())
                    ]
                    if not options:
                        continue
                    previous_cost, previous_key = min(options)
                    best[state] = (cost + previous_cost, previous_key, entries, main)
                ending_at.setdefault(j, []).append(state)
    if not best:
        return math.inf, []
    # Cuts after the last segment's end are missed.
    after = np.r_[np.cumsum(misses[::-1])[::-1], 0.0]  # after[j]: the misses of cuts j, j + 1…
    total, last = min((value[0] + float(after[key[0]]), key) for key, value in best.items())
    total += DEVIATION_COST * abs(math.log(target_period / base_period))  # once, as for one tempo
    chain: list[tuple[int, int, int]] = []
    node: tuple[int, int, int] | None = last
    while node is not None:
        chain.append(node)
        node = best[node][1]
    plan: _Plan = [entry for key in reversed(chain) for entry in best[key][2]]
    end, main = float(nodes[last[0]]), best[last][3]
    plan.append((end, main, math.ceil((duration - end) / main) + 1, True))
    return total, plan


def _segment_options(
    start: float, stop: float, target_period: float, base_period: float, per_bar: int
) -> list[tuple[_Plan, npt.NDArray[np.float64], float, float]]:
    """Ways to fill [start, stop) with beats so that both ends fall on one: (plan entries, beat
    times, main period, extra cost)."""
    span = stop - start
    options = []
    for n in sorted({max(1, math.floor(span / target_period)), math.ceil(span / target_period)}):
        period = span / n
        beats = np.asarray(start + period * np.arange(n), dtype=np.float64)
        options.append(
            ([(start, period, n, True)], beats, period, OFF_DOWNBEAT_COST if n % per_bar else 0.0)
        )
    # The reset: beats counted back from the later cut at the base tempo; the difference is
    # shared by the first bar's beats (a brief push or pull that trackers and listeners follow).
    n = max(1, round(span / base_period))
    first = span - (n - 1) * base_period
    if abs(first - base_period) > 1e-3 and abs(math.log(first / base_period)) <= MAX_RESET:
        ramp = min(n, per_bar)
        beat = base_period + (first - base_period) / ramp
        beats = np.asarray(
            np.r_[
                start + beat * np.arange(ramp),
                start + ramp * beat + base_period * np.arange(n - ramp),
            ],
            dtype=np.float64,
        )
        entries: _Plan = [(start, beat, ramp, True)]
        if n > ramp:
            entries.append((start + ramp * beat, base_period, n - ramp, False))
        size = abs(math.log(beat / base_period))
        if abs(math.log(beat / target_period)) <= math.log(1 + MAX_PUSH):
            options.append((entries, beats, base_period, RESET_COST + RESET_SIZE_COST * size))
    return options


def _grid(
    plan: _Plan, cuts: npt.NDArray[np.float64], duration: float, per_bar: int, tol: float
) -> BeatGrid:
    first_start, first_period, _, _ = plan[0]
    # A constant plan may start after 0: extend it backwards to cover the start, and let a
    # pickup beat at 0 take up what is left if that is more than half a beat.
    whole = math.floor(first_start / first_period + 1e-9)
    beats = [first_start - k * first_period for k in range(whole, 0, -1)]
    if (beats[0] if beats else first_start) > 0.5 * first_period:
        beats.insert(0, 0.0)
    periods = [first_period] * len(beats)
    bar_starts: list[bool] = [False] * len(beats)
    for index, (start, period, count, bar_start) in enumerate(plan):
        stop = duration if index == len(plan) - 1 else start + count * period - 1e-9
        k = 0
        while start + k * period < min(stop, duration - 1e-9):
            beats.append(start + k * period)
            periods.append(period)
            bar_starts.append(bar_start and k == 0)
            k += 1
    times = np.array(beats, dtype=np.float64)
    bpm = 60.0 / np.array(periods, dtype=np.float64)
    downbeats = _downbeats(times, cuts, np.array(bar_starts), len(plan) == 1, per_bar, tol)
    durations = np.diff(np.r_[times, duration])
    # The tempo that most of the piece's time is in.
    order = np.argsort(bpm)
    middle = np.searchsorted(np.cumsum(durations[order]), durations.sum() / 2)
    nominal = float(bpm[order][min(int(middle), bpm.size - 1)])
    return BeatGrid(times, downbeats, bpm, nominal, _on_beat_fraction(times, cuts, tol))


def _downbeats(
    times: npt.NDArray[np.float64],
    cuts: npt.NDArray[np.float64],
    bar_starts: npt.NDArray[np.bool_],
    constant: bool,
    per_bar: int,
    tol: float,
) -> npt.NDArray[np.bool_]:
    """Bars restart at every segment start; one constant tempo picks the bar phase that puts
    the most cuts on downbeats."""
    flags = np.zeros(times.size, bool)
    if times.size == 0:
        return flags
    if constant:
        on = np.array([np.min(np.abs(cuts - t)) <= tol if cuts.size else False for t in times])
        counts = [on[offset::per_bar].sum() for offset in range(per_bar)]
        flags[int(np.argmax(counts)) if cuts.size else 0 :: per_bar] = True
        return flags
    since_bar = 0
    for k in range(times.size):  # within a segment, every per_bar beats after its start
        if bar_starts[k] or k == 0:
            since_bar = 0
        flags[k] = since_bar % per_bar == 0
        since_bar += 1
    return flags


def _on_beat_fraction(
    times: npt.NDArray[np.float64], cuts: npt.NDArray[np.float64], tol: float
) -> float:
    if cuts.size == 0:
        return 1.0
    nearest = np.min(np.abs(cuts[:, None] - times[None, :]), axis=1)
    return float((nearest <= tol).mean())
