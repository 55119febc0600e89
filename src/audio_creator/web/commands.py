"""A job's parameters → the options of the job it runs (`audio_creator.jobs`), checked.

Parameters are the job's own options by name (`caption_backend`, `merge_video`, …), as its
options class declares them, so the web, the CLI and Python accept exactly the same things.
Options that name files are filled by the server, by the role the option's declaration gives
it: inputs must be files uploaded with the job (named by their upload name), outputs go into the
job's `out/` folder under fixed names, voices and models are named from what is installed and
catalogued, and the server's own files (a SoundFont, an adapter) cannot be named at all. Nothing
a client sends can name a path on the server.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from audio_creator.errors import ConfigError, MediaError
from audio_creator.jobs.options import EXTRA_OUTPUTS, JOBS, OUTPUT_NAMES
from audio_creator.jobs.spec import Field

MODES = ("autopipeline", "vidmuse", "tts", "mix", "wavjourney")
# What each kind of input option must hold, checked by content.
MEDIA_INPUTS = frozenset(("video", "music", "speech"))
TEXT_INPUTS = frozenset(("text_file", "narration_file"))
JSON_INPUTS = frozenset(("script",))
VOICE_FOLDERS = (("piper", ".onnx"), ("kokoro", ".onnx"), ("coqui", ""))  # where voices are
# Options a client has no use for, and why they are refused.
NOT_FROM_THE_WEB = {
    "merged_video_path": "is an output: give merge_video true to have the video written",
    "lora_scale": "scales an adapter, which only the server can name",
}


def build_options(
    mode: str, params: dict[str, Any], uploads: dict[str, Path], out_dir: Path
) -> dict[str, Any]:
    """The options (keyword values) of the job `mode` for `params`, each checked.

    Raises:
        ConfigError: an unknown mode or option, a value of the wrong kind or out of bounds, an
            input option that names no uploaded file, a file of the server's.
    """
    if mode not in MODES:
        raise ConfigError(f"unknown mode {mode!r}; one of: {', '.join(MODES)}")
    fields = {f.name: f for f in JOBS[mode].fields()}
    values: dict[str, Any] = {"output": out_dir / OUTPUT_NAMES[mode]}
    for key, value in params.items():
        name = key.replace("-", "_")
        f = fields.get(name)
        if f is None or f.spec.role in ("output", "secret"):
            raise ConfigError(f"{mode} has no option {key!r}")
        if f.spec.role == "server_file":
            raise ConfigError(f"{key!r} names a file on the server: it cannot be set from the web")
        if name in NOT_FROM_THE_WEB:
            raise ConfigError(f"{key!r} {NOT_FROM_THE_WEB[name]}")
        if value is None or value is False:
            continue
        values[name] = _value(f, key, value, uploads, out_dir, mode)
    from audio_creator.jobs import options_of
    from audio_creator.jobs.spec import out_of_bounds

    problems = out_of_bounds(options_of(mode, values))  # refused now, not when the job runs
    if problems:
        raise ConfigError("; ".join(problems))
    return values


def _value(
    f: Field, key: str, value: Any, uploads: dict[str, Path], out_dir: Path, mode: str
) -> Any:
    """One parameter as its option takes it (see `build_options`)."""
    if f.spec.role == "extra_output":
        name = EXTRA_OUTPUTS.get(f.name)
        if value is not True or name is None:
            raise ConfigError(f"{key!r} is an output: give true to have it written")
        return out_dir / name.format(stem=Path(OUTPUT_NAMES[mode]).stem)
    if f.kind is bool:
        if value is not True:
            raise ConfigError(f"{key!r} is a switch: give true or false")
        return True
    if f.many:
        return [_file_spec(str(item), uploads, key) for item in
                (value if isinstance(value, list) else [value])]  # fmt: skip
    if isinstance(value, (dict, list)):
        raise ConfigError(f"{key!r} takes one value, not {type(value).__name__}")
    if f.spec.role == "voice":
        return installed_voice(str(value))
    if f.spec.role == "model":
        return catalogue_model(str(value))
    if f.spec.role == "input":
        return _upload(str(value), uploads, key)
    if f.kind in (int, float) and isinstance(value, str):  # a form's text
        try:
            return f.kind(value)
        except ValueError:
            raise ConfigError(f"{key!r} must be a number, not {value!r}") from None
    return str(value) if f.kind is str else value


def catalogue_model(name: str) -> str:
    """A model named from the web: only a catalogue name (`models list`), never a folder."""
    from audio_creator.models import CATALOGUE

    if name not in CATALOGUE:
        raise ConfigError(f"music_model must be one of: {', '.join(CATALOGUE)}; not {name!r}")
    return name


def installed_voices() -> dict[str, Path]:
    """The voices installed on the server (its models folder), by name: what the web may pick."""
    from audio_creator.speech.voices import installed_models

    found: dict[str, Path] = {}
    for engine, suffix in VOICE_FOLDERS:
        for name, path in installed_models(engine, suffix).items():
            found.setdefault(name, path)
    return found


def installed_voice(name: str) -> Path:
    """The model of an installed voice named `name`; never a path a client makes up."""
    voices = installed_voices()
    if name not in voices:
        here = ", ".join(sorted(voices)) or "none (the bundled voice only)"
        raise ConfigError(f"no voice named {name!r} is installed on this server; voices: {here}")
    return voices[name]


def check_upload(path: Path, option: str) -> None:
    """Refuse an upload whose content is not what its option takes (not judged by its name).

    Raises:
        MediaError: not audio or video (for media options), not UTF-8 text, not JSON.
    """
    if option in MEDIA_INPUTS:
        from audio_creator.media.probe import probe

        try:
            probe(path) if option == "video" else _probe_audio(path)
        except MediaError as exc:
            raise MediaError(f"{path.name} is not a playable {option} file: {exc}") from None
    elif option in TEXT_INPUTS:
        try:
            path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise MediaError(f"{path.name} is not UTF-8 text") from None
    elif option in JSON_INPUTS:
        try:
            json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise MediaError(f"{path.name} is not a JSON script") from None
    else:
        raise MediaError(f"the option {option!r} takes no uploaded file")


def defaults(mode: str) -> dict[str, Any]:
    """Each option of `mode` with its default."""
    return {f.name: f.default for f in _fields(mode)}


def input_options(mode: str) -> set[str]:
    """The options of `mode` that take an uploaded file."""
    return {f.name for f in _fields(mode) if f.spec.role == "input"}


def _fields(mode: str) -> list[Field]:
    if mode not in JOBS:
        raise ConfigError(f"unknown mode {mode!r}")
    return JOBS[mode].fields()


def _probe_audio(path: Path) -> None:
    """An audio stream whose first frame decodes (the whole file is the command's to read)."""
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise MediaError("it has no audio stream")
            next(container.decode(audio=0))
    except (av.FFmpegError, StopIteration, UnicodeDecodeError) as exc:
        raise MediaError(f"it does not decode as audio ({exc or 'no frames'})") from None


def _upload(name: str, uploads: dict[str, Path], key: str) -> Path:
    if name not in uploads:
        raise ConfigError(f"{key!r} names {name!r}, which was not uploaded with the job")
    return uploads[name]


def _file_spec(spec: str, uploads: dict[str, Path], key: str) -> str:
    """ "name@12.5" (an uploaded file and an offset) with the name made a path."""
    name, sep, offset = spec.rpartition("@")
    if not sep:
        name, offset = spec, ""
    return str(_upload(name, uploads, key)) + (f"@{offset}" if sep else "")


_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", Path: "string"}


def params_schema(mode: str) -> dict[str, Any]:
    """The JSON schema of `mode`'s `params`, from its options' declarations: every option a
    client may set (the main output and the server's own files are the server's to choose, and
    `NOT_FROM_THE_WEB` says why the others are left out)."""
    properties: dict[str, Any] = {}
    for f in _fields(mode):
        role = f.spec.role
        if role in ("output", "server_file") or f.name in NOT_FROM_THE_WEB:
            continue
        kind = "boolean" if role == "extra_output" else _JSON_TYPES[f.kind]
        described: dict[str, Any] = {"type": kind, "description": f.spec.help}
        if role == "input":
            described["description"] += " (the field name of a file uploaded with the job)"
        elif role == "extra_output":
            described["description"] += " (true: written into the job's outputs)"
        elif role == "voice":
            described["description"] += " (an installed voice's name: see `voices`)"
        if f.many:
            described = {"type": "array", "items": described, "description": f.spec.help}
        elif role != "extra_output" and f.default is not None:
            described["default"] = f.default
        if f.spec.choices is not None:
            described["enum"] = list(f.spec.choices)
        if f.spec.low is not None:
            described["minimum"] = f.spec.low
        if f.spec.high is not None:
            described["maximum"] = f.spec.high
        properties[f.name] = described
    required = [f.name for f in _fields(mode) if f.required and f.spec.role != "output"]
    return {"type": "object", "properties": properties, "required": required,
            "additionalProperties": False}  # fmt: skip
