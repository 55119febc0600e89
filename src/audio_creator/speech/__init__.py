"""Narration: the `SpeechEngine` interface, its registry, text handling and subtitles."""

from audio_creator.speech.engine import (
    SpeechEngine,
    SpeechOptions,
    available_engines,
    create_engine,
    register,
)
from audio_creator.speech.narrate import Narration, SpokenSentence, narrate_to_file
from audio_creator.speech.subtitles import to_srt, write_srt

__all__ = [
    "Narration",
    "SpeechEngine",
    "SpeechOptions",
    "SpokenSentence",
    "available_engines",
    "create_engine",
    "narrate_to_file",
    "register",
    "to_srt",
    "write_srt",
]
