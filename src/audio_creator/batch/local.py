"""The local engine: each row in a process of its own, `workers` at a time, so that a crash or an
out-of-memory kill ends one row, not the batch. On Linux the worker is forked from this process
(the project's modules are imported once, here, before the first fork); elsewhere it is spawned.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

_GRACE_S = 5.0  # a worker told to stop gets this long before it is killed


@dataclass
class Task:
    """One run of one row: the job's options (outputs placed in `staging`), and its inputs."""

    row_id: str
    mode: str
    values: dict[str, Any]
    staging: Path
    inputs: list[Path]
    known: list[dict[str, Any]] = field(default_factory=list)  # the inputs' recorded facts
    attempt: int = 1
    cores: int = 0  # the cores its job may keep busy (0: the machine's; see `cores`)


@dataclass
class Finished:
    """How a task ended: "done", "failed" (the job refused or raised) or "died" (its process
    ended without a word: killed, out of memory, a crash)."""

    task: Task
    status: str
    seconds: float
    outputs: list[str] = field(default_factory=list)  # file names in the staging folder
    figures: dict[str, Any] = field(default_factory=dict)
    inputs: list[dict[str, Any]] = field(default_factory=list)  # facts, for the record
    kind: str = ""
    message: str = ""
    attempt: int = 0  # which attempt this was (0: not known)
    peak_rss_mb: float = 0.0  # the worker process's peak resident memory so far


@dataclass
class _Running:
    task: Task
    process: Any
    conn: Any
    started: float


class LocalEngine:
    """Runs tasks in worker processes, `workers` at a time."""

    name = "local"
    retries_itself = False  # a dead worker's task comes back to the batch, which may retry it

    def __init__(self, workers: int | None = None) -> None:
        self.workers = max(1, workers or os.cpu_count() or 1)
        self._running: dict[int, _Running] = {}
        self._context = _context()
        _preload()

    def has_room(self) -> bool:
        return len(self._running) < self.workers

    def busy(self) -> bool:
        return bool(self._running)

    def submit(self, task: Task) -> None:
        if self.workers > 1:  # jobs side by side share the cores out
            task.cores = max(1, (os.cpu_count() or 1) // self.workers)
        receive, send = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=work, args=(task, send), name=f"batch-{task.row_id}", daemon=False
        )
        process.start()
        send.close()  # the worker holds the only writing end: its death closes the pipe
        self._running[process.sentinel] = _Running(task, process, receive, time.perf_counter())

    def wait(self, timeout: float = 1.0) -> list[Finished]:
        """The tasks that ended within `timeout` seconds (none if none did)."""
        if not self._running:
            return []
        ready = multiprocessing.connection.wait(list(self._running), timeout)
        done = []
        for sentinel in ready:
            running = self._running.pop(sentinel)  # type: ignore[arg-type]
            message = None
            try:
                if running.conn.poll():
                    message = running.conn.recv()
            except (EOFError, OSError):
                message = None
            running.process.join()
            running.conn.close()
            seconds = time.perf_counter() - running.started
            if message is None:
                code = running.process.exitcode
                why = f"signal {-code}" if code is not None and code < 0 else f"exit {code}"
                done.append(Finished(running.task, "died", seconds, kind="died",
                                     message=f"its worker process died ({why})"))  # fmt: skip
            else:
                done.append(Finished(running.task, seconds=seconds, **message))
        return done

    def close(self) -> None:
        """Stop every worker still running: SIGTERM (each cleans up as on Ctrl-C), then SIGKILL
        for any still there after a grace period."""
        for running in self._running.values():
            if running.process.is_alive():
                running.process.terminate()
        deadline = time.monotonic() + _GRACE_S
        for running in self._running.values():
            running.process.join(max(0.0, deadline - time.monotonic()))
            if running.process.is_alive():
                running.process.kill()
                running.process.join()
            running.conn.close()
        self._running.clear()


def work(task: Task, conn: Any) -> None:
    """A local worker: run the task, and send back how it went (one message)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the batch's to handle
    message = run_task(task)
    conn.send(message)
    conn.close()


ATTEMPT_FILE = ".attempt"  # in a staging folder: "<attempt> <pid>" of the run at work there


def run_task(task: Task) -> dict[str, Any]:
    """Run a task's job in its staging folder (emptied first: an attempt that died may have left
    pieces there) and say how it went, as `Finished`'s fields. Its log goes to the folder's
    `batch.log`."""
    import shutil

    from audio_creator.batch.record import file_facts
    from audio_creator.cores import ENVIRONMENT
    from audio_creator.errors import AudioCreatorError
    from audio_creator.interrupts import stopping_signals
    from audio_creator.jobs import options_of
    from audio_creator.jobs import run as run_job

    attempt = task.attempt
    marker = task.staging / ATTEMPT_FILE
    with contextlib.suppress(OSError, ValueError):
        attempt = max(attempt, int(marker.read_text().split()[0]) + 1)  # a retry by the engine
    for leftover in task.staging.iterdir():
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
    marker.write_text(f"{attempt} {os.getpid()}\n")
    if task.cores:
        os.environ[ENVIRONMENT] = str(task.cores)
    _log_to(task.staging / "batch.log")
    started = time.perf_counter()
    try:
        with stopping_signals():
            facts = [file_facts(p, k) for p, k in zip(task.inputs, _padded(task), strict=True)]
            result = run_job(options_of(task.mode, task.values))
        marker.unlink(missing_ok=True)
        outputs = sorted(p.name for p in task.staging.iterdir() if p.is_file())
        message: dict[str, Any] = {"status": "done", "outputs": outputs, "inputs": facts,
                                   "figures": figures(result.report)}  # fmt: skip
    except AudioCreatorError as exc:
        message = {"status": "failed", "kind": exc.kind, "message": str(exc)}
    except FileNotFoundError as exc:
        message = {"status": "failed", "kind": "media", "message": f"no such file: {exc.filename}"}
    except KeyboardInterrupt:
        message = {"status": "failed", "kind": "cancelled", "message": "stopped"}
    except Exception as exc:  # a bug: the row fails with it, the batch goes on
        logging.getLogger(__name__).exception("internal error")
        message = {"status": "failed", "kind": "error", "message": f"internal error: {exc!r}"}
    logging.getLogger(__name__).info(
        "%s in %.1f s", message["status"], time.perf_counter() - started
    )
    message["attempt"] = attempt
    message["peak_rss_mb"] = _peak_rss_mb()
    _stop_logging()
    return message


def _peak_rss_mb() -> float:
    """This process's peak resident memory so far (a Ray worker runs many rows: it would grow)."""
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return round(peak / (1 << 20 if sys.platform == "darwin" else 1 << 10), 1)


def _padded(task: Task) -> list[dict[str, Any] | None]:
    known: list[dict[str, Any] | None] = list(task.known)
    return (known + [None] * len(task.inputs))[: len(task.inputs)]


FIGURES = ("integrated_lufs", "true_peak_dbtp", "loudness_lufs", "cuts_on_beat", "tempo_bpm",
           "duration_s", "style", "batch_rows", "model_loads")  # fmt: skip


def figures(report: dict[str, Any]) -> dict[str, Any]:
    """A few headline figures of a job's report (its mix's loudness, its music's fit to the
    cuts…), found at the top or one or two levels down, named by where they were."""
    found: dict[str, Any] = {}

    def walk(node: Any, prefix: str, depth: int) -> None:
        if not isinstance(node, dict) or depth > 2:
            return
        for key, value in node.items():
            if key in FIGURES and isinstance(value, (int, float, str)) and value is not None:
                found.setdefault(f"{prefix}{key}", value)
            elif isinstance(value, dict):
                walk(value, f"{prefix}{key}.", depth + 1)

    walk(report, "", 0)
    return found


def _stop_logging() -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()


def _log_to(path: Path) -> None:
    """The worker's log goes to the row's own file, not to the batch's terminal."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def _context() -> Any:
    """Fork where that is safe (Linux, no other thread in this process), else spawn."""
    if sys.platform == "linux" and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _preload() -> None:
    """Import what every job needs once, here, so that forked workers start with it."""
    import contextlib
    import importlib

    with contextlib.suppress(ImportError):
        import matplotlib

        matplotlib.use("Agg")  # what the timeline picture draws with: files only
    for name in ("numpy", "scipy.signal", "soundfile", "av", "audio_creator.jobs.pipeline",
                 "audio_creator.jobs.music_for_video", "audio_creator.mix.mixer",
                 "audio_creator.music.procedural", "audio_creator.analysis.video",
                 "matplotlib.pyplot", "onnxruntime"):  # fmt: skip
        with contextlib.suppress(ImportError):  # a worker imports what it needs anyway
            importlib.import_module(name)
