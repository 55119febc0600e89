"""Mix benchmark: our mixer against FFmpeg's two-pass loudnorm + sidechaincompress chain.

Prints one JSON object. Both sides get the same 10-minute stereo 48 kHz music bed and a mono
narration stand-in, duck the music under the speech, and normalise to −16 LUFS with a −1 dBTP
ceiling. Both outputs are measured by FFmpeg's ebur128 filter (integrated loudness and true peak)
and, for the loudness error, also by our own BS.1770 meter, which reads closed-form values to
1e-5 LU (tests/test_loudness.py). FFmpeg's reads a stereo −23 dBFS 1 kHz sine, whose BS.1770
loudness is −22.993 LUFS, as −23.000: its resolution is the size of both errors here.

- ours_mix_s: `mix()` in this process (inputs already in memory), best of `--repeat` runs.
- ours_cli_s: `audio-creator mix` as a fresh process: read the WAVs, mix, write a 24-bit WAV.
- ffmpeg_s: pass 1 (measure with loudnorm) plus pass 2 (apply it, linear mode) of
  `[music][speech]sidechaincompress → amix → loudnorm`.
- long: `audio-creator mix` of 60-minute inputs in a child process; its peak resident memory.

Usage: python bench/mix.py [--work-dir output/bench] [--minutes 10] [--long-minutes 60]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import soundfile as sf

from audio_creator.audio import load
from audio_creator.dsp.loudness import measure
from audio_creator.mix.mixer import MixOptions, Track, mix

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
RATE = 48000


def music_bed(seconds: float, seed: int = 0) -> np.ndarray:
    """Stereo 'music': chords changing every 2 s, a bass line, drum hits, verses and choruses."""
    rng = np.random.default_rng(seed)
    out = np.empty((2, round(seconds * RATE)), np.float32)
    block = 60 * RATE  # made a minute at a time to keep memory flat
    roots = [110.0, 146.8, 164.8, 98.0]
    for start in range(0, out.shape[1], block):
        t = (np.arange(start, min(start + block, out.shape[1])) / RATE).astype(np.float64)
        root = np.take(roots, (t // 2).astype(int) % 4)
        chord = sum(np.sin(2 * np.pi * root * ratio * t) for ratio in (1, 1.26, 1.5, 2))
        kick = np.exp(-((t % 0.5) * 30)) * np.sin(2 * np.pi * 55 * (t % 0.5))
        hat = rng.standard_normal(t.size) * np.exp(-((t % 0.25) * 80)) * 0.3
        section = 0.6 + 0.4 * ((t // 20) % 2)  # quieter verses, louder choruses
        left = section * (0.12 * chord + 0.5 * kick + hat)
        out[0, start : start + t.size] = left
        out[1, start : start + t.size] = section * (0.12 * chord * 0.9 + 0.5 * kick - hat)
    return out


def narration(seconds: float, seed: int = 1) -> np.ndarray:
    """Mono speech stand-in: 250 ms words of band-limited noise, sentences of 6 s, 3 s pauses."""
    from scipy.signal import butter, sosfilt

    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * RATE)) / RATE
    noise = sosfilt(
        butter(4, [300, 3000], "bandpass", fs=RATE, output="sos"), rng.standard_normal(t.size)
    )
    words = ((t % 0.35) < 0.25) & ((t % 9) > 1) & ((t % 9) < 7)
    return (0.08 * noise * words).astype(np.float32)[None, :]


def ffmpeg_loudness(path: Path) -> dict[str, float]:
    """Integrated loudness and true peak by FFmpeg's ebur128 filter, at full precision (its frame
    metadata) rather than the one decimal of its summary."""
    with tempfile.TemporaryDirectory() as folder:
        meta = Path(folder) / "meta.txt"
        subprocess.run(
            [
                FFMPEG,
                "-hide_banner",
                "-nostats",
                "-loglevel",
                "error",
                "-i",
                str(path),
                "-af",
                f"ebur128=metadata=1:peak=true,ametadata=mode=print:file={meta}",
                "-f",
                "null",
                "-",
            ],
            check=True,
        )
        values = dict(line.partition("=")[::2] for line in meta.read_text().splitlines())
    peak = float(values["lavfi.r128.true_peak"])
    return {
        "integrated_lufs": round(float(values["lavfi.r128.I"]), 3),
        "true_peak_dbtp": round(20 * math.log10(peak), 2) if peak > 0 else -math.inf,
    }


def exact_error(path: Path) -> float:
    """Distance from −16 LUFS by our BS.1770 meter (see the module docstring)."""
    return round(abs(measure(load(path), true_peak=False).integrated_lufs + 16), 4)


def run_ffmpeg_chain(music: Path, speech: Path, out: Path) -> float:
    graph = (
        "[1:a]aformat=channel_layouts=stereo,asplit=2[sc][sp];"
        "[0:a][sc]sidechaincompress=threshold=0.02:ratio=8:attack=20:release=300[ducked];"
        "[ducked][sp]amix=inputs=2:normalize=0,"
    )
    start = time.perf_counter()
    first = subprocess.run(
        [
            FFMPEG,
            "-hide_banner",
            "-nostats",
            "-i",
            str(music),
            "-i",
            str(speech),
            "-filter_complex",
            graph + "loudnorm=I=-16:TP=-1:LRA=20:print_format=json",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    measured = json.loads(first[first.rfind("{") : first.rfind("}") + 1])
    second = (
        f"loudnorm=I=-16:TP=-1:LRA=20:linear=true:measured_I={measured['input_i']}:"
        f"measured_TP={measured['input_tp']}:measured_LRA={measured['input_lra']}:"
        f"measured_thresh={measured['input_thresh']}:offset={measured['target_offset']}"
    )
    subprocess.run(
        [
            FFMPEG,
            "-hide_banner",
            "-nostats",
            "-loglevel",
            "error",
            "-y",
            "-i",
            str(music),
            "-i",
            str(speech),
            "-filter_complex",
            graph + second + ",aresample=48000",
            "-c:a",
            "pcm_s24le",
            str(out),
        ],
        check=True,
    )
    return time.perf_counter() - start


def write_inputs(folder: Path, minutes: float) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    music, speech = folder / f"music_{minutes:g}min.wav", folder / f"speech_{minutes:g}min.wav"
    if not music.exists():
        sf.write(music, music_bed(minutes * 60).T, RATE, subtype="PCM_16")
    if not speech.exists():
        sf.write(speech, narration(minutes * 60)[0], RATE, subtype="PCM_16")
    return music, speech


# Runs one command and prints its wall time and peak resident memory (the child's own rusage).
_MEASURE = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
subprocess.run(json.loads(sys.argv[1]), check=True, stdout=subprocess.DEVNULL)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(time.perf_counter() - start, peak)
"""


def cli_run(music: Path, speech: Path, out: Path) -> tuple[float, float]:
    """Wall time and peak resident memory (MB) of `audio-creator mix` in a child process."""
    exe = shutil.which("audio-creator") or str(Path(sys.executable).with_name("audio-creator"))
    argv = [
        exe,
        "--log-level",
        "WARNING",
        "mix",
        "--music",
        str(music),
        "--speech",
        str(speech),
        "-o",
        str(out),
    ]
    proc = subprocess.run(
        [sys.executable, "-c", _MEASURE, json.dumps(argv)],
        capture_output=True,
        text=True,
        check=True,
    )
    seconds, peak_mb = proc.stdout.split()
    return float(seconds), float(peak_mb)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work-dir", type=Path, default=Path("output/bench"))
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--long-minutes", type=float, default=60, help="0 skips the memory run")
    parser.add_argument("--repeat", type=int, default=3, help="in-process mix timings (best of)")
    args = parser.parse_args()
    music_path, speech_path = write_inputs(args.work_dir, args.minutes)

    music, speech = load(music_path), load(speech_path)
    mix([Track(music)], [Track(speech)], MixOptions(duration_s=5.0))  # warm up imports
    ours_mix_s = math.inf
    for _ in range(args.repeat):  # best of N, as bench/media.py: this machine is noisy
        start = time.perf_counter()
        mix([Track(music)], [Track(speech)], MixOptions())
        ours_mix_s = min(ours_mix_s, time.perf_counter() - start)
    del music, speech
    ours_out, peer_out = args.work_dir / "ours_mix.wav", args.work_dir / "ffmpeg_mix.wav"
    ours_cli_s, ours_cli_mb = cli_run(music_path, speech_path, ours_out)
    ffmpeg_s = run_ffmpeg_chain(music_path, speech_path, peer_out)
    ours, theirs = ffmpeg_loudness(ours_out), ffmpeg_loudness(peer_out)
    report: dict[str, object] = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "inputs": f"{args.minutes:g} min stereo 48 kHz music + mono narration",
        "target": "-16 LUFS, -1 dBTP",
        "ours": {
            "mix_s": round(ours_mix_s, 2),
            "cli_s": round(ours_cli_s, 2),
            "cli_peak_mb": round(ours_cli_mb),
            **ours,
            "loudness_error_lu": round(abs(ours["integrated_lufs"] + 16), 3),
            "loudness_error_lu_bs1770": exact_error(ours_out),
        },
        "ffmpeg_two_pass": {
            "s": round(ffmpeg_s, 2),
            **theirs,
            "loudness_error_lu": round(abs(theirs["integrated_lufs"] + 16), 3),
            "loudness_error_lu_bs1770": exact_error(peer_out),
        },
    }
    if args.long_minutes > 0:
        long_music, long_speech = write_inputs(args.work_dir, args.long_minutes)
        seconds, peak_mb = cli_run(long_music, long_speech, args.work_dir / "ours_long.wav")
        report["long"] = {
            "minutes": args.long_minutes,
            "cli_s": round(seconds, 1),
            "peak_mb": round(peak_mb),
            "goal_mb": 2048,
            **ffmpeg_loudness(args.work_dir / "ours_long.wav"),
        }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
