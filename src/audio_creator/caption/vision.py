"""A caption from a vision model behind any OpenAI-compatible chat endpoint.

A few frames (one at the middle of each shot, or evenly spread when there are more shots than
frames), downscaled to JPEG, go to the model with what the analysis measured; it answers with a
narration script. The request goes through `audio_creator.llm.chat`: timeouts, retries with
backoff on 429/5xx, clear errors, and the key never shown.
"""

from __future__ import annotations

import base64
import logging
from typing import Any

from audio_creator.analysis.video import VideoAnalysis
from audio_creator.caption.offline import shot_starts
from audio_creator.caption.types import Caption, fit_words
from audio_creator.errors import BackendUnavailable
from audio_creator.llm import LLMSettings, chat
from audio_creator.media.probe import Video

logger = logging.getLogger(__name__)

THUMBNAIL_SHORT_SIDE = 384  # pixels; enough for a model to see what is there, small to send

SYSTEM_PROMPT = (
    "You write voice-over narration for short videos. You see frames taken from the video in "
    "order, and facts measured from it. Write narration a voice will read aloud over the video: "
    "plain sentences, present tense, no lists, no headings, no quotation marks, nothing about "
    "'frames' or 'images'. Describe only what you can see."
)


def frame_times(analysis: VideoAnalysis, count: int) -> list[float]:
    """Where to take `count` frames: the middle of each shot, spread evenly over the shots when
    there are more of them; evenly over the video when there are fewer shots than frames."""
    starts = shot_starts(analysis)
    ends = [*starts[1:], analysis.duration_s]
    middles = [(a + b) / 2 for a, b in zip(starts, ends, strict=True)]
    if len(middles) >= count:
        picks = [round(i * (len(middles) - 1) / max(1, count - 1)) for i in range(count)]
        return [middles[i] for i in sorted(set(picks))]
    step = analysis.duration_s / count
    return [step * (i + 0.5) for i in range(count)]


def caption_with_vision(
    video: Video,
    analysis: VideoAnalysis,
    *,
    max_words: int,
    frames: int,
    settings: LLMSettings | None = None,
) -> Caption:
    """Ask the vision model for a narration script of at most `max_words` words.

    Raises:
        ConfigError: no key, a refused key (401/403), an unknown model or path (404).
        BackendUnavailable: no `openai` package, the endpoint cannot be reached or timed out,
            kept failing after the retries, or its answer held no text.
    """
    messages: list[Any] = [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": _message(video, analysis, max_words, frames)},
    ]
    answer = chat(
        settings or LLMSettings(), messages, max_tokens=max(64, 3 * max_words), temperature=0.4
    )
    text = " ".join(answer.text.replace('"', "").split())
    if not text:
        why = f" (it declined: {answer.refusal})" if answer.refusal else ""
        raise BackendUnavailable(f"{answer.where} answered, but with no caption text{why}")
    logger.info("caption from %s (%s), %d words", answer.model, answer.where, len(text.split()))
    return Caption(fit_words(text, max_words), "openai", f"{answer.model} at {answer.where}")


def _message(
    video: Video, analysis: VideoAnalysis, max_words: int, frames: int
) -> list[dict[str, Any]]:
    from audio_creator.media.frames import frames_at, jpeg_bytes

    times = frame_times(analysis, frames)
    facts = (
        f"The video is {analysis.duration_s:.0f} seconds long, in {len(shot_starts(analysis))} "
        f"shots. Frames at {', '.join(f'{t:.1f}' for t in times)} seconds follow. Write at most "
        f"{max_words} words, about {max(1, round(analysis.duration_s * 2.2))} words at most for "
        "it to fit the video when spoken."
    )
    parts: list[dict[str, Any]] = [{"type": "text", "text": facts}]
    for frame in frames_at(video, times, short_side=THUMBNAIL_SHORT_SIDE):
        data = base64.b64encode(jpeg_bytes(frame.image)).decode("ascii")
        parts.append({"type": "image_url", "image_url": {"url": f"data:image/jpeg;base64,{data}"}})
    return parts
