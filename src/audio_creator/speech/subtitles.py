"""Subtitles (SubRip, .srt) from a narration's sentence timings."""

from __future__ import annotations

import os
from collections.abc import Sequence

from audio_creator.files import atomic_output, check_output_path
from audio_creator.speech.narrate import SpokenSentence


def srt_timestamp(seconds: float) -> str:
    """SubRip's `HH:MM:SS,mmm`."""
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d},{millis:03d}"


def to_srt(spoken: Sequence[SpokenSentence]) -> str:
    """The SubRip text: one numbered cue per sentence."""
    cues = [
        f"{number}\n{srt_timestamp(s.start_s)} --> {srt_timestamp(s.end_s)}\n{s.text}\n"
        for number, s in enumerate(spoken, start=1)
    ]
    return "\n".join(cues)


def write_srt(spoken: Sequence[SpokenSentence], path: str | os.PathLike[str]) -> None:
    """Write the subtitles to `path` (UTF-8, atomically)."""
    out = check_output_path(path)
    with atomic_output(out) as tmp:
        tmp.write_text(to_srt(spoken), encoding="utf-8")
