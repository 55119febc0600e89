"""Kokoro (82M parameters, ONNX) through the optional `kokoro-onnx` package.

Its files are the user's to supply: a model (`kokoro-v1.0.onnx`) and a voices file
(`voices-v1.0.bin`, one style table per voice) in `<models>/kokoro/`, or `--voice PATH.onnx`
with the voices file beside it. A voice's name starts with its language and sex: `af_heart` is
American English, female; `bm_george` British English, male; `ff_siwis` French.
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
from audio_creator.speech.voices import find_model, voices_folder

logger = logging.getLogger(__name__)

MODEL_NAMES = ("kokoro-v1.0.onnx", "kokoro-v1.0.fp16.onnx", "kokoro-v1.0.int8.onnx")
VOICES_NAMES = ("voices-v1.0.bin", "voices.bin", "voices.npz")
DEFAULT_SPEAKER = "af_heart"
# The first letter of a voice's name is its language, as espeak-ng names it.
LANGUAGES = {
    "a": "en-us", "b": "en-gb", "e": "es", "f": "fr-fr", "h": "hi", "i": "it", "j": "ja",
    "p": "pt-br", "z": "cmn",
}  # fmt: skip


def default_model() -> Path | None:
    """The first Kokoro model found in `<models>/kokoro` (or a folder inside it), or None."""
    folder = voices_folder("kokoro")
    if not folder.is_dir():
        return None
    for name in MODEL_NAMES:
        found = sorted(folder.rglob(name))
        if found:
            return found[0]
    return None


# What the engine lacks here: only its package. Its model files are looked for when it is made,
# as --voice may name them outside the models folder.
missing_requirements = needs_module(
    "kokoro_onnx", "the kokoro engine needs its package: pip install kokoro-onnx"
)


class KokoroEngine:
    """A Kokoro model and its voices; the speaker picks the voice (and so the language)."""

    name = "kokoro"

    def __init__(self, voice: str | os.PathLike[str] | None = None, **_: Any) -> None:
        model = find_model(voice, "kokoro", ".onnx") if voice is not None else default_model()
        if model is None:
            raise BackendUnavailable(
                f"no Kokoro model: put kokoro-v1.0.onnx and voices-v1.0.bin in "
                f"{voices_folder('kokoro')}, or give --voice PATH.onnx"
            )
        model = check_input_file(model, what="Kokoro model")
        voices = next(
            (model.with_name(n) for n in VOICES_NAMES if model.with_name(n).is_file()), None
        )
        if voices is None:
            raise MediaError(
                f"the Kokoro model {model} needs its voices file beside it "
                f"(one of: {', '.join(VOICES_NAMES)})"
            )
        try:
            from kokoro_onnx import Kokoro
        except ImportError as exc:  # e.g. onnxruntime missing or broken
            raise BackendUnavailable(f"kokoro-onnx cannot load here: {exc}") from exc

        try:
            self._kokoro = Kokoro(str(model), str(voices))
            self.voices = sorted(self._kokoro.voices)  # an npz archive: one array per voice
        except Exception as exc:  # onnxruntime and numpy raise their own types
            raise MediaError(
                f"{model} with {voices.name} is not a usable Kokoro model: {exc}"
            ) from exc
        if not self.voices:
            raise MediaError(f"{voices} holds no voices")
        self.sample_rate = 24000  # Kokoro's only rate
        self.description = f"kokoro {model.stem} ({len(self.voices)} voices)"

    def speaks(self, language: str) -> bool:
        """True if one of the voices speaks `language` ("en" matches en-us and en-gb)."""
        return bool(self._voices_for(language))

    def synthesize(self, text: str, options: SpeechOptions) -> npt.NDArray[np.float32]:
        """One sentence at 24 kHz; Kokoro scales its own durations by `speed`."""
        speaker = self._speaker(options)
        samples, _ = self._kokoro.create(
            text, voice=speaker, speed=options.speed, lang=LANGUAGES[speaker[0]]
        )
        return np.asarray(samples, dtype=np.float32).ravel()

    def spoken_language(self, options: SpeechOptions) -> str:
        """The language the voice chosen by `options` speaks (its name's first letter)."""
        return LANGUAGES[self._speaker(options)[0]]

    def _speaker(self, options: SpeechOptions) -> str:
        """The voice named by --speaker, else the default one for the language."""
        if options.speaker is not None:
            if options.speaker not in self.voices or options.speaker[0] not in LANGUAGES:
                raise ConfigError(
                    f"Kokoro has no voice {options.speaker!r}; its voices: {', '.join(self.voices)}"
                )
            if options.language and options.speaker not in self._voices_for(options.language):
                raise ConfigError(
                    f"the Kokoro voice {options.speaker} does not speak {options.language!r}"
                )
            return options.speaker
        choices = self._voices_for(options.language or "en")
        if not choices:
            choices = [v for v in self.voices if v[0] in LANGUAGES]
        return DEFAULT_SPEAKER if DEFAULT_SPEAKER in choices else choices[0]

    def _voices_for(self, language: str) -> list[str]:
        """Voices of exactly `language`, else of its base language ("en-au" → en-us, en-gb)."""
        wanted = language.lower().replace("_", "-")
        base = wanted.split("-")[0]
        if base in ("zh", "cmn"):
            wanted = base = "cmn"
        own = {v: LANGUAGES.get(v[0], "") for v in self.voices}
        exact = [v for v, code in own.items() if code == wanted]
        return exact or [v for v, code in own.items() if code and code.split("-")[0] == base]
