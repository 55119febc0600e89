"""The composer's output: notes per instrument part, in seconds, and its MIDI file form."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from audio_creator.analysis.beat_grid import BeatGrid
from audio_creator.files import atomic_output, check_output_path

DRUM_CHANNEL = 9


@dataclass(frozen=True)
class Note:
    """One note. `anchor` notes sit exactly on a cut and are never humanised."""

    start_s: float
    end_s: float
    pitch: int  # MIDI note number (for drums: the General MIDI percussion key)
    velocity: int  # 1–127
    anchor: bool = False


@dataclass(frozen=True)
class Part:
    """One instrument's notes."""

    name: str  # "pad", "bass", "lead", "rhythm", "drums"
    program: int  # General MIDI program (ignored for drums)
    is_drums: bool
    notes: tuple[Note, ...]


@dataclass(frozen=True)
class Score:
    """A whole piece: parts on one beat grid, in one key."""

    parts: tuple[Part, ...]
    duration_s: float
    grid: BeatGrid
    key_root: int  # pitch class of the tonic, 0 = C
    mode: str  # "major" or "minor"

    def part(self, name: str) -> Part:
        """The part called `name` (KeyError if the style has none)."""
        for part in self.parts:
            if part.name == name:
                return part
        raise KeyError(name)


def write_midi(score: Score, path: str | os.PathLike[str], ticks_per_beat: int = 480) -> None:
    """Write `score` as a type-1 Standard MIDI File, with the grid's tempo map (atomically)."""
    import mido

    out = check_output_path(path)
    # The tempo map: every beat of the grid is one quarter note at the tempo its real length
    # gives (a lead-in before the first beat, and the stretch after the last, count as beats too),
    # so that every note's tick lands at its time in the rendered audio.
    points = np.unique(np.r_[0.0, score.grid.beats_s, score.duration_s])
    points = points[np.r_[True, np.diff(points) > 1e-3]]  # no sub-millisecond "beats"
    lengths = np.diff(points)

    def ticks(time_s: float) -> int:
        index = int(np.clip(points.searchsorted(time_s, side="right") - 1, 0, lengths.size - 1))
        fraction = (time_s - points[index]) / lengths[index]
        return max(0, round(float(index + fraction) * ticks_per_beat))

    midi = mido.MidiFile(type=1, ticks_per_beat=ticks_per_beat)
    tempo_track = mido.MidiTrack()
    tempo_track.append(mido.MetaMessage("track_name", name="tempo", time=0))
    last_tick, last_tempo = 0, None
    for index, length in enumerate(lengths):
        tempo = max(1, round(float(length) * 1e6))  # microseconds per quarter note
        if tempo != last_tempo:
            tick = index * ticks_per_beat
            tempo_track.append(mido.MetaMessage("set_tempo", tempo=tempo, time=tick - last_tick))
            last_tick, last_tempo = tick, tempo
    midi.tracks.append(tempo_track)
    channel = 0
    for part in score.parts:
        chan = DRUM_CHANNEL if part.is_drums else channel
        if not part.is_drums:
            channel += 1 + (channel + 1 == DRUM_CHANNEL)
        events: list[tuple[int, int, mido.Message]] = []
        for note in part.notes:
            events.append(
                (
                    ticks(note.start_s),
                    1,
                    mido.Message("note_on", channel=chan, note=note.pitch, velocity=note.velocity),
                )
            )
            events.append(
                (
                    ticks(note.end_s),
                    0,
                    mido.Message("note_off", channel=chan, note=note.pitch, velocity=0),
                )
            )
        track = mido.MidiTrack()
        track.append(mido.MetaMessage("track_name", name=part.name, time=0))
        if not part.is_drums:
            track.append(mido.Message("program_change", channel=chan, program=part.program))
        now = 0
        for tick, _, message in sorted(events, key=lambda e: (e[0], e[1])):
            track.append(message.copy(time=tick - now))
            now = tick
        midi.tracks.append(track)
    with atomic_output(out) as tmp:
        midi.save(str(tmp))
