"""The web UI: its forms match the commands, its login, and a real browser driving it.

The browser test runs headless Chromium (Debian's `chromium`, driven by Playwright) against a
real `audio-creator serve` process. Screenshots of every tab are kept in
$AUDIO_CREATOR_TEST_ARTIFACTS (default output/test-artifacts/web-ui/).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("gradio")
from fastapi.testclient import TestClient

from audio_creator.web import commands
from audio_creator.web.api import ServerSettings, create_app

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(os.environ.get("AUDIO_CREATOR_TEST_ARTIFACTS", ROOT / "output" / "test-artifacts"))
TOKEN = "s3cret-token-of-the-ui-tests"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
TABS = ("AutoPipeline", "VidMuse", "TTS", "Mix", "WavJourney", "Jobs")


def test_every_form_field_is_an_option_of_its_command(tmp_path: Path) -> None:
    """The UI cannot drift from the CLI: each widget sets a real option (or a file's start)."""
    from audio_creator.web import ui
    from audio_creator.web.jobs import JobManager
    from audio_creator.web.store import JobStore

    store = JobStore(tmp_path)
    forms = {}

    import gradio as gr

    with gr.Blocks():
        for mode, form in (
            ("autopipeline", ui._autopipeline), ("vidmuse", ui._vidmuse), ("tts", ui._tts),
            ("mix", ui._mix), ("wavjourney", ui._wavjourney),
        ):  # fmt: skip
            forms[mode] = form(gr)
    assert set(forms) == set(commands.MODES)
    for mode, tab in forms.items():
        options = commands.defaults(mode)  # every option of the mode, by name
        for field, _ in tab.fields:
            assert (field.start_of or field.dest) in options, (mode, field)
    ui.build(store, JobManager(store))  # and the whole UI builds


def _tabs() -> dict[str, Any]:
    import gradio as gr

    from audio_creator.web import ui

    with gr.Blocks():
        return {
            "autopipeline": ui._autopipeline(gr), "vidmuse": ui._vidmuse(gr), "tts": ui._tts(gr),
            "mix": ui._mix(gr), "wavjourney": ui._wavjourney(gr),
        }  # fmt: skip


def _values(tab: Any, **given: Any) -> tuple[Any, ...]:
    return tuple(given.get(field.dest) for field, _ in tab.fields)


def test_a_form_becomes_the_job_the_api_would_take(tmp_path: Path, audio_only: Path) -> None:
    """Empty fields are left to the command, starts join their files, keys are not stored."""
    from audio_creator.web import ui
    from audio_creator.web.jobs import JobManager
    from audio_creator.web.store import JobStore

    store = JobStore(tmp_path)
    manager = JobManager(store)  # not started: the jobs wait in the queue
    tabs = _tabs()
    values = _values(
        tabs["mix"], music=str(audio_only), music_start=12.5, speech_start=3.0, target_lufs=-14.0,
        channels=2, duration=None, report=False,
    )  # fmt: skip
    job = ui._submit(tabs["mix"], values, store, manager, Path)
    assert job.status == "queued" and job.inputs == ["music"]
    assert job.params == {"music": "music@12.5", "target_lufs": -14.0}  # 2 channels: the default
    assert (store.folder(job.id) / "in" / f"music{audio_only.suffix}").is_file()

    values = _values(tabs["wavjourney"], instruction="A calm intro.", api_key="sk-secret")
    job = ui._submit(tabs["wavjourney"], values, store, manager, Path)
    assert "api_key" not in job.params and "sk-secret" not in store.path.read_bytes().decode(
        "latin-1"
    )
    assert manager._secrets[job.id] == {"api_key": "sk-secret"}  # for its process only
    with pytest.raises(Exception, match="needs 'video'"):  # refused before anything is kept
        ui._submit(tabs["vidmuse"], _values(tabs["vidmuse"]), store, manager, Path)
    assert len(store.recent()) == 2


def test_run_again_with_changes_fills_the_form_with_the_jobs_settings(tmp_path: Path) -> None:
    """The seed it ran with (a random one is off), its numbers, its file offered again as an
    upload; what it did not set, back to the form's default."""
    from audio_creator.web.store import JobStore
    from audio_creator.web.ui_jobs import _filled

    store = JobStore(tmp_path)
    params = {"video": "video", "seed": 12345, "rerank": 3, "rerank_topk": 2, "duration": 12.5}
    job = store.create("vidmuse", params, ["video"], status="done")
    (store.folder(job.id) / "in" / "video.mp4").write_bytes(b"kept")
    tab = _tabs()["vidmuse"]
    offered: list[Path] = []

    def offer(path: Path) -> str:
        offered.append(path)
        return f"offered/{path.name}"

    values = {}
    filled, kept, dropped = _filled(tab, job, store, offer)
    for (field, widget), value in zip(tab.fields, filled, strict=True):
        values[(field.dest, field.random)] = (value, widget.value)
    assert kept == {"video": store.folder(job.id) / "in" / "video.mp4"} and dropped == []
    assert values[("seed", False)][0] == 12345 and values[("seed", True)][0] is False
    assert values[("rerank", False)][0] == 3 and values[("rerank_topk", False)][0] == 2
    assert values[("duration", False)][0] == "12.5"  # a text field where it may stay empty
    assert values[("video", False)][0] == "offered/video.mp4"
    assert offered == [store.folder(job.id) / "in" / "video.mp4"]
    style, default = values[("style", False)]
    assert style == default == ""  # not set by the job: the form's own default
    assert values[("merge_video", False)] == (False, True)  # a switch it had off stays off
    assert values[("midi_out", False)][0] is False


def test_run_again_with_changes_takes_jobs_made_through_the_api(tmp_path: Path) -> None:
    """Uploads under names of their own, several files under one option, dashed names."""
    from audio_creator.web.store import JobStore
    from audio_creator.web.ui_jobs import _filled

    store = JobStore(tmp_path)
    params = {"music": ["track@0", "bed@30"], "speech": "voice@2.5", "target-lufs": -20.0}
    job = store.create("mix", params, ["track", "bed", "voice"], status="done")
    for name in ("track.flac", "bed.wav", "voice.m4a"):
        (store.folder(job.id) / "in" / name).write_bytes(name.encode())
    tab = _tabs()["mix"]
    filled, kept, dropped = _filled(tab, job, store, lambda path: f"offered/{path.name}")
    pairs = zip(tab.fields, filled, strict=True)
    values = {field.dest: value for (field, _), value in pairs if not field.start_of}
    assert kept == {"music": store.folder(job.id) / "in" / "track.flac",
                    "speech": store.folder(job.id) / "in" / "voice.m4a"}  # fmt: skip
    assert dropped == ["bed"]  # a form field holds one file: said, not silently lost
    assert values["target_lufs"] == -20.0
    starts = [v for (f, _), v in zip(tab.fields, filled, strict=True) if f.start_of]
    assert starts == ["0", "2.5"]


def test_a_form_file_is_a_new_upload_or_the_kept_input_of_a_job_run_again(
    tmp_path: Path,
) -> None:
    from audio_creator.web import service, ui

    kept = tmp_path / "in" / "video.mov"
    kept.parent.mkdir()
    kept.write_bytes(b"kept")

    def uploaded(value: Any) -> Path:
        if value == "new-upload":
            return tmp_path / "new.mp4"
        raise service.Refused(403, "a file reaches a job only by being uploaded to this page")

    # the page's preview of the kept file (perhaps converted) stands for the kept file itself
    assert ui._upload_or_kept("video", "preview.mp4", uploaded, {"video": kept}) == kept
    assert ui._upload_or_kept("video", "new-upload", uploaded, {"video": kept}) == (
        tmp_path / "new.mp4"
    )  # a new upload replaces it
    for reuse in ({}, {"music": kept}, {"video": tmp_path / "gone.mov"}):
        with pytest.raises(service.Refused):
            ui._upload_or_kept("video", "/etc/passwd", uploaded, reuse)


def test_the_page_never_serves_the_jobs_folder(tmp_path: Path) -> None:
    app = create_app(ServerSettings(tmp_path / "data", token=TOKEN))
    with TestClient(app, base_url="http://127.0.0.1", headers=BEARER) as client:
        made = client.post("/api/jobs", data={"mode": "tts", "params": '{"text": "Hi."}'})
        job_id = made.json()["id"]
        deadline = time.monotonic() + 60
        while client.get(f"/api/jobs/{job_id}").json()["status"] != "done":
            assert time.monotonic() < deadline
            time.sleep(0.2)
        folder = tmp_path / "data" / job_id
        for path in (folder / "log.txt", folder / "out" / "speech.wav", tmp_path / "data"):
            assert (folder / "log.txt").is_file()
            answer = client.get(f"/gradio_api/file={path}")
            assert answer.status_code in (403, 404), (path, answer.status_code)


def test_the_page_asks_for_the_token_and_remembers_it_in_a_cookie(tmp_path: Path) -> None:
    app = create_app(ServerSettings(tmp_path / "data", token=TOKEN))
    with TestClient(app, base_url="http://127.0.0.1:7860", follow_redirects=False) as client:
        for path in ("/config", "/gradio_api/file=/etc/hostname", "/gradio_api/info"):
            assert client.get(path).status_code == 401, path
        upload = client.post("/gradio_api/upload", files={"files": ("a.txt", b"x")})
        assert upload.status_code == 401
        page = client.get("/", headers={"Accept": "text/html"})  # a browser: to the sign-in
        assert page.status_code == 303 and page.headers["location"].startswith("/login?next=")
        form = client.get(page.headers["location"])
        assert form.status_code == 200 and 'name="token"' in form.text
        for wrong in ("wrong", TOKEN.upper(), "", TOKEN + " "):
            said = client.post("/login", data={"token": wrong, "next": "/"})
            assert said.status_code == 401 and "not this server" in said.text
            assert "set-cookie" not in said.headers
        for elsewhere in ("//evil.example/x", "https://evil.example", "/x\r\nSet-Cookie: a=b"):
            away = client.post("/login", data={"token": TOKEN, "next": elsewhere})
            assert away.status_code == 303 and away.headers["location"] == "/", elsewhere
        cookie = away.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and TOKEN not in cookie
        assert client.get("/config").status_code == 200  # the cookie signs the page in
        assert client.get("/api/health").status_code == 200  # and the page's own API calls
        out = client.get("/logout")
        assert out.status_code == 303 and out.headers["location"] == "/login"
        assert "Max-Age=0" in out.headers["set-cookie"]
        assert client.get("/config").status_code == 401  # signed out
    with TestClient(app, base_url="http://127.0.0.1:7860", follow_redirects=False) as client:
        link = client.get(f"/?token={TOKEN}&x=1")  # the link printed at start
        assert link.status_code == 303 and link.headers["location"] == "/?x=1"
        assert client.get("/config").status_code == 200


def test_the_api_docs_work_offline_and_document_a_job(tmp_path: Path) -> None:
    import re

    app = create_app(ServerSettings(tmp_path / "data", token=TOKEN))
    with TestClient(app, base_url="http://127.0.0.1:7860", headers=BEARER) as client:
        page = client.get("/docs")
        assert page.status_code == 200
        linked = re.findall(r"""(?:src|href)=["']?([^"' >]+)""", page.text)
        linked += re.findall(r"url: ?'([^']+)'", page.text)
        assert linked and all(link.startswith("/") for link in linked), linked  # nothing remote
        for link in linked:
            assert client.get(link).status_code == 200, link
        spec = client.get("/openapi.json").json()
        body = spec["paths"]["/api/jobs"]["post"]["requestBody"]["content"]["multipart/form-data"]
        assert set(body["schema"]["properties"]["mode"]["enum"]) == set(commands.MODES)
        assert body["schema"]["required"] == ["mode"]
        assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
        assert {"413", "415", "422"} <= set(spec["paths"]["/api/jobs"]["post"]["responses"])


def _chromium() -> str | None:
    found = os.environ.get("CHROMIUM") or shutil.which("chromium")
    return found or shutil.which("chromium-browser")


@contextmanager
def _signed_in_page(data: Path) -> Iterator[tuple[Any, Any]]:
    """A real `audio-creator serve` on a free loopback port, and a headless Chromium page signed
    in to it with the link it prints; (page, an API client). Skips where there is no Chromium."""
    chromium = _chromium()
    if chromium is None:
        pytest.skip("no Chromium here (Debian: apt-get install chromium; or set CHROMIUM)")
    playwright = pytest.importorskip("playwright.sync_api")
    from helpers import WEB_TOKEN, free_port, start_web_server

    port = free_port()
    server, api = start_web_server(port, data)
    try:
        with playwright.sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=chromium, args=_CHROMIUM_FLAGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
            page.goto(f"http://127.0.0.1:{port}/?token={WEB_TOKEN}")
            page.wait_for_selector("#autopipeline-run", timeout=60_000)
            yield page, api
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=20)
        api.close()


@pytest.mark.browser
def test_a_browser_signs_in_with_the_token_and_out_again(tmp_path: Path) -> None:
    """As a new user: the address without the token shows the sign-in form; a wrong token is
    said so; the right one opens the page; "sign out" ends it."""
    from helpers import WEB_TOKEN

    with _signed_in_page(tmp_path / "data") as (page, _):
        base = page.url.split("/?")[0].rstrip("/")
        page.context.clear_cookies()
        page.goto(f"{base}/")
        page.wait_for_selector("#token", timeout=15_000)
        assert "/login" in page.url
        page.fill("#token", "not the token")
        page.click("button[type=submit]")
        page.wait_for_selector(".wrong", timeout=15_000)
        page.fill("#token", WEB_TOKEN)
        page.click("button[type=submit]")
        page.wait_for_selector("#autopipeline-run", timeout=60_000)
        assert page.url.rstrip("/") == base
        page.click("#ac-sign-out")
        page.wait_for_selector("#token", timeout=15_000)
        page.goto(f"{base}/")  # signed out: the page is not there without the token again
        page.wait_for_selector("#token", timeout=15_000)
        status = page.evaluate("async () => (await fetch('/config')).status")
        assert status == 401


@pytest.mark.browser
@pytest.mark.slow
def test_a_browser_runs_the_autopipeline_and_gets_the_video(tmp_path: Path) -> None:
    from audio_creator.media.demo import make_demo_video

    video = tmp_path / "demo.mp4"
    make_demo_video(video)
    shots = ARTIFACTS / "web-ui"
    shots.mkdir(parents=True, exist_ok=True)
    with _signed_in_page(tmp_path / "data") as (page, api):
        for tab in reversed(TABS):  # every tab, ending on AutoPipeline
            page.get_by_role("tab", name=tab).click()
            page.wait_for_timeout(300)
            page.screenshot(path=str(shots / f"{tab.lower()}.png"), full_page=True)

        page.locator("#autopipeline-video input[type=file]").set_input_files(str(video))
        page.wait_for_selector("#autopipeline-video video", timeout=30_000)
        page.click("#autopipeline-run")
        seen = _follow(page, "#autopipeline-status .ac-status", timeout=240)
        assert seen[-1][0] == "done", seen
        assert any(s == "running" and 0 < p < 1 for s, p, _ in seen), seen  # it moved
        progress = [p for _, p, _ in seen if p is not None]
        assert progress == sorted(progress), "the bar went backwards"
        job_id = seen[-1][2]
        assert "soundtrack.mp4" in page.input_value("#autopipeline-log textarea")
        page.screenshot(path=str(shots / "autopipeline-done.png"), full_page=True)

        played = page.evaluate(_PLAY, "#autopipeline-result-video video")
        assert played["error"] is None and played["time"] > 0.3, played
        assert abs(played["duration"] - 20.0) < 0.2, played

        link = page.locator('#autopipeline-files a[download="soundtrack.mp4"]')
        with page.expect_download() as download:
            link.click()
        downloaded = Path(download.value.path()).read_bytes()
        served = api.get(f"/api/jobs/{job_id}/artifacts/soundtrack.mp4")
        assert served.status_code == 200
        assert downloaded == served.content  # the UI's job is the API's job, same file
        assert downloaded[4:8] == b"ftyp"


@pytest.mark.browser
@pytest.mark.slow
def test_every_tab_runs_with_its_settings_open(tmp_path: Path, audio_only: Path) -> None:
    """Opening "More settings" changes nothing by itself: every tab's job still runs (empty
    numbers stay empty), a changed seed is the only change, and the log follows its last line."""
    from helpers import make_video

    video = make_video(tmp_path / "clip.mp4", duration_s=3.0, size="160x120")
    shots = ARTIFACTS / "web-ui"
    shots.mkdir(parents=True, exist_ok=True)
    fill = {
        "TTS": lambda page: page.fill("#tts-text textarea", "One. Two. Three."),
        "Mix": lambda page: page.locator("#tab-mix input[type=file]").first.set_input_files(
            str(audio_only)
        ),
        "WavJourney": lambda page: page.fill("#tab-wavjourney textarea", "Rain, then a bell."),
        "VidMuse": lambda page: page.locator("#vidmuse-video input[type=file]").set_input_files(
            str(video)
        ),
        "AutoPipeline": lambda page: page.locator(
            "#autopipeline-video input[type=file]"
        ).set_input_files(str(video)),
    }  # fmt: skip
    with _signed_in_page(tmp_path / "data") as (page, api):
        for tab, give in fill.items():
            mode = tab.lower()
            page.get_by_role("tab", name=tab).click()
            give(page)
            closed = page.locator(f"#tab-{mode} button.label-wrap")
            assert closed.count() >= 1, tab
            for index in range(closed.count()):
                closed.nth(index).click()
            page.wait_for_timeout(500)
            if tab == "VidMuse":  # the one change: the seed
                page.get_by_label("Seed (same seed, same music)").fill("7")
            if tab == "WavJourney":  # or a random one
                page.locator("#tab-wavjourney").get_by_label("Random seed").check()
            if tab in ("VidMuse", "AutoPipeline"):  # variations, side by side
                for label in ("Candidates to rank", "Candidates to keep"):
                    page.locator(f"#tab-{mode}").get_by_label(label).first.fill("2")
            page.click(f"#{mode}-run")
            seen = _follow(page, f"#{mode}-status .ac-status", timeout=240)
            page.screenshot(path=str(shots / f"{mode}-settings-open.png"), full_page=True)
            assert seen[-1][0] == "done", (tab, seen, page.inner_text(f"#{mode}-status"))
            job = api.get(f"/api/jobs/{seen[-1][2]}").json()
            untouched = {"seed": 7} if tab == "VidMuse" else {}
            if tab == "WavJourney":
                untouched = {"seed": job["params"].get("seed")}
                assert isinstance(untouched["seed"], int), job["params"]  # drawn, and kept
            chosen = {k: v for k, v in job["params"].items() if k in ("seed", "duration",
                      "sample_rate", "music_start", "speech_start")}  # fmt: skip
            assert chosen == untouched, (tab, job["params"])
            if "seed" in chosen:  # the seed it ran with is shown with the result
                shown = page.get_attribute(f"#{mode}-status .ac-status", "data-seed")
                assert shown == str(chosen["seed"]), (tab, shown)
                assert f"seed {chosen['seed']}" in page.inner_text(f"#{mode}-status")
            has_video = page.locator(f"#{mode}-result-video").is_visible()
            assert has_video == (mode in ("autopipeline", "vidmuse", "wavjourney")), tab
            if tab in ("VidMuse", "AutoPipeline"):
                players = [page.locator(f"#{mode}-candidate-{k}") for k in (1, 2, 3)]
                assert [p.is_visible() for p in players] == [True, True, False], tab
                labels = page.inner_text(f"#{mode}-candidates")
                assert "#1 · score" in labels and "#2 · score" in labels, labels
                assert job["params"]["rerank_topk"] == 2, job["params"]
            follows = page.evaluate(_AT_BOTTOM, f"#{mode}-log textarea")
            assert follows, (tab, "the log does not show its last line")


@pytest.mark.browser
@pytest.mark.slow
def test_the_jobs_tab_reopens_a_result_and_runs_it_again_with_changes(
    tmp_path: Path, audio_only: Path
) -> None:
    shots = ARTIFACTS / "web-ui"
    shots.mkdir(parents=True, exist_ok=True)
    with _signed_in_page(tmp_path / "data") as (page, api):
        params = '{"music": "music@1.5", "target_lufs": -14.0, "report": true}'
        files = {"music": ("tone.m4a", audio_only.read_bytes(), "audio/mp4")}
        made = api.post("/api/jobs", data={"mode": "mix", "params": params}, files=files)
        assert made.status_code == 201, made.text
        first = made.json()["id"]
        deadline = time.monotonic() + 60
        while api.get(f"/api/jobs/{first}").json()["status"] != "done":
            assert time.monotonic() < deadline
            time.sleep(0.2)
        page.get_by_role("tab", name="Jobs").click()
        # A job still running, opened: its view follows it to its results by itself.
        text = {"mode": "tts", "params": json.dumps({"text": "One more sentence to say. " * 60})}
        running = api.post("/api/jobs", data=text).json()["id"]
        row = page.locator("#jobs-table").get_by_text(running, exact=True).locator("visible=true")
        row.wait_for(timeout=15_000)
        row.click()
        page.wait_for_selector(f"#jobs-status .ac-status[data-job='{running}']", timeout=15_000)
        opened_as = page.get_attribute("#jobs-status .ac-status", "data-status")
        page.wait_for_selector("#jobs-status .ac-status[data-status=done]", timeout=120_000)
        page.wait_for_selector('#jobs-files a[download="speech.wav"]', timeout=15_000)
        assert opened_as in ("queued", "running", "done"), opened_as
        row = page.locator("#jobs-table").get_by_text(first, exact=True).locator("visible=true")
        row.wait_for(timeout=15_000)  # the table refreshes by itself
        row.click()
        page.wait_for_selector(
            f"#jobs-status .ac-status[data-status=done][data-job='{first}']", timeout=15_000
        )
        page.wait_for_selector('#jobs-files a[download="mix.wav"]', timeout=15_000)
        page.wait_for_selector("#jobs-audio audio, #jobs-audio .waveform-container",
                               state="attached", timeout=15_000)  # fmt: skip
        assert "wrote" in page.input_value("#jobs-log textarea")
        page.screenshot(path=str(shots / "jobs-opened.png"), full_page=True)

        page.click("#jobs-edit")  # "Run again with changes": the Mix tab, filled in
        page.wait_for_selector("#tab-mix", state="visible", timeout=15_000)
        mix = page.locator("#tab-mix")
        assert mix.get_by_label("Music starts at (s)").input_value() == "1.5"
        target = mix.get_by_label("Loudness target (LUFS)")
        assert float(target.input_value()) == -14.0
        target.fill("-20")
        page.screenshot(path=str(shots / "jobs-run-again-with-changes.png"), full_page=True)
        page.click("#mix-run")
        seen = _follow(page, "#mix-status .ac-status", timeout=120)
        assert seen[-1][0] == "done", (seen, page.inner_text("#mix-status"))
        again = api.get(f"/api/jobs/{seen[-1][2]}").json()
        assert again["id"] != first
        assert again["params"] == {"music": "music@1.5", "target_lufs": -20.0, "report": True}
        kept = tmp_path / "data" / again["id"] / "in"
        assert [p.read_bytes() for p in kept.iterdir()] == [audio_only.read_bytes()]


# True when a scrolled box shows its end (or has nothing to scroll).
_AT_BOTTOM = """(selector) => {
    const box = document.querySelector(selector);
    return box.scrollTop + box.clientHeight >= box.scrollHeight - 4;
}"""


def _follow(page: Any, selector: str, timeout: float) -> list[tuple[str, float | None, str]]:
    """The (status, progress, job) states the status panel went through, until the job ended."""
    seen: list[tuple[str, float | None, str]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        panel = page.query_selector(selector)
        if panel is not None:
            raw = panel.get_attribute("data-progress")
            state = (
                panel.get_attribute("data-status") or "",
                float(raw) if raw else None,
                panel.get_attribute("data-job") or "",
            )
            if not seen or seen[-1] != state:
                seen.append(state)
            if state[0] in ("done", "failed", "cancelled", "interrupted"):
                return seen
        time.sleep(0.2)
    raise AssertionError(f"the job did not end in {timeout} s: {seen}")


# Headless, and no calls home: this machine's network is closed (they would only be refused).
_CHROMIUM_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]  # fmt: skip

# Play the video muted for a second; where it got to, its length and any media error.
_PLAY = """async (selector) => {
    const video = document.querySelector(selector);
    video.muted = true;
    await video.play();
    await new Promise((done) => setTimeout(done, 1000));
    return {time: video.currentTime, duration: video.duration,
            error: video.error ? video.error.code : null};
}"""
