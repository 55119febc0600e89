"""Cut benchmark: our hard-cut detector against PySceneDetect's ContentDetector and FFmpeg's scene
score, on the same synthetic videos with known answers.

Prints one JSON object. The test set is a handful of 1280×720 H.264 videos (25 and 30 fps,
30–60 s each) made by `make_shot_video`: seeded shot lengths of 0.8–6 s, still, moderate and
fast-panning shots (up to two frame widths a second), joined by hard cuts, fades through black and
dissolves. Fades and dissolves are not hard cuts: a detection inside one is a false positive. A
detection is a true positive when it lies within one frame (1/fps + 1e-6 s) of a true hard cut,
matched one to one. The videos and their ground truth are cached in `--work-dir`/cuts.

- ours: `analyse_video(path).cuts_s`; the whole call (decode and every analysis) is timed.
- pyscenedetect: `detect(path, ContentDetector())` with its defaults (threshold 27, min_scene_len
  15 frames, OpenCV backend); a cut is the start of every scene after the first.
  Install it with `pip install scenedetect opencv-python-headless`; without it, it is skipped.
- ffmpeg_scene: `ffmpeg -i IN -vf "select='gt(scene,0.4)',showinfo" -f null -`, cuts read from
  showinfo's pts_time (`--ffmpeg-scene` sets the threshold).

Times are the best of `--repeat` runs per video; `s_per_video_minute` is their sum divided by the
minutes of video.

Usage: python bench/cuts.py [--work-dir output/bench] [--repeat 2] [--quick] [--ffmpeg-scene 0.4]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import imageio_ffmpeg
import numpy as np

from audio_creator.analysis import analyse_video
from audio_creator.media.synthetic import Shot, make_shot_video
from timing import best_of

try:
    import scenedetect
    from scenedetect import ContentDetector, detect
except ImportError:  # the peer is optional: our own figures are still printed
    scenedetect = None

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
WIDTH, HEIGHT = 1280, 720
# (fps, seconds, seed, share of fast shots, share of still shots, share of fades and dissolves)
VIDEOS = (
    (25, 45, 1, 0.3, 0.4, 0.3),
    (30, 60, 2, 0.3, 0.3, 0.3),
    (25, 30, 3, 0.6, 0.2, 0.2),  # mostly fast pans
    (30, 40, 4, 0.2, 0.6, 0.5),  # mostly still, many fades and dissolves
    (25, 50, 5, 0.4, 0.3, 0.3),
)
QUICK_VIDEOS = ((25, 20, 1, 0.3, 0.4, 0.3), (30, 20, 2, 0.3, 0.3, 0.3))


def timed(run: Callable[[Path], list[float]], path: Path, repeat: int) -> tuple[list[float], float]:
    """What `run(path)` finds, and its best time of `repeat` runs."""
    found: list[list[float]] = []
    seconds = best_of(repeat, lambda: found.append(run(path)))
    return found[-1], seconds


def script(seconds: float, seed: int, fast: float, still: float, gradual: float) -> list[Shot]:
    """A seeded shot list of about `seconds`: lengths 0.8–6 s, pan speeds and transitions drawn
    with the given shares. A fade or dissolve is never longer than either shot it joins."""
    rng = np.random.default_rng(seed)
    shots: list[Shot] = []
    while sum(s.duration_s for s in shots) < seconds:
        duration = round(float(rng.uniform(0.8, 6.0)), 2)
        kind = rng.uniform()
        pan = 0.03 if kind < still else float(rng.uniform(1.0, 2.0)) if kind > 1 - fast else 0.2
        transition, length = "cut", 1.0
        if shots and rng.uniform() < gradual:
            transition = "fade" if rng.uniform() < 0.5 else "dissolve"
            length = min(float(rng.uniform(0.5, 1.5)), duration, shots[-1].duration_s)
        shots.append(Shot(duration, pan, transition, length))
    return shots


@dataclass(frozen=True)
class Clip:
    """One test video and its ground truth."""

    name: str
    path: Path
    fps: int
    duration_s: float
    cuts_s: tuple[float, ...]
    gradual: tuple[tuple[str, float, float], ...]  # fades and dissolves: (kind, start, end)
    fast_shots: int
    still_shots: int


def prepare(folder: Path, spec: tuple[int, int, int, float, float, float]) -> Clip:
    """Encode one test video unless it is cached, and return it with its ground truth."""
    fps, seconds, seed, fast, still, gradual = spec
    name = f"cuts_{HEIGHT}p{fps}_{seconds}s_seed{seed}_{fast:g}-{still:g}-{gradual:g}"
    video, truth = folder / f"{name}.mp4", folder / f"{name}.json"
    if not (video.exists() and truth.exists()):
        folder.mkdir(parents=True, exist_ok=True)
        shots = script(seconds, seed, fast, still, gradual)
        line = make_shot_video(video, shots, width=WIDTH, height=HEIGHT, fps=fps, seed=seed)
        facts = {
            "duration_s": line.duration_s,
            "cuts_s": line.cuts_s,
            "gradual": line.gradual,
            "fast_shots": sum(s.pan_widths_per_s >= 1 for s in shots),
            "still_shots": sum(s.pan_widths_per_s < 0.1 for s in shots),
        }
        truth.write_text(json.dumps(facts))
    facts = json.loads(truth.read_text())
    facts["cuts_s"] = tuple(facts["cuts_s"])
    facts["gradual"] = tuple(tuple(g) for g in facts["gradual"])
    return Clip(name, video, fps, **facts)


def match(
    found: Sequence[float], truth: Sequence[float], tolerance: float
) -> tuple[dict[str, int], list[float], list[float]]:
    """Match detections to true cuts one to one, nearest pairs first.

    Returns:
        The counts (tp, fp, fn), the true cuts missed and the detections matching none.
    """
    pairs = sorted(
        (abs(f - t), i, j)
        for i, f in enumerate(found)
        for j, t in enumerate(truth)
        if abs(f - t) <= tolerance
    )
    hit_found: set[int] = set()
    hit_truth: set[int] = set()
    for _, i, j in pairs:
        if i not in hit_found and j not in hit_truth:
            hit_found.add(i)
            hit_truth.add(j)
    tp = len(hit_found)
    tally = {"tp": tp, "fp": len(found) - tp, "fn": len(truth) - tp}
    missed = [round(t, 3) for j, t in enumerate(truth) if j not in hit_truth]
    false = [round(f, 3) for i, f in enumerate(found) if i not in hit_found]
    return tally, missed, false


def scores(tp: int, fp: int, fn: int) -> dict[str, float]:
    """Precision, recall and F1 (finding nothing is perfect only when there is nothing)."""
    precision = tp / (tp + fp) if tp + fp else float(fn == 0)
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def ours(path: Path) -> list[float]:
    return list(analyse_video(path).cuts_s)


def pyscenedetect(path: Path) -> list[float]:
    scenes = detect(str(path), ContentDetector())  # defaults: threshold 27, min_scene_len 15
    return [float(start.seconds) for start, _ in scenes[1:]]


def ffmpeg_scene(path: Path, threshold: float = 0.4) -> list[float]:
    graph = f"select='gt(scene,{threshold:g})',showinfo"
    cmd = [FFMPEG, "-hide_banner", "-nostdin", "-nostats", "-i", str(path), "-vf", graph]
    log = subprocess.run([*cmd, "-f", "null", "-"], capture_output=True, text=True, check=True)
    return [float(t) for t in re.findall(r"Parsed_showinfo.*?pts_time:\s*([-\d.]+)", log.stderr)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work-dir", type=Path, default=Path("output/bench"))
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--ffmpeg-scene", type=float, default=0.4, help="FFmpeg's threshold")
    parser.add_argument("--quick", action="store_true", help="two 20 s videos")
    args = parser.parse_args()
    detectors: dict[str, Callable[[Path], list[float]]] = {"ours": ours}
    if scenedetect is None:
        print(
            "PySceneDetect is not installed, so it is left out: "
            "pip install scenedetect opencv-python-headless",
            file=sys.stderr,
        )
    else:
        detectors["pyscenedetect"] = pyscenedetect
    detectors["ffmpeg_scene"] = partial(ffmpeg_scene, threshold=args.ffmpeg_scene)

    specs = QUICK_VIDEOS if args.quick else VIDEOS
    videos = [prepare(args.work_dir / "cuts", spec) for spec in specs]
    counts = {name: {"tp": 0, "fp": 0, "fn": 0} for name in detectors}
    seconds = dict.fromkeys(detectors, 0.0)
    rows: list[dict[str, object]] = []
    for video in videos:
        row: dict[str, object] = {
            "name": video.name,
            "duration_s": round(video.duration_s, 2),
            "hard_cuts": len(video.cuts_s),
            "gradual": len(video.gradual),
            "fast_shots": video.fast_shots,
            "still_shots": video.still_shots,
        }
        for name, run in detectors.items():
            found, took = timed(run, video.path, args.repeat)
            tally, missed, false = match(found, video.cuts_s, 1 / video.fps + 1e-6)
            for key, value in tally.items():
                counts[name][key] += value
            seconds[name] += took
            inside = sum(any(a <= f <= b for _, a, b in video.gradual) for f in false)
            result: dict[str, object] = {**scores(**tally), "s": round(took, 3), "missed_s": missed}
            row[name] = result | {"false_s": false, "false_in_fade_or_dissolve": inside}
        rows.append(row)

    minutes = sum(v.duration_s for v in videos) / 60
    report: dict[str, object] = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "videos": f"{len(videos)} x {WIDTH}x{HEIGHT} H.264, {minutes:.2f} min in all",
        "peers": {
            "pyscenedetect": (
                f"scenedetect {scenedetect.__version__}, ContentDetector() defaults"
                if scenedetect is not None
                else "not installed: pip install scenedetect opencv-python-headless"
            ),
            "ffmpeg_scene": f"select='gt(scene,{args.ffmpeg_scene:g})',showinfo",
        },
        "total": {
            "hard_cuts": sum(len(v.cuts_s) for v in videos),
            **{
                name: {
                    **scores(**tally),
                    **tally,
                    "s": round(seconds[name], 3),
                    "s_per_video_minute": round(seconds[name] / minutes, 3),
                }
                for name, tally in counts.items()
            },
        },
        "per_video": rows,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
