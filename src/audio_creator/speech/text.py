"""Text for a voice: cleaned, checked, and cut into paragraphs and sentences.

Sentences are the unit of synthesis (bounded memory at any length) and of subtitles. A full stop
after a common abbreviation ("Dr.", "e.g.", "Dec.") or inside a number ("3.5") does not end a
sentence; a very long sentence is cut further at commas or spaces so no piece overwhelms a voice.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from audio_creator.errors import ConfigError

MAX_CHARACTERS = 1_000_000  # a book chapter is ~50,000; refuse what is surely a mistake
MAX_PIECE = 400  # characters per synthesised piece

# fmt: off
ABBREVIATIONS = frozenset((
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "vs", "etc", "e.g", "i.e", "a.m",
    "p.m", "no", "vol", "fig", "approx", "dept", "est", "inc", "ltd", "co", "jan", "feb", "mar",
    "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "mon", "tue", "wed", "thu",
    "fri", "sat", "sun", "u.s", "u.k",
))
# fmt: on
_SENTENCE_END = re.compile(r"([.!?…]+[\"'”’)\]]*)\s+")


@dataclass(frozen=True)
class Sentence:
    """One piece of text to speak, and whether a paragraph ends after it."""

    text: str
    paragraph_end: bool


def clean(text: str) -> str:
    """Text a voice can read: control characters and emoji dropped, spaces tidied.

    Raises:
        ConfigError: nothing speakable is left, or the text is implausibly long.
    """
    if len(text) > MAX_CHARACTERS:
        raise ConfigError(
            f"text of {len(text):,} characters is too long (at most {MAX_CHARACTERS:,}); "
            "split it into several files"
        )
    kept = []
    for char in unicodedata.normalize("NFC", text):
        category = unicodedata.category(char)
        if char in "\n\t":
            kept.append(char)
        elif category.startswith("C") or category == "So":  # controls, format chars, emoji
            kept.append(" ")
        else:
            kept.append(char)
    lines = ["".join(kept)]
    tidy = re.sub(r"[ \t\u00a0]+", " ", lines[0])
    tidy = re.sub(r" *\n *", "\n", tidy).strip()
    if not any(ch.isalnum() for ch in tidy):
        raise ConfigError("there is no text to speak (it is empty, or only spaces and symbols)")
    return tidy


def sentences(text: str) -> list[Sentence]:
    """Paragraphs (separated by a blank line) cut into sentences, each at most MAX_PIECE long."""
    out: list[Sentence] = []
    for paragraph in re.split(r"\n\s*\n", clean(text)):
        pieces = [p for s in _split_sentences(paragraph.replace("\n", " ")) for p in _cap(s)]
        pieces = [p for p in pieces if any(ch.isalnum() for ch in p)]
        out += [Sentence(p, i == len(pieces) - 1) for i, p in enumerate(pieces)]
    return out


def _split_sentences(paragraph: str) -> list[str]:
    found: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(paragraph):
        before = paragraph[start : match.start()].split()
        last_word = before[-1].lower().rstrip(".") if before else ""
        if match.group(1) == "." and (last_word in ABBREVIATIONS or len(last_word) == 1):
            continue  # "Dr. Smith", "J. R. R. Tolkien"
        found.append(paragraph[start : match.end()].strip())
        start = match.end()
    rest = paragraph[start:].strip()
    if rest:
        found.append(rest)
    return found


def _cap(sentence: str) -> list[str]:
    """A sentence longer than MAX_PIECE, cut at the last comma (else space) before the limit."""
    pieces = []
    while len(sentence) > MAX_PIECE:
        window = sentence[:MAX_PIECE]
        cut = max(window.rfind(", "), window.rfind("; "), window.rfind(": "))
        cut = cut + 1 if cut > MAX_PIECE // 3 else window.rfind(" ")
        if cut <= 0:
            cut = MAX_PIECE
        pieces.append(sentence[:cut].strip())
        sentence = sentence[cut:].strip()
    return [*pieces, sentence] if sentence else pieces
