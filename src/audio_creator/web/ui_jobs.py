"""The web UI's Jobs tab: every job, newest first, kept up to date; any one opened with its results;
run again as it was (one that did not finish), or with changes (its mode's tab filled in).
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audio_creator.web import service
from audio_creator.web.jobs import JobManager
from audio_creator.web.store import Job, JobStore
from audio_creator.web.ui_results import (
    Results,
    handed_over,
    log_text,
    result_view,
    status_html,
)

if TYPE_CHECKING:
    from audio_creator.web.ui import Tab

REFRESH_S = 3.0
COLUMNS = ["job", "mode", "status", "progress", "stage", "created", "error"]


def jobs_tab(
    gr: Any, store: JobStore, manager: JobManager, forms: dict[str, Tab], tabs: Any,
    offer: Callable[[Path], str],
) -> None:  # fmt: skip
    """The tab's widgets and what they do. `forms` are the modes' tabs (to fill them in), `tabs`
    the tab set (to switch to one), `offer` makes a kept input file an upload of the page."""
    gr.Markdown("Every job, newest first. Click one (or choose it) to see its results.")
    table = gr.Dataframe(
        lambda: _rows(store), headers=COLUMNS, interactive=False, elem_id="jobs-table"
    )
    with gr.Row():
        # Its choices change as jobs come (the server checks a chosen id itself, so it may be
        # one the page's list has that the server's copy of the widget has not seen).
        chosen = gr.Dropdown(
            _choices(store), value=None, label="Job", elem_id="jobs-chosen", scale=2,
            allow_custom_value=True,
        )  # fmt: skip
        key = gr.Textbox(label="API key, if the job used one", type="password")
    with gr.Row():
        again = gr.Button("Run again (interrupted, failed or cancelled)", elem_id="jobs-again")
        edit = gr.Button("Run again with changes", elem_id="jobs-edit")
    said = gr.Markdown(elem_id="jobs-said")
    view = result_view(gr, store, "jobs", None)
    timer = gr.Timer(REFRESH_S)

    def refresh() -> tuple[Any, Any]:  # the choice stays: its view is not reloaded
        return _rows(store), gr.update(choices=_choices(store))

    def pick(event: Any) -> str:
        row = event.row_value
        return str(row[0]) if row else ""

    # Gradio passes the clicked row to a parameter typed SelectData, read from the real type
    # (this module's annotations are strings, which it cannot resolve here).
    pick.__annotations__ = {"event": gr.SelectData, "return": str}

    def open_job(job_id: str | None) -> Iterator[list[Any]]:
        job = _job(store, job_id)
        if job is None:
            yield view.values(gr, status_html(store, None), "", Results())
            return
        with handed_over(store, job) as results:
            yield view.values(gr, status_html(store, job), log_text(store, job.id), results)

    def run_again(job_id: str | None, api_key: str) -> tuple[Any, ...]:
        try:
            new = service.resubmit(
                store, manager, (job_id or "").strip(), {"api_key": api_key} if api_key else {}
            )
        except service.Refused as exc:
            raise gr.Error(exc.detail) from None
        rows, choices = refresh()
        return f"Queued again as job `{new.id}`.", rows, choices

    widgets = [widget for form in forms.values() for _, widget in form.fields]

    def run_with_changes(job_id: str | None) -> list[Any]:
        job = _job(store, job_id)
        if job is None:
            raise gr.Error("choose a job first")
        filled = _filled(forms[job.mode], job, store, offer)
        updates: list[Any] = [gr.Tabs(selected=job.mode)]
        for mode, form in forms.items():
            updates += filled if mode == job.mode else [gr.update()] * len(form.fields)
        return updates

    private = {"api_visibility": "private"}
    timer.tick(refresh, None, [table, chosen], **private)
    table.select(pick, None, chosen, **private)
    chosen.change(open_job, [chosen], view.outputs, **private)
    again.click(run_again, [chosen, key], [said, table, chosen], **private)
    edit.click(run_with_changes, [chosen], [tabs, *widgets], **private)


def _job(store: JobStore, job_id: str | None) -> Job | None:
    job_id = (job_id or "").strip()
    return store.get(job_id) if service.SAFE_NAME.match(job_id) else None


def _rows(store: JobStore) -> list[list[Any]]:
    return [
        [j.id, j.mode, j.status, f"{round(j.progress * 100)} %", j.stage,
         time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(j.created)),
         service.public_text(store, j.id, j.error or "")]
        for j in store.recent()
    ]  # fmt: skip


def _choices(store: JobStore) -> list[tuple[str, str]]:
    return [(f"{j.id} · {j.mode} · {j.status}", j.id) for j in store.recent()]


def _filled(form: Tab, job: Job, store: JobStore, offer: Callable[[Path], str]) -> list[Any]:
    """The values of `form`'s widgets for `job`: its parameters where it set them; elsewhere a
    switch is off (a job keeps only the switches that were on) and the rest is the widget's own
    default, which is the command's or empty; its input files offered again as uploads; random
    seeds off (the seed it ran with is in the seed field)."""
    values: list[Any] = []
    for field, widget in form.fields:
        given = job.params.get(field.start_of or field.dest)
        if field.random:
            values.append(False)
        elif field.upload:
            kept = _kept_input(store, job, field.dest) if given else None
            values.append(offer(kept) if kept else None)
        elif field.start_of:
            _, sep, start = str(given or "").rpartition("@")
            values.append(start if sep else "")
        elif given is not None:
            values.append(str(given) if _kind(widget) == "Textbox" and field.cast else given)
        elif _kind(widget) == "Checkbox":
            values.append(False)
        else:
            values.append(widget.value)
    return values


def _kind(widget: Any) -> str:
    return type(widget).__name__


def _kept_input(store: JobStore, job: Job, name: str) -> Path | None:
    folder = store.folder(job.id) / "in"
    found = sorted(p for p in folder.glob(f"{name}*") if p.stem == name)
    return found[0] if found and service.is_plain_file(found[0]) else None


def offered(blocks: Any, source: Path) -> str:
    """A copy of a job's kept input in Gradio's upload folder, recorded as handed out by it: the
    file came to this server as an upload, and the page may send it back as one."""
    from gradio.utils import get_upload_folder

    folder = Path(get_upload_folder()) / f"rerun-{secrets.token_hex(16)}"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / source.name
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
    blocks.upload_file_set.add(str(target))
    return str(target)
