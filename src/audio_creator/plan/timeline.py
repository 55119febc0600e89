"""Where each item of an `AudioScript` plays.

The rules, exactly:
- Foreground items play one after another, FOREGROUND_GAP_S apart, from 0 s. An item with
  `start` (or `at_cut`) starts there instead; the next unanchored one starts after whichever
  ends later, it or the items before it.
- A background `begin` starts with the first foreground item after it (or at its own `start` /
  `at_cut`); its `end` closes it at the latest end of the foreground items between the two. A
  background item with no foreground item between its begin and end is left out, with a
  warning; one never closed spans every foreground item after its begin, with a warning.
- A background item with `start` (or `at_cut`) and `len` plays exactly there.
- The programme ends when the last item ends.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from audio_creator.errors import ConfigError
from audio_creator.plan.script import AudioScript, ScriptItem

FOREGROUND_GAP_S = 0.3


@dataclass(frozen=True)
class Placed:
    """One item on the programme's timeline."""

    index: int  # its position in the script
    item: ScriptItem
    start_s: float
    end_s: float

    @property
    def length_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class Timeline:
    placed: tuple[Placed, ...]  # in script order (ends of background items are not listed)
    duration_s: float
    warnings: tuple[str, ...] = ()


def anchor_of(item: ScriptItem, cuts_s: Sequence[float]) -> float | None:
    """The absolute time an item asks for, if any.

    Raises:
        ConfigError: `at_cut` names a cut the video does not have.
    """
    if item.start is not None:
        return item.start
    if item.at_cut is None:
        return None
    if item.at_cut >= len(cuts_s):
        raise ConfigError(
            f"an item asks for cut {item.at_cut} (counting from 0), but the video has "
            f"{len(cuts_s)} cuts"
        )
    return cuts_s[item.at_cut]


def place(
    script: AudioScript, lengths: Mapping[int, float], cuts_s: Sequence[float] = ()
) -> Timeline:
    """The timeline of `script`, given the length of every item whose length is its own
    (foreground items, and background items with a `len`), by script index."""
    placed: dict[int, Placed] = {}
    warnings: list[str] = []
    opened: dict[str, _Open] = {}  # background id → what it spans so far
    cursor = 0.0  # where the next unanchored foreground item may start
    for index, item in enumerate(script.items):
        anchor = anchor_of(item, cuts_s)
        if item.layout == "foreground":
            start = anchor if anchor is not None else cursor
            end = start + lengths[index]
            placed[index] = Placed(index, item, start, end)
            for span in opened.values():  # every open background wraps this item
                span.start = start if span.start is None else span.start
                span.end = end if span.end is None else max(span.end, end)
            cursor = max(cursor, end + FOREGROUND_GAP_S)
        elif item.action == "begin":
            opened[str(item.id)] = _Open(index, anchor)
        elif item.action == "end":
            _close(script.items, opened.pop(str(item.id)), placed, warnings)
        elif anchor is not None:  # a timed background item (validation requires the anchor)
            placed[index] = Placed(index, item, anchor, anchor + lengths[index])
    for key, span in opened.items():
        warnings.append(f"background {key} has no end: it ends with the last foreground item")
        _close(script.items, span, placed, warnings)
    ordered = tuple(placed[i] for i in sorted(placed))
    duration = max((p.end_s for p in ordered), default=0.0)
    return Timeline(ordered, duration, tuple(warnings))


@dataclass
class _Open:
    """A background item between its begin and its end."""

    index: int  # of its begin
    start: float | None  # its own anchor, else the start of the first foreground item inside
    end: float | None = None  # the latest end of the foreground items inside


def _close(
    items: Sequence[ScriptItem], span: _Open, placed: dict[int, Placed], warnings: list[str]
) -> None:
    item = items[span.index]
    if span.start is None or span.end is None or span.end <= span.start:
        warnings.append(
            f"background {item.id} ({item.desc or item.audio_type}) spans no foreground item: "
            "left out"
        )
        return
    placed[span.index] = Placed(span.index, item, span.start, span.end)
