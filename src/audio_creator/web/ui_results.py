"""How the web UI shows a job: its status line, its log, and once it is done, its results.

A mode's tab and the Jobs tab show jobs alike, with the widgets of one `ResultView`. Results are
handed to Gradio as copies in the system's temp folder: the jobs folder itself is never served.
"""

from __future__ import annotations

import html
import json
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from audio_creator.web import commands, service
from audio_creator.web.store import Job, JobStore

LOG_LINES = 400
MAX_CANDIDATES = 8  # music candidates shown side by side (the forms' rerank sliders go to 8)
MAKES_VIDEO = frozenset(("autopipeline", "vidmuse", "wavjourney"))  # with merge_video
# Scroll a log box to its newest line (the text box's own autoscroll stops once it is full).
_FOLLOW_JS = """() => { setTimeout(() => {
    const box = document.querySelector("SELECTOR");
    if (box) { box.scrollTop = box.scrollHeight; }
}, 50); }"""


@dataclass(frozen=True)
class Results:
    """What a finished job shows: the main audio, the video, the timeline picture, every file,
    and the music candidates it kept (file, label with its scores), best first."""

    audio: str | None = None
    video: str | None = None
    picture: str | None = None
    files: list[str] | None = None
    candidates: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class ResultView:
    """The widgets that show one job; `mode` None: any mode's (the Jobs tab)."""

    mode: str | None
    status: Any
    log: Any
    audio: Any
    video: Any
    picture: Any
    files: Any
    candidates: tuple[Any, ...]

    @property
    def outputs(self) -> list[Any]:
        return [self.status, self.log, self.audio, self.video, self.picture, self.files,
                *self.candidates]  # fmt: skip

    def values(self, gr: Any, status: str, log: str, results: Results | None) -> list[Any]:
        """The outputs' values: `results` None leaves the results as they are (a job still
        running); `Results()` clears them."""
        if results is None:
            return [status, log, *[gr.update()] * (len(self.outputs) - 2)]
        shown = []
        for index, _ in enumerate(self.candidates):
            if index < len(results.candidates):
                path, label = results.candidates[index]
                shown.append(gr.update(value=path, label=label, visible=True))
            else:
                shown.append(gr.update(value=None, visible=False))
        video, picture = results.video, results.picture
        if self.mode is None:  # shown when the job made them
            video = gr.update(value=video, visible=video is not None)
            picture = gr.update(value=picture, visible=picture is not None)
        return [status, log, results.audio, video, picture, results.files, *shown]


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
    candidates: tuple[Any, ...] = ()
    if mode in (None, "vidmuse", "autopipeline"):  # the kept music candidates, side by side
        with gr.Row(elem_id=f"{prefix}-candidates"):
            candidates = tuple(_candidate(gr, f"{prefix}-candidate-{k + 1}")
                               for k in range(MAX_CANDIDATES))  # fmt: skip
    picture = gr.Image(
        label="Timeline", type="filepath", interactive=False, elem_id=f"{prefix}-timeline",
        visible=mode == "autopipeline",
    )  # fmt: skip
    files = gr.File(
        label="Downloads", file_count="multiple", interactive=False, elem_id=f"{prefix}-files"
    )
    return ResultView(mode, status, log, audio, video, picture, files, candidates)


def _candidate(gr: Any, elem_id: str) -> Any:
    return gr.Audio(
        type="filepath", interactive=False, visible=False, min_width=240, elem_id=elem_id,
        elem_classes=["ac-candidate"],
    )  # fmt: skip


def log_text(store: JobStore, job_id: str) -> str:
    return "\n".join(service.log_lines(store, job_id)[-LOG_LINES:])


@contextmanager
def handed_over(store: JobStore, job: Job) -> Iterator[Results]:
    """A finished job's results where Gradio takes files from, for as long as it takes Gradio
    to copy them."""
    names = service.artifacts(store, job)
    if not names:
        yield Results()
        return
    folder = Path(tempfile.mkdtemp(prefix=f"audio-creator-{job.id}-"))
    try:
        for name in names:
            service.place_file(store.folder(job.id) / "out" / name, folder / name)
        yield _pick(job.mode, folder, names)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _pick(mode: str, folder: Path, names: list[str]) -> Results:
    def first(suffix: str) -> str | None:
        return next((str(folder / n) for n in names if n.endswith(suffix)), None)

    from audio_creator.jobs.options import OUTPUT_NAMES

    main = OUTPUT_NAMES[mode]
    audio = str(folder / main) if main in names else first(".wav")
    candidates = [(str(folder / name), label) for name, label in _ranked(folder, names)]
    return Results(audio, first(".mp4"), first(".png"), [str(folder / n) for n in names],
                   candidates if len(candidates) > 1 else [])  # fmt: skip


def _ranked(folder: Path, names: list[str]) -> list[tuple[str, str]]:
    """The kept music candidates of a job's report (vidmuse's `music.json`, the autopipeline's
    `soundtrack_report.json`), best first: (file name, "#1 · score 0.75 · cut_alignment 1.00 …")."""
    for name in names:
        if not name.endswith(".json"):
            continue
        try:
            report = json.loads((folder / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        music = report.get("music", report) if isinstance(report, dict) else None
        listed = music.get("candidates") if isinstance(music, dict) else None
        if not isinstance(listed, list):
            continue
        found = []
        for rank, entry in enumerate(listed, start=1):
            if not isinstance(entry, dict) or entry.get("file") not in names:
                continue
            terms = ", ".join(
                f"{key} {value:.2f}" for key, value in entry.items()
                if key not in ("file", "candidate", "score") and isinstance(value, (int, float))
            )  # fmt: skip
            score = entry.get("score")
            said = f" · score {score:.3f}" if isinstance(score, (int, float)) else ""
            found.append((str(entry["file"]), f"#{rank}{said}" + (f" ({terms})" if terms else "")))
        if found:
            return found
    return []


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
