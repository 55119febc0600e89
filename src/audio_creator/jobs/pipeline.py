"""The autopipeline: a video in; its music, narration, mix, subtitles and report out.

probe and analyse the video once → caption (the narration script) → music, with the narration
spoken beside it (`narration`) → the sentences placed on the video's timeline → mix (music and
speech handed over in memory) → mux, with the timeline picture drawn beside it. Every stage
shares the one probe and the one analysis. Outputs are named after
the output WAV's stem, as the original project named them: `<stem>_caption.txt`,
`<stem>_music.wav`, `<stem>_narr.wav` (on the video's timeline), `<stem>.wav` (the mix),
`<stem>.mp4` (with --merge-video), and `<stem>_narr.srt`, `<stem>_report.json` and
`<stem>_timeline.png` (one picture of the whole soundtrack).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from audio_creator.analysis.video import VideoAnalysis, analyse_video
from audio_creator.audio import Audio
from audio_creator.audio_source import AudioFile
from audio_creator.caption import Caption, describe_video
from audio_creator.caption.offline import shot_starts
from audio_creator.errors import AudioCreatorError, ConfigError, require_finite
from audio_creator.files import StagedOutputs, atomic_output, check_output_path
from audio_creator.jobs import narration, placement
from audio_creator.jobs.timeline_picture import (
    THUMBNAIL_SHORT_SIDE,
    TimelineData,
    draw_timeline,
    thumbnail_times,
)
from audio_creator.media.frames import Snapshots
from audio_creator.media.probe import VideoInfo, probe
from audio_creator.mix.ducking import FRAME_S
from audio_creator.music.backend import Sampling

if TYPE_CHECKING:
    from audio_creator.mix.mixer import RenderedMix

logger = logging.getLogger(__name__)
Progress = Callable[[float, str], None]

CAPTION_BACKENDS = ("auto", "offline", "openai", "none")
REPORT_SCHEMA = 1  # bumped when a field of the report changes meaning
ENCODER_HEADROOM_DB = 0.5  # under the ceiling, for a lossy encoder's overshoot


@dataclass(frozen=True)
class PipelineOptions:
    """What the autopipeline makes, and how."""

    video: Path
    output: Path  # the mix, WAV; the other outputs are named after its stem
    caption_backend: str = "auto"
    caption_max_len: int = 60  # words
    caption_frames: int = 4  # frames a vision captioner sees
    narration: str | None = None  # the user's own script (caption backend "none")
    llm_model: str | None = None  # the vision model; None: OPENAI_MODEL, else gpt-4o
    api_key: str | None = field(default=None, repr=False)  # None: OPENAI_API_KEY
    music_backend: str = "auto"
    style: str | None = None
    prompt: str | None = None
    seed: int = 0
    rerank: int = 1
    rerank_topk: int = 1  # music candidates kept: STEM_music.wav, STEM_music.2.wav, …
    lora: Path | None = None
    lora_scale: float = 1.0
    tts_engine: str = "auto"
    voice: Path | None = None
    speaker: str | None = None
    language: str | None = None
    speed: float = 1.0
    ducking_db: float = 8.0
    target_lufs: float = -16.0
    true_peak_dbtp: float = -1.0
    merged_video: Path | None = None  # also write the video with the mix as its soundtrack
    device: str = "auto"  # where neural models run
    music_model: str | None = None  # a neural music backend's weights; None: its default
    sampling: Sampling = field(default_factory=Sampling)  # how neural music is sampled

    def __post_init__(self) -> None:
        require_finite(speed=self.speed, ducking_db=self.ducking_db, target_lufs=self.target_lufs)
        if self.caption_backend not in CAPTION_BACKENDS:
            raise ConfigError(
                f"--caption-backend must be one of {', '.join(CAPTION_BACKENDS)}, "
                f"got {self.caption_backend!r}"
            )
        if self.narration is not None and not self.narration.strip():
            raise ConfigError(
                "the narration given is empty: give the words to speak, or leave --narration out "
                "to have the video described"
            )
        if self.caption_backend == "none" and not (self.narration or "").strip():
            raise ConfigError("--caption-backend none needs --narration TEXT or --narration-file")
        if not 5 <= self.caption_max_len <= 1000:
            raise ConfigError(f"--caption-max-len must be 5–1000 words, got {self.caption_max_len}")
        if not 1 <= self.caption_frames <= 32:
            raise ConfigError(f"--caption-frames must be 1–32, got {self.caption_frames}")
        if self.narration is not None and self.caption_backend not in ("none", "auto"):
            raise ConfigError(
                "--narration is your own script: it goes with --caption-backend none (or auto), "
                f"not {self.caption_backend}"
            )
        # The options of later stages, checked now rather than after minutes of work.
        from audio_creator.mix.ducking import DuckingOptions
        from audio_creator.speech import SpeechOptions

        SpeechOptions(speed=self.speed)
        DuckingOptions(depth_db=self.ducking_db)
        if not -70.0 <= self.target_lufs <= -5.0:
            raise ConfigError(f"--target-lufs must be −70 to −5 LUFS, got {self.target_lufs}")
        if not -20.0 <= self.true_peak_dbtp <= 0.0:
            raise ConfigError(f"--true-peak must be −20 to 0 dBTP, got {self.true_peak_dbtp}")
        from audio_creator.jobs.options import MAX_RERANK

        if not 1 <= self.rerank <= MAX_RERANK or self.seed < 0:
            raise ConfigError(f"--rerank must be 1–{MAX_RERANK} and --seed ≥ 0")
        if not 1 <= self.rerank_topk <= self.rerank:
            raise ConfigError(
                f"--rerank-topk must be between 1 and --rerank ({self.rerank}), "
                f"got {self.rerank_topk}"
            )
        if self.output.suffix.lower() != ".wav":
            raise ConfigError(
                f"the mix is written as WAV; give a .wav output, not {self.output.name}"
            )

    def path(self, suffix: str) -> Path:
        """An output beside the mix: `<stem><suffix>`."""
        return self.output.with_name(self.output.stem + suffix)


@dataclass
class PipelineResult:
    """What was written, and the report that describes it."""

    outputs: dict[str, Path]
    report: dict[str, Any] = field(default_factory=dict)


def run_pipeline(options: PipelineOptions, progress: Progress | None = None) -> PipelineResult:
    """Make the soundtrack of `options.video` (see the module docstring).

    Every output is staged beside its final name and renamed into place only when the whole run
    has succeeded: a failed run leaves no new file, and the outputs of an earlier run as they were.

    Raises:
        ConfigError / MediaError: bad input, refused before any work starts.
        BackendUnavailable: a backend that was asked for by name cannot run here.
    """
    outputs = _outputs(options)
    info = probe(options.video)
    if info.duration_s < 1.0:
        raise ConfigError(f"the video is {info.duration_s:.2f} s long; it needs at least 1 s")
    if options.merged_video is not None:
        _check_container(options.merged_video)
    for path in outputs.values():
        check_output_path(path, inputs=[info.path])
    # The user's own narration finds its voice now: one in a script no voice here reads is
    # refused before minutes of work, not read out as letter names (or dropped) at the end.
    own_voice = None
    if options.narration:
        from audio_creator.speech.text import clean

        clean(options.narration)  # nothing to speak (emoji, symbols only) is refused now
        own_voice = narration.choose_voice(options, options.narration)
    report: dict[str, Any] = {"schema": REPORT_SCHEMA, "video": _video_facts(info)}
    timer = _StageTimer(progress)
    staging = StagedOutputs()
    at = {name: staging.stage(path) for name, path in outputs.items()}  # where each is written
    # Two helper threads work beside the main one. One speaks the narration: the user's own
    # words from the start, while the video decodes; a description of the video as soon as it
    # is written, while the music is composed and rendered. The other draws the timeline while
    # the main thread muxes.
    helpers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="pipeline")
    stop = threading.Event()  # set when the run fails: a helper stops at its next step
    started = time.perf_counter()
    fastest = min(2.0, options.speed * placement.MAX_SPEEDUP)

    def speak(text: str) -> narration.Spoken:
        with timer("speech"):
            scratch = staging.scratch(outputs["narration"], ".raw.wav")
            return narration.synthesise(
                options, text, info.duration_s, scratch, own_voice, timer.progress("speech", stop)
            )

    try:
        speaking = None
        if options.caption_backend == "none":  # the user's own words: spoken while it decodes
            own = narration.what_can_fit(
                (options.narration or "").strip(), info.duration_s, fastest
            )
            speaking = helpers.submit(speak, own)
        with timer("analysis"):  # the timeline's thumbnails are taken on the way
            thumbnails = Snapshots(thumbnail_times(info.duration_s), THUMBNAIL_SHORT_SIDE)
            analysis = analyse_video(info, timer.progress("analysis"), thumbnails)
        report["analysis"] = _analysis_facts(analysis)
        with timer("caption"):
            caption = _caption(options, info, analysis)
            _write_text(at["caption"], caption.text + "\n")
        report["caption"] = asdict(caption)
        if speaking is None:  # the description is spoken while the music is made
            speaking = helpers.submit(
                speak, narration.what_can_fit(caption.text, analysis.duration_s, fastest)
            )
        with timer("music"):
            kept = ["music", *(f"music.{k}" for k in _more(options.rerank_topk))]
            music = _music(
                options, info, analysis, [at[key] for key in kept],
                [outputs[key].name for key in kept], timer,
            )  # fmt: skip
        report["music"] = music.facts
        speech = narration.place(options, speaking.result(), analysis)
        report["speech"] = speech.facts
        narration.write_on_timeline(speech.pieces, analysis.duration_s, at["narration"])
        from audio_creator.speech import write_srt

        write_srt(speech.subtitles, at["subtitles"])
        with timer("mix"):
            mixed, duck_db = _mix(
                options, music.audio, speech.pieces, analysis.duration_s, at["mix"]
            )
        report["mix"] = asdict(mixed.report)

        def draw() -> Path:
            with timer("timeline"):
                pictures = thumbnails.frames
                spans = [(s.start_s, s.end_s) for s in speech.subtitles]
                data = TimelineData(
                    info.path, analysis, pictures, music.beats_s, spans, duck_db, FRAME_S,
                    *mixed.short_term, options.target_lufs,
                )  # fmt: skip
                return draw_timeline(data, at["timeline"])

        timeline = helpers.submit(draw)
        if options.merged_video is not None:
            with timer("mux"):
                report["mux"] = _mux_within_ceiling(info, at["mix"], at["video"], options)
        timeline.result()
        report["seconds_per_stage"] = timer.seconds
        report["seconds"] = round(time.perf_counter() - started, 3)  # the stages overlap
        _write_text(at["report"], json.dumps(report, indent=2) + "\n")
        staging.commit()
    except BaseException:
        stop.set()
        helpers.shutdown(wait=True, cancel_futures=True)  # nothing of ours is written after this
        staging.discard()
        raise
    helpers.shutdown()
    return PipelineResult(outputs, report)


def _more(kept: int) -> range:
    """The ranks of the kept music candidates after the best (2, 3, …)."""
    return range(2, kept + 1)


def _outputs(options: PipelineOptions) -> dict[str, Path]:
    outputs = {
        "caption": options.path("_caption.txt"),
        "music": options.path("_music.wav"),
        **{f"music.{k}": options.path(f"_music.{k}.wav") for k in _more(options.rerank_topk)},
        "narration": options.path("_narr.wav"),
        "subtitles": options.path("_narr.srt"),
        "mix": options.output,
        "report": options.path("_report.json"),
        "timeline": options.path("_timeline.png"),
    }
    if options.merged_video is not None:
        outputs["video"] = options.merged_video
    every = list(outputs.values())
    if len({p.expanduser().resolve() for p in every}) != len(every):
        raise ConfigError("two outputs would be the same file: give the merged video its own name")
    return outputs


def _caption(options: PipelineOptions, info: VideoInfo, analysis: VideoAnalysis) -> Caption:
    """The narration script: the user's, the vision model's, or the offline description.

    `auto` asks the vision model when a key is configured and falls back to the offline
    description, with a warning, when that fails; `openai` asked for by name fails loudly.
    """
    from audio_creator.caption.vision import caption_with_vision
    from audio_creator.llm import LLMSettings, key_configured

    backend = options.caption_backend
    if backend == "none":
        return Caption((options.narration or "").strip(), "none", "the user's own narration")
    settings = LLMSettings(model=options.llm_model, api_key=options.api_key)
    if backend == "openai" or (backend == "auto" and key_configured(settings)):
        try:
            return caption_with_vision(
                info, analysis, max_words=options.caption_max_len,
                frames=options.caption_frames, settings=settings,
            )  # fmt: skip
        except AudioCreatorError as exc:
            if backend == "openai":
                raise
            logger.warning("the vision captioner failed (%s); describing the video offline", exc)
            reason = f"auto: the vision captioner failed ({exc})"
    else:
        reason = "auto: no API key is configured" if backend == "auto" else "asked for"
    # About 2.2 words a second fit the video when spoken, with room to breathe.
    words = min(options.caption_max_len, max(5, int(analysis.duration_s * 2.2)))
    caption = describe_video(analysis, words)
    return Caption(caption.text, "offline", reason)


@dataclass(frozen=True)
class _Music:
    facts: dict[str, Any]  # for the report
    audio: Audio | AudioFile  # the best piece, for the mix: in memory, or its file when long
    beats_s: tuple[float, ...]


def _music(
    options: PipelineOptions, info: VideoInfo, analysis: VideoAnalysis, paths: list[Path],
    names: list[str], timer: _StageTimer,
) -> _Music:  # fmt: skip
    """The music: written to `paths` (best first), reported under their final `names`."""
    from audio_creator.jobs.music_for_video import VidmuseOptions, run_vidmuse

    music = run_vidmuse(
        VidmuseOptions(
            video=options.video,
            output=paths[0],
            rerank_topk=options.rerank_topk,
            candidate_outputs=tuple(paths[1:]),
            backend=options.music_backend,
            style=options.style,
            prompt=options.prompt,
            seed=options.seed,
            rerank=options.rerank,
            lora=options.lora,
            lora_scale=options.lora_scale,
            device=options.device,
            music_model=options.music_model,
            sampling=options.sampling,
        ),
        timer.progress("music"),
        analysis=analysis,
        info=info,
    )
    facts = {
        "backend": music.backend,
        "asked": options.music_backend,
        "summary": music.summary,
        "candidates": [
            {"file": name, **scores} for name, scores in zip(names, music.scores, strict=False)
        ],
    }
    assert music.music is not None  # run_vidmuse always hands the best piece back
    return _Music(facts, music.music, music.beats_s)


def _mix(
    options: PipelineOptions,
    music: Audio | AudioFile,
    speech: list[tuple[float, Audio]],
    duration_s: float,
    out: Path,
) -> tuple[RenderedMix, npt.NDArray[np.float64]]:
    """The mix (its report and loudness curve), and the music's ducking gain (dB per 10 ms),
    for the timeline."""
    from audio_creator.mix.ducking import DuckingOptions
    from audio_creator.mix.mixer import MixOptions, Track, plan_mix, render_to_file

    # Into a video, the sound is AAC-encoded, and the encoder's overshoot lifts true peaks by a
    # few tenths of a dB: the mix leaves it that room, and the mux checks what it got.
    headroom = ENCODER_HEADROOM_DB if options.merged_video is not None else 0.0
    mix_options = MixOptions(
        target_lufs=options.target_lufs,
        true_peak_dbtp=options.true_peak_dbtp - headroom,
        # Pauses between sentences shorter than 1.2 s keep the music down, so it does not pump.
        ducking=DuckingOptions(depth_db=options.ducking_db, hold_s=1.2),
        music_fit="pad",
        duration_s=duration_s,
    )
    tracks = [Track(clip, start) for start, clip in speech]
    plan = plan_mix([Track(music)], tracks, mix_options)
    return render_to_file(plan, mix_options, out), plan.duck_db


def _mux_within_ceiling(
    video: VideoInfo, mix: Path, merged: Path, options: PipelineOptions
) -> dict[str, Any]:
    """Put the mix into the video; if the lossy encoder's overshoot still lifts the encoded
    audio's true peak over the ceiling, master the mix to a ceiling that much lower and mux
    again (at most twice). The mix is read from disk, and the muxed audio measured, a block at a
    time: a two-hour soundtrack costs no more memory than a minute's."""
    from audio_creator.dsp.master import master_to_file
    from audio_creator.media.mux import encoded_true_peak_dbtp, mux, soundtrack_source

    source = soundtrack_source(mix)
    ceiling = options.true_peak_dbtp - ENCODER_HEADROOM_DB  # what the mix was made with
    fd, name = tempfile.mkstemp(dir=mix.parent, prefix=f".{mix.stem}.", suffix=".remaster.wav")
    os.close(fd)
    remastered = Path(name)
    try:
        for _attempt in range(3):
            muxed = mux(video, source, merged)
            encoded = encoded_true_peak_dbtp(muxed.path)
            if encoded is None or encoded <= options.true_peak_dbtp + 0.005:
                break
            ceiling -= encoded - options.true_peak_dbtp + 0.1
            logger.info("encoded true peak %.2f dBTP; mastering to %.2f", encoded, ceiling)
            master_to_file(
                soundtrack_source(mix), remastered, target_lufs=options.target_lufs,
                true_peak_dbtp=ceiling, bit_depth=32,
            )  # fmt: skip
            source = soundtrack_source(remastered)
    finally:
        remastered.unlink(missing_ok=True)
    return {
        "video_copied": muxed.video_copied,
        "audio_codec": muxed.audio_codec,
        "encoded_true_peak_dbtp": None if encoded is None else round(encoded, 2),
        "pre_encode_ceiling_dbtp": round(ceiling, 2),
    }


def _check_container(path: Path) -> None:
    from audio_creator.media.mux import CONTAINERS

    if path.suffix.lower() not in CONTAINERS:
        raise ConfigError(
            f"cannot write a video to {path.name}: use one of {', '.join(sorted(CONTAINERS))}"
        )


def _write_text(path: Path, text: str) -> Path:
    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def _video_facts(info: VideoInfo) -> dict[str, Any]:
    return {
        "path": str(info.path),
        "duration_s": round(info.duration_s, 3),
        "width": info.width,
        "height": info.height,
        "fps": round(info.fps, 3),
        "has_audio": info.has_audio,
    }


def _analysis_facts(analysis: VideoAnalysis) -> dict[str, Any]:
    return {
        "cuts_s": [round(t, 3) for t in analysis.cuts_s],
        "transitions": [asdict(t) for t in analysis.transitions],
        "shot_starts_s": [round(t, 3) for t in shot_starts(analysis)],
        "mean_motion": round(float(np.mean(analysis.motion)), 4),
        "mean_brightness": round(float(np.mean(analysis.brightness)), 4),
    }


class _StageTimer:
    """Seconds per stage, and progress reports labelled with the stage."""

    def __init__(self, progress: Progress | None) -> None:
        self.seconds: dict[str, float] = {}
        self._progress = progress

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        if self._progress is not None:
            self._progress(0.0, stage)
        yield
        self.seconds[stage] = round(time.perf_counter() - start, 3)
        if self._progress is not None:
            self._progress(1.0, stage)

    def progress(self, stage: str, stop: threading.Event | None = None) -> Progress | None:
        """Reports labelled `stage`; with `stop`, one that raises `_Stopped` once it is set (how
        a helper thread's work ends early when the run has failed)."""
        report = self._progress
        if report is None and stop is None:
            return None

        def step(fraction: float, _message: str) -> None:
            if stop is not None and stop.is_set():
                raise _Stopped("the run failed elsewhere")
            if report is not None:
                report(fraction, stage)

        return step


class _Stopped(Exception):
    """A helper's work ended early because the run failed in another thread."""


__all__ = ["PipelineOptions", "PipelineResult", "run_pipeline"]
