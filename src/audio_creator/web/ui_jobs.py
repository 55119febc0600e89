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
from audio_creator.web.store import FINISHED, Job, JobStore
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
    the tab set (to switch to one), `offer` shows a kept input file in a form."""
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
    shown = gr.State("")  # the status the view shows; a job that ends gets its results shown
    timer = gr.Timer(REFRESH_S)

    def show(job_id: str | None, showing: str) -> Iterator[list[Any]]:
        """The chosen job's view: unchanged once it shows an ended job; its status and log
        while it runs; its results when it has ended."""
        job = _job(store, job_id)
        if job is None:
            yield [*view.values(gr, status_html(store, None), "", Results()), ""]
        elif showing in FINISHED and job.status == showing:
            yield [*[gr.update()] * len(view.outputs), showing]
        elif job.status in FINISHED:
            with handed_over(store, job) as results:  # copied before it asks for more
                now = status_html(store, job), log_text(store, job.id)
                yield [*view.values(gr, *now, results), job.status]
        else:
            now = status_html(store, job), log_text(store, job.id)
            yield [*view.values(gr, *now, None), job.status]

    def open_job(job_id: str | None) -> Iterator[list[Any]]:
        yield from show(job_id, "")

    def tick(job_id: str | None, showing: str) -> Iterator[list[Any]]:
        rows = [_rows(store), gr.update(choices=_choices(store))]  # the choice stays
        for shown_now in show(job_id, showing):
            yield rows + shown_now

    def pick(event: Any) -> str:
        row = event.row_value
        return str(row[0]) if row else ""

    # Gradio passes the clicked row to a parameter typed SelectData, read from the real type
    # (this module's annotations are strings, which it cannot resolve here).
    pick.__annotations__ = {"event": gr.SelectData, "return": str}

    def run_again(job_id: str | None, api_key: str) -> tuple[Any, ...]:
        try:
            new = service.resubmit(
                store, manager, (job_id or "").strip(), {"api_key": api_key} if api_key else {}
            )
        except service.Refused as exc:
            raise gr.Error(exc.detail) from None
        return f"Queued again as job `{new.id}`.", _rows(store), gr.update(choices=_choices(store))

    widgets = [widget for form in forms.values() for _, widget in form.fields]
    reused = [form.reuse for form in forms.values()]

    def run_with_changes(job_id: str | None) -> list[Any]:
        job = _job(store, job_id)
        if job is None:
            raise gr.Error("choose a job first")
        filled, kept, dropped = _filled(forms[job.mode], job, store, offer)
        if dropped:
            gr.Warning(f"the form holds one file per input: {', '.join(dropped)} left out")
        updates: list[Any] = [gr.Tabs(selected=job.mode)]
        for mode, form in forms.items():
            updates += filled if mode == job.mode else [gr.update()] * len(form.fields)
        return updates + [kept if mode == job.mode else gr.update() for mode in forms]

    private = {"api_visibility": "private"}
    view_out = [*view.outputs, shown]
    timer.tick(tick, [chosen, shown], [table, chosen, *view_out], **private)
    table.select(pick, None, chosen, **private)
    chosen.change(open_job, [chosen], view_out, **private)
    again.click(run_again, [chosen, key], [said, table, chosen], **private)
    edit.click(run_with_changes, [chosen], [tabs, *widgets, *reused], **private)


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


def _filled(
    form: Tab, job: Job, store: JobStore, offer: Callable[[Path], str]
) -> tuple[list[Any], dict[str, Path], list[str]]:
    """`form`'s widgets' values for `job`, the kept input file behind each file field (the job
    reads those, whatever the page's preview of them became), and the files a field could not
    hold (a job may have several under one option; a form field holds one).

    The values: its parameters where it set them; elsewhere a switch is off (a job keeps only
    the switches that were on) and the rest is the widget's own default, which is the command's
    or empty; random seeds off (the seed it ran with is in the seed field)."""
    params = {key.replace("-", "_"): value for key, value in job.params.items()}
    values: list[Any] = []
    kept: dict[str, Path] = {}
    dropped: list[str] = []
    for field, widget in form.fields:
        given = params.get(field.start_of or field.dest)
        if isinstance(given, list):  # several files under one option: the form takes the first
            if field.upload:
                dropped += [str(item).rpartition("@")[0] or str(item) for item in given[1:]]
            given = given[0] if given else None
        if field.random:
            values.append(False)
        elif field.upload:
            name = str(given).rpartition("@")[0] or str(given) if given is not None else ""
            source = _kept_input(store, job, name) if name else None
            if source is not None:
                kept[field.dest] = source
            values.append(offer(source) if source is not None else None)
        elif field.start_of:
            _, sep, start = str(given or "").rpartition("@")
            values.append(start if sep else "")
        elif given is not None:
            values.append(str(given) if _kind(widget) == "Textbox" and field.cast else given)
        elif _kind(widget) == "Checkbox":
            values.append(False)
        else:
            values.append(widget.value)
    return values, kept, dropped


def _kind(widget: Any) -> str:
    return type(widget).__name__


def _kept_input(store: JobStore, job: Job, name: str) -> Path | None:
    folder = store.folder(job.id) / "in"
    found = sorted(p for p in folder.glob(f"{name}*") if p.stem == name)
    return found[0] if found and service.is_plain_file(found[0]) else None


def offered(source: Path) -> str:
    """A copy of a job's kept input where Gradio serves files from (its upload folder), to show
    in a form. The page may turn it into another file (a video it cannot play is converted):
    the job reads the kept input itself (`Tab.reuse`), not what comes back."""
    from gradio.utils import get_upload_folder

    folder = Path(get_upload_folder()) / f"rerun-{secrets.token_hex(16)}"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / source.name
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
    return str(target)
