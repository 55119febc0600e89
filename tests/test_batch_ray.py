"""Batches on a real Ray cluster, started by the test on this machine's loopback only."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
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

# Ray reads its settings from the environment when it is imported: it is never imported here,
# only in the commands the tests run, each started with LOOPBACK in its environment.
pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("ray") is None,
    reason="no Ray here: pip install 'audio-creator[cluster]'",
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
    # In the foreground (--block), in a session of its own: stopping it stops this cluster and
    # no other (`ray stop` would stop every Ray on the machine).
    head = subprocess.Popen([str(RAY), "start", "--head", "--block", "--node-ip-address",
                             "127.0.0.1", "--port", str(port), "--num-cpus", "2", "--temp-dir",
                             temp, "--include-dashboard", "false", "--disable-usage-stats"],
                            env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while not _listens(port) and time.monotonic() < deadline:
            assert head.poll() is None, "ray start failed"
            time.sleep(0.2)
        time.sleep(2.0)  # the raylet registers after the GCS listens
        opened = listening() - before
        assert _listens(port), "Ray's head did not start"
        assert all(a.startswith(LOOPBACK_ADDRESSES) for a in opened), opened
        yield f"127.0.0.1:{port}"
    finally:
        _stop(head, temp)
        shutil.rmtree(temp, ignore_errors=True)


def _listens(port: int) -> bool:
    return any(address.endswith(f":{port}") for address in listening())


def _stop(head: subprocess.Popen[bytes], temp: str) -> None:
    """Stop the test's cluster: its process group, then anything still naming its folder."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(head.pid, signal.SIGTERM)
    try:
        head.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(head.pid, signal.SIGKILL)
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if temp.encode() in cmdline.read_bytes():
                os.kill(int(cmdline.parent.name), signal.SIGKILL)
        except (OSError, ValueError):
            continue


def batch(*args: str, environment: dict[str, str] | None = None) -> int:
    """`audio-creator batch ARGS` in a process of its own, with LOOPBACK (and `environment`) in
    its environment; while it runs, no TCP connection of Ray's or ours may reach beyond
    loopback."""
    command = [sys.executable, "-m", "audio_creator.cli", "batch", *args]
    process = subprocess.Popen(command, env={**os.environ, **LOOPBACK, **(environment or {})},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    seen: set[tuple[str, str]] = set()
    deadline = time.monotonic() + 300
    while process.poll() is None and time.monotonic() < deadline:
        seen |= connections()
        time.sleep(0.1)
    process.kill()
    assert seen, "no connection seen: the check would see none either"
    assert all(local.startswith(LOOPBACK_ADDRESSES) and peer.startswith(LOOPBACK_ADDRESSES)
               for local, peer in seen), seen  # fmt: skip
    return process.wait()


LOOPBACK_ADDRESSES = ("127.0.0.1:", "[::1]:", "[::ffff:127.0.0.1]:")


def connections() -> set[tuple[str, str]]:
    """(local, peer) of the established TCP connections of Ray's processes and ours."""
    done = subprocess.run(["ss", "-Htnp"], check=True, capture_output=True, text=True)
    found = set()
    for line in done.stdout.splitlines():
        fields = line.split()
        for pid in re.findall(r"pid=(\d+)", line):
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"ray" in command or b"audio_creator" in command:
                found.add((fields[3], fields[4]))
    return found


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


def test_neural_rows_share_one_model_on_a_music_server(
    cluster: str, videos: Path, tmp_path: Path
) -> None:
    pytest.importorskip("transformers")
    from tiny_models import save_tiny_musicgen

    model = save_tiny_musicgen(tmp_path / "musicgen")
    out = tmp_path / "out"
    (tmp_path / "m.csv").write_text(
        f"id,video,seed\none,{videos / 'clip1.mp4'},1\ntwo,{videos / 'clip2.mp4'},2\n"
    )
    args = ["--mode", "vidmuse", "--manifest", str(tmp_path / "m.csv"), "--output-dir", str(out),
            "--engine", "ray", "--ray-address", cluster, "--backend", "musicgen",
            "--music-model", str(model), "--target-lufs", "-30"]  # fmt: skip
    # both rows' requests wait for each other (they arrive seconds apart), then run as one batch
    assert batch(*args, environment={"AUDIO_CREATOR_MUSIC_BATCH": "2",
                                     "AUDIO_CREATOR_MUSIC_LINGER_S": "120"}) == 0  # fmt: skip
    rows = report(out)
    for row in rows.values():
        assert row["status"] == "done", row
        figures = row["figures"]
        assert isinstance(figures, dict)
        assert figures["summary.model_loads"] == 1 and figures["summary.batch_rows"] == 2
    import soundfile as sf

    assert [round(sf.info(str(out / k / "music.wav")).duration) for k in ("one", "two")] == [4, 5]
