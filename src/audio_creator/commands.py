"""What each `audio-creator` command does once its arguments are parsed: check the files, call
the library, report. Like `cli.py`, this imports only the standard library at module level; each
command imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from audio_creator.errors import MediaError

if TYPE_CHECKING:
    from audio_creator.jobs import JobOptions, JobResult

logger = logging.getLogger("audio_creator.cli")


def show_config(args: argparse.Namespace) -> int:
    from audio_creator.config import Settings, describe

    print(json.dumps(describe(Settings.from_env(), args.device), indent=2))
    return 0


def probe(args: argparse.Namespace) -> int:
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


def demo_video(args: argparse.Namespace) -> int:
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


def extract_audio(args: argparse.Namespace) -> int:
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


def mux(args: argparse.Namespace) -> int:
    from audio_creator.files import check_output_path
    from audio_creator.media import mux, probe
    from audio_creator.media.mux import soundtrack_source

    probe(args.video)  # inputs first: a bad input must not leave even an empty output folder
    soundtrack = soundtrack_source(args.audio)  # a WAV is read in blocks as it is encoded
    check_output_path(args.output, inputs=[args.video, args.audio])
    result = mux(args.video, soundtrack, args.output, audio_bitrate=args.audio_bitrate * 1000)
    how = "copied" if result.video_copied else f"re-encoded to {result.video_codec}"
    logger.info("wrote %s (video %s, audio %s)", result.path, how, result.audio_codec)
    return 0


def _run_job(args: argparse.Namespace, cls: type[JobOptions]) -> JobResult:
    """Run the mode's job with the options of the command line, a progress bar on stderr."""
    from audio_creator import jobs

    bar = make_progress()
    return jobs.run(cls.from_namespace(args), progress=lambda stage, done: bar(done, stage))


def batch(args: argparse.Namespace) -> int:
    from audio_creator.batch import BatchOptions, run_batch, summary
    from audio_creator.errors import ConfigError
    from audio_creator.jobs.options import JOBS
    from audio_creator.jobs.spec import BATCH_PREFIX, check_default

    if args.mode not in JOBS:
        raise ConfigError(f"--mode must be one of {', '.join(JOBS)}, got {args.mode!r}")
    fields = {f.name: f for f in JOBS[args.mode].fields()}
    defaults = {name.removeprefix(BATCH_PREFIX): value for name, value in vars(args).items()
                if name.startswith(BATCH_PREFIX)}  # fmt: skip
    if "device" in fields and args.device is not None:
        defaults["device"] = args.device
    for name, value in defaults.items():  # refused now, not in every row
        check_default(fields[name], value)
        if isinstance(value, Path):
            defaults[name] = value.expanduser().resolve()
    options = BatchOptions(
        mode=args.mode, output_dir=args.output_dir, input_dir=args.input, manifest=args.manifest,
        defaults=defaults, workers=args.workers, engine=args.engine, force=args.force,
        max_failures=args.max_failures, retries=args.retries, ray_address=args.ray_address,
    )  # fmt: skip
    result = run_batch(options)
    print(summary(result))
    for path in result.reports:
        print(f"wrote {path}")
    return result.exit_code


def mix(args: argparse.Namespace) -> int:
    from audio_creator.jobs import MixJob

    result = _run_job(args, MixJob)
    for key, value in result.report.items():
        if key != "warnings":
            print(f"{key:<28} {value}")
    logger.info("wrote %s", result.outputs["mix"])
    return 0


def vidmuse(args: argparse.Namespace) -> int:
    from audio_creator.jobs import VidmuseJob

    result = _run_job(args, VidmuseJob)
    for key, value in result.report["summary"].items():
        print(f"{key:<16} {value}")
    scores = result.report["candidates"]
    music = [path for role, path in result.outputs.items() if role.startswith("music")]
    for index, path in enumerate(music):
        ranked = f"  (rerank {_scores(scores[index])})" if index < len(scores) else ""
        print(f"wrote {path}{ranked}")
    for role in ("video", "report"):
        if role in result.outputs:
            print(f"wrote {result.outputs[role]}")
    return 0


def _scores(candidate: dict[str, object]) -> dict[str, object]:
    return {key: value for key, value in candidate.items() if key != "file"}


def tts(args: argparse.Namespace) -> int:
    from audio_creator.jobs import TtsJob

    result = _run_job(args, TtsJob)
    report = result.report
    print(f"voice            {report['voice']}")
    if report["language"]:
        print(f"language         {report['language']}")
    print(f"sentences        {report['sentences']}")
    print(f"duration_s       {report['duration_s']:.2f}")
    print(f"wrote {result.outputs['speech']}")
    return 0


def autopipeline(args: argparse.Namespace) -> int:
    from audio_creator.jobs import AutopipelineJob

    result = _run_job(args, AutopipelineJob)
    mix = result.report["mix"]
    print(f"caption ({result.report['caption']['backend']}): {result.report['caption']['text']}")
    print(f"loudness         {mix['integrated_lufs']} LUFS, true peak {mix['true_peak_dbtp']} dBTP")
    for name, path in result.outputs.items():
        print(f"{name:<16} {path}")
    return 0


def make_progress() -> Callable[[float, str], None]:
    """The progress reporter of a long command: a bar on the terminal."""
    return _StageProgress()


class _StageProgress:
    """One line per stage on stderr; on a terminal it counts up in place."""

    def __init__(self) -> None:
        self._tty = sys.stderr.isatty()
        self._shown = ""

    def __call__(self, fraction: float, stage: str) -> None:
        if self._tty:
            end = "\n" if fraction >= 1.0 else ""
            sys.stderr.write(f"\r{stage:<10} {'#' * round(fraction * 30):<30} {fraction:4.0%}{end}")
            sys.stderr.flush()
        elif fraction >= 1.0 and stage != self._shown:
            self._shown = stage
            sys.stderr.write(f"{stage:<10} done\n")


def wavjourney(args: argparse.Namespace) -> int:
    from audio_creator.jobs import WavjourneyJob

    report = _run_job(args, WavjourneyJob).report
    mix = report["mix"]
    print(f"planner          {report['planner']} ({len(report['items'])} items)")
    print(f"duration_s       {report['duration_s']}")
    print(f"loudness         {mix['integrated_lufs']} LUFS, true peak {mix['true_peak_dbtp']} dBTP")
    for name, path in report["outputs"].items():
        print(f"{name:<16} {path}")
    return 0


def serve(args: argparse.Namespace) -> int:
    from audio_creator.errors import BackendUnavailable, ConfigError
    from audio_creator.web.api import create_app, settings_from_env

    for origin in args.cors_origin:
        if origin == "*" or not origin.startswith(("http://", "https://")):
            raise ConfigError(
                f"--cors-origin takes an origin like https://example.org, not {origin!r}"
            )
    settings = settings_from_env(
        insecure=args.insecure, allowed_hosts=tuple(args.allowed_hosts),
        cors_origins=tuple(args.cors_origin),
    )  # fmt: skip
    try:
        import uvicorn
    except ImportError as exc:
        raise BackendUnavailable("the server needs: pip install 'audio-creator[web]'") from exc
    app = create_app(settings, announce=False)
    shown = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    shown = f"[{shown}]" if ":" in shown else shown
    url = f"http://{shown}:{args.port}/"
    if app.state.token is None:
        print(f"Audio Creator at {url} with no token: anyone who reaches it can use it", flush=True)
    else:
        given = "" if settings.token else f"?token={app.state.token}"
        print(f"Audio Creator at {url}{given}", flush=True)
        if not settings.token:
            print(f"API clients send 'Authorization: Bearer {app.state.token}'", flush=True)
    uvicorn.run(app, host=args.host, port=args.port)
    return 0


def voices(args: argparse.Namespace) -> int:
    from audio_creator.speech import available_engines
    from audio_creator.speech.piper_voice import BUNDLED_VOICE, bundled_voice
    from audio_creator.speech.voices import installed, voices_folder

    bundled = [f"{BUNDLED_VOICE} (bundled)"] if bundled_voice() else []
    found = {
        "piper": bundled + installed("piper", ".onnx"),
        "kokoro": installed("kokoro", ".onnx"),
        "coqui": installed("coqui", ""),
    }
    for name, lack in sorted(available_engines().items()):
        if lack is not None:
            print(f"{name:8s} unavailable: {lack}")
            continue
        if name not in found:
            print(f"{name:8s} ready")
            continue
        state = "ready" if found[name] else "installed, but no voice yet"
        print(f"{name:8s} {state}; voices: {', '.join(found[name]) or 'none'}")
        print(f"{'':8s} (its folder: {voices_folder(name)})")
    return 0


def soundfonts(args: argparse.Namespace) -> int:
    from audio_creator.music.procedural.soundfonts import (
        best_soundfont,
        found,
        programs_used,
        search_folders,
    )

    chosen = best_soundfont().resolve()
    wanted = len(programs_used())
    for font in found():
        mark = "*" if font.path.resolve() == chosen else " "
        lacks = font.missing_programs()
        fit = (f"all {wanted} programs the styles play" if not lacks
               else f"lacks programs {', '.join(map(str, lacks))}")  # fmt: skip
        quiet = sorted(p for p in font.silent if p >= 0)
        if quiet:
            fit += f" (silent here: {', '.join(map(str, quiet))}; the bundled font plays them)"
        drums = "drums" if font.has_drums and -1 not in font.silent else "no drum kit"
        origin = " (bundled)" if font.bundled else ""
        print(f"{mark} {font.name}{origin}: {font.size_bytes / 2**20:.1f} MB, {fit}, {drums}")
        print(f"  {font.path}")
    print("* renders the music when no --soundfont is given")
    print("looked in: " + ", ".join(str(f) for f in search_folders()))
    return 0


def manifest(args: argparse.Namespace) -> int:
    from audio_creator.errors import ConfigError
    from audio_creator.pairs import find_pairs, write_manifest

    pairs, problems = find_pairs(args.video_dir)
    for problem in problems:
        logger.warning("%s", problem)
    if not pairs:
        raise ConfigError(f"no video in {args.video_dir} has a soundtrack that decodes beside it")
    path = write_manifest(pairs, args.output)
    hours = sum(p.duration_s for p in pairs) / 3600
    print(f"wrote {path}: {len(pairs)} pairs, {hours:.2f} h; {len(problems)} problem(s) reported")
    return 0


def train_lora(args: argparse.Namespace) -> int:
    from audio_creator.train.lora import TrainOptions, train

    targets = tuple(t.strip() for t in args.target_modules.split(",") if t.strip())
    options = TrainOptions(
        manifest=args.manifest, output=args.output, base=args.base,
        music_model=args.music_model, epochs=args.epochs, rank=args.rank, alpha=args.alpha,
        lr=args.lr, batch_size=args.batch_size, grad_accum=args.grad_accum,
        target_modules=targets, max_seconds=args.max_seconds, seed=args.seed,
        resume=args.resume, device=args.device, precision=args.precision,
        cache_dir=args.cache_dir, prompt=args.prompt, cond_dropout=args.cond_dropout,
    )  # fmt: skip
    result = train(options)
    trained = result.metadata["training"]
    print(f"wrote {result.adapter}: {trained['steps']} steps, loss "
          f"{trained['first_loss']:.3f} → {trained['final_loss']:.3f}")  # fmt: skip
    for path in result.logs:
        print(f"wrote {path}")
    return 0


def merge(args: argparse.Namespace) -> int:
    from audio_creator.train.merge import bake

    print(f"wrote {bake(args.lora, args.output, args.music_model, args.lora_scale)}")
    return 0


def evaluate(args: argparse.Namespace) -> int:
    from audio_creator.eval.run import EvalOptions, Single, table
    from audio_creator.eval.run import evaluate as run

    metrics = tuple(m.strip() for m in args.metrics.split(",") if m.strip())
    single = None
    if args.video is not None:
        single = Single(video=args.video, lora=args.lora_path, skip_base=args.skip_base,
                        rerank=args.rerank, duration_s=args.duration,
                        music_model=args.music_model)  # fmt: skip
    if args.no_single_metrics:
        metrics = ("sim",)
    if metrics == ("auto",):
        from audio_creator.music import semantic

        metrics = ("rhythm", "mix") + (("dist",) if args.reference_audio_dir else ())
        bridged = args.fit_projection or semantic.missing() is None
        metrics += (("sim",) if single else ("sim", "retrieval")) if bridged else ()
    if single is not None:
        metrics = _one_video_metrics(metrics)
    if args.audio_cache_dir is not None and args.save_embeddings is None:
        args.save_embeddings = args.audio_cache_dir / "embeddings.npz"  # the original's flag
    save = args.save_embeddings
    load = args.load_embeddings or save  # saving also reuses what the file already holds
    options = EvalOptions(
        manifest=args.manifest, output_dir=args.output_dir, metrics=metrics,
        audio_backend=args.audio_backend, reference_audio_dir=args.reference_audio_dir,
        compute_map_ndcg=args.compute_map_ndcg, load_embeddings=load, save_embeddings=save,
        device=args.device, target_lufs=args.target_lufs, true_peak_dbtp=args.true_peak,
        fit_projection=args.fit_projection, video_backend=args.video_backend,
        num_video_frames=args.num_video_frames, single=single, fad_backend=args.fad_backend,
    )  # fmt: skip
    from audio_creator.jobs.eval_music import make_music

    result = run(options, make_music)
    print(table(result))
    for path in result.outputs:
        print(f"wrote {path}")
    return 0


def _one_video_metrics(metrics: tuple[str, ...]) -> tuple[str, ...]:
    """The metrics that mean something for one video: retrieval and dist compare many clips, so
    they are left out, saying so; none left is an error."""
    from audio_creator.errors import ConfigError

    many = [m for m in metrics if m in ("retrieval", "dist")]
    kept = tuple(m for m in metrics if m not in many)
    if many and not kept:
        raise ConfigError(f"{', '.join(many)} compare many clips: give a --manifest")
    if many:
        logger.warning(
            "%s compare many clips: left out for one video (give a --manifest to run them); "
            "measuring %s", ", ".join(many), ", ".join(kept),
        )  # fmt: skip
    return kept


def models(args: argparse.Namespace) -> int:
    from audio_creator import models as catalogue
    from audio_creator.errors import ConfigError

    names = list(catalogue.CATALOGUE) if args.names == ["all"] else args.names
    for name in names:
        catalogue.entry(name)  # unknown names are refused before anything happens
    if args.action == "list":
        for name in names or catalogue.CATALOGUE:
            state = "here   " if catalogue.is_present(name) else "missing"
            print(f"{name:28s} {state} {catalogue.entry(name).about}")
        print(f"models folder: {catalogue.models_dir()} (AUDIO_CREATOR_MODELS)")
        return 0
    if args.action == "download":
        if not names:
            raise ConfigError("name the models to download (or 'all'); `models list` shows them")
        for name in names:
            print(f"{name}: ready in {catalogue.download(name, force=args.force)}")
        return 0
    present = names or [n for n in catalogue.CATALOGUE if catalogue.is_present(n)]
    failed = False
    for name in present:
        problems = catalogue.verify(name)
        failed = failed or any("differs" in p or "missing" in p for p in problems)
        print(f"{name}: {'; '.join(problems) or 'every file matches its recorded SHA-256'}")
    if failed:
        raise MediaError("some model files are not what was downloaded: download them again")
    return 0
