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

    p = command("mix", _mix, "mix music and narration: ducking, loudness target, true-peak ceiling")
    _add_mix_options(p)

    p = command("vidmuse", _vidmuse, "compose music that follows a video: its cuts, motion, mood")
    _add_vidmuse_options(p)

    p = command("tts", _tts, "speak a text: narration as WAV, with subtitles if asked")
    _add_tts_options(p)
    return parser


def _add_tts_options(p: argparse.ArgumentParser) -> None:
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--text", help="the text to speak")
    source.add_argument("--text-file", type=Path, help="a UTF-8 text file to speak")
    p.add_argument("-o", "--output", type=Path, required=True, help="WAV file to write")
    p.add_argument("--engine", default="auto", help="auto (default), piper, espeak")
    p.add_argument(
        "--voice", "--model", dest="voice", type=Path, default=None,
        help="a voice model file (Piper: .onnx beside its .onnx.json); default: the bundled one",
    )  # fmt: skip
    p.add_argument("--speaker", default=None, help="speaker name or number (multi-speaker voices)")
    p.add_argument(
        "--language", default=None, help="language code, e.g. en; checked against the voice"
    )
    p.add_argument("--speed", type=float, default=1.0, help="0.5–2.0 (default 1.0)")
    p.add_argument("--sample-rate", type=int, default=None, help="Hz (default: the voice's)")
    p.add_argument("--sentence-pause", type=float, default=0.35, help="seconds (default 0.35)")
    p.add_argument("--paragraph-pause", type=float, default=0.8, help="seconds (default 0.8)")
    p.add_argument(
        "--subtitles", type=Path, default=None, help="also write sentence timings (.srt)"
    )


# The procedural styles, named here so that `--help` imports no music code (a test keeps it true).
STYLE_NAMES = ("cinematic", "ambient", "lofi", "pop", "orchestral", "electronic", "piano")


def _add_vidmuse_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--video", type=Path, required=True, help="the video to score")
    p.add_argument("-o", "--output", type=Path, required=True, help="music WAV to write")
    p.add_argument("--duration", type=float, default=None, help="seconds (default: the video's)")
    p.add_argument("--backend", default="auto", help="auto (default), procedural, …")
    p.add_argument("--style", default=None, help=f"one of: {', '.join(STYLE_NAMES)}")
    p.add_argument("--prompt", default=None, help="a description; its words can pick the style")
    p.add_argument("--seed", type=int, default=0, help="same seed, same music (default 0)")
    p.add_argument("--rerank", type=int, default=1, help="candidates to make (default 1)")
    p.add_argument("--rerank-topk", type=int, default=1, help="best candidates to keep")
    p.add_argument("--soundfont", type=Path, default=None, help="SF2/SF3 file to render with")
    p.add_argument("--midi-out", type=Path, default=None, help="also write the score as MIDI")
    p.add_argument("--lora", type=Path, default=None, help="LoRA adapter (neural backends)")
    p.add_argument("--target-lufs", type=float, default=-18.0, help="loudness (default −18)")
    p.add_argument("--merge-video", action="store_true", help="also write the video with it")
    p.add_argument(
        "--merged-video-path",
        type=Path,
        default=None,
        help="where --merge-video writes (default: OUTPUT's name with the video's suffix); "
        "giving it implies --merge-video",
    )


def _add_mix_options(p: argparse.ArgumentParser) -> None:
    track = "FILE[@SECONDS]"
    p.add_argument(
        "--music",
        action="append",
        default=[],
        metavar=track,
        help="a music track, optionally starting at SECONDS; repeatable",
    )
    p.add_argument(
        "--speech",
        action="append",
        default=[],
        metavar=track,
        help="a narration track, optionally starting at SECONDS; repeatable",
    )
    p.add_argument("-o", "--output", type=Path, required=True, help="WAV file to write")
    p.add_argument("--music-volume", type=float, default=1.0, help="linear gain (default 1.0)")
    p.add_argument("--speech-volume", type=float, default=1.0, help="linear gain (default 1.0)")
    p.add_argument("--ducking-db", type=float, default=8.0, help="duck depth (default 8 dB)")
    p.add_argument("--duck-attack", type=float, default=0.2, help="seconds (default 0.2)")
    p.add_argument("--duck-release", type=float, default=0.5, help="seconds (default 0.5)")
    p.add_argument(
        "--duck-hold",
        type=float,
        default=0.6,
        help="pauses shorter than this stay ducked (default 0.6 s)",
    )
    p.add_argument(
        "--speech-over-music",
        type=float,
        default=10.0,
        metavar="LU",
        help="music at least this far under the speech, before ducking (default 10)",
    )
    p.add_argument("--target-lufs", type=float, default=-16.0, help="default −16")
    p.add_argument("--true-peak", type=float, default=-1.0, metavar="DBTP", help="default −1")
    p.add_argument(
        "--music-fit",
        choices=("loop", "pad", "trim"),
        default="loop",
        help="music shorter than the programme: loop (crossfaded), pad with silence, "
        "or trim the programme to the music (default loop)",
    )
    p.add_argument("--crossfade", type=float, default=2.0, help="loop crossfade (default 2 s)")
    p.add_argument("--fade-in", type=float, default=1.0, help="music fade-in (default 1 s)")
    p.add_argument("--fade-out", type=float, default=2.0, help="music fade-out (default 2 s)")
    p.add_argument(
        "--duration",
        type=float,
        default=None,
        help="programme length in seconds (default: the speech's, else the music's)",
    )
    p.add_argument("--sample-rate", type=int, default=48000, help="default 48000")
    p.add_argument("--channels", type=int, choices=(1, 2), default=2, help="default 2")
    p.add_argument(
        "--bit-depth",
        type=int,
        choices=(16, 24, 32),
        default=24,
        help="16/24-bit PCM or 32-bit float (default 24)",
    )
    p.add_argument("--report", type=Path, default=None, help="also write the report as JSON")


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


def _mix(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from audio_creator.audio_source import open_audio
    from audio_creator.errors import ConfigError
    from audio_creator.files import atomic_output, check_output_path
    from audio_creator.mix.ducking import DuckingOptions
    from audio_creator.mix.mixer import MixOptions, Track, mix_to_file

    if args.output.suffix.lower() != ".wav":
        raise ConfigError(
            f"the mix is written as WAV; give an output ending in .wav, not {args.output.name}"
        )
    options = MixOptions(
        target_lufs=args.target_lufs,
        true_peak_dbtp=args.true_peak,
        sample_rate=args.sample_rate,
        channels=args.channels,
        music_volume=args.music_volume,
        speech_volume=args.speech_volume,
        ducking=DuckingOptions(
            depth_db=args.ducking_db,
            attack_s=args.duck_attack,
            release_s=args.duck_release,
            hold_s=args.duck_hold,
        ),
        speech_over_music_lu=args.speech_over_music,
        music_fit=args.music_fit,
        crossfade_s=args.crossfade,
        fade_in_s=args.fade_in,
        fade_out_s=args.fade_out,
        duration_s=args.duration,
    )
    music_specs = [_track_spec(text) for text in args.music]
    speech_specs = [_track_spec(text) for text in args.speech]
    if not music_specs and not speech_specs:
        raise ConfigError("nothing to mix: give --music and/or --speech")
    inputs = [path for path, _ in music_specs + speech_specs]
    outputs = [args.output] + ([args.report] if args.report else [])
    for out in outputs:
        check_output_path(out, inputs=inputs)
    # WAV/FLAC/OGG at the output rate are read from disk as the mix goes; the rest is decoded.
    rate = options.sample_rate
    music = [Track(open_audio(path, rate), offset) for path, offset in music_specs]
    speech = [Track(open_audio(path, rate), offset) for path, offset in speech_specs]
    result = mix_to_file(music, speech, options, args.output, bit_depth=args.bit_depth)
    report = asdict(result)
    if args.report:
        with atomic_output(args.report) as tmp:
            tmp.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    for key, value in report.items():
        if key != "warnings":
            print(f"{key:<28} {value}")
    logger.info("wrote %s", args.output)
    return 0


def _vidmuse(args: argparse.Namespace) -> int:
    from audio_creator.vidmuse import VidmuseOptions, run_vidmuse

    merged = args.merged_video_path
    if args.merge_video and merged is None:
        merged = args.output.with_suffix(args.video.suffix or ".mp4")
    options = VidmuseOptions(
        video=args.video,
        output=args.output,
        duration_s=args.duration,
        backend=args.backend,
        style=args.style,
        prompt=args.prompt,
        seed=args.seed,
        rerank=args.rerank,
        rerank_topk=args.rerank_topk,
        soundfont=args.soundfont,
        lora=args.lora,
        midi_out=args.midi_out,
        merged_video=merged,
        target_lufs=args.target_lufs,
    )
    result = run_vidmuse(options)
    for key, value in result.summary.items():
        print(f"{key:<16} {value}")
    for index, path in enumerate(result.outputs):
        ranked = f"  (rerank {result.scores[index]})" if index < len(result.scores) else ""
        print(f"wrote {path}{ranked}")
    if result.merged_video is not None:
        print(f"wrote {result.merged_video}")
    return 0


def _tts(args: argparse.Namespace) -> int:
    from audio_creator.errors import ConfigError, MediaError
    from audio_creator.files import check_input_file, check_output_path
    from audio_creator.speech import SpeechOptions, create_engine, narrate_to_file, write_srt

    if args.output.suffix.lower() != ".wav":
        raise ConfigError(
            f"speech is written as WAV; give an output ending in .wav, not {args.output.name}"
        )
    text = args.text
    inputs = []
    if args.text_file is not None:
        source = check_input_file(args.text_file, what="text file")
        inputs.append(source)
        try:
            text = source.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise MediaError(f"{source} is not UTF-8 text: {exc}") from exc
    outputs = [args.output] + ([args.subtitles] if args.subtitles else [])
    if len({p.expanduser().resolve() for p in outputs}) != len(outputs):
        raise ConfigError("the subtitles and the speech need different file names")
    for path in outputs:
        check_output_path(path, inputs=inputs)
    options = SpeechOptions(
        speed=args.speed,
        language=args.language,
        speaker=args.speaker,
        sentence_pause_s=args.sentence_pause,
        paragraph_pause_s=args.paragraph_pause,
    )
    from audio_creator.speech.text import sentences

    sentences(text)  # bad text is refused before a voice is loaded
    engine = create_engine(
        args.engine, language=args.language, **({"voice": args.voice} if args.voice else {})
    )
    narration = narrate_to_file(text, engine, args.output, options, sample_rate=args.sample_rate)
    if args.subtitles is not None:
        try:
            write_srt(narration.sentences, args.subtitles)
        except BaseException:
            args.output.unlink(missing_ok=True)
            raise
    print(f"voice            {narration.voice}")
    print(f"sentences        {len(narration.sentences)}")
    print(f"duration_s       {narration.duration_s:.2f}")
    print(f"wrote {narration.path}")
    return 0


def _track_spec(text: str) -> tuple[Path, float]:
    """ "music.wav@12.5" → (music.wav, 12.5); a plain path starts at 0."""
    from audio_creator.errors import ConfigError

    path, sep, offset = text.rpartition("@")
    if sep and path:
        try:
            return Path(path), float(offset)
        except ValueError:
            pass  # an "@" that is part of the file name
    if sep and not path:
        raise ConfigError(f"bad track {text!r}: expected FILE or FILE@SECONDS")
    return Path(text), 0.0


if __name__ == "__main__":
    sys.exit(main())
