"""The `audio-creator` command: argument parsing, files and exit codes. No audio logic lives here.

Exit codes: 0 done, 2 bad input or usage, 3 a backend is unavailable, 1 an internal error.
Module-level imports are limited to the standard library so that `--help` answers at once; each
command imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from audio_creator.errors import AudioCreatorError, MediaError

logger = logging.getLogger("audio_creator.cli")

Command = Callable[[argparse.Namespace], int]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (also the console script's entry point)."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args.log_level)
    try:
        from audio_creator.config import load_dotenv

        load_dotenv()
        if args.show_config:
            return _show_config(args)
        if args.command is None:
            parser.print_help(sys.stderr)
            return 2
        handler: Command = args.handler
        return handler(args)
    except AudioCreatorError as exc:
        logger.error("%s", exc)
        return exc.exit_code
    except KeyboardInterrupt:
        logger.error("interrupted")
        return 130
    except Exception:
        logger.exception("internal error; please report it with the command line that caused it")
        return 1


def available_commands() -> frozenset[str]:
    """Names of the subcommands this version has."""
    for action in _build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            return frozenset(action.choices)
    return frozenset()


# ----------------------------------------------------------------------------------------- parser


def _build_parser() -> argparse.ArgumentParser:
    from audio_creator import __version__

    # Global options are accepted before and after the subcommand.
    common = argparse.ArgumentParser(add_help=False)
    _add_global_options(common, default=argparse.SUPPRESS)
    parser = argparse.ArgumentParser(
        prog="audio-creator",
        description="Give a video its soundtrack: music, narration and a broadcast-grade mix.",
    )
    _add_global_options(parser, default=None)
    parser.add_argument("--version", action="version", version=f"audio-creator {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, handler: Command, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text, parents=[common])
        p.set_defaults(handler=handler)
        return p

    p = command("probe", _probe, "show what a video file holds")
    p.add_argument("video", type=Path, help="video file (MP4, MOV, MKV, WebM, AVI)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")

    p = command("demo-video", _demo_video, "make the synthetic demo video (about 20 s, 720p)")
    p.add_argument("output", type=Path, help="where to write it (.mp4, .mov or .mkv)")
    p.add_argument("--width", type=int, default=1280)
    p.add_argument("--height", type=int, default=720)
    p.add_argument("--fps", type=int, default=30)
    p.add_argument("--no-audio", action="store_true", help="leave out the room-tone soundtrack")
    p.add_argument("--seed", type=int, default=7)

    p = command("extract-audio", _extract_audio, "write the audio track of a video as WAV")
    p.add_argument("video", type=Path)
    p.add_argument("-o", "--output", type=Path, required=True, help="WAV file to write")
    p.add_argument("--sample-rate", type=int, default=None, help="resample to this rate (Hz)")
    p.add_argument("--channels", type=int, default=None, help="convert to this many channels")
    p.add_argument(
        "--bit-depth",
        type=int,
        choices=(16, 24, 32),
        default=24,
        help="16/24-bit PCM or 32-bit float (default 24)",
    )

    p = command("mux", _mux, "put an audio file into a video as its soundtrack (video copied)")
    p.add_argument("video", type=Path)
    p.add_argument("audio", type=Path)
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        help="video file to write; its suffix picks the container",
    )
    p.add_argument("--audio-bitrate", type=int, default=192, help="kbit/s (default 192)")
    return parser


def _add_global_options(parser: argparse.ArgumentParser, default: Any) -> None:
    def value(normal: Any) -> Any:
        return normal if default is None else default

    parser.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default=value("auto"),
        help="where neural models run (default auto)",
    )
    parser.add_argument(
        "--log-level",
        default=value("INFO"),
        type=str.upper,
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        help="default INFO",
    )
    parser.add_argument(
        "--show-config",
        action="store_true",
        default=value(False),
        help="print the configuration in effect and exit",
    )


def _configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="audio-creator: %(levelname)s: %(message)s", force=True)


# --------------------------------------------------------------------------------------- commands


def _show_config(args: argparse.Namespace) -> int:
    from audio_creator.config import Settings, describe

    print(json.dumps(describe(Settings.from_env(), args.device), indent=2))
    return 0


def _probe(args: argparse.Namespace) -> int:
    from audio_creator.media import probe

    info = probe(args.video)
    if args.json:
        print(json.dumps(info.to_dict(), indent=2))
        return 0
    rows = [
        ("file", str(info.path)),
        ("container", info.container),
        ("duration", f"{info.duration_s:.3f} s"),
        (
            "video",
            f"{info.video_codec} {info.width}×{info.height} {info.pixel_format}, "
            f"{info.fps:.3f} fps, {info.frame_count} frames",
        ),
        ("rotation", f"{info.rotation_deg}°"),
        (
            "audio",
            f"{info.audio_codec} {info.audio_sample_rate} Hz, {info.audio_channels} ch"
            if info.has_audio
            else "none",
        ),
    ]
    for key, text in rows:
        print(f"{key:<10} {text}")
    return 0


def _demo_video(args: argparse.Namespace) -> int:
    from audio_creator.media import make_demo_video

    out = make_demo_video(
        args.output,
        width=args.width,
        height=args.height,
        fps=args.fps,
        with_audio=not args.no_audio,
        seed=args.seed,
    )
    logger.info("wrote %s", out)
    return 0


def _extract_audio(args: argparse.Namespace) -> int:
    from audio_creator.audio import load, save
    from audio_creator.files import check_output_path
    from audio_creator.media import probe

    info = probe(args.video)
    if not info.has_audio:
        raise MediaError(f"{args.video} has no audio track to extract")
    check_output_path(args.output, inputs=[args.video])
    audio = load(args.video, sample_rate=args.sample_rate, channels=args.channels)
    save(audio, args.output, bit_depth=args.bit_depth)
    logger.info(
        "wrote %s (%.2f s, %d Hz, %d ch)",
        args.output,
        audio.duration_s,
        audio.sample_rate,
        audio.channels,
    )
    return 0


def _mux(args: argparse.Namespace) -> int:
    from audio_creator.audio import load
    from audio_creator.files import check_output_path
    from audio_creator.media import mux, probe

    probe(args.video)  # inputs first: a bad input must not leave even an empty output folder
    soundtrack = load(args.audio)
    check_output_path(args.output, inputs=[args.video, args.audio])
    result = mux(args.video, soundtrack, args.output, audio_bitrate=args.audio_bitrate * 1000)
    how = "copied" if result.video_copied else f"re-encoded to {result.video_codec}"
    logger.info("wrote %s (video %s, audio %s)", result.path, how, result.audio_codec)
    return 0


if __name__ == "__main__":
    sys.exit(main())
