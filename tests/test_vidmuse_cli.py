"""`audio-creator vidmuse` and `main.py --mode vidmuse`: outputs, options and bad input."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import av
import mido
import pytest
import soundfile as sf

from audio_creator import cli
from audio_creator.media import make_demo_video, probe

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_demo_video(tmp_path_factory.mktemp("v") / "demo.mp4", width=320, height=180)


def test_vidmuse_writes_music_candidates_midi_and_video(demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "music.wav"
    code = cli.main(
        [
            "vidmuse",
            "--video",
            str(demo),
            "-o",
            str(out),
            "--rerank",
            "3",
            "--rerank-topk",
            "2",
            "--midi-out",
            str(tmp_path / "music.mid"),
            "--merge-video",
            "--style",
            "pop",
            "--report",
            str(tmp_path / "music.json"),
        ]
    )
    assert code == 0
    info = sf.info(out)
    assert (info.samplerate, info.channels) == (48000, 2)
    assert info.duration == pytest.approx(20.0, abs=1e-3)
    assert (tmp_path / "music.2.wav").is_file()
    midi = mido.MidiFile(tmp_path / "music.mid")
    assert midi.length == pytest.approx(20.0, abs=0.5)
    assert sum(1 for t in midi.tracks for m in t if m.type == "note_on") > 50
    merged = probe(tmp_path / "music.mp4")
    assert merged.has_audio and merged.duration_s == pytest.approx(20.0, abs=0.05)
    report = json.loads((tmp_path / "music.json").read_text())
    kept = report["candidates"]
    assert [c["file"] for c in kept] == ["music.wav", "music.2.wav"]  # the files, best first
    assert kept[0]["score"] >= kept[1]["score"] and len({c["candidate"] for c in kept}) == 2
    assert report["summary"]["style"] == "pop" and report["backend"] == "procedural"


def test_duration_longer_than_the_video_extends_the_music(demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "long.wav"
    merged = tmp_path / "long.mp4"
    args = ["vidmuse", "--video", str(demo), "-o", str(out), "--duration", "26"]
    assert cli.main([*args, "--merged-video-path", str(merged), "--merge-video"]) == 0
    assert sf.info(out).duration == pytest.approx(26.0, abs=1e-3)
    assert probe(merged).duration_s == pytest.approx(20.0, abs=0.05)  # the picture is unchanged
    with av.open(str(merged)) as container:  # and the whole music plays: the last picture holds
        audio = container.streams.audio[0]
        assert float(audio.duration * audio.time_base) == pytest.approx(26.0, abs=0.05)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--duration", "0"], "--duration must be positive"),
        (["--duration", "-3"], "--duration must be positive"),
        (["--rerank", "2", "--rerank-topk", "3"], "--rerank-topk must be between"),
        (["--rerank", "1000"], "--rerank must be 1–16 candidates"),  # refused, not run for minutes
        (["--target-lufs", "-100"], "--target-lufs must be within −70…−5 LUFS, got -100"),
        (["--target-lufs", "0"], "--target-lufs must be within −70…−5 LUFS"),
        (["--rerank", "0"], "--rerank must be 1–16 candidates"),
        (["--style", "polka"], "unknown style"),
        (["--backend", "jukebox"], "unknown music backend"),
        (["--lora", "adapter.pt"], "LoRA adapter not found"),
        (["--seed", "-1"], "the seed must be a whole number"),
        (["--merge-video", "--merged-video-path", "{tmp}/v.flv"], "cannot write a video to v.flv"),
        (["--midi-out", "{tmp}/o.wav"], "two outputs would be the same file"),
        (["--rerank", "2", "--rerank-topk", "2", "--midi-out", "{tmp}/o.2.wav"], "same file"),
        (["--midi-out", "{tmp}/score.txt"], "MIDI is written to a .mid file"),
        (["--report", "{tmp}/report.txt"], "the report is JSON"),
    ],
)
def test_bad_options_are_refused_and_nothing_is_written(
    demo: Path, tmp_path: Path, extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "o.wav"
    extra = [arg.replace("{tmp}", str(tmp_path)) for arg in extra]
    assert cli.main(["vidmuse", "--video", str(demo), "-o", str(out), *extra]) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_audio_only_and_missing_inputs_are_refused(
    audio_only: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "o.wav"
    assert cli.main(["vidmuse", "--video", str(audio_only), "-o", str(out)]) == 2
    assert "no video stream" in capsys.readouterr().err
    assert cli.main(["vidmuse", "--video", str(tmp_path / "nope.mp4"), "-o", str(out)]) == 2
    assert not out.exists()


def test_output_may_not_overwrite_the_video(demo: Path, tmp_path: Path) -> None:
    before = hashlib.sha256(demo.read_bytes()).hexdigest()
    code = cli.main(
        ["vidmuse", "--video", str(demo), "-o", str(tmp_path / "m.wav"), "--merged-video-path",
         str(demo), "--merge-video"]
    )  # fmt: skip
    assert code == 2
    assert hashlib.sha256(demo.read_bytes()).hexdigest() == before


def test_main_py_runs_vidmuse_with_the_original_flags(demo: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    out, merged = tmp_path / "music.wav", tmp_path / "final.mp4"
    proc = subprocess.run(
        [sys.executable, str(REPO / "main.py"), "--mode", "vidmuse", "--video_path", str(demo),
         "--output_path", str(out), "--rerank", "2", "--rerank-topk", "1", "--merge-video",
         "--merged-video-path", str(merged), "--seed", "4"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert out.is_file() and probe(merged).has_audio


def test_help_lists_every_style() -> None:
    from audio_creator.jobs.options import STYLE_NAMES
    from audio_creator.music.procedural import STYLES

    assert tuple(STYLES) == STYLE_NAMES


def test_soundfont_option_takes_a_file_and_refuses_a_bad_one(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from audio_creator.music.procedural.render import default_soundfont

    font = tmp_path / "copy.sf2"
    font.write_bytes(default_soundfont().read_bytes())
    out = tmp_path / "m.wav"
    args = ["vidmuse", "--video", str(demo), "-o", str(out), "--duration", "3"]
    assert cli.main([*args, "--soundfont", str(font)]) == 0
    assert sf.info(out).duration == pytest.approx(3.0, abs=1e-3)
    bad = tmp_path / "bad.sf2"
    out.unlink()
    bad.write_bytes(b"RIFF\x04\x00\x00\x00WAVE")  # refused before any work
    assert cli.main([*args, "--soundfont", str(bad)]) == 2
    assert "is not a SoundFont" in capsys.readouterr().err
    bad.write_bytes(b"RIFF\x04\x00\x00\x00sfbk")  # looks like one, but is empty
    assert cli.main([*args, "--soundfont", str(bad)]) == 2
    assert "not a usable SoundFont" in capsys.readouterr().err
    assert not out.exists()
