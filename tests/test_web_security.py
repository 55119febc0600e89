"""Attacks on a running server, replayed: each one against a real `audio-creator serve` process on
loopback (or the app itself, where a setting is easier given there), and each one refused.

The server is a single-user one, as Jupyter's: whoever holds its token is its user. What must
never happen is that someone without the token — a web page in the user's browser, a page of a
site whose name was made to resolve to 127.0.0.1, a client behind a reverse proxy — gets a job run,
reads a file of the server, or gets a server path back.
"""

from __future__ import annotations

import json
import os
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

pytest.importorskip("gradio")
import httpx
from fastapi.testclient import TestClient

from audio_creator.web.api import ServerSettings, create_app
from helpers import WEB_TOKEN, free_port, make_video, start_web_server

SECRET = "the server's own secret line, never for a client"
LIMIT_MB = 1


class Server:
    """A started server: its port, data folder, a client with its token, and one without."""

    def __init__(self, port: int, data: Path, process: Any, client: httpx.Client) -> None:
        self.port, self.data, self.process, self.client = port, data, process, client
        self.base = f"http://127.0.0.1:{port}"
        self.anonymous = httpx.Client(base_url=self.base, timeout=30)

    def jobs(self) -> list[Any]:
        return self.client.get("/api/jobs").json()  # type: ignore[no-any-return]

    def files_holding(self, text: str) -> list[Path]:
        """Every file under the data folder whose bytes contain `text`."""
        found = []
        for path in self.data.rglob("*"):
            if path.is_file() and not path.is_symlink() and text.encode() in path.read_bytes():
                found.append(path)
        return found


def _start(folder: Path, token: str | None) -> Iterator[Server]:
    port = free_port()
    data = folder / "data"
    process, client = start_web_server(
        port, data, token=token, AUDIO_CREATOR_MAX_UPLOAD_MB=str(LIMIT_MB)
    )
    server = Server(port, data, process, client)
    try:
        yield server
    finally:
        process.terminate()
        process.wait(timeout=20)
        client.close()
        server.anonymous.close()


@pytest.fixture(scope="module")
def secret_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Files of the server's machine that no client was given: text, JSON, a video, a sound.
    Each holds SECRET (the media after their last packet, where decoders do not look), so a copy
    anywhere in the server's folders is found."""
    import numpy as np
    import soundfile as sf

    folder = tmp_path_factory.mktemp("server-files")
    (folder / "secret.txt").write_text(f"{SECRET}\n")
    (folder / "secret.json").write_text(json.dumps({"title": SECRET, "clips": []}))
    video = make_video(folder / "secret.mp4", duration_s=1.0, size="64x48")
    sound = folder / "secret.wav"
    sf.write(sound, np.zeros(8000, dtype=np.float32), 8000)
    for media in (video, sound):
        with media.open("ab") as tail:
            tail.write(SECRET.encode())
    return {"text": folder / "secret.txt", "json": folder / "secret.json", "video": video,
            "audio": sound}  # fmt: skip


@pytest.fixture(scope="module")
def with_token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from _start(tmp_path_factory.mktemp("token"), WEB_TOKEN)


@pytest.fixture(scope="module")
def without_token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server started with --insecure: no token, yet still no cross-site door."""
    yield from _start(tmp_path_factory.mktemp("insecure"), None)


@pytest.fixture(params=["with_token", "without_token"])
def server(request: pytest.FixtureRequest) -> Server:
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


# 1. Server files through the page's own API.


def _page_call(server: Server, run_button: str, kind: str, nth: int, path: Path) -> dict[str, Any]:
    """Call the page's handler behind `run_button` as the page's own script would, with the
    form's defaults, and `path` named as if uploaded in its `nth` file input of type `kind`."""
    config = server.client.get("/config").json()
    components = {c["id"]: c for c in config["components"]}
    button = next(
        c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == run_button
    )
    index, dependency = next(
        (i, d) for i, d in enumerate(config["dependencies"]) if [button, "click"] in d["targets"]
    )
    data = []
    seen = 0
    for component_id in dependency["inputs"]:
        component = components[component_id]
        if component["type"] == kind and seen == nth:
            data.append({"path": str(path), "orig_name": path.name,
                         "meta": {"_type": "gradio.FileData"}})  # fmt: skip
        else:
            data.append(component["props"].get("value"))
        seen += component["type"] == kind
    assert seen > nth, f"{run_button} has no {kind} input number {nth}"
    session = f"attack{time.monotonic_ns()}"
    joined = server.client.post(
        "/gradio_api/queue/join",
        json={"data": data, "fn_index": dependency.get("id", index), "session_hash": session,
              "trigger_id": button, "event_data": None},
    )  # fmt: skip
    assert joined.status_code == 200, joined.text
    with server.client.stream(
        "GET", "/gradio_api/queue/data", params={"session_hash": session}
    ) as stream:
        for line in stream.iter_lines():
            if line.startswith("data: ") and "process_completed" in line:
                return json.loads(line[6:])  # type: ignore[no-any-return]
    raise AssertionError("the page's call never completed")


# Every file input of the page: (its tab's Run button, its type, which one of that type).
FILE_INPUTS = [
    ("tts-run", "file", 0), ("wavjourney-run", "file", 0), ("wavjourney-run", "video", 0),
    ("vidmuse-run", "video", 0), ("autopipeline-run", "video", 0), ("autopipeline-run", "file", 0),
    ("mix-run", "audio", 0), ("mix-run", "audio", 1),
]  # fmt: skip


def test_the_attack_covers_every_file_input_of_the_page(with_token: Server) -> None:
    config = with_token.client.get("/config").json()
    kinds = ("file", "video", "audio", "image")
    inputs = []
    for component in config["components"]:
        props = component.get("props", {})
        if component["type"] in kinds and props.get("interactive") is not False:
            inputs.append(component["type"])
    assert sorted(inputs) == sorted(kind for _, kind, _ in FILE_INPUTS), inputs


@pytest.mark.parametrize(("button", "kind", "nth"), FILE_INPUTS)
def test_a_page_call_cannot_make_a_server_file_a_job_input(
    server: Server, secret_files: dict[str, Path], button: str, kind: str, nth: int
) -> None:
    before = server.jobs()
    key = {"file": "json" if button.startswith("wavjourney") else "text"}.get(kind, kind)
    answer = _page_call(server, button, kind, nth, secret_files[key])
    assert answer["success"] is False, answer
    assert server.jobs() == before  # no job was made of it
    assert server.files_holding(SECRET) == []  # nor was the file copied anywhere
    # Nor is the handler a public endpoint of Gradio's API (by any of its routes).
    for name in ("follow", "follow_2", "run_again", "lambda"):
        for route in ("call", "api", "run"):
            called = server.client.post(f"/gradio_api/{route}/{name}", json={"data": []})
            assert called.status_code == 404, (route, name)


def test_a_form_file_is_taken_only_from_this_servers_uploads(tmp_path: Path) -> None:
    """The check itself: a regular file the upload route handed out, inside its folder."""
    from gradio.utils import get_upload_folder

    from audio_creator.web import service, ui

    folder = Path(get_upload_folder()) / f"check-{os.getpid()}"
    folder.mkdir(parents=True, exist_ok=True)
    good = folder / "clip.mp4"
    good.write_bytes(b"uploaded")
    outside = tmp_path / "secret.txt"
    outside.write_text(SECRET)
    kept_back = folder / "never-handed-out.txt"
    kept_back.write_text("in the folder, but not from the route")
    link = folder / "link.txt"
    link.symlink_to(outside)
    dotted = folder / "sub" / ".." / "clip.mp4"

    class Blocks:
        upload_file_set: ClassVar[set[str]] = {
            str(good), str(link), str(folder / "gone.mp4"), str(dotted)
        }  # fmt: skip

    try:
        assert ui.uploaded_file(Blocks, str(good)) == good.resolve()
        assert ui.uploaded_file(Blocks, {"path": str(good)}) == good.resolve()
        for named in (outside, kept_back, link, folder / "gone.mp4", "/etc/passwd", "clip.mp4",
                      dotted, ""):  # fmt: skip
            with pytest.raises(service.Refused, match="only by being uploaded"):
                ui.uploaded_file(Blocks, str(named))
    finally:
        for path in (good, kept_back, link):
            path.unlink()
        folder.rmdir()


def test_the_pages_file_route_serves_no_server_file(
    tmp_path: Path, secret_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even to a signed-in user: Gradio's file route serves its own uploads and copies only."""
    import tempfile

    monkeypatch.chdir(tmp_path)
    (tmp_path / "here.txt").write_text(SECRET)  # the server's working folder
    in_tmp = Path(tempfile.gettempdir()) / f"audio-creator-test-{os.getpid()}.txt"
    in_tmp.write_text(SECRET)  # and the system's temp folder
    app = create_app(ServerSettings(tmp_path / "data", token=WEB_TOKEN))
    bearer = {"Authorization": f"Bearer {WEB_TOKEN}"}
    try:
        with TestClient(app, base_url="http://127.0.0.1:7860", headers=bearer) as client:
            named = [
                secret_files["text"],
                tmp_path / "here.txt",
                "here.txt",
                in_tmp,
                tmp_path / "data" / "jobs.sqlite3",
                "/etc/passwd",
                "../../etc/passwd",
            ]
            for path in named:
                answer = client.get(f"/gradio_api/file={path}")
                assert answer.status_code in (403, 404) and SECRET not in answer.text, path
    finally:
        in_tmp.unlink()


# 2. Cross-origin requests and DNS rebinding.


def test_no_other_origin_is_let_in_by_cors(server: Server) -> None:
    port = server.port
    for origin in (f"http://localhost:{port + 1}", f"http://127.0.0.1:{port + 1}",
                   "http://localhost", "null", "http://evil.example"):  # fmt: skip
        headers = {"Origin": origin, "Authorization": f"Bearer {WEB_TOKEN}"}
        for path in ("/api/health", "/api/jobs", "/config", "/gradio_api/info"):
            answer = server.anonymous.get(path, headers=headers)
            assert "access-control-allow-origin" not in answer.headers, (origin, path)
            assert "access-control-allow-credentials" not in answer.headers, (origin, path)
        preflight = server.anonymous.options("/api/jobs", headers={
            "Origin": origin, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization"})  # fmt: skip
        assert "access-control-allow-origin" not in preflight.headers, origin
        queue = server.anonymous.options("/gradio_api/queue/join", headers={
            "Origin": origin, "Access-Control-Request-Method": "POST"})  # fmt: skip
        assert "access-control-allow-origin" not in queue.headers, origin


def test_a_configured_origin_and_only_it_gets_cors(tmp_path: Path) -> None:
    app = create_app(ServerSettings(tmp_path / "data", token=WEB_TOKEN,
                                    cors_origins=("https://studio.example",)))  # fmt: skip
    bearer = {"Authorization": f"Bearer {WEB_TOKEN}"}
    with TestClient(app, base_url="http://127.0.0.1:7860") as client:
        preflight = client.options("/api/jobs", headers={
            "Origin": "https://studio.example", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization"})  # fmt: skip
        assert preflight.headers["access-control-allow-origin"] == "https://studio.example"
        made = client.post(
            "/api/jobs", data={"mode": "tts", "params": '{"text": "Hi."}'},
            headers={**bearer, "Origin": "https://studio.example"},
        )  # fmt: skip
        assert made.status_code == 201 and made.headers["access-control-allow-origin"]
        client.delete(f"/api/jobs/{made.json()['id']}", headers=bearer)
        other = client.get("/api/health", headers={**bearer, "Origin": "https://other.example"})
        assert "access-control-allow-origin" not in other.headers


def test_a_host_header_of_another_name_is_refused(server: Server) -> None:
    """DNS rebinding: a page of attacker.example whose name now points at 127.0.0.1."""
    port = server.port
    for host in ("attacker.example", f"attacker.example:{port}", f"127.0.0.1.evil.example:{port}",
                 f"localhost.evil.example:{port}", "", f"192.0.2.7:{port}"):  # fmt: skip
        for path in ("/api/health", "/", "/config", f"/?token={WEB_TOKEN}"):
            answer = server.client.get(path, headers={"Host": host})
            assert answer.status_code in (400, 403), (host, path, answer.status_code)
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost", f"[::1]:{port}"):
        assert server.client.get("/api/health", headers={"Host": host}).status_code == 200, host


def test_allowed_hosts_names_more(tmp_path: Path) -> None:
    app = create_app(ServerSettings(tmp_path / "data", token=WEB_TOKEN,
                                    allowed_hosts=("studio.lan",)))  # fmt: skip
    bearer = {"Authorization": f"Bearer {WEB_TOKEN}"}
    with TestClient(app, base_url="http://127.0.0.1:7860", headers=bearer) as client:
        assert client.get("/api/health", headers={"Host": "studio.lan:7860"}).status_code == 200
        assert client.get("/api/health", headers={"Host": "other.lan"}).status_code == 403
    app = create_app(ServerSettings(tmp_path / "data", token=WEB_TOKEN, allowed_hosts=("*",)))
    with TestClient(app, base_url="http://127.0.0.1:7860", headers=bearer) as client:
        assert client.get("/api/health", headers={"Host": "any.where"}).status_code == 200


def _form(server: Server) -> tuple[bytes, str]:
    """A multipart form as an HTML form of another site would post it."""
    boundary = "----formboundary7MA4YWxkTrZu0gW"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="mode"\r\n\r\ntts\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="params"\r\n\r\n'
            f'{{"text": "Made by another site."}}\r\n--{boundary}--\r\n')  # fmt: skip
    return body.encode(), f"multipart/form-data; boundary={boundary}"


def test_another_site_cannot_post_a_job_even_with_the_users_cookie(server: Server) -> None:
    with httpx.Client(base_url=server.base, timeout=30) as browser:
        if "authorization" in server.client.headers:  # a token server: sign in as a user would
            signed = browser.get(f"/?token={WEB_TOKEN}", follow_redirects=False)
            assert signed.status_code == 303 and "set-cookie" in signed.headers
            assert browser.get("/api/health").status_code == 200  # the cookie works
        body, kind = _form(server)
        before = server.jobs()
        refused = [{"Origin": "http://evil.example"}, {"Origin": "null"},
                   {"Origin": f"http://localhost:{server.port + 1}"},
                   {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}]  # fmt: skip
        for sent in refused:
            answer = browser.post("/api/jobs", content=body, headers={"Content-Type": kind, **sent})
            assert answer.status_code == 403, (sent, answer.status_code)
            assert "another site" in answer.json()["detail"]
            cancel = browser.delete("/api/jobs/0123456789abcdef", headers=sent)
            assert cancel.status_code == 403
        assert server.jobs() == before
        same = {"Origin": server.base, "Sec-Fetch-Site": "same-origin"}
        made = browser.post("/api/jobs", content=body, headers={"Content-Type": kind, **same})
        assert made.status_code == 201, made.text  # the page's own origin may
        browser.delete(f"/api/jobs/{made.json()['id']}", headers=same)


def test_the_token_is_asked_of_every_client_wherever_it_comes_from(with_token: Server) -> None:
    """Loopback earns nothing: a reverse proxy on this machine makes every client loopback."""
    anonymous = with_token.anonymous
    proxied = {"X-Forwarded-For": "127.0.0.1", "X-Real-IP": "127.0.0.1", "Forwarded": "for=::1"}
    for headers in ({}, proxied, {"Authorization": "Bearer wrong"}, {"Authorization": WEB_TOKEN}):
        assert anonymous.get("/api/jobs", headers=headers).status_code == 401, headers
        assert anonymous.get("/config", headers=headers).status_code == 401, headers
    for scheme in ("Bearer", "bearer", "BEARER", "token", "Token"):
        answer = anonymous.get("/api/health", headers={"Authorization": f"{scheme} {WEB_TOKEN}"})
        assert answer.status_code == 200, scheme


def test_no_page_of_this_server_can_be_framed_by_another(with_token: Server) -> None:
    """Clickjacking: a page on another port of this machine is "same-site" for the cookie, so
    only the answers' own headers keep it from framing the signed-in page."""
    with httpx.Client(base_url=with_token.base, timeout=30) as browser:
        browser.get(f"/?token={WEB_TOKEN}")
        for path in ("/", "/login", "/docs", "/api/health", "/config", "/no-such-page"):
            answer = browser.get(path, headers={"Sec-Fetch-Dest": "iframe"})
            assert answer.headers.get("x-frame-options") == "DENY", path
            assert "frame-ancestors 'none'" in answer.headers.get("content-security-policy", "")
        assert with_token.anonymous.get("/api/jobs").headers.get("x-frame-options") == "DENY"


def test_a_token_link_goes_nowhere_else_and_is_not_logged(with_token: Server) -> None:
    import logging

    from audio_creator.web.guard import TokenScrubber

    for path in ("//evil.example/x", "/\\evil.example"):  # sent as is, on a socket of our own
        request = (f"GET {path}?token={WEB_TOKEN} HTTP/1.1\r\n"
                   f"Host: 127.0.0.1:{with_token.port}\r\nConnection: close\r\n\r\n")  # fmt: skip
        with socket.create_connection(("127.0.0.1", with_token.port), timeout=30) as connection:
            connection.sendall(request.encode())
            answer = connection.recv(4096).decode("latin-1")
        assert answer.startswith("HTTP/1.1 303"), answer[:40]
        location = answer.lower().split("\r\nlocation: ", 1)[1].split("\r\n", 1)[0]
        assert location.startswith("/") and location[1:2] not in ("/", "\\"), (path, location)
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", f"/?next=x&token={WEB_TOKEN}&y=1", "1.1", 303), None,
    )  # fmt: skip
    assert TokenScrubber().filter(record) and WEB_TOKEN not in record.getMessage()
    assert "token=[hidden]&y=1" in record.getMessage()


def test_a_relative_data_folder_is_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Uploads are recognised by absolute path: a data folder named from the server's working
    folder must not make every upload a stranger."""
    from audio_creator.web.store import JobStore

    monkeypatch.chdir(tmp_path)
    store = JobStore("relative-data")
    assert store.root == tmp_path / "relative-data" and store.root.is_absolute()


# 3. Uploads bounded while they stream.


def _chunked_upload(
    port: int, path: str, cookie_or_auth: dict[str, str], total: int, *, as_file: bool = True
) -> tuple[int, int]:
    """POST a multipart body of `total` bytes of a file (or of a plain field) with no
    Content-Length (chunked), stopping when the server answers. (status, bytes sent by then)."""
    boundary = "chunkedboundary0123456789"
    head = "".join(f"{k}: {v}\r\n" for k, v in cookie_or_auth.items())
    filename = '; filename="big.mp4"' if as_file else ""
    request = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{head}"
               f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
               "Transfer-Encoding: chunked\r\n\r\n")  # fmt: skip
    part = (f'--{boundary}\r\nContent-Disposition: form-data; name="mode"\r\n\r\ntts\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"'
            f"{filename}\r\n\r\n").encode()  # fmt: skip
    block = b"\0" * (256 * 1024)
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=60) as connection:
        connection.sendall(request.encode() + f"{len(part):x}\r\n".encode() + part + b"\r\n")
        connection.setblocking(False)
        pending = b""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            readable, writable, _ = select.select([connection], [connection], [], 1.0)
            if readable:
                break
            if writable:
                if not pending:
                    if sent >= total:
                        continue
                    pending = f"{len(block):x}\r\n".encode() + block + b"\r\n"
                    sent += len(block)
                try:
                    pending = pending[connection.send(pending) :]
                except (BrokenPipeError, ConnectionResetError):
                    break
        connection.setblocking(True)
        answer = b""
        try:
            while b"\r\n" not in answer:
                piece = connection.recv(4096)
                if not piece:
                    break
                answer += piece
        except ConnectionResetError:
            pass
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0
    return status, sent


@pytest.mark.parametrize("as_file", [True, False], ids=["file", "field"])
@pytest.mark.parametrize("route", ["/api/jobs", "/gradio_api/upload"])
def test_an_upload_without_a_length_is_cut_at_the_limit(
    with_token: Server, route: str, as_file: bool
) -> None:
    total = 256 * 2**20  # 256 MB offered against a 1 MB limit
    before = len(with_token.jobs())
    status, sent = _chunked_upload(
        with_token.port, route, {"Authorization": f"Bearer {WEB_TOKEN}"}, total, as_file=as_file
    )
    print(f"{route}: 413 after {sent / 2**20:.1f} MB of {total / 2**20:.0f} MB offered")
    assert status == 413, status
    assert sent < 48 * 2**20, f"the server read {sent} bytes before it said no"  # buffers aside
    time.sleep(0.5)
    left = [p for p in (with_token.data / "gradio").rglob("*") if p.is_file()]
    assert left == [], left  # Gradio's half-written file removed
    assert len(with_token.jobs()) == before  # no job opened for it


def test_a_declared_length_over_the_limit_is_refused_before_reading(with_token: Server) -> None:
    for route in ("/api/jobs", "/gradio_api/upload"):
        head = (f"POST {route} HTTP/1.1\r\nHost: 127.0.0.1:{with_token.port}\r\n"
                f"Authorization: Bearer {WEB_TOKEN}\r\n"
                "Content-Type: multipart/form-data; boundary=b\r\n"
                f"Content-Length: {LIMIT_MB * 2**20 + 1}\r\n\r\n")  # fmt: skip
        with socket.create_connection(("127.0.0.1", with_token.port), timeout=30) as connection:
            connection.sendall(head.encode())  # and not one byte of the body
            answer = connection.recv(4096)
        assert answer.startswith(b"HTTP/1.1 413"), (route, answer[:40])


# 4. Symlinks and server paths.


def _wait(server: Server, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = server.client.get(f"/api/jobs/{job_id}").json()
        if job["status"] in ("done", "failed", "cancelled", "interrupted"):
            return job  # type: ignore[no-any-return]
        time.sleep(0.2)
    raise AssertionError("the job did not end")


def test_a_link_among_the_results_is_not_served(
    with_token: Server, secret_files: dict[str, Path]
) -> None:
    made = with_token.client.post("/api/jobs", data={"mode": "tts", "params": '{"text": "Hi."}'})
    job = _wait(with_token, made.json()["id"])
    assert job["status"] == "done", job
    out = with_token.data / job["id"] / "out"
    (out / "passwd.txt").symlink_to(secret_files["text"])
    (out / "notes.srt").symlink_to(out / "speech.wav")  # even one that stays inside
    described = with_token.client.get(f"/api/jobs/{job['id']}").json()
    assert [a["name"] for a in described["artifacts"]] == ["speech.wav"]
    for name in ("passwd.txt", "notes.srt"):
        answer = with_token.client.get(f"/api/jobs/{job['id']}/artifacts/{name}")
        assert answer.status_code == 404 and SECRET not in answer.text


def test_clients_see_job_relative_names_not_server_paths(with_token: Server) -> None:
    data = str(with_token.data.resolve())
    fake = {"clip": ("clip.mp4", b"this is not a video at all", "video/mp4")}
    refused = with_token.client.post(
        "/api/jobs", data={"mode": "autopipeline", "params": '{"video": "clip"}'}, files=fake
    )
    assert refused.status_code == 415 and data not in refused.text, refused.text
    made = with_token.client.post(
        "/api/jobs", data={"mode": "tts", "params": '{"text": "Where is it?", "subtitles": true}'}
    )
    job = _wait(with_token, made.json()["id"])
    assert any(line.startswith("wrote out/speech.wav") for line in job["log_tail"]), job
    with with_token.client.stream("GET", f"/api/jobs/{job['id']}/events") as stream:
        events = "".join(stream.iter_text())
    for seen in (json.dumps(job), events, with_token.client.get("/api/jobs").text):
        assert data not in seen and str(with_token.data) not in seen
    failed = with_token.client.post(
        "/api/jobs", data={"mode": "tts", "params": '{"text": "Hi.", "language": "xx-nowhere"}'}
    )
    ended = _wait(with_token, failed.json()["id"])
    assert ended["status"] == "failed" and ended["error"], ended
    assert data not in json.dumps(ended)
    kept = (with_token.data / job["id"] / "log.txt").read_text()
    assert data in kept or str(with_token.data) in kept  # the server's own log keeps them
