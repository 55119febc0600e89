"""pyttsx3, the original project's engine. On Linux it drives espeak-ng, here the library and
data from the `espeakng-loader` wheel (loaded first, so pyttsx3 finds it by name); on macOS and
Windows it uses the system's own voices.

espeak-ng keeps one state per process, shared with the `espeak` engine: a process uses one of
the two (the second is refused with a clear message).
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import io
import os
import platform
import shutil
import tempfile
import weakref
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from audio_creator.errors import BackendUnavailable, ConfigError
from audio_creator.speech import espeak
from audio_creator.speech.engine import SpeechOptions


def missing_requirements() -> str | None:
    """What the pyttsx3 engine lacks here, or None."""
    if importlib.util.find_spec("pyttsx3") is None:
        return "pyttsx3 is not installed: pip install pyttsx3"
    if platform.system() == "Linux":
        return espeak.missing_requirements()
    return None


class Pyttsx3Engine:
    """pyttsx3's default voice (espeak-ng on Linux), one sentence at a time via a WAV file."""

    name = "pyttsx3"

    def __init__(self, voice: Any = None, **_: Any) -> None:
        if voice is not None:
            raise ConfigError("pyttsx3 takes no voice file; choose its voice with --language")
        espeak.claim("pyttsx3")
        driver = None
        if platform.system() == "Linux":
            import espeakng_loader

            os.environ.setdefault("ESPEAK_DATA_PATH", espeakng_loader.get_data_path())
            ctypes.CDLL(espeakng_loader.get_library_path(), mode=ctypes.RTLD_GLOBAL)
            driver = "espeak"
        import pyttsx3

        try:
            self._engine = pyttsx3.init(driverName=driver)
        except Exception as exc:  # pyttsx3 raises RuntimeError and driver-specific errors
            raise BackendUnavailable(f"pyttsx3 could not start its voice: {exc}") from exc
        self._folder = Path(tempfile.mkdtemp(prefix="audio-creator-pyttsx3-"))
        weakref.finalize(self, shutil.rmtree, self._folder, ignore_errors=True)
        self._rate = 0
        self._speak("Ready.")  # the voice's sample rate shows in its first file
        self.sample_rate = int(self._rate)
        self.description = f"pyttsx3 ({driver or 'system voices'})"

    def speaks(self, language: str) -> bool:
        """True if one of pyttsx3's voices lists `language`."""
        return self._voice_for(language) is not None

    def synthesize(self, text: str, options: SpeechOptions) -> npt.NDArray[np.float32]:
        """One sentence at the voice's rate and its normal speed."""
        if options.language:
            voice = self._voice_for(options.language)
            if voice is None:
                raise ConfigError(f"pyttsx3 has no voice for {options.language!r}")
            self._engine.setProperty("voice", voice)
        if options.speaker is not None:
            raise ConfigError("pyttsx3 has no speakers to choose from; use --language")
        if options.speed != 1.0:
            # pyttsx3 2.99's espeak driver applies rate changes late or not at all between
            # files (measured), so a speed would silently not be what was asked.
            raise ConfigError("the pyttsx3 engine speaks at one speed; use piper or espeak")
        return self._speak(text)

    def _speak(self, text: str) -> npt.NDArray[np.float32]:
        import soundfile as sf

        path = self._folder / "sentence.wav"
        with contextlib.redirect_stdout(io.StringIO()):  # pyttsx3 prints "Audio saved to …"
            self._engine.save_to_file(text, str(path))
            self._engine.runAndWait()
        samples, self._rate = sf.read(path, dtype="float32", always_2d=True)
        path.unlink(missing_ok=True)
        return np.ascontiguousarray(samples.mean(axis=1), dtype=np.float32)

    def _voice_for(self, language: str) -> str | None:
        wanted = language.lower().replace("_", "-")
        for voice in self._engine.getProperty("voices"):
            codes = [str(c).lower().replace("_", "-") for c in (voice.languages or [])]
            codes += [str(voice.id).lower()]
            if any(
                c == wanted or c.split("-")[0] == wanted or c.endswith("/" + wanted) for c in codes
            ):
                return str(voice.id)
        return None
