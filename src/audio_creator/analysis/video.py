"""`analyse_video(path) -> VideoAnalysis`: what the music should follow in a video.

The video is decoded once, every frame at a tiny size (about 64×36: the decoder's work is the
floor, everything after it is small), and measured in batches. Shot boundaries keep frame
precision; the curves (motion, brightness, colour, energy) are resampled to a fixed 10 Hz axis.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from audio_creator.analysis import cuts as shots
from audio_creator.analysis import features
from audio_creator.errors import MediaError
from audio_creator.media.frames import Snapshots, iter_every_frame
from audio_creator.media.probe import Video, VideoInfo, probe

Floats = npt.NDArray[np.float32]
Progress = Callable[[float, str], None]

CURVE_RATE_HZ = 10.0
BATCH_FRAMES = 128
MOTION_REFERENCE = 0.15  # frame widths per second that count as "moderate" motion (energy 0.5)
CUT_RATE_REFERENCE = 0.5  # cuts per second that count as "busy" editing (energy 0.5)


@dataclass(frozen=True)
class VideoAnalysis:
    """Shot boundaries and curves of one video. Times in seconds from the video's start."""

    info: VideoInfo
    duration_s: float
    cuts_s: tuple[float, ...]  # hard cuts: when the first frame of the new shot appears
    transitions: tuple[shots.Transition, ...]  # fades and dissolves
    times_s: Floats = field(repr=False)  # the curves' axis, CURVE_RATE_HZ
    motion: Floats = field(repr=False)  # apparent motion, frame widths per second
    brightness: Floats = field(repr=False)  # mean luma, 0–1
    warmth: Floats = field(repr=False)  # mean (red − blue), −1…1
    saturation: Floats = field(repr=False)  # 0–1
    energy: Floats = field(repr=False)  # overall visual energy, 0–1
    frame_count: int = 0  # frames decoded

    def at(self, curve: Floats, start_s: float, end_s: float) -> float:
        """Mean of `curve` over [start_s, end_s) (the nearest point for a short span)."""
        lo, hi = np.searchsorted(self.times_s, [start_s, end_s])
        if hi <= lo:
            return float(curve[min(int(lo), curve.size - 1)])
        return float(curve[lo:hi].mean())


def analyse_video(
    path: Video, progress: Progress | None = None, snapshots: Snapshots | None = None
) -> VideoAnalysis:
    """Decode `path` (a video file, or its `VideoInfo`) once and measure everything the composer
    follows; take `snapshots` on the way, if asked.

    Raises:
        MediaError: not a readable video, or no frame could be decoded.
    """
    info = probe(path)
    collected: dict[str, list[Floats]] = {name: [] for name in (*_KEPT, "flow")}
    times: list[float] = []
    batch: list[npt.NDArray[np.uint8]] = []
    previous_luma: Floats | None = None

    def flush() -> None:
        nonlocal previous_luma
        measured = features.measure(np.stack(batch))
        for name in _KEPT:
            collected[name].append(getattr(measured, name))
        luma = measured.luma
        before = luma[:-1] if previous_luma is None else np.concatenate([previous_luma, luma[:-1]])
        flow = (
            features.normal_flow(before, luma[luma.shape[0] - before.shape[0] :])
            if before.shape[0]
            else np.zeros(0, np.float32)
        )
        collected["flow"].append(flow if previous_luma is not None else np.r_[np.float32(0), flow])
        previous_luma = luma[-1:]
        batch.clear()
        if progress is not None and info.duration_s > 0:
            progress(min(1.0, times[-1] / info.duration_s), "analysing the video")

    for frame in iter_every_frame(info, snapshots=snapshots):  # images of one (scaled) size
        times.append(frame.time_s)
        batch.append(frame.image)
        if len(batch) == BATCH_FRAMES:
            flush()
    if batch:
        flush()
    if not times:
        raise MediaError(f"{info.path} has a video stream but no frame could be decoded")
    return _summarise(info, np.array(times), {k: np.concatenate(v) for k, v in collected.items()})


_KEPT = ("brightness", "contrast", "warmth", "saturation", "histogram", "thumbnail")


def _summarise(
    info: VideoInfo, times: npt.NDArray[np.float64], per_frame: dict[str, Floats]
) -> VideoAnalysis:
    frames = times.size
    steps = np.diff(times)
    fps = float(1 / np.median(steps)) if frames > 1 else info.fps or 25.0
    duration = max(info.duration_s, float(times[-1]) + 1 / fps)
    frame_times = times.astype(np.float32)

    gradual = shots.fades(per_frame["brightness"], per_frame["contrast"], frame_times)
    explained = np.zeros(frames, bool)
    for fade in gradual:  # a ramp's inner frames; its ends may be cuts (out of black, say)
        explained[(frame_times > fade.start_s) & (frame_times < fade.end_s)] = True
    cut_index, _ = shots.hard_cuts(
        per_frame["histogram"], per_frame["thumbnail"], fps, within_fades=explained
    )
    explained[cut_index] = True
    gradual += shots.dissolves(
        per_frame["histogram"],
        per_frame["thumbnail"],
        per_frame["contrast"],
        frame_times,
        fps,
        explained,
    )

    # Motion per second; meaningless across a shot change, so those frames are left out.
    per_second = np.r_[0.0, 1.0 / np.maximum(steps, 1e-3)].astype(np.float32)
    motion = per_frame["flow"] * per_second
    valid = ~explained
    valid[np.minimum(cut_index + 1, frames - 1)] = False
    for transition in gradual:
        valid[(frame_times >= transition.start_s) & (frame_times <= transition.end_s)] = False
    valid[0] = False

    axis = np.arange(0.0, duration, 1 / CURVE_RATE_HZ, dtype=np.float64)
    motion_curve = _smooth(_to_axis(times[valid], motion[valid], axis), 5)
    cut_times = times[cut_index]
    cut_rate = _smooth(
        np.histogram(cut_times, bins=np.r_[axis, duration])[0].astype(np.float32) * CURVE_RATE_HZ,
        round(4 * CURVE_RATE_HZ),
    )
    saturation = _to_axis(times, per_frame["saturation"], axis)
    energy = _smooth(
        0.6 * motion_curve / (motion_curve + MOTION_REFERENCE)
        + 0.25 * cut_rate / (cut_rate + CUT_RATE_REFERENCE)
        + 0.15 * saturation,
        round(CURVE_RATE_HZ),
    )
    return VideoAnalysis(
        info=info,
        duration_s=duration,
        cuts_s=tuple(float(t) for t in cut_times),
        transitions=tuple(sorted(gradual, key=lambda t: t.start_s)),
        times_s=axis.astype(np.float32),
        motion=motion_curve,
        brightness=_to_axis(times, per_frame["brightness"], axis),
        warmth=_to_axis(times, per_frame["warmth"], axis),
        saturation=saturation,
        energy=np.clip(energy, 0, 1).astype(np.float32),
        frame_count=frames,
    )


def _to_axis(
    times: npt.NDArray[np.float64], values: Floats, axis: npt.NDArray[np.float64]
) -> Floats:
    """Per-frame values → the curve axis: the mean of the frames in each bin, else interpolated."""
    if times.size == 0:
        return np.zeros(axis.size, np.float32)
    step = axis[1] - axis[0] if axis.size > 1 else 1.0
    bins = np.clip(((times - axis[0]) / step).astype(int), 0, axis.size - 1)
    sums = np.bincount(bins, weights=values, minlength=axis.size)
    counts = np.bincount(bins, minlength=axis.size)
    filled = counts > 0
    centres = axis + step / 2
    return np.interp(centres, centres[filled], sums[filled] / counts[filled]).astype(np.float32)


def _smooth(curve: Floats, width: int) -> Floats:
    """Centred moving average over `width` points; the ends average over what exists."""
    width = min(width, curve.size)
    if width <= 1:
        return curve.astype(np.float32)
    kernel = np.ones(width)
    total = np.convolve(curve, kernel, mode="same")
    count = np.convolve(np.ones(curve.size), kernel, mode="same")
    return (total / count).astype(np.float32)
