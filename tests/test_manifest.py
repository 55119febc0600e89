"""Training manifests: videos paired with their soundtracks, checked, written as CSV."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from audio_creator import cli
from helpers import make_video, run_ffmpeg

ROOT = Path(__file__).resolve().parent.parent


def tone(path: Path, seconds: float) -> Path:
    codec = {".wav": "pcm_s16le", ".flac": "flac", ".mp3": "libmp3lame"}[path.suffix.lower()]
    run_ffmpeg("-f", "lavfi", "-i", f"sine=frequency=330:sample_rate=32000:duration={seconds}",
               "-c:a", codec, "-f", {".wav": "wav", ".flac": "flac", ".mp3": "mp3"}[
                   path.suffix.lower()], str(path))  # fmt: skip
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("clips")
    for name, seconds in (("a.mp4", 2.0), ("b.mp4", 2.0), ("c.MOV", 2.0), ("d.mp4", 2.0),
                          ("e.mp4", 2.0), ("f.mp4", 2.0), ("g.mp4", 2.0)):  # fmt: skip
        make_video(folder / name, audio_codec=None, duration_s=seconds)
    tone(folder / "a.wav", 2.0)
    tone(folder / "b.WAV", 2.0)  # any case
    tone(folder / "C.flac", 2.0)  # another format, another case
    tone(folder / "e.wav", 3.2)  # 1.2 s longer than its video: reported, trimmed
    tone(folder / "g.wav", 12.0)  # 10 s longer: left out, as training would refuse it
    (folder / "f.wav").write_bytes(b"RIFF....WAVEfmt not really")  # does not decode
    tone(folder / "orphan.wav", 1.0)  # no video
    return folder


def test_pairs_are_found_checked_and_written(
    clips: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "train.csv"
    assert cli.main(["manifest", "--video-dir", str(clips), "--output", str(out)]) == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [Path(r["video_path"]).name for r in rows] == ["a.mp4", "b.mp4", "c.MOV", "e.mp4"]
    assert [Path(r["audio_path"]).name for r in rows] == ["a.wav", "b.WAV", "C.flac", "e.wav"]
    assert all(Path(r["video_path"]).is_absolute() for r in rows)
    assert [round(float(r["duration"]), 1) for r in rows] == [2.0, 2.0, 2.0, 2.0]
    said = capsys.readouterr().err
    assert "d.mp4: no audio file named d.<wav" in said
    assert "e.mp4 + e.wav: durations differ by 1.20 s" in said
    assert "f.mp4 + f.wav: left out" in said
    assert "g.mp4 + g.wav: left out, durations differ by 10.00 s" in said
    assert "orphan.wav: no video" in said


def test_the_original_script_and_bad_input(clips: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.csv"
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_manifest.py"), "--video-dir", str(clips),
         "--output", str(out)], capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0 and out.read_text().startswith("video_path,audio_path,duration")
    empty = tmp_path / "empty"
    empty.mkdir()
    bad = tmp_path / "bad.csv"
    assert cli.main(["manifest", "--video-dir", str(empty), "--output", str(bad)]) == 2
    assert cli.main(["manifest", "--video-dir", str(tmp_path / "none"), "--output", str(bad)]) == 2
    assert not bad.exists()
    video = clips / "a.mp4"
    before = video.read_bytes()
    assert cli.main(["manifest", "--video-dir", str(clips), "--output", str(video)]) == 2
    assert video.read_bytes() == before  # never an input overwritten
