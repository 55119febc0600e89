"""Narration: text → sentences → a voice → one WAV (and subtitles), with bounded memory.

Each sentence is put in words as it is read aloud (English numbers, money, abbreviations),
synthesised, trimmed of its edge silence, resampled to the output rate and appended to the file
with the pause that follows it, so a book takes no more memory than a sentence. Each sentence's
place in the file is kept for the subtitles, which show the text as written.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from audio_creator.audio import open_wav_writer
from audio_creator.errors import ConfigError
from audio_creator.files import atomic_output, check_output_path
from audio_creator.speech.engine import SpeechEngine, SpeechOptions, create_engine
from audio_creator.speech.language import fit_options, needed_writing, pick_voice, voice_language
from audio_creator.speech.normalize import normalize_english, speaks_english
from audio_creator.speech.script import detect
from audio_creator.speech.text import Sentence, sentences

logger = logging.getLogger(__name__)
Progress = Callable[[float, str], None]

SILENCE_DBFS = -45.0  # quieter than this at a sentence's edges is trimmed
EDGE_KEEP_S = 0.03  # of that silence, this much is kept (a breath before plosives)


@dataclass(frozen=True)
class SpokenSentence:
    """Where one sentence's speech lies in the narration. Times in seconds."""

    text: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Narration:
    """What was written."""

    path: Path
    duration_s: float
    sample_rate: int
    sentences: tuple[SpokenSentence, ...]
    voice: str
    language: str | None = None  # as the voice names it ("cmn" for --language zh on espeak-ng)


def narrate_to_file(
    text: str,
    engine: SpeechEngine,
    path: str | os.PathLike[str],
    options: SpeechOptions | None = None,
    *,
    sample_rate: int | None = None,
    bit_depth: int = 24,
    progress: Progress | None = None,
) -> Narration:
    """Speak `text` with `engine` into a mono WAV at `path` (atomically).

    With no language in `options`, a text mostly in another script than Latin is spoken in that
    script's language when the voice speaks it (see `speech.language`).

    Raises:
        ConfigError: no speakable text, a language the voice cannot speak, a script it would read
            as letter names, or a bad option.
    """
    options = fit_options(detect(text), engine, options or SpeechOptions())
    check_engine(engine, options)
    rate = engine.sample_rate if sample_rate is None else sample_rate
    if not 8000 <= rate <= 192000:
        raise ConfigError(f"sample rate must be 8–192 kHz, got {rate}")
    return write_narration(sentences(text), engine, path, options, rate, bit_depth, progress)


def write_narration(
    pieces: Sequence[Sentence],
    engine: SpeechEngine,
    path: str | os.PathLike[str],
    options: SpeechOptions,
    rate: int,
    bit_depth: int = 24,
    progress: Progress | None = None,
) -> Narration:
    """The work of `narrate_to_file`, for callers that have already split the text and checked
    the engine and options (the CLI does, before it makes any folder)."""
    out = check_output_path(path)
    spoken: list[SpokenSentence] = []
    cursor = 0  # samples written so far
    keep = round(EDGE_KEEP_S * engine.sample_rate)
    english = options.normalize and _speaks_english(engine, options)
    with atomic_output(out) as tmp, open_wav_writer(tmp, rate, 1, bit_depth) as write:
        for index, sentence in enumerate(pieces):
            said = normalize_english(sentence.text) if english else sentence.text
            raw = engine.synthesize(said, options)
            span = loud_span(raw)
            if span is not None:
                # Edge silence cut down to EDGE_KEEP_S, so pauses are what the options say.
                first, last = max(0, span[0] - keep), span[1] + 1 + keep
                samples = _resampled(raw[first:last], engine, rate)
                lead = round((span[0] - first) * rate / engine.sample_rate)
                spoken.append(
                    SpokenSentence(
                        sentence.text, (cursor + lead) / rate, (cursor + samples.size) / rate
                    )
                )
                write(samples[np.newaxis, :])
                cursor += samples.size
            pause = (
                options.paragraph_pause_s if sentence.paragraph_end else options.sentence_pause_s
            )
            if index < len(pieces) - 1 and pause > 0:
                gap = round(pause / options.speed * rate)  # faster speech, shorter pauses
                write(np.zeros((1, gap), np.float32))
                cursor += gap
            if progress is not None:
                progress((index + 1) / len(pieces), "speaking")
        if cursor == 0:
            raise ConfigError("the voice produced no sound for this text")
    logger.info("%s: %d sentences, %.1f s", engine.description, len(spoken), cursor / rate)
    language = voice_language(engine, options)
    return Narration(out, cursor / rate, rate, tuple(spoken), engine.description, language)


def loud_span(samples: npt.NDArray[np.float32]) -> tuple[int, int] | None:
    """First and last sample louder than SILENCE_DBFS, or None for silence."""
    loud = np.flatnonzero(np.abs(samples) > 10 ** (SILENCE_DBFS / 20))
    return (int(loud[0]), int(loud[-1])) if loud.size else None


def choose_voice(
    text: str,
    engine_name: str = "auto",
    options: SpeechOptions | None = None,
    **engine_options: Any,
) -> tuple[SpeechEngine, SpeechOptions]:
    """The engine to speak `text` with, and the options to speak it with, checked: "auto" takes
    a voice for the language asked, else for the text's script (Arabic text finds a voice that
    speaks Arabic), and no voice may read much of the text as letter names.

    Raises:
        ConfigError: an unknown engine, a language or script no voice here speaks (the message
            names the script and the languages that can be spoken here), or a bad option.
        BackendUnavailable: the engine asked for cannot run here.
    """
    options = options or SpeechOptions()
    letters = detect(text)
    writing = None if options.language else needed_writing(letters)
    wanted = options.language or (writing.language if writing else None)
    if engine_name == "auto" and wanted is not None and not engine_options:
        engine = pick_voice(letters, wanted, options, from_text=writing is not None)
    else:
        engine = create_engine(engine_name, language=wanted, **engine_options)
    options = fit_options(letters, engine, options)
    check_engine(engine, options)
    return engine, options


def check_engine(engine: SpeechEngine, options: SpeechOptions) -> None:
    """ConfigError if `engine` cannot honour `options` (language, speaker, speed), found by
    asking and by speaking one short word."""
    if options.language and not engine.speaks(options.language):
        raise ConfigError(
            f"the voice {engine.description} cannot speak {options.language!r}; "
            "choose another voice or engine"
        )
    engine.synthesize("Ready.", options)


def _speaks_english(engine: SpeechEngine, options: SpeechOptions) -> bool:
    """Whether the sentences will be spoken in English (so English normalisation applies)."""
    if options.language is not None:
        return speaks_english(options.language)
    chosen = getattr(engine, "spoken_language", None)  # engines whose speaker sets the language
    if chosen is not None:
        return speaks_english(chosen(options))
    return engine.speaks("en")


def _resampled(
    samples: npt.NDArray[np.float32], engine: SpeechEngine, rate: int
) -> npt.NDArray[np.float32]:
    if rate == engine.sample_rate or samples.size == 0:
        return samples
    import soxr

    return np.asarray(soxr.resample(samples, engine.sample_rate, rate, "VHQ"), dtype=np.float32)
