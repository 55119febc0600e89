"""Per-frame measurements of tiny frames: what changed, how fast things move, what it looks like.

Everything here is a pure function of uint8 RGB images `[frames, height, width, 3]` (a batch of
consecutive frames) and returns one value per frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Images = npt.NDArray[np.uint8]
Floats = npt.NDArray[np.float32]

HIST_LEVELS = 4  # per RGB channel: a 64-bin joint colour histogram
THUMB = (18, 32)  # (height, width) of the luma thumbnail kept per frame for transition checks


@dataclass(frozen=True)
class FrameFeatures:
    """Measurements of consecutive frames; index i is frame i of the batch."""

    brightness: Floats  # mean luma, 0–1
    contrast: Floats  # standard deviation of luma, 0–1
    warmth: Floats  # mean (red − blue), −1…1
    saturation: Floats  # mean HSV saturation, 0–1
    histogram: Floats  # [frames, 64] joint RGB histogram, sums to 1
    thumbnail: Floats  # [frames, *THUMB] luma, 0–1
    luma: Floats  # [frames, height, width] luma, 0–1, at the batch's own size


def measure(images: Images) -> FrameFeatures:
    """Measure a batch of frames."""
    red, green, blue = (images[..., c].astype(np.float32) for c in range(3))
    luma = (red * np.float32(0.299) + green * np.float32(0.587) + blue * np.float32(0.114)) / 255
    # Channel extremes pairwise, on bytes: far cheaper than a reduction over a 3-long axis.
    r8, g8, b8 = images[..., 0], images[..., 1], images[..., 2]
    top = np.maximum(np.maximum(r8, g8), b8).astype(np.float32)
    saturation = (top - np.minimum(np.minimum(r8, g8), b8)) / np.maximum(top, np.float32(1))
    frames = images.shape[0]
    levels = images >> (8 - 2)  # 2 bits per channel → 4 levels
    bins = (levels[..., 0].astype(np.int32) * HIST_LEVELS + levels[..., 1]) * HIST_LEVELS + levels[
        ..., 2
    ]
    offsets = (np.arange(frames, dtype=np.int32) * HIST_LEVELS**3)[:, None, None]
    counts = np.bincount((bins + offsets).ravel(), minlength=frames * HIST_LEVELS**3)
    histogram = counts.reshape(frames, HIST_LEVELS**3).astype(np.float32)
    histogram /= histogram.sum(axis=1, keepdims=True)
    return FrameFeatures(
        brightness=luma.mean(axis=(1, 2)),
        contrast=luma.std(axis=(1, 2)),
        warmth=(red - blue).mean(axis=(1, 2)) / 255,
        saturation=saturation.mean(axis=(1, 2)),
        histogram=histogram,
        thumbnail=_thumbnail(luma),
        luma=luma,
    )


def histogram_distance(a: Floats, b: Floats) -> Floats:
    """Half the L1 distance between histograms (rows): 0 for the same colours, 1 for disjoint."""
    return np.asarray(0.5 * np.abs(a - b).sum(axis=-1), dtype=np.float32)


def luma_difference(a: Floats, b: Floats) -> Floats:
    """Mean absolute luma difference between thumbnails, after removing the change in brightness.

    Taking the mean change out keeps fades and lighting changes from looking like new content.
    """
    diff = a - b
    diff -= diff.mean(axis=(-2, -1), keepdims=True)
    return np.asarray(np.abs(diff).mean(axis=(-2, -1)), dtype=np.float32)


def normal_flow(previous: Floats, current: Floats) -> Floats:
    """Apparent motion between thumbnails, in thumbnail widths per frame (gradient optical flow).

    The least-squares normal flow |∂I/∂t| · |∇I| / (|∇I|² + ε), pooled over the picture: the
    speed along the brightness gradient, which is what a frame difference can see. It measures the
    camera's and the subjects' motion alike and saturates above about two pixels per frame, where
    a thumbnail's detail blurs.
    """
    mean = np.float32(0.5) * (previous + current)
    gy, gx = np.gradient(mean, axis=(-2, -1))
    dt = current - previous
    dt -= dt.mean(axis=(-2, -1), keepdims=True)  # a brightness change is not motion
    grad2 = gx * gx + gy * gy
    speed_px = (np.abs(dt) * np.sqrt(grad2)).sum(axis=(-2, -1)) / (
        grad2.sum(axis=(-2, -1)) + np.float32(1e-4) * grad2[0].size
    )
    return np.asarray(speed_px / previous.shape[-1], dtype=np.float32)


def _thumbnail(luma: Floats) -> Floats:
    """Area-average each image's luma down to THUMB (or keep it where it is smaller)."""
    _frames, height, width = luma.shape
    out_h, out_w = min(THUMB[0], height), min(THUMB[1], width)
    rows = np.linspace(0, height, out_h + 1).astype(int)
    cols = np.linspace(0, width, out_w + 1).astype(int)
    summed = np.add.reduceat(np.add.reduceat(luma, rows[:-1], axis=1), cols[:-1], axis=2)
    area = np.diff(rows)[:, None] * np.diff(cols)[None, :]
    return np.asarray(summed / area, dtype=np.float32)
