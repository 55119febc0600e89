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

# A full stop after a title never ends a sentence ("Dr. Smith"); after another abbreviation it
# does only when a capitalised word follows ("in the U.S. It was…", but "e.g. apples").
TITLES = frozenset(("mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "vs", "rev", "gen"))
# fmt: off
ABBREVIATIONS = frozenset((
    "etc", "e.g", "i.e", "a.m", "p.m", "vol", "approx", "dept", "inc", "ltd", "jan", "feb", "apr",
    "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "u.s", "u.k", "no", "fig",
))
# fmt: on
_OPENERS = "([{\"'“‘«¿¡"
# Western ends need a space after them; CJK, Devanagari and Arabic ones do not.
_SENTENCE_END = re.compile(r"([.!?…]+[\"'”’)\]»›]*)\s+|([。！？।॥؟]+[」』”’）]*)\s*")


@dataclass(frozen=True)
class Sentence:
    """One piece of text to speak, and whether a paragraph ends after it."""

    text: str
    paragraph_end: bool


def strip_terminal_codes(text: str) -> str:
    """`text` without the escape sequences of a terminal (colours, cursor moves)."""
    return _TERMINAL_CODES.sub("", text)


def clean(text: str) -> str:
    """Text a voice can read: terminal escape sequences, control characters and emoji dropped,
    spaces tidied.

    Raises:
        ConfigError: nothing speakable is left, or the text is implausibly long.
    """
    if len(text) > MAX_CHARACTERS:
        raise ConfigError(
            f"text of {len(text):,} characters is too long (at most {MAX_CHARACTERS:,}); "
            "split it into several files"
        )
    text = strip_terminal_codes(text)  # colours and cursor moves pasted from a terminal
    text = _TEMPERATURE.sub(
        lambda m: f"{m.group(1)} degrees {'Celsius' if m.group(2) == 'C' else 'Fahrenheit'}", text
    )
    kept = []
    for char in unicodedata.normalize("NFC", text):
        category = unicodedata.category(char)
        if char in "\n\t" or char in "\u200c\u200d":
            kept.append(char)
        elif category == "Cf":  # soft hyphens and other invisible formatting: gone
            continue
        elif category.startswith("C") or _is_emoji(char):
            kept.append(" ")
        else:
            kept.append(SYMBOLS.get(char, char))
    tidy = re.sub(r"[ \t\u00a0]+", " ", "".join(kept))
    tidy = re.sub(r"\u200d(?=\s|$)|(?<=\s)\u200d", "", tidy)  # joiners left by dropped emoji
    tidy = re.sub(r" *\n *", "\n", tidy).strip()
    if not any(ch.isalnum() for ch in tidy):
        raise ConfigError("there is no text to speak (it is empty, or only spaces and symbols)")
    return tidy


# ANSI/ECMA-48 escape sequences: their ESC alone would be dropped, but "[31m" would be read out.
_TERMINAL_CODES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves, erasing
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC: window titles, links
    r"|\x1b[ -/]+[0-~]|\x1b[@-Z\\-_]"  # character sets (ESC ( B) and the rest
)
SYMBOLS = {"°": " degrees ", "№": "number ", "%": " percent", "&": " and "}
_TEMPERATURE = re.compile(r"(\d)\s*°\s*([CF])\b")


def _is_emoji(char: str) -> bool:
    """Pictographs, emoji and their skin-tone modifiers (not °, ©, ™ or currency)."""
    code = ord(char)
    return (
        0x1F000 <= code <= 0x1FAFF
        or 0x2600 <= code <= 0x27BF
        or 0x1F3FB <= code <= 0x1F3FF
        or code == 0xFE0F
    )


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
        if match.end() >= len(paragraph) or not _ends_here(paragraph, match):
            continue
        found.append(paragraph[start : match.end()].strip())
        start = match.end()
    rest = paragraph[start:].strip()
    if rest:
        found.append(rest)
    return found


def _ends_here(paragraph: str, match: re.Match[str]) -> bool:
    """Whether the punctuation of `match` ends a sentence, judged by the words either side."""
    if match.group(2):  # 。！？ and their kin always do
        return True
    following = paragraph[match.end() : match.end() + 2].lstrip(_OPENERS)
    if not following or following[0].islower():
        return False  # "Wait... what?", "e.g. apples", '"Stop!" he said'
    if match.group(1).rstrip("\"'”’)]»›") != ".":
        return True
    # Only the last word counts (a look at the whole paragraph would be quadratic).
    window = paragraph[max(0, match.start() - 40) : match.start()].split()
    word = window[-1].lstrip(_OPENERS).lower().rstrip(".") if window else ""
    if word in TITLES:
        return False  # "Dr. Smith"
    if word in ABBREVIATIONS and following[0].isdigit():
        return False  # "No. 5", "Dec. 5th"
    # A single capital letter before a capitalised name is an initial: "J. R. Tolkien".
    return not (len(word) == 1 and word.isalpha() and following[0].isupper() and _initial(window))


def _initial(window: list[str]) -> bool:
    return window[-1].lstrip(_OPENERS)[:1].isupper()


def _cap(sentence: str) -> list[str]:
    """A sentence longer than MAX_PIECE, cut at the last comma (else space) before the limit."""
    pieces = []
    while len(sentence) > MAX_PIECE:
        window = sentence[:MAX_PIECE]
        cut = max(
            window.rfind(", "), window.rfind("; "), window.rfind(": "),
            window.rfind("，"), window.rfind("、"), window.rfind("；"), window.rfind("："),
        )  # fmt: skip
        cut = cut + 1 if cut > MAX_PIECE // 3 else window.rfind(" ")
        if cut <= 0:
            cut = MAX_PIECE
        pieces.append(sentence[:cut].strip())
        sentence = sentence[cut:].strip()
    return [*pieces, sentence] if sentence else pieces
