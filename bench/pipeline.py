"""How long `audio-creator autopipeline` takes on a 60 s 720p video, against FFmpeg's decode.

Measures, on a 60 s 1280×720 H.264 clip with scripted cuts, fades and pans and sensor-like grain
(made once, cached in output/bench/):

- `ffmpeg -i VIDEO -map 0:v -f null -` (the decode every approach must pay), best of N;
- the whole command in a fresh process (start-up included), offline caption, music, narration,
  mix and the merged MP4, best of N; its report's seconds per stage.

The goal: ≤ 20 s on a 2-core machine, and ≤ 5.5× FFmpeg's decode in the same run.
Run: `python bench/pipeline.py [--repeat N]`; prints JSON.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import imageio_ffmpeg

from clips import scripted_clip
from timing import best_of

WORK = Path("output/bench")


def clip(path: Path) -> Path:
    """60 s, 720p, 30 fps: shots of 1–7 s, some fast pans, fades and dissolves, with grain."""
    return scripted_clip(path, seconds=60.0, longest_shot_s=7.0, seed=23, video_seed=9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    video = clip(WORK / "pipeline60_720p.mp4")
    ffmpeg = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(video), "-map", "0:v"]
    decode_s = best_of(
        args.repeat, lambda: subprocess.run([*ffmpeg, "-f", "null", "-"], check=True)
    )
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "auto.wav"
        command = [
            sys.executable, "-m", "audio_creator.cli", "--log-level", "WARNING", "autopipeline",
            "--video", str(video), "-o", str(out), "--merge-video",
        ]  # fmt: skip

        def run() -> None:
            for stale in Path(folder).iterdir():
                stale.unlink()
            subprocess.run(command, check=True, capture_output=True)

        pipeline_s = best_of(args.repeat, run)
        report = json.loads((Path(folder) / "auto_report.json").read_text())
    print(
        json.dumps(
            {
                "video": "60 s, 1280x720, 30 fps H.264 with grain",
                "ffmpeg_decode_s": round(decode_s, 2),
                "autopipeline_s": round(pipeline_s, 2),
                "ratio_to_decode": round(pipeline_s / decode_s, 2),
                "seconds_per_stage": report["seconds_per_stage"],
                "sentences": len(report["speech"]["sentences"]),
                "mix_lufs": report["mix"]["integrated_lufs"],
                "mix_true_peak_dbtp": report["mix"]["true_peak_dbtp"],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
