"""Does the music follow the motion inside one shot? Onset strength against a known motion.

A 40 s video of one shot, made here: a window of 320×180 pans across a wide test pattern at a
speed that rises from still to fast and falls back twice (speed ∝ 1 − cos, period 20 s), so the
true motion at every instant is known. It is analysed as any video is, the procedural composer
makes its music in each style, and librosa's onset strength (22.05 kHz, hop 512) is averaged on
2-second windows and correlated (Pearson r) with the true speed on the same windows.
Goal: r ≥ 0.5 in every style. The null (`still_picture_r`): each style's music for the same
analysis with its motion and energy held flat, whose sparse intro and ending alone correlate
with a pan that is slow at both ends.

Run: `python bench/motion.py [--src DIR]` (`--src` runs another checkout's code, to compare
commits); prints JSON, with the SoundFont used (`AUDIO_CREATOR_SOUNDFONT_DIRS= ` for the bundled
one). Needs librosa (a dev dependency).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import subprocess
import sys
import warnings
from pathlib import Path

import imageio_ffmpeg
import numpy as np

WORK = Path("output/bench")
SECONDS, PERIOD_S, WIDTH, SOURCE_WIDTH = 40.0, 20.0, 320, 3200
TRAVEL = SOURCE_WIDTH - WIDTH
SPEED = TRAVEL / SECONDS  # mean speed, pixels per second; the speed runs 0 … 2 × SPEED


def video() -> Path:
    path = WORK / "motion_ramps.mp4"
    if not path.exists():
        WORK.mkdir(parents=True, exist_ok=True)
        # x(t) = SPEED·(t − P/(2π)·sin(2πt/P)): speed SPEED·(1 − cos(2πt/P)), from 0 to 2·SPEED
        x = f"{SPEED}*(t-{PERIOD_S}/(2*PI)*sin(2*PI*t/{PERIOD_S}))"
        subprocess.run(
            [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i",
             f"testsrc2=s={SOURCE_WIDTH}x180:r=25:d={SECONDS}", "-vf",
             f"crop={WIDTH}:180:x='{x}':y=0", "-c:v", "libx264", "-pix_fmt", "yuv420p",
             str(path)],
            check=True,
        )  # fmt: skip
    return path


def true_speed(start: float, stop: float) -> float:
    """The mean pan speed over [start, stop), in frame widths per second."""
    t = np.linspace(start, stop, 200, endpoint=False)
    return float(np.mean(SPEED * (1 - np.cos(2 * math.pi * t / PERIOD_S)))) / WIDTH


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--src", type=Path, help="a checkout's src folder to run instead")
    args = parser.parse_args()
    if args.src is not None:
        sys.path.insert(0, str(args.src.resolve()))
    warnings.filterwarnings("ignore")
    import librosa

    from audio_creator.analysis.video import VideoAnalysis, analyse_video
    from audio_creator.music import MusicRequest
    from audio_creator.music.procedural import ProceduralBackend
    from audio_creator.music.procedural.styles import STYLES

    analysis = analyse_video(video())
    windows = np.arange(0.0, SECONDS - 2 + 1e-9, 2.0)
    speed = [true_speed(w, w + 2) for w in windows]
    measured = [analysis.at(analysis.motion, w, w + 2) for w in windows]
    tracking = round(float(np.corrcoef(measured, speed)[0, 1]), 3)
    from audio_creator.music.procedural.render import default_soundfont

    report = {"analysis_motion_vs_true_speed_r": tracking, "cuts_found": len(analysis.cuts_s),
              "soundfont": default_soundfont().name, "styles": {}}  # fmt: skip
    # The null: the same video's analysis with its motion and energy held at their means, as if
    # the picture never moved (the piece's own shape, a sparse intro and an ending, remains).
    flat = {name: np.full_like(getattr(analysis, name), getattr(analysis, name).mean())
            for name in ("motion", "energy")}  # fmt: skip
    still = dataclasses.replace(analysis, **flat)
    backend = ProceduralBackend()

    def r(style: str, seed: int, picture: VideoAnalysis) -> float:
        music = backend.generate(MusicRequest(SECONDS, picture, style=style, seed=seed))
        mono = librosa.resample(music.audio.samples.mean(axis=0), orig_sr=48000,
                                target_sr=22050)  # fmt: skip
        onset = librosa.onset.onset_strength(y=mono, sr=22050, hop_length=512)
        times = librosa.times_like(onset, sr=22050, hop_length=512)
        means = [onset[(times >= w) & (times < w + 2)].mean() for w in windows]
        return float(np.corrcoef(means, speed)[0, 1])

    lowest, nulls = 1.0, []
    for style in STYLES:
        rs = [r(style, seed, analysis) for seed in (0, 1)]
        lowest = min(lowest, *rs)
        report["styles"][style] = " / ".join(f"{x:.2f}" for x in rs)  # type: ignore[index]
        nulls.append(r(style, 0, still))
    report["lowest_r"] = round(lowest, 3)
    report["still_picture_r"] = f"{min(nulls):.2f} … {max(nulls):.2f}"
    report["goal"] = "r >= 0.5 in every style"
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
