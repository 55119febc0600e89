"""Narration on a video's timeline: after a short intro, sentences starting at shot changes
where they fit, spread over the video when there is room, never running past its end.

The plan works on sentence lengths only; the caller speeds the voice up (within limits) when the
narration is too long, and whatever still does not fit is dropped with a warning.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from audio_creator.errors import ConfigError

INTRO_S = 1.5  # music alone before the first word (shorter for short videos)
TAIL_S = 1.0  # and after the last
GAP_S = 0.4  # the least silence between two sentences
MAX_SPREAD_GAP_S = 4.0  # spare time is shared out between sentences up to this much each
SNAP_S = 1.5  # a shot change this close after the planned start takes the sentence
MAX_SPEEDUP = 1.3  # the voice may be this much faster than asked to fit the video


@dataclass(frozen=True)
class Placement:
    """Where each kept sentence starts on the timeline, and what could not be kept."""

    starts_s: tuple[float, ...]  # one per kept sentence, in order
    dropped: int  # sentences at the end that did not fit
    warnings: tuple[str, ...] = ()


def window(duration_s: float) -> tuple[float, float]:
    """(first start, last end) allowed for speech in a video of `duration_s`."""
    if duration_s < 1.0:
        raise ConfigError(f"the video is {duration_s:.2f} s long; narration needs at least 1 s")
    intro = min(INTRO_S, 0.1 * duration_s)
    return intro, duration_s - min(TAIL_S, 0.05 * duration_s)


def speech_length(lengths: Sequence[float]) -> float:
    """Seconds that sentences of `lengths` take back to back, with the least gap between."""
    return sum(lengths) + GAP_S * max(0, len(lengths) - 1)


def speedup_needed(lengths: Sequence[float], duration_s: float) -> float:
    """How much faster the voice must speak for all of it to fit (1.0: it fits already)."""
    first, last = window(duration_s)
    needed = speech_length(lengths) / (last - first)
    return max(1.0, needed)


def place(lengths: Sequence[float], shot_starts: Sequence[float], duration_s: float) -> Placement:
    """Start times for sentences of `lengths` seconds in a video of `duration_s`.

    Each sentence starts after the previous one plus the least gap plus an even share of the
    time still spare (some is left after the last sentence, too). If a shot change comes within
    SNAP_S after that, and everything after it still fits, the sentence starts on the change.
    Sentences that would end past the window are dropped.
    """
    first, last = window(duration_s)
    starts: list[float] = []
    cursor = first  # the earliest the next sentence may start
    for index, length in enumerate(lengths):
        rest = speech_length(lengths[index:])
        if index:  # an even share of what is spare now, so later sentences still fit
            spare = last - cursor - rest
            cursor += min(MAX_SPREAD_GAP_S, max(0.0, spare) / (len(lengths) - index + 1))
        start = cursor
        for change in shot_starts:
            if cursor <= change <= cursor + SNAP_S and change + rest <= last:
                start = change
                break
        if start + length > last + 1e-9:
            dropped = len(lengths) - index
            note = (
                f"the narration is longer than the video: its last {dropped} of "
                f"{len(lengths)} sentence(s) were left out"
            )
            return Placement(tuple(starts), dropped, (note,))
        starts.append(start)
        cursor = start + length + GAP_S
    return Placement(tuple(starts), 0)
