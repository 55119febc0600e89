"""From a plan to notes: drums, bass, chords, melody or arpeggio, an intro and a real ending.

Chords change on downbeats; every section starts a new progression, and sections that begin on a
cut start with an accent (a crash and a kick on that very beat). Timing and velocity are
humanised within small bounds, except for the notes on a cut, which stay exact. The closing chord
starts on a downbeat (or on a cut near the end) and every note ends before the piece does.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable

import numpy as np

from audio_creator.music.procedural import harmony
from audio_creator.music.procedural.plan import MusicPlan, Section
from audio_creator.music.procedural.score import Note, Part, Score
from audio_creator.music.procedural.styles import RANGES

HUMANISE_S = 0.012  # largest timing deviation of a humanised note
HUMANISE_SD_S = 0.005
VELOCITY_SD = 5.0
END_MARGIN_S = 0.3  # every note stops this long before the end, for its release to fade
KICK, SNARE, STICK, CLOSED_HAT, OPEN_HAT, CRASH, RIDE, BASS_DRUM, SHAKER = (
    36, 38, 37, 42, 46, 49, 51, 35, 70,
)  # fmt: skip

# Drum patterns by kind and level: (GM key, positions in beats within a four-beat bar, velocity).
Hit = tuple[int, tuple[float, ...], int]
PATTERNS: dict[str, list[list[Hit]]] = {
    "rock": [
        [(CLOSED_HAT, (0, 1, 2, 3), 60)],
        [
            (KICK, (0, 2), 100),
            (SNARE, (1, 3), 92),
            (CLOSED_HAT, (0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5), 64),
        ],
        [
            (KICK, (0, 2, 2.5), 108),
            (SNARE, (1, 3), 100),
            (CLOSED_HAT, tuple(k / 2 for k in range(8)), 72),
        ],
        [
            (KICK, (0, 1.5, 2, 2.5), 114),
            (SNARE, (1, 3), 108),
            (OPEN_HAT, (0.5, 1.5, 2.5, 3.5), 70),
            (CLOSED_HAT, tuple(k / 4 for k in range(16)), 62),
        ],
    ],
    "four": [
        [(KICK, (0, 2), 90), (CLOSED_HAT, (0.5, 1.5, 2.5, 3.5), 60)],
        [(KICK, (0, 1, 2, 3), 108), (CLOSED_HAT, (0.5, 1.5, 2.5, 3.5), 72)],
        [(KICK, (0, 1, 2, 3), 114), (SNARE, (1, 3), 90), (OPEN_HAT, (0.5, 1.5, 2.5, 3.5), 74)],
        [
            (KICK, (0, 1, 2, 3), 118),
            (SNARE, (1, 3), 100),
            (OPEN_HAT, (0.5, 1.5, 2.5, 3.5), 78),
            (CLOSED_HAT, tuple(k / 4 for k in range(16)), 56),
        ],
    ],
    "lofi": [
        [(STICK, (1, 3), 60), (CLOSED_HAT, (0, 1, 2, 3), 50)],
        [
            (KICK, (0, 2.5), 96),
            (SNARE, (1, 3), 80),
            (CLOSED_HAT, tuple(k / 2 for k in range(8)), 56),
        ],
        [
            (KICK, (0, 1.5, 2.5), 100),
            (SNARE, (1, 3), 88),
            (CLOSED_HAT, tuple(k / 2 for k in range(8)), 62),
        ],
        [
            (KICK, (0, 1.5, 2, 2.5), 104),
            (SNARE, (1, 3), 94),
            (CLOSED_HAT, tuple(k / 4 for k in range(16)), 58),
        ],
    ],
    "soft": [
        [],
        [(BASS_DRUM, (0,), 70), (SHAKER, (0, 1, 2, 3), 50)],
        [(BASS_DRUM, (0, 2), 80), (SHAKER, tuple(k / 2 for k in range(8)), 56)],
        [
            (BASS_DRUM, (0, 2), 90),
            (STICK, (1, 3), 60),
            (SHAKER, tuple(k / 4 for k in range(16)), 62),
        ],
    ],
    "orchestral": [
        [],
        [(BASS_DRUM, (0,), 80)],
        [(BASS_DRUM, (0, 2), 92)],
        [(BASS_DRUM, (0, 2), 104), (SNARE, (1, 3), 70)],
    ],
    "none": [[], [], [], []],
}
FILL_V = (60, 70, 80)  # a fill's three strokes build towards the accent on the cut
COMPASS = 10  # semitones of the lead's range that one bar uses; the window climbs with the level
# Melody rhythms: note lengths in beats filling a four-beat bar, by level.
MELODY_CELLS: list[list[tuple[float, ...]]] = [
    [(4,), (2, 2), (3, 1)],
    [(2, 2), (1, 1, 2), (2, 1, 1), (3, 1)],
    [(1, 1, 1, 1), (1, 0.5, 0.5, 2), (0.5, 0.5, 1, 2), (1.5, 0.5, 2)],
    [(0.5, 0.5, 1, 0.5, 0.5, 1), (1, 0.5, 0.5, 1, 1), (0.5, 0.5, 0.5, 0.5, 2)],
]


class _Writer:
    """Places notes on the grid: beat positions → seconds, cut anchoring, the end margin."""

    def __init__(self, plan: MusicPlan) -> None:
        self.plan = plan
        self.beats = plan.grid.beats_s
        self.cut_times = sorted(float(self.beats[b]) for b in plan.cut_beats)
        # A closing chord on a late cut rings for half of what is left, then releases.
        ring = plan.duration_s - float(self.beats[min(plan.final_beat, self.beats.size - 1)])
        self.cutoff = plan.duration_s - min(END_MARGIN_S, plan.duration_s / 4, ring / 2)

    def time(self, position: float) -> float:
        """Seconds at a fractional beat position (beat index + fraction)."""
        index = min(int(position), self.beats.size - 1)
        start = self.beats[index]
        stop = self.beats[index + 1] if index + 1 < self.beats.size else None
        period = (stop - start) if stop is not None else 60.0 / float(self.plan.grid.bpm[index])
        return float(start + (position - index) * period)

    def note(self, start: float, length: float, pitch: int, velocity: float) -> Note | None:
        """A note from beat position `start`, `length` beats long; None past the cutoff."""
        start_s, end_s = self.time(start), min(self.time(start + length), self.cutoff)
        if start_s >= self.cutoff - 0.02:
            return None
        end_s = max(end_s, min(start_s + 0.05, self.cutoff))
        near = bisect.bisect_left(self.cut_times, start_s - 1e-6)
        anchor = near < len(self.cut_times) and abs(self.cut_times[near] - start_s) < 1e-6
        return Note(start_s, end_s, pitch, int(np.clip(round(velocity), 1, 127)), anchor)


def arrange(plan: MusicPlan, seed: int) -> Score:
    """Write every part of the piece."""
    rng = np.random.default_rng(seed + 1)
    writer = _Writer(plan)
    bars = _bars(plan)
    style = plan.style
    variant = _variants(plan, np.random.default_rng(seed + 2))
    parts = [
        _humanise("pad", style.pad, False, _pad(plan, writer, bars, variant), rng),
        _humanise("bass", style.bass, False, _bass(plan, writer, bars), rng),
    ]
    lead = _lead(plan, writer, bars, rng, variant)
    if style.lead_alt != style.lead:  # every other section hands the lead to another instrument
        alternate = [n is not None and _section_index(plan, n.start_s) % 2 == 1 for n in lead]
        parts.append(
            _humanise(
                "lead",
                style.lead,
                False,
                [n for n, a in zip(lead, alternate, strict=True) if not a],
                rng,
            )
        )
        parts.append(
            _humanise(
                "lead2",
                style.lead_alt,
                False,
                [n for n, a in zip(lead, alternate, strict=True) if a],
                rng,
            )
        )
    else:
        parts.append(_humanise("lead", style.lead, False, lead, rng))
    if style.rhythm is not None:
        parts.append(_humanise("rhythm", style.rhythm, False, _rhythm(plan, writer, bars), rng))
    if style.drums != "none":
        parts.append(_humanise("drums", 0, True, _drums(plan, writer, bars), rng))
    return Score(tuple(parts), plan.duration_s, plan.grid, plan.key_root, plan.mode)


# A bar: (first beat, beat count, chord degree, section, level 0–3, bar index in the piece).
_Bar = tuple[int, int, int, Section | None, int, int]


def _bars(plan: MusicPlan) -> list[_Bar]:
    downbeats = [int(b) for b in np.flatnonzero(plan.grid.downbeat)]
    # Bars start on downbeats, and a section that begins on a cut off the downbeat starts a bar.
    section_starts = {s.first_beat for s in plan.sections}
    starts = sorted({0, *(d for d in downbeats if d < plan.final_beat), *section_starts})
    starts = [b for b in starts if b < plan.final_beat] + [plan.final_beat]
    bars: list[_Bar] = []
    for index, first in enumerate(starts):
        if first >= plan.final_beat:
            break
        stop = starts[index + 1] if index + 1 < len(starts) else plan.final_beat
        section = next((s for s in plan.sections if s.first_beat <= first < s.stop_beat), None)
        progression = section.progression if section else (0,)
        in_section = sum(1 for b in starts[:index] if section and b >= section.first_beat)
        degree = progression[in_section % len(progression)]
        level = _bar_level(plan, first, stop, section, bars[-1][4] if bars else None)
        if index < 1 or (index < 2 and len(starts) > 8):
            level = min(level, 1)  # the intro: sparse
        bars.append((first, stop - first, degree, section, level, index))
    if bars and bars[-1][1] >= 2:  # the cadence: the bar before the closing chord is the dominant
        first, count, _, section, level, index = bars[-1]
        bars[-1] = (first, count, 4, section, level, index)
    # The closing chord: the tonic, from the final downbeat to the end.
    closing = max(1, plan.grid.beats_s.size - plan.final_beat)
    bars.append((plan.final_beat, closing, 0, None, -1, len(bars)))
    return bars


def _bar_level(
    plan: MusicPlan, first: int, stop: int, section: Section | None, before: int | None
) -> int:
    """How full a bar is (0–3): the picture's intensity over the bar itself, so that the music
    builds and calms with the motion inside a long shot, half-way towards its section's (which
    keeps a section of one character); one step at most from the bar before, unless a section
    starts here (a cut may change everything at once)."""
    own = float(plan.beat_intensity[first:stop].mean()) if stop > first else 0.4
    whole = section.intensity if section else own
    level = min(3, int((0.75 * own + 0.25 * whole) * 4))
    if before is not None and before >= 0 and (section is None or first != section.first_beat):
        level = int(np.clip(level, before - 1, before + 1))
    return level


def _section_index(plan: MusicPlan, time_s: float) -> int:
    """Which section (by order) sounds at `time_s`; the ending counts as the first."""
    beat = plan.grid.beat_at(time_s + 1e-6)
    for index, section in enumerate(plan.sections):
        if section.first_beat <= beat < section.stop_beat:
            return index
    return 0


def _chord_pcs(plan: MusicPlan, degree: int) -> list[int]:
    return [
        harmony.degree_pitch(d, plan.key_root, plan.mode, 0) % 12 for d in harmony.triad(degree)
    ]


# How much of a struck note is left silent before the next, by level (as a share of the note,
# or of one beat for a longer note; the part's own legato then applies): calm bars are played
# legato, busy ones detached. A stroke that dies away before the next one is heard as an attack;
# legato strokes over a sustained bed blur into it, however many there are.
DETACHED = (0.0, 0.0, 0.2, 0.45)


def _sounding(length: float, level: int, legato: float) -> float:
    """How long, in beats, a note written `length` beats long sounds: `legato` of what is left
    once the level's gap is taken out (DETACHED of the note, or of one beat for a longer note,
    so that a long note is not cut in half)."""
    gap = min(length, 1.0) * DETACHED[min(max(level, 0), 3)]
    return legato * (length - gap)


def _velocity(plan: MusicPlan, beat: int, base: float) -> float:
    level = float(plan.beat_intensity[min(beat, plan.beat_intensity.size - 1)])
    return base * (0.6 + 0.7 * level)


# The pad's voicings: (inversion: which chord tone is lowest, near which pitch it lies).
PAD_VOICINGS = ((0, 55), (1, 55), (2, 55))
# Orders of the arpeggio's four tones (successive chord tones, lowest first: root, third, fifth
# and octave, or an inversion of them; where the range holds fewer than four, the lowest repeat),
# so the orders differ in their inner tones too.
ARPEGGIO_ORDERS = ((0, 1, 2, 3, 2, 1), (0, 1, 2, 1), (2, 1, 0, 1), (0, 2, 1, 2), (1, 0, 2, 0))


VARIANTS = len(PAD_VOICINGS) * len(ARPEGGIO_ORDERS)


def _variants(plan: MusicPlan, rng: np.random.Generator) -> dict[int, int]:
    """Each section's own way of voicing its chords and breaking them (by its first beat): the
    least used so far with its progression, drawn at random among those, so that a long piece
    whose progressions come round again does not come round bar for bar."""
    used: dict[tuple[tuple[int, ...], int], int] = {}
    chosen = {}
    for section in plan.sections:
        uses = [used.get((section.progression, v), 0) for v in range(VARIANTS)]
        fewest = [v for v, n in enumerate(uses) if n == min(uses)]
        pick = int(fewest[int(rng.integers(len(fewest)))])
        used[(section.progression, pick)] = uses[pick] + 1
        chosen[section.first_beat] = pick
    return chosen


def _pad_voicing(variants: dict[int, int], section: Section | None) -> tuple[int, int]:
    """The section's pad voicing (the first, root position, for the closing chord)."""
    number = 0 if section is None else variants.get(section.first_beat, 0)
    return PAD_VOICINGS[number % len(PAD_VOICINGS)]


def _arpeggio_order(variants: dict[int, int], section: Section | None) -> tuple[int, ...]:
    number = 0 if section is None else variants.get(section.first_beat, 0)
    return ARPEGGIO_ORDERS[(number // len(PAD_VOICINGS)) % len(ARPEGGIO_ORDERS)]


def _pad(
    plan: MusicPlan, writer: _Writer, bars: list[_Bar], variants: dict[int, int]
) -> list[Note | None]:
    low, high = RANGES[plan.style.pad]
    notes: list[Note | None] = []
    for first, count, degree, section, level, _ in bars:
        inversion, near = _pad_voicing(variants, section)
        tones = _chord_pcs(plan, degree)
        tones = tones[inversion:] + tones[:inversion]
        pitches = harmony.voice(tones, near, max(low, 48), min(high, 79))
        if plan.style.pad == 0 and level >= 0:  # piano comps: more often as the picture moves
            every = {0: count, 1: count, 2: 2}.get(level, 1)
            hits = [(float(b), float(min(every, count - b))) for b in range(0, count, every)]
        else:
            hits = [(0.0, float(count))]
        # The bed stays level: what builds with the picture is what strikes (drums, bass,
        # rhythm, lead), heard the more clearly over a bed that does not swell with it.
        velocity = 52 if level < 0 else 54 - 4 * max(level, 0)
        for offset, length in hits:
            for pitch in pitches:
                notes.append(writer.note(first + offset, length, pitch, velocity))
    return notes


def _bass(plan: MusicPlan, writer: _Writer, bars: list[_Bar]) -> list[Note | None]:
    low, high = RANGES[plan.style.bass]
    notes: list[Note | None] = []
    for first, count, degree, _, level, _ in bars:
        root = harmony.fit_range(
            36 + (_chord_pcs(plan, degree)[0] - 36) % 12, max(low, 28), min(high, 52)
        )
        fifth = harmony.fit_range(root + 7, low, min(high, 55))
        if level < 0:
            pattern = [(0.0, float(count), root)]
        elif level <= 1:
            pattern = (
                [(0.0, float(count), root)]
                if count <= 2
                else [(0.0, 2.0, root), (2.0, count - 2.0, root)]
            )
        elif level == 2:
            pattern = [(float(b), 1.0, root if b % 2 == 0 else fifth) for b in range(count)]
        else:
            pattern = [(b / 2, 0.5, root if b % 4 != 3 else fifth) for b in range(2 * count)]
        for offset, length, pitch in pattern:
            notes.append(
                writer.note(
                    first + offset,
                    _sounding(length, level, 0.95),
                    pitch,
                    _velocity(plan, first, 84),
                )
            )
    return notes


def _compass(low: int, high: int, level: int) -> tuple[int, int]:
    """The stretch of the lead's range [low, high] a bar at `level` plays in: COMPASS semitones
    (or the whole range), at the bottom for a still picture and at the top for the busiest, so
    that the line climbs and falls with the motion, one step per level."""
    width = min(COMPASS, high - low)
    bottom = low + round((high - low - width) * min(max(level, 0), 3) / 3)
    return bottom, bottom + width


def _within(degrees: Iterable[int], plan: MusicPlan, low: int, high: int) -> list[int]:
    """The scale degrees (counted from the tonic of octave 4) among `degrees` whose pitches in
    the piece's key lie in [low, high], lowest first."""
    key, mode = plan.key_root, plan.mode
    return sorted(d for d in degrees if low <= harmony.degree_pitch(d, key, mode, 4) <= high)


def _lead(
    plan: MusicPlan,
    writer: _Writer,
    bars: list[_Bar],
    rng: np.random.Generator,
    variants: dict[int, int],
) -> list[Note | None]:
    # Within both lead instruments' ranges, so that either can play any phrase.
    (low_a, high_a), (low_b, high_b) = RANGES[plan.style.lead], RANGES[plan.style.lead_alt]
    low, high = max(low_a, low_b, 55), min(high_a, high_b, 86)
    notes: list[Note | None] = []
    key, mode = plan.key_root, plan.mode
    degree_now = 7  # scale degree counted from the tonic of octave 4
    for first, count, degree, section, level, index in bars:
        if level < 0:  # the closing chord: the tonic, held
            pitch = harmony.fit_range(harmony.degree_pitch(7, key, mode, 4), low, high)
            notes.append(writer.note(first, float(count), pitch, 60))
            continue
        if index == 0 or (level == 0 and index % 2):
            continue  # the intro and sparse bars leave room
        if plan.style.lead_kind == "arpeggio":
            step = 0.5 if level <= 1 else 0.25
            # Four successive chord tones in the range, from the bottom of the bar's compass:
            # the arpeggio climbs as the picture moves.
            chord = [d + 7 * octave for octave in range(-1, 4) for d in harmony.triad(degree)]
            ladder = _within(chord, plan, low, high)
            below = len(_within(chord, plan, low, _compass(low, high, level)[0] - 1))
            first_tone = min(below, max(len(ladder) - 4, 0))
            tones = (ladder[first_tone : first_tone + 4] * 4)[:4]
            order = [tones[k] for k in _arpeggio_order(variants, section)]
            for k in range(int(count / step)):
                pitch = harmony.degree_pitch(order[k % len(order)], key, mode, 4)
                accent = 1.1 if (k * step) % 1 == 0 else 0.9
                notes.append(
                    writer.note(
                        first + k * step,
                        _sounding(step, level, 0.9),
                        pitch,
                        _velocity(plan, first, 62 * accent),
                    )
                )
            continue
        cells = MELODY_CELLS[max(level, 0)]
        cell = cells[int(rng.integers(len(cells)))]
        # The bar's compass, in scale degrees; the line moves two thirds of the way to its middle.
        bottom, top = _compass(low, high, level)
        inside = _within(range(-14, 28), plan, bottom, top)
        degree_now = round(degree_now / 3 + (inside[0] + inside[-1]) / 3)
        position = 0.0
        chord = [d + 7 for d in harmony.triad(degree)]
        for k, cell_length in enumerate(cell):
            if position >= count:
                break
            length = min(cell_length, count - position)
            if k == 0 or position % 2 == 0:  # strong beats: the nearest chord tone
                degree_now = min(
                    chord + [c + 7 for c in chord] + [c - 7 for c in chord],
                    key=lambda d: abs(d - degree_now),
                )
            else:
                degree_now += int(rng.choice([-2, -1, -1, 1, 1, 2]))
            degree_now = int(np.clip(degree_now, inside[0], inside[-1]))
            pitch = harmony.degree_pitch(degree_now, key, mode, 4)
            notes.append(
                writer.note(
                    first + position,
                    _sounding(length, level, 0.92),
                    pitch,
                    _velocity(plan, first, 74),
                )
            )
            position += length
    return notes


def _rhythm(plan: MusicPlan, writer: _Writer, bars: list[_Bar]) -> list[Note | None]:
    assert plan.style.rhythm is not None
    low, high = RANGES[plan.style.rhythm]
    notes: list[Note | None] = []
    for first, count, degree, _, level, _ in bars:
        if level < 1:
            continue
        pitches = harmony.voice(_chord_pcs(plan, degree), 52, max(low, 45), min(high, 76))
        step = 1.0 if level < 3 else 0.5
        for k in range(int(count / step)):
            accent = 1.0 if (k * step) % 1 == 0 else 0.8
            for pitch in pitches:
                notes.append(
                    writer.note(
                        first + k * step,
                        _sounding(step, level, 0.6),
                        pitch,
                        _velocity(plan, first, 66 * accent),
                    )
                )
    return notes


def _drums(plan: MusicPlan, writer: _Writer, bars: list[_Bar]) -> list[Note | None]:
    patterns = PATTERNS[plan.style.drums]
    notes: list[Note | None] = []
    section_starts = {s.first_beat for s in plan.sections if s.on_cut or s.first_beat == 0}
    for position, (first, count, _, _, level, index) in enumerate(bars):
        if level < 0:  # the closing chord: one last hit
            notes.append(writer.note(first, 0.5, KICK, 100))
            notes.append(writer.note(first, 0.5, CRASH, 90))
            continue
        if first in section_starts and index > 0:
            notes.append(writer.note(first, 0.5, CRASH, 100))
            if plan.style.drums in ("orchestral", "soft") or level < 1:
                notes.append(writer.note(first, 0.5, KICK, 100))
        for key, positions, velocity in patterns[level]:
            for beat in positions:
                if beat < count:
                    swung = beat + (plan.style.swing * 0.5 if beat % 1 == 0.5 else 0.0)
                    notes.append(
                        writer.note(first + swung, 0.25, key, _velocity(plan, first, velocity))
                    )
        following = bars[position + 1][0] if position + 1 < len(bars) else None
        if level >= 2 and following in section_starts and count >= 2:
            for k in range(3):  # a fill into the next section; no stroke in the last sixteenth
                notes.append(writer.note(first + count - 1 + k / 4, 0.2, SNARE, FILL_V[k]))
    return notes


def _humanise(
    name: str, program: int, is_drums: bool, written: list[Note | None], rng: np.random.Generator
) -> Part:
    notes = sorted((n for n in written if n is not None), key=lambda n: (n.start_s, n.pitch))
    out: list[Note] = []
    for note in notes:
        if note.anchor:
            out.append(note)
            continue
        shift = float(np.clip(rng.normal(0, HUMANISE_SD_S), -HUMANISE_S, HUMANISE_S))
        shift = max(shift, -note.start_s)
        velocity = int(np.clip(round(note.velocity + rng.normal(0, VELOCITY_SD)), 1, 127))
        end = min(note.end_s + shift, note.end_s) if shift > 0 else note.end_s + shift
        out.append(
            Note(note.start_s + shift, max(end, note.start_s + shift + 0.03), note.pitch, velocity)
        )
    out = _monophonic(out) if name == "bass" else _untangled(out)
    return Part(name, program, is_drums, tuple(out))


def _untangled(notes: list[Note], gap_s: float = 0.001) -> list[Note]:
    """No note overlaps the next one of the same pitch (after humanising, a repeated chord tone
    may start before its predecessor ends; MIDI players would then cut the new one short), and
    two hits of one pitch within 20 ms (a drum fill landing on a pattern hit) become one."""
    kept: list[Note] = []
    last: dict[int, int] = {}  # pitch → index in `kept` of its latest note
    for note in sorted(notes, key=lambda n: (n.start_s, not n.anchor)):
        if note.pitch in last:
            earlier = kept[last[note.pitch]]
            if note.start_s - earlier.start_s < 0.02:
                continue
            if earlier.end_s > note.start_s - gap_s:
                kept[last[note.pitch]] = Note(
                    earlier.start_s,
                    note.start_s - gap_s,
                    earlier.pitch,
                    earlier.velocity,
                    earlier.anchor,
                )
        last[note.pitch] = len(kept)
        kept.append(note)
    return kept


def _monophonic(notes: list[Note], gap_s: float = 0.005) -> list[Note]:
    """One note at a time: a note that starts too soon after another is dropped, and each note
    is shortened to end `gap_s` before the next one starts."""
    kept: list[Note] = []
    for note in sorted(notes, key=lambda n: n.start_s):
        if kept and note.start_s < kept[-1].start_s + 0.04:
            continue
        if kept and kept[-1].end_s > note.start_s - gap_s:
            last = kept[-1]
            kept[-1] = Note(
                last.start_s, note.start_s - gap_s, last.pitch, last.velocity, last.anchor
            )
        kept.append(note)
    return kept
