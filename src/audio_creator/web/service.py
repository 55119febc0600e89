"""Taking a job in: the one path by which both the HTTP API and the web UI queue work.

A job is opened (its record and folder made), its files are put in its `in/` folder, then it is
queued: its parameters become the options of the job it will run (`web.commands`), each file is
probed for what its option takes, and the job manager takes it. A job refused on the way is
forgotten entirely, record and files, and the refusal says why with an HTTP status.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from audio_creator.errors import AudioCreatorError, MediaError
from audio_creator.web import commands
from audio_creator.web.jobs import JobManager, QueueFull
from audio_creator.web.store import SECRET_PARAMS, Job, JobStore

SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$")
# Extensions an upload keeps in the job's folder (others are dropped: the content is probed).
_VIDEO = ("mp4", "m4v", "mov", "mkv", "webm", "avi", "ts", "mts", "m2ts", "mpg", "mpeg", "ogv")
_AUDIO = ("wav", "flac", "mp3", "ogg", "oga", "opus", "m4a", "aac", "aif", "aiff", "caf", "wma")
KEPT_SUFFIXES = frozenset(f".{ext}" for ext in (*_VIDEO, *_AUDIO, "txt", "md", "json"))
# An absolute path in a message, up to its last part: at the start, or after anything but a
# letter, digit or one of `._~/-` (so `lora:/x/y`, `[/x/y]` and `music@/x/y` are paths, and the
# `/path` of `http://host/path` is not).
_SERVER_PATH = re.compile(
    r"""(^|[^\w.~/-])(/(?:[^\s'"`/\]\[]+/)+[^\s'"`/)\]\[,;]*)""", re.MULTILINE
)


class Refused(Exception):
    """A job not taken, with the HTTP status that says why."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclasses.dataclass
class Intake:
    """A job being taken in: its record, storable parameters, secrets, and files as they land."""

    job: Job
    params: dict[str, Any]
    secrets: dict[str, str]
    uploads: dict[str, Path] = dataclasses.field(default_factory=dict)


@contextmanager
def receiving(store: JobStore, mode: str, params: Any, inputs: list[str]) -> Iterator[Intake]:
    """Open a job whose files (named `inputs`) are still to arrive. Whatever goes wrong before
    it is queued — a refusal, a failed copy, a client gone — the job is forgotten, record and
    files; it stays `receiving` meanwhile, so the scheduler cannot take it half there."""
    if mode not in commands.MODES:
        raise Refused(422, f"mode must be one of {', '.join(commands.MODES)}")
    if not isinstance(params, dict):
        raise Refused(422, "params must be a JSON object")
    kept = dict(params)
    secrets = {}
    for key in sorted(SECRET_PARAMS):
        value = kept.pop(key, None)
        if value not in (None, ""):
            secrets[key] = str(value)
    job = store.create(mode, kept, list(inputs), status="receiving")
    try:
        yield Intake(job, kept, secrets)
    except BaseException:
        drop(store, job.id)
        raise


def upload_path(store: JobStore, job: Job, field: str, filename: str) -> Path:
    """Where the upload `field` (sent as `filename`) goes: `in/FIELD.ext`, the extension kept
    only when it is one of the media, text or JSON ones the commands read (decoders like it;
    nothing relies on it)."""
    if not SAFE_NAME.match(field):
        raise Refused(422, f"upload field names must be plain names, not {field!r}")
    suffix = Path(filename or "").suffix.lower()
    return store.folder(job.id) / "in" / f"{field}{suffix if suffix in KEPT_SUFFIXES else ''}"


def queue_job(store: JobStore, manager: JobManager, intake: Intake) -> Job:
    """Queue a job whose files are in place; `Refused` when its parameters, its files or the
    queue say no. Probing the files takes a moment: call it off an event loop."""
    job = intake.job
    try:
        out = store.folder(job.id) / "out"
        options = commands.build_options(job.mode, intake.params, intake.uploads, out)
        _check_uploads(intake.params, intake.uploads)
        manager.submit(
            job.mode, options, intake.params, list(intake.uploads), intake.secrets, job.id
        )
    except QueueFull as exc:
        raise Refused(429, str(exc)) from None
    except Refused as exc:
        raise Refused(exc.status, public_text(store, job.id, exc.detail)) from None
    except AudioCreatorError as exc:
        raise Refused(422, public_text(store, job.id, str(exc))) from None
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
    if not store.claim_rerun(old.id):
        again = store.get(old.id)
        raise Refused(409, f"job {old.id} has run again already (as job {again and again.rerun})")
    try:
        with receiving(store, old.mode, old.params, old.inputs) as intake:
            for name in old.inputs:
                kept = (store.folder(old.id) / "in").glob(f"{name}*")
                found = sorted(p for p in kept if p.stem == name)
                if not found:
                    raise Refused(410, f"the file {name!r} of job {old.id} is no longer kept")
                intake.uploads[name] = store.folder(intake.job.id) / "in" / found[0].name
                place_file(found[0], intake.uploads[name])
            intake.secrets.update(secrets)
            new = queue_job(store, manager, intake)
    except BaseException:
        store.set_rerun(old.id, None)  # not run again after all: the chance is kept
        raise
    store.set_rerun(old.id, new.id)
    return new


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
    try:
        found = list((store.folder(job.id) / "out").iterdir())
    except OSError:  # its folder was removed by hand: nothing to offer
        return []
    return sorted(p.name for p in found if is_plain_file(p) and p.name[0] != ".")


def is_plain_file(path: Path) -> bool:
    """A regular file itself, not a link to one (a link could lead anywhere on the server)."""
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except OSError:
        return False


def public_text(store: JobStore, job_id: str, text: str) -> str:
    """`text` as a client may see it: the job's own files by their names in the job (`out/x.wav`),
    the server's home folder as `~`, any other server path by its last part; the server's own
    log keeps the full paths."""
    for folder in {str(store.folder(job_id)), os.path.realpath(store.folder(job_id))}:
        text = text.replace(folder + os.sep, "")
    home = str(Path.home())
    if len(home) > 1:  # a home with a space in its name is not cut at the space
        text = text.replace(home + os.sep, "~" + os.sep)
    text = text.replace("file://", "file:")
    return _SERVER_PATH.sub(lambda m: m.group(1) + Path(m.group(2)).name, text)


def log_lines(store: JobStore, job_id: str) -> list[str]:
    """What the job's command has printed so far, as a client may see it (`public_text`)."""
    try:
        text = (store.folder(job_id) / "log.txt").read_text("utf-8", errors="replace")
    except OSError:
        return []
    return public_text(store, job_id, text).splitlines()


def _check_uploads(params: dict[str, Any], uploads: dict[str, Path]) -> None:
    """Each uploaded file holds what the option that names it takes (probed, not by its name)."""
    used: dict[str, set[str]] = {name: set() for name in uploads}
    for key, value in params.items():
        dest = key.replace("-", "_")
        for item in value if isinstance(value, list) else [value]:
            name = str(item).rpartition("@")[0] or str(item)
            if name in uploads:
                used[name].add(dest)
    for name, path in uploads.items():
        if not used[name]:
            raise Refused(422, f"the upload {name!r} is not named by any parameter")
        for option in sorted(used[name]):  # a file named by two options must suit both
            try:
                commands.check_upload(path, option)
            except MediaError as exc:
                raise Refused(415, str(exc)) from None
