"""Scripted synthetic videos with known cuts, fades, dissolves and camera motion.

Each shot is a textured picture of its own palette that the camera pans across at a chosen speed;
shots are joined by hard cuts, fades through black or dissolves. `make_shot_video` returns the
ground truth with the file, which makes these videos fixtures with known answers for the cut
detector, the motion curve and the music's synchronisation, in tests and benches alike.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

from audio_creator.errors import ConfigError
from audio_creator.files import atomic_output, check_output_path

TRANSITIONS = ("cut", "fade", "dissolve")


@dataclass(frozen=True)
class Shot:
    """One shot: how long, how fast the camera pans, and how it begins."""

    duration_s: float
    pan_widths_per_s: float = 0.05  # camera speed, in frame widths per second
    transition_in: str = "cut"  # "cut", "fade" (through black) or "dissolve"; ignored for shot 1
    transition_s: float = 1.0  # length of a fade or dissolve, centred on the shot boundary
    # (a shot shorter than the second half, followed by a cut, cuts the transition short)


@dataclass(frozen=True)
class ShotTimeline:
    """The ground truth of a synthetic video. Times in seconds, on frame boundaries."""

    path: Path
    fps: int
    duration_s: float
    cuts_s: tuple[float, ...]  # first frame of every shot that begins with a hard cut
    gradual: tuple[tuple[str, float, float], ...]  # (kind, start, end) of fades and dissolves
    boundaries_s: tuple[float, ...]  # every shot boundary, whatever the transition


def make_shot_video(
    path: str | os.PathLike[str],
    shots: Sequence[Shot],
    *,
    width: int = 320,
    height: int = 180,
    fps: int = 25,
    seed: int = 0,
    crf: int = 23,
    grain: float = 0.0,
) -> ShotTimeline:
    """Encode `shots` as H.264 (in the container of `path`'s suffix) and return the ground truth.

    `grain` adds sensor-like noise of that standard deviation (8-bit levels) to every frame, which
    gives the encoder, and later the decoder, the work that camera footage does.
    """
    if not shots:
        raise ConfigError("a synthetic video needs at least one shot")
    if width % 2 or height % 2 or width < 16 or height < 16:
        raise ConfigError(f"size must be even and at least 16×16, got {width}×{height}")
    for shot in shots[1:]:
        if shot.transition_in not in TRANSITIONS:
            raise ConfigError(f"transition must be one of {TRANSITIONS}, got {shot.transition_in}")
    rng = np.random.default_rng(seed)
    noise = (
        [np.round(rng.normal(0, grain, (height, width, 3))).astype(np.int16) for _ in range(7)]
        if grain > 0
        else []
    )
    starts = np.round(np.cumsum([0.0, *(s.duration_s for s in shots)]) * fps).astype(int)
    scenes = [_Scene(rng, width, height, fps, shot) for shot in shots]
    total = int(starts[-1])
    cuts: list[float] = []
    gradual: list[tuple[str, float, float]] = []
    # (shot index, first frame, the frame after its last, the frame after it would have ended)
    blends: list[tuple[int, int, int, int]] = []
    for index, shot in enumerate(shots[1:], start=1):
        boundary = int(starts[index])
        if shot.transition_in == "cut":
            cuts.append(boundary / fps)
            continue
        half = max(1, round(shot.transition_s * fps / 2))
        # A cut into the next shot before the transition is over cuts it short, as an editor's
        # cut in the middle of a dissolve does: the blend runs at its own pace until the cut.
        cut_next = index + 1 < len(shots) and shots[index + 1].transition_in == "cut"
        last = int(starts[index + 1]) if cut_next else total
        first, end = max(boundary - half, 0), min(boundary + half, total)
        stop = min(end, last)
        gradual.append((shot.transition_in, first / fps, stop / fps))
        blends.append((index, first, stop, end))

    out = check_output_path(path)
    with atomic_output(out) as tmp, av.open(str(tmp), "w") as container:
        stream = container.add_stream(
            "libx264", rate=Fraction(fps), options={"crf": str(crf), "preset": "veryfast"}
        )
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for k in range(total):
            shot_index = int(np.searchsorted(starts, k, side="right") - 1)
            image = scenes[shot_index].frame(k - starts[shot_index])
            for index, first, stop, end in blends:
                if first <= k < stop:
                    image = _transition(scenes, starts, index, k, first, end, shots)
            if noise:
                image = np.clip(image + noise[k % len(noise)], 0, 255).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = k
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return ShotTimeline(
        out,
        fps,
        total / fps,
        tuple(cuts),
        tuple(gradual),
        tuple(float(s) / fps for s in starts[1:-1]),
    )


def _transition(
    scenes: list[_Scene],
    starts: npt.NDArray[np.int_],
    index: int,
    k: int,
    first: int,
    end: int,
    shots: Sequence[Shot],
) -> npt.NDArray[np.uint8]:
    """Frame k of the transition into shot `index`, which runs from frame `first` to `end`."""
    boundary = int(starts[index])
    before = scenes[index - 1].frame(k - starts[index - 1]).astype(np.float32)
    after = scenes[index].frame(k - boundary).astype(np.float32)
    if shots[index].transition_in == "dissolve":
        weight = (k - first + 0.5) / (end - first)
        mixed = (1 - weight) * before + weight * after
    elif k < boundary:  # fade out to black, then in from black
        mixed = before * ((boundary - k - 0.5) / (boundary - first))
    else:
        mixed = after * ((k - boundary + 0.5) / (end - boundary))
    return np.clip(np.rint(mixed), 0, 255).astype(np.uint8)


class _Scene:
    """A panoramic texture of one palette; frame k is a window into it, k pan steps along."""

    def __init__(self, rng: np.random.Generator, width: int, height: int, fps: int, shot: Shot):
        self.width = width
        self.step_px = shot.pan_widths_per_s * width / fps
        canvas_w = 3 * width
        base = rng.uniform(40, 215, size=3)
        spread = rng.uniform(25, 60)
        cells = base + spread * rng.standard_normal((6, 18, 3))  # a periodic grid, upsampled
        rows = np.linspace(0, cells.shape[0] - 1, height)
        cols = np.arange(canvas_w) * cells.shape[1] / canvas_w
        r0 = np.floor(rows).astype(int)
        r1 = np.minimum(r0 + 1, cells.shape[0] - 1)
        fr = (rows - r0)[:, None, None]
        c0 = np.floor(cols).astype(int)
        c1 = (c0 + 1) % cells.shape[1]
        fc = (cols - c0)[None, :, None]
        top = cells[r0][:, c0] * (1 - fc) + cells[r0][:, c1] * fc
        bottom = cells[r1][:, c0] * (1 - fc) + cells[r1][:, c1] * fc
        canvas = top * (1 - fr) + bottom * fr
        # Fine detail (the thing that makes camera motion visible), periodic along x.
        detail = rng.standard_normal((height // 4 + 1, canvas_w // 4 + 1))
        canvas += 18 * np.repeat(np.repeat(detail, 4, axis=0), 4, axis=1)[:height, :canvas_w, None]
        self.canvas = np.clip(canvas, 0, 255).astype(np.uint8)

    def frame(self, k: int) -> npt.NDArray[np.uint8]:
        offset = round(k * self.step_px)
        columns = (offset + np.arange(self.width)) % self.canvas.shape[1]
        return np.ascontiguousarray(self.canvas[:, columns])
