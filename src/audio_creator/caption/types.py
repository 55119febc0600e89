"""What every captioner returns, and the word limit they all keep."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Caption:
    """A narration script for a video, and where it came from."""

    text: str
    backend: str  # "offline", "openai", "none"
    reason: str  # why this backend, for the report


def fit_words(text: str, max_words: int) -> str:
    """`text` cut to at most `max_words` words, at the last sentence end that fits (or, when even
    the first sentence is longer, at the word limit with a full stop)."""
    words = text.split()
    if len(words) <= max_words:
        return " ".join(words)
    kept = " ".join(words[:max_words])
    ends = [m.end() for m in re.finditer(r"[.!?](?=\s|$)", kept)]
    if ends:
        return kept[: ends[-1]]
    return kept.rstrip(",;:") + "."
