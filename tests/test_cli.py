"""The command line: commands, exit codes, bad input, the original `main.py` interface."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audio_creator import cli, compat
from helpers import packet_hashes, run_ffmpeg, sine

REPO = Path(__file__).resolve().parents[1]


def run_cli(*args: str | Path) -> int:
    return cli.main([str(a) for a in args])


@pytest.fixture
def tone_wav(tmp_path: Path) -> Path:
    path = tmp_path / "tone.wav"
    sf.write(path, sine(440, 48000, 1.0)[:, None], 48000)
    return path


# ------------------------------------------------------------------------------------- commands


def test_probe_prints_a_table_and_json(
    sample_videos: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli("probe", sample_videos["mkv"]) == 0
    assert "320×240" in capsys.readouterr().out
    assert run_cli("probe", sample_videos["mkv"], "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["video_codec"] == "h264" and data["audio_codec"] == "opus"


def test_extract_audio_then_mux_round_trip(tmp_path: Path, sample_videos: dict[str, Path]) -> None:
    wav = tmp_path / "track.wav"
    assert run_cli("extract-audio", sample_videos["mp4"], "-o", wav, "--bit-depth", "16") == 0
    info = sf.info(wav)
    assert info.samplerate == 48000 and info.subtype == "PCM_16"
    out = tmp_path / "again.mp4"
    assert run_cli("--log-level", "warning", "mux", sample_videos["mp4"], wav, "-o", out) == 0
    assert packet_hashes(out) == packet_hashes(sample_videos["mp4"])


def test_global_options_work_after_the_subcommand(sample_videos: dict[str, Path]) -> None:
    assert run_cli("probe", sample_videos["mp4"], "--log-level", "ERROR", "--device", "cpu") == 0


def test_show_config_reports_paths_and_hides_the_key(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AUDIO_CREATOR_MODELS", str(tmp_path / "models"))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    assert run_cli("--show-config", "--device", "cpu") == 0
    out = capsys.readouterr().out
    data = json.loads(out)
    assert data["models_dir"] == str(tmp_path / "models") and data["device"] == "cpu"
    assert data["openai_api_key"] == "set" and "sk-secret" not in out


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli() == 2
    assert "usage: audio-creator" in capsys.readouterr().err


def test_help_imports_no_heavy_library() -> None:
    code = (
        "import sys\n"
        "from audio_creator import cli\n"
        "try:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = {'torch', 'transformers', 'gradio', 'openai', 'av', 'numpy', 'scipy'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip().splitlines()[-1] == "[]"


# ------------------------------------------------------------------------------------ bad input


def _bad_inputs(
    tmp_path: Path, sample_videos: dict[str, Path], audio_only: Path
) -> dict[str, tuple[Path, str]]:
    """name → (path given as the video, what the error message must say)."""
    empty = tmp_path / "empty.mp4"
    empty.touch()
    text = tmp_path / "notes.mp4"
    text.write_text("this is a text file, not a video\n" * 10)
    data = sample_videos["mp4"].read_bytes()
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(data[: len(data) // 2])
    folder = tmp_path / "folder.mp4"
    folder.mkdir()
    no_frames = tmp_path / "no_frames.mp4"
    run_ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=64x64:rate=10",
        "-frames:v",
        "0",
        "-c:v",
        "libx264",
        str(no_frames),
    )
    return {
        "missing": (tmp_path / "nope.mp4", "not found"),
        "directory": (folder, "is a directory"),
        "zero bytes": (empty, "empty (0 bytes)"),
        "truncated": (truncated, "it is truncated or not a video"),
        "text file": (text, "it is truncated or not a video"),
        "audio only": (audio_only, "no video stream"),
        "no frames": (no_frames, "no video"),
    }


@pytest.mark.parametrize(
    "case",
    ["missing", "directory", "zero bytes", "truncated", "text file", "audio only", "no frames"],
)
@pytest.mark.parametrize("command", ["probe", "mux", "extract-audio"])
def test_bad_video_input_exits_2_with_a_message_and_writes_nothing(
    tmp_path: Path,
    sample_videos: dict[str, Path],
    audio_only: Path,
    tone_wav: Path,
    capsys: pytest.CaptureFixture[str],
    case: str,
    command: str,
) -> None:
    video, message = _bad_inputs(tmp_path, sample_videos, audio_only)[case]
    out_dir = tmp_path / "out"
    args: list[str | Path] = {
        "probe": ["probe", video],
        "mux": ["mux", video, tone_wav, "-o", out_dir / "x.mp4"],
        "extract-audio": ["extract-audio", video, "-o", out_dir / "x.wav"],
    }[command]
    if command == "extract-audio" and case == "audio only":
        message = "no video stream"
    assert run_cli(*args) == 2
    said = capsys.readouterr().err
    assert message in said and "Errno" not in said  # what is wrong, not FFmpeg's error number
    assert not out_dir.exists()


def test_output_equal_to_an_input_is_refused(
    tmp_path: Path,
    sample_videos: dict[str, Path],
    tone_wav: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    video = tmp_path / "mine.mp4"
    video.write_bytes(sample_videos["mp4"].read_bytes())
    before = video.read_bytes()
    assert run_cli("mux", video, tone_wav, "-o", video) == 2
    assert run_cli("mux", video, tone_wav, "-o", tone_wav) == 2
    assert run_cli("extract-audio", video, "-o", tmp_path / "." / "mine.mp4") == 2
    assert capsys.readouterr().err.count("is also an input") == 3
    assert video.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.mp4", "tone.wav"]


def test_unwritable_output_folder_is_refused(
    tmp_path: Path,
    sample_videos: dict[str, Path],
    tone_wav: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if os.geteuid() == 0:  # root writes through permission bits; sysfs refuses even root
        folder = Path("/sys")
    else:
        folder = tmp_path / "locked"
        folder.mkdir(mode=0o500)
    assert run_cli("mux", sample_videos["mp4"], tone_wav, "-o", folder / "out.mp4") == 2
    assert "cannot write there: the folder" in capsys.readouterr().err
    assert not (folder / "out.mp4").exists()


def test_output_under_a_file_is_refused(
    tmp_path: Path,
    tone_wav: Path,
    sample_videos: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run_cli("extract-audio", sample_videos["mp4"], "-o", tone_wav / "x.wav") == 2
    assert f"cannot write there: {tone_wav} is a file, not a folder" in capsys.readouterr().err
    assert run_cli("extract-audio", sample_videos["mp4"], "-o", tone_wav / "a" / "x.wav") == 2
    assert f"{tone_wav} is a file, not a folder" in capsys.readouterr().err


def test_bad_audio_input_to_mux(
    tmp_path: Path, sample_videos: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    nan_wav = tmp_path / "nan.wav"
    data = np.zeros((4800, 1), np.float32)
    data[100] = np.inf
    sf.write(nan_wav, data, 48000, subtype="FLOAT")
    assert run_cli("mux", sample_videos["mp4"], nan_wav, "-o", tmp_path / "o.mp4") == 2
    assert "NaN or infinite" in capsys.readouterr().err
    assert not (tmp_path / "o.mp4").exists()


def test_extract_audio_from_a_silent_video(
    tmp_path: Path, silent_video: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli("extract-audio", silent_video, "-o", tmp_path / "a.wav") == 2
    assert "no audio track" in capsys.readouterr().err


def test_usage_errors_exit_2() -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["probe"])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        cli.main(["--device", "tpu", "probe", "x.mp4"])
    assert info.value.code == 2


# ------------------------------------------------------------------------ the original interface

ORIGINAL_AUTOPIPELINE = [
    "--mode",
    "autopipeline",
    "--video_path",
    "examples/2.mp4",
    "--output_path",
    "output/auto.wav",
    "--caption-backend",
    "openai",
    "--caption-max-len",
    "40",
    "--caption-frames",
    "4",
    "--vidmuse-lora",
    "src/models/lora/vidmuse_lora.pt",
    "--rerank",
    "3",
    "--ducking-db",
    "12",
    "--speed",
    "0.95",
    "--merge-video",
    "--merged-video-path",
    "output/auto.mp4",
    "--device",
    "cpu",
]


def test_original_flags_translate_to_the_subcommand() -> None:
    args = compat.build_parser().parse_args(ORIGINAL_AUTOPIPELINE)
    assert compat.translate(args) == [
        "--device",
        "cpu",
        "autopipeline",
        "--video=examples/2.mp4",
        "--output=output/auto.wav",
        "--merged-video-path=output/auto.mp4",
        "--lora=src/models/lora/vidmuse_lora.pt",
        "--rerank=3",
        "--speed=0.95",
        "--ducking-db=12.0",
        "--caption-backend=openai",
        "--caption-max-len=40",
        "--caption-frames=4",
        "--merge-video",
    ]


def test_values_that_start_with_a_dash_stay_values() -> None:
    args = compat.build_parser().parse_args(["--mode", "vidmuse", "--prompt=-moody and dark"])
    assert "--prompt=-moody and dark" in compat.translate(args)


@pytest.mark.parametrize(
    "argv",
    [
        [
            "--mode",
            "mix",
            "--music_path",
            "m.wav",
            "--speech_path",
            "s.wav",
            "--output_path",
            "o.wav",
            "--music_volume",
            "0.6",
            "--speech_volume",
            "1.0",
            "--ducking-db",
            "8.0",
            "--target-lufs",
            "-16",
            "--duck-attack",
            "0.05",
            "--duck-release",
            "0.3",
        ],
        [
            "--mode",
            "tts",
            "--text",
            "Hello",
            "--output_path",
            "o.wav",
            "--tts-engine",
            "coqui",
            "--speed",
            "1.0",
            "--language",
            "en",
            "--speaker",
            "p225",
        ],
        [
            "--mode",
            "wavjourney",
            "--instruction",
            "An intro",
            "--video_path",
            "v.mp4",
            "--output_path",
            "o.wav",
            "--llm-model",
            "gpt-4o",
        ],
        [
            "--mode",
            "vidmuse",
            "--video_path",
            "v.mp4",
            "--output_path",
            "o.wav",
            "--duration",
            "10",
            "--rerank",
            "3",
            "--rerank-topk",
            "1",
        ],
        ORIGINAL_AUTOPIPELINE,
    ],
)
def test_main_py_accepts_the_original_flags(argv: list[str]) -> None:
    args = compat.build_parser().parse_args(argv)
    assert compat.translate(args)[0 if "--device" not in argv else 2] == argv[1]


def test_every_mode_of_the_original_runs_as_a_command() -> None:
    assert set(compat.MODES) <= cli.available_commands()


def test_main_py_rejects_unknown_flags_and_modes() -> None:
    for argv in (["--mode", "karaoke"], ["--mode", "tts", "--volume", "11"], []):
        with pytest.raises(SystemExit) as info:
            compat.main(argv)
        assert info.value.code == 2


def test_run_ffmpeg_helper_reports_failures() -> None:
    with pytest.raises(AssertionError, match="failed"):
        run_ffmpeg("-i", "/nonexistent/file.mp4", "-f", "null", "-")


@pytest.mark.parametrize("mode", ["tts", "mix", "vidmuse", "wavjourney", "autopipeline"])
def test_main_py_without_an_output_names_its_own_flag(
    mode: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The original command line's error speaks of --output_path, the flag its user types."""
    with pytest.raises(SystemExit) as ended:
        compat.main(["--mode", mode, "--text", "Hi"])
    said = capsys.readouterr().err
    assert ended.value.code == 2 and "--output_path" in said and "-o/--output" not in said


def _stopped_midway(argv: list[str], folder: Path, appears: str, signum: int) -> int:
    """Run `audio-creator ARGV` in a process of its own, send it `signum` once a file matching
    `appears` is in `folder` (its work under way), and return its exit code."""
    import signal
    import subprocess
    import sys
    import time

    command = [sys.executable, "-m", "audio_creator.cli", *argv]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not any(folder.glob(appears)):
            assert process.poll() is None, "it ended before it could be stopped"
            assert time.monotonic() < deadline, "its work never showed"
            time.sleep(0.02)
        process.send_signal(signum)
        return process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait()


@pytest.mark.parametrize(("name", "code"), [("SIGTERM", 143), ("SIGHUP", 129)])
def test_a_stopped_tts_leaves_its_folder_as_it_was(tmp_path: Path, name: str, code: int) -> None:
    """`kill` and `timeout` end a run as Ctrl-C does: no hidden half-written file stays."""
    import signal

    text = tmp_path / "long.txt"
    text.write_text("This sentence takes a moment to say. " * 400)
    out = tmp_path / "out"
    out.mkdir()
    argv = ["tts", "--text-file", str(text), "-o", str(out / "s.wav")]
    assert _stopped_midway(argv, out, ".s.*", getattr(signal, name)) == code
    assert list(out.iterdir()) == []


@pytest.mark.slow
def test_a_stopped_autopipeline_leaves_its_folder_as_it_was(tmp_path: Path) -> None:
    import signal

    from audio_creator.media.demo import make_demo_video

    video = make_demo_video(tmp_path / "clip.mp4", width=160, height=90)
    out = tmp_path / "out"
    out.mkdir()
    argv = ["autopipeline", "--video", str(video), "-o", str(out / "a.wav"), "--merge-video"]
    assert _stopped_midway(argv, out, ".a_*", signal.SIGTERM) == 143
    assert list(out.iterdir()) == []


def test_a_missing_api_key_exits_3_as_the_readme_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exit 3 is "a backend is unavailable (package, weights or API key missing)"."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.chdir(tmp_path)  # no .env of the checkout's
    out = tmp_path / "o" / "a.wav"
    argv = ["wavjourney", "--instruction", "A calm intro.", "--planner", "llm", "-o", str(out)]
    assert cli.main(argv) == 3
    assert "no API key" in capsys.readouterr().err
    assert not out.exists()
