"""How the web UI shows a job: its status line, its log, and once it is done, its results.

A mode's tab and the Jobs tab show jobs alike, with the widgets of one `ResultView`. Results are
handed to Gradio as copies in the system's temp folder: the jobs folder itself is never served.
"""

from __future__ import annotations

import html
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audio_creator.web import commands, service
from audio_creator.web.store import Job, JobStore

LOG_LINES = 400
MAKES_VIDEO = frozenset(("autopipeline", "vidmuse", "wavjourney"))  # with merge_video
# Scroll a log box to its newest line (the text box's own autoscroll stops once it is full).
_FOLLOW_JS = """() => { setTimeout(() => {
    const box = document.querySelector("SELECTOR");
    if (box) { box.scrollTop = box.scrollHeight; }
}, 50); }"""


@dataclass(frozen=True)
class ResultView:
    """The widgets that show one job; `outputs` in the order `shown` fills them."""

    status: Any
    log: Any
    audio: Any
    video: Any
    picture: Any
    files: Any

    @property
    def outputs(self) -> list[Any]:
        return [self.status, self.log, self.audio, self.video, self.picture, self.files]


def result_view(gr: Any, store: JobStore, prefix: str, mode: str | None) -> ResultView:
    """The widgets of a job's view, with element ids `PREFIX-status`, `PREFIX-log`, …; `mode`
    None: any mode's job (the video and the picture show when there is one)."""
    status = gr.HTML(status_html(store, None), elem_id=f"{prefix}-status")
    log = gr.Textbox(
        label="Log", lines=10, max_lines=10, autoscroll=True, interactive=False,
        elem_id=f"{prefix}-log",
    )  # fmt: skip
    log.change(None, None, None, js=_FOLLOW_JS.replace("SELECTOR", f"#{prefix}-log textarea"))
    with gr.Row():
        audio = gr.Audio(
            label="Result", type="filepath", interactive=False, elem_id=f"{prefix}-audio"
        )
        video = gr.Video(
            label="Video", interactive=False, elem_id=f"{prefix}-result-video",
            visible=mode in MAKES_VIDEO,
        )  # fmt: skip
    picture = gr.Image(
        label="Timeline", type="filepath", interactive=False, elem_id=f"{prefix}-timeline",
        visible=mode == "autopipeline",
    )  # fmt: skip
    files = gr.File(
        label="Downloads", file_count="multiple", interactive=False, elem_id=f"{prefix}-files"
    )
    return ResultView(status, log, audio, video, picture, files)


def log_text(store: JobStore, job_id: str) -> str:
    return "\n".join(service.log_lines(store, job_id)[-LOG_LINES:])


@contextmanager
def handed_over(store: JobStore, job: Job) -> Iterator[tuple[Any, Any, Any, list[str] | None]]:
    """A finished job's (audio, video, picture, files) where Gradio takes files from, for as
    long as it takes Gradio to copy them."""
    names = service.artifacts(store, job)
    if not names:
        yield None, None, None, None
        return
    folder = Path(tempfile.mkdtemp(prefix=f"audio-creator-{job.id}-"))
    try:
        for name in names:
            service.place_file(store.folder(job.id) / "out" / name, folder / name)
        yield _pick(job.mode, folder, names)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _pick(mode: str, folder: Path, names: list[str]) -> tuple[Any, Any, Any, list[str]]:
    """What a finished job shows: the main audio, the video, the timeline, every file."""

    def first(suffix: str) -> str | None:
        return next((str(folder / n) for n in names if n.endswith(suffix)), None)

    main = commands.OUTPUT_NAMES[mode]
    audio = str(folder / main) if main in names else first(".wav")
    return audio, first(".mp4"), first(".png"), [str(folder / n) for n in names]


def status_html(store: JobStore, job: Job | None) -> str:
    """The status line: a bar, what the job is doing, its seed (where its mode has one), and
    how it failed; the `data-` attributes are for tests and scripts."""
    if job is None:
        return '<div class="ac-status" data-status="idle">Ready.</div>'
    percent = round(job.progress * 100)
    doing = {
        "receiving": "receiving the files", "queued": "waiting for a free worker",
        "running": job.stage or "starting", "done": "done", "failed": "failed",
        "cancelled": "cancelled", "interrupted": "interrupted by a server restart",
    }.get(job.status, job.status)  # fmt: skip
    seed = seed_of(job)
    said = f" · seed {seed}" if seed is not None else ""
    shown = job.error and service.public_text(store, job.id, job.error)
    error = f'<div class="ac-error">{html.escape(shown)}</div>' if shown else ""
    return (
        f'<div class="ac-status" data-status="{job.status}" data-progress="{job.progress:.2f}" '
        f'data-job="{job.id}" data-seed="{"" if seed is None else seed}">'
        f'<progress max="100" value="{percent}"></progress>'
        f"<div>{percent} % · {html.escape(doing)} · job {job.id}{said}</div>{error}</div>"
    )


def seed_of(job: Job) -> int | None:
    """The seed a job ran with (its own, or its command's default); None where it has none."""
    defaults = commands.defaults(job.mode)
    if "seed" not in defaults:
        return None
    try:
        return int(job.params.get("seed", defaults["seed"]))
    except (TypeError, ValueError):  # a value the command refused
        return None
