"""Shared fixtures: small test videos, one per supported container (made once per run), and a
local OpenAI-compatible chat endpoint."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import make_video, run_ffmpeg

# The music of every test is rendered with the bundled SoundFont, whatever fonts this machine
# has (and so do the commands the tests start): a test of the discovery names its own folders.
os.environ["AUDIO_CREATOR_SOUNDFONT_DIRS"] = ""

# name → (file name, video codec, audio codec or None)
CONTAINER_SAMPLES = {
    "mp4": ("h264.mp4", "libx264", "aac"),
    "mov": ("h264.mov", "libx264", "aac"),
    "mkv": ("h264.mkv", "libx264", "libopus"),
    "webm": ("vp8.webm", "libvpx", "libopus"),
    "avi": ("mpeg4.avi", "mpeg4", "libmp3lame"),
}


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def sample_videos(media_dir: Path) -> dict[str, Path]:
    """2 s, 25 fps, 320×240 test-pattern videos with a 440 Hz tone, one per container."""
    return {
        name: make_video(media_dir / file, video_codec=vcodec, audio_codec=acodec)
        for name, (file, vcodec, acodec) in CONTAINER_SAMPLES.items()
    }


@pytest.fixture(scope="session")
def rotated_video(media_dir: Path, sample_videos: dict[str, Path]) -> Path:
    """The MP4 sample with a 90° display rotation and some metadata, stream-copied by ffmpeg."""
    out = media_dir / "rotated.mp4"
    run_ffmpeg(
        "-display_rotation",
        "90",
        "-i",
        str(sample_videos["mp4"]),
        "-c",
        "copy",
        "-metadata",
        "title=Rotated sample",
        "-metadata:s:v:0",
        "language=fra",
        str(out),
    )
    return out


@pytest.fixture(scope="session")
def silent_video(media_dir: Path) -> Path:
    return make_video(media_dir / "silent.mp4", audio_codec=None)


@pytest.fixture(scope="session")
def audio_only(media_dir: Path) -> Path:
    out = media_dir / "tone.m4a"
    run_ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=44100:duration=1.5",
        "-c:a",
        "aac",
        str(out),
    )
    return out


@pytest.fixture
def server() -> Iterator[str]:
    """A local OpenAI-compatible chat endpoint (see chat_server.py); its base URL."""
    from chat_server import serving

    with serving() as url:
        yield url


@pytest.fixture(scope="session")
def batch_videos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A batch's folder: four short videos (4–7 s), a file that only calls itself one, and a
    text file that a batch of videos leaves alone."""
    folder = tmp_path_factory.mktemp("batch-videos")
    for number in range(1, 5):
        make_video(folder / f"clip{number}.mp4", duration_s=3.0 + number, size="96x64")
    (folder / "broken.mp4").write_bytes(b"not a video at all")
    (folder / "notes.txt").write_text("not a video, and not named as one\n")
    return folder
