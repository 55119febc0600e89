"""Jobs: a queue with a limit, a bounded set of worker processes, cancel, restart-safety.

Each job runs the job function the CLI runs (`audio_creator.jobs`), in a process of its own, so
a job that crashes or runs out of memory ends alone: the server goes on. The worker hands the
job a progress callback that writes to the store, and its log goes to the job's `log.txt`; a
failure reaches the job's record as the exception's message and kind. The manager starts queued
jobs while there is a free slot, notices processes that die, and on start marks the jobs a
stopped server left behind as `interrupted`.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Sequence
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from audio_creator.web.store import JobStore

logger = logging.getLogger(__name__)


class QueueFull(Exception):
    """The queue holds as many jobs as it may."""


class JobManager:
    """Runs the jobs of `store`, at most `workers` at a time, with at most `queue_limit` waiting."""

    def __init__(
        self,
        store: JobStore,
        *,
        workers: int = 2,
        queue_limit: int = 50,
        retention_s: float = 7 * 24 * 3600,
    ) -> None:
        self.store = store
        self.workers = max(1, workers)
        self.queue_limit = queue_limit
        self.retention_s = retention_s
        self._running: dict[str, BaseProcess] = {}
        self._secrets: dict[str, dict[str, str]] = {}  # in memory only, never in the store
        self._options: dict[str, dict[str, Any]] = {}  # the job's options, by job
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._context = multiprocessing.get_context("spawn")

    def start(self) -> None:
        left = self.store.mark_interrupted()
        if left:
            logger.warning("%d job(s) were cut short by the last stop: marked interrupted", left)
        removed = self.store.remove_older_than(self.retention_s)
        if removed:
            logger.info("removed %d job(s) older than the retention", len(removed))
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="job-manager", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop scheduling and end running jobs (they are marked interrupted)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            for job_id, process in self._running.items():
                process.terminate()
                process.join(timeout=5)
                self.store.finish(job_id, "interrupted", "the server stopped during this job")
            self._running.clear()

    def submit(
        self, mode: str, options: dict[str, Any], params: dict[str, Any], inputs: Sequence[str],
        secrets: dict[str, str] | None = None, job_id: str | None = None,
    ) -> str:  # fmt: skip
        """Queue a prepared job (see `web.commands`); its id. QueueFull when the queue is."""
        if self.store.count("queued") >= self.queue_limit:
            raise QueueFull(f"the queue is full ({self.queue_limit} jobs waiting); try later")
        if job_id is None:
            job_id = self.store.create(mode, params, list(inputs), status="receiving").id
        with self._lock:
            self._options[job_id] = options
            self._secrets[job_id] = dict(secrets or {})
        if not self.store.mark_queued(job_id):  # cancelled while it arrived
            with self._lock:
                self._options.pop(job_id, None)
                self._secrets.pop(job_id, None)
        return job_id

    def cancel(self, job_id: str) -> bool:
        """Cancel a queued or running job; False if it had already ended."""
        job = self.store.get(job_id)
        if job is None or job.status not in ("receiving", "queued", "running"):
            return False
        with self._lock:
            process = self._running.pop(job_id, None)
            self._options.pop(job_id, None)
            self._secrets.pop(job_id, None)
        self.store.finish(job_id, "cancelled", "cancelled by request")
        if process is not None:
            process.terminate()
            process.join(timeout=5)
        return True

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._reap()
                self._start_queued()
            except Exception:  # never let the scheduler die; say why and go on
                logger.exception("job manager")
            self._stop.wait(0.1)

    def _reap(self) -> None:
        with self._lock:
            ended = [(i, p) for i, p in self._running.items() if p.exitcode is not None]
            for job_id, _ in ended:
                del self._running[job_id]
        for job_id, process in ended:
            if process.exitcode != 0:  # the worker could not say how it ended: it died
                self.store.finish(
                    job_id, "failed",
                    f"the job's process ended unexpectedly (exit code {process.exitcode})",
                )  # fmt: skip

    def _start_queued(self) -> None:
        while len(self._running) < self.workers:
            job = self.store.next_queued()
            if job is None:
                return
            with self._lock:
                options = self._options.pop(job.id, None)
                secrets = self._secrets.pop(job.id, {})
            if options is None:  # queued by a server that has stopped since
                self.store.finish(job.id, "interrupted", "the server restarted; submit it again")
                continue
            if not self.store.mark_running(job.id):  # cancelled since it was picked
                continue
            process = self._context.Process(
                target=run_job,
                args=(str(self.store.root), job.id, job.mode, options, secrets, os.getpid()),
                name=f"job-{job.id}", daemon=True,
            )  # fmt: skip
            process.start()
            with self._lock:
                self._running[job.id] = process


# Where each stage of a command falls in the job's progress (0–1): a command reports progress
# within a stage; the job's bar spans them all. Stages are matched by how their name starts.
STAGE_SPANS: dict[str, tuple[tuple[str, float, float], ...]] = {
    "autopipeline": (
        ("analysis", 0.0, 0.32), ("caption", 0.32, 0.34), ("music", 0.34, 0.56),
        ("speech", 0.56, 0.70), ("mix", 0.70, 0.84), ("timeline", 0.84, 0.86), ("mux", 0.86, 1.0),
    ),
    # procedural: a "composing" step per candidate; neural: "sampling" through the batch
    "vidmuse": (("analysing", 0.0, 0.45), ("composing", 0.45, 0.95), ("sampling", 0.45, 0.95)),
    "wavjourney": (("analysing", 0.0, 0.3), ("rendering", 0.3, 0.95)),
    "tts": (("speaking", 0.0, 0.95),),
    "mix": (("measuring", 0.0, 0.45), ("rendering", 0.45, 0.95)),
}  # fmt: skip


class _StoreProgress:
    """A job's progress, written to the store at most every 1 % or on a new stage. The bar only
    moves forward: stages that overlap (the timeline is drawn while the video is muxed) or
    start over (several music candidates) do not pull it back."""

    def __init__(self, store: JobStore, job_id: str, mode: str) -> None:
        self._store, self._id = store, job_id
        self._spans = STAGE_SPANS.get(mode, ())
        self._overall = 0.0
        self._last = (-1.0, "")

    def __call__(self, fraction: float, stage: str) -> None:
        span = next((s for s in self._spans if stage.startswith(s[0])), None)
        if span is not None:
            _, start, end = span
            within = min(1.0, max(0.0, fraction))
            self._overall = max(self._overall, start + (end - start) * within)
        value = round(self._overall, 2)
        if (value, stage) != self._last:
            self._last = (value, stage)
            self._store.report(self._id, value, stage)


def run_job(
    root: str,
    job_id: str,
    mode: str,
    options: dict[str, Any],
    secrets: dict[str, str],
    server_pid: int,
) -> None:
    """The worker process: run the job `mode` with `options` (and the secrets it takes), its log
    in the job's folder, its progress in the store, its end (and how it failed) in the record."""
    _end_with_the_server(server_pid)
    store = JobStore(root)
    log = open(Path(root) / job_id / "log.txt", "a", buffering=1, encoding="utf-8")  # noqa: SIM115
    os.dup2(log.fileno(), 1)  # what native code prints goes there too
    os.dup2(log.fileno(), 2)
    sys.stdout = sys.stderr = log
    from audio_creator import jobs
    from audio_creator.errors import AudioCreatorError
    from audio_creator.interrupts import Terminated, stopping_signals
    from audio_creator.log import configure_logging

    configure_logging("INFO")
    bar = _StoreProgress(store, job_id, mode)
    taken = {f.name for f in jobs.JOBS[mode].fields()}
    try:
        with stopping_signals():  # a cancel (SIGTERM) cleans up as Ctrl-C does
            made = jobs.options_of(mode, options | {k: v for k, v in secrets.items() if k in taken})
            result = jobs.run(made, progress=lambda stage, done: bar(done, stage))
    except AudioCreatorError as exc:
        logger.error("%s", exc)
        store.finish(job_id, "failed", str(exc), kind=exc.kind)
        return
    except Terminated:  # cancelled, or the server stopping: its record says so already
        return
    except BaseException as exc:  # a crash inside the job: fail it, say what it was
        store.finish(job_id, "failed", f"internal error: {exc}", kind="internal")
        raise
    for path in result.outputs.values():
        print(f"wrote {path}")  # as the command line says it, into the job's log
    store.report(job_id, 1.0, "done")
    store.finish(job_id, "done")


def _end_with_the_server(server_pid: int) -> None:
    """End this worker when the server that started it is gone (killed, say), so no orphan goes
    on working for a job the next server will have marked interrupted.

    On Linux the kernel is asked to (PR_SET_PDEATHSIG), whatever the job is busy with; and a
    thread watches for the parent to change, for systems (and sandboxes) where that request is
    not honoured.
    """
    import ctypes
    import ctypes.util
    import signal

    if os.getppid() != server_pid:  # it died while this process was starting
        os._exit(1)
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # 1 = PR_SET_PDEATHSIG

    def watch() -> None:
        while os.getppid() == server_pid:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="server-watch", daemon=True).start()
