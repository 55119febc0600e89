"""The demo video: deterministic, and its cuts, fade and motion are where `DEMO_SCENES` says."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from audio_creator import cli
from audio_creator.audio import load
from audio_creator.media import DEMO_CUTS_S, DEMO_SCENES, iter_frames, make_demo_video, probe
from helpers import packet_hashes, peak_frequency_hz

FPS = 10


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_demo_video(
        tmp_path_factory.mktemp("demo") / "demo.mp4", width=320, height=180, fps=FPS
    )


@pytest.fixture(scope="module")
def small_demo_frames(small_demo: Path) -> np.ndarray:
    images = [f.image.astype(np.float32) for f in iter_frames(small_demo, fps=FPS, short_side=None)]
    return np.stack(images)


def test_the_default_demo_video_is_20_s_of_720p_with_sound(tmp_path: Path) -> None:
    out = tmp_path / "demo.mp4"
    assert cli.main(["demo-video", str(out)]) == 0
    info = probe(out)
    assert (info.width, info.height, info.fps, info.frame_count) == (1280, 720, 30, 600)
    assert info.duration_s == pytest.approx(20.0) and info.video_codec == "h264"
    assert info.has_audio and info.audio_codec == "aac"


def test_the_demo_video_is_deterministic(tmp_path: Path, small_demo: Path) -> None:
    again = make_demo_video(tmp_path / "again.mp4", width=320, height=180, fps=FPS)
    assert packet_hashes(again) == packet_hashes(small_demo)


def test_hard_cuts_are_the_biggest_picture_changes(small_demo_frames: np.ndarray) -> None:
    change = np.abs(np.diff(small_demo_frames, axis=0)).mean(axis=(1, 2, 3))
    biggest = sorted(np.argsort(change)[-len(DEMO_CUTS_S) :] + 1)  # index of the frame after
    assert [i / FPS for i in biggest] == list(DEMO_CUTS_S)
    quietest_cut = min(change[round(c * FPS) - 1] for c in DEMO_CUTS_S)
    others = np.delete(change, [round(c * FPS) - 1 for c in DEMO_CUTS_S])
    assert quietest_cut > 3 * others.max()


def test_the_fade_goes_to_black(small_demo_frames: np.ndarray) -> None:
    fade_scene = next(s for s in DEMO_SCENES if s.transition_out == "fade")
    brightness = small_demo_frames.mean(axis=(1, 2, 3))
    start, end = round((fade_scene.end_s - 1) * FPS), round(fade_scene.end_s * FPS)
    assert np.all(np.diff(brightness[start:end]) < 0)
    assert brightness[end - 1] < 0.15 * brightness[start - 1]


def test_fast_scenes_move_more_than_slow_ones(small_demo_frames: np.ndarray) -> None:
    change = np.abs(np.diff(small_demo_frames, axis=0)).mean(axis=(1, 2, 3))

    def motion(scene_name: str) -> float:
        scene = next(s for s in DEMO_SCENES if s.name == scene_name)
        inside = slice(round(scene.start_s * FPS) + 1, round((scene.end_s - 1) * FPS))
        return float(np.median(change[inside]))

    slow = max(motion(s.name) for s in DEMO_SCENES if s.motion == "slow")
    fast = min(motion(s.name) for s in DEMO_SCENES if s.motion == "fast")
    assert fast > 3 * slow


def test_each_scene_has_its_own_hum(small_demo: Path) -> None:
    audio = load(small_demo, channels=1)
    for k, scene in enumerate(DEMO_SCENES):
        part = audio.samples[
            0, round((scene.start_s + 0.5) * 48000) : round((scene.end_s - 0.5) * 48000)
        ]
        assert peak_frequency_hz(part, 48000) == pytest.approx(110 * 2 ** (k / 4), rel=0.01)
