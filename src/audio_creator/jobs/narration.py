"""The autopipeline's narration: its text cut to what can fit the video before a word is spoken,
spoken (once more, faster, if it is still too long), then placed on the video's timeline (each
sentence at a shot change where it can: `placement`) and written as one track as long as the
video.

Speaking needs nothing of the video's analysis but its length, so the autopipeline speaks while
the video is analysed or the music is made, and places the sentences once the analysis is there.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from audio_creator.analysis.video import VideoAnalysis
from audio_creator.audio import Audio, load
from audio_creator.caption.offline import shot_starts
from audio_creator.errors import ConfigError
from audio_creator.files import atomic_output
from audio_creator.jobs import placement

if TYPE_CHECKING:
    from audio_creator.jobs.pipeline import PipelineOptions

logger = logging.getLogger(__name__)
Progress = Any  # (fraction, message) → None


@dataclass(frozen=True)
class Spoken:
    """The narration as spoken, before it is placed on the video's timeline."""

    narration: Any  # speech.narrate.Narration: its sentences' times in `voice`
    voice: Audio  # every sentence, one after the other
    speed: float  # what it was spoken at
    engine: str


@dataclass(frozen=True)
class PlacedSpeech:
    pieces: list[tuple[float, Audio]]  # (start on the timeline, one sentence's audio)
    subtitles: list[Any]  # SpokenSentence, on the timeline
    facts: dict[str, Any]  # for the report


def synthesise(
    options: PipelineOptions,
    text: str,
    duration_s: float,
    scratch_path: Path,
    chosen_voice: tuple[Any, Any] | None = None,
    progress: Progress | None = None,
) -> Spoken:
    """Speak `text` (cut to what can fit already: `what_can_fit`), faster once if it is too
    long for a video of `duration_s`; `chosen_voice` is the (engine, options) chosen for the text
    already, if it was. Needs nothing of the analysis, so it can run while the video decodes."""
    from dataclasses import replace

    from audio_creator.speech.narrate import narrate_to_file

    engine, chosen = chosen_voice or choose_voice(options, text)
    speed = options.speed
    with _scratch(scratch_path) as scratch:
        for attempt in range(2):  # once as asked; once faster if it does not fit
            speech_options = replace(chosen, speed=speed)
            narration = narrate_to_file(text, engine, scratch, speech_options, progress=progress)
            lengths = [s.end_s - s.start_s for s in narration.sentences]
            needed = placement.speedup_needed(lengths, duration_s)
            faster = min(2.0, speed * min(needed * 1.02, placement.MAX_SPEEDUP))
            if attempt == 1 or needed <= 1.0 or faster <= speed:
                break
            logger.info("narration too long for the video: speaking at %.2f× instead", faster)
            speed = faster
        return Spoken(narration, load(scratch), speed, engine.name)


def place(options: PipelineOptions, spoken: Spoken, analysis: VideoAnalysis) -> PlacedSpeech:
    """The spoken sentences placed on the video's timeline (each at a shot change where it can),
    their subtitles, and the narration's facts for the report.

    Raises:
        ConfigError: not one sentence fits the video.
    """
    from audio_creator.speech import SpokenSentence

    narration, voice = spoken.narration, spoken.voice
    lengths = [s.end_s - s.start_s for s in narration.sentences]
    plan = placement.place(lengths, shot_starts(analysis), analysis.duration_s)
    if lengths and not plan.starts_s:
        raise ConfigError(
            f"not one sentence of the narration fits the {analysis.duration_s:.1f} s video, "
            f"even at {spoken.speed:.2f}× speed: shorten it, or leave --narration out"
        )
    pieces: list[tuple[float, Audio]] = []
    subtitles: list[SpokenSentence] = []
    rate = voice.sample_rate
    for sentence, start in zip(narration.sentences, plan.starts_s, strict=False):
        clip = voice.samples[:, round(sentence.start_s * rate) : round(sentence.end_s * rate)]
        pieces.append((start, Audio(np.ascontiguousarray(clip), rate)))
        subtitles.append(SpokenSentence(sentence.text, start, start + clip.shape[1] / rate))
    for warning in plan.warnings:
        logger.warning("%s", warning)
    facts = {
        "engine": spoken.engine,
        "asked": options.tts_engine,
        "voice": narration.voice,
        "language": narration.language,
        "speed": round(spoken.speed, 3),
        "sentences": [asdict(s) for s in subtitles],
        "dropped_sentences": plan.dropped,
        "warnings": list(plan.warnings),
    }
    return PlacedSpeech(pieces, subtitles, facts)


def choose_voice(options: PipelineOptions, text: str) -> tuple[Any, Any]:
    """The speech engine for `text` and the options to speak it with (the language found from
    its script when none is given), checked: see `speech.narrate.choose_voice`."""
    from audio_creator.speech import SpeechOptions
    from audio_creator.speech.narrate import choose_voice

    asked = SpeechOptions(speed=options.speed, language=options.language, speaker=options.speaker)
    return choose_voice(
        text, options.tts_engine, asked, **({"voice": options.voice} if options.voice else {})
    )


# No voice here speaks faster than this (Piper's en_US voices: 13–16 characters a second at 1×):
# a narration estimated at it is never cut short of what would really fit.
FASTEST_CHARS_PER_S = 20.0


def what_can_fit(text: str, duration_s: float, fastest: float) -> str:
    """The sentences of `text` that could be spoken within `duration_s` at `fastest` speed, by
    their length in characters, before any is spoken: a narration far longer than its video is
    cut (saying how much) or refused, not spoken in full to be dropped.

    Raises:
        ConfigError: not even its first sentence could fit.
    """
    from audio_creator.speech.text import sentences

    pieces = sentences(text)
    kept, spent = [], 0.0
    for piece in pieces:
        spent += len(piece.text) / (FASTEST_CHARS_PER_S * fastest)
        if spent > duration_s:
            break
        kept.append(piece)
    if not kept:
        raise ConfigError(
            f"the narration cannot fit the {duration_s:.1f} s video: its first sentence alone "
            f"takes about {spent:.1f} s even at {fastest:.2f}× speed; shorten it, or leave "
            "--narration out"
        )
    if len(kept) < len(pieces):
        logger.warning(
            "the narration is longer than the %.1f s video: %d of its %d sentences cannot fit "
            "and are left out before speaking", duration_s, len(pieces) - len(kept), len(pieces),
        )  # fmt: skip
    return "".join(p.text + ("\n\n" if p.paragraph_end else " ") for p in kept).strip()


def write_on_timeline(pieces: list[tuple[float, Audio]], duration_s: float, path: Path) -> None:
    """Write the placed sentences as one mono WAV track as long as the video, a block at a
    time: silence between the sentences costs no memory, however long the video."""
    from audio_creator.audio import open_wav_writer

    rate = pieces[0][1].sample_rate if pieces else 48000
    frames = round(duration_s * rate)
    block = 1 << 20
    with atomic_output(path) as tmp, open_wav_writer(tmp, rate, 1, 24) as write:
        for lo in range(0, frames, block):
            hi = min(lo + block, frames)
            out = np.zeros((1, hi - lo), np.float32)
            for start, clip in pieces:
                first = round(start * rate)
                a, b = max(lo, first), min(hi, first + clip.frames)
                if a < b:
                    out[0, a - lo : b - lo] += clip.samples[0, a - first : b - first]
            write(out)


@contextmanager
def _scratch(path: Path) -> Iterator[Path]:
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)
