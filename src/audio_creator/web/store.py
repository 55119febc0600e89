"""The job store: one SQLite file that outlives the server, and a folder per job.

A job's record holds what it is (mode, parameters without secrets, input names), where it is
(status, progress 0–1, current stage) and how it ended (error, finish time). Worker processes
write their progress here; the server reads it. WAL mode lets them do so at once.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# "receiving": its files are still arriving; the scheduler takes only "queued" jobs.
STATUSES = ("receiving", "queued", "running", "done", "failed", "cancelled", "interrupted")
FINISHED = ("done", "failed", "cancelled", "interrupted")
SECRET_PARAMS = frozenset(("api_key",))  # never stored, logged or answered

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    mode TEXT NOT NULL,
    params TEXT NOT NULL,
    inputs TEXT NOT NULL,
    status TEXT NOT NULL,
    progress REAL NOT NULL DEFAULT 0,
    stage TEXT NOT NULL DEFAULT '',
    error TEXT,
    error_kind TEXT,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    rerun TEXT
);
CREATE INDEX IF NOT EXISTS jobs_created ON jobs (created);
"""


@dataclass(frozen=True)
class Job:
    """One job as stored."""

    id: str
    mode: str
    params: dict[str, Any]
    inputs: list[str]  # names of the uploaded files
    status: str
    progress: float
    stage: str
    error: str | None
    created: float
    started: float | None
    finished: float | None
    rerun: str | None = None  # the job that ran this one again (a job runs again once)
    # how it failed: "config" or "media" (bad options or input), "backend" (cannot run here),
    # "internal" (a crash), "cancelled"
    error_kind: str | None = None


class JobStore:
    """Jobs in `root/jobs.sqlite3`, their files in `root/<id>/` (`in/`, `out/`, `log.txt`)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser().resolve()  # relative to where the server started
        self.root.mkdir(parents=True, exist_ok=True)
        self.path = self.root / "jobs.sqlite3"
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
            columns = {row["name"] for row in db.execute("PRAGMA table_info(jobs)")}
            if "rerun" not in columns:  # a jobs file from before re-runs were recorded
                db.execute("ALTER TABLE jobs ADD COLUMN rerun TEXT")
            if "error_kind" not in columns:  # …or before failures said their kind
                db.execute("ALTER TABLE jobs ADD COLUMN error_kind TEXT")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30)
        db.row_factory = sqlite3.Row
        try:
            with db:  # one transaction
                yield db
        finally:
            db.close()

    def folder(self, job_id: str) -> Path:
        return self.root / job_id

    def create(
        self, mode: str, params: dict[str, Any], inputs: list[str], status: str = "queued"
    ) -> Job:
        """A new job (its folder made); secrets in `params` are not stored."""
        job_id = uuid.uuid4().hex[:16]
        kept = {k: v for k, v in params.items() if k not in SECRET_PARAMS}
        for sub in ("in", "out"):
            (self.folder(job_id) / sub).mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute(
                "INSERT INTO jobs (id, mode, params, inputs, status, created) VALUES (?,?,?,?,?,?)",
                (job_id, mode, json.dumps(kept), json.dumps(inputs), status, time.time()),
            )
        return self.get(job_id)  # type: ignore[return-value]

    def get(self, job_id: str) -> Job | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _job(row) if row else None

    def recent(self, limit: int = 200) -> list[Job]:
        with self._connect() as db:
            rows = db.execute("SELECT * FROM jobs ORDER BY created DESC LIMIT ?", (limit,))
            return [_job(row) for row in rows.fetchall()]

    def count(self, *statuses: str) -> int:
        marks = ",".join("?" * len(statuses))
        with self._connect() as db:
            query = f"SELECT COUNT(*) FROM jobs WHERE status IN ({marks})"
            return int(db.execute(query, statuses).fetchone()[0])

    def next_queued(self) -> Job | None:
        with self._connect() as db:
            row = db.execute(
                "SELECT * FROM jobs WHERE status = 'queued' ORDER BY created LIMIT 1"
            ).fetchone()
        return _job(row) if row else None

    def update(self, job_id: str, **fields: Any) -> None:
        """Set some of status, progress, stage, error, started, finished."""
        allowed = {"status", "progress", "stage", "error", "started", "finished"}
        if not fields or not set(fields) <= allowed:
            raise ValueError(f"cannot update {sorted(set(fields) - allowed)}")
        assignments = ", ".join(f"{name} = ?" for name in fields)
        with self._connect() as db:
            db.execute(
                f"UPDATE jobs SET {assignments} WHERE id = ?",
                (*fields.values(), job_id),
            )

    def report(self, job_id: str, progress: float, stage: str) -> None:
        """A running job's progress; ignored once it has ended (a cancel stops the bar)."""
        with self._connect() as db:
            db.execute(
                "UPDATE jobs SET progress = ?, stage = ? WHERE id = ? AND status = 'running'",
                (progress, stage, job_id),
            )

    def claim_rerun(self, job_id: str) -> bool:
        """Take the one chance `job_id` has to run again; False if it was taken already."""
        with self._connect() as db:
            cursor = db.execute(
                "UPDATE jobs SET rerun = '' WHERE id = ? AND rerun IS NULL", (job_id,)
            )
            return cursor.rowcount == 1

    def set_rerun(self, job_id: str, new_id: str | None) -> None:
        """Record the job that ran `job_id` again (None: the claim is given back)."""
        with self._connect() as db:
            db.execute("UPDATE jobs SET rerun = ? WHERE id = ?", (new_id, job_id))

    def mark_queued(self, job_id: str) -> bool:
        """A received job made ready to run; False if it was cancelled while it arrived."""
        return self._move(job_id, "receiving", "queued")

    def mark_running(self, job_id: str) -> bool:
        """A queued job started; False if it was cancelled meanwhile."""
        return self._move(job_id, "queued", "running", started=time.time())

    def _move(self, job_id: str, old: str, new: str, started: float | None = None) -> bool:
        with self._connect() as db:
            cursor = db.execute(
                "UPDATE jobs SET status = ?, started = COALESCE(?, started) "
                "WHERE id = ? AND status = ?",
                (new, started, job_id, old),
            )
            return cursor.rowcount == 1

    def finish(
        self, job_id: str, status: str, error: str | None = None, kind: str | None = None
    ) -> None:
        """End a job unless it has ended already (a cancel wins over the worker's own end)."""
        with self._connect() as db:
            db.execute(
                "UPDATE jobs SET status = ?, error = ?, error_kind = ?, finished = ? "
                "WHERE id = ? AND status IN ('receiving', 'queued', 'running')",
                (status, error, kind, time.time(), job_id),
            )

    def delete(self, job_id: str) -> None:
        """Forget a job's record (its folder is the caller's)."""
        with self._connect() as db:
            db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))

    def mark_interrupted(self) -> int:
        """Jobs left running (or queued) by a server that stopped: `interrupted`. How many."""
        with self._connect() as db:
            cursor = db.execute(
                "UPDATE jobs SET status = 'interrupted', finished = ?, "
                "error = 'the server stopped while this job was waiting or running; submit it "
                "again' WHERE status IN ('receiving', 'queued', 'running')",
                (time.time(),),
            )
            return cursor.rowcount

    def remove_older_than(self, seconds: float) -> list[str]:
        """Delete finished jobs (records and folders) that ended more than `seconds` ago."""
        import shutil

        cutoff = time.time() - seconds
        with self._connect() as db:
            rows = db.execute(
                "SELECT id FROM jobs WHERE finished IS NOT NULL AND finished < ?", (cutoff,)
            ).fetchall()
            ids = [row["id"] for row in rows]
            db.executemany("DELETE FROM jobs WHERE id = ?", [(i,) for i in ids])
        for job_id in ids:
            shutil.rmtree(self.folder(job_id), ignore_errors=True)
        return ids


def _job(row: sqlite3.Row) -> Job:
    return Job(
        id=row["id"], mode=row["mode"], params=json.loads(row["params"]),
        inputs=json.loads(row["inputs"]), status=row["status"], progress=row["progress"],
        stage=row["stage"], error=row["error"], created=row["created"], started=row["started"],
        finished=row["finished"], rerun=row["rerun"] or None, error_kind=row["error_kind"],
    )  # fmt: skip
