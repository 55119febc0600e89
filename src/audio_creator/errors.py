"""The project's exceptions: one root, a few kinds, each mapped to a CLI exit code."""

from __future__ import annotations


class AudioCreatorError(Exception):
    """Root of every error the project raises on purpose. The message tells the user what to do."""

    exit_code = 1
    kind = "error"  # what a job's record says of how it failed


class MediaError(AudioCreatorError):
    """An input is missing, unreadable, corrupt or of the wrong kind; or an output is unwritable."""

    exit_code = 2
    kind = "media"


class ConfigError(AudioCreatorError):
    """An option or a combination of options is invalid."""

    exit_code = 2
    kind = "config"


class BackendUnavailable(AudioCreatorError):
    """A backend's package, weights or API key is missing."""

    exit_code = 3
    kind = "backend"


def require_finite(**values: float | None) -> None:
    """Raise ConfigError naming the first option that is NaN or infinite (None is allowed)."""
    import math

    for name, value in values.items():
        if value is not None and not math.isfinite(value):
            raise ConfigError(f"{name.replace('_', ' ')} must be a finite number, got {value}")
