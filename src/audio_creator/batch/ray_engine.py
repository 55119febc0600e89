"""The Ray engine: one Ray task per row, each declaring the CPU it needs, on a cluster
(`--ray-address HOST:PORT` or `auto`) or on a Ray started for the run on this machine.

Only paths and options cross the object store: every node reads its row's inputs and writes its
outputs in a folder all of them reach (a shared file system). A task whose worker dies (killed,
out of memory, a lost node) is retried by Ray, up to `retries` times, in the same staging folder,
which each attempt empties first; a row whose job fails is not retried (it would fail again).

Rows that make music with a neural backend (MusicGen, VidMuse) do not each load the model: the
engine starts one `music.serving.MusicServer` actor per GPU of the cluster (one on the CPU when
it has none), which holds the model and batches the rows' requests that arrive together; each
row's task asks one of them (`music.backend.serve_neural`) and gets its music back as a file.
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
        self._servers: list[Any] | None = None  # music servers, made for the first neural row

    def has_room(self) -> bool:
        return len(self._running) < self.workers

    def busy(self) -> bool:
        return bool(self._running)

    def submit(self, task: Task) -> None:
        task.cores = 1  # what the task declared
        servers = self._music_servers() if uses_neural_music(task) else []
        self._running[self._remote.remote(task, servers)] = (task, time.perf_counter())

    def _music_servers(self) -> list[Any]:
        """One music server per GPU (each declaring it), or one on the CPU."""
        if self._servers is None:
            from audio_creator.music.serving import LINGER_S, MAX_BATCH, MusicServer

            gpus = int(self._ray.cluster_resources().get("GPU", 0))
            batch = int(os.environ.get("AUDIO_CREATOR_MUSIC_BATCH", MAX_BATCH))
            linger = float(os.environ.get("AUDIO_CREATOR_MUSIC_LINGER_S", LINGER_S))
            actor = self._ray.remote(num_cpus=0, num_gpus=1 if gpus else 0, max_concurrency=64)(
                MusicServer
            )
            self._servers = [actor.remote(batch, linger) for _ in range(max(1, gpus))]
            logger.info("music: %d server(s) for the neural rows, on %s",
                        len(self._servers), "GPUs" if gpus else "the CPU")  # fmt: skip
        return self._servers

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
        for server in self._servers or []:
            self._ray.kill(server)
        self._servers = None
        if self._started_here:
            self._ray.shutdown()


def _run_on_ray(task: Task, servers: list[Any]) -> dict[str, Any]:
    """A Ray task: run the row's job in its staging folder (see `local.run_task`), its neural
    music made by one of the music `servers` (the same one for the same row)."""
    if not servers:
        return run_task(task)
    import zlib

    import ray

    from audio_creator.music.backend import serve_neural
    from audio_creator.music.serving import ServedBackend

    server = servers[zlib.crc32(task.row_id.encode()) % len(servers)]

    def call(name: str, options: dict[str, Any], request: Any, count: int) -> Any:
        return ray.get(server.generate.remote(name, options, request, count))

    with serve_neural(lambda name, options: ServedBackend(name, options, call)):
        return run_task(task)


MUSIC_MODES = ("vidmuse", "autopipeline", "wavjourney")


def uses_neural_music(task: Task) -> bool:
    """Whether the row's job would make its music with a neural backend (`auto` as it resolves
    here; an adapter names its own backend)."""
    from audio_creator.music.backend import AUTO_ORDER, NEURAL, ready_for_auto

    if task.mode not in MUSIC_MODES:
        return False
    name = str(task.values.get("backend") or "auto")
    lora = task.values.get("lora")
    if name == "auto" and lora:
        from audio_creator.music import lora as adapters

        try:
            name = adapters.kind_of(lora)
        except Exception:  # the row's own job says what is wrong with its adapter
            return False
    if name == "auto":
        name = next((n for n in AUTO_ORDER if ready_for_auto(n) is None), AUTO_ORDER[-1])
    return name in NEURAL
