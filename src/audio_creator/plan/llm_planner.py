"""The LLM planner: an instruction → an `AudioScript`, written by any OpenAI-compatible model.

The model is given the format and the script's JSON schema, and asked for structured output
(`response_format` with the schema); a server that does not support that is asked again for
plain JSON in its text. The answer is validated; while it is invalid, the validation errors go
back to the model, for up to REPAIR_ROUNDS more tries.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from pydantic import ValidationError

from audio_creator.analysis.video import VideoAnalysis
from audio_creator.errors import BackendUnavailable, ConfigError
from audio_creator.llm import Answer, LLMSettings, chat
from audio_creator.plan.script import AudioScript, parse_script

logger = logging.getLogger(__name__)

REPAIR_ROUNDS = 3

SYSTEM_PROMPT = """You write audio scripts: speech, music and sound effects on two layers.
Answer with one JSON object {"items": [...], "characters": {...}} and nothing else.
Each item has "audio_type" ("speech", "music" or "sound_effect"), "layout" ("foreground" or
"background"), "vol" (target loudness in LUFS, -60 to -5: speech about -16, music under speech
about -28, effects -20 to -35) and "desc" (what it sounds like).
Foreground items play one after another. Speech is foreground only, with "character" and "text",
and no "len". Foreground music and sound effects need "len" in seconds.
A background item plays under the foreground items between its begin and its end: give it an
"id" and "action": "begin", and later an item with the same "audio_type", "layout", "id" and
"action": "end". Or give a background item "start" and "len" (seconds) instead.
Any item may have "start" (seconds from the beginning) to be placed exactly.
"characters" maps each character to a voice: {"engine": "auto", "speed": 1.0}."""


def plan_with_llm(
    instruction: str,
    analysis: VideoAnalysis | None = None,
    settings: LLMSettings | None = None,
) -> AudioScript:
    """A script for `instruction`, from the model.

    Raises:
        ConfigError: an empty instruction, a refused key, an unknown model.
        BackendUnavailable: the endpoint cannot be reached or timed out; the model declined;
            its script was still invalid after REPAIR_ROUNDS repairs.
    """
    if not instruction.strip():
        raise ConfigError("the instruction is empty: say what the audio should be")
    settings = settings or LLMSettings()
    facts = ""
    if analysis is not None:
        cuts = ", ".join(f"{t:.1f}" for t in analysis.cuts_s[:40]) or "none"
        facts = (
            f"\nThe audio is for a video of {analysis.duration_s:.1f} seconds; its cuts are at "
            f"{cuts} seconds. Make the script about that long."
        )
    messages: list[Any] = [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": instruction.strip() + facts},
    ]
    structured: dict[str, Any] | None = {
        "type": "json_schema",
        "json_schema": {"name": "audio_script", "schema": AudioScript.model_json_schema()},
    }
    problem = ""
    for attempt in range(1 + REPAIR_ROUNDS):
        answer = _ask(settings, messages, structured)
        if answer is None:  # the server does not do structured output: ask for JSON in text
            structured = None
            answer = _ask(settings, messages, structured)
            assert answer is not None  # without response_format there is no such refusal
        if answer.refusal or not answer.text.strip():
            why = answer.refusal or "an empty answer"
            raise BackendUnavailable(
                f"the model at {answer.where} declined to write a script: {why}"
            )
        try:
            script = parse_script(_json_in(answer.text))
        except (ValueError, ValidationError) as exc:
            problem = _problems(exc)
            logger.info("the model's script is invalid (try %d): %s", attempt + 1, problem)
            messages += [
                {"role": "assistant", "content": answer.text},
                {"role": "user", "content": (
                    f"That script is not valid:\n{problem}\nAnswer with the corrected JSON only."
                )},
            ]  # fmt: skip
            continue
        logger.info("script from %s: %d items", answer.model, len(script.items))
        return script
    raise BackendUnavailable(
        f"the model's script was still invalid after {REPAIR_ROUNDS} repair rounds: {problem}"
    )


def _ask(
    settings: LLMSettings, messages: list[Any], structured: dict[str, Any] | None
) -> Answer | None:
    """The model's answer; None when the server rejects structured output (so the caller asks
    again without it)."""
    extra = {"response_format": structured} if structured else {}
    try:
        return chat(settings, messages, temperature=0.3, **extra)
    except ConfigError as exc:
        if structured and "rejected the request (400)" in str(exc):
            logger.info("the server does not take a JSON schema; asking for JSON in text")
            return None
        raise


def _json_in(text: str) -> object:
    """The JSON value in a model's answer: the whole text, or a ```json block, or the span from
    the first [ or { to the last ] or }."""
    fenced = re.search(r"```(?:json)?\s*(.*?)```", text, re.S)
    body = fenced.group(1) if fenced else text
    try:
        return json.loads(body)
    except ValueError:
        starts = [i for i in (body.find("{"), body.find("[")) if i >= 0]
        end = max(body.rfind("}"), body.rfind("]"))
        if not starts or end < min(starts):
            raise ValueError("the answer holds no JSON") from None
        return json.loads(body[min(starts) : end + 1])


def _problems(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "\n".join(
            f"- {'/'.join(str(p) for p in error['loc']) or 'script'}: {error['msg']}"
            for error in exc.errors()[:12]
        )
    return f"- {exc}"
