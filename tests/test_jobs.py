"""The job API (`audio_creator.jobs`): every mode as a Python function, each option declared once.

The options are checked against the command line made from them (the same set, the same
defaults), values out of bounds are refused by name, and each mode runs from Python: outputs
written, a report back, progress heard, a cancelled job leaving nothing, errors raised as the
project's own exceptions, never `SystemExit`.
"""

from __future__ import annotations

import argparse
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from audio_creator import cli, jobs
from audio_creator.errors import ConfigError, MediaError
from audio_creator.jobs.options import JOBS
from helpers import ffmpeg_loudness, make_video, sine

GLOBAL = {"help", "log_level", "show_config", "handler", "device"}


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = cli._build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


@pytest.mark.parametrize("mode", sorted(JOBS))
def test_each_option_is_declared_once_and_the_command_line_is_made_from_it(mode: str) -> None:
    cls, parser = JOBS[mode], _subparsers()[mode]
    fields = {f.name: f for f in cls.fields()}
    actions = {a.dest: a for a in parser._actions if a.dest not in GLOBAL}
    assert set(actions) == {name for name, f in fields.items() if not f.spec.shared}
    for name, action in actions.items():
        f = fields[name]
        assert f.spec.help and action.help == f.spec.help, name
        assert f.flag in action.option_strings, name
        if not f.required and not f.many:
            assert action.default == f.default, name
        if f.spec.choices is not None:
            assert action.metavar == "{" + ",".join(map(str, f.spec.choices)) + "}", name
    # A command line with only what is required gives the options' own defaults.
    values: dict[str, Any] = {"output": "o.wav"} | {
        "autopipeline": {"video": "v.mp4"},
        "vidmuse": {"video": "v.mp4"},
        "tts": {"text": "Hi."},
        "mix": {"music": ["m.wav"]},
        "wavjourney": {"instruction": "Rain."},
    }[mode]
    argv = [mode]
    for name, value in values.items():
        for item in value if isinstance(value, list) else [value]:
            argv += ["--" + name.replace("_", "-"), item]
    from_cli = cls.from_namespace(cli._build_parser().parse_args(argv))
    assert from_cli == cls(**values)


@pytest.mark.parametrize("mode", sorted(JOBS))
def test_the_web_takes_the_same_options_from_the_same_declarations(mode: str) -> None:
    from audio_creator.web import commands

    fields = JOBS[mode].fields()
    schema = commands.params_schema(mode)
    # Every option but the main output and the server's own files (the server chooses those),
    # and the few that the web refuses, saying why.
    settable = {f.name for f in fields if f.spec.role not in ("output", "server_file")}
    settable -= set(commands.NOT_FROM_THE_WEB)
    assert set(schema["properties"]) == settable
    assert commands.defaults(mode) == {f.name: f.default for f in fields}
    assert commands.input_options(mode) == {f.name for f in fields if f.spec.role == "input"}
    for f in fields:
        if f.name in settable and f.spec.choices is not None:
            assert schema["properties"][f.name]["enum"] == list(f.spec.choices)


def test_the_web_refuses_a_bad_value_when_the_job_is_submitted(tmp_path: Path) -> None:
    from audio_creator.web.commands import build_options

    with pytest.raises(ConfigError, match=r"--speed must be within 0\.5–2"):
        build_options("tts", {"text": "Hi.", "speed": 10}, {}, tmp_path)
    taken = build_options("tts", {"text": "Hi.", "speed": "1.5", "subtitles": True}, {}, tmp_path)
    assert taken == {"output": tmp_path / "speech.wav", "text": "Hi.", "speed": 1.5,
                     "subtitles": tmp_path / "speech.srt"}  # fmt: skip
    with pytest.raises(ConfigError, match="cannot be set from the web"):
        build_options("vidmuse", {"soundfont": "/etc/passwd"}, {}, tmp_path)


def test_shared_options_are_the_command_lines_global_ones() -> None:
    for cls in JOBS.values():
        for f in cls.fields():
            if f.spec.shared:
                assert f.name == "device"
    args = cli._build_parser().parse_args(["vidmuse", "--video", "v.mp4", "-o", "o.wav",
                                           "--device", "cpu"])  # fmt: skip
    assert jobs.VidmuseJob.from_namespace(args).device == "cpu"


@pytest.mark.parametrize(
    ("mode", "values", "message"),
    [
        ("vidmuse", {"rerank": "many"}, "--rerank must be a whole number"),
        ("vidmuse", {"lora_scale": float("nan")}, "--lora-scale must be a finite number"),
        ("vidmuse", {"seed": 1.5}, "--seed must be a whole number"),
        ("vidmuse", {"device": "tpu"}, "--device must be one of auto, cpu, cuda"),
        ("tts", {"speed": "fast"}, "--speed must be a number"),
        ("tts", {"speed": float("inf")}, "--speed must be a finite number"),
        ("tts", {"text": None}, "give one of --text, --text-file"),
        ("tts", {"text_file": "t.txt"}, "give only one of --text, --text-file"),
        ("mix", {"channels": 3}, "--channels must be one of 1, 2, got 3"),
        ("mix", {"as_written": True}, "mix has no option 'as_written'"),
        ("autopipeline", {"merge_video": "yes"}, "--merge-video is a switch"),
        ("wavjourney", {"planner": "oracle"}, "--planner must be one of auto, llm, rules"),
    ],
)
def test_bad_values_are_refused_by_the_options_name(
    mode: str, values: dict[str, Any], message: str
) -> None:
    base = {"output": "o.wav", **({"video": "v.mp4"} if mode in ("vidmuse", "autopipeline")
                                  else {}),
            **({"text": "Hi."} if mode == "tts" else {}),
            **({"instruction": "Rain."} if mode == "wavjourney" else {})}  # fmt: skip
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        jobs.options_of(mode, base | values)


def test_required_options_are_named_when_missing_and_paths_may_be_text() -> None:
    with pytest.raises(ConfigError, match="vidmuse needs 'video'"):
        jobs.options_of("vidmuse", {"output": "o.wav"})
    with pytest.raises(ConfigError, match="unknown mode 'karaoke'"):
        jobs.options_of("karaoke", {})
    options = jobs.VidmuseJob(video="v.mp4", output="out/o.wav")  # type: ignore[arg-type]
    assert options.video == Path("v.mp4") and options.output == Path("out/o.wav")


# ------------------------------------------------------------------------------- running jobs


class Heard:
    """A progress callback that keeps what it heard."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, float]] = []

    def __call__(self, stage: str, fraction: float) -> None:
        assert isinstance(stage, str) and 0.0 <= fraction <= 1.0
        self.calls.append((stage, fraction))


def test_tts_from_python(tmp_path: Path) -> None:
    heard = Heard()
    result = jobs.tts(text="Hello there. This is a test.", output=tmp_path / "s.wav",
                      subtitles=tmp_path / "s.srt", progress=heard)  # fmt: skip
    assert result.mode == "tts"
    assert result.outputs == {"speech": tmp_path / "s.wav", "subtitles": tmp_path / "s.srt"}
    assert result.report["sentences"] == 2
    info = sf.info(str(result.outputs["speech"]))
    assert result.report["duration_s"] == pytest.approx(info.frames / info.samplerate, abs=0.01)
    assert (tmp_path / "s.srt").read_text().startswith("1\n00:00:00,")  # the first sentence
    assert heard.calls and heard.calls[-1][1] == 1.0


def test_mix_from_python_reaches_its_target_as_ffmpeg_measures_it(tmp_path: Path) -> None:
    rate = 48000
    music, speech = tmp_path / "music.wav", tmp_path / "speech.wav"
    sf.write(music, sine(220.0, rate, 12.0, 0.3), rate)
    voice = sine(440.0, rate, 6.0, 0.3) * (np.arange(6 * rate) % rate < rate // 2)
    sf.write(speech, voice.astype(np.float32), rate)
    heard = Heard()
    result = jobs.mix(music=[str(music)], speech=[f"{speech}@3"], output=tmp_path / "m.wav",
                      target_lufs=-20.0, report=tmp_path / "m.json", progress=heard)  # fmt: skip
    assert set(result.outputs) == {"mix", "report"}
    assert result.report["integrated_lufs"] == pytest.approx(-20.0, abs=0.1)
    assert ffmpeg_loudness(result.outputs["mix"])["I"] == pytest.approx(-20.0, abs=0.3)
    assert {stage for stage, _ in heard.calls} == {"measuring", "rendering"}


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("clip")
    return make_video(folder / "clip.mp4", duration_s=4.0, size="160x90")


def test_vidmuse_from_python_and_its_errors_are_exceptions(clip: Path, tmp_path: Path) -> None:
    result = jobs.vidmuse(video=clip, output=tmp_path / "music.wav", merge_video=True,
                          midi_out=tmp_path / "score.mid", backend="procedural")  # fmt: skip
    assert result.outputs == {"music": tmp_path / "music.wav", "video": tmp_path / "music.mp4",
                              "midi": tmp_path / "score.mid"}  # fmt: skip
    assert all(path.is_file() for path in result.outputs.values())
    assert result.report["backend"] == "procedural" and result.report["summary"]
    assert sf.info(str(tmp_path / "music.wav")).duration == pytest.approx(4.0, abs=0.1)
    with pytest.raises(MediaError):  # no SystemExit: a Python caller gets the exception
        jobs.vidmuse(video=tmp_path / "missing.mp4", output=tmp_path / "m2.wav")
    assert not (tmp_path / "m2.wav").exists()


def test_a_cancelled_job_stops_and_leaves_nothing(clip: Path, tmp_path: Path) -> None:
    cancel = threading.Event()
    out = tmp_path / "out"

    def progress(stage: str, fraction: float) -> None:
        if fraction > 0:  # under way: the caller changes its mind
            cancel.set()

    with pytest.raises(jobs.Cancelled):
        jobs.autopipeline(video=clip, output=out / "a.wav", narration="A test of cancelling.",
                          progress=progress, cancel=cancel)  # fmt: skip
    assert not out.exists()  # not even the folder made for the outputs


def test_wavjourney_and_autopipeline_from_python(clip: Path, tmp_path: Path) -> None:
    heard = Heard()
    made = jobs.wavjourney(instruction='Rain, then a narrator saying "Welcome back".',
                           output=tmp_path / "w.wav", planner="rules", progress=heard)  # fmt: skip
    assert set(made.outputs) >= {"mix", "script", "report"}
    assert made.report["mix"]["integrated_lufs"] == pytest.approx(-16.0, abs=0.2)
    whole = jobs.autopipeline(video=clip, output=tmp_path / "a" / "a.wav", merge_video=True,
                              narration="A four second clip.")  # fmt: skip
    assert {"mix", "music", "video", "report"} <= set(whole.outputs)
    assert all(path.is_file() for path in whole.outputs.values())
    assert whole.report["mix"]["integrated_lufs"] == pytest.approx(-16.0, abs=0.2)


def _outside(f: Any) -> list[Any]:
    """Values just past each declared bound of the option `f`."""
    step = 1 if f.kind is int else 0.5
    values = []
    if f.spec.low is not None:
        values.append(f.kind(f.spec.low - step))
    if f.spec.high is not None:
        values.append(f.kind(f.spec.high + step))
    return values


@pytest.mark.parametrize("mode", sorted(JOBS))
def test_each_declared_bound_is_what_the_job_refuses(mode: str, clip: Path, tmp_path: Path) -> None:
    """The bounds the help, the web's schema and a batch manifest show are the ones the job holds
    to: a value just past one is refused before anything is written."""
    tone = tmp_path / "tone.wav"
    sf.write(tone, sine(220.0, 48000, 2.0), 48000)
    out = tmp_path / "out"
    base: dict[str, Any] = {"output": out / "o.wav"} | {
        "autopipeline": {"video": clip, "narration": "Hello."},
        "vidmuse": {"video": clip, "backend": "procedural"},
        "tts": {"text": "Hello."},
        "mix": {"music": [str(tone)]},
        "wavjourney": {"instruction": "Rain.", "planner": "rules"},
    }[mode]
    bounded = [f for f in JOBS[mode].fields() if f.spec.low is not None or f.spec.high is not None]
    assert bounded
    for f in bounded:
        for value in _outside(f):
            with pytest.raises(ConfigError):
                jobs.run(jobs.options_of(mode, base | {f.name: value}))
            assert not out.exists(), (f.name, value)


def test_the_original_flags_are_declared_with_the_options_they_set(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from audio_creator import compat

    declared = [s for cls in JOBS.values() for f in cls.fields() for s in f.spec.original]
    assert set(declared) == set(compat.ORIGINAL_FLAGS)
    for mode in JOBS:
        spellings = [s for f in JOBS[mode].fields() for s in f.spec.original]
        assert len(spellings) == len(set(spellings)), mode  # one option per spelling
    args = compat.build_parser().parse_args(
        ["--mode", "tts", "--tts-model", "amy", "--text", "Hi.", "--output_path", "o.wav"]
    )
    assert compat.translate(args) == ["tts", "--output=o.wav", "--text=Hi.", "--voice=amy"]
    with pytest.raises(SystemExit) as ended:  # a flag of another mode is refused by name
        compat.main(["--mode", "tts", "--text", "Hi.", "--output_path", "o.wav", "--seed", "3"])
    assert ended.value.code == 2 and "--mode tts takes no --seed" in capsys.readouterr().err


def test_the_web_forms_set_every_option_the_web_takes() -> None:
    """Each mode's form has a widget for each option its schema lists, and no other."""
    import gradio as gr

    from audio_creator.web import commands, ui

    with gr.Blocks():
        forms = {mode: getattr(ui, f"_{mode}")(gr) for mode in commands.MODES}
    for mode, tab in forms.items():
        on_the_form = {field.start_of or field.dest for field, _ in tab.fields}
        assert on_the_form == set(commands.params_schema(mode)["properties"]), mode


@pytest.mark.parametrize("mode", sorted(JOBS))
def test_a_batch_takes_the_same_options_from_the_same_declarations(mode: str) -> None:
    """A manifest's columns and the batch command line's defaults are the mode's options: every
    one but its outputs (each row has its own folder) and secrets (never kept in a file)."""
    from audio_creator import cli
    from audio_creator.batch.rows import _column_problems
    from audio_creator.jobs.spec import BATCH_PREFIX

    fields = {f.name: f for f in JOBS[mode].fields()}
    takes = {name for name, f in fields.items() if f.spec.role not in ("output", "secret")}
    columns = {name for name in fields if not _column_problems(name, fields, mode)}
    assert columns == takes - {"merged_video_path"}  # (merge_video writes it, by its usual name)
    parser = cli._build_parser(batch_mode=mode)
    args = parser.parse_args(["batch", "--mode", mode, "--input", "x", "--output-dir", "y"])
    assert not [name for name in vars(args) if name.startswith(BATCH_PREFIX)]  # none given
    batch = next(a for a in parser._actions if isinstance(a, cli.argparse._SubParsersAction))
    dests = {a.dest.removeprefix(BATCH_PREFIX) for a in batch.choices["batch"]._actions
             if a.dest.startswith(BATCH_PREFIX)}  # fmt: skip
    shared = {name for name, f in fields.items() if f.spec.shared}  # the global --device
    assert dests | shared == takes - {"merged_video_path"}
