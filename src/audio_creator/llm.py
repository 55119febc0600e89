"""One chat request to any OpenAI-compatible endpoint, through the official `openai` client.

Used by the vision captioner and the script planner. The client does the HTTP: a timeout per
request and retries with exponential backoff on 408/409/429/5xx and dropped connections. Errors
come back as ours, with a message that says what to do: a refused key or an unknown model is a
`ConfigError` (exit 2), an endpoint that cannot be reached, times out or keeps failing is
`BackendUnavailable` (exit 3). The API key goes to the client only; it is never logged, printed
or written, and no message here contains it.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from typing import Any

from audio_creator.config import Settings
from audio_creator.errors import BackendUnavailable, ConfigError


@dataclass(frozen=True)
class LLMSettings:
    """Where the endpoint is and how to talk to it. None: from the environment."""

    model: str | None = None  # None: OPENAI_MODEL, else gpt-4o
    api_key: str | None = None  # None: OPENAI_API_KEY
    base_url: str | None = None  # without /v1; None: OPENAI_BASE_URL, else the official API
    timeout_s: float = 60.0
    retries: int = 3

    def __repr__(self) -> str:  # never show the key
        return f"LLMSettings(model={self.model!r}, base_url={self.base_url!r}, api_key=***)"


def key_configured(settings: LLMSettings | None = None) -> bool:
    """True when an API key is given or set in the environment (or the .env file)."""
    return bool((settings and settings.api_key) or os.environ.get("OPENAI_API_KEY"))


@dataclass(frozen=True)
class Answer:
    """The first choice of a chat completion."""

    text: str  # "" when the model gave no text
    refusal: str | None  # the model's refusal, when it declined
    model: str
    where: str  # the endpoint, for messages (never the key)


def chat(settings: LLMSettings, messages: list[Any], **request: Any) -> Answer:
    """Send `messages` (plus any chat-completion fields) and return the first choice.

    Raises:
        ConfigError: no key, a refused key (401/403), an unknown model or path (404), or a
            request the server rejects (400).
        BackendUnavailable: no `openai` package, or the endpoint cannot be reached, timed out,
            kept failing after the retries, or answered with something that is not JSON.
    """
    if importlib.util.find_spec("openai") is None:
        raise BackendUnavailable("the LLM features need the openai package: pip install openai")
    env = Settings.from_env()
    key = settings.api_key or os.environ.get("OPENAI_API_KEY")
    if not key:
        # exit 3, as for any backend whose key, package or weights are not here
        raise BackendUnavailable("no API key: set OPENAI_API_KEY (or give --api-key)")
    model = settings.model or env.openai_model
    base = api_root(settings.base_url or env.openai_base_url)
    where = base or "the OpenAI API"
    import openai

    client = openai.OpenAI(
        api_key=key,
        base_url=f"{base}/v1" if base else None,
        timeout=settings.timeout_s,
        max_retries=settings.retries,
    )
    try:
        completion = client.chat.completions.create(model=model, messages=messages, **request)
    except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
        raise ConfigError(f"{where} refused the API key ({exc.status_code})") from None
    except openai.NotFoundError:
        raise ConfigError(
            f"{where} has no model {model!r} or no chat endpoint there (404); give "
            "OPENAI_BASE_URL (the server's address), and a model it serves (--llm-model)"
        ) from None
    except openai.BadRequestError as exc:
        raise ConfigError(f"{where} rejected the request (400): {_message(exc)}") from None
    except openai.APITimeoutError:
        raise BackendUnavailable(
            f"{where} did not answer within {settings.timeout_s:g} s"
        ) from None
    except openai.APIConnectionError:
        raise BackendUnavailable(f"cannot reach {where}") from None
    except openai.APIStatusError as exc:
        raise BackendUnavailable(f"{where} failed ({exc.status_code}) after retries") from None
    except (ValueError, openai.APIResponseValidationError):  # a body that is not JSON
        raise BackendUnavailable(f"{where} answered with something that is not JSON") from None
    return Answer(*_first_choice(completion), model=model, where=where)


def _first_choice(completion: Any) -> tuple[str, str | None]:
    try:
        message = completion.choices[0].message
    except (AttributeError, IndexError, TypeError):
        return "", None
    text = getattr(message, "content", None)
    refusal = getattr(message, "refusal", None)
    return (text if isinstance(text, str) else ""), (refusal if isinstance(refusal, str) else None)


def _message(exc: Any) -> str:
    """The server's own error message, shortened."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return str(inner["message"])[:300]
    return str(exc)[:300]


def api_root(base: str | None) -> str | None:
    """An endpoint's address without a trailing `/v1` (the client adds it): both spellings of
    OPENAI_BASE_URL work, `http://host:8000` and `http://host:8000/v1/`."""
    if not base:
        return None
    base = base.strip().rstrip("/")
    return base[: -len("/v1")] if base.endswith("/v1") else base
