"""A caption written from the video analysis alone: what was measured, nothing invented.

The analysis knows the length, the shots and how they change (cuts, fades, dissolves), the light,
the colour and how much moves; it does not know what is in the picture. So the caption speaks of
pace, light, colour and movement, and of how they change from the first half to the second, and
names no objects or people.
"""

from __future__ import annotations

import numpy as np

from audio_creator.analysis.video import MOTION_REFERENCE, VideoAnalysis
from audio_creator.caption.types import Caption, fit_words

_NUMBERS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def describe_video(analysis: VideoAnalysis, max_words: int = 60) -> Caption:
    """A few plain sentences about `analysis`, at most `max_words` words."""
    sentences = [_opening(analysis), _light_and_colour(analysis), _movement(analysis)]
    sentences += [_pace(analysis), _ending(analysis)]
    text = " ".join(s for s in sentences if s)
    return Caption(fit_words(text, max_words), "offline", "written from the video analysis")


def shot_starts(analysis: VideoAnalysis, merge_s: float = 1.0) -> list[float]:
    """Where each shot starts: 0, every hard cut, and the end of each fade or dissolve; changes
    closer than `merge_s` (a fade to black, then a cut) count once, at the later one."""
    changes = sorted(
        t for t in (*analysis.cuts_s, *(t.end_s for t in analysis.transitions))
        if 0 < t < analysis.duration_s
    )  # fmt: skip
    starts = [0.0]
    for change in changes:
        if change - starts[-1] < merge_s and len(starts) > 1:
            starts[-1] = change
        elif change >= merge_s:
            starts.append(change)
    return starts


def _count(n: int) -> str:
    return _NUMBERS[n] if n < len(_NUMBERS) else str(n)


def _opening(analysis: VideoAnalysis) -> str:
    seconds = round(analysis.duration_s)
    shots = len(shot_starts(analysis))
    length = f"{seconds}-second" if seconds >= 1 else "very short"
    if shots == 1:
        return f"This {length} video is a single continuous shot."
    return f"This {length} video is told in {_count(shots)} shots."


def _light_and_colour(analysis: VideoAnalysis) -> str:
    brightness = float(np.median(analysis.brightness))
    warmth = float(np.median(analysis.warmth))
    saturation = float(np.median(analysis.saturation))
    light = "dark" if brightness < 0.25 else "dim" if brightness < 0.4 else "bright"
    if saturation < 0.12:
        return f"The pictures are {light} and nearly colourless."
    tone = "warm" if warmth > 0.05 else "cool" if warmth < -0.05 else "balanced"
    vividness = "vivid" if saturation > 0.35 else "soft"
    return f"The pictures are {light}, in {vividness}, {tone} colours."


def _movement(analysis: VideoAnalysis) -> str:
    half = analysis.duration_s / 2
    first = analysis.at(analysis.motion, 0, half)
    second = analysis.at(analysis.motion, half, analysis.duration_s)
    overall = float(np.mean(analysis.motion))
    amount = (
        "almost nothing moves"
        if overall < MOTION_REFERENCE / 6
        else "things move gently"
        if overall < MOTION_REFERENCE / 2
        else "there is steady movement"
        if overall < 2 * MOTION_REFERENCE
        else "the picture is full of fast movement"
    )
    if max(first, second) > MOTION_REFERENCE / 3 and second > 1.6 * first:
        return f"At first {amount.replace('fast ', '')}; the movement builds in the second half."
    if max(first, second) > MOTION_REFERENCE / 3 and first > 1.6 * second:
        return f"It starts with more movement and grows calmer towards the end; overall {amount}."
    return f"Throughout, {amount}."


def _pace(analysis: VideoAnalysis) -> str:
    starts = shot_starts(analysis)
    if len(starts) < 2:
        return ""
    average = analysis.duration_s / len(starts)
    if average < 2:
        pace = "The cuts come quickly, every couple of seconds or less."
    elif average < 5:
        pace = f"A new shot arrives about every {round(average)} seconds."
    else:
        pace = "The shots are long and unhurried."
    names = {"fade-out": "fades to black", "fade-in": "fades up", "dissolve": "dissolves"}
    kinds = sorted({names.get(t.kind, t.kind) for t in analysis.transitions})
    if kinds:
        pace += f" Some changes are gradual: {' and '.join(kinds)}."
    return pace


def _ending(analysis: VideoAnalysis) -> str:
    last = analysis.transitions[-1] if analysis.transitions else None
    if last is not None and last.kind == "fade-out" and last.end_s >= analysis.duration_s - 0.5:
        return "It ends on a fade to black."
    return ""
