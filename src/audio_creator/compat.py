"""The original project's command line, `python main.py --mode MODE …`, mapped onto `audio-creator`.

Every flag of the original README is accepted under its old spelling and translated to the
subcommand's own option, so both interfaces run the same code. Each option declares its original
spellings where it is declared (`jobs.options`), so the translation cannot drift from the
options.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from audio_creator.errors import ConfigError
from audio_creator.jobs.options import JOBS
from audio_creator.jobs.spec import Field

MODES = ("vidmuse", "tts", "mix", "wavjourney", "autopipeline")

# The original README's flags, in its order (a translation keeps it). Which option of which mode
# each one sets, and the type of its value, is declared with the option (`Spec.original`).
ORIGINAL_FLAGS = (
    "--video_path", "--output_path", "--duration", "--merged-video-path", "--vidmuse-lora",
    "--lora-scale", "--rerank", "--rerank-topk", "--text", "--tts-engine", "--tts-model",
    "--speed", "--language", "--speaker", "--music_path", "--speech_path", "--music_volume",
    "--speech_volume", "--ducking-db", "--target-lufs", "--duck-attack", "--duck-release",
    "--instruction", "--llm-model", "--api-key", "--caption-backend", "--caption-max-len",
    "--caption-frames", "--seed", "--backend", "--style", "--prompt", "--soundfont", "--midi-out",
    "--merge-video",
)  # fmt: skip
_GLOBAL_FLAGS = ("--device", "--log-level")


def options_by_flag(mode: str) -> dict[str, Field]:
    """The options of `mode` by their original spellings."""
    return {spelling: f for f in JOBS[mode].fields() for spelling in f.spec.original}


def build_parser() -> argparse.ArgumentParser:
    """The parser for the original flags (`--mode` and every option of the original README)."""
    parser = argparse.ArgumentParser(
        prog="main.py",
        description="The original Audio Creator command line. Same work as `audio-creator MODE`.",
    )
    parser.add_argument("--mode", required=True, choices=MODES)
    kinds = {flag: f.kind for mode in MODES for flag, f in options_by_flag(mode).items()}
    for flag in ORIGINAL_FLAGS:
        if kinds[flag] is bool:
            parser.add_argument(flag, action="store_true")
        else:
            parser.add_argument(flag, type=kinds[flag] if kinds[flag] in (int, float) else str)
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default=None)
    parser.add_argument(
        "--log-level", type=str.upper, default=None, choices=("DEBUG", "INFO", "WARNING", "ERROR")
    )
    return parser


def translate(args: argparse.Namespace) -> list[str]:
    """The `audio-creator` argument list equivalent to parsed original-style `args`.

    Raises:
        ConfigError: a flag given that the mode does not take.
    """
    argv: list[str] = []
    for flag in _GLOBAL_FLAGS:
        value = getattr(args, _dest(flag))
        if value is not None:
            argv += [flag, str(value)]
    argv.append(args.mode)
    taken = options_by_flag(args.mode)
    switches = []
    for flag in ORIGINAL_FLAGS:
        value = getattr(args, _dest(flag))
        if value is None or value is False:
            continue
        if flag not in taken:
            raise ConfigError(f"--mode {args.mode} takes no {flag}")
        if value is True:
            switches.append(taken[flag].flag)
        else:  # one token, so that a value starting with "-" stays a value
            argv.append(f"{taken[flag].flag}={value}")
    return argv + switches


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python main.py`; returns the exit code."""
    from audio_creator import cli

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.output_path is None:  # every mode writes something: say so in the user's own flags
        parser.error(f"--mode {args.mode} needs --output_path (the file to write)")
    try:
        argv = translate(args)
    except ConfigError as exc:
        parser.error(str(exc))
    return cli.main(argv)


def _dest(flag: str) -> str:
    return flag.lstrip("-").replace("-", "_")


if __name__ == "__main__":
    sys.exit(main())
