"""One picture of a whole soundtrack: what the video does and what the sound does about it.

Rows, on one time axis in seconds: a strip of thumbnails; the video's motion with its cuts and
gradual transitions; the music's beat grid; the narration's sentences and the music's ducking
gain; the mix's short-term loudness against its target. Cuts run as faint lines through every
row, so a beat or a sentence can be read against them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from audio_creator.analysis.video import VideoAnalysis
from audio_creator.files import atomic_output
from audio_creator.media.frames import Frame

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

THUMBNAILS = 10
THUMBNAIL_SHORT_SIDE = 90
DPI = 100
# Legends sit to the right of their row, so they never cover a curve or each other.
_LEGEND = {"loc": "upper left", "bbox_to_anchor": (1.005, 1.0), "borderaxespad": 0.0, "fontsize": 8}


@dataclass(frozen=True)
class TimelineData:
    """Everything the picture shows. Times in seconds on the video's timeline."""

    video: Path
    analysis: VideoAnalysis
    thumbnails: Sequence[Frame]  # at `thumbnail_times(duration)`: `Snapshots` or `frames_at`
    beats_s: Sequence[float]
    sentences: Sequence[tuple[float, float]]  # (start, end) of each narrated sentence
    duck_db: npt.NDArray[np.float64]  # the music's ducking gain, one value per `duck_hop_s`
    duck_hop_s: float
    loudness_times_s: npt.NDArray[np.float64]  # short-term loudness of the mix…
    loudness_lufs: npt.NDArray[np.float64]  # …in LUFS (−inf where silent)
    target_lufs: float


def draw_timeline(data: TimelineData, path: str | os.PathLike[str]) -> Path:
    """Write the picture as a PNG at `path` (atomically)."""
    import matplotlib.pyplot as plt

    figure = build_figure(data)
    out = Path(path)
    try:
        with atomic_output(out) as tmp:
            # the fastest zlib level: a third quicker to write, some 20 % larger
            figure.savefig(tmp, format="png", dpi=DPI, pil_kwargs={"compress_level": 1})
    finally:
        plt.close(figure)
    return out


def build_figure(data: TimelineData) -> Figure:
    """The picture as a matplotlib figure (the caller closes it)."""
    import matplotlib

    matplotlib.use("Agg")  # files only; no display needed
    import matplotlib.pyplot as plt

    duration = data.analysis.duration_s
    figure, rows = plt.subplots(
        5, 1, figsize=(14, 9.5), sharex=True, height_ratios=(1.3, 1, 0.45, 1, 1),
        layout="constrained",
    )  # fmt: skip
    strip, motion, beats, speech, loudness = rows
    _thumbnails(strip, data.thumbnails, duration)
    _motion(motion, data.analysis)
    _beats(beats, data.beats_s)
    _speech(speech, data)
    _loudness(loudness, data)
    for row in rows[1:]:
        for cut in data.analysis.cuts_s:
            row.axvline(cut, color="0.55", linewidth=0.8, linestyle=(0, (4, 3)), zorder=0)
        row.grid(axis="x", color="0.92", linewidth=0.6)
    loudness.set_xlim(0, duration)
    loudness.set_xlabel("time (s)")
    figure.suptitle(f"Soundtrack of {data.video.name} ({duration:.1f} s)", fontsize=12)
    return figure


def thumbnail_times(duration_s: float) -> list[float]:
    """The instants the strip of thumbnails shows: the middles of THUMBNAILS equal slices."""
    step = duration_s / THUMBNAILS
    return [step * (i + 0.5) for i in range(THUMBNAILS)]


def _thumbnails(axes: Axes, frames: Sequence[Frame], duration: float) -> None:
    step = duration / THUMBNAILS
    for frame in frames:
        axes.imshow(
            frame.image, extent=(frame.time_s - step / 2, frame.time_s + step / 2, 0, 1),
            aspect="auto", interpolation="bilinear",
        )  # fmt: skip
    axes.set_xlim(0, duration)
    axes.set_ylim(0, 1)
    axes.set_yticks([])
    axes.set_ylabel("picture", rotation=0, ha="right", va="center")


def _motion(axes: Axes, analysis: VideoAnalysis) -> None:
    axes.plot(analysis.times_s, analysis.motion, color="tab:blue", linewidth=1.2, label="motion")
    for index, transition in enumerate(analysis.transitions):
        axes.axvspan(
            transition.start_s, transition.end_s, color="tab:purple", alpha=0.18,
            label="fade / dissolve" if index == 0 else None,
        )  # fmt: skip
    axes.plot([], [], color="0.55", linewidth=0.8, linestyle=(0, (4, 3)), label="cut")
    axes.set_ylabel("motion\n(widths/s)")
    axes.set_ylim(bottom=0)
    axes.legend(**_LEGEND)


def _beats(axes: Axes, beats_s: Sequence[float]) -> None:
    if beats_s:
        axes.vlines(beats_s, 0, 1, color="tab:orange", linewidth=1.0, label="beat")
        axes.legend(**_LEGEND)
    else:
        axes.text(0.01, 0.5, "no beat grid from this music backend", transform=axes.transAxes,
                  fontsize=8, va="center", color="0.4")  # fmt: skip
    axes.set_ylim(0, 1)
    axes.set_yticks([])
    axes.set_ylabel("beats", rotation=0, ha="right", va="center")


def _speech(axes: Axes, data: TimelineData) -> None:
    for index, (start, end) in enumerate(data.sentences):
        axes.axvspan(
            start, end, ymin=0.0, ymax=1.0, color="tab:green", alpha=0.22,
            label="narration" if index == 0 else None,
        )  # fmt: skip
    times = np.arange(data.duck_db.size) * data.duck_hop_s
    axes.plot(times, data.duck_db, color="tab:red", linewidth=1.2, label="music gain (dB)")
    lowest = float(np.min(data.duck_db)) if data.duck_db.size else 0.0
    axes.set_ylim(min(-1.0, lowest - 2.0), 2.0)
    axes.set_ylabel("ducking\n(dB)")
    axes.legend(**_LEGEND)


def _loudness(axes: Axes, data: TimelineData) -> None:
    shown = np.where(np.isfinite(data.loudness_lufs), data.loudness_lufs, np.nan)
    axes.plot(data.loudness_times_s, shown, color="tab:gray", linewidth=1.2,
              label="short-term loudness (3 s)")  # fmt: skip
    axes.axhline(data.target_lufs, color="black", linewidth=0.9, linestyle=":",
                 label=f"target {data.target_lufs:g} LUFS")  # fmt: skip
    finite = shown[np.isfinite(shown)]
    low = min(float(finite.min()) if finite.size else data.target_lufs, data.target_lufs) - 6
    axes.set_ylim(
        max(low, -60.0), max(data.target_lufs + 6, float(np.nanmax(shown, initial=-60)) + 2)
    )
    axes.set_ylabel("loudness\n(LUFS)")
    axes.legend(**_LEGEND)


def short_term_loudness(path: Path) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """(times, LUFS) of the WAV `path`'s short-term loudness (3 s windows, every 100 ms), read a
    block at a time: an hour's mix costs no more memory than a minute's. (The autopipeline has
    the mixer's own curve, `RenderedMix.short_term`, and reads nothing.)"""
    from audio_creator.audio_source import file_source
    from audio_creator.dsp.loudness import SubBlockMeter, short_term_curve

    mix = file_source(path)
    meter = SubBlockMeter(mix.channels, mix.sample_rate)
    for start in range(0, mix.frames, 1 << 20):
        meter.feed(mix.read(start, start + (1 << 20)))
    return short_term_curve(meter.energies())
