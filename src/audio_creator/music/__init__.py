"""Music for a video: the `MusicBackend` interface, its registry, and the backends."""

from audio_creator.music.backend import (
    GeneratedMusic,
    MusicBackend,
    MusicRequest,
    available_backends,
    create_backend,
    register,
)

__all__ = [
    "GeneratedMusic",
    "MusicBackend",
    "MusicRequest",
    "available_backends",
    "create_backend",
    "register",
]
