"""A beat grid whose beats land on the video's cuts: tempo and phase fitted jointly.

Two plans compete under one cost (in units of "one cut missed"):

- one constant tempo near the target, its phase anchored on a cut, scored by how many cuts fall
  within `tolerance_s` of a beat;
- a piecewise-constant tempo that may change at cuts: a dynamic programme over the cuts, where
  each segment between two chosen cuts holds a whole number of beats (so both ends land on a
  beat, and every chosen cut on a downbeat), paying for distance from the target tempo, for
  each tempo change and for the cuts inside it that miss.

The cheaper plan wins, so a video whose cuts already sit on a common grid keeps one tempo.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from audio_creator.errors import ConfigError

TOLERANCE_S = 0.02  # a cut this close to a beat counts as on it
MAX_DEVIATION = 0.2  # no segment's tempo further than this (relative) from the target
DEVIATION_COST = 2.0  # per unit of |log(tempo / target)|, per segment
CHANGE_COST = 3.0  # per unit of |log(new / old)| at a tempo change
OFF_DOWNBEAT_COST = 0.1  # per cut on a beat that does not start a bar (or per irregular bar)
ERROR_COST = 0.2  # per cut on a beat, times its distance from the beat ÷ tolerance
MAX_SPAN = 8  # a segment may skip over at most this many cuts
MAX_ANCHORS = 64  # a constant tempo's phase is tried on at most this many cuts


@dataclass(frozen=True)
class BeatGrid:
    """Beat times and bar structure of a piece. Times in seconds."""

    beats_s: npt.NDArray[np.float64]  # every beat, increasing, covering [0, duration)
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
    constant_cost, constant = _constant_plan(
        cuts, duration_s, target_bpm, beats_per_bar, tolerance_s
    )
    segments_cost, segments = _segment_plan(
        cuts, duration_s, target_bpm, beats_per_bar, tolerance_s
    )
    plan = segments if segments_cost < constant_cost - 1e-9 else constant
    return _grid(plan, cuts, duration_s, beats_per_bar, tolerance_s)


# A plan is a list of (start time, beat period, beats) segments; the last runs to the end.
_Plan = list[tuple[float, float, int]]


def _constant_plan(
    cuts: npt.NDArray[np.float64], duration: float, target: float, per_bar: int, tol: float
) -> tuple[float, _Plan]:
    periods = 60.0 / np.linspace(target * (1 - MAX_DEVIATION), target * (1 + MAX_DEVIATION), 481)
    if cuts.size == 0:
        return 0.0, [(0.0, 60.0 / target, math.ceil(duration * target / 60) + 1)]
    # Phase anchored on a cut (each in turn, or a spread of them); score the cuts on that grid.
    anchors = cuts[
        np.unique(np.linspace(0, cuts.size - 1, min(cuts.size, MAX_ANCHORS)).astype(int))
    ]
    beats = (cuts[None, :, None] - anchors[None, None, :]) / periods[:, None, None]
    nearest = np.rint(beats)
    error = np.abs(beats - nearest) * periods[:, None, None]  # [period, cut, anchor]
    on = error <= tol
    off_downbeat = on & (np.mod(nearest, per_bar) != 0)
    cost = (
        (~on).sum(axis=1)
        + OFF_DOWNBEAT_COST * off_downbeat.sum(axis=1)
        + ERROR_COST * np.where(on, error / tol, 0.0).sum(axis=1)
        + DEVIATION_COST * np.abs(np.log(60.0 / periods / target))[:, None]
    )
    p, a = np.unravel_index(int(np.argmin(cost)), cost.shape)
    period, anchor = float(periods[p]), float(anchors[a])
    start = anchor - math.floor(anchor / period) * period
    return float(cost[p, a]), [(start, period, math.ceil((duration - start) / period) + 1)]


def _segment_plan(
    cuts: npt.NDArray[np.float64], duration: float, target: float, per_bar: int, tol: float
) -> tuple[float, _Plan]:
    nodes = np.r_[0.0, cuts]  # node 0 is the start of the piece: a downbeat at 0
    count = nodes.size
    # best[(j, i, n)]: cheapest plan whose last segment runs from node i to node j in n beats.
    best: dict[tuple[int, int, int], tuple[float, tuple[int, int, int] | None]] = {}
    ending_at: dict[int, list[tuple[int, int, int]]] = {}
    target_period = 60.0 / target
    for j in range(1, count):
        for i in range(max(0, j - MAX_SPAN - 1), j):
            span = nodes[j] - nodes[i]
            for n in {max(1, math.floor(span / target_period)), math.ceil(span / target_period)}:
                period = span / n
                deviation = abs(math.log(target_period / period))
                if n < 1 or deviation > math.log(1 + MAX_DEVIATION):
                    continue
                inner = nodes[i + 1 : j] - nodes[i]
                phase = np.abs(np.mod(inner / period + 0.5, 1.0) - 0.5) * period
                cost = (
                    DEVIATION_COST * deviation
                    + float((phase > tol).sum())
                    + ERROR_COST * float(phase[phase <= tol].sum() / tol)
                    + (OFF_DOWNBEAT_COST if n % per_bar else 0.0)
                )
                if i == 0:
                    best[(j, i, n)] = (cost, None)
                    ending_at.setdefault(j, []).append((j, i, n))
                    continue
                options = [
                    (
                        best[key][0]
                        + CHANGE_COST * abs(math.log((nodes[i] - nodes[key[1]]) / key[2] / period)),
                        key,
                    )
                    for key in ending_at.get(i, ())
                ]
                if options:
                    previous_cost, previous_key = min(options)
                    best[(j, i, n)] = (cost + previous_cost, previous_key)
                    ending_at.setdefault(j, []).append((j, i, n))
    if not best:
        return math.inf, []
    # Cuts after the last segment's end are missed.
    finals = [(c + (count - 1 - j), (j, i, n)) for (j, i, n), (c, _) in best.items()]
    total, state = min(finals)
    chain: list[tuple[int, int, int]] = []
    node: tuple[int, int, int] | None = state
    while node is not None:
        chain.append(node)
        node = best[node][1]
    chain.reverse()
    plan: _Plan = []
    for j, i, n in chain:
        plan.append((float(nodes[i]), float((nodes[j] - nodes[i]) / n), n))
    last_j, last_i, last_n = chain[-1]
    last_period = (nodes[last_j] - nodes[last_i]) / last_n
    plan.append(
        (float(nodes[last_j]), last_period, math.ceil((duration - nodes[last_j]) / last_period) + 1)
    )
    return total, plan


def _grid(
    plan: _Plan, cuts: npt.NDArray[np.float64], duration: float, per_bar: int, tol: float
) -> BeatGrid:
    first_start, first_period, _ = plan[0]
    # A constant plan may start after 0: extend it backwards (a pickup) to cover the start.
    beats = [
        first_start - k * first_period
        for k in range(math.ceil(first_start / first_period - 1e-9), 0, -1)
    ]
    periods = [first_period] * len(beats)
    for index, (start, period, count) in enumerate(plan):
        stop = duration if index == len(plan) - 1 else start + count * period - 1e-9
        k = 0
        while start + k * period < min(stop, duration - 1e-9):
            beats.append(start + k * period)
            periods.append(period)
            k += 1
    times = np.clip(np.array(beats, dtype=np.float64), 0.0, None)
    bpm = 60.0 / np.array(periods, dtype=np.float64)
    downbeats = _downbeats(times, cuts, plan, per_bar, tol)
    durations = np.diff(np.r_[times, duration])
    # The tempo that most of the piece's time is in.
    order = np.argsort(bpm)
    middle = np.searchsorted(np.cumsum(durations[order]), durations.sum() / 2)
    nominal = float(bpm[order][min(int(middle), bpm.size - 1)])
    return BeatGrid(times, downbeats, bpm, nominal, _on_beat_fraction(times, cuts, tol))


def _downbeats(
    times: npt.NDArray[np.float64],
    cuts: npt.NDArray[np.float64],
    plan: _Plan,
    per_bar: int,
    tol: float,
) -> npt.NDArray[np.bool_]:
    """Bars restart at every segment start; a single-segment plan picks the bar phase that puts
    the most cuts on downbeats."""
    flags = np.zeros(times.size, bool)
    if times.size == 0:
        return flags
    if len(plan) == 1:
        on = np.array([np.min(np.abs(cuts - t)) <= tol if cuts.size else False for t in times])
        counts = [on[offset::per_bar].sum() for offset in range(per_bar)]
        offset = int(np.argmax(counts)) if cuts.size else 0
        flags[offset::per_bar] = True
        return flags
    for start, _, _ in plan:
        index = int(np.argmin(np.abs(times - start)))
        flags[index] = True
    index = 0
    for k in range(times.size):  # within a segment, every per_bar beats after its start
        if flags[k]:
            index = 0
        elif index % per_bar == 0:
            flags[k] = True
        index += 1
    return flags


def _on_beat_fraction(
    times: npt.NDArray[np.float64], cuts: npt.NDArray[np.float64], tol: float
) -> float:
    if cuts.size == 0:
        return 1.0
    nearest = np.min(np.abs(cuts[:, None] - times[None, :]), axis=1)
    return float((nearest <= tol).mean())
