"""The HTTP API: jobs in worker processes, progress, artifacts, safety, restarts."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

from audio_creator.web.api import ServerSettings, create_app
from audio_creator.web.store import JobStore

TOKEN = "t0ken-for-tests"


def signed_in(app: Any, token: str | None = None) -> TestClient:
    """A test client of `app` that reaches it as a browser on this machine would (by 127.0.0.1)
    and sends its token."""
    token = token or app.state.token
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return TestClient(app, base_url="http://127.0.0.1:7860", headers=headers)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = ServerSettings(tmp_path / "data", token=TOKEN, workers=2, max_upload_bytes=5_000_000)
    with signed_in(create_app(settings)) as test_client:
        yield test_client


def submit(
    client: TestClient, mode: str, params: dict[str, Any], files: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Any:  # fmt: skip
    return client.post(
        "/api/jobs", data={"mode": mode, "params": json.dumps(params)}, files=files or {},
        headers=headers or {},
    )  # fmt: skip


def wait(client: TestClient, job_id: str, timeout: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["status"] in ("done", "failed", "cancelled", "interrupted"):
            return job  # type: ignore[no-any-return]
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish")


def test_health(client: TestClient) -> None:
    answer = client.get("/api/health")
    assert answer.status_code == 200 and answer.json()["status"] == "ok"


def test_a_job_runs_and_its_artifacts_download_with_ranges(client: TestClient) -> None:
    made = submit(client, "tts", {"text": "Hello from the web.", "subtitles": True})
    assert made.status_code == 201, made.text
    job = wait(client, made.json()["id"])
    assert job["status"] == "done", job
    assert job["progress"] == 1.0 and any("wrote" in line for line in job["log_tail"])
    names = {a["name"]: a["url"] for a in job["artifacts"]}
    assert set(names) == {"speech.wav", "speech.srt"}
    whole = client.get(names["speech.wav"])
    assert whole.status_code == 200 and whole.content[:4] == b"RIFF"
    part = client.get(names["speech.wav"], headers={"Range": "bytes=4-11"})
    assert part.status_code == 206 and part.content == whole.content[4:12]
    assert "Hello from the web." in client.get(names["speech.srt"]).text
    assert job["id"] in {j["id"] for j in client.get("/api/jobs").json()}


def test_progress_and_log_lines_come_as_server_sent_events(client: TestClient) -> None:
    job_id = submit(client, "tts", {"text": "One. Two. Three."}).json()["id"]
    with client.stream("GET", f"/api/jobs/{job_id}/events") as stream:
        body = "".join(stream.iter_text())
    events = [block for block in body.split("\n\n") if block]
    progress = [json.loads(e.split("data: ", 1)[1]) for e in events if "event: progress" in e]
    assert progress[-1]["status"] == "done" and progress[-1]["progress"] == 1.0
    assert any("event: log" in e for e in events)


def test_bad_requests_get_clear_answers(client: TestClient, tmp_path: Path) -> None:
    assert client.get("/api/jobs/0123456789abcdef").status_code == 404
    assert client.delete("/api/jobs/0123456789abcdef").status_code == 404
    assert submit(client, "karaoke", {}).status_code == 422
    assert "no option 'volume'" in submit(client, "tts", {"volume": 11}).json()["detail"]
    answer = submit(client, "tts", {"text": "x", "output": "/etc/passwd"})
    assert answer.status_code == 422
    answer = submit(client, "autopipeline", {"video": "clip"})  # names no upload
    assert answer.status_code == 422 and "not uploaded" in answer.json()["detail"]
    # A text file dressed up as a video is refused by its content, not its name.
    fake = {"clip": ("clip.mp4", b"this is not a video at all", "video/mp4")}
    answer = submit(client, "autopipeline", {"video": "clip"}, files=fake)
    assert answer.status_code == 415, answer.text
    assert client.get("/api/jobs").json() == []  # refused jobs leave nothing


def test_an_oversized_upload_is_refused(tmp_path: Path) -> None:
    app = create_app(ServerSettings(tmp_path / "data", max_upload_bytes=1000))
    with signed_in(app) as client:
        big = {"clip": ("clip.mp4", b"\0" * 5000, "video/mp4")}
        answer = submit(client, "autopipeline", {"video": "clip"}, files=big)
        assert answer.status_code == 413


def test_artifact_names_cannot_leave_the_job(client: TestClient) -> None:
    job = wait(client, submit(client, "tts", {"text": "Hi."}).json()["id"])
    for name in ("..%2F..%2Fjobs.sqlite3", "%2E%2E", ".hidden", "log.txt", "%2Fetc%2Fpasswd"):
        assert client.get(f"/api/jobs/{job['id']}/artifacts/{name}").status_code == 404, name


def test_a_job_whose_folder_was_removed_does_not_break_the_list(
    client: TestClient, tmp_path: Path
) -> None:
    import shutil

    job = wait(client, submit(client, "tts", {"text": "Hi."}).json()["id"])
    shutil.rmtree(tmp_path / "data" / job["id"])
    assert client.get("/api/jobs").status_code == 200
    assert client.get(f"/api/jobs/{job['id']}").json()["artifacts"] == []


def test_a_token_guards_the_api(tmp_path: Path) -> None:
    app = create_app(ServerSettings(tmp_path / "data", token=TOKEN))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        assert client.get("/api/health").status_code == 401
        assert client.get("/api/jobs", headers={"Authorization": "Bearer wrong"}).status_code == 401
        ok = client.get("/api/health", headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200


def test_a_server_started_without_a_token_makes_one(tmp_path: Path) -> None:
    """As Jupyter's: loopback or not, a token; none only when asked for (--insecure)."""
    for base in ("http://127.0.0.1", "http://192.0.2.10"):  # bound to loopback, and beyond
        app = create_app(ServerSettings(tmp_path / "data"))
        made = app.state.token
        assert isinstance(made, str) and len(made) >= 32
        with TestClient(app, base_url=base) as client:
            answer = client.get("/api/health")
            assert answer.status_code == 401 and "AUDIO_CREATOR_TOKEN" in answer.json()["detail"]
            ok = client.get("/api/health", headers={"Authorization": f"Bearer {made}"})
            assert ok.status_code == 200
    assert create_app(ServerSettings(tmp_path / "data")).state.token != made  # a new one each
    insecure = create_app(ServerSettings(tmp_path / "data", insecure=True))
    with TestClient(insecure, base_url="http://192.0.2.10") as client:
        assert client.get("/api/health").status_code == 200


def test_a_running_job_can_be_cancelled(client: TestClient) -> None:
    long_text = "This sentence takes a moment to say. " * 200
    job_id = submit(client, "tts", {"text": long_text}).json()["id"]
    deadline = time.monotonic() + 60
    while client.get(f"/api/jobs/{job_id}").json()["status"] != "running":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert client.delete(f"/api/jobs/{job_id}").json()["status"] == "cancelled"
    assert client.delete(f"/api/jobs/{job_id}").status_code == 409  # already ended
    time.sleep(0.5)
    assert client.get(f"/api/jobs/{job_id}").json()["status"] == "cancelled"


def test_a_job_that_did_not_finish_runs_again_with_its_files(client: TestClient) -> None:
    text = {"words": ("words.txt", b"Said once, cut, then said again. " * 200, "text/plain")}
    first = submit(client, "tts", {"text_file": "words"}, files=text).json()
    assert client.delete(f"/api/jobs/{first['id']}").status_code == 200
    again = client.post(f"/api/jobs/{first['id']}/resubmit")
    assert again.status_code == 201, again.text
    job = client.get(f"/api/jobs/{again.json()['id']}").json()
    assert job["inputs"] == ["words"] and job["status"] in ("queued", "running"), job
    kept = Path(client.app.state.manager.store.folder(job["id"])) / "in" / "words.txt"
    assert kept.read_bytes() == text["words"][1]
    client.delete(f"/api/jobs/{job['id']}")
    assert client.post("/api/jobs/0123456789abcdef/resubmit").status_code == 404


def test_a_job_is_not_started_until_its_files_are_in(tmp_path: Path) -> None:
    """`receiving` jobs are invisible to the scheduler; a cancel while receiving holds."""
    from audio_creator.web.jobs import JobManager

    store = JobStore(tmp_path)
    manager = JobManager(store)
    arriving = store.create("tts", {"text": "x"}, [], status="receiving")
    assert store.next_queued() is None
    assert manager.cancel(arriving.id)
    manager.submit("tts", ["tts", "--text", "x"], {}, [], job_id=arriving.id)
    assert store.get(arriving.id).status == "cancelled"  # type: ignore[union-attr]
    assert store.next_queued() is None
    queued = store.create("tts", {"text": "y"}, [])
    assert manager.cancel(queued.id)
    assert not store.mark_running(queued.id)  # a cancel between pick and start wins


def test_a_full_queue_answers_429(tmp_path: Path) -> None:
    app = create_app(ServerSettings(tmp_path / "data", queue_limit=0))
    with signed_in(app) as client:
        assert submit(client, "tts", {"text": "Hi."}).status_code == 429


def test_api_keys_are_never_stored_or_answered(client: TestClient, tmp_path: Path) -> None:
    secret = "sk-never-show-me-0123456789"
    made = submit(client, "wavjourney", {"instruction": "Rain, 4 seconds", "api_key": secret,
                                         "planner": "rules"})  # fmt: skip
    job = wait(client, made.json()["id"])
    assert job["status"] == "done", job
    assert secret not in json.dumps(job) and secret not in client.get("/api/jobs").text
    stored = b"".join(p.read_bytes() for p in (tmp_path / "data").rglob("*") if p.is_file())
    assert secret.encode() not in stored


def test_a_restart_keeps_finished_jobs_and_marks_cut_ones_interrupted(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with signed_in(create_app(ServerSettings(data, token=TOKEN))) as client:
        done = wait(client, submit(client, "tts", {"text": "Kept."}).json()["id"])
    store = JobStore(data)
    cut = store.create("tts", {"text": "Cut."}, [])
    store.update(cut.id, status="running")  # as if the server died during it
    with signed_in(create_app(ServerSettings(data, token=TOKEN))) as client:
        assert client.get(f"/api/jobs/{cut.id}").json()["status"] == "interrupted"
        again = client.get(f"/api/jobs/{done['id']}").json()
        assert again["status"] == "done"
        assert client.get(again["artifacts"][0]["url"]).content[:4] == b"RIFF"


def test_a_killed_server_leaves_its_running_job_interrupted(tmp_path: Path) -> None:
    """A real server process, killed (SIGKILL) during a job, then started again."""
    import os
    import signal

    from helpers import free_port, start_web_server

    port = free_port()

    def start() -> tuple[Any, Any]:
        return start_web_server(port, tmp_path / "data")

    server, client = start()
    try:
        done = wait(client, submit(client, "tts", {"text": "Finished before."}).json()["id"])  # type: ignore[arg-type]
        cut = submit(client, "tts", {"text": "A long text to cut. " * 300}).json()["id"]  # type: ignore[arg-type]
        deadline = time.monotonic() + 60
        while client.get(f"/api/jobs/{cut}").json()["status"] != "running":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        worker = _worker_of(server.pid)
    finally:
        os.kill(server.pid, signal.SIGKILL)
        server.wait()
        client.close()
    deadline = time.monotonic() + 10  # its worker ends with it: no orphan keeps working
    while worker is not None and _alive(worker):
        assert time.monotonic() < deadline, "the worker outlived its server"
        time.sleep(0.1)
    server, client = start()
    try:
        assert client.get(f"/api/jobs/{cut}").json()["status"] == "interrupted"
        kept = client.get(f"/api/jobs/{done['id']}").json()
        assert kept["status"] == "done"
        assert client.get(kept["artifacts"][0]["url"]).content[:4] == b"RIFF"
        # The interrupted job runs again, with what it was given (and a finished one cannot).
        assert client.post(f"/api/jobs/{done['id']}/resubmit").status_code == 409
        again = client.post(f"/api/jobs/{cut}/resubmit")
        assert again.status_code == 201, again.text
        assert again.json()["params"] == client.get(f"/api/jobs/{cut}").json()["params"]
        client.delete(f"/api/jobs/{again.json()['id']}")  # (no need to speak it all)
    finally:
        server.terminate()
        server.wait(timeout=10)
        client.close()


def _worker_of(server_pid: int) -> int | None:
    """The pid of a process whose parent is `server_pid` and that runs a spawned worker."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if f"PPid:\t{server_pid}\n" in status and b"spawn_main" in cmdline:
            return int(entry.name)
    return None


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:\tZ" not in state


def test_the_web_picks_installed_voices_by_name_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from audio_creator.errors import ConfigError
    from audio_creator.web.commands import build_options

    models = tmp_path / "models"
    (models / "piper" / "en").mkdir(parents=True)
    (models / "piper" / "en" / "amy.onnx").write_bytes(b"")
    (models / "coqui" / "xtts").mkdir(parents=True)
    (models / "coqui" / "xtts" / "config.json").write_text("{}")
    monkeypatch.setenv("AUDIO_CREATOR_MODELS", str(models))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "secret.onnx").write_bytes(b"")  # a file in the server's working folder

    options = build_options("tts", {"text": "Hi.", "voice": "amy"}, {}, tmp_path / "out")
    assert options["voice"] == models / "piper" / "en" / "amy.onnx"
    options = build_options("tts", {"text": "Hi.", "voice": "xtts"}, {}, tmp_path / "out")
    assert options["voice"] == models / "coqui" / "xtts"
    for made_up in ("secret.onnx", "secret", "../models/piper/en/amy.onnx", "/etc/passwd"):
        with pytest.raises(ConfigError, match="no voice named"):
            build_options("tts", {"text": "Hi.", "voice": made_up}, {}, tmp_path / "out")


def test_the_web_names_music_models_from_the_catalogue_only(tmp_path: Path) -> None:
    from audio_creator.errors import ConfigError
    from audio_creator.web.commands import build_options

    uploads = {"clip": tmp_path / "clip.mp4"}
    options = build_options("vidmuse", {"video": "clip", "music_model": "musicgen-small"},
                            uploads, tmp_path / "out")  # fmt: skip
    assert options["music_model"] == "musicgen-small"
    for path in ("/etc", "../models/vidmuse", str(tmp_path)):
        with pytest.raises(ConfigError, match="music_model must be one of"):
            build_options("vidmuse", {"video": "clip", "music_model": path}, uploads, tmp_path)


def test_a_jobs_bar_spans_its_stages_and_only_moves_forward(tmp_path: Path) -> None:
    from audio_creator.web.jobs import _StoreProgress

    store = JobStore(tmp_path)
    job = store.create("vidmuse", {}, [], status="running")
    report = _StoreProgress(store, job.id, "vidmuse")
    seen = []
    for fraction, stage in ((0.5, "analysing the video"), (1.0, "analysing the video"),
                            (0.5, "sampling"), (0.1, "rendering"), (1.0, "sampling")):  # fmt: skip
        report(fraction, stage)
        seen.append(store.get(job.id).progress)  # type: ignore[union-attr]
    assert seen == [0.23, 0.45, 0.7, 0.7, 0.95]  # an unknown stage holds the bar where it is


def test_a_cancelled_jobs_bar_stops_where_it_was(tmp_path: Path) -> None:
    """A worker still reporting while it is being ended does not move a cancelled job's bar."""
    from audio_creator.web.jobs import _StoreProgress

    store = JobStore(tmp_path)
    job = store.create("tts", {}, [], status="running")
    report = _StoreProgress(store, job.id, "tts")
    report(0.5, "speaking")
    store.finish(job.id, "cancelled", "cancelled by request")
    report(0.9, "speaking")
    store.report(job.id, 1.0, "done")
    ended = store.get(job.id)
    assert ended is not None and (ended.status, ended.progress, ended.stage) == (
        "cancelled", 0.47, "speaking"
    )  # fmt: skip


def test_a_job_runs_again_once(client: TestClient) -> None:
    first = submit(client, "tts", {"text": "Cut short. " * 300}).json()
    assert client.delete(f"/api/jobs/{first['id']}").status_code == 200
    again = client.post(f"/api/jobs/{first['id']}/resubmit")
    assert again.status_code == 201, again.text
    twice = client.post(f"/api/jobs/{first['id']}/resubmit")
    assert twice.status_code == 409 and again.json()["id"] in twice.json()["detail"]
    assert client.get(f"/api/jobs/{first['id']}").json()["rerun"] == again.json()["id"]
    client.delete(f"/api/jobs/{again.json()['id']}")


def test_a_mix_job_moves_through_its_stages(
    tmp_path: Path, audio_only: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The mix command reports its passes, and a mix job's bar moves with them (not 0 % until
    it is done)."""
    from audio_creator import cli, commands
    from audio_creator.web.jobs import _StoreProgress

    store = JobStore(tmp_path / "data")
    job = store.create("mix", {}, [], status="running")
    bars = []

    def recorded() -> Any:
        bar = _StoreProgress(store, job.id, "mix")

        def report(fraction: float, stage: str) -> None:
            bar(fraction, stage)
            bars.append((stage, store.get(job.id).progress))  # type: ignore[union-attr]

        return report

    monkeypatch.setattr(commands, "make_progress", recorded)
    assert cli.main(["mix", "--music", str(audio_only), "-o", str(tmp_path / "mix.wav")]) == 0
    assert [stage for stage, _ in bars] == ["measuring", "measuring", "rendering", "rendering"]
    assert [bar for _, bar in bars] == [0.0, 0.45, 0.45, 0.95]
