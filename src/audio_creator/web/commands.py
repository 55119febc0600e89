"""A job's parameters → the `audio-creator` command line it runs, checked against the CLI itself.

Parameters are the command's own options by name (`caption_backend`, `merge_video`, …), taken
from its argparse parser, so the web and the CLI accept exactly the same things. Options that
name files are filled by the server: inputs must be files uploaded with the job (named by their
upload name), outputs go into the job's `out/` folder under fixed names. Nothing a client sends
can name a path on the server.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from audio_creator.errors import ConfigError, MediaError

MODES = ("autopipeline", "vidmuse", "tts", "mix", "wavjourney")
OUTPUT_NAMES = {
    "autopipeline": "soundtrack.wav", "vidmuse": "music.wav", "tts": "speech.wav",
    "mix": "mix.wav", "wavjourney": "audio.wav",
}  # fmt: skip
# Output options a client may switch on (true) but not name: → the file they write.
EXTRA_OUTPUTS = {
    "subtitles": "speech.srt",
    "midi_out": "music.mid",
    "report": "{stem}.json",  # mix.json, music.json
    "merged_video_path": None,  # set by merge_video: STEM.mp4 beside the output
}
# What each kind of input option must hold, checked by content.
MEDIA_INPUTS = frozenset(("video", "music", "speech"))
TEXT_INPUTS = frozenset(("text_file", "narration_file"))
JSON_INPUTS = frozenset(("script",))
NOT_FROM_THE_WEB = frozenset(("lora", "soundfont"))  # files of the server's own
VOICE_FOLDERS = (("piper", ".onnx"), ("kokoro", ".onnx"), ("coqui", ""))  # where voices are


def build_argv(
    mode: str, params: dict[str, Any], uploads: dict[str, Path], out_dir: Path
) -> list[str]:
    """The argument list of `audio-creator` for a job.

    Raises:
        ConfigError: an unknown mode or option, a value of the wrong kind, or an input option
            that names no uploaded file.
    """
    if mode not in MODES:
        raise ConfigError(f"unknown mode {mode!r}; one of: {', '.join(MODES)}")
    actions = _actions(mode)
    argv = [mode, "-o", str(out_dir / OUTPUT_NAMES[mode])]
    for key, value in params.items():
        dest = key.replace("-", "_")
        action = actions.get(dest)
        if action is None or dest in ("output", "help"):
            raise ConfigError(f"{mode} has no option {key!r}")
        if dest in NOT_FROM_THE_WEB:
            raise ConfigError(f"{key!r} names a file on the server: it cannot be set from the web")
        if value is None or value is False:
            continue
        flag = next((s for s in action.option_strings if s.startswith("--")), f"--{dest}")
        if dest in EXTRA_OUTPUTS:
            name = EXTRA_OUTPUTS[dest]
            if value is not True or name is None:
                raise ConfigError(f"{key!r} is an output: give true to have it written")
            argv += [flag, str(out_dir / name.format(stem=Path(OUTPUT_NAMES[mode]).stem))]
        elif isinstance(action, argparse._StoreTrueAction):
            if value is not True:
                raise ConfigError(f"{key!r} is a switch: give true or false")
            argv.append(flag)
        elif isinstance(action, argparse._AppendAction):
            for item in value if isinstance(value, list) else [value]:
                argv.append(f"{flag}={_file_spec(str(item), uploads, key)}")
        elif dest == "voice":
            argv.append(f"{flag}={installed_voice(str(value))}")
        elif dest == "music_model":
            argv.append(f"{flag}={catalogue_model(str(value))}")
        elif action.type is Path:
            argv.append(f"{flag}={_upload(str(value), uploads, key)}")
        else:
            if isinstance(value, (dict, list)):
                raise ConfigError(f"{key!r} takes one value, not {type(value).__name__}")
            argv.append(f"{flag}={value}")
    _check_required(mode, params)
    return argv


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
    """Each option of `mode` with its default, as the command's parser holds it."""
    return {dest: action.default for dest, action in _actions(mode).items()}


def input_options(mode: str) -> set[str]:
    """The options of `mode` that take an uploaded file."""
    actions = _actions(mode)
    return {dest for dest in MEDIA_INPUTS | TEXT_INPUTS | JSON_INPUTS if dest in actions}


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


def _check_required(mode: str, params: dict[str, Any]) -> None:
    """The options the command cannot run without (its output aside) are given."""
    parser = _parser(mode)
    given = {k.replace("-", "_") for k, v in params.items() if v not in (None, False, "")}
    for action in parser._actions:
        if action.required and action.dest not in given and action.dest != "output":
            raise ConfigError(f"{mode} needs {action.dest!r}")
    for group in parser._mutually_exclusive_groups:
        names = [a.dest for a in group._group_actions]
        chosen = [name for name in names if name in given]
        if len(chosen) > 1:
            raise ConfigError(f"{mode} takes only one of {', '.join(map(repr, chosen))}")
        if group.required and not chosen:
            raise ConfigError(f"{mode} needs one of {', '.join(map(repr, names))}")


def _actions(mode: str) -> dict[str, argparse.Action]:
    return {a.dest: a for a in _parser(mode)._actions}


def _parser(mode: str) -> argparse.ArgumentParser:
    from audio_creator.cli import _build_parser

    for action in _build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction) and mode in action.choices:
            parser: argparse.ArgumentParser = action.choices[mode]
            return parser
    raise ConfigError(f"unknown mode {mode!r}")
