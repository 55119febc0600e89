"""Render a score with a SoundFont (TinySoundFont), sample-accurately, plus a light room reverb.

The default SoundFont is the best General MIDI bank found on the machine, else the one the
`pretty_midi` wheel ships (TimGM6mb, GPL-2.0; see `soundfonts`); any SF2/SF3 file can be given
instead. A program the font lacks is played by the bundled font, with a warning.

A slow instrument is played a little early, as an orchestral player anticipates the beat (and a
producer sets a negative track delay): strings, a horn or a flute that swell in are heard on the
beat, not tens of milliseconds after it. How early comes from the font itself (`lead_in_s`); the
score, and the MIDI file written from it, keep the exact grid.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from audio_creator.errors import BackendUnavailable, MediaError
from audio_creator.files import check_input_file
from audio_creator.music.procedural.score import DRUM_CHANNEL, Part, Score

logger = logging.getLogger(__name__)

REVERB_S = 1.6  # length of the room's impulse response
TAIL_FADE_S = 0.25  # a last safety fade: the piece always ends in silence
RENDER_BLOCK = 1 << 18  # samples rendered at a time (about 5.5 s at 48 kHz)
LEAD_IN_MAX_S = 0.1  # the earliest a slow instrument is played ahead of its notes


def default_soundfont() -> Path:
    """The SoundFont used when none is given: the best General MIDI font found on this machine,
    else the one bundled with `pretty_midi` (see `soundfonts`)."""
    from audio_creator.music.procedural.soundfonts import best_soundfont

    return best_soundfont()


def render(
    score: Score,
    *,
    sample_rate: int = 48000,
    soundfont: str | os.PathLike[str] | None = None,
    reverb: float = 0.2,
) -> npt.NDArray[np.float32]:
    """The score as float32 stereo `[2, frames]`, `score.duration_s` long, at `sample_rate`."""
    return render_parts(
        score.parts, score.duration_s, sample_rate=sample_rate, soundfont=soundfont, reverb=reverb
    )


def render_parts(
    parts: Sequence[Part],
    duration_s: float,
    *,
    sample_rate: int = 48000,
    soundfont: str | os.PathLike[str] | None = None,
    reverb: float = 0.2,
    anticipate_attacks: bool = True,
) -> npt.NDArray[np.float32]:
    """`parts` played by the SoundFont, as float32 stereo `[2, frames]`, `duration_s` long
    (`anticipate_attacks`: see `render_blocks`)."""
    frames = max(1, round(duration_s * sample_rate))
    stereo = np.empty((2, frames), np.float32)
    now = 0
    for block in render_blocks(
        parts, duration_s, sample_rate=sample_rate, soundfont=soundfont, reverb=reverb,
        anticipate_attacks=anticipate_attacks,
    ):  # fmt: skip
        stereo[:, now : now + block.shape[1]] = block
        now += block.shape[1]
    return stereo


def render_blocks(
    parts: Sequence[Part],
    duration_s: float,
    *,
    sample_rate: int = 48000,
    soundfont: str | os.PathLike[str] | None = None,
    reverb: float = 0.2,
    anticipate_attacks: bool = True,
) -> Iterator[npt.NDArray[np.float32]]:
    """`parts` played by the SoundFont, `duration_s` long, as consecutive float32 stereo blocks
    `[2, n]` (of RENDER_BLOCK samples but the last): memory stays a few blocks at any length.
    With `anticipate_attacks`, each slow instrument plays ahead of its notes by its `lead_in_s`,
    so that it is heard on them; without it every note sounds exactly as written (a sound effect).

    The synthesiser plays the events block by block; the room's reverb is added by overlap-add,
    its tail carried into the blocks that follow; the last TAIL_FADE_S fade to silence.
    """
    try:
        import tinysoundfont
    except ImportError as exc:
        raise BackendUnavailable(
            "the procedural composer renders with TinySoundFont: "
            "pip install --no-deps tinysoundfont (its PyAudio dependency is only for playback)"
        ) from exc
    font = check_input_file(soundfont, what="SoundFont") if soundfont else default_soundfont()
    synth = tinysoundfont.Synth(samplerate=sample_rate, gain=-6.0)
    try:
        sfid = synth.sfload(str(font))
    except Exception as exc:  # TinySoundFont raises its own exception type for a bad file
        raise MediaError(f"{font} is not a usable SoundFont (SF2/SF3): {exc}") from exc

    events: list[tuple[int, int, int, int, int]] = []  # (frame, off-before-on, channel, key, vel)
    channel = 0
    stand_in = _StandIn(synth, font)
    for part in parts:
        early = 0
        if part.is_drums:
            chan = DRUM_CHANNEL
            stand_in.select(chan, sfid, 128, 0, True)
        else:
            chan = channel
            channel += 1 + (channel + 1 == DRUM_CHANNEL)
            stand_in.select(chan, sfid, 0, part.program, False)
            if part.notes and anticipate_attacks:
                pitch = int(np.median([note.pitch for note in part.notes]))
                early = round(lead_in_s(synth, chan, pitch, sample_rate) * sample_rate)
        for note in part.notes:
            start = round(note.start_s * sample_rate)
            ahead = min(early, start)  # a note at the very start cannot be played before it
            on = start - ahead
            off = max(on + 1, round(note.end_s * sample_rate) - ahead)
            events.append((on, 1, chan, note.pitch, note.velocity))
            events.append((off, 0, chan, note.pitch, 0))
    events.sort()
    return _played(synth, events, max(1, round(duration_s * sample_rate)), sample_rate, reverb)


def lead_in_s(synth: Any, chan: int, pitch: int, sample_rate: int) -> float:
    """How early to play the instrument on `chan` for its attack to be heard on the beat: 0.4
    of the time one note (velocity 90) takes to reach half its peak level, at most
    LEAD_IN_MAX_S. Measured on the synthesiser itself (then silenced): the font in use, at the
    part's pitch.

    The factor is fitted to librosa's beat tracker, which hears FluidR3's pizzicato 14 ms,
    strings 28, horn 40 and contrabass 43 ms later than a drum, and whose notes take 66, 70, 82
    and 121 ms to reach half their peak. A cello (109 ms late, 211 to half its peak) or a flute
    (120, 180) keeps some of its lag: the lead stops at LEAD_IN_MAX_S, and more would blur."""
    synth.noteon(chan, pitch, 90)
    frames = round(0.5 * sample_rate)
    mono = _generate(synth, frames).mean(axis=1)
    synth.sounds_off(chan)
    _generate(synth, round(0.05 * sample_rate))  # TinySoundFont's quick release, thrown away
    window = max(1, round(0.005 * sample_rate))
    power = np.convolve(mono.astype(np.float64) ** 2, np.ones(window) / window)[: mono.size]
    level = np.sqrt(power)  # over the window just past: nothing is heard before it sounds
    if level.max() <= 0:
        return 0.0
    half_up = int(np.argmax(level >= 0.5 * level.max())) / sample_rate
    return min(LEAD_IN_MAX_S, 0.4 * half_up)


def _played(
    synth: Any,
    events: list[tuple[int, int, int, int, int]],
    frames: int,
    sample_rate: int,
    reverb: float,
) -> Iterator[npt.NDArray[np.float32]]:
    room = Reverb(sample_rate, reverb) if reverb > 0 else None
    fade_from = frames - min(frames, round(TAIL_FADE_S * sample_rate))
    pending = iter(events)
    event = next(pending, None)
    for start in range(0, frames, RENDER_BLOCK):
        stop = min(start + RENDER_BLOCK, frames)
        block = np.empty((2, stop - start), np.float32)
        now = start
        while event is not None and event[0] < stop:
            when, is_on, chan, key, velocity = event
            if when > now:
                block[:, now - start : when - start] = _generate(synth, when - now).T
                now = when
            if is_on:
                synth.noteon(chan, key, velocity)
            else:
                synth.noteoff(chan, key)
            event = next(pending, None)
        if now < stop:
            block[:, now - start :] = _generate(synth, stop - now).T
        if room is not None:
            room.add_in_place(block)
        if stop > fade_from:  # the closing fade: cos² from 1 at `fade_from` to 0 at the end
            first = max(start, fade_from)
            angle = np.linspace(0, np.pi / 2, frames - fade_from, dtype=np.float32)
            block[:, first - start :] *= np.cos(angle[first - fade_from : stop - fade_from]) ** 2
        yield block


class _StandIn:
    """Selects each part's program; one the font lacks is played by the bundled General MIDI
    font (loaded beside it the first time it is needed), with a warning."""

    def __init__(self, synth: Any, font: Path) -> None:
        self.synth, self.font = synth, font
        self._bundled: int | None = None

    def select(self, chan: int, sfid: int, bank: int, preset: int, drums: bool) -> None:
        from audio_creator.music.procedural.soundfonts import bundled_soundfont, stand_ins

        what = "drum kit" if drums else f"program {preset}"
        if (-1 if drums else preset) in stand_ins(self.font):
            lacking: Exception | str = "it makes no sound here"
        else:
            try:
                self.synth.program_select(chan, sfid, bank, preset, is_drums=drums)
                return
            except Exception as exc:  # TinySoundFont's own type: the preset is not there
                lacking = exc
        bundled = bundled_soundfont()
        if bundled.resolve() == self.font.resolve():
            raise MediaError(f"{self.font} has no {what} in bank {bank}: {lacking}")
        if self._bundled is None:
            self._bundled = self.synth.sfload(str(bundled))
        self.synth.program_select(chan, self._bundled, bank, preset, is_drums=drums)
        logger.warning("%s has no %s (%s); the bundled %s plays it", self.font.name, what,
                       lacking, bundled.name)  # fmt: skip


def _generate(synth: Any, frames: int) -> npt.NDArray[np.float32]:
    block = synth.generate(frames)
    samples: npt.NDArray[np.float32] = np.frombuffer(block, dtype=np.float32)
    return samples.reshape(frames, 2)


def room_response(sample_rate: int) -> npt.NDArray[np.float32]:
    """A small room's stereo impulse response `[2, taps]`: two decorrelated noise tails decaying
    by 60 dB over REVERB_S, after a 12 ms pre-delay, each of unit energy. Always the same room."""
    rng = np.random.default_rng(2024)
    length = round(REVERB_S * sample_rate)
    t = np.arange(length) / sample_rate
    envelope = np.exp(-6.9 * t / REVERB_S) * (1 - np.exp(-t / 0.004))
    pre_delay = round(0.012 * sample_rate)
    tails = np.zeros((2, pre_delay + length))
    tails[:, pre_delay:] = rng.standard_normal((2, length)) * envelope
    tails /= np.sqrt((tails**2).sum(axis=1, keepdims=True))
    return tails.astype(np.float32)


class Reverb:
    """The room added to a signal that arrives block by block (overlap-add with FFTs on both
    cores): each block's dry signal is read before any reverb lands on it, and the part of its
    reverb that reaches past it waits in `_tail` for the blocks that follow."""

    def __init__(self, sample_rate: int, wet: float) -> None:
        import scipy.fft

        response = room_response(sample_rate)
        self._taps = response.shape[1]
        self._block = max(1 << 18, 1 << (self._taps - 1).bit_length())
        self._size = scipy.fft.next_fast_len(self._block + self._taps - 1, real=True)
        self._spectrum = scipy.fft.rfft(response, self._size, axis=1, workers=2)
        self._wet = np.float32(wet)
        self._tail = np.zeros((2, self._taps - 1), np.float32)

    def add_in_place(self, stereo: npt.NDArray[np.float32]) -> None:
        """Add the reverb to the next stretch of the signal, `stereo` `[2, n]`, in place."""
        import scipy.fft

        for start in range(0, stereo.shape[1], self._block):
            piece = stereo[:, start : start + self._block]
            length = piece.shape[1]
            spectrum = scipy.fft.rfft(piece, self._size, axis=1, workers=2) * self._spectrum
            wet = scipy.fft.irfft(spectrum, self._size, axis=1, workers=2)
            wet = wet[:, : length + self._taps - 1].astype(np.float32, copy=False)
            wet[:, : self._taps - 1] += self._tail
            piece += self._wet * wet[:, :length]
            self._tail = wet[:, length:].copy()
