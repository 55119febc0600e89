"""English numbers as words: cardinals, ordinals, years and decimals.

Used by `normalize.py`; every function takes digits and returns the words a person reads aloud.
"""

from __future__ import annotations

# fmt: off
_ONES = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen",
)
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_SCALES = (
    (10**15, "quadrillion"), (10**12, "trillion"), (10**9, "billion"), (10**6, "million"),
    (1000, "thousand"),
)
# fmt: on
_IRREGULAR_ORDINALS = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}  # fmt: skip
LARGEST = 10**18 - 1  # beyond this digits are read one by one


def cardinal(n: int) -> str:
    """4021 → "four thousand twenty-one"; negatives get "minus"."""
    if n < 0:
        return "minus " + cardinal(-n)
    if n > LARGEST:
        return digits(str(n))
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return f"{_ONES[hundreds]} hundred" + (f" {cardinal(rest)}" if rest else "")
    for scale, word in _SCALES:
        if n >= scale:
            high, rest = divmod(n, scale)
            return f"{cardinal(high)} {word}" + (f" {cardinal(rest)}" if rest else "")
    raise AssertionError("unreachable")  # pragma: no cover


def ordinal(n: int) -> str:
    """21 → "twenty-first", 100 → "one hundredth"."""
    words = cardinal(n)
    head, sep, last = words.rpartition(" " if "-" not in words.split(" ")[-1] else "-")
    if last in _IRREGULAR_ORDINALS:
        last = _IRREGULAR_ORDINALS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return head + sep + last


def year(n: int) -> str:
    """1776 → "seventeen seventy-six", 1900 → "nineteen hundred", 2005 → "two thousand five"."""
    if not 1000 <= n <= 9999 or 2000 <= n <= 2009 or n % 1000 == 0:
        return cardinal(n)
    high, low = divmod(n, 100)
    if low == 0:
        return f"{cardinal(high)} hundred"
    return f"{cardinal(high)} {'oh ' + _ONES[low] if low < 10 else cardinal(low)}"


def decade(n: int) -> str:
    """1990 → "nineteen nineties", 2000 → "two thousands", 80 → "eighties"."""
    words = year(n) if n >= 1000 else cardinal(n)
    if words.endswith("y"):
        return words[:-1] + "ies"
    return words + ("es" if words.endswith("x") else "s")


def digits(text: str) -> str:
    """ "0451" → "zero four five one" (phone numbers, codes, leading zeros)."""
    return " ".join(_ONES[int(d)] for d in text if d.isdigit())


def decimal(whole: str, fraction: str) -> str:
    """("3", "14") → "three point one four"; the whole part may hold thousands commas."""
    head = cardinal(int(whole.replace(",", ""))) if whole else "zero"
    return f"{head} point {digits(fraction)}"
