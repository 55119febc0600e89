"""Taking a job in: the one path by which both the HTTP API and the web UI queue work.

A job is opened (its record and folder made), its files are put in its `in/` folder, then it is
queued: its parameters become the command line it will run (`web.commands`), each file is
probed for what its option takes, and the job manager takes it. A job refused on the way is
forgotten entirely, record and files, and the refusal says why with an HTTP status.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

from audio_creator.errors import AudioCreatorError, MediaError
from audio_creator.web import commands
from audio_creator.web.jobs import JobManager, QueueFull
from audio_creator.web.store import SECRET_PARAMS, Job, JobStore

SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$")


class Refused(Exception):
    """A job not taken, with the HTTP status that says why."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def open_job(store: JobStore, mode: str, params: Any) -> tuple[Job, dict[str, Any], dict[str, str]]:
    """A new job record and folder: the job, its storable parameters and its secrets."""
    if mode not in commands.MODES:
        raise Refused(422, f"mode must be one of {', '.join(commands.MODES)}")
    if not isinstance(params, dict):
        raise Refused(422, "params must be a JSON object")
    kept = dict(params)
    secrets = {k: str(kept.pop(k)) for k in sorted(SECRET_PARAMS) if k in kept}
    return store.create(mode, kept, [], status="receiving"), kept, secrets


def upload_path(store: JobStore, job: Job, field: str, filename: str) -> Path:
    """Where the upload `field` (sent as `filename`) goes: `in/FIELD.ext`, the extension kept
    only when it is a plain one (players and decoders like it; nothing relies on it)."""
    if not SAFE_NAME.match(field):
        raise Refused(422, f"upload field names must be plain names, not {field!r}")
    suffix = Path(filename or "").suffix.lower()
    suffix = suffix if re.fullmatch(r"\.[a-z0-9]{1,5}", suffix) else ""
    return store.folder(job.id) / "in" / f"{field}{suffix}"


def queue_job(
    store: JobStore,
    manager: JobManager,
    job: Job,
    params: dict[str, Any],
    uploads: dict[str, Path],
    secrets: dict[str, str],
) -> Job:
    """Queue an opened job whose files are in place; `Refused` (and the job forgotten) when its
    parameters, its files or the queue say no."""
    try:
        argv = commands.build_argv(job.mode, params, uploads, store.folder(job.id) / "out")
        _check_uploads(params, uploads)
        manager.submit(job.mode, argv, params, list(uploads), secrets, job_id=job.id)
    except Refused:
        drop(store, job.id)
        raise
    except QueueFull as exc:
        drop(store, job.id)
        raise Refused(429, str(exc)) from None
    except AudioCreatorError as exc:
        drop(store, job.id)
        raise Refused(422, str(exc)) from None
    queued = store.get(job.id)
    assert queued is not None
    return queued


def resubmit(store: JobStore, manager: JobManager, job_id: str, secrets: dict[str, str]) -> Job:
    """A new job with the mode, parameters and files of one that did not finish (interrupted by
    a restart, failed or cancelled). Secrets were never stored: they come again in `secrets`."""
    old = store.get(job_id) if SAFE_NAME.match(job_id) else None
    if old is None:
        raise Refused(404, "no such job")
    if old.status not in ("interrupted", "failed", "cancelled"):
        raise Refused(409, f"only a job that did not finish can run again (this one: {old.status})")
    job, params, _ = open_job(store, old.mode, old.params)
    uploads: dict[str, Path] = {}
    for name in old.inputs:
        found = sorted(p for p in (store.folder(old.id) / "in").glob(f"{name}*") if p.stem == name)
        if not found:
            drop(store, job.id)
            raise Refused(410, f"the file {name!r} of job {old.id} is no longer kept")
        uploads[name] = store.folder(job.id) / "in" / found[0].name
        place_file(found[0], uploads[name])
    return queue_job(store, manager, job, params, uploads, secrets)


def place_file(source: Path, target: Path) -> None:
    """Put a file into a job's folder: a hard link where the disk allows (no copy of a large
    video), else a copy."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def drop(store: JobStore, job_id: str) -> None:
    """Forget a job that was refused before it was queued: its record and its files."""
    store.delete(job_id)
    shutil.rmtree(store.folder(job_id), ignore_errors=True)


def artifacts(store: JobStore, job: Job) -> list[str]:
    """The names of a finished job's results (none until it is done)."""
    if job.status != "done":
        return []
    folder = store.folder(job.id) / "out"
    return sorted(p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def log_lines(store: JobStore, job_id: str) -> list[str]:
    """What the job's command has printed so far."""
    try:
        return (store.folder(job_id) / "log.txt").read_text("utf-8", errors="replace").splitlines()
    except OSError:
        return []


def _check_uploads(params: dict[str, Any], uploads: dict[str, Path]) -> None:
    """Each uploaded file holds what the option that names it takes (probed, not by its name)."""
    used: dict[str, str] = {}
    for key, value in params.items():
        dest = key.replace("-", "_")
        for item in value if isinstance(value, list) else [value]:
            name = str(item).rpartition("@")[0] or str(item)
            if name in uploads:
                used[name] = dest
    for name, path in uploads.items():
        if name not in used:
            raise Refused(422, f"the upload {name!r} is not named by any parameter")
        try:
            commands.check_upload(path, used[name])
        except MediaError as exc:
            raise Refused(415, str(exc)) from None
