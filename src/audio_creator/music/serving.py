"""A neural music model served to many jobs at once: loaded once, its requests batched.

A batch of rows on a GPU should not load MusicGen or VidMuse once per row, nor run them one row
at a time: the decoder's cost is in reading its weights, so a batch of rows costs little more
than one. `MusicServer` holds the backends (one per model, adapter and device, loaded on first
use) and answers `generate` calls from many threads; a `MicroBatcher` gathers the calls that
arrive together (within `linger_s` of the first, at most `max_batch`) and that can share a
batch (the backend's `batch_key`), and runs them as one `generate_batch`.

On a Ray cluster the batch engine makes one `MusicServer` actor per GPU and hands each row's job
a `ServedBackend` in place of the backend it asked for (`music.backend.serve_neural`); the
music crosses as a file in the job's own folder, not through the object store.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from audio_creator.music.backend import GeneratedMusic, MusicRequest, Progress

logger = logging.getLogger(__name__)

MAX_BATCH = 8  # rows in one batch (candidates count one each)
LINGER_S = 0.5  # how long a first request waits for others to join its batch


@dataclass
class _Slot:
    key: Hashable
    item: Any
    done: threading.Event = field(default_factory=threading.Event)
    result: Any = None
    error: BaseException | None = None


class MicroBatcher:
    """Calls from many threads, answered in batches by one worker thread.

    `run(key, items)` answers a batch of items that share `key`, in order. A batch starts
    `linger_s` after its first item arrived, or at once when `max_batch` items of its key wait;
    items that arrive while a batch runs wait for the next one. An error in a batch is raised to
    each caller whose item was in it.
    """

    def __init__(
        self,
        run: Callable[[Hashable, list[Any]], Sequence[Any]],
        max_batch: int = MAX_BATCH,
        linger_s: float = LINGER_S,
    ) -> None:
        self._run, self.max_batch, self.linger_s = run, max(1, max_batch), max(0.0, linger_s)
        self._waiting: list[tuple[float, _Slot]] = []  # (arrival, slot), oldest first
        self._wake = threading.Condition()
        self._worker = threading.Thread(target=self._serve, name="music-batches", daemon=True)
        self._worker.start()
        self.batches: list[int] = []  # the size of each batch run so far

    def submit(self, key: Hashable, items: Sequence[Any]) -> list[Any]:
        """The answers to `items` (all of one key), once their batches have run."""
        slots = [_Slot(key, item) for item in items]
        with self._wake:
            now = time.monotonic()
            self._waiting.extend((now, slot) for slot in slots)
            self._wake.notify_all()
        for slot in slots:
            slot.done.wait()
            if slot.error is not None:
                raise slot.error
        return [slot.result for slot in slots]

    def _next_batch(self) -> list[_Slot]:
        """Wait for the oldest item's batch to be due; take it (called with the lock held)."""
        while True:
            while not self._waiting:
                self._wake.wait()
            first_arrival, first = self._waiting[0]
            same = [slot for _, slot in self._waiting if slot.key == first.key]
            due = first_arrival + self.linger_s - time.monotonic()
            if len(same) >= self.max_batch or due <= 0:
                batch = same[: self.max_batch]
                taken = {id(slot) for slot in batch}
                self._waiting = [(t, s) for t, s in self._waiting if id(s) not in taken]
                return batch
            self._wake.wait(due)

    def _serve(self) -> None:
        while True:
            with self._wake:
                batch = self._next_batch()
            self.batches.append(len(batch))
            try:
                results = list(self._run(batch[0].key, [slot.item for slot in batch]))
                if len(results) != len(batch):
                    raise RuntimeError(f"a batch of {len(batch)} gave {len(results)} answers")
            except BaseException as exc:  # every caller of the batch hears of it
                for slot in batch:
                    slot.error = exc
                    slot.done.set()
                continue
            for slot, result in zip(batch, results, strict=True):
                slot.result = result
                slot.done.set()


class MusicServer:
    """Neural music backends, each loaded once, answering requests in batches."""

    def __init__(self, max_batch: int = MAX_BATCH, linger_s: float = LINGER_S) -> None:
        self._backends: dict[Hashable, Any] = {}
        self._lock = threading.Lock()
        self._batcher = MicroBatcher(self._run, max_batch, linger_s)
        self.loads = 0  # backends created (each loads its model on its first batch)

    def generate(
        self, name: str, options: dict[str, Any], request: MusicRequest, count: int = 1
    ) -> list[GeneratedMusic]:
        """`count` pieces for `request` (its variation and the `count` − 1 after it), from
        backend `name` made with `options`; when the request has a `spill_dir`, each piece is
        written there (a float32 WAV) and returned as that file."""
        backend_key = (name, tuple(sorted((k, str(v)) for k, v in options.items())))
        backend = self._backend(backend_key, name, options)
        requests = [replace(request, variation=request.variation + i) for i in range(count)]
        key = (backend_key, backend.batch_key(request))
        # each request carries its backend: one evicted for another model meanwhile still runs
        made: list[GeneratedMusic] = self._batcher.submit(key, [(backend, r) for r in requests])
        return [self._delivered(piece, request) for piece in made]

    def stats(self) -> dict[str, Any]:
        return {"model_loads": self.loads, "batches": list(self._batcher.batches)}

    def _backend(self, key: Hashable, name: str, options: dict[str, Any]) -> Any:
        from audio_creator.music.backend import BACKENDS

        with self._lock:
            if key not in self._backends:
                self._backends.clear()  # one model on the device at a time
                self._backends[key] = BACKENDS.create(name, **options)
                self.loads += 1
            return self._backends[key]

    def _run(self, key: Hashable, items: list[tuple[Any, MusicRequest]]) -> list[GeneratedMusic]:
        backend = items[0][0]
        requests = [request for _, request in items]
        started = time.perf_counter()
        made = backend.generate_batch(requests)
        logger.info("music: a batch of %d in %.1f s", len(requests), time.perf_counter() - started)
        served = {"batch_rows": len(requests), "model_loads": self.loads}
        return [replace(piece, summary={**piece.summary, **served}) for piece in made]

    @staticmethod
    def _delivered(piece: GeneratedMusic, request: MusicRequest) -> GeneratedMusic:
        from audio_creator.audio import Audio, save
        from audio_creator.audio_source import file_source

        if request.spill_dir is None or not isinstance(piece.audio, Audio):
            return piece
        handle, name = tempfile.mkstemp(dir=request.spill_dir, prefix="served-", suffix=".wav")
        os.close(handle)
        path = save(piece.audio, name, bit_depth=32)
        return replace(piece, audio=file_source(path))


class ServedBackend:
    """A job's music backend whose model runs elsewhere: `generate` and `generate_many` are
    calls to a `MusicServer` (`call(name, options, request, count)`)."""

    def __init__(
        self,
        name: str,
        options: dict[str, Any],
        call: Callable[[str, dict[str, Any], MusicRequest, int], list[GeneratedMusic]],
    ) -> None:
        self.name, self._options, self._call = name, options, call

    def generate(self, request: MusicRequest, progress: Progress | None = None) -> GeneratedMusic:
        return self._call(self.name, self._options, request, 1)[0]

    def generate_many(
        self, request: MusicRequest, count: int, progress: Progress | None = None
    ) -> list[GeneratedMusic]:
        return self._call(self.name, self._options, request, count)
