"""Running a job from its options: what the command line, the web and a batch all call.

Each `_run_*` checks what it can before any work, runs the mode and returns a `JobResult`: the
files written, by role, and the report. Printing is the caller's business.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audio_creator.errors import AudioCreatorError, ConfigError, MediaError
from audio_creator.jobs.options import (
    AutopipelineJob,
    MixJob,
    MusicSampling,
    TtsJob,
    VidmuseJob,
    WavjourneyJob,
)
from audio_creator.jobs.spec import JobOptions

if TYPE_CHECKING:
    from audio_creator.music.backend import Sampling

Progress = Callable[[str, float], None]  # (stage, fraction done of it)
_Inner = Callable[[float, str], None]  # the library's own order: (fraction, stage)

MIN_MUSIC_S = 1.0  # music to loop under a longer programme is at least this long…
MIN_TRACK_S = 0.05  # …and any track of the mix command at least this


class Cancelled(AudioCreatorError):
    """The caller's `cancel` event was set: the job stopped, leaving nothing half-written."""

    exit_code = 130
    kind = "cancelled"


@dataclass(frozen=True)
class JobResult:
    """What a job wrote (`outputs`, by role: "mix", "music", "video", "report", …) and its report
    (the autopipeline's and wavjourney's as written; a summary for the other modes)."""

    mode: str
    outputs: dict[str, Path]
    report: dict[str, Any] = field(default_factory=dict)


def run(
    options: JobOptions,
    *,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> JobResult:
    """Run the job `options` describe.

    `progress(stage, fraction)` hears how far each stage is; setting `cancel` stops the job at
    its next progress step (raising `Cancelled`), every staged file removed.

    Raises:
        ConfigError / MediaError: bad options or input (the command line's exit 2).
        BackendUnavailable: a backend asked for cannot run here (exit 3).
        Cancelled: `cancel` was set.
    """
    inner = _reporter(progress, cancel)
    if isinstance(options, AutopipelineJob):
        return _autopipeline(options, inner)
    if isinstance(options, VidmuseJob):
        return _vidmuse(options, inner)
    if isinstance(options, TtsJob):
        return _tts(options, inner)
    if isinstance(options, MixJob):
        return _mix(options, inner)
    if isinstance(options, WavjourneyJob):
        return _wavjourney(options, inner)
    raise ConfigError(f"no job runs {type(options).__name__}")


def _reporter(progress: Progress | None, cancel: threading.Event | None) -> _Inner:
    def report(fraction: float, stage: str) -> None:
        if cancel is not None and cancel.is_set():
            raise Cancelled("the job was cancelled; nothing half-written is left")
        if progress is not None:
            progress(stage, fraction)

    return report


def sampling_of(options: MusicSampling) -> Sampling:
    """The neural backends' sampling options."""
    from audio_creator.music.backend import Sampling

    return Sampling(
        top_k=options.top_k, top_p=options.top_p, temperature=options.temperature,
        cfg_coef=options.cfg_coef,
    )  # fmt: skip


def merged_video_path(
    options: VidmuseJob | AutopipelineJob | WavjourneyJob, suffix: str = ".mp4"
) -> Path | None:
    """Where the video with the soundtrack goes: `merged_video_path`, else with `merge_video`
    the output's name with `suffix`."""
    if options.merged_video_path is not None:
        return options.merged_video_path
    return options.output.with_suffix(suffix) if options.merge_video else None


def _read_text(path: Path, what: str) -> str:
    from audio_creator.files import check_input_file

    source = check_input_file(path, what=what)
    try:
        return source.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise MediaError(f"{source} is not UTF-8 text: {exc}") from exc
    except OSError as exc:
        raise MediaError(f"cannot read {source}: {exc}") from exc


def _autopipeline(options: AutopipelineJob, progress: _Inner) -> JobResult:
    from audio_creator.jobs.pipeline import PipelineOptions, run_pipeline

    narration = options.narration
    if options.narration_file is not None:
        narration = _read_text(options.narration_file, "narration file")
    backend = options.caption_backend
    if narration is not None and backend == "auto":
        backend = "none"  # a script of one's own is the narration
    made = run_pipeline(
        PipelineOptions(
            video=options.video, output=options.output, caption_backend=backend,
            caption_max_len=options.caption_max_len, caption_frames=options.caption_frames,
            narration=narration, llm_model=options.llm_model, api_key=options.api_key,
            music_backend=options.backend, style=options.style, prompt=options.prompt,
            seed=options.seed, rerank=options.rerank, rerank_topk=options.rerank_topk,
            lora=options.lora, lora_scale=options.lora_scale, tts_engine=options.engine,
            voice=options.voice, speaker=options.speaker, language=options.language,
            speed=options.speed, ducking_db=options.ducking_db, target_lufs=options.target_lufs,
            true_peak_dbtp=options.true_peak, merged_video=merged_video_path(options),
            device=options.device, music_model=options.music_model,
            sampling=sampling_of(options),
        ),
        progress=progress,
    )  # fmt: skip
    return JobResult("autopipeline", dict(made.outputs), made.report)


def _vidmuse(options: VidmuseJob, progress: _Inner) -> JobResult:
    from audio_creator.files import atomic_output, check_output_path
    from audio_creator.jobs.music_for_video import VidmuseOptions, run_vidmuse

    if options.report is not None:
        if options.report.suffix.lower() != ".json":
            raise ConfigError(f"the report is JSON; give a .json file, not {options.report.name}")
        check_output_path(options.report, inputs=[options.video])
    made = run_vidmuse(
        VidmuseOptions(
            video=options.video, output=options.output, duration_s=options.duration,
            backend=options.backend, style=options.style, prompt=options.prompt,
            seed=options.seed, rerank=options.rerank, rerank_topk=options.rerank_topk,
            soundfont=options.soundfont, lora=options.lora, lora_scale=options.lora_scale,
            midi_out=options.midi_out,
            merged_video=merged_video_path(options, options.video.suffix or ".mp4"),
            target_lufs=options.target_lufs, device=options.device,
            music_model=options.music_model, sampling=sampling_of(options),
        ),
        progress=progress,
    )  # fmt: skip
    outputs = {"music" if k == 0 else f"music.{k + 1}": p for k, p in enumerate(made.outputs)}
    if made.merged_video is not None:
        outputs["video"] = made.merged_video
    if options.midi_out is not None:
        outputs["midi"] = options.midi_out
    report = {
        "backend": made.backend, "summary": made.summary,
        "candidates": [{"file": path.name, **scores}
                       for path, scores in zip(made.outputs, made.scores, strict=False)],
    }  # fmt: skip
    if options.report is not None:
        with atomic_output(options.report) as tmp:
            tmp.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
        outputs["report"] = options.report
    return JobResult("vidmuse", outputs, report)


def _tts(options: TtsJob, progress: _Inner) -> JobResult:
    from audio_creator.files import check_output_path
    from audio_creator.speech import SpeechOptions, write_srt
    from audio_creator.speech.engine import known_engine
    from audio_creator.speech.narrate import choose_voice, write_narration
    from audio_creator.speech.text import sentences

    # Everything that can be refused is refused before any folder is made or voice loaded.
    if options.output.suffix.lower() != ".wav":
        raise ConfigError(
            f"speech is written as WAV; give a .wav output, not {options.output.name}"
        )
    if options.subtitles is not None and options.subtitles.suffix.lower() != ".srt":
        raise ConfigError(
            f"subtitles are written as SubRip; give a .srt file, not {options.subtitles.name}"
        )
    low, high = TtsJob.bounds("sample_rate")
    if options.sample_rate is not None and not low <= options.sample_rate <= high:  # type: ignore[operator]
        raise ConfigError(f"--sample-rate must be {low:g}–{high:g} Hz, got {options.sample_rate}")
    speech = SpeechOptions(
        speed=options.speed, language=options.language, speaker=options.speaker,
        sentence_pause_s=options.sentence_pause, paragraph_pause_s=options.paragraph_pause,
        normalize=not options.as_written,
    )  # fmt: skip
    known_engine(options.engine)
    text, inputs = options.text or "", []
    if options.text_file is not None:
        text = _read_text(options.text_file, "text file")
        inputs.append(options.text_file)
    pieces = sentences(text)
    # A voice for the language asked, else for the text's script: refused before any file is made.
    voice = {"voice": options.voice} if options.voice else {}
    engine, speech = choose_voice(text, options.engine, speech, **voice)
    outputs = [options.output] + ([options.subtitles] if options.subtitles else [])
    if len({p.expanduser().resolve() for p in outputs}) != len(outputs):
        raise ConfigError("the subtitles and the speech need different file names")
    for path in outputs:
        check_output_path(path, inputs=inputs)
    rate = engine.sample_rate if options.sample_rate is None else options.sample_rate
    narration = write_narration(pieces, engine, options.output, speech, rate, progress=progress)
    written = {"speech": narration.path}
    if options.subtitles is not None:
        try:
            write_srt(narration.sentences, options.subtitles)
        except BaseException:
            options.output.unlink(missing_ok=True)
            raise
        written["subtitles"] = options.subtitles
    report = {
        "voice": narration.voice, "language": narration.language,
        "sentences": len(narration.sentences), "duration_s": round(narration.duration_s, 2),
    }  # fmt: skip
    return JobResult("tts", written, report)


def _mix(options: MixJob, progress: _Inner) -> JobResult:
    from audio_creator.audio_source import open_audio
    from audio_creator.files import atomic_output, check_output_path
    from audio_creator.mix.ducking import DuckingOptions
    from audio_creator.mix.mixer import MixOptions, Track, plan_mix, render_to_file

    if options.output.suffix.lower() != ".wav":
        raise ConfigError(
            f"the mix is written as WAV; give an output ending in .wav, not {options.output.name}"
        )
    mix_options = MixOptions(
        target_lufs=options.target_lufs, true_peak_dbtp=options.true_peak,
        sample_rate=options.sample_rate, channels=options.channels,
        music_volume=options.music_volume, speech_volume=options.speech_volume,
        ducking=DuckingOptions(
            depth_db=options.ducking_db, attack_s=options.duck_attack,
            release_s=options.duck_release, hold_s=options.duck_hold,
        ),
        speech_over_music_lu=options.speech_over_music, music_fit=options.music_fit,
        crossfade_s=options.crossfade, fade_in_s=options.fade_in, fade_out_s=options.fade_out,
        duration_s=options.duration,
    )  # fmt: skip
    music_specs = [track_spec(text) for text in options.music]
    speech_specs = [track_spec(text) for text in options.speech]
    if not music_specs and not speech_specs:
        raise ConfigError("nothing to mix: give --music and/or --speech")
    inputs = [path for path, _ in music_specs + speech_specs]
    for out in [options.output] + ([options.report] if options.report else []):
        check_output_path(out, inputs=inputs)
    # WAV/FLAC/OGG at the output rate are read from disk as the mix goes; the rest is decoded.
    rate = mix_options.sample_rate
    music = [Track(open_audio(path, rate), offset) for path, offset in music_specs]
    speech = [Track(open_audio(path, rate), offset) for path, offset in speech_specs]
    music_least = (MIN_MUSIC_S, "to loop as music") if mix_options.music_fit == "loop" else (
        MIN_TRACK_S, "to mix"
    )  # fmt: skip
    for specs, tracks, (least, what) in (
        (music_specs, music, music_least), (speech_specs, speech, (MIN_TRACK_S, "to mix")),
    ):  # fmt: skip
        for (path, _), track in zip(specs, tracks, strict=True):
            seconds = track.audio.duration_s
            if seconds < least:  # a few samples: nothing to hear; a loop of them takes ages
                raise ConfigError(
                    f"{path.name} is {seconds:.4g} s long: too short {what} (at least {least:g} s)"
                )
    progress(0.0, "measuring")  # pass 1: the stems' loudness and where the speech is
    plan = plan_mix(music, speech, mix_options)
    progress(1.0, "measuring")
    progress(0.0, "rendering")  # passes 2 and 3: ducked, mixed, levelled, limited
    made = render_to_file(plan, mix_options, options.output, bit_depth=options.bit_depth).report
    progress(1.0, "rendering")
    report = asdict(made)
    outputs = {"mix": options.output}
    if options.report:
        with atomic_output(options.report) as tmp:
            tmp.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        outputs["report"] = options.report
    return JobResult("mix", outputs, report)


def track_spec(text: str) -> tuple[Path, float]:
    """ "music.wav@12.5" → (music.wav, 12.5); a plain path starts at 0."""
    path, sep, offset = text.rpartition("@")
    if sep and path:
        try:
            return Path(path), float(offset)
        except ValueError:
            pass  # an "@" that is part of the file name
    if sep and not path:
        raise ConfigError(f"bad track {text!r}: expected FILE or FILE@SECONDS")
    return Path(text), 0.0


def _wavjourney(options: WavjourneyJob, progress: _Inner) -> JobResult:
    from audio_creator.jobs.audio_script import WavJourneyOptions, run_wavjourney

    report = run_wavjourney(
        WavJourneyOptions(
            output=options.output, instruction=options.instruction, script=options.script,
            video=options.video, merged_video=merged_video_path(options),
            planner=options.planner, llm_model=options.llm_model, api_key=options.api_key,
            target_lufs=options.target_lufs, true_peak_dbtp=options.true_peak,
            ducking_db=options.ducking_db, seed=options.seed,
        ),
        progress=progress,
    )  # fmt: skip
    return JobResult("wavjourney", {k: Path(v) for k, v in report["outputs"].items()}, report)
