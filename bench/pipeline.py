"""How long `audio-creator autopipeline` takes, against FFmpeg's decode of the same video.

Measures, on the 55 s 1280×720 H.264 clip of bench/vidmuse.py (15 shots: cuts, fades, dissolves
and fast pans, with sensor-like grain; made once, cached in output/bench/) and a narration of
about 40 s given as text:

- `ffmpeg -i VIDEO -map 0:v -f null -` (the decode every approach must pay), best of N;
- the whole command in a fresh process (start-up included): music, narration, mix and the
  merged MP4, best of N, the two taking turns so that both see the same machine; the report's
  seconds per stage (speech runs beside the music, and the timeline beside the mux).

The goal: the autopipeline in at most 4× FFmpeg's decode.
Run: `python bench/pipeline.py [--repeat N] [--src DIR]` (DIR: another checkout's `src`, to
compare commits); prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import imageio_ffmpeg

from clips import scripted_clip

WORK = Path("output/bench")
GOAL_RATIO = 4.0
# About 40 s for the bundled voice at 1× (some 20 characters a second, with pauses).
NARRATION = (
    "Morning comes slowly to the harbour. The first boats slip out past the breakwater while "
    "the gulls argue over the nets. On the quay, a baker props open his door, and the smell of "
    "bread drifts down to the water. Further up the hill, the town is still asleep. Then the "
    "bells of the old church ring out, and shutters open one by one. By the time the sun clears "
    "the cliffs, the market is already full of voices. This is the hour the town likes best: "
    "busy, bright, and not yet hot. Fishermen sort the night's catch into crates of ice, "
    "children run between the stalls, and an old man sells lemons from the back of a van. "
    "By noon the square empties again, and only the cats stay out in the heat. Tomorrow it "
    "will all begin again."
)


def clip(path: Path) -> Path:
    """bench/vidmuse.py's clip: 55 s, 720p, 30 fps, 15 shots of 1–6 s, with grain."""
    return scripted_clip(path, seconds=55.0, longest_shot_s=6.0, seed=11, video_seed=5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--src", type=Path, help="run the project from this src folder")
    args = parser.parse_args()
    video = clip(WORK / "vidmuse55_grain.mp4")
    decode = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(video), "-map", "0:v",
              "-f", "null", "-"]  # fmt: skip
    env = dict(os.environ)
    if args.src is not None:
        env["PYTHONPATH"] = str(args.src.resolve())
    decode_times, pipeline_times, reports = [], [], []
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "auto.wav"
        command = [
            sys.executable, "-m", "audio_creator.cli", "--log-level", "WARNING", "autopipeline",
            "--video", str(video), "-o", str(out), "--merge-video", "--narration", NARRATION,
        ]  # fmt: skip
        for _ in range(args.repeat):
            decode_times.append(_timed(lambda: subprocess.run(decode, check=True)))
            for stale in Path(folder).iterdir():
                stale.unlink()
            pipeline_times.append(
                _timed(lambda: subprocess.run(command, check=True, capture_output=True, env=env))
            )
            reports.append(json.loads((Path(folder) / "auto_report.json").read_text()))
    best = pipeline_times.index(min(pipeline_times))
    report = reports[best]
    sentences = report["speech"]["sentences"]
    print(
        json.dumps(
            {
                "video": "55 s, 1280x720, 30 fps H.264 with grain, 15 shots",
                "narration_s": round(sum(s["end_s"] - s["start_s"] for s in sentences), 1),
                "ffmpeg_decode_s": round(min(decode_times), 2),
                "autopipeline_s": round(min(pipeline_times), 2),
                "ratio_to_decode": round(min(pipeline_times) / min(decode_times), 2),
                "goal_ratio": GOAL_RATIO,
                "runs_s": [round(t, 2) for t in pipeline_times],
                "seconds_per_stage": report["seconds_per_stage"],
                "report_seconds": report.get("seconds"),
                "mix_lufs": report["mix"]["integrated_lufs"],
                "mix_true_peak_dbtp": report["mix"]["true_peak_dbtp"],
            },
            indent=2,
        )
    )


def _timed(work: object) -> float:
    start = time.perf_counter()
    work()  # type: ignore[operator]
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
