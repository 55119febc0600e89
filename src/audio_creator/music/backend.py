"""`MusicBackend`: the one interface every music generator offers, and the registry of them.

A request says what is wanted (length, the video's analysis, style or prompt, seed); a backend
returns the music and what it decided. Backends are registered as lazy factories, so a neural
backend's heavy imports happen only when it is chosen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from audio_creator.analysis.video import VideoAnalysis
from audio_creator.audio import Audio
from audio_creator.errors import ConfigError, require_finite
from audio_creator.registry import Registry

Progress = Callable[[float, str], None]


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

    audio: Audio
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


# Neural backends join this list (before "procedural") when they land.
AUTO_ORDER = ("procedural",)


def _builtins(registry: Registry[MusicBackend]) -> None:
    from audio_creator.music import procedural

    registry.register("procedural", procedural.ProceduralBackend, procedural.missing_requirements)


BACKENDS: Registry[MusicBackend] = Registry("music backend", _builtins)
register = BACKENDS.register
available_backends = BACKENDS.available


def create_backend(name: str = "auto", **options: Any) -> MusicBackend:
    """The backend called `name`; "auto" takes the best one that can run here.

    Raises:
        ConfigError: no backend has that name.
        BackendUnavailable: it exists but lacks a package or weights (the message says which).
    """
    if name == "auto":
        ready = [n for n in AUTO_ORDER if n in BACKENDS.names() and BACKENDS.missing(n) is None]
        # Nothing ready: report what the embedded default lacks.
        name = ready[0] if ready else AUTO_ORDER[-1]
    return BACKENDS.create(name, **options)
