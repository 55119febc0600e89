"""`SpeechEngine`: the one interface every voice offers, and the registry of engines.

An engine turns one sentence into samples at its own rate; everything around it (cutting text,
pauses, resampling, subtitles, writing) is shared, in `narrate.py`. Engines are registered as
lazy factories, so a heavy engine's imports happen only when it is chosen.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from audio_creator.errors import BackendUnavailable, ConfigError, MediaError, require_finite
from audio_creator.registry import Registry


@dataclass(frozen=True)
class SpeechOptions:
    """How to speak. Engines ignore what they cannot do and say so in the log."""

    speed: float = 1.0  # 0.5–2.0; 2.0 takes half the time
    language: str | None = None  # e.g. "en", "en-us", "de"; None: the voice's own
    speaker: str | None = None  # a voice's speaker name or number, for multi-speaker voices
    sentence_pause_s: float = 0.35  # silence after each sentence
    paragraph_pause_s: float = 0.8  # silence after each paragraph
    normalize: bool = True  # English numbers, money, units and abbreviations read as words

    def __post_init__(self) -> None:
        require_finite(
            speed=self.speed, sentence_pause=self.sentence_pause_s,
            paragraph_pause=self.paragraph_pause_s,
        )  # fmt: skip
        if not 0.5 <= self.speed <= 2.0:
            raise ConfigError(f"--speed must be within 0.5–2.0, got {self.speed}")
        if min(self.sentence_pause_s, self.paragraph_pause_s) < 0:
            raise ConfigError("pauses must be ≥ 0 s")


class SpeechEngine(Protocol):
    """Anything that speaks one sentence at a time.

    Optional, looked up with getattr: `spoken_language(options)`, the language the voice will
    speak as it names it ("cmn" for "zh"); `reads(language)`, the scripts it reads aloud in a
    language when it is not what espeak-ng reads (see `speech.language`).
    """

    name: str
    sample_rate: int
    description: str  # which voice, for logs and reports

    def speaks(self, language: str) -> bool:
        """True if the voice can speak `language` (a code such as "en" or "en-us")."""
        ...

    def synthesize(self, text: str, options: SpeechOptions) -> npt.NDArray[np.float32]:
        """One sentence as mono float32 samples at `sample_rate`, without leading silence."""
        ...


logger = logging.getLogger(__name__)
# Best first. Kokoro (when its files are present) sounds more natural than Piper and is still
# faster than real time on a CPU; Coqui models join for languages the others lack; espeak-ng
# speaks almost any language, robotically.
AUTO_ORDER = ("kokoro", "piper", "coqui", "espeak")


def _builtins(registry: Registry[SpeechEngine]) -> None:
    from audio_creator.speech import coqui_voice, espeak, kokoro_voice, piper_voice, pyttsx3_voice

    registry.register("piper", piper_voice.PiperEngine, piper_voice.missing_requirements)
    registry.register("espeak", espeak.EspeakEngine, espeak.missing_requirements)
    registry.register("pyttsx3", pyttsx3_voice.Pyttsx3Engine, pyttsx3_voice.missing_requirements)
    registry.register("kokoro", kokoro_voice.KokoroEngine, kokoro_voice.missing_requirements)
    registry.register("coqui", coqui_voice.CoquiEngine, coqui_voice.missing_requirements)


ENGINES: Registry[SpeechEngine] = Registry("speech engine", _builtins)
register = ENGINES.register
available_engines = ENGINES.available


def known_engine(name: str) -> None:
    """ConfigError unless `name` is "auto" or a registered engine (nothing is loaded)."""
    if name != "auto":
        ENGINES.missing(name)


def create_engine(name: str = "auto", language: str | None = None, **options: Any) -> SpeechEngine:
    """The engine called `name`; "auto" takes the best one here that speaks `language`.

    Raises:
        ConfigError: no engine has that name, or (auto) none speaks the language.
        BackendUnavailable: it exists but lacks a package or a voice (the message says which).
    """
    if name == "auto" and options.get("voice") is not None:
        name = engine_for_voice(options["voice"])  # a voice file belongs to one engine
    if name != "auto":
        return ENGINES.create(name, **options)
    ready = [n for n in AUTO_ORDER if ENGINES.missing(n) is None]
    if not ready:
        raise BackendUnavailable(f"no speech engine can run here: {ENGINES.missing(AUTO_ORDER[0])}")
    for candidate in ready:
        try:
            engine = ENGINES.create(candidate, **options)
        except BackendUnavailable as exc:  # installed, but no voice files for it here
            logger.debug("auto: skipping %s: %s", candidate, exc)
            continue
        except MediaError as exc:  # its files are there but broken: say so, use the next
            logger.warning("auto: skipping %s: %s", candidate, exc)
            continue
        if language is None or engine.speaks(language):
            logger.info("speech engine: %s (%s)", candidate, engine.description)
            return engine
    raise ConfigError(f"no installed voice speaks {language!r} (tried: {', '.join(ready)})")


def engine_for_voice(voice: str | os.PathLike[str]) -> str:
    """Which engine a voice belongs to: a Piper `.onnx` has its `.onnx.json` beside it, a Kokoro
    one its voices file, a Coqui model is a folder (or `.pth`) with `config.json`. A bare name is
    looked for in each engine's folder; "piper" if nothing tells."""
    from audio_creator.speech.kokoro_voice import VOICES_NAMES
    from audio_creator.speech.voices import voices_folder

    if str(voice).startswith("tts_models"):  # a Coqui catalogue name
        return "coqui"
    path = Path(voice).expanduser()
    if len(path.parts) == 1 and not path.exists():
        for engine, suffix in (("piper", ".onnx"), ("kokoro", ".onnx"), ("coqui", "")):
            folder = voices_folder(engine)
            name = path.name.removesuffix(suffix) if suffix else path.name
            if folder.is_dir() and any(folder.rglob(f"{name}{suffix}")):
                return engine
        return "piper"
    piper_config = path.with_name(path.name + ".json")
    kokoro_voices = any(path.with_name(n).exists() for n in VOICES_NAMES)
    if path.suffix == ".onnx" and kokoro_voices and not piper_config.exists():
        return "kokoro"
    if (path.is_dir() and (path / "config.json").is_file()) or path.suffix == ".pth":
        return "coqui"
    return "piper"
