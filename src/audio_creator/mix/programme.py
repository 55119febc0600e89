"""The programme before normalisation, rendered on demand: any stretch, straight from the inputs.

`Programme` knows the fitted music tracks, the narration and (once pass 1 has found the speech)
the music's balance-and-ducking gain curve; `mixed(start, stop)` renders that stretch of the mix.
Nothing here holds the whole programme, so it serves mixes of any length.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

from audio_creator.audio import Audio, load
from audio_creator.audio_source import AudioFile, AudioSource, Conformed, StoredClip
from audio_creator.dsp import limiter
from audio_creator.dsp.prefetch import prefetched
from audio_creator.mix import ducking
from audio_creator.mix.fit import FittedMusic, fade_gain
from audio_creator.mix.options import MixOptions, Track, check_length

logger = logging.getLogger(__name__)

RENDER_BLOCK = 1 << 20  # samples rendered at a time (about 22 s at 48 kHz); a BLOCK multiple


@dataclass(frozen=True)
class Programme:
    """Renders any stretch of the mix before normalisation, straight from the inputs."""

    frames: int
    sample_rate: int
    channels: int
    music_tracks: tuple[tuple[FittedMusic, int, float], ...]  # fitted music, first sample, gain
    speech: tuple[tuple[AudioSource, int, float], ...]  # speech source, first sample, gain
    speech_channels: int
    fade_in_s: float
    fade_out_s: float
    music_gain_db: npt.NDArray[np.float64] | None = None  # balance + ducking, per 10 ms

    @classmethod
    def build(
        cls, music: Sequence[Track], speech: Sequence[Track], options: MixOptions
    ) -> Programme:
        rate = options.sample_rate
        frames = programme_frames(music, speech, options)
        fitted = []
        for track in music:
            start = round(track.offset_s * rate)
            if start < frames:
                source = Conformed(at_rate(track.audio, rate), options.channels)
                fit = FittedMusic(source, frames - start, options.music_fit, options.crossfade_s)
                fitted.append((fit, start, track.gain * options.music_volume))
        width = 1 if all(t.audio.channels == 1 for t in speech) else options.channels
        voices = tuple(
            (
                Conformed(at_rate(t.audio, rate), width),
                round(t.offset_s * rate),
                t.gain * options.speech_volume,
            )
            for t in speech
        )
        return cls(
            frames,
            rate,
            options.channels,
            tuple(fitted),
            voices,
            width,
            options.fade_in_s,
            options.fade_out_s,
        )

    @cached_property
    def _music_spans(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Where each music track is audible: first sample, and the end of its audio (its
        padding, silence, is never rendered)."""
        firsts = np.array([first for _, first, _ in self.music_tracks], np.int64)
        ends = firsts + np.array([fit.audible_frames for fit, _, _ in self.music_tracks], np.int64)
        return firsts, ends

    @cached_property
    def _speech_spans(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        firsts = np.array([first for _, first, _ in self.speech], np.int64)
        return firsts, firsts + np.array([s.frames for s, _, _ in self.speech], np.int64)

    def music(self, start: int, stop: int) -> npt.NDArray[np.float32]:
        """Fitted, faded music, before balance and ducking."""
        out = np.zeros((self.channels, stop - start), np.float32)
        for index in _overlapping(self._music_spans, start, stop):  # of thousands, a few
            fit, first, gain = self.music_tracks[index]
            lo, hi = max(start, first), min(stop, first + fit.audible_frames)
            piece = fit.segment(lo - first, hi - first)
            if gain != 1.0:
                piece *= np.float32(gain)
            fades = fade_gain(
                lo - first,
                hi - first,
                fit.frames,
                self.sample_rate,
                self.fade_in_s,
                self.fade_out_s,
            )
            if fades is not None:
                piece *= fades
            if (lo, hi) == (start, stop) and len(self.music_tracks) == 1:
                return piece  # the only track, covering the stretch: it is the music
            out[:, lo - start : hi - start] += piece
        return out

    def music_ducked(self, start: int, stop: int) -> npt.NDArray[np.float32]:
        out = self.music(start, stop)
        if self.music_gain_db is not None:
            ducking.apply_frame_gain_in_place(out, self.sample_rate, self.music_gain_db, start)
        return out

    def speech_block(self, start: int, stop: int) -> npt.NDArray[np.float32]:
        out = np.zeros((self.speech_channels, stop - start), np.float32)
        for index in _overlapping(self._speech_spans, start, stop):
            source, first, gain = self.speech[index]
            lo, hi = max(start, first), min(stop, first + source.frames)
            if lo < hi:
                voice = source.read(lo - first, hi - first)
                if (lo, hi) == (start, stop) and len(self.speech) == 1:
                    return np.asarray(voice * np.float32(gain), dtype=np.float32)
                out[:, lo - start : hi - start] += voice * np.float32(gain)
        return out

    def mixed(self, start: int, stop: int) -> npt.NDArray[np.float32]:
        out = self.music_ducked(start, stop)
        if self.speech:
            out += self.speech_block(start, stop)  # mono speech spreads over every channel
        return out


def _overlapping(
    spans: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]], start: int, stop: int
) -> list[int]:
    """The indices of the spans (firsts, ends) that overlap [start, stop), in order."""
    firsts, ends = spans
    return [int(i) for i in np.flatnonzero((firsts < stop) & (ends > start))]


def at_rate(audio: Audio | AudioFile | StoredClip, rate: int) -> AudioSource:
    """The input at the output rate: files at another rate are decoded and resampled."""
    if audio.sample_rate == rate:
        return audio
    if isinstance(audio, AudioFile):
        return load(audio.path, sample_rate=rate)
    if isinstance(audio, StoredClip):
        audio = Audio(audio.read(0, audio.frames), audio.sample_rate)
    return audio.resample(rate)


def render_blocks(frames: int) -> list[tuple[int, int]]:
    return [(start, min(start + RENDER_BLOCK, frames)) for start in range(0, frames, RENDER_BLOCK)]


def programme_frames(music: Sequence[Track], speech: Sequence[Track], options: MixOptions) -> int:
    def end_s(tracks: Sequence[Track]) -> float:
        return max(t.offset_s + t.audio.duration_s for t in tracks)

    if options.duration_s is not None:
        length = options.duration_s
    else:
        length = end_s(speech) if speech else end_s(music)
    if options.music_fit == "trim" and music and end_s(music) < length:
        logger.warning(
            "--music-fit trim: the programme ends with the music, at %.2f s", end_s(music)
        )
        length = end_s(music)
    check_length(length, "the programme")
    return max(1, round(length * options.sample_rate))


def with_context(
    programme: Programme,
) -> Iterator[tuple[int, npt.NDArray[np.float32], slice]]:
    """Every render block as (first sample rendered, samples, the block's own part), rendered
    with one limiter block of context on either side."""
    spans = [
        (max(0, start - limiter.BLOCK), min(programme.frames, stop + limiter.BLOCK))
        for start, stop in render_blocks(programme.frames)
    ]
    blocks = prefetched(programme.mixed, spans)
    for (lo, _), (start, stop), block in zip(
        spans, render_blocks(programme.frames), blocks, strict=True
    ):
        yield lo, block, slice(start - lo, stop - lo)


def limiter_blocks(inner: slice) -> slice:
    """The limiter blocks of a render block's own part (its start is a BLOCK multiple)."""
    first = (inner.start or 0) // limiter.BLOCK
    return slice(first, -(-(inner.stop or 0) // limiter.BLOCK))
