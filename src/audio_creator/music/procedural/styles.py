"""Style presets: tempo range, General MIDI instruments, rhythm and harmony per style.

A style is chosen by name (`--style`), else from keywords in the prompt, else from the picture
(energy and brightness). Programs are General MIDI numbers (0-based); `RANGES` holds the playable
range of each program used, which the arranger respects and the tests check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from audio_creator.errors import ConfigError


@dataclass(frozen=True)
class Style:
    """How one kind of music is made."""

    name: str
    tempo_bpm: tuple[float, float]  # calm picture → first, energetic → second
    pad: int  # GM program of the sustained chords
    bass: int
    lead: int  # melody or arpeggio
    lead_alt: int  # the lead's instrument in every other section: instrumentation changes at cuts
    rhythm: int | None  # a pitched rhythm part (stabs, pizzicato, comping), or None
    drums: str  # "none", "soft", "rock", "four", "lofi", "orchestral"
    lead_kind: str  # "melody" or "arpeggio"
    progressions: tuple[tuple[int, ...], ...]  # scale degrees (0 = tonic), one chord per bar
    swing: float = 0.0  # delay of off-beat eighths, as a fraction of an eighth
    mode: str | None = None  # force "major" / "minor", else from the picture
    reverb: float = 0.2  # wet level
    keywords: tuple[str, ...] = ()


STYLES: dict[str, Style] = {
    s.name: s
    for s in (
        Style(
            "cinematic",
            (70, 110),
            pad=48,
            bass=43,
            lead=60,
            lead_alt=71,
            rhythm=45,
            drums="orchestral",
            lead_kind="melody",
            progressions=((0, 5, 3, 4), (0, 3, 5, 4), (5, 3, 0, 4)),
            reverb=0.35,
            keywords=("cinematic", "epic", "film", "trailer", "dramatic", "movie"),
        ),
        Style(
            "ambient",
            (60, 85),
            pad=89,
            bass=38,
            lead=98,
            lead_alt=46,
            rhythm=None,
            drums="soft",
            lead_kind="arpeggio",
            progressions=((0, 3, 0, 4), (0, 5, 3, 3), (0, 2, 3, 0)),
            reverb=0.45,
            keywords=("ambient", "calm", "relax", "meditat", "chill", "atmospher"),
        ),
        Style(
            "lofi",
            (70, 90),
            pad=4,
            bass=33,
            lead=11,
            lead_alt=26,
            rhythm=None,
            drums="lofi",
            lead_kind="melody",
            progressions=((1, 4, 0, 5), (0, 5, 1, 4), (3, 2, 1, 0)),
            swing=0.35,
            reverb=0.25,
            keywords=("lo-fi", "lofi", "study", "hip hop", "hip-hop"),
        ),
        Style(
            "pop",
            (95, 128),
            pad=0,
            bass=34,
            lead=80,
            lead_alt=56,
            rhythm=25,
            drums="rock",
            lead_kind="melody",
            progressions=((0, 4, 5, 3), (5, 3, 0, 4), (0, 5, 3, 4)),
            mode="major",
            reverb=0.2,
            keywords=("pop", "upbeat", "happy", "fun", "bright", "summer", "party"),
        ),
        Style(
            "orchestral",
            (72, 120),
            pad=48,
            bass=42,
            lead=73,
            lead_alt=68,
            rhythm=45,
            drums="orchestral",
            lead_kind="melody",
            progressions=((0, 3, 4, 0), (0, 5, 1, 4), (0, 3, 1, 4)),
            reverb=0.35,
            keywords=("orchestra", "classical", "symphon", "strings", "elegant"),
        ),
        Style(
            "electronic",
            (110, 132),
            pad=90,
            bass=38,
            lead=81,
            lead_alt=80,
            rhythm=None,
            drums="four",
            lead_kind="arpeggio",
            progressions=((0, 5, 3, 4), (0, 0, 5, 5), (5, 3, 0, 4)),
            mode="minor",
            reverb=0.2,
            keywords=("electronic", "edm", "techno", "house", "synth", "dance", "club"),
        ),
        Style(
            "piano",
            (64, 100),
            pad=0,
            bass=0,
            lead=0,
            lead_alt=0,
            rhythm=None,
            drums="none",
            lead_kind="melody",
            progressions=((0, 5, 3, 4), (0, 3, 4, 0), (5, 3, 0, 4)),
            reverb=0.3,
            keywords=("piano", "solo piano", "intimate", "gentle", "sad", "tender"),
        ),
    )
}
ALIASES = {"upbeat-pop": "pop", "upbeat pop": "pop", "upbeat": "pop", "lo-fi": "lofi",
           "solo-piano": "piano", "solo piano": "piano"}  # fmt: skip

# Playable range (lowest, highest MIDI note) of every GM program the styles use.
RANGES: dict[int, tuple[int, int]] = {
    0: (21, 108),  # acoustic grand piano
    4: (28, 103),  # electric piano 1
    11: (53, 89),  # vibraphone
    25: (40, 84),  # acoustic guitar (steel)
    26: (40, 86),  # electric guitar (jazz)
    33: (28, 55),  # electric bass (finger)
    34: (28, 55),  # electric bass (pick)
    38: (24, 60),  # synth bass 1
    42: (36, 76),  # cello
    43: (28, 60),  # contrabass
    45: (28, 96),  # pizzicato strings
    46: (23, 103),  # orchestral harp
    47: (40, 55),  # timpani
    48: (28, 96),  # string ensemble 1
    56: (52, 84),  # trumpet
    60: (34, 77),  # french horn
    68: (58, 91),  # oboe
    71: (50, 94),  # clarinet
    73: (60, 96),  # flute
    80: (48, 96),  # square lead
    81: (48, 96),  # saw lead
    89: (36, 96),  # warm pad
    90: (36, 96),  # polysynth pad
    98: (48, 96),  # crystal
}


def style_named(name: str) -> Style:
    """The preset called `name` (or an alias of it); ConfigError listing the presets if none."""
    key = ALIASES.get(name.strip().lower(), name.strip().lower())
    if key not in STYLES:
        raise ConfigError(f"unknown style {name!r}; choose one of: {', '.join(STYLES)}")
    return STYLES[key]


def style_from_prompt(prompt: str) -> Style | None:
    """The preset whose keywords the prompt mentions most (earliest wins a tie), or None."""
    text = prompt.lower()
    best: tuple[int, int, Style] | None = None
    for order, style in enumerate(STYLES.values()):
        # A keyword is a word or a stem of one, give or take three letters: "meditat" finds
        # "meditation", "orchestra" finds "orchestral", and "fun" does not find "funeral".
        hits = sum(
            len(re.findall(rf"\b{re.escape(word)}\w{{0,3}}\b", text)) for word in style.keywords
        )
        if hits and (best is None or hits > best[0]):
            best = (hits, -order, style)
    return best[2] if best else None


def style_from_picture(energy: float, brightness: float) -> Style:
    """A preset for a video nobody described: calm → ambient or piano, busy → pop or electronic."""
    if energy < 0.3:
        return STYLES["ambient" if brightness < 0.4 else "piano"]
    if energy < 0.5:
        return STYLES["cinematic" if brightness < 0.45 else "lofi"]
    return STYLES["electronic" if brightness < 0.4 else "pop"]
