"""A caption from a vision model behind any OpenAI-compatible chat endpoint.

A few frames (one at the middle of each shot, or evenly spread when there are more shots than
frames), downscaled to JPEG, go to the model with what the analysis measured; it answers with a
narration script. The official `openai` client does the HTTP: a timeout per request, and retries
with exponential backoff on 408/409/429/5xx and dropped connections. The API key is passed to
the client only; it is never logged, printed or written.
"""

from __future__ import annotations

import base64
import importlib.util
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audio_creator.analysis.video import VideoAnalysis
from audio_creator.caption.offline import shot_starts
from audio_creator.caption.types import Caption, fit_words
from audio_creator.config import Settings
from audio_creator.errors import BackendUnavailable, ConfigError

logger = logging.getLogger(__name__)

THUMBNAIL_SHORT_SIDE = 384  # pixels; enough for a model to see what is there, small to send

SYSTEM_PROMPT = (
    "You write voice-over narration for short videos. You see frames taken from the video in "
    "order, and facts measured from it. Write narration a voice will read aloud over the video: "
    "plain sentences, present tense, no lists, no headings, no quotation marks, nothing about "
    "'frames' or 'images'. Describe only what you can see."
)


@dataclass(frozen=True)
class VisionSettings:
    """Where the endpoint is and how to talk to it. `api_key` None: from the environment."""

    model: str | None = None  # None: OPENAI_MODEL, else gpt-4o
    api_key: str | None = None
    base_url: str | None = None  # without /v1; None: OPENAI_BASE_URL, else the official API
    timeout_s: float = 60.0
    retries: int = 3

    def __repr__(self) -> str:  # never show the key
        return f"VisionSettings(model={self.model!r}, base_url={self.base_url!r}, api_key=***)"


def key_configured(settings: VisionSettings | None = None) -> bool:
    """True when an API key is given or set in the environment (or the .env file)."""
    return bool((settings and settings.api_key) or os.environ.get("OPENAI_API_KEY"))


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
    video: str | os.PathLike[str],
    analysis: VideoAnalysis,
    *,
    max_words: int,
    frames: int,
    settings: VisionSettings | None = None,
) -> Caption:
    """Ask the vision model for a narration script of at most `max_words` words.

    Raises:
        ConfigError: the endpoint refused the key (401/403) or does not know the model or path
            (404), or no key is set.
        BackendUnavailable: the package is missing, the endpoint cannot be reached or timed out,
            it kept failing after the retries, or its answer held no text.
    """
    settings = settings or VisionSettings()
    if importlib.util.find_spec("openai") is None:
        raise BackendUnavailable("the openai captioner needs its package: pip install openai")
    env = Settings.from_env()
    key = settings.api_key or os.environ.get("OPENAI_API_KEY")
    if not key:
        raise ConfigError("the openai captioner needs OPENAI_API_KEY (or --api-key)")
    model = settings.model or env.openai_model
    base = settings.base_url or env.openai_base_url
    import openai

    client = openai.OpenAI(
        api_key=key,
        base_url=f"{base.rstrip('/')}/v1" if base else None,
        timeout=settings.timeout_s,
        max_retries=settings.retries,
    )
    content = _message(video, analysis, max_words, frames)
    where = base or "the OpenAI API"
    messages: list[Any] = [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": content},
    ]
    try:
        answer = client.chat.completions.create(
            model=model, messages=messages, max_tokens=max(64, 3 * max_words), temperature=0.4
        )
    except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
        raise ConfigError(f"{where} refused the API key ({exc.status_code})") from None
    except openai.NotFoundError:
        raise ConfigError(
            f"{where} has no model {model!r} or no chat endpoint there (404); give "
            "OPENAI_BASE_URL without /v1, and a model it serves (--llm-model)"
        ) from None
    except openai.APITimeoutError:
        raise BackendUnavailable(
            f"{where} did not answer within {settings.timeout_s:g} s"
        ) from None
    except openai.APIConnectionError:
        raise BackendUnavailable(f"cannot reach {where}") from None
    except openai.APIStatusError as exc:
        raise BackendUnavailable(f"{where} failed ({exc.status_code}) after retries") from None
    except (ValueError, openai.APIResponseValidationError):  # a body that is not JSON
        raise BackendUnavailable(f"{where} answered, but with no caption text (bad JSON)") from None
    text = _answer_text(answer)
    if not text:
        raise BackendUnavailable(f"{where} answered, but with no caption text")
    logger.info("caption from %s (%s), %d words", model, where, len(text.split()))
    return Caption(fit_words(text, max_words), "openai", f"{model} at {where}")


def _message(
    video: str | os.PathLike[str], analysis: VideoAnalysis, max_words: int, frames: int
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
    for frame in frames_at(Path(video), times, short_side=THUMBNAIL_SHORT_SIDE):
        data = base64.b64encode(jpeg_bytes(frame.image)).decode("ascii")
        parts.append({"type": "image_url", "image_url": {"url": f"data:image/jpeg;base64,{data}"}})
    return parts


def _answer_text(answer: Any) -> str:
    """The first choice's text, tidied; "" for an answer without one."""
    try:
        text = answer.choices[0].message.content
    except (AttributeError, IndexError, TypeError):
        return ""
    if not isinstance(text, str):
        return ""
    return " ".join(text.replace('"', "").split())
