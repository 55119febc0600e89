"""Audio Creator: give a video its soundtrack.

The package is organised in rooms by pipeline stage (see docs/architecture.md). Importing it is
cheap: heavy libraries (torch, transformers, gradio, openai) load only inside the backend that needs
them.
"""

from audio_creator.errors import (
    AudioCreatorError,
    BackendUnavailable,
    ConfigError,
    MediaError,
)

__version__ = "0.1.0"

__all__ = [
    "AudioCreatorError",
    "BackendUnavailable",
    "ConfigError",
    "MediaError",
    "__version__",
]
