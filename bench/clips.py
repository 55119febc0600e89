"""Shared by the benches: scripted 720p clips that decode about as slowly as camera footage."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from audio_creator.media.synthetic import Shot, make_shot_video


def scripted_clip(
    path: Path, *, seconds: float, longest_shot_s: float, seed: int, video_seed: int
) -> Path:
    """`seconds` of 1280×720 at 30 fps (made once; an existing file is reused): shots of 1 s to
    `longest_shot_s`, a third of them fast pans, some fades and dissolves, with sensor-like
    grain."""
    if path.exists():
        return path
    rng = np.random.default_rng(seed)
    shots, total = [], 0.0
    while total < seconds:
        length = min(float(rng.uniform(1.0, longest_shot_s)), seconds - total)
        if length < 0.5:
            break
        kind = str(rng.choice(["cut", "cut", "cut", "fade", "dissolve"]))
        speed = float(rng.choice([0.03, 0.05, 1.2]))
        shots.append(Shot(length, speed, kind, 0.8))
        total += length
    path.parent.mkdir(parents=True, exist_ok=True)
    make_shot_video(path, shots, width=1280, height=720, fps=30, seed=video_seed, grain=6.0, crf=22)
    return path
