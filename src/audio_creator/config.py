"""Where things are and which optional pieces are present: read from the environment, never stored.

Nothing here imports a heavy library unless asked to resolve a device.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audio_creator.errors import BackendUnavailable, ConfigError

DEVICES = ("auto", "cpu", "cuda")
OPTIONAL_PACKAGES = (
    "torch",
    "transformers",
    "peft",
    "openai",
    "fastapi",
    "uvicorn",
    "gradio",
    "piper-tts",
    "TTS",
    "kokoro",
    "pyttsx3",
    "imageio-ffmpeg",
)


@dataclass(frozen=True)
class Settings:
    """The project's configuration, as the environment (and a `.env` file) gives it."""

    models_dir: Path  # where weights are looked for and downloaded to
    openai_base_url: str | None  # an OpenAI-compatible endpoint; None is the official one
    openai_model: str
    openai_key_set: bool  # whether OPENAI_API_KEY is present (the key itself is never shown)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        models = (
            env.get("AUDIO_CREATOR_MODELS")
            or env.get("AUDIOCRAFT_CACHE_DIR")  # the original project's variables still work
            or env.get("TORCH_HOME")
            or str(Path.home() / ".cache" / "audio-creator")
        )
        return cls(
            models_dir=Path(models).expanduser(),
            openai_base_url=env.get("OPENAI_BASE_URL") or None,
            openai_model=env.get("OPENAI_MODEL") or "gpt-4o",
            openai_key_set=bool(env.get("OPENAI_API_KEY")),
        )


def read_dotenv(path: str | os.PathLike[str] = ".env") -> dict[str, str]:
    """Parse KEY=VALUE lines of a `.env` file (comments, blank lines and `export ` allowed)."""
    p = Path(path)
    if not p.is_file():
        return {}
    values: dict[str, str] = {}
    for number, raw in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        if not sep or not key.strip().isidentifier():
            raise ConfigError(f"{p}:{number}: expected KEY=VALUE, got {raw!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def load_dotenv(path: str | os.PathLike[str] = ".env") -> None:
    """Put a `.env` file's values into the environment; variables already set win."""
    for key, value in read_dotenv(path).items():
        os.environ.setdefault(key, value)


def resolve_device(requested: str) -> str:
    """Turn "auto", "cpu" or "cuda" into the device to use. Imports torch only when installed."""
    if requested not in DEVICES:
        raise ConfigError(f"device must be one of {', '.join(DEVICES)}, got {requested!r}")
    if requested == "cpu":
        return "cpu"
    has_cuda = False
    if importlib.util.find_spec("torch") is not None:
        import torch

        has_cuda = bool(torch.cuda.is_available())
    if requested == "cuda" and not has_cuda:
        raise BackendUnavailable(
            "--device cuda was asked for but no CUDA device is usable here "
            "(torch missing, or built without CUDA); use --device cpu or auto"
        )
    return "cuda" if has_cuda else "cpu"


def package_versions() -> dict[str, str | None]:
    """Installed versions of the optional packages, read from metadata without importing them."""
    versions: dict[str, str | None] = {}
    for name in OPTIONAL_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def describe(settings: Settings, device: str) -> dict[str, Any]:
    """Everything `--show-config` prints."""
    from audio_creator import __version__

    return {
        "version": __version__,
        "device_requested": device,
        "device": resolve_device(device),
        "models_dir": str(settings.models_dir),
        "openai_base_url": settings.openai_base_url,
        "openai_model": settings.openai_model,
        "openai_api_key": "set" if settings.openai_key_set else "not set",
        "optional_packages": package_versions(),
    }
