"""`MusicBackend`: the one interface every music generator offers, and the registry of them.

A request says what is wanted (length, the video's analysis, style or prompt, seed); a backend
returns the music and what it decided. Backends are registered as lazy factories, so a neural
backend's heavy imports happen only when it is chosen.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from audio_creator.analysis.video import VideoAnalysis
from audio_creator.audio import Audio
from audio_creator.audio_source import AudioFile
from audio_creator.errors import ConfigError, require_finite
from audio_creator.registry import Registry

logger = logging.getLogger(__name__)

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class Sampling:
    """How a token model draws each audio token (the neural backends; others ignore it).

    `top_k` 0 and `top_p` 0 switch those filters off; `temperature` 0 takes the likeliest token;
    `cfg_coef` is the classifier-free guidance weight (1: no guidance, the null condition unused).
    """

    top_k: int = 250
    top_p: float = 0.0
    temperature: float = 1.0
    cfg_coef: float = 3.0

    def __post_init__(self) -> None:
        require_finite(top_p=self.top_p, temperature=self.temperature, cfg_coef=self.cfg_coef)
        if self.top_k < 0:
            raise ConfigError(f"--top-k must be 0 (off) or more, got {self.top_k}")
        if not 0.0 <= self.top_p <= 1.0:
            raise ConfigError(f"--top-p must be within 0–1 (0: off), got {self.top_p}")
        if not 0.0 <= self.temperature <= 10.0:
            raise ConfigError(f"--temperature must be within 0–10, got {self.temperature}")
        if not 0.0 <= self.cfg_coef <= 30.0:
            raise ConfigError(f"--cfg-coef must be within 0–30, got {self.cfg_coef}")


@dataclass(frozen=True)
class MusicRequest:
    """What music to make. Backends ignore the fields they cannot use, and say so in the log."""

    duration_s: float  # length of the piece
    analysis: VideoAnalysis | None = None  # the picture to follow; None: music for no video
    style: str | None = None  # a preset name (see `audio-creator vidmuse --help`)
    prompt: str | None = None  # free text: the neural backends' conditioning, a style hint here
    seed: int = 0  # the same request and seed give the same music
    variation: int = 0  # candidate number when several are made for reranking
    sample_rate: int = 48000
    target_lufs: float = -18.0  # loudness of the delivered music
    true_peak_dbtp: float = -1.0
    sampling: Sampling = field(default_factory=Sampling)  # the neural backends' token sampling
    video: Path | None = None  # the video itself, for backends that look at its frames
    spill_dir: Path | None = None  # where a long piece may be rendered to disk (the caller's)

    def __post_init__(self) -> None:
        require_finite(duration=self.duration_s, target_lufs=self.target_lufs)
        if not self.duration_s > 0:
            raise ConfigError(f"music duration must be positive, got {self.duration_s} s")
        if self.duration_s > 4 * 3600:
            raise ConfigError(f"music duration must be at most 4 hours, got {self.duration_s} s")
        if self.seed < 0 or self.variation < 0:
            raise ConfigError(f"the seed must be a whole number ≥ 0, got {self.seed}")
        if not 8000 <= self.sample_rate <= 192000:
            raise ConfigError(f"music sample rate must be 8–192 kHz, got {self.sample_rate}")


@dataclass(frozen=True)
class GeneratedMusic:
    """A backend's answer: the audio and a summary of what it decided (for logs and reports)."""

    audio: Audio | AudioFile  # a long piece may be a file in the request's `spill_dir`
    backend: str
    beats_s: tuple[float, ...] = ()  # where the backend put the beats, when it knows
    summary: dict[str, Any] = field(default_factory=dict)
    midi: Any = None  # the score, for backends that write one (procedural)


class MusicBackend(Protocol):
    """Anything that turns a `MusicRequest` into music."""

    name: str

    def generate(self, request: MusicRequest, progress: Progress | None = None) -> GeneratedMusic:
        """Make one piece of music."""
        ...


# `auto` takes the first of these that is ready: a neural backend when its packages and its
# default weights are here, else the embedded procedural composer.
AUTO_ORDER = ("vidmuse", "musicgen", "procedural")


def _builtins(registry: Registry[MusicBackend]) -> None:
    from audio_creator.music import procedural
    from audio_creator.music.neural import missing_packages

    registry.register("procedural", procedural.ProceduralBackend, procedural.missing_requirements)
    registry.register("musicgen", _musicgen, missing_packages)  # weights: checked on creation
    registry.register("vidmuse", _vidmuse, missing_packages)


def _musicgen(**options: Any) -> MusicBackend:
    from audio_creator.music.musicgen import MusicGenBackend

    return MusicGenBackend(**options)


def _vidmuse(**options: Any) -> MusicBackend:
    from audio_creator.music.vidmuse.backend import VidMuseBackend

    return VidMuseBackend(**options)


BACKENDS: Registry[MusicBackend] = Registry("music backend", _builtins)
register = BACKENDS.register
available_backends = BACKENDS.available


def ready_for_auto(name: str) -> str | None:
    """None when `auto` may take backend `name`, else what it lacks (packages or weights)."""
    lack = BACKENDS.missing(name)
    if lack is None and name == "musicgen":
        from audio_creator.music import musicgen

        lack = musicgen.missing_requirements()
    if lack is None and name == "vidmuse":
        from audio_creator.music.vidmuse import backend

        lack = backend.missing_requirements()
    return lack


def create_backend(name: str = "auto", **options: Any) -> MusicBackend:
    """The backend called `name`; "auto" takes the best one that can run here, and says why.

    Raises:
        ConfigError: no backend has that name.
        BackendUnavailable: it exists but lacks a package or weights (the message says which).
    """
    if name == "auto":
        for candidate in AUTO_ORDER:
            lack = ready_for_auto(candidate)
            if lack is None:
                name = candidate
                break
            if candidate != AUTO_ORDER[-1]:
                logger.info("music backend auto: not %s (%s)", candidate, lack)
        else:
            name = AUTO_ORDER[-1]  # nothing ready: report what the embedded default lacks
    if _served is not None and name in NEURAL:
        return _served(name, options)
    return BACKENDS.create(name, **options)


NEURAL = ("musicgen", "vidmuse")  # the backends a `music.serving.MusicServer` can serve
_served: Callable[[str, dict[str, Any]], MusicBackend] | None = None


@contextlib.contextmanager
def serve_neural(make: Callable[[str, dict[str, Any]], MusicBackend]) -> Iterator[None]:
    """Within this block, `create_backend` answers a request for a neural backend with
    `make(name, options)` (a `music.serving.ServedBackend`: its model runs in a shared server)."""
    global _served  # noqa: PLW0603 (one switch for the process, set and restored here)
    before, _served = _served, make
    try:
        yield
    finally:
        _served = before
