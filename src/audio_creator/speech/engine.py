"""`SpeechEngine`: the one interface every voice offers, and the registry of engines.

An engine turns one sentence into samples at its own rate; everything around it (cutting text,
pauses, resampling, subtitles, writing) is shared, in `narrate.py`. Engines are registered as
lazy factories, so a heavy engine's imports happen only when it is chosen.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from audio_creator.errors import BackendUnavailable, ConfigError, require_finite


@dataclass(frozen=True)
class SpeechOptions:
    """How to speak. Engines ignore what they cannot do and say so in the log."""

    speed: float = 1.0  # 0.5–2.0; 2.0 takes half the time
    language: str | None = None  # e.g. "en", "en-us", "de"; None: the voice's own
    speaker: str | None = None  # a voice's speaker name or number, for multi-speaker voices
    sentence_pause_s: float = 0.35  # silence after each sentence
    paragraph_pause_s: float = 0.8  # silence after each paragraph

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
    """Anything that speaks one sentence at a time."""

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
Factory = Callable[..., SpeechEngine]
_REGISTRY: dict[str, tuple[Factory, Callable[[], str | None]]] = {}
AUTO_ORDER = ("piper", "espeak")  # best first; more engines join as they land


def register(name: str, factory: Factory, missing: Callable[[], str | None]) -> None:
    """Add an engine. `missing()` says what it lacks (a package, a voice), or None if ready."""
    if name in _REGISTRY or name == "auto":
        raise ConfigError(f"a speech engine called {name!r} is already registered")
    _REGISTRY[name] = (factory, missing)


def known_engine(name: str) -> None:
    """ConfigError unless `name` is "auto" or a registered engine (nothing is loaded)."""
    _register_builtins()
    if name != "auto" and name not in _REGISTRY:
        raise ConfigError(
            f"unknown speech engine {name!r}; available: auto, {', '.join(sorted(_REGISTRY))}"
        )


def available_engines() -> dict[str, str | None]:
    """Every registered engine → None if it can run here, else what it lacks."""
    _register_builtins()
    return {name: missing() for name, (_, missing) in _REGISTRY.items()}


def create_engine(name: str = "auto", language: str | None = None, **options: Any) -> SpeechEngine:
    """The engine called `name`; "auto" takes the best one here that speaks `language`.

    Raises:
        ConfigError: no engine has that name.
        BackendUnavailable: it exists but lacks a package or a voice (the message says which).
    """
    _register_builtins()
    if name == "auto":
        return _auto(language, options)
    if name not in _REGISTRY:
        raise ConfigError(
            f"unknown speech engine {name!r}; available: auto, {', '.join(sorted(_REGISTRY))}"
        )
    factory, missing = _REGISTRY[name]
    lack = missing()
    if lack is not None:
        raise BackendUnavailable(f"speech engine {name!r} cannot run here: {lack}")
    return factory(**options)


def _auto(language: str | None, options: dict[str, Any]) -> SpeechEngine:
    """The first engine in AUTO_ORDER that can run here and speaks `language` (when given)."""
    ready = [n for n in AUTO_ORDER if n in _REGISTRY and _REGISTRY[n][1]() is None]
    if not ready:
        lack = _REGISTRY[AUTO_ORDER[0]][1]()
        raise BackendUnavailable(f"no speech engine can run here: {lack}")
    for name in ready:
        engine = _REGISTRY[name][0](**options)
        if language is None or engine.speaks(language):
            logger.info("speech engine: %s (%s)", name, engine.description)
            return engine
    raise ConfigError(f"no installed voice speaks {language!r} (tried: {', '.join(ready)})")


def _register_builtins() -> None:
    with _BUILTINS_LOCK:  # two threads asking at once must not register twice
        if _BUILTINS_DONE:
            return
        _register_each_builtin()
        _BUILTINS_DONE.append(True)


_BUILTINS_LOCK = threading.Lock()
_BUILTINS_DONE: list[bool] = []


def _register_each_builtin() -> None:
    from audio_creator.speech import espeak, piper_voice, pyttsx3_voice

    register("piper", piper_voice.PiperEngine, piper_voice.missing_requirements)
    register("espeak", espeak.EspeakEngine, espeak.missing_requirements)
    register("pyttsx3", pyttsx3_voice.Pyttsx3Engine, pyttsx3_voice.missing_requirements)
    # Named so that the original project's `--tts-engine coqui` gets a clear answer (exit 3).
    for planned, package in (("coqui", "coqui-tts"), ("kokoro", "kokoro-onnx")):
        register(planned, _unsupported(planned), _not_yet(planned, package))


def _not_yet(name: str, package: str) -> Callable[[], str | None]:
    def missing() -> str:
        return (
            f"the {name} engine ({package}) is not supported by this version yet; "
            "use piper (the default) or espeak"
        )

    return missing


def _unsupported(name: str) -> Factory:
    def factory(**_: Any) -> SpeechEngine:
        raise BackendUnavailable(_not_yet(name, name)())

    return factory
