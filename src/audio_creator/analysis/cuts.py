"""Shot boundaries from per-frame features: hard cuts, fades through black, and dissolves.

A hard cut is a single-frame change that stands out from its surroundings and stays: the score
between frames i − 1 and i must exceed a floor, be several times what neighbouring frames show
(camera motion raises every neighbour, a cut only one), and the new picture must persist (a
flash returns to the old one). Fades are found from black frames and the ramps around them;
dissolves from windows whose middle frame is the average of its ends while contrast dips, which a
moving camera does not produce.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from audio_creator.analysis.features import histogram_distance, luma_difference

Floats = npt.NDArray[np.float32]

CUT_FLOOR = 0.30  # the smallest change score that can be a cut
CUT_CONTRAST = 3.0  # a cut's score ÷ the typical score of its neighbourhood
PERSIST = 0.6  # the change must still be this fraction of the score two frames later
NEIGHBOURHOOD_S = 0.5  # each side, for the typical score
MIN_SHOT_S = 0.2  # two cuts closer than this are one (the stronger)
DARK_BRIGHTNESS, DARK_CONTRAST = 0.08, 0.05  # a "black" frame
FADE_MAX_STEP = 0.12  # brightness change per frame, at most, within a fade
FADE_MIN_FRAMES = 3
STRUCTURE_CHANGE = 0.5  # a cut inside a fade: standardised thumbnails differ this much (0 … 1.1)
DISSOLVE_HALF_WIDTHS_S = (0.25, 0.5, 0.75, 1.0)
DISSOLVE_MIN_CHANGE = 0.35  # change score between a dissolve's two ends
DISSOLVE_MAX_RESIDUAL = 0.4  # |middle − mean of ends| ÷ |end − end|
DISSOLVE_CONTRAST_DIP = 0.9  # middle contrast ÷ mean contrast of the ends
_CHUNK = 4096  # frames per step of the windowed measurements


@dataclass(frozen=True)
class Transition:
    """A gradual shot change between `start_s` and `end_s`."""

    kind: str  # "fade-out", "fade-in" or "dissolve"
    start_s: float
    end_s: float


def change_score(hist_a: Floats, hist_b: Floats, thumb_a: Floats, thumb_b: Floats) -> Floats:
    """How different two sets of frames look: colour distribution plus structure, about 0–2."""
    return np.asarray(
        histogram_distance(hist_a, hist_b) + 3 * luma_difference(thumb_a, thumb_b), dtype=np.float32
    )


def hard_cuts(
    histogram: Floats,
    thumbnail: Floats,
    fps: float,
    within_fades: npt.NDArray[np.bool_] | None = None,
) -> tuple[npt.NDArray[np.intp], Floats]:
    """Indices of the frames that begin a new shot with a hard cut, and every frame's score.

    Args:
        histogram: [frames, bins] colour histograms.
        thumbnail: [frames, h, w] luma thumbnails.
        fps: the frame rate, for the neighbourhood and minimum-shot windows.
        within_fades: frames inside a fade's ramp, which change colour quickly near black: a
            cut there must also change the picture's structure, far more than the frames
            around it do (`_cut_in_fade`: a cut in mid-fade, not a pan fading in).
    """
    frames = histogram.shape[0]
    score = np.zeros(frames, np.float32)
    if frames < 2:
        return np.zeros(0, np.intp), score
    score[1:] = _lagged_scores(histogram, thumbnail, 1)
    reach = max(2, round(NEIGHBOURHOOD_S * fps))
    # Typical score on each side (excluding the frame's immediate neighbours), averaged: motion
    # raises both sides, while a cut out of a moving shot into a still one raises only one.
    sides = np.stack([_sliding_median(score, reach, before=b) for b in (True, False)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # no side at all: a two-frame video
        typical = np.nan_to_num(np.nanmean(sides, axis=0), nan=0.0)
    # The new picture must stay (frame i + 1 still differs from i − 1) and the old one must have
    # been there (frame i − 2 differs from i too): a flash frame fails one of the two.
    two_apart = _lagged_scores(histogram, thumbnail, 2)
    persists = np.full(frames, np.inf, np.float32)
    persists[1:-1] = two_apart  # frame i − 1 against i + 1
    persists[2:] = np.minimum(persists[2:], two_apart)  # frame i − 2 against i
    candidate = (
        (score >= CUT_FLOOR) & (score >= CUT_CONTRAST * typical) & (persists >= PERSIST * score)
    )
    if within_fades is not None:
        for index in np.flatnonzero(candidate & within_fades):
            candidate[index] = _cut_in_fade(thumbnail, int(index), reach)
    chosen = _strongest_apart(np.flatnonzero(candidate), score, max(1, round(MIN_SHOT_S * fps)))
    return chosen, score


def _cut_in_fade(thumbnail: Floats, index: int, reach: int) -> bool:
    """Whether frame `index`, inside a fade's ramp, begins a new picture: its structure (the
    thumbnail standardised to zero mean and unit spread, which takes the fade's gain out) differs
    from the frame before by STRUCTURE_CHANGE or more, and by CUT_CONTRAST times what the lit
    frames within `reach` each side show. The same picture at two levels of a fade differs by a
    few hundredths, two unrelated pictures by about 2/√π ≈ 1.1, and a fast pan by about 0.5 at
    every frame, which the comparison with its neighbours rules out. Near black the few levels
    left make that noise, so a dark frame is never judged a new picture."""
    lo, hi = max(1, index - reach), min(thumbnail.shape[0], index + reach + 1)
    after = thumbnail[lo:hi]
    before = thumbnail[lo - 1 : hi - 1]
    change = np.abs(_standardised(after) - _standardised(before)).mean(axis=(-2, -1))
    darker = np.minimum(before.mean(axis=(-2, -1)), after.mean(axis=(-2, -1)))
    lit = darker >= DARK_BRIGHTNESS
    own = index - lo
    around = lit & (np.abs(np.arange(lo, hi) - index) > 1)  # not the frame nor its neighbours
    typical = float(np.median(change[around])) if around.any() else 0.0
    return bool(lit[own] and change[own] >= max(STRUCTURE_CHANGE, CUT_CONTRAST * typical))


def _standardised(thumbs: Floats) -> Floats:
    centred = thumbs - thumbs.mean(axis=(-2, -1), keepdims=True)
    spread = np.maximum(centred.std(axis=(-2, -1), keepdims=True), 1e-3)
    return np.asarray(centred / spread, dtype=np.float32)


def fades(brightness: Floats, contrast: Floats, times_s: Floats) -> list[Transition]:
    """Fades out to black and in from black: the gradual brightness ramps around black frames.

    A ramp grows one frame at a time while the brightness keeps moving away from black by less
    than FADE_MAX_STEP per frame, so the jump of a hard cut out of black ends it.
    """
    dark = (brightness < DARK_BRIGHTNESS) & (contrast < DARK_CONTRAST)
    found: list[Transition] = []
    frames = dark.size

    def ramp(index: int, step: int) -> int:
        while 0 <= index + step < frames:
            rise = brightness[index + step] - brightness[index]
            if not 1e-3 < rise <= FADE_MAX_STEP:
                break
            index += step
        return index

    index = 0
    while index < frames:
        if not dark[index]:
            index += 1
            continue
        first = index
        while index < frames and dark[index]:
            index += 1
        last = index - 1
        start, end = ramp(first, -1), ramp(last, +1)
        if first - start >= FADE_MIN_FRAMES:
            found.append(Transition("fade-out", float(times_s[start]), float(times_s[first])))
        if end - last >= FADE_MIN_FRAMES:
            found.append(Transition("fade-in", float(times_s[last]), float(times_s[end])))
    return found


def dissolves(
    histogram: Floats,
    thumbnail: Floats,
    contrast: Floats,
    times_s: Floats,
    fps: float,
    exclude: npt.NDArray[np.bool_],
) -> list[Transition]:
    """Cross-dissolves: windows whose middle frame is the average of its two ends.

    Args:
        exclude: frames already explained (hard cuts, fades); a window touching one is not a
            dissolve.
    """
    frames = histogram.shape[0]
    windows: list[tuple[int, int, float]] = []
    blocked = np.concatenate([[0], np.cumsum(exclude)])
    for half_s in DISSOLVE_HALF_WIDTHS_S:
        half = max(2, round(half_s * fps))
        if frames <= 2 * half:
            continue
        for first in range(half, frames - half, _CHUNK):  # in chunks: memory flat at any length
            mid = np.arange(first, min(first + _CHUNK, frames - half))
            a, b = mid - half, mid + half
            change = change_score(histogram[a], histogram[b], thumbnail[a], thumbnail[b])
            middle = thumbnail[mid] - 0.5 * (thumbnail[a] + thumbnail[b])
            spread = np.abs(thumbnail[a] - thumbnail[b]).mean(axis=(1, 2))
            residual = np.abs(middle).mean(axis=(1, 2)) / np.maximum(spread, 1e-3)
            dip = contrast[mid] / np.maximum(0.5 * (contrast[a] + contrast[b]), 1e-3)
            clean = blocked[b + 1] - blocked[a] == 0
            ok = (
                (change >= DISSOLVE_MIN_CHANGE)
                & (residual <= DISSOLVE_MAX_RESIDUAL)
                & (dip <= DISSOLVE_CONTRAST_DIP)
                & clean
            )
            windows += [(int(a[i]), int(b[i]), float(change[i])) for i in np.flatnonzero(ok)]
    # Overlapping windows describe one dissolve: take their union, then find where within it the
    # picture actually moves from one end to the other.
    merged: list[list[int]] = []
    for lo, hi, _ in sorted(windows):
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    found = []
    for lo, hi in merged:
        first, last = _blend_extent(thumbnail[lo : hi + 1])
        found.append(Transition("dissolve", float(times_s[lo + first]), float(times_s[lo + last])))
    return found


def _blend_extent(thumbs: Floats) -> tuple[int, int]:
    """First and last frame of the blend from thumbs[0] to thumbs[-1] (relative indices).

    Each frame's position between the two ends is its projection onto the line joining them: 0
    before the dissolve, 1 after it, rising in between. The ramp 0 → 1 that fits those
    positions best (least squares over every start and end) gives the extent, which motion on
    either side of the dissolve only adds noise to.
    """
    start, end = thumbs[0].astype(np.float32), thumbs[-1].astype(np.float32)
    axis = (end - start).ravel()
    weight = (thumbs.reshape(thumbs.shape[0], -1) - start.ravel()) @ axis / max(axis @ axis, 1e-6)
    frames = weight.size
    index = np.arange(frames)
    first, last = np.triu_indices(frames, k=1)
    ramps = np.clip((index[None, :] - first[:, None]) / (last - first)[:, None], 0.0, 1.0)
    best = int(np.argmin(((ramps - weight[None, :]) ** 2).sum(axis=1)))
    return int(first[best]), int(last[best])


def _lagged_scores(histogram: Floats, thumbnail: Floats, lag: int) -> Floats:
    """change_score(frame i, frame i + lag) for every i, a chunk at a time."""
    count = max(0, histogram.shape[0] - lag)
    out = np.empty(count, np.float32)
    for start in range(0, count, _CHUNK):
        stop = min(start + _CHUNK, count)
        out[start:stop] = change_score(
            histogram[start + lag : stop + lag],
            histogram[start:stop],
            thumbnail[start + lag : stop + lag],
            thumbnail[start:stop],
        )
    return out


def _sliding_median(score: Floats, reach: int, *, before: bool) -> Floats:
    """Median of `reach` scores on one side of each frame, skipping the adjacent frame."""
    frames = score.size
    padded = np.concatenate(
        [np.full(reach + 1, np.nan, np.float32), score, np.full(reach + 1, np.nan, np.float32)]
    )
    windows = np.lib.stride_tricks.sliding_window_view(padded, reach)
    # Window w covers padded[w : w + reach] = score[w − reach − 1 : w − 1].
    # Before frame i: score[i − reach − 1 … i − 2]; after it: score[i + 2 … i + reach + 1].
    start = np.arange(frames) + (0 if before else reach + 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows at the ends
        median = np.nanmedian(windows[start], axis=1)
    return np.asarray(median, dtype=np.float32)  # NaN where a side has no frame


def _strongest_apart(
    indices: npt.NDArray[np.intp], score: Floats, gap: int
) -> npt.NDArray[np.intp]:
    """Keep the strongest of any candidates closer than `gap` frames."""
    kept: list[int] = []
    for index in sorted(indices.tolist(), key=lambda i: -score[i]):
        if all(abs(index - other) >= gap for other in kept):
            kept.append(index)
    return np.array(sorted(kept), dtype=np.intp)
