"""Captions: a few sentences about a video, written to be read aloud as its narration.

Backends: `offline` describes what the analysis measured (pace, light, colour, motion); `openai`
asks a vision model (an optional extra, when a key is configured); `none` is the user's own
script. `auto` takes `openai` when a key is set, else `offline`.
"""

from audio_creator.caption.offline import describe_video
from audio_creator.caption.types import Caption, fit_words

__all__ = ["Caption", "describe_video", "fit_words"]
