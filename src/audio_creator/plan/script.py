"""`AudioScript`: speech, music and sound effects on foreground and background layers.

The format is WavJourney's: a list of items, each with an `audio_type` (`speech`, `music`,
`sound_effect`), a `layout` (`foreground` items play one after another; `background` items play
under them), a target loudness `vol` in LUFS, a length `len` in seconds for music and effects, a
`desc`, and for speech a `character` and its `text`. A background item opens with
`"action": "begin"` and an `id`, and closes with `"action": "end"` and the same `id`; it then
spans the foreground items between the two.

Extensions that keep a WavJourney script valid: `start` places an item at an absolute time;
`at_cut` places it on the k-th cut of the video (0 = the first); a background item with `start`
and `len` needs no begin/end pair; and `characters` maps character names to voices.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

AudioType = Literal["speech", "music", "sound_effect"]
Layout = Literal["foreground", "background"]


class Character(BaseModel):
    """A voice for one character."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # NaN: said as such

    engine: str = "auto"
    voice: str | None = None  # a voice name or path for the engine
    speaker: str | None = None  # for multi-speaker voices
    language: str | None = None
    speed: float = Field(default=1.0, ge=0.5, le=2.0)


MAX_ITEMS = 20_000  # an hour of a sound every 0.2 s: more is surely a mistake (or an LLM's loop)


class ScriptItem(BaseModel):
    """One line of the script."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # NaN: said as such

    audio_type: AudioType
    layout: Layout = "foreground"
    vol: float = Field(default=-20.0, ge=-60.0, le=-5.0, description="target loudness, LUFS")
    len: float | None = Field(default=None, gt=0.0, le=14400.0, description="seconds")
    desc: str = ""
    text: str | None = None
    character: str | None = None
    id: int | str | None = None
    action: Literal["begin", "end"] | None = None
    start: float | None = Field(default=None, ge=0.0, description="absolute start, seconds")
    at_cut: int | None = Field(default=None, ge=0, description="start on the video's k-th cut")

    @model_validator(mode="after")
    def _consistent(self) -> ScriptItem:
        kind = self.audio_type
        if kind == "speech":
            if not (self.text or "").strip():
                raise ValueError("a speech item needs its text")
            if self.layout == "background":
                raise ValueError("speech is foreground only")
            if self.len is not None:
                raise ValueError("a speech item takes no len: its length is the voice's")
        elif self.text is not None:
            raise ValueError(f"a {kind} item takes no text (that is for speech)")
        if self.start is not None and self.at_cut is not None:
            raise ValueError("give start or at_cut, not both")
        if self.layout == "background":
            if self.action is None and (
                (self.start is None and self.at_cut is None) or self.len is None
            ):
                raise ValueError(
                    "a background item needs an id with action begin/end, or a start (or at_cut) "
                    "and a len"
                )
            if self.action is not None and self.id is None:
                raise ValueError(f"a background {self.action} needs the id it opens or closes")
            if self.action == "end" and (self.len is not None or self.start is not None):
                raise ValueError("an end closes its begin; it takes no len or start")
        else:
            if self.action is not None:
                raise ValueError("begin/end are for background items")
            if kind != "speech" and self.len is None:
                raise ValueError(f"a foreground {kind} needs its len (seconds)")
        return self


class AudioScript(BaseModel):
    """A whole script: its items in order, and the voices of its characters."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # NaN: said as such

    items: list[ScriptItem] = Field(min_length=1, max_length=MAX_ITEMS)
    characters: dict[str, Character] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _paired(self) -> AudioScript:
        open_ids: set[str] = set()
        for number, item in enumerate(self.items, start=1):
            key = str(item.id)
            if item.action == "begin":
                if key in open_ids:
                    raise ValueError(f"item {number}: background id {item.id} is already open")
                open_ids.add(key)
            elif item.action == "end":
                if key not in open_ids:
                    raise ValueError(f"item {number}: background end of id {item.id} without begin")
                open_ids.discard(key)
        return self


def parse_script(data: object) -> AudioScript:
    """An `AudioScript` from parsed JSON: an object with `items` (and `characters`), or a bare
    WavJourney list of items.

    Raises:
        pydantic.ValidationError: the script is not valid (the message lists every problem).
    """
    if isinstance(data, list):
        data = {"items": data}
    return AudioScript.model_validate(data)
