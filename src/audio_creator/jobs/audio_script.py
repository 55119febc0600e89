"""The wavjourney job: an instruction (or a hand-written script) → an audio script → a mix.

plan (the LLM, or the offline rules, or `--script`) → render every item at its loudness → place
them → mix, ducking background layers under the speech, to the loudness target → WAV, and the
video with it when asked. Writes `<stem>.wav`, `<stem>_script.json` (the script that was
rendered: edit it and render it again with `--script`), `<stem>_report.json`.
"""

from __future__ import annotations

import json
import logging
import re
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from audio_creator.errors import AudioCreatorError, ConfigError, MediaError, require_finite
from audio_creator.files import (
    StagedOutputs,
    atomic_output,
    check_input_file,
    check_output_path,
)
from audio_creator.plan.script import AudioScript, parse_script

logger = logging.getLogger(__name__)
Progress = Callable[[float, str], None]
PLANNERS = ("auto", "llm", "rules")


@dataclass(frozen=True)
class WavJourneyOptions:
    """What to make. Exactly one of `instruction` and `script`."""

    output: Path  # the mix, WAV
    instruction: str | None = None
    script: Path | None = None  # a hand-written script (JSON): no planning
    video: Path | None = None  # the picture to follow (length, cuts)
    merged_video: Path | None = None  # also write the video with the mix as its soundtrack
    planner: str = "auto"  # auto: llm when a key is configured, else rules
    llm_model: str | None = None
    api_key: str | None = field(default=None, repr=False)
    target_lufs: float = -16.0
    true_peak_dbtp: float = -1.0
    ducking_db: float = 8.0
    seed: int = 0

    def __post_init__(self) -> None:
        require_finite(target_lufs=self.target_lufs, true_peak=self.true_peak_dbtp)
        if (self.instruction is None) == (self.script is None):
            raise ConfigError("give an --instruction or a --script (one of the two)")
        if self.instruction is not None and not _has_words(self.instruction):
            raise ConfigError(
                "the instruction has no words (it is empty, or only symbols and control "
                "characters): say what the audio should be"
            )
        if self.planner not in PLANNERS:
            raise ConfigError(f"--planner must be one of {', '.join(PLANNERS)}")
        if self.output.suffix.lower() != ".wav":
            raise ConfigError(f"the mix is written as WAV; give a .wav, not {self.output.name}")
        if self.merged_video is not None and self.video is None:
            raise ConfigError("--merge-video needs the video (--video)")
        from audio_creator.mix.ducking import DuckingOptions
        from audio_creator.mix.mixer import MixOptions

        # The mix's own checks, now rather than after every item is rendered.
        MixOptions(target_lufs=self.target_lufs, true_peak_dbtp=self.true_peak_dbtp)
        DuckingOptions(depth_db=self.ducking_db)


def _has_words(text: str) -> bool:
    from audio_creator.speech.text import strip_terminal_codes

    return re.search(r"\w", strip_terminal_codes(text)) is not None


def run_wavjourney(options: WavJourneyOptions, progress: Progress | None = None) -> dict[str, Any]:
    """Plan, render and mix (see the module docstring); returns the report."""
    from audio_creator.plan.execute import mix_rendering, render_items

    outputs = {
        "mix": options.output,
        "script": options.output.with_name(options.output.stem + "_script.json"),
        "report": options.output.with_name(options.output.stem + "_report.json"),
    }
    if options.merged_video is not None:
        outputs["video"] = options.merged_video
    inputs = [p for p in (options.script, options.video) if p is not None]
    if len({p.expanduser().resolve() for p in outputs.values()}) != len(outputs):
        raise ConfigError("two outputs would be the same file: give each its own name")
    script = load_script(options.script) if options.script is not None else None
    info = None
    if options.video is not None:
        from audio_creator.media.probe import SHORTEST_VIDEO_S, probe

        info = probe(options.video)
        if info.duration_s < SHORTEST_VIDEO_S:
            raise ConfigError(
                f"the video is {info.duration_s:.2f} s long; it needs at least "
                f"{SHORTEST_VIDEO_S:g} s"
            )
    for path in outputs.values():
        check_output_path(path, inputs=inputs)
    analysis = None
    if info is not None:
        from audio_creator.analysis.video import analyse_video

        analysis = analyse_video(info.path, progress)
    planner, planner_why = "script", "a script was given"
    if script is None:
        script, planner, planner_why = _plan(options, analysis)
    if analysis is None and any(item.at_cut is not None for item in script.items):
        raise ConfigError("the script places items on the video's cuts (at_cut): give --video")
    with (
        StagedOutputs() as staging,  # all the outputs appear at the end, or none
        # long items (a bed under a long video) wait on disk until mixed, in a hidden folder
        tempfile.TemporaryDirectory(dir=options.output.parent, prefix=".wavjourney.") as spill,
    ):
        at = {name: staging.stage(path) for name, path in outputs.items()}
        rendering = render_items(
            script, staging.scratch(outputs["mix"], ".speech.wav"), analysis=analysis,
            seed=options.seed, progress=progress, spill=Path(spill),
        )  # fmt: skip
        duration = max(rendering.timeline.duration_s, analysis.duration_s if analysis else 0.0)
        mix = mix_rendering(
            rendering, at["mix"], target_lufs=options.target_lufs,
            true_peak_dbtp=options.true_peak_dbtp, ducking_db=options.ducking_db,
            duration_s=duration,
        )  # fmt: skip
        _write_json(at["script"], script.model_dump(exclude_none=True))
        warnings = list(rendering.warnings)
        if options.merged_video is not None and info is not None:
            cut_s = duration - info.duration_s
            if cut_s > 0.05:  # the video holds the picture; its soundtrack ends with it
                speech_end = max(
                    (i.end_s for i in rendering.items if i.audio_type == "speech"), default=0.0
                )
                heard = " (speech included)" if speech_end > info.duration_s else ""
                warnings.append(
                    f"the video is {info.duration_s:.2f} s and the mix {duration:.2f} s: the "
                    f"merged video leaves out its last {cut_s:.2f} s{heard}"
                )
            from audio_creator.media.mux import mux, soundtrack_source

            mux(info.path, soundtrack_source(at["mix"]), at["video"])  # read from disk, in blocks
        report = {
            "planner": planner,
            "planner_why": planner_why,
            "duration_s": round(duration, 3),
            "items": [asdict(item) for item in rendering.items],
            "warnings": warnings,
            "mix": mix,
        }
        _write_json(at["report"], report)
    for warning in warnings:
        logger.warning("%s", warning)
    return report | {"outputs": {k: str(v) for k, v in outputs.items()}}


def load_script(path: Path) -> AudioScript:
    """A hand-written script from a JSON file.

    Raises:
        MediaError: the file is missing, unreadable or not JSON.
        ConfigError: it is JSON, but not a valid script (every problem is listed).
    """
    source = check_input_file(path, what="script")
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise MediaError(f"cannot read {source} as a JSON script: {exc}") from exc
    try:
        return parse_script(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'/'.join(str(p) for p in e['loc']) or 'script'}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"{source} is not a valid audio script: {problems}") from None


def _plan(options: WavJourneyOptions, analysis: Any) -> tuple[AudioScript, str, str]:
    """The script, the planner that wrote it and why that one (for the report)."""
    from audio_creator.llm import LLMSettings, key_configured
    from audio_creator.plan.llm_planner import plan_with_llm
    from audio_creator.plan.rules import plan_with_rules

    instruction = options.instruction or ""
    settings = LLMSettings(model=options.llm_model, api_key=options.api_key)
    why = "asked for" if options.planner == "rules" else "auto: no API key is configured"
    if options.planner == "llm" or (options.planner == "auto" and key_configured(settings)):
        try:
            return plan_with_llm(instruction, analysis, settings), "llm", "an API key is set"
        except AudioCreatorError as exc:
            if options.planner == "llm":
                raise
            why = f"auto: the LLM planner failed ({exc})"
            logger.warning("the LLM planner failed (%s); planning offline", exc)
    elif options.llm_model and options.planner == "auto":  # a model asked for, not reachable
        why = f"auto: --llm-model {options.llm_model} was given, but no API key is configured"
        logger.warning("%s; the offline rules plan it (set OPENAI_API_KEY for the LLM)", why[6:])
    return plan_with_rules(instruction, analysis), "rules", why


def _write_json(path: Path, data: object) -> Path:
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
