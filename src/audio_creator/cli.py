"""The `audio-creator` command: argument parsing, files and exit codes. No audio logic lives here.

Exit codes: 0 done, 2 bad input or usage, 3 a backend is unavailable, 1 an internal error.
Module-level imports are limited to the standard library so that `--help` answers at once; each
command imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from audio_creator import commands
from audio_creator.errors import AudioCreatorError
from audio_creator.interrupts import Terminated, stopping_signals
from audio_creator.jobs.options import AutopipelineJob, MixJob, TtsJob, VidmuseJob, WavjourneyJob
from audio_creator.jobs.spec import add_arguments
from audio_creator.log import configure_logging

logger = logging.getLogger("audio_creator.cli")

Command = Callable[[argparse.Namespace], int]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (also the console script's entry point)."""
    given = list(sys.argv[1:] if argv is None else argv)
    parser = _build_parser(batch_mode=_batch_mode(given))
    args = parser.parse_args(given)
    configure_logging(args.log_level)
    with stopping_signals():
        return _run(parser, args)


def _dispatch(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """Run the command; a run that fails or is stopped removes the folders it made for its
    outputs (a refused run leaves the file system as it found it)."""
    from audio_creator.files import remove_made_folders

    try:
        from audio_creator.config import load_dotenv

        load_dotenv()
        if args.show_config:
            return commands.show_config(args)
        if args.command is None:
            parser.print_help(sys.stderr)
            return 2
        handler: Command = args.handler
        code = handler(args)
        if code != 0:
            remove_made_folders()
        return code
    except BaseException:
        remove_made_folders()  # a refused or stopped run leaves no new empty folder
        raise


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """`_dispatch`, with each way of failing said in one line and given its exit code."""
    try:
        return _dispatch(parser, args)
    except AudioCreatorError as exc:
        logger.error("%s", exc)
        return exc.exit_code
    except Terminated as exc:
        logger.error("stopped by signal %d; nothing half-written is left", exc.signum)
        return 128 + exc.signum
    except KeyboardInterrupt:
        logger.error("interrupted")
        return 130
    except BrokenPipeError:  # the reader went away (`| head`): nothing to say, nowhere to say it
        import os
        import sys

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit either
        return 141
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


def _batch_mode(argv: list[str]) -> str | None:
    """The mode a `batch` command line names (its options are the batch's defaults), if any."""
    if "batch" not in argv:
        return None
    rest = argv[argv.index("batch") + 1 :]
    for i, word in enumerate(rest):
        if word == "--mode" and i + 1 < len(rest):
            return rest[i + 1]
        if word.startswith("--mode="):
            return word.split("=", 1)[1]
    return None


def _build_parser(batch_mode: str | None = None) -> argparse.ArgumentParser:
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

    p = command("probe", commands.probe, "show what a video file holds")
    p.add_argument("video", type=Path, help="video file (MP4, MOV, MKV, WebM, AVI)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")

    p = command(
        "demo-video", commands.demo_video, "make the synthetic demo video (about 20 s, 720p)"
    )
    p.add_argument("output", type=Path, help="where to write it (.mp4, .mov or .mkv)")
    p.add_argument("--width", type=int, default=1280)
    p.add_argument("--height", type=int, default=720)
    p.add_argument("--fps", type=int, default=30)
    p.add_argument("--no-audio", action="store_true", help="leave out the room-tone soundtrack")
    p.add_argument("--seed", type=int, default=7)

    p = command("extract-audio", commands.extract_audio, "write the audio track of a video as WAV")
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

    p = command(
        "mux", commands.mux, "put an audio file into a video as its soundtrack (video copied)"
    )
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

    p = command(
        "mix", commands.mix, "mix music and narration: ducking, loudness target, true-peak ceiling"
    )
    add_arguments(p, MixJob)

    p = command(
        "vidmuse", commands.vidmuse, "compose music that follows a video: its cuts, motion, mood"
    )
    add_arguments(p, VidmuseJob)

    p = command("tts", commands.tts, "speak a text: narration as WAV, with subtitles if asked")
    add_arguments(p, TtsJob)

    p = command(
        "autopipeline", commands.autopipeline,
        "video in; music, narration, mix, subtitles, report (and the video with it) out",
    )  # fmt: skip
    add_arguments(p, AutopipelineJob)

    p = command(
        "wavjourney", commands.wavjourney,
        "an audio script (from an instruction, or hand-written) rendered into a mix",
    )  # fmt: skip
    add_arguments(p, WavjourneyJob)

    p = command("serve", commands.serve, "the HTTP API (docs at /docs) on this machine")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default loopback)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument(
        "--insecure", action="store_true",
        help="no token at all (anyone who reaches the server can use it); without it the server "
        "makes a token at start and prints it, unless AUDIO_CREATOR_TOKEN gives one",
    )  # fmt: skip
    p.add_argument(
        "--allowed-hosts", type=lambda text: [h for h in text.split(",") if h], default=[],
        help="host names clients may reach the server by, beyond localhost and its addresses "
        "(comma-separated; '*' for any), e.g. the name a reverse proxy passes on",
    )  # fmt: skip
    p.add_argument(
        "--cors-origin", action="append", default=[],
        help="a web origin whose pages may call the API (repeatable); CORS is closed without it",
    )  # fmt: skip

    p = command("voices", commands.voices, "list the speech engines and the voices found here")

    p = command(
        "soundfonts", commands.soundfonts,
        "list the General MIDI SoundFonts found here, and the one the music is rendered with",
    )  # fmt: skip

    p = command("manifest", commands.manifest, "pair videos with their soundtracks for training")
    p.add_argument("--video-dir", type=Path, required=True, help="N.mp4 beside N.wav (any case)")
    p.add_argument("-o", "--output", type=Path, required=True, help="the CSV to write")

    p = command(
        "train-lora", commands.train_lora,
        "fine-tune a neural music model on video–soundtrack pairs (a LoRA adapter)",
    )  # fmt: skip
    _add_training_options(p)

    p = command(
        "merge", commands.merge, "bake a LoRA adapter into its model's weights (a new model folder)"
    )
    p.add_argument("--lora", "--vidmuse-lora", dest="lora", type=Path, required=True)
    p.add_argument("-o", "--output", type=Path, required=True, help="the model folder to write")
    p.add_argument(
        "--music-model", default=None,
        help="the base weights (default: the folder the adapter was trained on, else the "
        "backend's default model)",
    )  # fmt: skip
    _add_lora_scale(p)

    p = command(
        "eval", commands.evaluate,
        "measure soundtracks against their videos: alignment, retrieval, distance, rhythm",
    )  # fmt: skip
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--manifest", type=Path, help="CSV of video_path,audio_path[,speech_path]")
    what.add_argument("--video", type=Path, help="single mode: make its music here, then judge it")
    p.add_argument(
        "--lora-path",
        type=Path,
        default=None,
        help="single mode: also (or with --skip-base only) music with this adapter",
    )
    p.add_argument("--skip-base", action="store_true", help="single mode: only the adapter")
    p.add_argument("--music-model", default=None, help="single mode: the base weights")
    p.add_argument("--duration", type=float, default=None, help="single mode: seconds of music")
    p.add_argument("--rerank", type=int, default=1, help="single mode: candidates to rank")
    p.add_argument("--no-single-metrics", action="store_true",
                   help="single mode: only the audio–visual alignment (sim)")  # fmt: skip
    p.add_argument("--fad-backend", default="auto", choices=("auto", "frechet_audio_distance",
                   "none"), help="dist: also FAD by that package when it and its weights are "
                   "here (auto: if so)")  # fmt: skip
    p.add_argument(
        "--metrics", default="auto",
        help="comma-separated: sim, retrieval, dist, rhythm, mix (default auto: rhythm and mix; "
        "dist with --reference-audio-dir; sim and retrieval when CLIP and CLAP are here)",
    )  # fmt: skip
    p.add_argument("--target-lufs", type=float, default=-16.0, help="mix: loudness target")
    p.add_argument("--true-peak", type=float, default=-1.0, help="mix: true-peak ceiling, dBTP")
    p.add_argument(
        "--audio-backend",
        default="auto",
        help="embeddings for dist: auto (clap if here, else dsp), dsp, clap, "
        "muq_mulan, vggish, vggsound (these three need packages of their own)",
    )
    p.add_argument("--reference-audio-dir", type=Path, default=None,
                   help="reference music for the distribution distance")  # fmt: skip
    p.add_argument("--compute-map-ndcg", action="store_true", help="also mAP and nDCG")
    p.add_argument(
        "--fit-projection", action="store_true",
        help="sim and retrieval through a map from the audio embeddings to the video ones, "
        "fitted on these pairs (leave one out); works offline with --audio-backend dsp",
    )  # fmt: skip
    p.add_argument("--video-backend", default="auto",
                   help="video embeddings for --fit-projection: auto, clip, analysis")  # fmt: skip
    p.add_argument("--num-video-frames", type=int, default=8, help="frames CLIP sees (8)")
    p.add_argument("--save-embeddings", type=Path, default=None, help="write the cache (.npz)")
    p.add_argument("--load-embeddings", type=Path, default=None, help="read the cache (.npz)")
    p.add_argument(
        "--audio-cache-dir", type=Path, default=None,
        help="a folder for the embedding cache (its embeddings.npz), as the original script "
        "named it; the same as --save-embeddings FOLDER/embeddings.npz",
    )  # fmt: skip
    p.add_argument("--output-dir", type=Path, default=Path("output/eval"),
                   help="where results.json and results.csv go (default output/eval)")  # fmt: skip

    _add_batch(command, batch_mode)

    p = command("models", commands.models, "model weights: list what is here, download, verify")
    p.add_argument("action", choices=("list", "download", "verify"))
    p.add_argument(
        "names", nargs="*", metavar="NAME",
        help="models from `models list` (verify: default every one here; download: 'all' for all)",
    )  # fmt: skip
    p.add_argument("--force", action="store_true", help="download again even when present")
    return parser


def _add_batch(command: Callable[..., argparse.ArgumentParser], mode: str | None) -> None:
    from audio_creator.jobs.options import JOBS
    from audio_creator.jobs.spec import add_batch_defaults

    p = command(
        "batch", commands.batch,
        "one mode's job for every video of a folder or every row of a manifest, each row's "
        "outputs in OUTPUT_DIR/ROW_ID/; done rows are skipped when run again",
    )  # fmt: skip
    p.add_argument("--mode", required=True, metavar="{" + ",".join(JOBS) + "}",
                   help="the job to run for each row")  # fmt: skip
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", type=Path, metavar="DIR",
                        help="every video in DIR (every .txt file for tts)")  # fmt: skip
    source.add_argument(
        "--manifest", type=Path, metavar="FILE",
        help="a .csv or .jsonl file: one row per job, its columns the mode's options (and id)",
    )  # fmt: skip
    p.add_argument(
        "--output-dir", type=Path, required=True, metavar="OUT",
        help="each row's outputs go to OUT/ROW_ID/; OUT/batch_report.csv and .json",
    )  # fmt: skip
    p.add_argument("--workers", type=int, default=None,
                   help="rows at once (default: the number of cores)")  # fmt: skip
    p.add_argument(
        "--engine", default="local", metavar="{local,ray}",
        help="where rows run: local (default: processes here) or ray (pip install "
        "'audio-creator[cluster]')",
    )  # fmt: skip
    p.add_argument(
        "--ray-address", default=None, metavar="auto|HOST:PORT",
        help="--engine ray: the cluster to run on (default: a Ray started here for the run)",
    )  # fmt: skip
    p.add_argument("--force", action="store_true", help="redo rows that are done")
    p.add_argument("--max-failures", type=int, default=None, metavar="N",
                   help="start no more rows after N have failed")  # fmt: skip
    p.add_argument(
        "--retries", type=int, default=2, metavar="N",
        help="run a row again when its worker died, up to N times (default 2)",
    )  # fmt: skip
    if mode in JOBS:
        taken = {a for action in p._actions for a in action.option_strings}
        group = p.add_argument_group(f"{mode}'s options: the defaults of every row")
        add_batch_defaults(group, JOBS[mode], taken)


# The LoRA default targets (music.lora.DEFAULT_TARGETS), named here so that `--help` imports no
# model code (a test keeps it true).
DEFAULT_TARGETS = ("q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2")


def _add_training_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--manifest", type=Path, required=True, help="CSV of video_path,audio_path[,duration,text]"
    )
    p.add_argument(
        "-o", "--output", type=Path, required=True,
        help="the adapter: a folder, NAME.safetensors or NAME.pt (logs and the resume "
        "checkpoint are written beside it, NAME_loss.csv …)",
    )  # fmt: skip
    p.add_argument("--base", choices=("vidmuse", "musicgen"), default="vidmuse",
                   help="the model to adapt (default vidmuse)")  # fmt: skip
    p.add_argument("--music-model", default=None, help="its weights: a name or a folder")
    p.add_argument("--epochs", type=int, default=1, help="passes over the data (default 1)")
    p.add_argument("--rank", type=int, default=4, help="LoRA rank (default 4)")
    p.add_argument("--alpha", type=float, default=16.0, help="LoRA alpha (default 16)")
    p.add_argument("--lr", type=float, default=5e-4, help="learning rate (default 5e-4)")
    p.add_argument("--batch-size", type=int, default=1, help="examples per step (default 1)")
    p.add_argument(
        "--grad-accum", type=int, default=1, help="batches per optimiser step (default 1)"
    )
    p.add_argument(
        "--target-modules", default=",".join(DEFAULT_TARGETS),
        help="decoder layers to adapt, comma-separated names or dotted tails "
        f"(default {','.join(DEFAULT_TARGETS)}: self- and cross-attention, feed-forward)",
    )  # fmt: skip
    p.add_argument(
        "--max-seconds", type=float, default=30.0,
        help="longest stretch of an example per step (longer ones: a random crop; default 30)",
    )  # fmt: skip
    p.add_argument("--seed", type=int, default=0, help="seed of every random choice (default 0)")
    p.add_argument(
        "--cond-dropout", type=float, default=0.2,
        help="share of examples trained on the null condition, so guidance keeps working "
        "(default 0.2)",
    )  # fmt: skip
    p.add_argument(
        "--resume", action="store_true", help="carry on from the last epoch's checkpoint"
    )
    p.add_argument(
        "--precision", choices=("auto", "fp32", "bf16", "fp16"), default="auto",
        help="auto: mixed precision (bf16, else fp16) on a GPU, fp32 on the CPU",
    )  # fmt: skip
    p.add_argument("--cache-dir", type=Path, default=None,
                   help="where features are cached (default MODELS/features)")  # fmt: skip
    p.add_argument("--prompt", default=None,
                   help="musicgen: the text of pairs with no `text` column (default: the "
                   "description inference writes from the video)")  # fmt: skip


def _add_lora_scale(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--lora-scale", type=float, default=1.0,
        help="how much of the adapter: 0 the base model, 1 as trained (default 1)",
    )  # fmt: skip


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


if __name__ == "__main__":
    sys.exit(main())
