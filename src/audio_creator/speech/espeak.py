"""espeak-ng: a formant voice for about a hundred languages, small and instant.

The library and its data come from the `espeakng-loader` wheel (no system package); it is called
through ctypes in synchronous mode, one sentence at a time. espeak-ng keeps one global state per
process, so the engine serialises its calls.
"""

from __future__ import annotations

import ctypes
import importlib.util
import threading
from typing import Any

import numpy as np
import numpy.typing as npt

from audio_creator.errors import BackendUnavailable, ConfigError
from audio_creator.speech.engine import SpeechOptions

_SYNCHRONOUS = 2  # AUDIO_OUTPUT_SYNCHRONOUS
_RATE = 1  # espeakRATE, words per minute
_POSITION_CHARACTER, _CHARS_UTF8 = 1, 1
_NORMAL_WPM = 175
_Callback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)
_lock = threading.Lock()
_state: dict[str, Any] = {}  # the loaded library, its rate, the callback and its buffer
_owner: list[str] = []  # which engine drives espeak-ng in this process
# Language codes that espeak-ng's voices are named otherwise: its Mandarin voice is "cmn", its
# Cantonese one "yue" (`espeak-ng --voices`); "zh" alone names no voice there.
ALIASES = {
    "zh": "cmn", "zh-cn": "cmn", "zh-sg": "cmn", "zh-tw": "cmn", "zh-hans": "cmn",
    "zh-hant": "cmn", "zh-cmn": "cmn", "zh-yue": "yue", "zh-hk": "yue", "zh-mo": "yue",
    "iw": "he", "in": "id", "no": "nb",
}  # fmt: skip


def claim(engine: str) -> None:
    """Reserve espeak-ng's one per-process state for `engine` ("espeak" or "pyttsx3")."""
    with _lock:
        if _owner and _owner[0] != engine:
            raise ConfigError(
                f"the {_owner[0]} engine already drives espeak-ng in this process; "
                f"{engine} would share its state: use one of the two per run"
            )
        _owner[:] = [engine]


def missing_requirements() -> str | None:
    """What the espeak engine lacks here, or None."""
    if importlib.util.find_spec("espeakng_loader") is None:
        return "espeak-ng is not installed: pip install espeakng-loader"
    return None


def _library() -> dict[str, Any]:
    """Load and initialise espeak-ng once per process."""
    if _state:
        return _state
    try:
        import espeakng_loader

        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        data = espeakng_loader.get_data_path().encode()
    except (ImportError, OSError, RuntimeError) as exc:
        raise BackendUnavailable(f"cannot load espeak-ng: {exc}") from exc
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_Synth.argtypes = [
        ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
        ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
    ]  # fmt: skip
    rate = lib.espeak_Initialize(_SYNCHRONOUS, 0, data, 0)
    if rate <= 0:
        raise BackendUnavailable("espeak-ng failed to initialise its data")
    chunks: list[npt.NDArray[np.int16]] = []

    def collect(wave: Any, count: int, _events: Any) -> int:
        if count > 0:
            chunks.append(np.ctypeslib.as_array(wave, shape=(count,)).copy())
        return 0  # carry on

    callback = _Callback(collect)  # kept referenced for as long as the library lives
    lib.espeak_SetSynthCallback(callback)
    _state.update(lib=lib, rate=rate, callback=callback, chunks=chunks)
    return _state


def voice_candidates(language: str) -> list[str]:
    """The names to try for a language code, most exact first: "zh_CN" → zh-cn, cmn, zh."""
    parts = language.lower().replace("_", "-").split("-")
    names = []
    for length in range(len(parts), 0, -1):
        code = "-".join(parts[:length])
        names += [code, ALIASES[code]] if code in ALIASES else [code]
    return list(dict.fromkeys(names))


class EspeakEngine:
    """espeak-ng, in any language it knows."""

    name = "espeak"

    def __init__(self, voice: Any = None, **_: Any) -> None:
        if voice is not None:
            raise ConfigError("espeak-ng takes no voice file; choose its voice with --language")
        claim("espeak")
        with _lock:
            self.sample_rate = int(_library()["rate"])
        self.description = "espeak-ng"

    def speaks(self, language: str) -> bool:
        """True if espeak-ng has a voice for `language` ("de", "en-US", "pt_BR", …)."""
        return self._voice_name(language) is not None

    def spoken_language(self, options: SpeechOptions) -> str:
        """The espeak-ng voice that `options` choose ("zh" → "cmn"), or what they ask for when
        espeak-ng has no such voice (synthesize then says so)."""
        wanted = options.speaker or options.language or "en-us"
        return self._voice_name(wanted) or wanted

    def _voice_name(self, language: str) -> str | None:
        """espeak-ng's voice for a language code: the code itself, its alias ("zh" → "cmn"),
        else the same for its shorter forms ("zh-Hans-CN" → "zh-hans" → "cmn")."""
        with _lock:
            lib = _library()["lib"]
            for name in voice_candidates(language):
                if lib.espeak_SetVoiceByName(name.encode()) == 0:
                    return name
        return None

    def synthesize(self, text: str, options: SpeechOptions) -> npt.NDArray[np.float32]:
        """One sentence at 22.05 kHz; `speed` scales the words per minute."""
        with _lock:
            state = _library()
            lib, chunks = state["lib"], state["chunks"]
            wanted = options.speaker or options.language or "en-us"
            for voice in voice_candidates(wanted):
                if lib.espeak_SetVoiceByName(voice.encode()) == 0:
                    break
            else:
                raise ConfigError(f"espeak-ng has no voice or language {wanted!r}")
            lib.espeak_SetParameter(_RATE, round(_NORMAL_WPM * options.speed), 0)
            data = text.encode("utf-8")
            chunks.clear()
            lib.espeak_Synth(
                data, len(data) + 1, 0, _POSITION_CHARACTER, 0, _CHARS_UTF8, None, None
            )
            lib.espeak_Synchronize()
            if not chunks:
                return np.zeros(0, np.float32)
            return (np.concatenate(chunks).astype(np.float32) / 32768).astype(np.float32)
