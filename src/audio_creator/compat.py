"""The original project's command line, `python main.py --mode MODE …`, mapped onto `audio-creator`.

Every flag of the original README is accepted under its old spelling and translated to the
subcommand's own option, so both interfaces run the same code.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

MODES = ("vidmuse", "tts", "mix", "wavjourney", "autopipeline")

# (original spelling, option of the `audio-creator MODE` subcommand, value type)
_VALUE_FLAGS: tuple[tuple[str, str, type], ...] = (
    ("--video_path", "--video", str),
    ("--output_path", "--output", str),
    ("--duration", "--duration", float),
    ("--merged-video-path", "--merged-video-path", str),
    ("--vidmuse-lora", "--lora", str),
    ("--lora-scale", "--lora-scale", float),
    ("--rerank", "--rerank", int),
    ("--rerank-topk", "--rerank-topk", int),
    ("--text", "--text", str),
    ("--tts-engine", "--engine", str),
    ("--tts-model", "--model", str),
    ("--speed", "--speed", float),
    ("--language", "--language", str),
    ("--speaker", "--speaker", str),
    ("--music_path", "--music", str),
    ("--speech_path", "--speech", str),
    ("--music_volume", "--music-volume", float),
    ("--speech_volume", "--speech-volume", float),
    ("--ducking-db", "--ducking-db", float),
    ("--target-lufs", "--target-lufs", float),
    ("--duck-attack", "--duck-attack", float),
    ("--duck-release", "--duck-release", float),
    ("--instruction", "--instruction", str),
    ("--llm-model", "--llm-model", str),
    ("--api-key", "--api-key", str),
    ("--caption-backend", "--caption-backend", str),
    ("--caption-max-len", "--caption-max-len", int),
    ("--caption-frames", "--caption-frames", int),
    ("--seed", "--seed", int),
    ("--backend", "--backend", str),
    ("--style", "--style", str),
    ("--prompt", "--prompt", str),
    ("--soundfont", "--soundfont", str),
    ("--midi-out", "--midi-out", str),
)
_SWITCH_FLAGS: tuple[tuple[str, str], ...] = (("--merge-video", "--merge-video"),)
_GLOBAL_FLAGS: tuple[tuple[str, str], ...] = (
    ("--device", "--device"),
    ("--log-level", "--log-level"),
)


def build_parser() -> argparse.ArgumentParser:
    """The parser for the original flags (`--mode` and every option of the original README)."""
    parser = argparse.ArgumentParser(
        prog="main.py",
        description="The original Audio Creator command line. Same work as `audio-creator MODE`.",
    )
    parser.add_argument("--mode", required=True, choices=MODES)
    for old, _, kind in _VALUE_FLAGS:
        parser.add_argument(old, type=kind, default=None)
    for old, _ in _SWITCH_FLAGS:
        parser.add_argument(old, action="store_true")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default=None)
    parser.add_argument(
        "--log-level", type=str.upper, default=None, choices=("DEBUG", "INFO", "WARNING", "ERROR")
    )
    return parser


def translate(args: argparse.Namespace) -> list[str]:
    """The `audio-creator` argument list equivalent to parsed original-style `args`."""
    argv: list[str] = []
    for old, new in _GLOBAL_FLAGS:
        value = getattr(args, _dest(old))
        if value is not None:
            argv += [new, str(value)]
    argv.append(args.mode)
    for old, new, _ in _VALUE_FLAGS:
        value = getattr(args, _dest(old))
        if value is not None:  # one token, so that a value starting with "-" stays a value
            argv.append(f"{new}={value}")
    for old, new in _SWITCH_FLAGS:
        if getattr(args, _dest(old)):
            argv.append(new)
    return argv


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python main.py`; returns the exit code."""
    from audio_creator import cli

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.output_path is None:  # every mode writes something: say so in the user's own flags
        parser.error(f"--mode {args.mode} needs --output_path (the file to write)")
    return cli.main(translate(args))


def _dest(flag: str) -> str:
    return flag.lstrip("-").replace("-", "_")


if __name__ == "__main__":
    sys.exit(main())
