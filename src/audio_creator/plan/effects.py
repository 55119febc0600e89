"""Sound effects offline: a small procedural set and the General MIDI SoundFont's effect programs.

An effect is chosen from the words of its description ("distant thunder" → thunder, "birds at
dawn" → the SoundFont's bird tweet). Procedural effects are shaped noise and tones: rain, wind,
thunder, waves, fire, whoosh, riser, impact, and a plain noise bed (room tone). The SoundFont's
effect programs (GM 120–127) bring birds, a telephone, a helicopter, applause, a gunshot, the
seashore and breath. Every effect is stereo at the asked rate and exactly the asked length.

Effects stream: `effect_blocks` makes one block at a time, so a bed under a two-hour video costs
a few blocks of memory, not the whole length. Each procedural effect is a generator that draws
its noise in fixed chunks of CHUNK frames and carries its filters' state, running sums and
phases from chunk to chunk; envelopes are functions of absolute time. The samples are therefore
the same whatever block size is asked for. Blocks are float32; inside a chunk (256 KB) the
arithmetic is float64, so the 20 Hz filters and thunder's running sum stay accurate. SoundFont
effects up to SOUNDFONT_IN_MEMORY_S are rendered whole; longer ones hold the note once and then
repeat LOOP_S of its sustain, crossfaded into itself so the repeats have no seam, or, for a sound
that dies away (birds, a telephone), strike it again every ONE_SHOT_S (memory: under a minute of
stereo, whatever the length).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import signal

logger = logging.getLogger(__name__)
Stereo = npt.NDArray[np.float32]
Floats = npt.NDArray[np.float64]
Samples = npt.NDArray[np.floating[Any]]

CHUNK = 1 << 14  # frames drawn and filtered at a time, whatever block size the caller asks for
SOUNDFONT_IN_MEMORY_S = 60.0  # longer SoundFont effects loop their note
LOOP_ATTACK_S, LOOP_S, LOOP_FADE_S = 5.0, 20.0, 1.0  # how a lasting sound loops
ONE_SHOT_S = 5.0  # how often a sound that dies away is struck again


class _Filter:
    """An IIR filter (second-order sections) over stereo chunks that keeps its state from one
    chunk to the next: filtering chunk by chunk is filtering the whole at once."""

    def __init__(self, sos: Floats) -> None:
        self.sos = sos
        self.state = np.zeros((sos.shape[0], 2, 2))

    def __call__(self, x: Samples) -> Floats:
        y, self.state = signal.sosfilt(self.sos, x, axis=-1, zi=self.state)
        return np.asarray(y, dtype=np.float64)


def _band(low: float, high: float, rate: int) -> _Filter:
    return _Filter(_butter((low, min(high, 0.45 * rate)), "bandpass", rate))


def _lowpass(cutoff: float, rate: int) -> _Filter:
    return _Filter(_butter(cutoff, "lowpass", rate))


@functools.cache  # a script of thousands of effects designs each filter once
def _butter(edges: float | tuple[float, float], kind: str, rate: int) -> Floats:
    return np.asarray(signal.butter(2, edges, btype=kind, fs=rate, output="sos"))  # shared


def _ringing(decay: float, freq: float, rate: int) -> _Filter:
    """Two poles: each input sample rings as exp(−n/decay)·sin(2π·freq·n/rate)."""
    r, w = np.exp(-1 / decay), 2 * np.pi * freq / rate
    return _Filter(np.array([[0, r * np.sin(w), 0, 1, -2 * r * np.cos(w), r * r]]))


def _dying(decay: float) -> _Filter:
    """One pole: each input sample dies away as exp(−n/decay)."""
    return _Filter(np.array([[1.0, 0, 0, 1, -np.exp(-1 / decay), 0]]))


def _chunks(frames: int) -> Iterator[tuple[int, int]]:
    """(first frame, frames) of each CHUNK of `frames`; the last may be shorter."""
    for first in range(0, frames, CHUNK):
        yield first, min(CHUNK, frames - first)


def _times(first: int, n: int, rate: int) -> Floats:
    return (first + np.arange(n)) / rate


def _noise(rng: np.random.Generator, n: int) -> Floats:
    return rng.standard_normal((2, n), dtype=np.float32).astype(np.float64)


def _clicks(rng: np.random.Generator, n: int, per_s: float, rate: int, low: float) -> Floats:
    """Single-sample clicks at random places, `per_s` a second in each channel on average,
    their heights uniform in [low, 1)."""
    out = np.zeros((2, n))
    for channel, count in enumerate(rng.poisson(per_s * n / rate, 2)):
        out[channel, rng.integers(0, n, count)] = rng.uniform(low, 1.0, count)
    return out


def rain(frames: int, rate: int, rng: np.random.Generator) -> Iterator[Floats]:
    """A steady hiss of fine drops, and louder single drops scattered over it."""
    hiss, splash = _band(1200, 9000, rate), _ringing(30, 3000, rate)
    for _, n in _chunks(frames):
        bed = hiss(_noise(rng, n)) * 0.5
        yield bed + 0.6 * splash(_clicks(rng, n, 40, rate, 0.3))


def wind(frames: int, rate: int, rng: np.random.Generator) -> Iterator[Floats]:
    """Low noise whose loudness and colour drift in slow gusts."""
    colour, phase = _band(150, 900, rate), rng.uniform(0, 6)
    for first, n in _chunks(frames):
        t = _times(first, n, rate)
        gust = 0.55 + 0.45 * np.sin(2 * np.pi * 0.13 * t + phase) * np.sin(2 * np.pi * 0.05 * t)
        yield colour(_noise(rng, n)) * gust


class _Rumble:
    """Brown noise (a running sum of white), low-passed at 180 Hz, its drift below 20 Hz taken
    out: a steady low roll, with the running sum carried over from chunk to chunk."""

    def __init__(self, rate: int) -> None:
        self.total = np.zeros((2, 1))
        self.low, self.drift = _lowpass(180, rate), _lowpass(20, rate)

    def __call__(self, x: Floats) -> Floats:
        walk = self.total + np.cumsum(x, axis=-1) * 0.02
        self.total = walk[:, -1:]
        rumble = self.low(walk)
        return rumble - self.drift(rumble)


@functools.cache
def _rumble_peak(rate: int) -> float:
    """The peak a few seconds of rumble typically reach: 3.5 standard deviations (that is what
    2–10 s of it measure), the deviation being the root energy of the rumble's impulse response.
    Scaling by it stands in for dividing by the whole rumble's peak, which a stream cannot know."""
    impulse = np.zeros((2, rate))
    impulse[:, 0] = 1.0
    return 3.5 * float(np.sqrt((_Rumble(rate)(impulse)[0] ** 2).sum()))


def thunder(frames: int, rate: int, rng: np.random.Generator) -> Iterator[Floats]:
    """A crack, then a rolling low rumble that dies away over the effect's length."""
    rumble, crackle, peak = _Rumble(rate), _band(800, 6000, rate), _rumble_peak(rate)
    dying = max(0.5, 0.35 * frames / rate)
    for first, n in _chunks(frames):
        t = _times(first, n, rate)
        roll = (1 - np.exp(-t / 0.08)) * np.exp(-t / dying)
        roll *= 1 + 0.5 * np.sin(2 * np.pi * 1.3 * t) ** 2
        low = rumble(_noise(rng, n)) / peak * roll
        if first < 3 * rate:  # after 3 s the crack has died away (e^−50)
            low += 0.5 * crackle(_noise(rng, n)) * np.exp(-t / 0.06)
        yield low


def waves(frames: int, rate: int, rng: np.random.Generator) -> Iterator[Floats]:
    """Surf: noise that swells and falls back every eight seconds or so."""
    surf, phase = _band(200, 5000, rate), rng.uniform(0, 6)
    for first, n in _chunks(frames):
        swell = np.clip(np.sin(2 * np.pi * _times(first, n, rate) / 8.0 + phase), 0, None)
        yield surf(_noise(rng, n)) * (swell**1.5 + 0.15)


def fire(frames: int, rate: int, rng: np.random.Generator) -> Iterator[Floats]:
    """A low roar with crackles."""
    roar, bright = _band(80, 600, rate), _band(1500, 8000, rate)
    pop = _dying(12)
    for _, n in _chunks(frames):
        low = roar(_noise(rng, n)) * 0.6
        yield low + 3 * bright(pop(_clicks(rng, n, 6, rate, 0.5)))


def whoosh(frames: int, rate: int, rng: np.random.Generator) -> Iterator[Floats]:
    """Air rushing past: band-passed noise sweeping up and back down, panned across."""
    low, high = _band(300, 1500, rate), _band(1500, 7000, rate)
    for first, n in _chunks(frames):
        t = (first + np.arange(n)) / max(1, frames - 1)  # 0 → 1 over the effect
        sweep = np.sin(np.pi * t)
        out = (low(_noise(rng, n)) * (1 - sweep) + high(_noise(rng, n)) * sweep) * sweep**2
        out[0] *= 1 - 0.6 * t
        out[1] *= 0.4 + 0.6 * t
        yield out


def _sine(freq: Floats, rate: int, phase: float) -> tuple[Floats, float]:
    """A sine gliding through `freq` (Hz per sample) from `phase` (in cycles), and the phase it
    ends on, for the next chunk to go on from."""
    cycles = phase + np.cumsum(freq) / rate
    return np.sin(2 * np.pi * cycles), float(cycles[-1] % 1.0)


def riser(frames: int, rate: int, rng: np.random.Generator) -> Iterator[Floats]:
    """A tone gliding up an octave and a half with noise, growing to the end."""
    air, length, phase = _band(2000, 9000, rate), frames / rate, 0.0
    for first, n in _chunks(frames):
        t = _times(first, n, rate)
        tone, phase = _sine(110 * 2 ** (1.5 * t / length), rate, phase)
        yield (tone * 0.5 + air(_noise(rng, n))) * (t / length) ** 2


def impact(frames: int, rate: int, rng: np.random.Generator) -> Iterator[Floats]:
    """A boom: a falling low sine and a burst of noise, decaying."""
    dull = _lowpass(3000, rate)
    for first, n in _chunks(frames):
        boom, burst = _impact_shape(first, n, rate)
        yield boom + 0.4 * dull(_noise(rng, n)) * burst


@functools.lru_cache(maxsize=16)  # the same in every impact: a script of thousands makes it once
def _impact_shape(first: int, n: int, rate: int) -> tuple[Floats, Floats]:
    """An impact's boom, decaying, and its noise burst's envelope, from frame `first` for `n`.
    The boom's pitch falls from 90 Hz to 40 Hz as 40 + 50·exp(−t/0.08); its phase in cycles is
    that frequency's integral, 40·t + 4·(1 − exp(−t/0.08))."""
    t = _times(first, n, rate)
    cycles = 40 * t + 50 * 0.08 * (1 - np.exp(-t / 0.08))
    boom, burst = np.sin(2 * np.pi * cycles) * np.exp(-t / 0.45), np.exp(-t / 0.05)
    boom.flags.writeable = burst.flags.writeable = False  # shared
    return boom, burst


def room_tone(frames: int, rate: int, rng: np.random.Generator) -> Iterator[Floats]:
    """A quiet, even bed of low noise: the sound of a room."""
    hush = _lowpass(1200, rate)
    for _, n in _chunks(frames):
        yield hush(_noise(rng, n))


Effect = Callable[[int, int, np.random.Generator], Iterator[Floats]]
PROCEDURAL: dict[str, Effect] = {
    "rain": rain, "wind": wind, "thunder": thunder, "waves": waves, "fire": fire,
    "whoosh": whoosh, "riser": riser, "impact": impact, "room tone": room_tone,
}  # fmt: skip
# General MIDI effect programs (0-based) and the note each sounds best on.
SOUNDFONT: dict[str, tuple[int, int]] = {
    "birds": (123, 72), "telephone": (124, 67), "helicopter": (125, 60), "applause": (126, 60),
    "gunshot": (127, 48), "seashore": (122, 60), "breath": (121, 60), "guitar fret": (120, 60),
}  # fmt: skip
# Words are matched whole (a plural "s" or "es" allowed), and chosen so that ordinary uses do not
# match: "a drone shot" brings no gunshot, "ambient music" no room tone, "a hit song" no impact.
KEYWORDS: dict[str, tuple[str, ...]] = {
    "rain": ("rain", "drizzle", "downpour", "shower", "storm"),
    "thunder": ("thunder", "lightning", "thunderclap", "thunderstorm"),
    "wind": ("wind", "gust", "breeze", "howling", "blizzard"),
    "waves": ("wave", "waves", "surf", "ocean", "sea"),
    "seashore": ("seashore", "beach", "shore"),
    "fire": ("fire", "crackling", "campfire", "fireplace", "flames"),
    "whoosh": ("whoosh", "swoosh", "swish", "transition", "swipe"),
    "riser": ("riser", "build-up", "buildup", "tension", "suspense"),
    "impact": ("impact", "boom", "slam", "crash", "explosion", "bang"),
    "birds": ("bird", "birds", "chirp", "chirping", "tweet", "birdsong", "dawn chorus"),
    "telephone": ("telephone", "ringing", "ringtone"),
    "helicopter": ("helicopter", "chopper", "rotor"),
    "applause": ("applause", "clapping", "cheering", "ovation"),
    "gunshot": ("gunshot", "gun", "gunfire", "pistol", "rifle"),
    "breath": ("breath", "breathing", "sigh"),
    "room tone": ("room tone", "hum", "murmur"),
}


@functools.lru_cache(maxsize=1024)  # a script's items repeat their descriptions
def choose(desc: str) -> str | None:
    """The effect whose keywords appear earliest in `desc`, or None when none do."""
    words = desc.lower()
    found: list[tuple[int, str]] = []
    for effect, keys in KEYWORDS.items():
        for key in keys:
            match = re.search(rf"\b{re.escape(key)}(?:e?s)?\b", words)
            if match:
                found.append((match.start(), effect))
    return min(found)[1] if found else None


def effect_blocks(
    desc: str, length_s: float, rate: int = 48000, seed: int = 0, block: int = 1 << 16
) -> Iterator[Stereo] | None:
    """The effect `desc` asks for, `length_s` long, as float32 stereo blocks `[2, ≤ block]`
    (exactly `max(1, round(length_s × rate))` frames in all), faded in and out but not
    normalised (values of order 1); None (and a log line) when no effect matches. The samples
    depend on `seed`, never on `block`. SoundFont effects are rendered here, the rest as the
    blocks are taken."""
    effect = choose(desc)
    if effect is None:
        logger.warning(
            "no sound effect matches %r (known: %s); it is left silent", desc, ", ".join(KEYWORDS)
        )
        return None
    if block < 1:
        raise ValueError(f"block must be at least 1 frame, not {block}")
    frames = max(1, round(length_s * rate))
    chunks: Iterator[Samples]
    if effect in SOUNDFONT:
        chunks = _from_soundfont(effect, length_s, frames, rate)
    else:
        chunks = PROCEDURAL[effect](frames, rate, np.random.default_rng(seed))
    sudden = effect in ("impact", "thunder", "gunshot") or effect in SOUNDFONT
    attack, release = (
        min(frames // 2, max(1, round(seconds * rate)))
        for seconds in (0.005 if sudden else 0.15, min(0.3, length_s / 4))
    )
    logger.debug("sound effect %r: %s, %.1f s", desc, effect, length_s)  # one per item: quiet
    return _reblock(_edges(chunks, frames, attack, release), block)


def render_effect(desc: str, length_s: float, rate: int = 48000, seed: int = 0) -> Stereo | None:
    """The effect `desc` asks for, `length_s` long, as float32 stereo `[2, frames]` peaking at
    about −6 dBFS; None (and a log line) when no effect matches the description. The whole
    length is in memory: for long beds, take `effect_blocks` instead."""
    blocks = effect_blocks(desc, length_s, rate, seed)
    if blocks is None:
        return None
    out = np.empty((2, max(1, round(length_s * rate))), np.float32)
    done = 0
    for piece in blocks:
        out[:, done : done + piece.shape[1]] = piece
        done += piece.shape[1]
    peak = float(np.abs(out).max())
    if peak > 0:
        out *= np.float32(0.5 / peak)
    return out


def _edges(chunks: Iterable[Samples], frames: int, attack: int, release: int) -> Iterator[Samples]:
    """Each chunk with a raised-cosine fade in over the effect's first `attack` frames and out
    over its last `release`, so no effect starts or stops with a click."""
    first = 0
    for chunk in chunks:
        n = chunk.shape[1]
        if first < attack or first + n > frames - release:
            yield chunk * _fade(first, n, frames, attack, release)
        else:
            yield chunk
        first += n


@functools.lru_cache(maxsize=16)  # thousands of short effects of one length share their fades
def _fade(first: int, n: int, frames: int, attack: int, release: int) -> Floats:
    """The edges' gain over frames [first, first + n): 0.5 − 0.5·cos(π·k/(ramp − 1)), k frames
    into a ramp."""
    at = first + np.arange(n)
    gain = np.ones(at.shape)
    for k, ramp in ((at, attack), (frames - 1 - at, release)):
        inside = k < ramp
        gain[inside] *= 0.5 - 0.5 * np.cos(np.pi * k[inside] / max(1, ramp - 1))
    gain.flags.writeable = False  # shared
    return gain


def _reblock(chunks: Iterable[Samples], block: int) -> Iterator[Stereo]:
    """The chunks' samples regrouped into float32 blocks of `block` frames, the last shorter."""
    out, filled = np.empty((2, block), np.float32), 0
    for chunk in chunks:
        used = 0
        while used < chunk.shape[1]:
            take = min(block - filled, chunk.shape[1] - used)
            out[:, filled : filled + take] = chunk[:, used : used + take]
            filled, used = filled + take, used + take
            if filled == block:
                yield out
                out, filled = np.empty((2, block), np.float32), 0
    if filled:
        yield out[:, :filled].copy()


def _from_soundfont(effect: str, length_s: float, frames: int, rate: int) -> Iterator[Stereo]:
    """The SoundFont's effect, rendered now (so a missing synthesizer shows at once) and handed
    out in chunks. Up to SOUNDFONT_IN_MEMORY_S the note is held for the whole length as one
    render. Past it the note is held for LOOP_ATTACK_S + LOOP_S + LOOP_FADE_S once. A sound that
    lasts (a helicopter, applause, the seashore) plays from its start up to LOOP_ATTACK_S +
    LOOP_S, then the LOOP_S after the attack over and over, its first LOOP_FADE_S crossfaded
    (equal power) with the sound that followed, so each repeat flows on without a seam. A sound
    that dies away (a tweet, a ring, a breath, a gunshot) is struck again every ONE_SHOT_S."""
    if length_s <= SOUNDFONT_IN_MEMORY_S:
        note = _render_note(effect, max(0.05, length_s - 0.2), length_s, rate)
        return _play(note, note, frames)
    attack, loop_n, fade = (round(s * rate) for s in (LOOP_ATTACK_S, LOOP_S, LOOP_FADE_S))
    held = (attack + loop_n + fade) / rate
    note = _render_note(effect, held, held + 0.5, rate)  # the render's tail fade lies past use
    late, early = (float(np.sqrt((part**2).mean())) for part in (note[:, loop_n:], note[:, :rate]))
    if late < 0.01 * early:
        cycle, tail = note[:, : round(ONE_SHOT_S * rate)].copy(), round(0.1 * rate)
        cycle[:, -tail:] *= np.cos(np.linspace(0, np.pi / 2, tail, dtype=np.float32)) ** 2
        return _play(cycle, cycle, frames)
    loop = note[:, attack : attack + loop_n].copy()
    rise = np.sin(0.5 * np.pi * (np.arange(fade) + 0.5) / fade).astype(np.float32)
    after = note[:, attack + loop_n : attack + loop_n + fade]
    loop[:, :fade] = loop[:, :fade] * rise + after * np.sqrt(1 - rise**2)
    return _play(note[:, : attack + loop_n], loop, frames)


def _play(head: Stereo, loop: Stereo, frames: int) -> Iterator[Stereo]:
    """`frames` of `head`, then of `loop` repeated, in chunks of at most CHUNK."""
    source, at = head, 0
    while frames > 0:
        n = min(CHUNK, frames, source.shape[1] - at)
        yield source[:, at : at + n]
        frames, at = frames - n, at + n
        if at == source.shape[1]:
            source, at = loop, 0


def _render_note(effect: str, hold_s: float, length_s: float, rate: int) -> Stereo:
    from audio_creator.music.procedural.render import render_parts
    from audio_creator.music.procedural.score import Note, Part

    program, pitch = SOUNDFONT[effect]
    part = Part(effect, program, False, (Note(0.0, hold_s, pitch, 110),))
    return render_parts([part], length_s, sample_rate=rate, reverb=0.1, anticipate_attacks=False)
