"""Batches on a real Ray cluster, started by the test on this machine's loopback only."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ray = pytest.importorskip(
    "ray", reason="Ray is not installed: pip install 'audio-creator[cluster]'"
)
RAY = Path(sys.executable).with_name("ray")
# On Linux, Ray binds the host's network address unless told otherwise: keep it on loopback. The
# cluster asks for a token (Ray's default): one of the test's own, given to the head and drivers.
LOOPBACK = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0",
            "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}  # fmt: skip


def listening() -> set[str]:
    """The local addresses of every listening TCP socket on this machine."""
    done = subprocess.run(["ss", "-Htln"], check=True, capture_output=True, text=True)
    return {line.split()[3] for line in done.stdout.splitlines() if line.strip()}


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A one-node Ray cluster with 2 CPUs on 127.0.0.1; its address."""
    if shutil.which("ss") is None:
        pytest.skip("ss (iproute2) is needed to check that Ray listens on loopback only")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    before = listening()
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's socket paths must be
    env = {**os.environ, **LOOPBACK}
    subprocess.run([str(RAY), "start", "--head", "--node-ip-address", "127.0.0.1", "--port",
                    str(port), "--num-cpus", "2", "--temp-dir", temp, "--include-dashboard",
                    "false", "--disable-usage-stats"], check=True, env=env,
                   capture_output=True)  # fmt: skip
    try:
        opened = listening() - before
        assert opened, "Ray opened no port"
        loopback = ("127.0.0.1:", "[::1]:", "[::ffff:127.0.0.1]:")
        assert all(a.startswith(loopback) for a in opened), opened
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([str(RAY), "stop", "--force"], env=env, capture_output=True, check=False)
        shutil.rmtree(temp, ignore_errors=True)


def batch(*args: str) -> int:
    """`audio-creator batch ARGS` in a process of its own, with LOOPBACK in its environment."""
    command = [sys.executable, "-m", "audio_creator.cli", "batch", *args]
    done = subprocess.run(command, env={**os.environ, **LOOPBACK}, capture_output=True,
                          timeout=300, check=False)  # fmt: skip
    return done.returncode


@pytest.fixture(scope="module")
def videos(batch_videos: Path) -> Path:
    return batch_videos


def report(out: Path) -> dict[str, dict[str, object]]:
    return {row["id"]: row for row in json.loads((out / "batch_report.json").read_text())}


def test_a_folder_runs_on_ray_and_a_second_run_skips_what_is_done(
    cluster: str, videos: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    args = ["--mode", "vidmuse", "--input", str(videos), "--output-dir", str(out),
            "--engine", "ray", "--ray-address", cluster]  # fmt: skip
    assert batch(*args) == 1
    rows = report(out)
    assert {k: r["status"] for k, r in rows.items()} == {
        "broken": "failed", "clip1": "done", "clip2": "done", "clip3": "done", "clip4": "done",
    }  # fmt: skip
    assert rows["broken"]["error_kind"] == "media"
    for number in range(1, 5):
        assert {"music.wav", "batch_record.json"} <= {
            p.name for p in (out / f"clip{number}").iterdir()
        }
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*.wav")}
    assert batch(*args, "--seed", "0") == 1  # the same options: nothing runs again
    assert [r["status"] for k, r in report(out).items() if k != "broken"] == ["skipped"] * 4
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.wav")} == stamps
    assert batch(*args, "--seed", "5") == 1  # a new seed for every row: all of them again
    assert [r["status"] for k, r in report(out).items() if k != "broken"] == ["done"] * 4


def test_a_ray_worker_killed_mid_row_is_retried_by_ray(
    cluster: str, videos: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    (tmp_path / "m.csv").write_text(f"id,video\nonly,{videos / 'clip4.mp4'}\n")
    command = [sys.executable, "-m", "audio_creator.cli", "batch", "--mode", "autopipeline",
               "--manifest", str(tmp_path / "m.csv"), "--output-dir", str(out), "--engine", "ray",
               "--ray-address", cluster]  # fmt: skip
    running = subprocess.Popen(command, env={**os.environ, **LOOPBACK},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        marker = None
        while time.monotonic() < deadline and marker is None:
            marker = next(iter(out.glob(".staging.*/.attempt")), None) if out.exists() else None
            time.sleep(0.05)
        assert marker is not None, "the row never started"
        attempt, pid = marker.read_text().split()
        assert attempt == "1"
        time.sleep(0.5)  # mid-row
        os.kill(int(pid), signal.SIGKILL)
        assert running.wait(timeout=180) == 0
    finally:
        running.kill()
    (row,) = report(out).values()
    assert row["status"] == "done" and row["attempts"] == 2
    assert (out / "only" / "soundtrack.wav").is_file()
    assert not [p for p in out.iterdir() if p.name.startswith(".staging")]
    assert not (out / "only" / ".attempt").exists()
