"""The Ray engine: one Ray task per row, each declaring the CPU it needs, on a cluster
(`--ray-address HOST:PORT` or `auto`) or on a Ray started for the run on this machine.

Only paths and options cross the object store: every node reads its row's inputs and writes its
outputs in a folder all of them reach (a shared file system). A task whose worker dies (killed,
out of memory, a lost node) is retried by Ray, up to `retries` times, in the same staging folder,
which each attempt empties first; a row whose job fails is not retried (it would fail again).
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from audio_creator.batch.local import Finished, Task, run_task
from audio_creator.errors import BackendUnavailable

logger = logging.getLogger(__name__)

INSTALL = "pip install 'audio-creator[cluster]'"
# A Ray worker runs row after row in one process, and its memory creeps up with them (measured:
# a vidmuse row's worker peaks at 235 MB on its first row and 295 MB by its sixth); Ray starts a
# fresh worker after this many rows, so that no worker grows past what a few rows need.
ROWS_PER_WORKER = 4


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise BackendUnavailable(f"--engine ray needs Ray: {INSTALL}") from None
    return ray


class RayEngine:
    """Runs tasks as Ray tasks; at most about one per CPU of the cluster is in flight."""

    name = "ray"
    retries_itself = True  # a dead worker's task comes back to us only when its retries are spent

    def __init__(self, address: str | None, workers: int | None, retries: int) -> None:
        if address is None:  # read when Ray is imported: a Ray of our own stays on loopback,
            os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # and keeps quiet
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        ray = _ray()
        self._ray = ray
        self._started_here = not ray.is_initialized()
        if self._started_here:
            if address is None:  # a Ray of our own, on this machine, reachable only from it
                ray.init(num_cpus=workers or os.cpu_count() or 1, include_dashboard=False,
                         logging_level=logging.WARNING, _node_ip_address="127.0.0.1")  # fmt: skip
            else:
                try:
                    ray.init(address=address, logging_level=logging.WARNING)
                except (ConnectionError, ValueError, RuntimeError) as exc:
                    raise BackendUnavailable(f"no Ray cluster at {address}: {exc}") from None
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.workers = workers or cpus
        self._remote = ray.remote(num_cpus=1, max_retries=retries, max_calls=ROWS_PER_WORKER)(
            _run_on_ray
        )
        self._running: dict[Any, tuple[Task, float]] = {}

    def has_room(self) -> bool:
        return len(self._running) < self.workers

    def busy(self) -> bool:
        return bool(self._running)

    def submit(self, task: Task) -> None:
        task.cores = 1  # what the task declared
        self._running[self._remote.remote(task)] = (task, time.perf_counter())

    def wait(self, timeout: float = 1.0) -> list[Finished]:
        if not self._running:
            return []
        ray = self._ray
        ready, _ = ray.wait(list(self._running), num_returns=1, timeout=timeout)
        done = []
        for ref in ready:
            task, started = self._running.pop(ref)
            seconds = time.perf_counter() - started
            try:
                message = ray.get(ref)
            except ray.exceptions.RayTaskError as exc:  # our code raised (it should not)
                done.append(Finished(task, "failed", seconds, kind="error", message=str(exc)))
                continue
            except ray.exceptions.RayError as exc:  # the worker or its node died, every retry
                said = f"its Ray worker died on every try ({type(exc).__name__})"
                done.append(Finished(task, "died", seconds, kind="died", message=said))
                continue
            done.append(Finished(task, seconds=seconds, **message))
        return done

    def close(self) -> None:
        for ref in list(self._running):
            try:
                self._ray.cancel(ref, force=True)
            except Exception as exc:  # already finished, or its node is gone
                logger.debug("could not cancel a task: %s", exc)
        self._running.clear()
        if self._started_here:
            self._ray.shutdown()


def _run_on_ray(task: Task) -> dict[str, Any]:
    """A Ray task: run the row's job in its staging folder (see `local.run_task`)."""
    return run_task(task)
