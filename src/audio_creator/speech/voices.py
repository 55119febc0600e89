"""Finding voice models: a path as given, or a name looked up in the models folder.

Each engine keeps its voices in a folder of its own under the models folder
(`$AUDIO_CREATOR_MODELS/piper`, `…/kokoro`, `…/coqui`), so `--voice en_GB-alba-medium` finds
`~/.cache/audio-creator/piper/en_GB-alba-medium.onnx` (or the same name in any subfolder).
"""

from __future__ import annotations

import os
from pathlib import Path

from audio_creator.config import Settings
from audio_creator.errors import ConfigError


def voices_folder(engine: str) -> Path:
    """Where `engine`'s voices are looked for: `<models folder>/<engine>`."""
    return Settings.from_env().models_dir / engine


def find_model(voice: str | os.PathLike[str], engine: str, suffix: str) -> Path:
    """The model file (or folder, for suffix "") that `voice` names.

    A path (it exists, or has a folder or a suffix in it) is returned as it is, for the caller to
    check. A bare name is looked up as `<name><suffix>` in the engine's voices folder, then in
    its subfolders.

    Raises:
        ConfigError: a bare name that is not in the folder (the message lists what is there).
    """
    path = Path(voice).expanduser()
    if path.exists() or len(path.parts) > 1:
        return path
    name = path.name.removesuffix(suffix) if suffix else path.name  # "x.onnx" or "x"
    folder = voices_folder(engine)
    for candidate in (folder / f"{name}{suffix}", folder / name / f"{name}{suffix}"):
        if candidate.exists():
            return candidate
    found = sorted(folder.rglob(f"{name}{suffix}")) if folder.is_dir() else []
    if found:
        return found[0]
    names = ", ".join(installed(engine, suffix)) or "none"
    raise ConfigError(
        f"no {engine} voice named {name!r} in {folder} (voices there: {names}); "
        "give a path, or put the voice's files in that folder"
    )


def installed(engine: str, suffix: str) -> list[str]:
    """The names of the voices in `engine`'s folder: files ending in `suffix`, or (suffix "")
    the subfolders that hold a `config.json`."""
    return sorted(installed_models(engine, suffix))


def installed_models(engine: str, suffix: str) -> dict[str, Path]:
    """The voices in `engine`'s folder by name, with the model file (or folder) each names."""
    folder = voices_folder(engine)
    if not folder.is_dir():
        return {}
    if suffix:
        found = {p.name.removesuffix(suffix): p for p in sorted(folder.rglob(f"*{suffix}"))}
    else:
        found = {p.parent.name: p.parent for p in sorted(folder.rglob("config.json"))}
    return found
