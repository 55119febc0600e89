"""English text as it is read aloud: money, times, years, units and abbreviations in words.

Voices phonemise text with rules that read "$3.50" as "dollar three point five zero", "1990s"
as "nineteen hundred ninety z" and "Dr. Smith" as two sentences. `normalize_english` rewrites
such spans into words before synthesis, so every engine gets the same, plainly spoken text.
Subtitles keep the text as written. Other languages pass through untouched: their voices' own
rules are better than a guess.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from audio_creator.speech import numbers

# fmt: off
# Titles are read in full only before a capitalised word ("Dr. Smith"); "St." is Saint there
# and Street after a name ("Baker St.").
_TITLES = {
    "mr": "Mister", "mrs": "Missus", "ms": "Miz", "dr": "Doctor", "prof": "Professor",
    "mt": "Mount", "st": "Saint", "gen": "General", "rev": "Reverend", "capt": "Captain",
    "lt": "Lieutenant", "sgt": "Sergeant", "gov": "Governor", "sen": "Senator",
}
_ABBREVIATIONS = {
    "etc": "et cetera", "e.g": "for example", "i.e": "that is", "vs": "versus",
    "approx": "approximately", "dept": "department", "inc": "Incorporated", "ltd": "Limited",
    "co": "Company", "corp": "Corporation", "jr": "Junior", "sr": "Senior", "ave": "Avenue",
    "blvd": "Boulevard", "rd": "Road", "fig": "figure", "vol": "volume", "ch": "chapter",
    "jan": "January", "feb": "February", "apr": "April", "jun": "June",
    "jul": "July", "aug": "August", "sep": "September", "sept": "September", "oct": "October",
    "nov": "November", "dec": "December",
}  # no "Sat." or "Sun.": "The cat sat." must stay a cat that sat
_CURRENCIES = {"$": ("dollar", "cent"), "€": ("euro", "cent"), "£": ("pound", "penny"),
               "¥": ("yen", ""), "₹": ("rupee", "paisa")}
_COUNTRIES = {"US": "US", "A": "Australian", "C": "Canadian", "NZ": "New Zealand",
              "HK": "Hong Kong"}
_SCALE_WORDS = {"k": "thousand", "m": "million", "mn": "million", "bn": "billion", "b": "billion",
                "t": "trillion", "tn": "trillion", "thousand": "thousand", "million": "million",
                "billion": "billion", "trillion": "trillion"}
_UNITS = {
    "km": "kilometer", "cm": "centimeter", "mm": "millimeter", "mi": "mile", "ft": "foot",
    "kg": "kilogram", "mg": "milligram", "lb": "pound", "lbs": "pound", "oz": "ounce",
    "ml": "milliliter", "km/h": "kilometer per hour",
    "kph": "kilometer per hour", "mph": "mile per hour", "m/s": "meter per second",
    "hz": "hertz", "khz": "kilohertz", "mhz": "megahertz", "ghz": "gigahertz",
    "kb": "kilobyte", "mb": "megabyte", "gb": "gigabyte", "tb": "terabyte", "kw": "kilowatt",
    "kwh": "kilowatt hour", "ms": "millisecond", "min": "minute", "hr": "hour", "hrs": "hour",
    "sec": "second", "fps": "frame per second",
    "bpm": "beat per minute", "db": "decibel", "lufs": "LUFS",
}
# One-letter units only after a space and in this case: "5 m" is meters, "5G" stays a network
# and "5 in the morning" keeps its "in".
_LETTER_UNITS = {"m": "meter", "g": "gram", "l": "liter", "s": "second", "h": "hour", "V": "volt"}
_FRACTIONS = {(1, 2): "one half", (1, 3): "one third", (2, 3): "two thirds",
              (1, 4): "one quarter", (3, 4): "three quarters"}
_ROMAN_AFTER = ("chapter", "part", "book", "act", "scene", "volume", "section", "war", "phase",
                "level", "episode", "season", "type", "class", "grade", "article")
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december")
_YEAR_BEFORE = ("in", "since", "from", "until", "till", "year", "circa", "before", "after",
                "during", "around", "summer", "winter", "spring", "autumn", "fall", "to",
                "through", "and", "or")
# fmt: on
_ROMAN = re.compile(r"M{0,3}(?:CM|CD|D?C{0,3})(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})")
_NUMBER = r"\d{1,3}(?:,\d{3})+|\d+"


def speaks_english(language: str | None) -> bool:
    """True for "en", "en-us", "en_GB"…; None (the voice's own) counts as English."""
    return language is None or language.lower().replace("_", "-").split("-")[0] == "en"


def normalize_english(text: str) -> str:
    """`text` with numbers, money, times, units and abbreviations written as words."""
    for rule in _RULES:
        text = rule(text)
    return re.sub(r" {2,}", " ", text).strip()


def _money(text: str) -> str:
    symbols = re.escape("".join(_CURRENCIES))
    pattern = re.compile(
        rf"(?<![\w.])((?:US|A|C|NZ|HK)?)([{symbols}])\s?({_NUMBER})(?:\.(\d+))?"
        r"(?:\s?(k|mn|m|bn|b|tn|t|thousand|million|billion|trillion)\b(?!-))?",
        re.IGNORECASE,
    )

    def spoken(match: re.Match[str]) -> str:
        country = _COUNTRIES.get(match.group(1).upper(), "")
        unit, subunit = _CURRENCIES[match.group(2)]
        whole, cents, scale = match.group(3), match.group(4), match.group(5)
        amount = int(whole.replace(",", ""))

        def named(count: int) -> str:  # "dollars", or "US dollars" for "US$"
            return f"{country} {_plural(unit, count)}".strip()

        if scale:  # "$2.5bn": two point five billion dollars
            value = numbers.decimal(whole, cents) if cents else numbers.cardinal(amount)
            return f"{value} {_SCALE_WORDS[scale.lower()]} {named(2)}"
        if cents and len(cents) == 2 and subunit and int(cents):
            small = f"{numbers.cardinal(int(cents))} {_plural(subunit, int(cents))}"
            if amount == 0:  # "$0.99": ninety-nine cents
                return small
            return f"{numbers.cardinal(amount)} {named(amount)} {small}"
        if cents and int(cents):
            return f"{numbers.decimal(whole, cents)} {named(2)}"
        return f"{numbers.cardinal(amount)} {named(amount)}"

    return pattern.sub(spoken, text)


def _times(text: str) -> str:
    clock = re.compile(
        r"\b([01]?\d|2[0-3]):([0-5]\d)(?:\s?([ap])\.?\s?m\b\.?)?|\b(1[0-2]|0?[1-9])\s?([ap])\.?m\b\.?",
        re.IGNORECASE,
    )

    def spoken(match: re.Match[str]) -> str:
        if match.group(4):  # "7am"
            return f"{numbers.cardinal(int(match.group(4)))} {match.group(5).upper()} M"
        hour, minute, half = int(match.group(1)), int(match.group(2)), match.group(3)
        if minute == 0:
            words = f"{numbers.cardinal(hour)}" + ("" if half else " o'clock")
        elif minute < 10:
            words = f"{numbers.cardinal(hour)} oh {numbers.cardinal(minute)}"
        else:
            words = f"{numbers.cardinal(hour)} {numbers.cardinal(minute)}"
        return words + (f" {half.upper()} M" if half else "")

    def keeping_the_stop(match: re.Match[str]) -> str:
        words = spoken(match)
        rest = match.string[match.end() :]
        ends_sentence = match.group(0).endswith(".") and re.match(r"\s*$|\s+[A-Z]", rest)
        return words + ("." if ends_sentence else "")

    return clock.sub(keeping_the_stop, text)


def _decades(text: str) -> str:
    def spoken(match: re.Match[str]) -> str:
        return numbers.decade(int(match.group(1) or match.group(2)))

    return re.sub(r"\b(1[1-9]\d0|20\d0)'?s\b|['’](\d0)s\b", spoken, text)


def _years(text: str) -> str:
    """Four-digit numbers read as years after a month or a cue such as "in", "since", "by"."""
    cues = "|".join(_YEAR_BEFORE + _MONTHS)
    pattern = re.compile(
        rf"\b((?:{cues})\.?,?\s+(?:\d{{1,2}}(?:st|nd|rd|th)?,?\s+)?)(\d{{4}})\b(?![,.]\d)", re.I
    )
    text = pattern.sub(lambda m: m.group(1) + numbers.year(int(m.group(2))), text)
    # A sentence that opens with one ("1918 was…", "The 2024 election…").
    opening = re.compile(r"^((?:The |the )?)(1[1-9]\d\d|20\d\d)\b(?![,.]\d)")
    return opening.sub(lambda m: m.group(1) + numbers.year(int(m.group(2))), text)


def _dates(text: str) -> str:
    """A day after a month is an ordinal: "March 3" → "March third", "Dec. 25" likewise."""
    months = "|".join([m.capitalize() for m in _MONTHS] + ["Jan", "Feb", "Mar", "Apr", "Jun",
                      "Jul", "Aug", "Sep", "Sept", "Oct", "Nov", "Dec"])  # fmt: skip
    pattern = re.compile(rf"\b({months})\.?(\s+)(\d{{1,2}})\b(?![:.]\d)")

    def spoken(match: re.Match[str]) -> str:
        month = next(m for m in _MONTHS if m.startswith(match.group(1).lower())).capitalize()
        return f"{month}{match.group(2)}{numbers.ordinal(int(match.group(3)))}"

    return pattern.sub(spoken, text)


def _ordinals(text: str) -> str:
    return re.sub(
        r"\b(\d+)(st|nd|rd|th)\b", lambda m: numbers.ordinal(int(m.group(1))), text, flags=re.I
    )


def _fractions(text: str) -> str:
    """ "1/2" → "one half", "5/8" → "five eighths"; other pairs ("24/7", "9/11", "50/50") are
    read as two numbers."""

    def spoken(match: re.Match[str]) -> str:
        top, bottom = int(match.group(1)), int(match.group(2))
        if (top, bottom) in _FRACTIONS:
            return _FRACTIONS[(top, bottom)]
        if 0 < top < bottom and bottom in (5, 6, 8, 10, 16, 32, 100):
            name = numbers.ordinal(bottom).removeprefix("one ")
            return f"{numbers.cardinal(top)} {name}{'s' if top > 1 else ''}"
        return f"{match.group(1)} {match.group(2)}"

    return re.sub(r"(?<![\d/])\b(\d{1,3})/(\d{1,3})\b(?!/\d)", spoken, text)


def _units(text: str) -> str:
    names = "|".join(re.escape(u) for u in sorted(_UNITS, key=len, reverse=True))
    letters = "|".join(_LETTER_UNITS)
    amount = rf"(?<![\w.])(-?(?:{_NUMBER})(?:\.\d+)?)"
    word = re.compile(rf"{amount}\s?({names})\b(?!/)", re.I)
    letter = re.compile(rf"{amount} ({letters})\b(?![/'’.]\w)")

    def spoken(match: re.Match[str]) -> str:
        number, symbol = match.group(1), match.group(2)
        unit = _LETTER_UNITS.get(symbol) or _UNITS[symbol.lower()]
        one = number.lstrip("-") in ("1", "1.0")
        return f"{number} {unit if one else _plural(unit, 2)}"

    return letter.sub(spoken, word.sub(spoken, text))


def _ranges(text: str) -> str:
    """An en dash between numbers is "to" ("pages 10–20"), and so is a hyphen between short or
    round numbers ("3-4 people", "10-15%", "200-1000 hours"; a score "3-2" is read so too).
    Other hyphenated numbers (telephone numbers, codes) are left to `_phone_numbers`."""
    text = re.sub(r"(?<=\d)\s?[–—]\s?(?=\d)", " to ", text)
    short = r"(?<![\w-])(\d{1,2})-(\d{1,2})(?![\w-])"
    text = re.sub(short, r"\1 to \2", text)
    return re.sub(r"(?<![\w-])(\d*00)-(\d*00)(?![\w-])", r"\1 to \2", text)


def _phone_numbers(text: str) -> str:
    def spoken(match: re.Match[str]) -> str:
        return ", ".join(numbers.digits(part) for part in re.split(r"[-. ]", match.group(0)))

    return re.sub(r"(?<![\w-])(?:\(?\d{3}\)?[-. ])?\d{3}-\d{4}\b", spoken, text)


def _abbreviations(text: str) -> str:
    def title(match: re.Match[str]) -> str:
        word, space = match.group(1), match.group(2)
        after_name = re.search(r"\b[A-Z][a-z]*\s*$", match.string[: match.start()]) is not None
        if word.lower() == "st" and after_name:  # "Baker St. Next…"
            return "Street" + space
        return _TITLES[word.lower()] + space

    titles = "|".join(t.capitalize() for t in _TITLES)  # "Dr." and "St.", not "gen." or "rev."
    text = re.sub(rf"\b({titles})\.(\s+)(?=[A-Z])", title, text)
    text = re.sub(r"(?<=[a-z] )St\.(?=\s*$)", "Street.", text)  # "Baker St." at the end
    text = re.sub(r"(?<=[a-z] )St\.(?=\s+[a-z0-9,])", "Street", text)  # "Baker St. near"
    names = "|".join(re.escape(a) for a in sorted(_ABBREVIATIONS, key=len, reverse=True))

    def spoken(match: re.Match[str]) -> str:
        at_end = match.string[match.end() :].strip() == ""  # the sentence's own full stop
        return _ABBREVIATIONS[match.group(1).lower()] + ("." if at_end else "")

    text = re.sub(rf"(?<![\w.])({names})\.(?=\s|,|;|:|\)|$)", spoken, text, flags=re.I)
    return re.sub(r"(?i)\bno\.\s?(?=\d)", "number ", text)


def _roman_numerals(text: str) -> str:
    """ "Chapter IV" → "Chapter four"; "Henry VIII" → "Henry the eighth"."""

    def spoken(match: re.Match[str]) -> str:
        before, roman = match.group(1), match.group(2)
        if not _ROMAN.fullmatch(roman):
            return match.group(0)
        after = match.string[match.end() : match.end() + 2]
        # "the part I like" keeps its pronoun; "Part I." or "Part I, …" is a numeral. A lone
        # C, D, L or M is a letter ("Type C", "Part D").
        lone_letter = len(roman) == 1 and (roman in "CDLM" or (roman == "I" and after[:1] == " "))
        if before.lower() in _ROMAN_AFTER and not lone_letter:
            return f"{before} {numbers.cardinal(_roman_value(roman))}"
        # After a name, only I/V/X numerals of two letters or more ("Louis XIV", not
        # "Malcolm X", "Washington DC" or "The IV drip").
        if (
            before[0].isupper() and before.lower() not in _NOT_NAMES
            and len(roman) >= 2 and set(roman) <= set("IVX")
        ):  # fmt: skip
            return f"{before} the {numbers.ordinal(_roman_value(roman))}"
        return match.group(0)

    return re.sub(r"\b([A-Za-z][a-z]+) ([MDCLXVI]+)\b", spoken, text)


_NOT_NAMES = frozenset(
    ("the", "an", "a", "this", "that", "his", "her", "its", "our", "their", "my", "your", "no")
)


def _roman_value(roman: str) -> int:
    values = {"M": 1000, "D": 500, "C": 100, "L": 50, "X": 10, "V": 5, "I": 1}
    total = 0
    for here, after in zip(roman, roman[1:] + " ", strict=True):
        value = values[here]
        total += -value if after != " " and values[after] > value else value
    return total


def _scaled(text: str) -> str:
    """ "1.5M users" → "1.5 million users", "10k" → "10 thousand", "2.5x" → "2.5 times"."""
    scales = {"k": "thousand", "K": "thousand", "M": "million", "bn": "billion", "B": "billion"}

    def spoken(match: re.Match[str]) -> str:
        suffix = match.group(2)
        return f"{match.group(1)} {scales.get(suffix, 'times')}"

    return re.sub(rf"(?<![\w.])((?:{_NUMBER})(?:\.\d+)?)(k|K|M|bn|B|x)\b", spoken, text)


def _plain_numbers(text: str) -> str:
    def spoken(match: re.Match[str]) -> str:
        sign, whole, fraction = match.group(1), match.group(2), match.group(3)
        if whole.startswith("0") and len(whole) > 1 and fraction is None:
            return numbers.digits(whole)  # codes such as "007"
        words = (
            numbers.decimal(whole, fraction)
            if fraction is not None
            else numbers.cardinal(int(whole.replace(",", "")))
        )
        return ("minus " if sign else "") + words

    return re.sub(rf"(?<![\w.])(-)?({_NUMBER})(?:\.(\d+))?(?![\w]|\.\d)", spoken, text)


def _plural(word: str, count: int) -> str:
    if count == 1 or word in ("yen", "hertz", "LUFS"):
        return word
    if word == "penny":
        return "pence"
    if word == "foot":
        return "feet"
    if word.endswith(("inch", "paisa")):
        return word + ("es" if word.endswith("inch") else "")
    words = word.split(" ")  # "mile per hour" → "miles per hour"
    head = words[0] + ("s" if not words[0].endswith("s") else "")
    return " ".join([head, *words[1:]])


_RULES: tuple[Callable[[str], str], ...] = (
    _money, _times, _ranges, _phone_numbers, _decades, _units, _years, _dates, _ordinals,
    _fractions, _scaled, _abbreviations, _roman_numerals, _plain_numbers,
)  # fmt: skip
