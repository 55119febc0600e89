"""`audio-creator mix` and `main.py --mode mix` with the original flags."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audio_creator import cli
from helpers import ffmpeg_loudness, sine, speech_like

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def stems(tmp_path: Path) -> tuple[Path, Path]:
    rate = 44100
    music = np.stack([sine(220, rate, 15.0, 0.5), sine(330, rate, 15.0, 0.5)])
    sf.write(tmp_path / "music.wav", music.T, rate, subtype="PCM_16")
    speech = speech_like(22050, [(2.0, 6.0), (8.0, 11.0)], level=0.05)
    sf.write(tmp_path / "speech.wav", speech, 22050, subtype="PCM_16")
    return tmp_path / "music.wav", tmp_path / "speech.wav"


def test_mix_writes_a_normalised_wav_and_a_report(
    tmp_path: Path, stems: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    music, speech = stems
    out, report = tmp_path / "out" / "mix.wav", tmp_path / "out" / "report.json"
    code = cli.main(
        [
            "mix",
            "--music",
            str(music),
            "--speech",
            f"{speech}@1.5",
            "-o",
            str(out),
            "--target-lufs",
            "-14",
            "--report",
            str(report),
        ]
    )
    assert code == 0
    info = sf.info(out)
    assert (info.samplerate, info.channels, info.subtype) == (48000, 2, "PCM_24")
    assert info.duration == pytest.approx(13.5, abs=0.01)  # the 12 s speech file, offset by 1.5 s
    theirs = ffmpeg_loudness(out)
    assert theirs["I"] == pytest.approx(-14.0, abs=0.1) and theirs["TP"] <= -1.0
    data = json.loads(report.read_text())
    assert data["integrated_lufs"] == pytest.approx(-14.0, abs=0.05)
    assert data["duck_depth_db"] == 8.0 and data["speech_over_music_lu"] >= 10
    assert "integrated_lufs" in capsys.readouterr().out


def test_main_py_mix_with_the_original_flags(tmp_path: Path, stems: tuple[Path, Path]) -> None:
    music, speech = stems
    out = tmp_path / "mixed.wav"
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "main.py"),
            "--mode",
            "mix",
            "--music_path",
            str(music),
            "--speech_path",
            str(speech),
            "--output_path",
            str(out),
            "--music_volume",
            "0.6",
            "--speech_volume",
            "1.0",
            "--ducking-db",
            "8.0",
            "--target-lufs",
            "-16",
            "--duck-attack",
            "0.1",
            "--duck-release",
            "0.4",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert ffmpeg_loudness(out)["I"] == pytest.approx(-16.0, abs=0.1)


def test_music_only_mastering(tmp_path: Path, stems: tuple[Path, Path]) -> None:
    out = tmp_path / "master.wav"
    assert (
        cli.main(
            [
                "mix",
                "--music",
                str(stems[0]),
                "-o",
                str(out),
                "--bit-depth",
                "16",
                "--sample-rate",
                "44100",
                "--channels",
                "1",
            ]
        )
        == 0
    )
    info = sf.info(out)
    assert (info.samplerate, info.channels, info.subtype) == (44100, 1, "PCM_16")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--target-lufs", "-80"], "within −70…−5"),
        (["--true-peak", "0.5"], "≤ 0 dBTP"),
        (["--ducking-db", "-3"], "ducking depth"),
        (["--duration", "0"], "duration must be positive"),
        (["--duration", "1e9"], "at most 4 hours"),  # refused at once, not rendered for hours
        (["--duration", "14401"], "at most 4 hours"),
        (["--speech", "{music}@1e9"], "a track's start is 1e+09 s"),
    ],
)
def test_bad_options_exit_2_and_write_nothing(
    tmp_path: Path,
    stems: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    message: str,
) -> None:
    out = tmp_path / "o" / "mix.wav"
    extra = [arg.replace("{music}", str(stems[0])) for arg in extra]
    assert cli.main(["mix", "--music", str(stems[0]), "-o", str(out), *extra]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_bad_inputs_exit_2_and_write_nothing(
    tmp_path: Path, stems: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    music, _ = stems
    nan = tmp_path / "nan.wav"
    data = np.zeros((4800, 2), np.float32)
    data[10] = np.nan
    sf.write(nan, data, 48000, subtype="FLOAT")
    out = tmp_path / "mix.wav"
    cases = [
        (["--music", str(nan)], "NaN or infinite"),
        (["--music", str(tmp_path / "missing.wav")], "not found"),
        ([], "nothing to mix"),
        (["--music", str(music), "--speech", "@3"], "expected FILE or FILE@SECONDS"),
    ]
    for args, message in cases:
        assert cli.main(["mix", *args, "-o", str(out)]) == 2
        assert message in capsys.readouterr().err
    assert cli.main(["mix", "--music", str(music), "-o", str(tmp_path / "mix.flac")]) == 2
    assert cli.main(["mix", "--music", str(music), "-o", str(music)]) == 2
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == [
        "music.wav",
        "nan.wav",
        "speech.wav",
    ]


def test_long_inputs_streamed_from_disk_mix_the_same(
    tmp_path: Path, stems: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import audio_creator.audio_source as source

    music, speech = stems
    rate = 44100  # the stems' own rate: streamable as they are
    args = ["mix", "--music", str(music), "--speech", f"{speech}@1.0", "--sample-rate", str(rate)]
    assert cli.main([*args, "-o", str(tmp_path / "memory.wav")]) == 0
    monkeypatch.setattr(source, "IN_MEMORY_BYTES", 0)  # every input now counts as long
    assert isinstance(source.open_audio(music, rate), source.AudioFile)
    assert cli.main([*args, "-o", str(tmp_path / "streamed.wav")]) == 0
    in_memory, _ = sf.read(tmp_path / "memory.wav")
    streamed, _ = sf.read(tmp_path / "streamed.wav")
    np.testing.assert_allclose(streamed, in_memory, atol=2**-22)  # speech at 22.05 kHz: decoded
    assert ffmpeg_loudness(tmp_path / "streamed.wav")["I"] == pytest.approx(-16.0, abs=0.1)


def test_a_streamed_input_with_nan_fails_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import audio_creator.audio_source as source

    data = np.zeros((48000 * 3, 2), np.float32)
    data[100000] = np.inf
    sf.write(tmp_path / "bad.wav", data, 48000, subtype="FLOAT")
    monkeypatch.setattr(source, "IN_MEMORY_BYTES", 0)
    out = tmp_path / "out.wav"
    assert cli.main(["mix", "--music", str(tmp_path / "bad.wav"), "-o", str(out)]) == 2
    assert "NaN or infinite" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.wav"]


@pytest.mark.parametrize(("option", "frames", "message"), [
    ("--music", 1, "too short to loop as music (at least 1 s)"),
    ("--music", 24000, "too short to loop as music"),
    ("--speech", 1, "too short to mix (at least 0.05 s)"),
])  # fmt: skip
def test_a_track_of_a_few_samples_is_refused_with_what_is_wrong(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, frames: int, message: str
) -> None:
    """A 1-sample music file looped for a minute of programme, or a 1-sample narration mixed
    into a 1-sample "silent programme": say what is wrong, at once."""
    import numpy as np
    import soundfile as sf

    tiny = tmp_path / "tiny.wav"
    sf.write(tiny, np.full((frames, 2), 0.5, dtype=np.float32), 48000)
    out = tmp_path / "o" / "mix.wav"
    argv = ["mix", option, str(tiny), "--duration", "60", "-o", str(out)]
    assert cli.main(argv) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()
