"""Coqui TTS models (XTTS v2, VITS, YourTTS…) through the optional `coqui-tts` package.

Models are loaded only from disk, never fetched: a folder with `config.json` and the
checkpoint (`model.pth` for XTTS, or one `.pth` file), given by `--voice PATH` or by name
from `<models>/coqui/NAME/`. XTTS takes `--speaker` as one of its built-in speakers or a WAV file
of a voice to clone, and `--language` as one of its languages.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from audio_creator.errors import BackendUnavailable, ConfigError, MediaError
from audio_creator.files import check_input_file
from audio_creator.registry import needs_module
from audio_creator.speech.engine import SpeechOptions
from audio_creator.speech.voices import find_model, installed, voices_folder

logger = logging.getLogger(__name__)

CHECKPOINT_NAMES = ("model.pth", "model_file.pth", "best_model.pth", "checkpoint.pth")


# What the engine lacks here: only its package. Its model files are looked for when it is made,
# as --voice may name them outside the models folder.
missing_requirements = needs_module(
    "TTS", "the coqui engine needs its package: pip install coqui-tts (with torch)"
)


def model_files(path: Path) -> tuple[Path, Path]:
    """(checkpoint, config.json) of a model folder or checkpoint file.

    XTTS loads itself from its folder, so for it the checkpoint is the folder.

    Raises:
        MediaError: the folder lacks its config or checkpoint.
    """
    folder = path if path.is_dir() else path.parent
    config = folder / "config.json"
    if not path.exists():
        raise MediaError(f"Coqui model not found: {path}")
    if not config.is_file():
        raise MediaError(f"the Coqui model {path} needs its config.json beside it")
    if path.is_file():
        return path, config
    if (folder / "model.pth").is_file() and '"xtts"' in config.read_text(encoding="utf-8"):
        return folder, config
    named = [folder / n for n in CHECKPOINT_NAMES if (folder / n).is_file()]
    found = named or sorted(folder.glob("*.pth"))
    if not found:
        raise MediaError(f"no checkpoint (.pth) in the Coqui model folder {folder}")
    return found[0], config


def _model_path(voice: str) -> Path:
    """A path, a folder name in `<models>/coqui`, or a Coqui catalogue name such as
    "tts_models/multilingual/multi-dataset/xtts_v2" (the original project's --tts-model): that
    is looked for under its last part or Coqui's own cache name, in our folder and in Coqui's
    cache (`~/.local/share/tts`), never downloaded."""
    if not voice.startswith(("tts_models/", "tts_models--")):
        return find_model(voice, "coqui", "")
    cache_name = voice.replace("/", "--")
    short = cache_name.split("--")[-1]
    coqui_cache = Path(os.environ.get("TTS_HOME", Path.home() / ".local" / "share")) / "tts"
    for folder in (voices_folder("coqui"), coqui_cache):
        for name in (short, cache_name):
            if (folder / name / "config.json").is_file():
                return folder / name
    raise ConfigError(
        f"the Coqui model {voice} is not on this machine; put its folder in "
        f"{voices_folder('coqui') / short} (nothing is downloaded)"
    )


class CoquiEngine:
    """One Coqui model, loaded once on the CPU (or CUDA when torch has it)."""

    name = "coqui"

    def __init__(self, voice: str | os.PathLike[str] | None = None, **_: Any) -> None:
        if voice is not None:
            path = _model_path(str(voice))
        else:
            names = installed("coqui", "")
            if not names:
                raise BackendUnavailable(
                    f"no Coqui model: put a model folder (config.json and its .pth) in "
                    f"{voices_folder('coqui')}, or give --voice PATH"
                )
            path = find_model(names[0], "coqui", "")
        checkpoint, config = model_files(path)
        try:
            import torch
            from TTS.api import TTS
        except ImportError as exc:  # coqui-tts refuses to import without torchaudio
            raise BackendUnavailable(f"coqui-tts cannot load here: {exc}") from exc
        try:
            self._tts = TTS(
                model_path=str(checkpoint), config_path=str(config), progress_bar=False,
                gpu=torch.cuda.is_available(),
            )  # fmt: skip
        except Exception as exc:  # torch and coqui raise many types for a bad checkpoint
            raise MediaError(f"{path} is not a usable Coqui model: {exc}") from exc
        synthesizer = self._tts.synthesizer
        self.sample_rate = int(synthesizer.output_sample_rate)
        self.languages = [str(x) for x in (self._tts.languages or [])]
        self.speakers = [str(x) for x in (self._tts.speakers or [])]
        self._model = synthesizer.tts_model
        self._xtts = type(self._model).__name__ == "Xtts"
        self._base_scale = float(getattr(self._model, "length_scale", 1.0))
        self.description = f"coqui {path.name}"

    def speaks(self, language: str) -> bool:
        """Multilingual models list their languages; others speak their config's one."""
        wanted = language.lower().replace("_", "-")
        if not self.languages:
            own = str(self._tts.synthesizer.tts_config.get("phoneme_language") or "en")
            return own.lower().split("-")[0] == wanted.split("-")[0]
        return any(x.lower().split("-")[0] == wanted.split("-")[0] for x in self.languages)

    def reads(self, language: str) -> frozenset[str]:
        """The scripts read in `language`: XTTS reads its languages' whole writing (kanji and
        hanja too) with text front-ends of its own; other models phonemise with espeak-ng."""
        from audio_creator.speech.language import espeak_reads
        from audio_creator.speech.script import language_scripts

        return language_scripts(language) | {"Latin"} if self._xtts else espeak_reads(language)

    def synthesize(self, text: str, options: SpeechOptions) -> npt.NDArray[np.float32]:
        """One sentence at the model's rate."""
        kwargs: dict[str, Any] = {"split_sentences": False}
        if self.languages:
            kwargs["language"] = self._language(options.language)
        if options.speaker and Path(options.speaker).suffix.lower() == ".wav":
            # A voice to clone (XTTS, YourTTS).
            kwargs["speaker_wav"] = str(check_input_file(options.speaker, what="speaker sample"))
        elif self.speakers:
            speaker = options.speaker or self.speakers[0]
            if speaker not in self.speakers:
                raise ConfigError(
                    f"the model has no speaker {speaker!r}; e.g. {', '.join(self.speakers[:8])}"
                )
            kwargs["speaker"] = speaker
        elif options.speaker:
            raise ConfigError("this Coqui model has one voice: --speaker is not for it")
        if self._xtts:
            kwargs["speed"] = options.speed
        elif hasattr(self._model, "length_scale"):
            self._model.length_scale = self._base_scale / options.speed
        elif options.speed != 1.0:
            raise ConfigError("this Coqui model speaks at one speed: leave --speed at 1")
        try:
            samples = self._tts.tts(text, **kwargs)
        except (ValueError, AssertionError, KeyError, RuntimeError) as exc:
            raise MediaError(f"the Coqui model could not speak {text[:40]!r}: {exc}") from exc
        return np.asarray(samples, dtype=np.float32).ravel()

    def _language(self, language: str | None) -> str:
        if language is None:
            return "en" if "en" in self.languages else self.languages[0]
        wanted = language.lower().replace("_", "-")
        for own in self.languages:  # "zh" finds XTTS's "zh-cn", "en-us" its "en"
            if own.lower() == wanted or own.lower().split("-")[0] == wanted.split("-")[0]:
                return own
        raise ConfigError(
            f"the model does not speak {language!r}; it speaks {', '.join(self.languages)}"
        )
