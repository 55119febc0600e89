"""The options of each job, one dataclass per mode: the one place where an option is declared.

A field's name is the job function's keyword and the command line's long option (`_` → `-`); its
default, help, bounds and choices are the ones every interface uses. Like `spec`, this imports
only the standard library, so that `--help` answers at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from audio_creator.jobs.spec import JobOptions, option

# The procedural styles, named here so that `--help` imports no music code (a test keeps it true).
STYLE_NAMES = ("cinematic", "ambient", "lofi", "pop", "orchestral", "electronic", "piano")
MAX_RERANK = 16  # candidates: each is a whole piece of music (and, neural, a batch row)
MAX_SECONDS = 4 * 3600.0  # the longest programme, music or analysis
TARGET_LUFS = -16.0  # the mix's loudness target: streaming platforms' spoken-word level
TRUE_PEAK_DBTP = -1.0
DUCKING_DB = 8.0


def _target_lufs(default: float = TARGET_LUFS, what: str = "mix loudness") -> Any:
    return option(default, help=f"{what}, LUFS (default {default:g})", low=-70.0, high=-5.0,
                  original=("--target-lufs",))  # fmt: skip


def _true_peak(low: float = -20.0) -> Any:
    return option(TRUE_PEAK_DBTP, help="true-peak ceiling, dBTP (default −1)", low=low, high=0.0,
                  metavar="DBTP")  # fmt: skip


def _device() -> Any:
    return option("auto", help="where neural models run (default auto)",
                  choices=("auto", "cpu", "cuda"), shared=True)  # fmt: skip


def _merge_video() -> Any:
    return option(
        False,
        original=("--merge-video",),
        help="also write the video with it (OUTPUT's name, the video's suffix)",
    )


def _merged_video_path() -> Any:
    return option(None, role="extra_output", original=("--merged-video-path",),
                  help="…to this file instead (giving it implies --merge-video)")  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class MusicSampling(JobOptions):
    """How the neural music backends sample (the procedural composer ignores these)."""

    music_model: str | None = option(
        None, role="model",
        help="weights for a neural backend: a name from `audio-creator models list`, or a folder",
    )  # fmt: skip
    top_k: int = option(250, help="sample among the k likeliest (250)", low=0)
    top_p: float = option(0.0, help="nucleus sampling, 0 = off (default)", low=0.0, high=1.0)
    temperature: float = option(1.0, help="sampling temperature (1.0)", low=0.0, high=10.0)
    cfg_coef: float = option(3.0, help="guidance weight (default 3.0)", low=0.0, high=30.0)


@dataclass(frozen=True, kw_only=True)
class MusicChoice(MusicSampling):
    """What music a job makes: backend, style, seed, candidates, adapter."""

    backend: str = option(
        "auto", original=("--backend",), help="music backend: auto (default), musicgen, procedural"
    )
    style: str | None = option(
        None, original=("--style",), help=f"music style: {', '.join(STYLE_NAMES)}"
    )
    prompt: str | None = option(
        None, original=("--prompt",), help="a description; its words can pick the style"
    )
    seed: int = option(0, original=("--seed",), help="same seed, same music (default 0)", low=0)
    rerank: int = option(
        1,
        original=("--rerank",),
        help="candidates to make and rank (default 1)",
        low=1,
        high=MAX_RERANK,
    )
    rerank_topk: int = option(
        1,
        original=("--rerank-topk",),
        help="best candidates to keep (OUTPUT, then STEM.2.wav, …)",
        low=1,
        high=MAX_RERANK,
    )
    lora: Path | None = option(
        None, original=("--vidmuse-lora",), flags=("--vidmuse-lora",), role="server_file",
        help="a LoRA adapter (from train-lora) for a neural backend; with --backend auto, the "
        "backend it was made for",
    )  # fmt: skip
    lora_scale: float = option(
        1.0, original=("--lora-scale",), low=0.0, high=4.0,
        help="how much of the adapter: 0 the base model, 1 as trained (default 1)",
    )  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class VidmuseJob(MusicChoice):
    """`vidmuse`: music composed to follow a video."""

    MODE: ClassVar[str] = "vidmuse"
    video: Path = option(original=("--video_path",), help="the video to score", role="input")
    output: Path = option(
        original=("--output_path",), help="music WAV to write", flags=("-o",), role="output"
    )
    duration: float | None = option(
        None,
        original=("--duration",),
        help="seconds (default: the video's)",
        low=0.0,
        high=MAX_SECONDS,
    )
    soundfont: Path | None = option(
        None, original=("--soundfont",), help="SF2/SF3 file to render with", role="server_file"
    )
    midi_out: Path | None = option(
        None, original=("--midi-out",), help="also write the score as MIDI", role="extra_output"
    )
    report: Path | None = option(
        None, role="extra_output",
        help="also write a JSON report: the backend, its summary, each kept candidate's scores",
    )  # fmt: skip
    target_lufs: float = _target_lufs(-18.0, "loudness")
    merge_video: bool = _merge_video()
    merged_video_path: Path | None = _merged_video_path()
    device: str = _device()


@dataclass(frozen=True, kw_only=True)
class TtsJob(JobOptions):
    """`tts`: a text spoken, as WAV (and subtitles)."""

    MODE: ClassVar[str] = "tts"
    NEEDS_ONE: ClassVar[tuple[tuple[str, ...], ...]] = (("text", "text_file"),)
    output: Path = option(
        original=("--output_path",), help="WAV file to write", flags=("-o",), role="output"
    )
    text: str | None = option(None, original=("--text",), help="the text to speak")
    text_file: Path | None = option(None, help="a UTF-8 text file to speak", role="input")
    engine: str = option(
        "auto",
        original=("--tts-engine",),
        help="auto (default), piper, kokoro, coqui, espeak, pyttsx3",
    )
    voice: Path | None = option(
        None, original=("--tts-model",), flags=("--model",), role="voice",
        help="a voice: its name in the models folder, or a path (Piper or Kokoro .onnx, Coqui "
        "folder); default: the bundled Piper voice. `audio-creator voices` lists them",
    )  # fmt: skip
    speaker: str | None = option(
        None, original=("--speaker",), help="speaker name or number (multi-speaker voices)"
    )
    language: str | None = option(
        None, original=("--language",), help="language code, e.g. en; checked against the voice"
    )
    speed: float = option(
        1.0, original=("--speed",), help="0.5–2.0 (default 1.0)", low=0.5, high=2.0
    )
    sample_rate: int | None = option(None, help="Hz (default: the voice's)", low=8000, high=192000)
    sentence_pause: float = option(0.35, help="seconds at speed 1 (default 0.35)", low=0.0)
    paragraph_pause: float = option(0.8, help="seconds at speed 1 (default 0.8)", low=0.0)
    subtitles: Path | None = option(
        None, help="also write sentence timings (.srt)", role="extra_output"
    )
    as_written: bool = option(
        False,
        help="read English numbers and abbreviations as the voice's own rules do, not as words",
    )


@dataclass(frozen=True, kw_only=True)
class MixJob(JobOptions):
    """`mix`: music and narration mixed: ducking, loudness target, true-peak ceiling."""

    MODE: ClassVar[str] = "mix"
    output: Path = option(
        original=("--output_path",), help="WAV file to write", flags=("-o",), role="output"
    )
    music: list[str] = option(
        [], original=("--music_path",), metavar="FILE[@SECONDS]", role="input",
        help="a music track, optionally starting at SECONDS; repeatable",
    )  # fmt: skip
    speech: list[str] = option(
        [], original=("--speech_path",), metavar="FILE[@SECONDS]", role="input",
        help="a narration track, optionally starting at SECONDS; repeatable",
    )  # fmt: skip
    music_volume: float = option(
        1.0, original=("--music_volume",), help="linear gain (default 1.0)", low=0.0
    )
    speech_volume: float = option(
        1.0, original=("--speech_volume",), help="linear gain (default 1.0)", low=0.0
    )
    ducking_db: float = option(
        DUCKING_DB, original=("--ducking-db",), help="duck depth (default 8 dB)", low=0.0
    )
    duck_attack: float = option(
        0.2, original=("--duck-attack",), help="seconds (default 0.2)", low=0.0
    )
    duck_release: float = option(
        0.5, original=("--duck-release",), help="seconds (default 0.5)", low=0.0
    )
    duck_hold: float = option(
        0.6, help="pauses shorter than this stay ducked (default 0.6 s)", low=0.0
    )
    speech_over_music: float = option(
        10.0, metavar="LU",
        help="music at least this far under the speech, before ducking (default 10)",
    )  # fmt: skip
    target_lufs: float = _target_lufs()
    true_peak: float = _true_peak(low=-60.0)
    music_fit: str = option(
        "loop", choices=("loop", "pad", "trim"),
        help="music shorter than the programme: loop (crossfaded), pad with silence, "
        "or trim the programme to the music (default loop)",
    )  # fmt: skip
    crossfade: float = option(2.0, help="loop crossfade (default 2 s)", low=0.0)
    fade_in: float = option(1.0, help="music fade-in (default 1 s)", low=0.0)
    fade_out: float = option(2.0, help="music fade-out (default 2 s)", low=0.0)
    duration: float | None = option(
        None, original=("--duration",), low=0.0, high=MAX_SECONDS,
        help="programme length in seconds (default: the speech's, else the music's)",
    )  # fmt: skip
    sample_rate: int = option(48000, help="default 48000", low=8000, high=384000)
    channels: int = option(2, help="default 2", choices=(1, 2))
    bit_depth: int = option(
        24, help="16/24-bit PCM or 32-bit float (default 24)", choices=(16, 24, 32)
    )
    report: Path | None = option(None, help="also write the report as JSON", role="extra_output")


@dataclass(frozen=True, kw_only=True)
class AutopipelineJob(MusicChoice):
    """`autopipeline`: video in; music, narration, mix, subtitles, report (and the video) out."""

    MODE: ClassVar[str] = "autopipeline"
    ONE_OF: ClassVar[tuple[tuple[str, ...], ...]] = (("narration", "narration_file"),)
    video: Path = option(
        original=("--video_path",), help="the video to give a soundtrack", role="input"
    )
    output: Path = option(
        flags=("-o",), role="output", original=("--output_path",),
        help="the mix (.wav); the other outputs are named after it: STEM_caption.txt, "
        "STEM_music.wav, STEM_narr.wav, STEM_narr.srt, STEM_report.json",
    )  # fmt: skip
    caption_backend: str = option(
        "auto", choices=("auto", "offline", "openai", "none"), original=("--caption-backend",),
        help="auto (default: openai with a key, else offline), offline, openai, none",
    )  # fmt: skip
    caption_max_len: int = option(
        60, original=("--caption-max-len",), help="words (default 60)", low=5, high=1000
    )
    caption_frames: int = option(
        4, original=("--caption-frames",), help="frames a vision model sees", low=1, high=32
    )
    llm_model: str | None = option(
        None, original=("--llm-model",), help="vision model (default: $OPENAI_MODEL)"
    )
    api_key: str | None = option(
        None,
        original=("--api-key",),
        role="secret",
        help="API key for the endpoint (default: $OPENAI_API_KEY)",
    )
    narration: str | None = option(
        None, original=("--text",), flags=("--text",), help="your own narration (no caption)"
    )
    narration_file: Path | None = option(None, help="your own narration, from a file", role="input")
    engine: str = option("auto", original=("--tts-engine",), help="speech engine (default auto)")
    voice: Path | None = option(
        None, original=("--tts-model",), flags=("--model",), help="a voice", role="voice"
    )
    speaker: str | None = option(None, original=("--speaker",), help="speaker name or number")
    language: str | None = option(
        None, original=("--language",), help="narration language, e.g. en"
    )
    speed: float = option(
        1.0, original=("--speed",), help="speech speed 0.5–2.0 (default 1)", low=0.5, high=2.0
    )
    ducking_db: float = option(
        DUCKING_DB, original=("--ducking-db",), help="music dip under speech (dB)", low=0.0
    )
    target_lufs: float = _target_lufs()
    true_peak: float = _true_peak()
    merge_video: bool = _merge_video()
    merged_video_path: Path | None = _merged_video_path()
    device: str = _device()


@dataclass(frozen=True, kw_only=True)
class WavjourneyJob(JobOptions):
    """`wavjourney`: an audio script (from an instruction, or hand-written) rendered into a mix."""

    MODE: ClassVar[str] = "wavjourney"
    NEEDS_ONE: ClassVar[tuple[tuple[str, ...], ...]] = (("instruction", "script"),)
    output: Path = option(
        flags=("-o",), role="output", original=("--output_path",),
        help="the mix (.wav); also STEM_script.json and STEM_report.json beside it",
    )  # fmt: skip
    instruction: str | None = option(
        None, original=("--instruction",), help="what the audio should be, in words"
    )
    script: Path | None = option(None, help="a hand-written script (JSON) to render", role="input")
    video: Path | None = option(
        None, original=("--video_path",), help="a video to follow (length, cuts)", role="input"
    )
    planner: str = option(
        "auto", choices=("auto", "llm", "rules"),
        help="auto (default: llm with an API key, else rules), llm, rules",
    )  # fmt: skip
    llm_model: str | None = option(
        None, original=("--llm-model",), help="model (default: $OPENAI_MODEL)"
    )
    api_key: str | None = option(
        None, original=("--api-key",), help="API key (default: $OPENAI_API_KEY)", role="secret"
    )
    target_lufs: float = _target_lufs()
    true_peak: float = _true_peak()
    ducking_db: float = option(
        DUCKING_DB, original=("--ducking-db",), help="background dip under speech", low=0.0
    )
    seed: int = option(0, original=("--seed",), help="music and effects seed (default 0)", low=0)
    merge_video: bool = _merge_video()
    merged_video_path: Path | None = _merged_video_path()


JOBS: dict[str, type[JobOptions]] = {
    cls.MODE: cls for cls in (AutopipelineJob, VidmuseJob, TtsJob, MixJob, WavjourneyJob)
}
# Where a job's outputs go when the caller chooses no names (the web, a batch): the main output,
# in the job's own folder…
OUTPUT_NAMES = {
    "autopipeline": "soundtrack.wav", "vidmuse": "music.wav", "tts": "speech.wav",
    "mix": "mix.wav", "wavjourney": "audio.wav",
}  # fmt: skip
# …and the output options a caller may switch on (true) but not name: → the file they write.
EXTRA_OUTPUTS = {
    "subtitles": "speech.srt",
    "midi_out": "music.mid",
    "report": "{stem}.json",  # mix.json, music.json
    "merged_video_path": None,  # set by merge_video: STEM.mp4 beside the output
}
