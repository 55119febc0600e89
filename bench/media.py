"""Media benchmark: our decode-for-analysis and mux against the ffmpeg command line doing the same.

Prints one JSON object. Each figure is the best of `--repeat` runs, in seconds of wall time.

- decode: 60 s of 1280×720 30 fps H.264 sampled at 8 fps and scaled to 224 px (short side) RGB.
  Peer: `ffmpeg -i IN -vf fps=8,scale=-2:224 -f rawvideo -pix_fmt rgb24 -` into a pipe we drain.
- mux: a 10-minute stereo 48 kHz WAV into a 10-minute 720p H.264 video (video copied, AAC 192k,
  index first). Peer: `ffmpeg -i V -i A -map 0:v -map 1:a -c:v copy -c:a aac -b:a 192k -shortest
  -movflags +faststart OUT`.
- cli_help: `audio-creator --help` as a fresh process.

Usage: python bench/media.py [--work-dir output/bench] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import soundfile as sf

from audio_creator.audio import load
from audio_creator.media import iter_frames, mux
from timing import best_of

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


def ffmpeg(*args: str, stdout: int | None = None) -> None:
    cmd = [FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args]
    subprocess.run(cmd, check=True, stdout=stdout)


def prepare(work_dir: Path) -> tuple[Path, Path, Path]:
    """A 60 s 720p clip, the same clip ten times over (stream-copied), and a 10-minute WAV."""
    work_dir.mkdir(parents=True, exist_ok=True)
    clip, long_video, wav = (
        work_dir / "clip60.mp4",
        work_dir / "video600.mp4",
        work_dir / "music600.wav",
    )
    if not clip.exists():
        ffmpeg(
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=1280x720:rate=30:duration=60",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            "23",
            "-pix_fmt",
            "yuv420p",
            "-g",
            "60",
            str(clip),
        )
    if not long_video.exists():
        listing = work_dir / "concat.txt"
        listing.write_text("".join(f"file '{clip.name}'\n" for _ in range(10)))
        ffmpeg("-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", str(long_video))
    if not wav.exists():
        rng = np.random.default_rng(0)
        t = np.arange(600 * 48000) / 48000
        tone = 0.2 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(t.size)
        sf.write(
            wav, np.stack([tone, tone[::-1]], axis=1).astype(np.float32), 48000, subtype="PCM_16"
        )
    return clip, long_video, wav


def bench_decode(clip: Path, repeat: int) -> dict[str, float | int]:
    frames: list[int] = []

    def ours() -> None:
        frames.append(sum(1 for _ in iter_frames(clip, fps=8, short_side=224)))

    def peer() -> None:
        ffmpeg(
            "-i",
            str(clip),
            "-vf",
            "fps=8,scale=-2:224",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
            stdout=subprocess.DEVNULL,
        )

    ours_s, peer_s = best_of(repeat, ours), best_of(repeat, peer)
    return {
        "frames": frames[-1],
        "ours_s": round(ours_s, 3),
        "ffmpeg_s": round(peer_s, 3),
        "ratio": round(ours_s / peer_s, 3),
    }


def bench_mux(video: Path, wav: Path, work_dir: Path, repeat: int) -> dict[str, float]:
    ours_out, peer_out = work_dir / "ours.mp4", work_dir / "ffmpeg.mp4"

    def ours() -> None:  # the whole job: read the WAV, fit it, encode, copy the video, write
        mux(video, load(wav), ours_out)
        ours_out.unlink()

    def peer() -> None:
        ffmpeg(
            "-i",
            str(video),
            "-i",
            str(wav),
            "-map",
            "0:v",
            "-map",
            "1:a",
            "-c:v",
            "copy",
            "-c:a",
            "aac",
            "-b:a",
            "192k",
            "-shortest",
            "-movflags",
            "+faststart",
            str(peer_out),
        )
        peer_out.unlink()

    ours_s, peer_s = best_of(repeat, ours), best_of(repeat, peer)
    return {
        "ours_s": round(ours_s, 3),
        "ffmpeg_s": round(peer_s, 3),
        "ratio": round(ours_s / peer_s, 3),
    }


def bench_cli_help(repeat: int) -> dict[str, float]:
    exe = shutil.which("audio-creator") or str(Path(sys.executable).with_name("audio-creator"))
    seconds = best_of(
        repeat, lambda: subprocess.run([exe, "--help"], check=True, capture_output=True)
    )
    return {"ours_s": round(seconds, 3), "goal_s": 0.5}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work-dir", type=Path, default=Path("output/bench"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    clip, long_video, wav = prepare(args.work_dir)
    report = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "decode_60s_720p30_to_8fps_224px": bench_decode(clip, args.repeat),
        "mux_wav_into_10min_video": bench_mux(long_video, wav, args.work_dir, args.repeat),
        "cli_help": bench_cli_help(args.repeat),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
