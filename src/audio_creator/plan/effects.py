"""Sound effects offline: a small procedural set and the General MIDI SoundFont's effect programs.

An effect is chosen from the words of its description ("distant thunder" → thunder, "birds at
dawn" → the SoundFont's bird tweet). Procedural effects are shaped noise and tones: rain, wind,
thunder, waves, fire, whoosh, riser, impact, and a plain noise bed (room tone). The SoundFont's
effect programs (GM 120–127) bring birds, a telephone, a helicopter, applause, a gunshot, the
seashore and breath. Every effect is stereo at the asked rate and exactly the asked length.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from scipy import signal

logger = logging.getLogger(__name__)
Stereo = npt.NDArray[np.float32]
Floats = npt.NDArray[np.float64]


def _noise(rng: np.random.Generator, frames: int) -> Floats:
    return rng.standard_normal((2, frames))


def _band(x: Floats, low: float, high: float, rate: int) -> Floats:
    sos = signal.butter(2, [low, min(high, 0.45 * rate)], btype="bandpass", fs=rate, output="sos")
    return np.asarray(signal.sosfilt(sos, x, axis=-1))


def _lowpass(x: Floats, cutoff: float, rate: int) -> Floats:
    sos = signal.butter(2, cutoff, btype="lowpass", fs=rate, output="sos")
    return np.asarray(signal.sosfilt(sos, x, axis=-1))


def _edges(x: Floats, rate: int, attack: float, release: float) -> None:
    """Raised-cosine fade in and out, in place, so no effect starts or stops with a click."""
    frames = x.shape[-1]
    for length, ramp in ((attack, slice(None)), (release, slice(None, None, -1))):
        n = min(frames // 2, max(1, round(length * rate)))
        shape = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, n))
        if ramp.step == -1:
            x[..., frames - n :] *= shape[::-1]
        else:
            x[..., :n] *= shape


def rain(frames: int, rate: int, rng: np.random.Generator) -> Floats:
    """A steady hiss of fine drops, and louder single drops scattered over it."""
    bed = _band(_noise(rng, frames), 1200, 9000, rate) * 0.5
    drops = np.zeros((2, frames))
    count = int(frames / rate * 40)
    where = rng.integers(0, max(1, frames - 400), (2, count))
    for channel in range(2):
        drops[channel, where[channel]] = rng.uniform(0.3, 1.0, count)
    kernel = np.exp(-np.arange(240) / 30.0) * np.sin(np.arange(240) * 2 * np.pi * 3000 / rate)
    splashes = signal.fftconvolve(drops, kernel[np.newaxis, :], axes=-1)[:, :frames]
    return np.asarray(bed + 0.6 * splashes, dtype=np.float64)


def wind(frames: int, rate: int, rng: np.random.Generator) -> Floats:
    """Low noise whose loudness and colour drift in slow gusts."""
    t = np.arange(frames) / rate
    gust = 0.55 + 0.45 * np.sin(2 * np.pi * 0.13 * t + rng.uniform(0, 6)) * np.sin(
        2 * np.pi * 0.05 * t
    )
    return _band(_noise(rng, frames), 150, 900, rate) * gust


def thunder(frames: int, rate: int, rng: np.random.Generator) -> Floats:
    """A crack, then a rolling low rumble that dies away over the effect's length."""
    t = np.arange(frames) / rate
    length = frames / rate
    rumble = _lowpass(np.cumsum(_noise(rng, frames), axis=-1) * 0.02, 180, rate)
    rumble -= _lowpass(rumble, 20, rate)  # no DC drift
    roll = (1 - np.exp(-t / 0.08)) * np.exp(-t / max(0.5, 0.35 * length))
    roll *= 1 + 0.5 * np.sin(2 * np.pi * 1.3 * t) ** 2
    crack = _band(_noise(rng, frames), 800, 6000, rate) * np.exp(-t / 0.06)
    return np.asarray(rumble / (np.abs(rumble).max() + 1e-9) * roll + 0.5 * crack)


def waves(frames: int, rate: int, rng: np.random.Generator) -> Floats:
    """Surf: noise that swells and falls back every eight seconds or so."""
    t = np.arange(frames) / rate
    swell = np.clip(np.sin(2 * np.pi * t / 8.0 + rng.uniform(0, 6)), 0, None) ** 1.5 + 0.15
    return _band(_noise(rng, frames), 200, 5000, rate) * swell


def fire(frames: int, rate: int, rng: np.random.Generator) -> Floats:
    """A low roar with crackles."""
    roar = _band(_noise(rng, frames), 80, 600, rate) * 0.6
    crackles = np.zeros((2, frames))
    count = int(frames / rate * 12)
    crackles[rng.integers(0, 2, count), rng.integers(0, frames, count)] = rng.uniform(0.5, 1, count)
    kernel = np.exp(-np.arange(120) / 12.0)
    pops = signal.fftconvolve(crackles, kernel[np.newaxis], axes=-1)[:, :frames]
    return np.asarray(roar + 3 * _band(pops, 1500, 8000, rate))


def whoosh(frames: int, rate: int, rng: np.random.Generator) -> Floats:
    """Air rushing past: band-passed noise sweeping up and back down, panned across."""
    t = np.linspace(0, 1, frames)
    envelope = np.sin(np.pi * t) ** 2
    low = _band(_noise(rng, frames), 300, 1500, rate)
    high = _band(_noise(rng, frames), 1500, 7000, rate)
    sweep = np.sin(np.pi * t)
    out: Floats = (low * (1 - sweep) + high * sweep) * envelope
    out[0] *= 1 - 0.6 * t
    out[1] *= 0.4 + 0.6 * t
    return out


def riser(frames: int, rate: int, rng: np.random.Generator) -> Floats:
    """A tone gliding up an octave and a half with noise, growing to the end."""
    t = np.arange(frames) / rate
    length = frames / rate
    freq = 110 * 2 ** (1.5 * t / length)
    tone = np.sin(2 * np.pi * np.cumsum(freq) / rate)
    growth = (t / length) ** 2
    return (np.stack([tone, tone]) * 0.5 + _band(_noise(rng, frames), 2000, 9000, rate)) * growth


def impact(frames: int, rate: int, rng: np.random.Generator) -> Floats:
    """A boom: a falling low sine and a burst of noise, decaying."""
    t = np.arange(frames) / rate
    freq = 40 + 50 * np.exp(-t / 0.08)
    boom = np.sin(2 * np.pi * np.cumsum(freq) / rate) * np.exp(-t / 0.45)
    burst = _lowpass(_noise(rng, frames), 3000, rate) * np.exp(-t / 0.05)
    return np.stack([boom, boom]) + 0.4 * burst


def room_tone(frames: int, rate: int, rng: np.random.Generator) -> Floats:
    """A quiet, even bed of low noise: the sound of a room."""
    return _lowpass(_noise(rng, frames), 1200, rate)


Generator = Callable[[int, int, np.random.Generator], Floats]
PROCEDURAL: dict[str, Generator] = {
    "rain": rain, "wind": wind, "thunder": thunder, "waves": waves, "fire": fire,
    "whoosh": whoosh, "riser": riser, "impact": impact, "room tone": room_tone,
}  # fmt: skip
# Words are matched whole (a plural "s" or "es" allowed), and chosen so that ordinary uses do not
# match: "a drone shot" brings no gunshot, "ambient music" no room tone, "a hit song" no impact.
# General MIDI effect programs (0-based) and the note each sounds best on.
SOUNDFONT: dict[str, tuple[int, int]] = {
    "birds": (123, 72), "telephone": (124, 67), "helicopter": (125, 60), "applause": (126, 60),
    "gunshot": (127, 48), "seashore": (122, 60), "breath": (121, 60), "guitar fret": (120, 60),
}  # fmt: skip
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


def render_effect(desc: str, length_s: float, rate: int = 48000, seed: int = 0) -> Stereo | None:
    """The effect `desc` asks for, `length_s` long, as float32 stereo `[2, frames]` peaking at
    about −6 dBFS; None (and a log line) when no effect matches the description."""
    effect = choose(desc)
    if effect is None:
        logger.warning(
            "no sound effect matches %r (known: %s); it is left silent", desc, ", ".join(KEYWORDS)
        )
        return None
    frames = max(1, round(length_s * rate))
    rng = np.random.default_rng(seed)
    if effect in SOUNDFONT:
        out = _from_soundfont(effect, length_s, rate)
    else:
        out = PROCEDURAL[effect](frames, rate, rng)
    sudden = effect in ("impact", "thunder", "gunshot") or effect in SOUNDFONT
    _edges(out, rate, 0.005 if sudden else 0.15, min(0.3, length_s / 4))
    peak = float(np.abs(out).max())
    scaled = out * (0.5 / peak) if peak > 0 else out
    logger.debug("sound effect %r: %s, %.1f s", desc, effect, length_s)  # one per item: quiet
    return np.ascontiguousarray(scaled[:, :frames], dtype=np.float32)


def _from_soundfont(effect: str, length_s: float, rate: int) -> Floats:
    from audio_creator.music.procedural.render import render_parts
    from audio_creator.music.procedural.score import Note, Part

    program, pitch = SOUNDFONT[effect]
    hold = max(0.05, length_s - 0.2)
    part = Part(effect, program, False, (Note(0.0, hold, pitch, 110),))
    stereo = render_parts([part], length_s, sample_rate=rate, reverb=0.1)
    return np.asarray(stereo, dtype=np.float64)
