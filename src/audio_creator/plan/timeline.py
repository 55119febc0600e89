"""Where each item of an `AudioScript` plays.

The rules, exactly:
- Foreground items play one after another, FOREGROUND_GAP_S apart, from 0 s. An item with
  `start` (or `at_cut`) starts there instead; the next unanchored one starts after whichever
  ends later, it or the items before it.
- A background `begin` starts with the first foreground item after it (or at its own `start` /
  `at_cut`); its `end` closes it at the end of the last foreground item before the `end`. A
  background item with no foreground item inside its span is left out, with a warning; one
  never closed ends with the last foreground item, with a warning.
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
    opened: dict[str, tuple[int, float | None]] = {}  # id → (begin index, start or None yet)
    cursor = 0.0  # where the next unanchored foreground item may start
    last_end: float | None = None  # end of the latest foreground item
    for index, item in enumerate(script.items):
        anchor = anchor_of(item, cuts_s)
        if item.layout == "foreground":
            start = anchor if anchor is not None else cursor
            end = start + lengths[index]
            placed[index] = Placed(index, item, start, end)
            for key, (begin, begun) in opened.items():
                if begun is None:
                    opened[key] = (begin, start)
            last_end = end if last_end is None else max(last_end, end)
            cursor = max(cursor, end + FOREGROUND_GAP_S)
        elif item.action == "begin":
            opened[str(item.id)] = (index, anchor)
        elif item.action == "end":
            begin, begun = opened.pop(str(item.id))
            _close(script.items[begin], begin, begun, last_end, placed, warnings)
        elif anchor is not None:  # a timed background item (validation requires the anchor)
            placed[index] = Placed(index, item, anchor, anchor + lengths[index])
    for key, (begin, begun) in opened.items():
        warnings.append(f"background {key} has no end: it ends with the last foreground item")
        _close(script.items[begin], begin, begun, last_end, placed, warnings)
    ordered = tuple(placed[i] for i in sorted(placed))
    duration = max((p.end_s for p in ordered), default=0.0)
    return Timeline(ordered, duration, tuple(warnings))


def _close(
    item: ScriptItem,
    index: int,
    begun: float | None,
    last_end: float | None,
    placed: dict[int, Placed],
    warnings: list[str],
) -> None:
    if begun is None or last_end is None or last_end <= begun:
        warnings.append(
            f"background {item.id} ({item.desc or item.audio_type}) spans no foreground item: "
            "left out"
        )
        return
    placed[index] = Placed(index, item, begun, last_end)
