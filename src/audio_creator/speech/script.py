"""Which scripts a text is written in, by counting its letters (no dependencies, no model).

A voice asked to read a script it does not know reads each letter's name ("arabic meem, arabic
raa…"), so the script decides which voices can speak a text at all. `detect` counts the letters
of each script (marks, digits, punctuation and emoji are not letters), and `Letters.writing` names
the writing system that dominates, with a guess at its language: Arabic → ar, Han → zh, kana (with
or without kanji) → ja, Hangul → ko, Cyrillic → ru, Greek → el, Hebrew → he, Devanagari → hi,
Thai → th, and so on. The guess is only a default: Persian and Arabic share a script, as do
Russian and Ukrainian; `--language` says which.
"""

from __future__ import annotations

import bisect
import unicodedata
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from functools import lru_cache

# fmt: off
# (first, last code point, script), sorted by first code point.
_RANGES = sorted((
    (0x0041, 0x005A, "Latin"), (0x0061, 0x007A, "Latin"), (0x00AA, 0x00AA, "Latin"),
    (0x00BA, 0x00BA, "Latin"), (0x00C0, 0x02AF, "Latin"), (0x1D00, 0x1DBF, "Latin"),
    (0x1E00, 0x1EFF, "Latin"), (0x2C60, 0x2C7F, "Latin"), (0xA720, 0xA7FF, "Latin"),
    (0xAB30, 0xAB6F, "Latin"), (0xFB00, 0xFB06, "Latin"), (0xFF21, 0xFF3A, "Latin"),
    (0xFF41, 0xFF5A, "Latin"), (0x1D400, 0x1D7FF, "Latin"),  # mathematical letters
    (0x0370, 0x03FF, "Greek"), (0x1F00, 0x1FFF, "Greek"),
    (0x0400, 0x052F, "Cyrillic"), (0x1C80, 0x1C8F, "Cyrillic"), (0x2DE0, 0x2DFF, "Cyrillic"),
    (0xA640, 0xA69F, "Cyrillic"),
    (0x0530, 0x058F, "Armenian"), (0xFB13, 0xFB17, "Armenian"),
    (0x0590, 0x05FF, "Hebrew"), (0xFB1D, 0xFB4F, "Hebrew"),
    (0x0600, 0x06FF, "Arabic"), (0x0750, 0x077F, "Arabic"), (0x0870, 0x08FF, "Arabic"),
    (0xFB50, 0xFDFF, "Arabic"), (0xFE70, 0xFEFF, "Arabic"),
    (0x0700, 0x074F, "Syriac"), (0x0780, 0x07BF, "Thaana"),
    (0x0900, 0x097F, "Devanagari"), (0xA8E0, 0xA8FF, "Devanagari"),
    (0x0980, 0x09FF, "Bengali"), (0x0A00, 0x0A7F, "Gurmukhi"), (0x0A80, 0x0AFF, "Gujarati"),
    (0x0B00, 0x0B7F, "Oriya"), (0x0B80, 0x0BFF, "Tamil"), (0x0C00, 0x0C7F, "Telugu"),
    (0x0C80, 0x0CFF, "Kannada"), (0x0D00, 0x0D7F, "Malayalam"), (0x0D80, 0x0DFF, "Sinhala"),
    (0x0E00, 0x0E7F, "Thai"), (0x0E80, 0x0EFF, "Lao"), (0x0F00, 0x0FFF, "Tibetan"),
    (0x1000, 0x109F, "Myanmar"), (0x10A0, 0x10FF, "Georgian"), (0x1C90, 0x1CBF, "Georgian"),
    (0x2D00, 0x2D2F, "Georgian"),
    (0x1100, 0x11FF, "Hangul"), (0x3130, 0x318F, "Hangul"), (0xA960, 0xA97F, "Hangul"),
    (0xAC00, 0xD7FF, "Hangul"), (0xFFA0, 0xFFDC, "Hangul"),
    (0x1200, 0x139F, "Ethiopic"), (0x2D80, 0x2DDF, "Ethiopic"), (0x13A0, 0x13FF, "Cherokee"),
    (0x1780, 0x17FF, "Khmer"), (0x1800, 0x18AF, "Mongolian"),
    (0x3040, 0x30FF, "Kana"), (0x31F0, 0x31FF, "Kana"), (0xFF66, 0xFF9F, "Kana"),
    (0x1B000, 0x1B16F, "Kana"),
    (0x2E80, 0x2FDF, "Han"), (0x3005, 0x3007, "Han"), (0x3021, 0x3029, "Han"),
    (0x3038, 0x303B, "Han"), (0x3100, 0x312F, "Han"), (0x31A0, 0x31BF, "Han"),  # and bopomofo
    (0x3400, 0x4DBF, "Han"), (0x4E00, 0x9FFF, "Han"), (0xF900, 0xFAFF, "Han"),
    (0x20000, 0x323AF, "Han"),
))
# The writing system's usual language, then the others written in it (ISO 639 codes, as
# espeak-ng and most voices name them). Scripts not listed are read by no voice here.
SCRIPT_LANGUAGES: dict[str, tuple[str, ...]] = {
    "Arabic": ("ar", "fa", "ur", "ps", "sd", "ug", "ckb", "ks"),
    "Hebrew": ("he", "yi"),
    "Cyrillic": ("ru", "uk", "be", "bg", "mk", "sr", "kk", "ky", "mn", "tt", "ba", "cv", "tg"),
    "Greek": ("el", "grc"),
    "Han": ("zh", "cmn", "yue", "hak", "nan", "wuu", "lzh"),
    "Kana": ("ja",),
    "Hangul": ("ko",),
    "Devanagari": ("hi", "mr", "ne", "sa", "kok", "mai", "bho"),
    "Bengali": ("bn", "as", "bpy"), "Gurmukhi": ("pa",), "Gujarati": ("gu",), "Oriya": ("or",),
    "Tamil": ("ta",), "Telugu": ("te",), "Kannada": ("kn",), "Malayalam": ("ml",),
    "Sinhala": ("si",), "Thai": ("th",), "Lao": ("lo",), "Tibetan": ("bo", "dz"),
    "Myanmar": ("my",), "Khmer": ("km",), "Georgian": ("ka",), "Armenian": ("hy", "hyw"),
    "Ethiopic": ("am", "ti"), "Thaana": ("dv",), "Syriac": ("syc",), "Cherokee": ("chr",),
}
# BCP 47 script subtags ("sr-Latn", "zh-Hans", "uz-Cyrl"): they say the script outright.
SUBTAGS = {
    "latn": ("Latin",), "cyrl": ("Cyrillic",), "arab": ("Arabic",), "grek": ("Greek",),
    "hebr": ("Hebrew",), "hans": ("Han",), "hant": ("Han",), "hani": ("Han",),
    "jpan": ("Kana", "Han"), "hira": ("Kana",), "kana": ("Kana",), "kore": ("Hangul", "Han"),
    "hang": ("Hangul",), "deva": ("Devanagari",), "beng": ("Bengali",), "guru": ("Gurmukhi",),
    "thai": ("Thai",), "geor": ("Georgian",), "armn": ("Armenian",), "ethi": ("Ethiopic",),
}
# fmt: on
_STARTS = [first for first, _, _ in _RANGES]
# Languages also written with a second script alongside their own: Japanese mixes kana and kanji,
# Korean may use hanja.
_ALSO_WRITTEN_IN = {"ja": ("Han",), "ko": ("Han",)}
_LANGUAGE_SCRIPT = {code: script for script, codes in SCRIPT_LANGUAGES.items() for code in codes}


@lru_cache(maxsize=4096)
def script_of(char: str) -> str:
    """The script of one letter: "Latin", "Arabic", "Han", "Kana", … ("Other" if unknown)."""
    code = ord(char)
    index = bisect.bisect_right(_STARTS, code) - 1
    if index >= 0 and code <= _RANGES[index][1]:
        return _RANGES[index][2]
    name = unicodedata.name(char, "")  # a script of its own: "ADLAM SMALL LETTER ALIF" → Adlam
    return name.split(" ")[0].title() if name else "Other"


@dataclass(frozen=True)
class Letters:
    """How many letters of a text are in each script."""

    counts: dict[str, int]  # script → letters, most first

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def share(self, scripts: Collection[str]) -> float:
        """The fraction of the letters in any of `scripts` (0 when there are no letters)."""
        total = self.total
        return sum(self.counts.get(s, 0) for s in scripts) / total if total else 0.0

    def outside(self, scripts: Collection[str]) -> float:
        """The fraction of the letters in none of `scripts`."""
        return 1.0 - self.share(scripts) if self.total else 0.0

    def writing(self, excluding: Collection[str] = ()) -> Writing | None:
        """The writing system with the most letters, leaving out `excluding` scripts; None if no
        letter is left. Kana with kanji is Japanese, Hangul with hanja Korean, kanji alone Han.
        """
        counts = {s: n for s, n in self.counts.items() if s not in excluding}
        if not counts:
            return None
        kana, hangul = counts.get("Kana", 0), counts.get("Hangul", 0)
        groups: dict[str, tuple[str, ...]] = {s: (s,) for s in counts}
        if kana or hangul:  # kanji go with kana, hanja with Hangul
            mixed = "Kana" if kana >= hangul else "Hangul"
            groups.pop("Han", None)
            groups[mixed] = (mixed, "Han")
        scripts = max(groups.values(), key=lambda g: sum(counts.get(s, 0) for s in g))
        main = scripts[0]
        if main == "Kana":
            name = "Japanese kana and kanji" if "Han" in counts else "Japanese kana"
            language: str | None = "ja"
        elif main == "Hangul":
            name, language = "Korean Hangul", "ko"
        else:
            name = "Han (Chinese characters)" if main == "Han" else f"{main} script"
            language = SCRIPT_LANGUAGES.get(main, (None,))[0]
        return Writing(name, scripts, language, self.share(scripts))


@dataclass(frozen=True)
class Writing:
    """A writing system found in a text."""

    name: str  # for messages: "Arabic script", "Han (Chinese characters)", "Japanese kana", …
    scripts: tuple[str, ...]  # the scripts it is made of
    language: str | None  # its usual language, a guess (None for Latin: it could be any)
    share: float  # the fraction of the text's letters written in it


def detect(text: str) -> Letters:
    """Count the letters of `text` in each script, most first."""
    counts: Counter[str] = Counter()
    for char, n in Counter(text).items():  # each distinct character once: fast on long texts
        if char.isalpha():
            counts[script_of(char)] += n
    return Letters(dict(counts.most_common()))


def language_scripts(language: str) -> frozenset[str]:
    """The scripts a language is written in: its own ("ar" → Arabic; "ja" → kana and kanji),
    the script its BCP 47 subtag names ("sr-Latn"), Latin for every language not listed in
    SCRIPT_LANGUAGES. Latin is not added to the others here (see `speech.language`)."""
    parts = language.lower().replace("_", "-").split("-")
    for part in parts[1:]:
        if part in SUBTAGS:
            return frozenset(SUBTAGS[part])
    own = _LANGUAGE_SCRIPT.get(parts[0])
    if own is None:
        return frozenset({"Latin"})
    return frozenset((own, *_ALSO_WRITTEN_IN.get(parts[0], ())))
