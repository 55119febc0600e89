"""The offline planner: an instruction (and a video, if any) → a sensible `AudioScript`.

What it reads from the instruction:
- its length ("a 15-second intro", "30 s", "one minute"); a video's length wins; else it is
  long enough for the speech with room around it (at least DEFAULT_S);
- quoted lines ("…", '…', “…”): each becomes a line of speech, in order, for the narrator;
- mood and genre words: the music's style (as `vidmuse --prompt` reads them), unless it asks for
  no music;
- sound words: rain, wind, waves, fire, birds and room tone lie under everything as beds;
  thunder, impacts, whooshes, risers and other single sounds are events at chosen moments.

The script it writes: the music and the beds for the whole length; an opening event; the speech
from after the opening, one line after another; events spread through the rest (a whoosh on
each of the video's first cuts); a riser that ends on the last second when one is asked for.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from audio_creator.analysis.video import VideoAnalysis
from audio_creator.errors import ConfigError
from audio_creator.plan import effects
from audio_creator.plan.script import AudioScript, parse_script

DEFAULT_S = 20.0
SPEECH_CHARS_PER_S = 14.0  # the default voice, at speed 1, pauses included
BEDS = ("rain", "wind", "waves", "seashore", "fire", "birds", "room tone", "applause")
EVENT_LENGTH_S = {
    "thunder": 3.5, "impact": 2.0, "whoosh": 1.2, "riser": 4.0, "gunshot": 1.5, "telephone": 3.0,
    "helicopter": 4.0, "breath": 1.5, "guitar fret": 1.0,
}  # fmt: skip
# Loudness of each kind of item. The music carries a programme with little speech, so it is
# nearer the target there (the final normalisation then needs little gain, and little limiting);
# under a lot of speech it sits lower.
VOLUMES = {"speech": -16.0, "music": -19.0, "music under speech": -24.0, "bed": -26.0,
           "event": -20.0}  # fmt: skip
_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "five": 5, "ten": 10, "fifteen": 15, "twenty": 20,
    "thirty": 30, "forty-five": 45, "sixty": 60, "ninety": 90,
}  # fmt: skip
# Double quotes of every usual kind; single quotes only where no letter touches them on the
# outside, so "don't" and "it's" inside a quoted line stay in it.
_QUOTES = re.compile(
    r"\"([^\"]+)\"|“([^”]+)”|„([^“”]+)[“”]|«\s*([^»]+?)\s*»|「([^」]+)」|‘(.+?)’(?!\w)"
    r"|(?<![\w'])'(.+?)'(?![\w])"
)


def plan_with_rules(instruction: str, analysis: VideoAnalysis | None = None) -> AudioScript:
    """A script for `instruction` (and the video of `analysis`).

    Raises:
        ConfigError: the instruction is empty.
    """
    text = " ".join(instruction.split())
    if not text:
        raise ConfigError("the instruction is empty: say what the audio should be")
    lines = [next(g for g in m.groups() if g is not None).strip() for m in _QUOTES.finditer(text)]
    lines = [line for line in lines if line]
    described = _QUOTES.sub(" ", text)
    sounds = _sounds(described)
    speech_s = sum(len(line) / SPEECH_CHARS_PER_S + 0.4 for line in lines)
    duration = _duration(described, analysis, speech_s)
    items: list[dict[str, Any]] = []
    if not re.search(r"\b(no|without) music\b", described, re.I):
        items.append({
            "audio_type": "music", "layout": "background", "start": 0.0, "len": duration,
            "vol": VOLUMES["music" if speech_s < 0.3 * duration else "music under speech"],
            "desc": _music_desc(described),
        })  # fmt: skip
    for bed in (s for s in sounds if s in BEDS):
        items.append({
            "audio_type": "sound_effect", "layout": "background", "start": 0.0, "len": duration,
            "vol": VOLUMES["bed"], "desc": bed,
        })  # fmt: skip
    events = [s for s in sounds if s not in BEDS and s != "riser"]
    on_cuts = analysis is not None and bool(analysis.cuts_s)
    openers = [e for e in events if not (e == "whoosh" and on_cuts)]  # whooshes go on the cuts
    cursor = 0.08 * duration  # the speech starts after the opening event
    if openers:
        first = _event(openers[0], start=min(0.5, 0.05 * duration), duration=duration)
        items.append(first)
        cursor = max(cursor, first["start"] + 0.6 * first["len"])
    # The first line at a chosen moment; the others follow it in turn, however long each takes.
    for number, line in enumerate(lines):
        spoken = {"audio_type": "speech", "character": "Narrator", "vol": VOLUMES["speech"]}
        items.append(spoken | {"text": line} | ({"start": round(cursor, 2)} if number == 0 else {}))
    cursor += speech_s + 0.5
    items += _later_events(events, cursor, duration, analysis)  # the opener may come again
    if "riser" in sounds:
        length = min(EVENT_LENGTH_S["riser"], 0.3 * duration)
        items.append(_event("riser", start=max(0.0, duration - length - 0.2), duration=duration))
    try:
        return parse_script({"items": items, "characters": {"Narrator": {}} if lines else {}})
    except ValidationError as exc:  # a bug of ours, said plainly rather than as a traceback
        raise ConfigError(f"the offline planner could not make a valid script: {exc}") from None


def _duration(described: str, analysis: VideoAnalysis | None, speech_s: float) -> float:
    if analysis is not None:
        return round(analysis.duration_s, 2)
    units = r"(s|sec|secs|second|seconds|min|mins|minute|minutes)\b"
    numbers = r"(\d+(?:\.\d+)?|" + "|".join(_NUMBER_WORDS) + ")"
    match = re.search(rf"\b{numbers}\s*-?\s*{units}", described, re.I)
    if match:
        amount = match.group(1).lower()
        value = float(_NUMBER_WORDS.get(amount, 0) or amount)
        seconds = value * (60 if match.group(2).lower().startswith("min") else 1)
        return float(min(600.0, max(3.0, seconds)))
    if re.search(r"\bhalf (a|an) minute\b", described, re.I):
        return 30.0
    if re.search(r"\b(a|one) minute\b", described, re.I):
        return 60.0
    return round(max(DEFAULT_S, speech_s * 1.5 + 4.0), 2)


def _sounds(described: str) -> list[str]:
    """Every effect the words name, in the order they come."""
    found: list[tuple[int, str]] = []
    for effect, keys in effects.KEYWORDS.items():
        for key in keys:
            match = re.search(rf"\b{re.escape(key)}(?:e?s)?\b", described.lower())
            if match and effect not in (name for _, name in found):
                found.append((match.start(), effect))
    # "thunderstorm" and "storm" imply rain under the thunder.
    names = {name for _, name in found}
    if "thunder" in names and "rain" not in names and re.search(r"storm", described, re.I):
        found.append((len(described), "rain"))
    return [name for _, name in sorted(found)]


def _music_desc(described: str) -> str:
    words = [w for w in re.findall(r"[\w'-]+", described) if len(w) > 2]
    return " ".join(words[:24]) or "background music"


def _event(
    name: str, *, duration: float, start: float | None = None, at_cut: int | None = None
) -> dict[str, Any]:
    """A single sound at `start` seconds (or on the video's cut number `at_cut`)."""
    length = min(EVENT_LENGTH_S.get(name, 2.0), max(0.5, duration - (start or 0.0)))
    where = {"start": round(start, 2)} if start is not None else {"at_cut": at_cut}
    return {
        "audio_type": "sound_effect", "layout": "foreground", **where, "len": round(length, 2),
        "vol": VOLUMES["event"], "desc": name,
    }  # fmt: skip


def _later_events(
    events: list[str], after: float, duration: float, analysis: VideoAnalysis | None
) -> list[dict[str, Any]]:
    """Events after the speech: on the video's cuts when there is a video (a whoosh on each of
    the first six), else evenly spread through what is left."""
    planned: list[dict[str, Any]] = []
    if analysis is not None and analysis.cuts_s and "whoosh" in events:
        for k, cut in enumerate(analysis.cuts_s[:6]):
            length = EVENT_LENGTH_S["whoosh"]
            if cut + length <= duration:
                planned.append(_event("whoosh", at_cut=k, duration=duration))
    rest = [e for e in events if e != "whoosh" or not (analysis and analysis.cuts_s)]
    room = duration - after
    if rest and room > 2.0:
        step = room / (len(rest) + 1)
        for k, name in enumerate(rest):
            start = after + step * (k + 1) - EVENT_LENGTH_S.get(name, 2.0) / 2
            if start + 0.5 < duration:
                planned.append(_event(name, start=max(after, start), duration=duration))
    return planned
