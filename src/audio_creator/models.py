"""The model weights the project can use: what each is, where it lives, how to get it.

Weights live in the models folder (`AUDIO_CREATOR_MODELS`, default `~/.cache/audio-creator`),
one subfolder per model, as the Hugging Face repository lays them out. Nothing is ever fetched
at import time or on the way to a job: `audio-creator models download NAME` fetches, on a
machine with the internet; everything else only looks. A model that is not there is a
`BackendUnavailable` (exit 3) whose message names that command.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from audio_creator.config import Settings
from audio_creator.errors import BackendUnavailable, ConfigError


@dataclass(frozen=True)
class ModelEntry:
    """One downloadable model: its name here, its Hugging Face repository, what marks it as
    present (`needs`: files in its folder), and which of the repository's files to fetch."""

    name: str
    repo: str
    folder: str  # under the models folder
    needs: tuple[str, ...]
    files: tuple[str, ...] = ()  # patterns to fetch; () = the whole repository
    about: str = ""


# More Piper voices (rhasspy/piper-voices; each voice's licence is in its model card).
_PIPER_VOICES = (
    ("en", "en_US", "amy", "medium"), ("en", "en_GB", "alan", "medium"),
    ("de", "de_DE", "thorsten", "medium"), ("fr", "fr_FR", "siwis", "medium"),
    ("es", "es_ES", "davefx", "medium"),
)  # fmt: skip


def _piper_voice(family: str, locale: str, speaker: str, quality: str) -> ModelEntry:
    where = f"{family}/{locale}/{speaker}/{quality}"
    voice = f"{locale}-{speaker}-{quality}"
    return ModelEntry(
        f"piper-{voice}", "rhasspy/piper-voices", "piper", (f"{where}/{voice}.onnx",),
        (f"{where}/{voice}.onnx", f"{where}/{voice}.onnx.json", f"{where}/MODEL_CARD"),
        f"Piper voice {voice} (use: --voice {voice})",
    )  # fmt: skip


CATALOGUE: dict[str, ModelEntry] = {
    e.name: e
    for e in (
        ModelEntry(
            "musicgen-small", "facebook/musicgen-small", "musicgen/small",
            ("config.json",), ("*.json", "*.safetensors", "spiece.model"),
            "MusicGen 300M, text → music, 32 kHz (CC-BY-NC 4.0 weights)",
        ),
        ModelEntry(
            "musicgen-medium", "facebook/musicgen-medium", "musicgen/medium",
            ("config.json",), ("*.json", "*.safetensors", "spiece.model"),
            "MusicGen 1.5B, text → music, 32 kHz (CC-BY-NC 4.0 weights)",
        ),
        ModelEntry(
            "musicgen-melody", "facebook/musicgen-melody", "musicgen/melody",
            ("config.json",), ("*.json", "*.safetensors", "spiece.model"),
            "MusicGen 1.5B with melody conditioning (CC-BY-NC 4.0 weights)",
        ),
        ModelEntry(
            "vidmuse", "HKUSTAudio/VidMuse", "vidmuse", ("state_dict.bin",),
            ("state_dict.bin", "compression_state_dict.bin"),
            "VidMuse: video → music (CLIP features into a MusicGen decoder)",
        ),
        ModelEntry(
            "encodec-32khz", "facebook/encodec_32khz", "encodec/32khz", ("config.json",),
            ("*.json", "*.safetensors"), "EnCodec 32 kHz: the codec VidMuse's tokens decode with",
        ),
        ModelEntry(
            "clip-vit-b32", "openai/clip-vit-base-patch32", "clip/vit-b32", ("config.json",),
            ("*.json", "*.safetensors", "*.txt"), "CLIP ViT-B/32: frames → embeddings (MIT)",
        ),
        ModelEntry(
            "clap", "laion/clap-htsat-unfused", "clap/htsat-unfused", ("config.json",),
            ("*.json", "*.safetensors", "*.txt"), "CLAP: audio ↔ text (Apache-2.0)",
        ),
        *(_piper_voice(*voice) for voice in _PIPER_VOICES),
    )
}  # fmt: skip


def models_dir() -> Path:
    return Settings.from_env().models_dir


def folder_of(name: str) -> Path:
    """Where model `name` lives (whether or not it is there)."""
    return models_dir() / entry(name).folder


def entry(name: str) -> ModelEntry:
    if name not in CATALOGUE:
        raise ConfigError(f"unknown model {name!r}; known: {', '.join(CATALOGUE)}")
    return CATALOGUE[name]


def is_present(name: str) -> bool:
    folder = folder_of(name)
    return all((folder / need).is_file() for need in entry(name).needs)


def missing(name: str) -> str | None:
    """None when model `name` is present, else what to do about it."""
    if is_present(name):
        return None
    return (
        f"the {name} weights are not in {folder_of(name)}: run `audio-creator models download "
        f"{name}` on a machine with the internet (then copy that folder here if this one has none)"
    )


def locate(name_or_path: str | os.PathLike[str]) -> Path:
    """The folder of a catalogue model, or a folder given as a path.

    Raises:
        BackendUnavailable: the model's weights are not there (the message says how to get them).
        ConfigError: neither a known model nor an existing folder.
    """
    text = str(name_or_path)
    if text in CATALOGUE:
        lack = missing(text)
        if lack is not None:
            raise BackendUnavailable(lack)
        return folder_of(text)
    path = Path(text).expanduser()
    if path.is_dir():
        return path
    raise ConfigError(
        f"{text!r} is neither a known model ({', '.join(CATALOGUE)}) nor a folder of weights"
    )


def checksums_of(name: str) -> Path:
    """Where the SHA-256 of model `name`'s files are recorded at download (its folder)."""
    return folder_of(name) / f"checksums.{name}.json"


def download(name: str, force: bool = False) -> Path:
    """Fetch model `name` from the Hugging Face hub into its folder and record the SHA-256 of
    every file fetched (checked against the hub's own record where it keeps one).

    Raises:
        BackendUnavailable: the hub cannot be reached, or refuses (the message says what to do).
    """
    import json

    from audio_creator.files import atomic_output

    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError
    except ImportError:
        raise BackendUnavailable(
            "downloading needs huggingface_hub: pip install 'audio-creator[neural]'"
        ) from None
    model = entry(name)
    folder = folder_of(name)
    if is_present(name) and not force:
        return folder
    made = [p for p in (folder, *folder.parents) if not p.exists()]  # ours to remove on failure
    folder.mkdir(parents=True, exist_ok=True)
    try:
        snapshot_download(
            model.repo, local_dir=folder, allow_patterns=list(model.files) or None,
            force_download=force,
        )  # fmt: skip
    except (LocalEntryNotFoundError, HfHubHTTPError, OSError) as exc:
        _remove_made(made)
        raise BackendUnavailable(
            f"cannot fetch {name} from the Hugging Face hub ({model.repo}): "
            f"{str(exc).splitlines()[0]}. Run `audio-creator models download {name}` on a "
            f"machine with the internet, then copy its {entry(name).folder} folder into "
            f"{models_dir()} here"
        ) from None
    sums = {p.relative_to(folder).as_posix(): sha256(p) for p in _files(model, folder)}
    _check_against_hub(model, sums)
    with atomic_output(checksums_of(name)) as temporary:
        temporary.write_text(json.dumps(sums, indent=2, sort_keys=True), encoding="utf-8")
    if not is_present(name):
        raise BackendUnavailable(f"the download of {name} did not bring {entry(name).needs}")
    return folder


def _remove_made(made: list[Path]) -> None:
    """Remove the folders a failed download made (the innermost with what it left in it; the
    ones above only while empty), so a failure leaves the models folder as it was."""
    import shutil

    if made:
        shutil.rmtree(made[0], ignore_errors=True)
    for above in made[1:]:
        try:
            above.rmdir()
        except OSError:
            break


def verify(name: str) -> list[str]:
    """What is wrong with model `name`'s files ([] when each matches its recorded SHA-256).

    Raises:
        BackendUnavailable: the model is not there.
    """
    import json

    lack = missing(name)
    if lack is not None:
        raise BackendUnavailable(lack)
    record = checksums_of(name)
    if not record.is_file():
        return [f"no checksums recorded in {record} (not fetched by `models download`)"]
    problems = []
    for relative, expected in sorted(json.loads(record.read_text(encoding="utf-8")).items()):
        path = folder_of(name) / relative
        if not path.is_file():
            problems.append(f"{relative}: missing")
        elif sha256(path) != expected:
            problems.append(f"{relative}: SHA-256 differs from the one recorded at download")
    return problems


def sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _files(model: ModelEntry, folder: Path) -> list[Path]:
    """The model's own files: those its patterns fetch (a folder may hold several models), not
    the hub client's bookkeeping nor the checksum records."""
    from fnmatch import fnmatch

    found = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if not path.is_file() or ".cache" in relative.parts or path.name.startswith("checksums."):
            continue
        if not model.files or any(fnmatch(relative.as_posix(), p) for p in model.files):
            found.append(path)
    return found


def _check_against_hub(model: ModelEntry, sums: dict[str, str]) -> None:
    """Compare with the SHA-256 the hub records for its large (LFS) files, where it can say."""
    try:
        from huggingface_hub import HfApi

        info = HfApi().model_info(model.repo, files_metadata=True)
    except Exception:  # the files came; the hub's record is a second opinion, not a condition
        return
    for sibling in info.siblings or []:
        expected = getattr(getattr(sibling, "lfs", None), "sha256", None)
        got = sums.get(sibling.rfilename)
        if expected and got and expected != got:
            raise BackendUnavailable(
                f"{model.name}: {sibling.rfilename} does not match the hub's SHA-256; "
                "download it again with --force"
            )
