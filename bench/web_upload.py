"""An upload over the limit with no Content-Length (chunked): how much the server reads before
it says no, how long that takes, and its memory.

Ours: `audio-creator serve` with AUDIO_CREATOR_MAX_UPLOAD_MB=64, on both upload routes (the API's
`POST /api/jobs` and the page's `POST /gradio_api/upload`). The peer: a stock FastAPI route that
parses the form with Starlette's `request.form()` and then checks the size — what the API did
before its bodies were counted as they stream. Each gets GIGABYTES of file; the client stops
sending when the answer comes. Prints JSON: bytes sent before the answer, seconds, the answer's
status, the server's peak RSS (VmHWM) and what the upload left in the server's folders.

Run: `python bench/web_upload.py [--gigabytes 2]`.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

TOKEN = "bench-token-0123456789"
LIMIT_MB = 64

PEER = textwrap.dedent(
    """
    import sys
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse
    import uvicorn

    app = FastAPI()
    LIMIT = int(sys.argv[2])

    @app.post("/api/jobs")
    async def submit(request: Request):
        form = await request.form()
        size = 0
        for _, value in form.multi_items():
            if hasattr(value, "size"):
                size += value.size
        if size > LIMIT:
            return JSONResponse({"detail": "too large"}, status_code=413)
        return {"ok": True}

    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
    """
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("the server did not start")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the server did not start")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def chunked_upload(port: int, path: str, total: int) -> dict[str, object]:
    """Send a multipart upload of `total` bytes, chunked, until the server answers."""
    boundary = "benchboundary0123456789"
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer {TOKEN}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
            "Transfer-Encoding: chunked\r\n\r\n")  # fmt: skip
    part = (f'--{boundary}\r\nContent-Disposition: form-data; name="mode"\r\n\r\ntts\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
            'filename="big.mp4"\r\n\r\n').encode()  # fmt: skip
    block = b"\0" * (1 << 20)
    sent = 0
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=600) as connection:
        connection.sendall(head.encode() + f"{len(part):x}\r\n".encode() + part + b"\r\n")
        connection.setblocking(False)
        pending = b""
        while True:
            readable, writable, _ = select.select([connection], [connection], [], 5.0)
            if readable:
                break
            if writable:
                if not pending:
                    if sent >= total:  # all sent: close the body, then wait for the answer
                        tail = f"\r\n--{boundary}--\r\n".encode()
                        connection.setblocking(True)
                        connection.sendall(f"{len(tail):x}\r\n".encode() + tail + b"\r\n0\r\n\r\n")
                        break
                    pending = f"{len(block):x}\r\n".encode() + block + b"\r\n"
                    sent += len(block)
                try:
                    pending = pending[connection.send(pending) :]
                except OSError:
                    break
        connection.setblocking(True)
        try:
            answer = connection.recv(200)
        except OSError:
            answer = b""
    seconds = time.monotonic() - started
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else None
    return {"sent_mb": round(sent / 2**20, 1), "seconds": round(seconds, 2), "status": status}


def leftovers(folder: Path) -> int:
    """Bytes of files left under `folder` (the jobs' SQLite file aside)."""
    return sum(
        p.stat().st_size for p in folder.rglob("*")
        if p.is_file() and not p.name.startswith("jobs.sqlite3")
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gigabytes", type=float, default=2.0)
    args = parser.parse_args()
    total = int(args.gigabytes * 2**30)
    results = {"offered_mb": round(total / 2**20), "limit_mb": LIMIT_MB}
    with tempfile.TemporaryDirectory() as scratch:
        data = Path(scratch) / "data"
        spool = Path(scratch) / "tmp"
        spool.mkdir()
        for route in ("/api/jobs", "/gradio_api/upload"):
            port = free_port()
            env = {**os.environ, "AUDIO_CREATOR_DATA": str(data), "AUDIO_CREATOR_TOKEN": TOKEN,
                   "AUDIO_CREATOR_MAX_UPLOAD_MB": str(LIMIT_MB), "TMPDIR": str(spool)}  # fmt: skip
            server = subprocess.Popen(
                [sys.executable, "-m", "audio_creator.cli", "--log-level", "WARNING", "serve",
                 "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
            try:
                wait_for(port, server)
                measured = chunked_upload(port, route, total)
                time.sleep(0.5)
                measured["server_peak_rss_mb"] = round(peak_rss_mb(server.pid))
                measured["left_on_disk_mb"] = round((leftovers(data) + leftovers(spool)) / 2**20, 1)
                results[f"ours {route}"] = measured
            finally:
                server.terminate()
                server.wait(timeout=20)
        port = free_port()
        peer = subprocess.Popen(
            [sys.executable, "-c", PEER, str(port), str(LIMIT_MB * 2**20)],
            env={**os.environ, "TMPDIR": str(spool)}, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            wait_for(port, peer)
            measured = chunked_upload(port, "/api/jobs", total)
            measured["server_peak_rss_mb"] = round(peak_rss_mb(peer.pid))
            results["stock FastAPI request.form() then a size check"] = measured
        finally:
            peer.terminate()
            peer.wait(timeout=20)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
