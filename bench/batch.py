"""Many videos through `autopipeline`: a shell loop of the command against `audio-creator batch`.

Twelve 20 s 1280×720 clips (scripted shots with grain, made once and cached in output/bench/)
each get their soundtrack and merged MP4:

- sequential: the command once per clip, one after the other (what a shell loop does);
- `batch --engine local --workers N` (default 2): a process per row, N at once;
- `batch --engine ray --workers N`: one Ray task per row on a Ray started for the run (its
  start-up counted), when Ray is installed; and the same on a Ray cluster of N CPUs already
  running (`ray start --head` on loopback before the clock starts, `--ray-address`), as a
  user with a cluster runs it.

Printed side by side: wall time, clips per minute, and the fixed cost per clip (its wall time
less the seconds its own report gives the job: start-up, imports, model loads). The goal on two
cores: the local engine at ≥ 1.6× the loop's throughput, Ray within 15 % of the local engine.
With `--memory N`: N rows of vidmuse on one 10 s clip through each engine instead, and each
worker's peak resident memory at the end of each row, first rows against last (a Ray worker runs
many rows in one process: its memory must not grow with them).
Run: `python bench/batch.py [--clips 12] [--workers 2] [--memory 50]`; prints JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from clips import scripted_clip

WORK = Path("output/bench")
GOAL = 1.6
# A Ray of our own listens on loopback only, and reports no usage.
LOOPBACK = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}


def clips(count: int) -> Path:
    folder = WORK / "batch20"
    for number in range(count):
        scripted_clip(folder / f"clip{number:02d}.mp4", seconds=20.0, longest_shot_s=5.0,
                      seed=100 + number, video_seed=number)  # fmt: skip
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clips", type=int, default=12)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory", type=int, default=0, metavar="ROWS")
    args = parser.parse_args()
    if args.memory:
        memory(args.memory, args.workers)
        return
    folder = clips(args.clips)
    videos = sorted(folder.glob("*.mp4"))[: args.clips]
    command = [sys.executable, "-m", "audio_creator.cli", "--log-level", "WARNING"]
    with tempfile.TemporaryDirectory() as scratch:
        loop_out = Path(scratch) / "loop"
        loop_out.mkdir()
        per_clip = []
        started = time.perf_counter()
        for video in videos:
            begun = time.perf_counter()
            out = loop_out / f"{video.stem}.wav"
            subprocess.run([*command, "autopipeline", "--video", str(video), "-o", str(out),
                            "--merge-video"], check=True, capture_output=True)  # fmt: skip
            report = json.loads(out.with_name(f"{video.stem}_report.json").read_text())
            per_clip.append(time.perf_counter() - begun - report["seconds"])
        loop_s = time.perf_counter() - started

        engines = {}
        runs = [("local", False)]
        if importlib.util.find_spec("ray") is not None:
            runs += [("ray", False), ("ray_cluster", True)]
        for engine, on_cluster in runs:
            batch_out = Path(scratch) / engine
            with contextlib.ExitStack() as stack:
                environment, extra = {**os.environ, **LOOPBACK}, []
                if on_cluster:  # a cluster started (and waited for) before the clock starts
                    address, token = stack.enter_context(ray_cluster(args.workers))
                    extra = ["--ray-address", address]
                    environment.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=token)
                started = time.perf_counter()
                subprocess.run([*command, "batch", "--mode", "autopipeline", "--input",
                                str(folder), "--output-dir", str(batch_out), "--merge-video",
                                "--workers", str(args.workers), "--engine", engine.split("_")[0],
                                *extra], check=True, capture_output=True,
                               env=environment)  # fmt: skip
                seconds = time.perf_counter() - started
            rows = json.loads((batch_out / "batch_report.json").read_text())
            assert all(row["status"] == "done" for row in rows), rows
            fixed = []
            for row in rows:
                report = json.loads((batch_out / row["id"] / "soundtrack_report.json").read_text())
                fixed.append(row["seconds"] - report["seconds"])
            engines[engine] = (seconds, sum(fixed) / len(fixed))
            shutil.rmtree(batch_out)

    def per_minute(seconds: float) -> float:
        return round(len(videos) * 60 / seconds, 2)

    figures: dict[str, object] = {
        "clips": f"{len(videos)} × 20 s, 1280x720, 30 fps H.264 with grain; autopipeline "
                 "--merge-video",
        "shell_loop": {"wall_s": round(loop_s, 1), "clips_per_min": per_minute(loop_s),
                       "fixed_cost_per_clip_s": round(sum(per_clip) / len(per_clip), 2)},
    }  # fmt: skip
    for engine, (seconds, fixed_s) in engines.items():
        figures[f"batch_{engine}_{args.workers}_workers"] = {
            "wall_s": round(seconds, 1), "clips_per_min": per_minute(seconds),
            "fixed_cost_per_clip_s": round(fixed_s, 2), "speed_up": round(loop_s / seconds, 2),
        }  # fmt: skip
    if "ray" in engines:  # a Ray started for the run: its start (~4 s) and stop (~1.4 s) count
        figures["ray_over_local"] = round(engines["ray"][0] / engines["local"][0], 3)
        figures["ray_cluster_over_local"] = round(
            engines["ray_cluster"][0] / engines["local"][0], 3
        )
    figures["goal"] = {"local_speed_up": GOAL, "ray_over_local": 1.15}
    print(json.dumps(figures, indent=2))


@contextlib.contextmanager
def ray_cluster(cpus: int) -> Iterator[tuple[str, str]]:
    """A one-node Ray cluster on loopback, as `ray start --head` makes one: (address, token)."""
    import secrets
    import signal
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    token = secrets.token_hex(32)
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")
    environment = {**os.environ, **LOOPBACK, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token}
    head = subprocess.Popen([str(Path(sys.executable).with_name("ray")), "start", "--head",
                             "--block", "--node-ip-address", "127.0.0.1", "--port", str(port),
                             "--num-cpus", str(cpus), "--temp-dir", temp, "--include-dashboard",
                             "false", "--disable-usage-stats"], env=environment,
                            start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        address = f"127.0.0.1:{port}"
        check = [sys.executable, "-c", f"import ray; ray.init(address='{address}')"]
        deadline = time.monotonic() + 120
        while subprocess.run(check, env=environment, capture_output=True, check=False).returncode:
            if time.monotonic() > deadline or head.poll() is not None:
                raise SystemExit("the Ray cluster did not start")
            time.sleep(1.0)
        yield address, token
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
        shutil.rmtree(temp, ignore_errors=True)


def memory(count: int, workers: int) -> None:
    video = scripted_clip(WORK / "batch10.mp4", seconds=10.0, longest_shot_s=4.0, seed=7,
                          video_seed=7)  # fmt: skip
    figures: dict[str, object] = {"rows": count, "video": "10 s 720p, vidmuse, one seed a row"}
    with tempfile.TemporaryDirectory() as scratch:
        manifest = Path(scratch) / "rows.csv"
        manifest.write_text("id,video,seed\n" + "".join(
            f"row{n:03d},{video.resolve()},{n}\n" for n in range(count)))  # fmt: skip
        for engine in ("local", "ray"):
            if engine == "ray" and importlib.util.find_spec("ray") is None:
                continue
            out = Path(scratch) / engine
            subprocess.run([sys.executable, "-m", "audio_creator.cli", "--log-level", "WARNING",
                            "batch", "--mode", "vidmuse", "--manifest", str(manifest),
                            "--output-dir", str(out), "--workers", str(workers), "--engine",
                            engine], check=True, capture_output=True,
                           env={**os.environ, **LOOPBACK})  # fmt: skip
            rows = json.loads((out / "batch_report.json").read_text())
            peaks = [row["peak_rss_mb"] for row in rows]
            tenth = max(1, count // 10)
            figures[engine] = {
                "worker_peak_rss_mb_max": max(peaks),
                "first_rows_mean_mb": round(sum(peaks[:tenth]) / tenth, 1),
                "last_rows_mean_mb": round(sum(peaks[-tenth:]) / tenth, 1),
                # growth that levels off (allocator pools filling) or keeps on climbing
                "each_tenth_mean_mb": [round(sum(peaks[k : k + tenth]) / tenth, 1)
                                       for k in range(0, count - tenth + 1, tenth)],
            }  # fmt: skip
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
