"""Long videos: peak memory (RSS) and time of the main jobs on 1-hour and 2-hour videos.

Makes 64×36, 1 fps H.264 videos with a tone (cached in output/bench/), then runs each job in a
process of its own under `/usr/bin/time -v`:

- `vidmuse --video V`;
- `autopipeline --video V --merge-video`;
- `wavjourney --instruction '…rain… narrator…' --video V` (a rain bed and music under the whole
  video).

Beside each: FFmpeg decoding the same video (the floor every job pays), and the figures the
issue that set the goal measured on the code before this work (peak RSS on a 2-hour video:
vidmuse 3.5 GB, autopipeline 8.75 GB, wavjourney killed at 23.7 GB; its 30-minute run 11 GB).
Goal: every job ≤ 1.5 GB at 2 hours, and 2 hours within 10 % of twice 1 hour.

Run: `python bench/long.py [--hours 1,2] [--jobs vidmuse,autopipeline,wavjourney]`; prints JSON.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

import imageio_ffmpeg

WORK = Path("output/bench")
BEFORE_2H_GB = {"vidmuse": 3.5, "autopipeline": 8.75, "wavjourney": "killed at 23.7"}
INSTRUCTION = 'A calm intro with rain and a narrator saying "Welcome back"'


def video(hours: float) -> Path:
    path = WORK / f"long{hours:g}h_64x36.mp4"
    if not path.exists():
        WORK.mkdir(parents=True, exist_ok=True)
        seconds = str(round(hours * 3600))
        subprocess.run(
            [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y",
             "-f", "lavfi", "-i", "color=c=0x336699:s=64x36:r=1",
             "-f", "lavfi", "-i", "sine=f=220:r=16000", "-t", seconds,
             "-c:v", "libx264", "-c:a", "aac", "-shortest", str(path)],
            check=True,
        )  # fmt: skip
    return path


def timed(command: list[str]) -> dict[str, float]:
    """Wall time and peak RSS of `command`, from GNU time's verbose report."""
    run = subprocess.run(
        ["/usr/bin/time", "-v", *command], capture_output=True, text=True, check=False
    )
    if run.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{run.stderr[-3000:]}")
    peak_kib = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", run.stderr)[1])
    clock = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", run.stderr)
    seconds = int(clock[1] or 0) * 3600 + int(clock[2]) * 60 + float(clock[3])
    cpu = sum(float(re.search(rf"{kind} time \(seconds\): ([\d.]+)", run.stderr)[1])
              for kind in ("User", "System"))  # fmt: skip
    return {
        "seconds": round(seconds, 1),
        "cpu_seconds": round(cpu, 1),  # less sensitive than wall time to a busy machine
        "peak_rss_gb": round(peak_kib / 2**20, 3),
    }


def job(name: str, source: Path, out: Path) -> list[str]:
    cli = [sys.executable, "-m", "audio_creator.cli", "--log-level", "WARNING", name]
    if name == "vidmuse":
        return [*cli, "--video", str(source), "-o", str(out / "music.wav")]
    if name == "autopipeline":
        return [*cli, "--video", str(source), "-o", str(out / "auto.wav"), "--merge-video"]
    return [*cli, "--instruction", INSTRUCTION, "--video", str(source), "-o", str(out / "w.wav")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hours", default="1,2")
    parser.add_argument("--jobs", default="vidmuse,autopipeline,wavjourney")
    args = parser.parse_args()
    hours = [float(h) for h in args.hours.split(",")]
    results: dict[str, dict[str, object]] = {}
    for length in hours:
        source = video(length)
        out = WORK / f"long{length:g}h_out"
        out.mkdir(exist_ok=True)
        floor = timed([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(source),
                       "-f", "null", "-"])  # fmt: skip
        results.setdefault("ffmpeg_decode", {})[f"{length:g}h"] = floor
        for name in args.jobs.split(","):
            figures = timed(job(name, source, out))
            results.setdefault(name, {})[f"{length:g}h"] = figures
            print(f"{name} {length:g} h: {figures}", file=sys.stderr, flush=True)
    for name in args.jobs.split(","):
        runs = results[name]
        if len(hours) == 2:
            short, long_ = (runs[f"{h:g}h"] for h in hours)
            assert isinstance(short, dict) and isinstance(long_, dict)
            runs["time_ratio"] = round(long_["seconds"] / short["seconds"], 2)
            runs["cpu_ratio"] = round(long_["cpu_seconds"] / short["cpu_seconds"], 2)
            runs["length_ratio"] = round(hours[1] / hours[0], 2)
        runs["before_2h_peak_rss_gb"] = BEFORE_2H_GB[name]
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
