"""How long `audio-creator vidmuse` takes against the floor: FFmpeg decoding the same video.

Measures, on a 55 s 1280×720 H.264 clip with scripted cuts, fades and pans (made once, cached):

- `ffmpeg -i VIDEO -map 0:v -f null -` (the decode every approach must pay), best of N;
- the whole command in a fresh process (start-up, analysis, composition, rendering, writing);
- each stage in-process: analysis, composition, rendering with loudness normalisation, writing.

With `--long`, also the peak memory (RSS) and time of the command on a 10-minute 1080p video
(a 60 s clip repeated, stream-copied). Run: `python bench/vidmuse.py [--repeat N] [--long]`;
prints JSON.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import imageio_ffmpeg
import numpy as np

from audio_creator.analysis import analyse_video
from audio_creator.audio import save
from audio_creator.media.synthetic import Shot, make_shot_video
from audio_creator.music import MusicRequest
from audio_creator.music.procedural import ProceduralBackend
from clips import scripted_clip
from timing import best_of

WORK = Path("output/bench")


def clip(path: Path) -> Path:
    """55 s, 720p, 30 fps: shots of 1–6 s, a third of them fast pans, some fades and dissolves,
    with sensor-like grain so that it decodes about as slowly as camera footage."""
    return scripted_clip(path, seconds=55.0, longest_shot_s=6.0, seed=11, video_seed=5)


def long_video(work: Path) -> Path:
    """Ten minutes of 1080p: a 60 s scripted clip, ten times over (joined without re-encoding)."""
    path = work / "vidmuse600_1080p.mp4"
    if path.exists():
        return path
    minute = work / "vidmuse60_1080p.mp4"
    if not minute.exists():
        rng = np.random.default_rng(3)
        shots = [
            Shot(float(rng.uniform(1.5, 6.0)), float(rng.choice([0.03, 1.2])), "cut")
            for _ in range(16)
        ]
        scale = 60.0 / sum(s.duration_s for s in shots)
        shots = [Shot(s.duration_s * scale, s.pan_widths_per_s) for s in shots]
        make_shot_video(minute, shots, width=1920, height=1080, fps=30, seed=9)
    listing = work / "vidmuse600.txt"
    listing.write_text("".join(f"file '{minute.name}'\n" for _ in range(10)))
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "concat", "-safe", "0", "-i",
         str(listing), "-c", "copy", str(path)],
        check=True,
    )  # fmt: skip
    return path


def peak_memory_run(video: Path, out: Path) -> dict[str, float]:
    """Time and peak RSS of the whole command in a child process."""
    command = [sys.executable, "-m", "audio_creator.cli", "vidmuse", "--video", str(video)]
    start = time.perf_counter()
    subprocess.run([*command, "-o", str(out)], check=True, capture_output=True)
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(video), "-map", "0:v", "-f",
         "null", "-"],
        check=True,
    )  # fmt: skip
    decode = time.perf_counter() - start
    return {
        "command_s": round(seconds, 2),
        "ffmpeg_decode_s": round(decode, 2),
        "ratio_to_decode": round(seconds / decode, 3),
        "peak_rss_mib": round(peak_kib / 1024, 1),
    }


def hour_run(work: Path) -> dict[str, float]:
    """60 minutes of music for a 20 s clip: time, peak RSS, and the seams checked (no jump
    between consecutive samples beyond what the music itself has within its first minute)."""
    import soundfile as sf

    from audio_creator.media import make_demo_video

    clip_path = work / "demo20.mp4"
    if not clip_path.exists():
        make_demo_video(clip_path, width=640, height=360)
    out = work / "vidmuse_hour.wav"
    command = [sys.executable, "-m", "audio_creator.cli", "vidmuse", "--video", str(clip_path)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run(
        [*command, "-o", str(out), "--duration", "3600"], check=True, capture_output=True
    )
    seconds = time.perf_counter() - start
    peak_kib = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    steps = []
    with sf.SoundFile(out) as f:
        for block in f.blocks(blocksize=48000 * 60, dtype="float32"):
            steps.append(float(np.abs(np.diff(block, axis=0)).max()))
    return {
        "duration_s": round(sf.info(out).duration, 2),
        "command_s": round(seconds, 1),
        "peak_rss_mib": round(peak_kib / 1024, 1),
        "largest_step_first_minute": round(steps[0], 4),
        "largest_step_anywhere": round(max(steps), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--long", action="store_true", help="also the 10-minute 1080p run")
    parser.add_argument(
        "--hour", action="store_true", help="also 60 minutes of music for a short clip (--duration)"
    )
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    long_figures = (
        peak_memory_run(long_video(WORK), WORK / "vidmuse_long.wav") if args.long else None
    )  # first, so that the peak RSS of the children is this run's
    hour_figures = hour_run(WORK) if args.hour else None
    video = clip(WORK / "vidmuse55_grain.mp4")
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    decode = best_of(
        args.repeat,
        lambda: subprocess.run(
            [ffmpeg, "-v", "error", "-i", str(video), "-map", "0:v", "-f", "null", "-"],
            check=True,
        ),
    )
    out = WORK / "vidmuse_music.wav"
    command = [sys.executable, "-m", "audio_creator.cli", "vidmuse", "--video", str(video)]
    whole = best_of(
        args.repeat,
        lambda: subprocess.run([*command, "-o", str(out)], check=True, capture_output=True),
    )
    stages: dict[str, float] = {}
    start = time.perf_counter()
    analysis = analyse_video(video)
    stages["analysis_s"] = time.perf_counter() - start
    backend = ProceduralBackend()
    start = time.perf_counter()
    backend.warm_up()  # imports; the command overlaps them with the analysis
    stages["imports_s"] = time.perf_counter() - start
    request = MusicRequest(analysis.duration_s, analysis)
    start = time.perf_counter()
    backend.compose(request)
    stages["composition_s"] = time.perf_counter() - start
    start = time.perf_counter()
    music = backend.generate(request)
    stages["composition_rendering_loudness_s"] = time.perf_counter() - start
    start = time.perf_counter()
    save(music.audio, out)
    stages["writing_s"] = time.perf_counter() - start
    print(
        json.dumps(
            {
                "video": {"duration_s": analysis.duration_s, "size": "1280x720", "fps": 30},
                "ffmpeg_decode_s": round(decode, 3),
                "vidmuse_command_s": round(whole, 3),
                "ratio_to_decode": round(whole / decode, 3),
                "stages": {k: round(v, 3) for k, v in stages.items()},
                "music": music.summary,
                "ten_minutes_1080p": long_figures,
                "sixty_minutes_of_music": hour_figures,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
