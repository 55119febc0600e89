"""The `mix` metric on mixes made in the test from a spoken sentence (the bundled voice) and a
music bed at known gains."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from audio_creator import cli
from audio_creator.audio import Audio, load, save
from audio_creator.dsp.loudness import integrated_lufs
from audio_creator.eval import mixing
from helpers import make_video

RATE = 22050


@pytest.fixture(scope="module")
def stems(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("mixeval")
    speech = root / "speech.wav"
    text = "The harbour wakes slowly. Boats leave one by one, and the gulls follow them out."
    assert cli.main(["tts", "--text", text, "-o", str(speech), "--sample-rate", str(RATE)]) == 0
    seconds = load(speech).duration_s
    rng = np.random.default_rng(0)
    t = np.arange(round(seconds * RATE)) / RATE
    bed = sum(np.sin(2 * np.pi * f * t) for f in (196.0, 247.0, 294.0)) / 3
    bed = bed + 0.3 * rng.normal(size=t.size)  # a chord and some noise: a dense bed
    music = root / "music.wav"
    save(Audio(bed.astype(np.float32)[None] * 0.3, RATE), music)
    return {"root": root, "speech": speech, "music": music}


def mix_of(stems: dict[str, Path], speech_gain: float, music_gain: float) -> Audio:
    speech, music = load(stems["speech"]), load(stems["music"])
    samples = speech_gain * speech.samples + music_gain * music.fit_frames(speech.frames).samples
    return Audio(samples.astype(np.float32), RATE)


def test_speech_to_music_difference_and_intelligibility(stems: dict[str, Path]) -> None:
    pytest.importorskip("pystoi")
    speech, music = load(stems["speech"]), load(stems["music"])
    clear, buried = mix_of(stems, 0.8, 0.1), mix_of(stems, 0.8, 1.5)
    # the stem's gain is estimated against the bed, so the estimate wavers with how much the
    # two happen to correlate: within 0.3 LU for a clear mix, 0.6 with the bed 10 LU above
    for mix, music_gain, within in ((clear, 0.1, 0.3), (buried, 1.5, 0.6)):
        found = mixing.measure(mix, -16.0, -1.0, speech)
        expected = integrated_lufs(Audio(speech.samples * 0.8, RATE)) - integrated_lufs(
            Audio(music.fit_frames(speech.frames).samples * music_gain, RATE)
        )
        assert found["speech_to_music_lu"] == pytest.approx(expected, abs=within)
        assert found["integrated_lufs"] == pytest.approx(integrated_lufs(mix), abs=0.01)
        assert found["lufs_error"] == pytest.approx(integrated_lufs(mix) + 16.0, abs=0.01)
    high = mixing.measure(clear, -16.0, -1.0, speech)["estoi"]
    low = mixing.measure(buried, -16.0, -1.0, speech)["estoi"]
    assert high > 0.7 and low < high - 0.3, (high, low)  # (the voice varies a little per run)


def test_the_mix_metric_from_the_command_line(stems: dict[str, Path], tmp_path: Path) -> None:
    video = make_video(tmp_path / "v.mp4", audio_codec=None, duration_s=2.0)
    mix = tmp_path / "mix.wav"
    save(mix_of(stems, 0.8, 0.2), mix)
    manifest = tmp_path / "m.csv"
    with manifest.open("w", newline="") as f:
        csv.writer(f).writerows([["video_path", "audio_path", "speech_path"],
                                 [video, mix, stems["speech"]]])  # fmt: skip
    out = tmp_path / "out"
    args = ["eval", "--manifest", str(manifest), "--metrics", "mix", "--output-dir", str(out),
            "--target-lufs", "-20"]  # fmt: skip
    assert cli.main(args) == 0
    clip = json.loads((out / "results.json").read_text())["clips"][0]
    assert clip["lufs_error"] == pytest.approx(integrated_lufs(load(mix)) + 20, abs=0.01)
    assert clip["speech_to_music_lu"] > 5
