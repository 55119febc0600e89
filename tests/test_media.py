"""`media/`: probing every container, sampling frames at a rate, muxing with copied video."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pytest

from audio_creator.audio import Audio
from audio_creator.errors import ConfigError, MediaError
from audio_creator.media import iter_frames, mux, probe
from conftest import CONTAINER_SAMPLES
from helpers import decode_audio_with_ffmpeg, make_video, packet_hashes, run_ffmpeg, sine

# ----------------------------------------------------------------------------------------- probe

EXPECTED_CODECS = {
    "mp4": ("h264", "aac"),
    "mov": ("h264", "aac"),
    "mkv": ("h264", "opus"),
    "webm": ("vp8", "opus"),
    "avi": ("mpeg4", "mp3"),
}


@pytest.mark.parametrize("name", sorted(CONTAINER_SAMPLES))
def test_probe_reads_every_supported_container(sample_videos: dict[str, Path], name: str) -> None:
    info = probe(sample_videos[name])
    assert (info.width, info.height, info.rotation_deg) == (320, 240, 0)
    assert info.fps == pytest.approx(25)
    assert info.duration_s == pytest.approx(2.0, abs=0.041)
    assert abs(info.frame_count - 50) <= 1  # ffmpeg's AVI writer may leave one empty frame slot
    assert (info.video_codec, info.audio_codec) == EXPECTED_CODECS[name]
    assert info.has_audio and info.audio_sample_rate == 48000 and info.audio_channels == 1
    assert info.to_dict()["display_size"] == [320, 240]


def test_probe_reports_rotation_and_the_displayed_size(rotated_video: Path) -> None:
    info = probe(rotated_video)
    assert info.rotation_deg == 90
    assert (info.width, info.height) == (320, 240) and info.display_size == (240, 320)


def test_probe_of_a_video_without_audio(silent_video: Path) -> None:
    info = probe(silent_video)
    assert not info.has_audio and info.audio_codec is None


def test_probe_refuses_an_audio_only_file(audio_only: Path) -> None:
    with pytest.raises(MediaError, match=r"no video stream .*audio file"):
        probe(audio_only)


def test_probe_detects_a_truncated_mp4_with_its_index_first(
    tmp_path: Path, sample_videos: dict[str, Path]
) -> None:
    faststart = tmp_path / "faststart.mp4"
    run_ffmpeg(
        "-i", str(sample_videos["mp4"]), "-c", "copy", "-movflags", "+faststart", str(faststart)
    )
    data = faststart.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(MediaError, match="truncated"):
        probe(cut)


# ---------------------------------------------------------------------------------------- frames


@pytest.fixture(scope="module")
def numbered_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 s at 25 fps whose frame n is a flat grey of luma 16 + 4n, losslessly coded."""
    out = tmp_path_factory.mktemp("numbered") / "numbered.mkv"
    run_ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "nullsrc=size=64x48:rate=25:duration=2",
        "-vf",
        "geq=lum='16+4*N':cb=128:cr=128",
        "-c:v",
        "libx264",
        "-qp",
        "0",
        "-pix_fmt",
        "yuv420p",
        str(out),
    )
    return out


def _frame_number(image: np.ndarray) -> int:
    """Invert the grey level of `numbered_video` (limited-range luma → full-range RGB)."""
    return round((float(image.mean()) - 0) / (4 * 255 / 219))


@pytest.mark.parametrize("fps", [8.0, 25.0, 30.0, 3.0])
def test_iter_frames_samples_the_frame_on_screen_at_each_instant(
    numbered_video: Path, fps: float
) -> None:
    frames = list(iter_frames(numbered_video, fps=fps, short_side=None))
    assert len(frames) == math.ceil(2.0 * fps)
    for k, frame in enumerate(frames):
        assert frame.time_s == pytest.approx(k / fps)
        shown = math.floor(k / fps * 25 + 1e-6)  # the last source frame that started by then
        assert frame.source_time_s == pytest.approx(shown / 25)
        assert _frame_number(frame.image) == shown
        assert frame.image.dtype == np.uint8 and frame.image.shape == (48, 64, 3)


@pytest.mark.parametrize("name", sorted(CONTAINER_SAMPLES))
def test_iter_frames_scales_to_the_requested_short_side(
    sample_videos: dict[str, Path], name: str
) -> None:
    frames = list(iter_frames(sample_videos[name], fps=8, short_side=120))
    assert len(frames) == math.ceil(probe(sample_videos[name]).duration_s * 8 - 1e-9)
    assert all(f.image.shape == (120, 160, 3) for f in frames)


def test_iter_frames_matches_ffmpeg_for_content(sample_videos: dict[str, Path]) -> None:
    ours = next(iter(iter_frames(sample_videos["mp4"], fps=1, size=(160, 120)))).image.astype(float)
    raw = run_ffmpeg(
        "-i",
        str(sample_videos["mp4"]),
        "-frames:v",
        "1",
        "-vf",
        "scale=160:120",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "-",
    )
    ref = np.frombuffer(raw, np.uint8).reshape(120, 160, 3).astype(float)
    assert np.abs(ours - ref).mean() < 6  # different scalers, same picture


def test_iter_frames_turns_rotated_video_upright_like_ffmpeg(rotated_video: Path) -> None:
    ours = next(iter(iter_frames(rotated_video, fps=1, short_side=120))).image
    assert ours.shape == (160, 120, 3)
    raw = run_ffmpeg(
        "-i",
        str(rotated_video),
        "-frames:v",
        "1",
        "-vf",
        "scale=120:160",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "-",
    )  # ffmpeg autorotates by default
    ref = np.frombuffer(raw, np.uint8).reshape(160, 120, 3).astype(float)
    assert np.abs(ours - ref).mean() < 6
    assert np.abs(np.rot90(ours, 2) - ref).mean() > 20  # the wrong way round would be far off
    unrotated = next(iter(iter_frames(rotated_video, fps=1, short_side=120, autorotate=False)))
    assert unrotated.image.shape == (120, 160, 3)


def test_iter_frames_rejects_a_bad_rate(sample_videos: dict[str, Path]) -> None:
    with pytest.raises(ConfigError):
        next(iter(iter_frames(sample_videos["mp4"], fps=0)))


# ------------------------------------------------------------------------------------------- mux


def _soundtrack(duration_s: float, rate: int = 44100) -> Audio:
    tone = sine(1000, rate, duration_s, 0.3)
    return Audio(np.stack([tone, -tone]), rate)


@pytest.mark.parametrize(
    ("source", "suffix"),
    [
        ("mp4", ".mp4"),
        ("mp4", ".mov"),
        ("mp4", ".mkv"),
        ("mkv", ".mp4"),
        ("avi", ".mp4"),
        ("webm", ".webm"),
        ("webm", ".mkv"),
        ("mov", ".m4v"),
    ],
)
@pytest.mark.parametrize("audio_s", [3.0, 1.2])
def test_mux_copies_video_packets_and_fits_the_audio(
    tmp_path: Path, sample_videos: dict[str, Path], source: str, suffix: str, audio_s: float
) -> None:
    video = sample_videos[source]
    out = tmp_path / f"out{suffix}"
    result = mux(video, _soundtrack(audio_s), out)
    assert result.video_copied and out.exists()
    assert packet_hashes(out) == packet_hashes(video)  # bit for bit, no re-encode
    info, source_info = probe(out), probe(video)
    assert info.duration_s == pytest.approx(source_info.duration_s, abs=1e-3)
    if source != "avi":  # ffmpeg's AVI sample has an empty slot that the copy drops
        assert info.frame_count == source_info.frame_count
    assert info.has_audio and info.audio_codec == ("opus" if suffix == ".webm" else "aac")
    decoded = decode_audio_with_ffmpeg(out)
    frame_s = 1 / info.fps
    assert abs(decoded.shape[1] / 48000 - info.duration_s) <= frame_s
    # The soundtrack is really there: loud where it was given, silent where it was padded.
    assert np.abs(decoded[:, 4800:9600]).max() > 0.2
    if audio_s < info.duration_s:
        assert np.abs(decoded[:, round((audio_s + 0.1) * 48000) :]).max() < 0.01


def test_mux_keeps_rotation_and_metadata(tmp_path: Path, rotated_video: Path) -> None:
    out = tmp_path / "out.mp4"
    mux(rotated_video, _soundtrack(2.0), out)
    info = probe(out)
    assert info.rotation_deg == 90
    import av

    with av.open(str(out)) as container:
        assert container.metadata.get("title") == "Rotated sample"
        assert container.streams.video[0].metadata.get("language") == "fra"


def _sample_entry(path: Path) -> str:
    """The video's codec tag as FFmpeg reports it (`… (hvc1 / 0x31637668)`): an independent
    reading of the MP4 sample entry."""
    import re
    import subprocess

    from helpers import ffmpeg

    command = [ffmpeg(), "-hide_banner", "-i", str(path)]
    said = subprocess.run(command, capture_output=True, check=False)  # it exits 1: no output
    found = re.search(r"Video: \w+[^,]*?\((\w{4}) / 0x[0-9a-fA-F]+\)", said.stderr.decode())
    assert found, said.stderr.decode()
    return found.group(1)


@pytest.mark.parametrize(
    ("codec", "tag"),
    [("libx264", "avc1"), ("libx265", "hvc1"), ("libx265", "hev1")],
)
def test_mux_keeps_the_sources_sample_entry(tmp_path: Path, codec: str, tag: str) -> None:
    """iPhone footage is HEVC tagged hvc1; Apple players refuse hev1, the muxer's default."""
    source = make_video(tmp_path / f"{tag}.mp4", video_codec=codec, audio_codec=None,
                        duration_s=1.0, size="160x96", extra=("-tag:v", tag))  # fmt: skip
    assert _sample_entry(source) == tag
    for suffix in (".mp4", ".mov"):
        out = tmp_path / f"out{suffix}"
        mux(source, _soundtrack(1.0), out)
        assert _sample_entry(out) == tag, suffix


def test_mux_re_encodes_what_the_container_cannot_hold(
    tmp_path: Path, sample_videos: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "vp8.mp4"
    with caplog.at_level(logging.WARNING):
        result = mux(sample_videos["webm"], _soundtrack(2.0), out)
    assert not result.video_copied and result.video_codec == "h264"
    assert "vp8 video cannot be stored in .mp4; re-encoding" in caplog.text
    info = probe(out)
    assert info.video_codec == "h264" and info.frame_count == 50
    assert info.duration_s == pytest.approx(2.0, abs=0.041)


def test_mux_into_avi_keeps_the_frame_rate(tmp_path: Path, sample_videos: dict[str, Path]) -> None:
    out = tmp_path / "out.avi"
    result = mux(sample_videos["mp4"], _soundtrack(2.0), out)
    info = probe(out)
    assert result.video_copied and info.video_codec == "h264" and info.audio_codec == "mp3"
    assert info.fps == pytest.approx(25) and info.frame_count == 50
    assert len(list(iter_frames(out, fps=25, short_side=None))) == 50


def test_mux_gives_a_silent_video_a_soundtrack(tmp_path: Path, silent_video: Path) -> None:
    out = tmp_path / "scored.mp4"
    mux(silent_video, _soundtrack(2.0, rate=22050), out)  # an odd rate is resampled for AAC
    info = probe(out)
    assert info.has_audio and info.audio_sample_rate == 48000


def test_mux_refuses_unknown_suffix_and_own_input(
    tmp_path: Path, sample_videos: dict[str, Path]
) -> None:
    with pytest.raises(ConfigError, match="use one of"):
        mux(sample_videos["mp4"], _soundtrack(1.0), tmp_path / "out.flv")
    with pytest.raises(MediaError, match="also an input"):
        mux(sample_videos["mp4"], _soundtrack(1.0), sample_videos["mp4"])


def test_mux_of_a_long_hd_video_is_sample_accurate(tmp_path: Path) -> None:
    video = make_video(
        tmp_path / "hd.mp4",
        size="1280x720",
        fps=30,
        duration_s=6.0,
        audio_codec=None,
        extra=("-preset", "ultrafast"),
    )
    out = tmp_path / "hd_scored.mkv"
    mux(video, _soundtrack(10.0, rate=48000), out)
    decoded = decode_audio_with_ffmpeg(out)
    assert abs(decoded.shape[1] - 6 * 48000) <= 48000 / 30
    assert packet_hashes(out) == packet_hashes(video)
