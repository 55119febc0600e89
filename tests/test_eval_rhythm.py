"""Rhythm measures on signals whose answer is known: a pulsing picture with sound in step and
out of step, click tracks at known tempi (librosa's beat tracker as the independent
reference), cuts on and off the beat."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from audio_creator.analysis.onsets import onset_strength
from audio_creator.audio import Audio
from audio_creator.eval import rhythm
from helpers import run_ffmpeg

RATE = 32000


def clicks(times_s: list[float] | np.ndarray, seconds: float) -> Audio:
    """Short decaying noise bursts at `times_s`."""
    rng = np.random.default_rng(0)
    out = np.zeros(round(seconds * RATE), np.float32)
    burst = rng.normal(size=round(0.03 * RATE)) * np.exp(-np.arange(round(0.03 * RATE)) / 200)
    for t in times_s:
        start = round(t * RATE)
        piece = burst[: max(0, out.size - start)]
        out[start : start + piece.size] += 0.5 * piece.astype(np.float32)
    return Audio(out[None], RATE)


@pytest.fixture(scope="module")
def pulsing_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8 s at 25 fps: a white square that jumps about for the first 0.2 s of every second and
    stands still otherwise."""
    folder = tmp_path_factory.mktemp("pulse")
    raw = folder / "frames.gray"
    rng = np.random.default_rng(1)
    frames = []
    x, y = 40, 40
    for k in range(8 * 25):
        if (k % 25) < 5:  # moving
            x, y = (int(v) for v in rng.integers(16, 96, 2))
        image = np.zeros((128, 128), np.uint8)
        image[y : y + 24, x : x + 24] = 255
        frames.append(image)
    raw.write_bytes(np.stack(frames).tobytes())
    video = folder / "pulse.mp4"
    run_ffmpeg("-f", "rawvideo", "-pix_fmt", "gray", "-s", "128x128", "-r", "25", "-i", str(raw),
               "-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "1", str(video))  # fmt: skip
    return video


@pytest.mark.parametrize("flow", ["farneback", "normal-flow"])
def test_motion_and_onsets_in_step_correlate_and_out_of_step_anticorrelate(
    pulsing_video: Path, flow: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if flow == "farneback":
        pytest.importorskip("cv2")
    else:
        import builtins

        real_import = builtins.__import__

        def no_cv2(name: str, *args: object, **kwargs: object) -> object:
            if name == "cv2":
                raise ImportError("no OpenCV here")
            return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(builtins, "__import__", no_cv2)
    motion, method = rhythm.motion_curve(pulsing_video)
    assert method == flow
    pulses = [float(s) + 0.04 * j for s in range(8) for j in range(5)]  # a sound per jump
    in_step = rhythm.motion_onset_r(motion, onset_strength(clicks(pulses, 8.0)))
    out_of_step = rhythm.motion_onset_r(
        motion, onset_strength(clicks([p + 0.5 for p in pulses], 8.0))
    )
    assert in_step > 0.8, in_step
    assert out_of_step < 0, out_of_step


@pytest.mark.parametrize("bpm", [100.0, 137.0, 72.0])
def test_tempo_and_beats_of_a_click_track_agree_with_librosa(bpm: float) -> None:
    librosa = pytest.importorskip("librosa")
    times = np.arange(0.5, 20.0, 60.0 / bpm)
    audio = clicks(times, 20.5)
    tempo, beats = rhythm.track_beats(onset_strength(audio))
    assert tempo == pytest.approx(bpm, rel=0.02)
    theirs, _ = librosa.beat.beat_track(y=audio.samples[0], sr=RATE, units="time")
    assert float(np.atleast_1d(theirs)[0]) == pytest.approx(bpm, rel=0.03)
    inner = times[(times > 1.5) & (times < 19.0)]
    gaps = np.abs(inner[:, None] - beats[None, :]).min(axis=1)
    assert gaps.max() < 0.03, gaps.max()  # every click has a beat on it


def test_cut_hit_rate() -> None:
    beats = np.arange(0.0, 10.0, 0.5)
    assert rhythm.cut_hit_rate((1.0, 2.56, 3.2, 4.6), beats) == 0.5  # 60 ms in, 100 out
    assert rhythm.cut_hit_rate((), beats) is None
    assert rhythm.cut_hit_rate((1.0,), np.zeros(0)) == 0.0
