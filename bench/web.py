"""Load on the HTTP API: N jobs submitted at once, all completed, health answering quickly.

Starts `audio-creator serve` on a free loopback port with a fresh jobs folder, submits N short
narration jobs at once, and asks `/api/health` every 50 ms until every job has ended. Prints how
many jobs finished (and how), the time to finish them all, and the health check's latency
(median, p95, worst). The goal: 20 jobs, none lost, health p95 < 200 ms.

Run: `python bench/web.py [--jobs 20]`; prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=20)
    args = parser.parse_args()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as data:
        token = secrets.token_hex(24)
        env = {**os.environ, "AUDIO_CREATOR_DATA": data, "AUDIO_CREATOR_QUEUE_LIMIT": "100",
               "AUDIO_CREATOR_TOKEN": token}  # fmt: skip
        server = subprocess.Popen(
            [sys.executable, "-m", "audio_creator.cli", "--log-level", "WARNING", "serve",
             "--port", str(port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            bearer = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=base, timeout=30, headers=bearer) as client:
                deadline = time.monotonic() + 30
                while True:
                    try:
                        client.get("/api/health")
                        break
                    except httpx.TransportError:
                        if time.monotonic() > deadline:
                            raise
                        time.sleep(0.2)

                def submit(k: int) -> str:
                    params = json.dumps({"text": f"Job number {k} says hello. And goodbye."})
                    answer = client.post("/api/jobs", data={"mode": "tts", "params": params})
                    answer.raise_for_status()
                    return str(answer.json()["id"])

                start = time.monotonic()
                with ThreadPoolExecutor(max_workers=args.jobs) as pool:
                    ids = list(pool.map(submit, range(args.jobs)))
                latencies = []
                while True:
                    asked = time.perf_counter()
                    client.get("/api/health").raise_for_status()
                    latencies.append(time.perf_counter() - asked)
                    jobs = {j["id"]: j["status"] for j in client.get("/api/jobs").json()}
                    if all(jobs.get(i) in ("done", "failed", "cancelled") for i in ids):
                        break
                    time.sleep(0.05)
                elapsed = time.monotonic() - start
        finally:
            server.terminate()
            server.wait(timeout=10)
    ms = np.array(latencies) * 1000
    print(json.dumps({
        "jobs": args.jobs,
        "done": sum(jobs[i] == "done" for i in ids),
        "lost_or_failed": sum(jobs.get(i) != "done" for i in ids),
        "all_finished_s": round(elapsed, 1),
        "health_ms": {"median": round(float(np.median(ms)), 1),
                      "p95": round(float(np.percentile(ms, 95)), 1),
                      "max": round(float(ms.max()), 1), "samples": int(ms.size)},
        "goal": "none lost; health p95 < 200 ms",
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
