"""A batch: one mode's job for every row of a folder or manifest, each row's outputs in a folder
of its own (`OUT/<row id>/`), re-runs cheap, failures kept as data.

rows (`rows`) → each row's options: the batch's defaults, then the row's own → done already
(`record.is_done`)? skipped : run on the engine in a staging folder → published whole with its
record, or failed with its error kind and message → `batch_report.csv` and `.json`, one line per
row.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from audio_creator.batch import record
from audio_creator.batch.local import Finished, LocalEngine, Task
from audio_creator.batch.rows import Row, folder_rows, manifest_rows, place_outputs
from audio_creator.errors import ConfigError
from audio_creator.jobs.options import JOBS

logger = logging.getLogger(__name__)

ENGINES = ("local", "ray")
REPORT_NAMES = ("batch_report.csv", "batch_report.json")
Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class BatchOptions:
    """One batch. Exactly one of `input_dir` and `manifest`."""

    mode: str
    output_dir: Path
    input_dir: Path | None = None
    manifest: Path | None = None
    defaults: dict[str, Any] = field(default_factory=dict)  # options for every row
    workers: int | None = None  # None: one per core
    engine: str = "local"
    force: bool = False  # redo rows that are done
    max_failures: int | None = None  # stop starting rows after this many failed
    retries: int = 2  # of a row whose worker died
    ray_address: str | None = None  # --engine ray: a cluster's address; None: a Ray of our own

    def __post_init__(self) -> None:
        if self.mode not in JOBS:
            raise ConfigError(f"--mode must be one of {', '.join(JOBS)}, got {self.mode!r}")
        if (self.input_dir is None) == (self.manifest is None):
            raise ConfigError("give --input DIR or --manifest FILE (one of them)")
        if self.ray_address is not None and self.engine != "ray":
            raise ConfigError("--ray-address goes with --engine ray")
        if self.engine not in ENGINES:
            raise ConfigError(f"--engine must be one of {', '.join(ENGINES)}, got {self.engine!r}")
        if self.workers is not None and not 1 <= self.workers <= 256:
            raise ConfigError(f"--workers must be 1–256, got {self.workers}")
        if self.max_failures is not None and self.max_failures < 1:
            raise ConfigError(f"--max-failures must be at least 1, got {self.max_failures}")
        if not 0 <= self.retries <= 10:
            raise ConfigError(f"--retries must be 0–10, got {self.retries}")


@dataclass
class RowOutcome:
    """How one row went: "done", "skipped" (done before), "failed" or "not run"."""

    id: str
    source: str
    status: str
    seconds: float = 0.0
    attempts: int = 0
    error_kind: str = ""
    error: str = ""
    outputs: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    peak_rss_mb: float = 0.0  # of the worker that ran it, at its end


@dataclass
class BatchResult:
    rows: list[RowOutcome]
    seconds: float
    reports: list[Path]

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.rows)

    @property
    def exit_code(self) -> int:
        """0 when every row is done (now or before), else 1."""
        return 0 if all(r.status in ("done", "skipped") for r in self.rows) else 1


def run_batch(options: BatchOptions, progress: Progress | None = None) -> BatchResult:
    """Run the batch (see the module docstring); `progress("batch", fraction)` after each row.

    Raises:
        ManifestError: the manifest or folder cannot be used (nothing was run).
        ConfigError: bad batch options, or the output folder is in use by another batch.
    """
    started = time.perf_counter()
    rows = _rows(options)
    out = options.output_dir
    out.mkdir(parents=True, exist_ok=True)
    with _locked(out):
        for leftover in record.clear_leftovers(out):
            logger.info("removed %s, left by an interrupted run", leftover.name)
        outcomes = {row.id: RowOutcome(row.id, row.where, "not run") for row in rows}
        try:
            _run_rows(options, rows, outcomes, progress)
        finally:
            results = list(outcomes.values())
            reports = _write_reports(out, results)
    return BatchResult(results, time.perf_counter() - started, reports)


def _rows(options: BatchOptions) -> list[Row]:
    if options.manifest is not None:
        return manifest_rows(options.manifest, options.mode)
    assert options.input_dir is not None
    return folder_rows(options.input_dir, options.mode)


def _run_rows(
    options: BatchOptions, rows: list[Row], outcomes: dict[str, RowOutcome],
    progress: Progress | None,
) -> None:  # fmt: skip
    from audio_creator import __version__

    out, mode = options.output_dir, options.mode
    inputs = [f.name for f in JOBS[mode].fields() if f.spec.role == "input"]
    queue: deque[Task] = deque()
    identities: dict[str, dict[str, Any]] = {}
    finished = 0
    bar = _Bar(len(rows))

    def settle(outcome: RowOutcome) -> None:
        nonlocal finished
        finished += 1
        bar.row(outcome)
        if progress is not None:
            progress("batch", finished / len(rows))

    for row in rows:
        values = {**options.defaults, **row.values}
        problem = row.problem or _problem(mode, values, out / row.id)
        outcome = outcomes[row.id]
        if problem is not None:
            outcome.status, outcome.error_kind, outcome.error = "failed", "config", problem
            settle(outcome)
            continue
        identity = {"mode": mode, "version": __version__, "options": _identity(mode, values)}
        identities[row.id] = identity
        files = record.input_files(values, inputs)
        if not options.force and record.is_done(out / row.id, identity, files):
            done = record.read_record(out / row.id) or {}
            outcome.status, outcome.outputs = "skipped", list(done.get("outputs", []))
            outcome.figures = dict(done.get("figures", {}))
            settle(outcome)
            continue
        known = (record.read_record(out / row.id) or {}).get("inputs", [])
        queue.append(_task(mode, row.id, values, out, files, known))

    if not queue:  # everything was done already (or refused): no engine to start
        bar.close()
        return
    engine = _engine(options)
    failures = 0
    try:
        while queue or engine.busy():
            stop = options.max_failures is not None and failures >= options.max_failures
            while queue and engine.has_room() and not stop:
                task = queue.popleft()
                outcomes[task.row_id].attempts = task.attempt
                engine.submit(task)
            if stop and not engine.busy():
                break
            for ended in engine.wait():
                retry = _settle(ended, outcomes, identities, options, engine.retries_itself)
                if retry is not None:
                    queue.appendleft(retry)
                    continue
                if outcomes[ended.task.row_id].status == "failed":
                    failures += 1
                settle(outcomes[ended.task.row_id])
        if queue:
            logger.warning("%d failures: the %d rows left were not run (--max-failures)",
                           failures, len(queue))  # fmt: skip
    finally:
        engine.close()
        bar.close()
        record.clear_leftovers(out)


def _engine(options: BatchOptions) -> Any:
    if options.engine == "ray":
        from audio_creator.batch.ray_engine import RayEngine

        return RayEngine(options.ray_address, options.workers, options.retries)
    return LocalEngine(options.workers)


def _task(
    mode: str, row_id: str, values: dict[str, Any], out: Path, files: list[Path],
    known: list[dict[str, Any]], attempt: int = 1,
) -> Task:  # fmt: skip
    staging = record.staging_folder(out, row_id)
    placed = place_outputs(mode, values, staging)
    return Task(row_id, mode, placed, staging, files, known, attempt)


def _settle(
    ended: Finished, outcomes: dict[str, RowOutcome], identities: dict[str, dict[str, Any]],
    options: BatchOptions, retried: bool,
) -> Task | None:  # fmt: skip
    """Record how a task ended (publishing a done row); a task to run again when its worker
    died and it has retries left (unless the engine has `retried` it already)."""
    import shutil

    from audio_creator import __version__

    task, outcome = ended.task, outcomes[ended.task.row_id]
    outcome.seconds += ended.seconds
    outcome.attempts = max(outcome.attempts, ended.attempt, task.attempt)
    outcome.peak_rss_mb = ended.peak_rss_mb
    if ended.status == "done":
        entry = {
            "identity": identities[task.row_id], "inputs": ended.inputs,
            "outputs": ended.outputs, "seconds": round(ended.seconds, 3),
            "figures": ended.figures, "audio_creator": __version__,
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }  # fmt: skip
        record.publish(task.staging, options.output_dir / task.row_id, entry)
        outcome.status, outcome.outputs, outcome.figures = "done", ended.outputs, ended.figures
        outcome.error_kind = outcome.error = ""
        return None
    shutil.rmtree(task.staging, ignore_errors=True)
    if ended.status == "died" and not retried and task.attempt <= options.retries:
        logger.warning("%s: %s; trying again (%d of %d)", task.row_id, ended.message,
                       task.attempt, options.retries)  # fmt: skip
        values = {k: v for k, v in task.values.items()}
        return _task(task.mode, task.row_id, _unplaced(values, task.staging), options.output_dir,
                     task.inputs, task.known, task.attempt + 1)  # fmt: skip
    outcome.status, outcome.error_kind, outcome.error = "failed", ended.kind, ended.message
    return None


def _unplaced(values: dict[str, Any], staging: Path) -> dict[str, Any]:
    """The row's own values back from a task's (outputs in `staging` → switches)."""
    kept: dict[str, Any] = {}
    for name, value in values.items():
        if name == "output":
            continue
        if isinstance(value, Path) and value.parent == staging:
            kept[name] = True
        else:
            kept[name] = value
    return kept


def _problem(mode: str, values: dict[str, Any], folder: Path) -> str | None:
    """Why a row's options cannot run (types, choices, bounds, missing or clashing options)."""
    from audio_creator.jobs import options_of
    from audio_creator.jobs.spec import out_of_bounds

    try:
        problems = out_of_bounds(options_of(mode, place_outputs(mode, values, folder)))
    except ConfigError as exc:
        return str(exc)
    return "; ".join(problems) or None


def _identity(mode: str, values: dict[str, Any]) -> dict[str, Any]:
    """Every option the row's job runs with (a default given or left out is the same), as JSON
    holds it, for the record and its comparison: no output paths (each row has its folder; an
    extra output is on or off) and no secrets."""
    options: dict[str, Any] = {}
    for f in JOBS[mode].fields():
        if f.spec.role in ("output", "secret"):
            continue
        value = values.get(f.name, f.default)
        options[f.name] = bool(value) if f.spec.role == "extra_output" else value
    return json.loads(json.dumps(options, default=str, sort_keys=True))  # type: ignore[no-any-return]


@contextlib.contextmanager
def _locked(out: Path) -> Iterator[None]:
    """One batch at a time in an output folder."""
    import fcntl

    with (out / ".batch.lock").open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise ConfigError(f"another batch is writing into {out}; wait for it to end") from None
        yield


def _write_reports(out: Path, rows: list[RowOutcome]) -> list[Path]:
    """batch_report.csv and .json: one line per row (written whole, then renamed)."""
    from audio_creator.files import atomic_output

    names = sorted({key for r in rows for key in r.figures})
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    head = ["id", "source", "status", "seconds", "attempts", "peak_rss_mb", "error_kind", "error",
            "outputs"]  # fmt: skip
    writer.writerow(head + names)
    for r in rows:
        cells = [r.id, r.source, r.status, f"{r.seconds:.2f}", r.attempts, r.peak_rss_mb,
                 r.error_kind, r.error]  # fmt: skip
        writer.writerow([*cells, ";".join(r.outputs), *(r.figures.get(n, "") for n in names)])
    paths = [out / REPORT_NAMES[0], out / REPORT_NAMES[1]]
    texts = [buffer.getvalue(), json.dumps([asdict(r) for r in rows], indent=2) + "\n"]
    for path, text in zip(paths, texts, strict=True):
        with atomic_output(path) as tmp:
            tmp.write_text(text, encoding="utf-8")
    return paths


class _Bar:
    """Rows done and failed, with an ETA: a bar on a terminal, a log line per row otherwise."""

    def __init__(self, total: int) -> None:
        self.total, self.ended, self.failed = total, 0, 0
        self._bar = None
        if sys.stderr.isatty() and os.environ.get("TERM") != "dumb":
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, unit="row", desc="batch")

    def row(self, outcome: RowOutcome) -> None:
        self.ended += 1
        self.failed += outcome.status == "failed"
        if self._bar is not None:
            self._bar.set_postfix(failed=self.failed)
            self._bar.update(1)
        else:
            detail = f": {outcome.error_kind}: {outcome.error}" if outcome.error else ""
            logger.info("[%d/%d] %s %s%s", self.ended, self.total, outcome.id, outcome.status,
                        detail)  # fmt: skip

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def summary(result: BatchResult) -> str:
    """The batch in a few lines: counts, time and throughput."""
    ran = [r for r in result.rows if r.status == "done"]
    minutes = result.seconds / 60
    lines = [
        f"{'done':<10}{result.count('done'):>6}",
        f"{'skipped':<10}{result.count('skipped'):>6}  (done before)",
        f"{'failed':<10}{result.count('failed'):>6}",
    ]
    if result.count("not run"):
        lines.append(f"{'not run':<10}{result.count('not run'):>6}")
    lines.append(f"{'seconds':<10}{result.seconds:>6.1f}")
    if ran and minutes > 0:
        lines.append(f"{'rows/min':<10}{len(ran) / minutes:>6.2f}")
    for r in result.rows:
        if r.status == "failed":
            lines.append(f"failed {r.id} ({r.source}): {r.error_kind}: {r.error}")
    return "\n".join(lines)
