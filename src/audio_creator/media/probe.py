"""What is in a video file: `probe(path) -> VideoInfo`.

A function that reads a video takes a `Video`: a path, or the `VideoInfo` of a probe made
already, so that a job which probes its input once hands the facts on instead of opening the
file again for them.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, TypeAlias

import av
import av.stream

from audio_creator.errors import MediaError
from audio_creator.files import check_input_file

SUPPORTED_VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi")
SHORTEST_VIDEO_S = 1.0  # the jobs that follow a video make nothing useful for less


@dataclass(frozen=True)
class VideoInfo:
    """The facts about a video file that the rest of the project needs. Times in seconds."""

    path: Path
    container: str  # FFmpeg's demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2" or "matroska,webm"
    duration_s: float  # of the video stream
    width: int  # coded size, before rotation
    height: int
    fps: float  # average frame rate
    frame_count: int
    rotation_deg: int  # display rotation, counter-clockwise, one of 0, 90, 180, 270
    video_codec: str
    pixel_format: str
    has_audio: bool
    audio_codec: str | None = None
    audio_sample_rate: int | None = None
    audio_channels: int | None = None

    @property
    def display_size(self) -> tuple[int, int]:
        """(width, height) as the video is shown, after rotation."""
        if self.rotation_deg in (90, 270):
            return self.height, self.width
        return self.width, self.height

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["path"] = str(self.path)
        data["display_size"] = list(self.display_size)
        return data


Video: TypeAlias = str | os.PathLike[str] | VideoInfo  # a video file, or a probe's answer


def probe(video: Video) -> VideoInfo:
    """Read the container and stream facts of a video file (a `VideoInfo` is its own answer).

    Raises:
        MediaError: the file is missing, empty, not a media file, truncated, or has no video.
    """
    if isinstance(video, VideoInfo):
        return video
    return _probe_file(check_input_file(video, what="video"))


def _probe_file(p: Path) -> VideoInfo:
    try:
        with av.open(str(p)) as container:
            video = video_stream(container, p)
            _check_not_truncated(video, p)
            duration_s = _video_duration_s(container, video)
            fps = float(video.average_rate or video.guessed_rate or video.base_rate or 0)
            rotation = _rotation_deg(container, video, p)
            audio = container.streams.audio[0] if container.streams.audio else None
            info = VideoInfo(
                path=p,
                container=container.format.name,
                duration_s=duration_s,
                width=video.codec_context.width,
                height=video.codec_context.height,
                fps=fps,
                frame_count=video.frames or round(duration_s * fps),
                rotation_deg=rotation,
                video_codec=video.codec_context.codec.canonical_name,
                pixel_format=video.format.name if video.format else "unknown",
                has_audio=audio is not None,
                audio_codec=audio.codec_context.codec.canonical_name if audio else None,
                audio_sample_rate=audio.rate if audio else None,
                audio_channels=audio.channels if audio else None,
            )
    except av.InvalidDataError as exc:
        raise MediaError(
            f"cannot read {p}: it is truncated or not a video ({exc.strerror or 'invalid data'})"
        ) from exc
    except av.FFmpegError as exc:
        raise MediaError(f"cannot read {p} as a video: {exc.strerror or exc}") from exc
    if info.duration_s <= 0 or info.fps <= 0:
        raise MediaError(f"{p} contains no video frames")
    return info


def video_stream(container: av.container.InputContainer, path: Path) -> av.VideoStream:
    """The main video stream of an open container (cover art doesn't count), or MediaError."""
    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    kind = "an audio file" if container.streams.audio else "not a video"
    raise MediaError(f"{path} has no video stream ({kind}); a video file is required here")


def _video_duration_s(container: av.container.InputContainer, video: av.VideoStream) -> float:
    # Matroska's per-stream tag first: for MKV/WebM, FFmpeg fills the stream's own duration field
    # with the whole file's, which includes the audio codec's padding.
    tagged = _parse_clock(video.metadata.get("DURATION", ""))
    if tagged is not None:
        return tagged
    if video.duration is not None and video.time_base is not None:
        return float(video.duration * video.time_base)
    if container.duration is not None:  # otherwise only the container's duration is known
        start = float(container.start_time or 0) / av.time_base
        stream_start = float((video.start_time or 0) * (video.time_base or Fraction(0)))
        return float(container.duration) / av.time_base - max(0.0, stream_start - start)
    return 0.0


def _parse_clock(text: str) -> float | None:
    """Seconds in an "HH:MM:SS.fraction" string, or None."""
    parts = text.split(":")
    if len(parts) != 3:
        return None
    try:
        return int(parts[0]) * 3600 + int(parts[1]) * 60 + float(parts[2])
    except ValueError:
        return None


def _check_not_truncated(video: av.VideoStream, path: Path) -> None:
    """An index that points past the end of the file means the file was cut short."""
    entries = getattr(video, "index_entries", None)  # PyAV ≥ 15
    if not entries:
        return
    last = entries[len(entries) - 1]
    if last.pos >= 0 and last.pos + last.size > path.stat().st_size:
        raise MediaError(f"{path} is truncated: its index points past the end of the file")


def _rotation_deg(container: av.container.InputContainer, video: av.VideoStream, path: Path) -> int:
    """The display rotation, read from the first decoded frame's display matrix."""
    video.thread_type = "AUTO"
    try:
        frame = next(container.decode(video), None)
    except av.FFmpegError as exc:
        raise MediaError(f"{path}: cannot decode its video stream: {exc}") from exc
    if frame is None:
        raise MediaError(f"{path} contains no video frames")
    return round(getattr(frame, "rotation", 0) or 0) % 360
