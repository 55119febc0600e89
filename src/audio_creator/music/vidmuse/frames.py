"""The frames VidMuse looks at: local ones at 2 fps (the music's own moment) and 32 global ones
spread over the whole video, square-cropped and normalised as CLIP was trained."""

from __future__ import annotations

import math
import os

import numpy as np
import numpy.typing as npt

from audio_creator.media.frames import frames_at, iter_frames
from audio_creator.media.probe import probe

LOCAL_FPS = 2.0
GLOBAL_FRAMES = 32
# CLIP's pixel statistics (openai/clip-vit-base-patch32 preprocessor_config.json).
MEAN = np.array([0.48145466, 0.4578275, 0.40821073], np.float32)
STD = np.array([0.26862954, 0.26130258, 0.27577711], np.float32)

Pixels = npt.NDArray[np.float32]  # [N, 3, size, size], normalised


def local_frames(path: str | os.PathLike[str], duration_s: float, size: int) -> Pixels:
    """Frames at 2 fps for `duration_s` of music (the last frame held past the video's end)."""
    images = [f.image for f in iter_frames(path, fps=LOCAL_FPS, short_side=size)]
    wanted = max(1, math.ceil(duration_s * LOCAL_FPS - 1e-9))
    images = (images + images[-1:] * wanted)[:wanted]
    return normalise(images, size)


def local_span(start_s: float, stop_s: float, count: int) -> tuple[int, int]:
    """Which of `count` local frames a stretch of music [start_s, stop_s) sees: [first, last),
    at least one."""
    first = min(int(start_s * LOCAL_FPS), count - 1)
    last = max(first + 1, min(count, math.ceil(stop_s * LOCAL_FPS - 1e-9)))
    return first, last


def global_frames(path: str | os.PathLike[str], size: int, count: int = GLOBAL_FRAMES) -> Pixels:
    """`count` frames evenly over the whole video."""
    duration = probe(path).duration_s
    times = [duration * (k + 0.5) / count for k in range(count)]
    found = frames_at(path, times, short_side=size)
    return normalise([frame.image for frame in found], size)


def black(count: int, size: int) -> Pixels:
    """An all-zero video of `count` frames, as CLIP sees it: guidance's null condition."""
    return normalise([np.zeros((size, size, 3), np.uint8)] * count, size)


def normalise(images: list[npt.NDArray[np.uint8]], size: int) -> Pixels:
    """RGB uint8 pictures → centre-cropped `size` squares, scaled to 0–1, CLIP-normalised."""
    out = np.empty((len(images), 3, size, size), np.float32)
    for index, image in enumerate(images):
        height, width = image.shape[:2]
        top, left = max(0, (height - size) // 2), max(0, (width - size) // 2)
        square = image[top : top + size, left : left + size].astype(np.float32) / 255.0
        if square.shape[:2] != (size, size):  # smaller than asked: pad with black
            padded = np.zeros((size, size, 3), np.float32)
            padded[: square.shape[0], : square.shape[1]] = square
            square = padded
        out[index] = ((square - MEAN) / STD).transpose(2, 0, 1)
    return out
