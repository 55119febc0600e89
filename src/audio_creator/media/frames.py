"""Small RGB frames at a fixed rate, for analysis.

The decoder runs with frame threading, and only the frames that are kept are converted: FFmpeg's
scaler turns the decoder's YUV picture straight into a small RGB image, so no full-resolution RGB
copy is ever made.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np
import numpy.typing as npt
from av.video.reformatter import VideoReformatter

from audio_creator.cores import alone, cores
from audio_creator.errors import ConfigError, MediaError
from audio_creator.media.probe import Video, VideoInfo, probe, video_stream


@dataclass(frozen=True)
class Frame:
    """One sampled picture: `image` is RGB uint8 `[height, width, 3]`, upright."""

    time_s: float  # the sampling instant, k / fps
    source_time_s: float  # presentation time of the decoded frame shown at that instant
    image: npt.NDArray[np.uint8]


def iter_frames(
    path: Video,
    *,
    fps: float,
    short_side: int | None = 224,
    size: tuple[int, int] | None = None,
    autorotate: bool = True,
) -> Iterator[Frame]:
    """Yield the picture on screen at every instant k / fps, for k = 0 … ceil(duration·fps) − 1.

    Args:
        path: a video file (or its `VideoInfo`).
        fps: sampling rate in frames per second (may be lower or higher than the video's).
        short_side: scale so that the shorter displayed side has this many pixels, keeping the
            aspect ratio (width and height rounded to even numbers). None keeps the size.
        size: exact displayed (width, height); overrides `short_side`.
        autorotate: apply the file's display rotation so that images are upright.
    """
    if not fps > 0:
        raise ConfigError(f"frame rate must be positive, got {fps}")
    info = probe(path)
    rotation = info.rotation_deg if autorotate else 0
    display_w, display_h = info.display_size if autorotate else (info.width, info.height)
    out_w, out_h = _output_size(display_w, display_h, short_side, size)
    coded_w, coded_h = (out_h, out_w) if rotation in (90, 270) else (out_w, out_h)
    count = math.ceil(info.duration_s * fps - 1e-9)

    # One reformatter for the whole run: it keeps its scaler, which is costly to set up per frame.
    reformatter = VideoReformatter()

    def convert(frame: av.VideoFrame) -> npt.NDArray[np.uint8]:
        small = reformatter.reformat(
            frame, width=coded_w, height=coded_h, format="rgb24", interpolation="AREA"
        )
        image = np.asarray(small.to_ndarray(), dtype=np.uint8)
        return np.ascontiguousarray(np.rot90(image, k=rotation // 90)) if rotation else image

    emitted = 0
    try:
        with av.open(str(info.path)) as container:
            stream = video_stream(container, info.path)
            stream.thread_type = "AUTO"
            start = float((stream.start_time or 0) * stream.time_base) if stream.time_base else 0.0
            shown: av.VideoFrame | None = None
            shown_time = 0.0
            for frame in container.decode(stream):
                time = frame.time - start if frame.time is not None else shown_time + 1 / info.fps
                # Every instant before this frame starts shows the previous frame (or this one,
                # for instants before the first frame).
                while emitted < count and emitted / fps < time - 1e-6:
                    source, source_time = (
                        (shown, shown_time) if shown is not None else (frame, time)
                    )
                    yield Frame(emitted / fps, source_time, convert(source))
                    emitted += 1
                shown, shown_time = frame, time
            while shown is not None and emitted < count:
                yield Frame(emitted / fps, shown_time, convert(shown))
                emitted += 1
    except av.FFmpegError as exc:
        raise MediaError(f"cannot decode {info.path}: {exc}") from exc


def _output_size(
    width: int, height: int, short_side: int | None, size: tuple[int, int] | None
) -> tuple[int, int]:
    if size is not None:
        if size[0] <= 0 or size[1] <= 0:
            raise ConfigError(f"frame size must be positive, got {size}")
        return size
    if short_side is None:
        return width, height
    if short_side <= 0:
        raise ConfigError(f"short side must be positive, got {short_side}")
    scale = short_side / min(width, height)
    return _even(width * scale), _even(height * scale)


def _even(value: float) -> int:
    return max(2, 2 * round(value / 2))


class Snapshots:
    """Pictures of the frames on screen at a few instants, taken during a pass that decodes every
    frame anyway (`iter_every_frame`), so that they cost no decoding of their own: the same
    pictures `frames_at` finds by seeking, but for the pass's fast decoding (no deblocking: at
    thumbnail sizes, no difference to see). `frames` holds them, in time order, once the pass
    has ended."""

    def __init__(self, times_s: Sequence[float], short_side: int) -> None:
        self.wanted = sorted(max(0.0, t) for t in times_s)
        self.short_side = short_side
        self.frames: list[Frame] = []
        self._previous: tuple[av.VideoFrame, float] | None = None
        self._size = (0, 0)
        self._rotation = 0

    def start(self, info: VideoInfo) -> None:
        self._rotation = info.rotation_deg
        out_w, out_h = _output_size(*info.display_size, self.short_side, None)
        self._size = (out_h, out_w) if self._rotation in (90, 270) else (out_w, out_h)

    def offer(self, frame: av.VideoFrame, time_s: float) -> None:
        """The pass decoded `frame`, shown from `time_s`: the one before it was on screen at
        every wanted instant before `time_s`."""
        while len(self.frames) < len(self.wanted) and time_s > self.wanted[len(self.frames)]:
            shown, shown_s = self._previous or (frame, time_s)  # all later: the first one
            self._take(shown, shown_s)
        self._previous = (frame, time_s)

    def finish(self) -> None:
        """The pass has ended: the last frame is on screen at every instant left."""
        while self._previous is not None and len(self.frames) < len(self.wanted):
            self._take(*self._previous)
        self._previous = None  # the decoder's frame goes back with it

    def _take(self, frame: av.VideoFrame, shown_s: float) -> None:
        width, height = self._size
        image = np.asarray(
            frame.reformat(width=width, height=height, format="rgb24").to_ndarray(), np.uint8
        )
        if self._rotation:
            image = np.ascontiguousarray(np.rot90(image, k=self._rotation // 90))
        self.frames.append(Frame(self.wanted[len(self.frames)], shown_s, image))


def iter_every_frame(
    path: Video,
    *,
    pixels: int = 64 * 36,
    fast_decode: bool = True,
    snapshots: Snapshots | None = None,
) -> Iterator[Frame]:
    """Yield every decoded frame, tiny and upright, at its own presentation time.

    This is the analysis view of a video: nothing is resampled in time, so variable frame rates and
    cut instants stay exact (`time_s == source_time_s`, from the stream's start).

    Args:
        path: a video file (or its `VideoInfo`).
        pixels: about this many pixels per image, keeping the displayed aspect ratio.
        fast_decode: skip the decoder's deblocking filter; invisible at analysis sizes and some
            10 % faster for H.264.
        snapshots: also take these pictures on the way (complete when the iteration is).
    """
    if pixels < 16:
        raise ConfigError(f"analysis frames need at least 16 pixels, got {pixels}")
    info = probe(path)
    rotation = info.rotation_deg
    display_w, display_h = info.display_size
    scale = math.sqrt(pixels / (display_w * display_h))
    out_w, out_h = _even(display_w * scale), _even(display_h * scale)
    coded_w, coded_h = (out_h, out_w) if rotation in (90, 270) else (out_w, out_h)
    reformatter = VideoReformatter()
    if snapshots is not None:
        snapshots.start(info)
    last_time = -math.inf
    step = 1 / (info.fps or 25.0)  # for frames without a timestamp: one frame after the last
    try:
        with av.open(str(info.path)) as container:
            stream = video_stream(container, info.path)
            stream.thread_type = "AUTO"
            # More frame threads than cores: each waits on its reference frames part of the time,
            # and a deeper pipeline keeps the cores busy (measured: 8 threads decode a 720p H.264
            # clip some 30 % faster than the default on two cores). FFmpeg caps it at 16. Jobs
            # side by side (a batch) fill the cores already: one thread each wastes nothing.
            stream.thread_count = min(16, max(8, 2 * cores())) if alone() else cores()
            if fast_decode:
                stream.codec_context.options = {"skip_loop_filter": "all", "flags2": "+fast"}
            start = float((stream.start_time or 0) * stream.time_base) if stream.time_base else 0.0
            for frame in container.decode(stream):
                if frame.time is not None:
                    time = frame.time - start
                else:
                    time = last_time + step if last_time > -math.inf else 0.0
                if time <= last_time:  # a duplicate timestamp: the later picture replaces none
                    continue
                last_time = time
                if snapshots is not None:
                    snapshots.offer(frame, time)
                small = reformatter.reformat(
                    frame, width=coded_w, height=coded_h, format="rgb24", interpolation="AREA"
                )
                image = np.asarray(small.to_ndarray(), dtype=np.uint8)
                if rotation:
                    image = np.ascontiguousarray(np.rot90(image, k=rotation // 90))
                yield Frame(time, time, image)
            if snapshots is not None:
                snapshots.finish()
    except av.FFmpegError as exc:
        raise MediaError(f"cannot decode {info.path}: {exc}") from exc


def frames_at(path: Video, times_s: Sequence[float], *, short_side: int = 360) -> list[Frame]:
    """The pictures on screen at a few instants (thumbnails, frames for a vision model).

    Each instant is found by seeking to the keyframe before it and decoding forward, so a handful
    of frames from a long video costs a handful of short decodes, not a pass over the file.
    """
    info = probe(path)
    rotation = info.rotation_deg
    out_w, out_h = _output_size(*info.display_size, short_side, None)
    coded_w, coded_h = (out_h, out_w) if rotation in (90, 270) else (out_w, out_h)
    frames: list[Frame] = []
    try:
        with av.open(str(info.path)) as container:
            stream = video_stream(container, info.path)
            base = stream.time_base or Fraction(1, 1000)
            start = float((stream.start_time or 0) * base)
            for wanted in sorted(min(max(0.0, t), info.duration_s) for t in times_s):
                container.seek(int((start + wanted) / base), stream=stream, backward=True)
                chosen = _shown_at(container.decode(stream), wanted, start)
                late = chosen is None or (
                    chosen.time is not None and chosen.time - start > wanted + 1 / info.fps
                )
                if late:  # the seek missed (MPEG-TS and other unindexed containers): decode
                    with av.open(str(info.path)) as again:
                        chosen = _shown_at(
                            again.decode(video_stream(again, info.path)), wanted, start
                        )
                if chosen is None:
                    raise MediaError(f"no frame of {info.path} decodes near {wanted:.2f} s")
                small = chosen.reformat(width=coded_w, height=coded_h, format="rgb24")
                image = np.asarray(small.to_ndarray(), dtype=np.uint8)
                if rotation:
                    image = np.ascontiguousarray(np.rot90(image, k=rotation // 90))
                shown = float(chosen.time - start) if chosen.time is not None else wanted
                frames.append(Frame(wanted, shown, image))
    except av.FFmpegError as exc:
        raise MediaError(f"cannot decode {info.path}: {exc}") from exc
    return frames


def _shown_at(frames: Iterator[av.VideoFrame], wanted: float, start: float) -> av.VideoFrame | None:
    """The last frame at or before `wanted` seconds (or the first, if all come later)."""
    chosen: av.VideoFrame | None = None
    for frame in frames:
        if chosen is not None and frame.time is not None and frame.time - start > wanted:
            break  # the frame before this one is on screen at `wanted`
        chosen = frame
    return chosen


def jpeg_bytes(image: npt.NDArray[np.uint8], quality: int = 5) -> bytes:
    """`image` (RGB uint8) as a baseline JPEG, by FFmpeg's MJPEG encoder (qscale 2–31, lower is
    better)."""
    height, width = image.shape[:2]
    codec = av.CodecContext.create("mjpeg", "w")
    codec.width, codec.height = _even(width), _even(height)
    codec.pix_fmt = "yuvj420p"
    codec.time_base = Fraction(1, 25)
    codec.options = {"qscale": str(quality), "strict": "unofficial"}
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
    frame = frame.reformat(width=codec.width, height=codec.height, format="yuvj420p")
    frame.pts = 0
    packets = [*codec.encode(frame), *codec.encode(None)]
    return b"".join(bytes(p) for p in packets)
