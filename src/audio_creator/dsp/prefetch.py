"""Overlapping the next piece of work with the current one, on a helper thread."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def prefetched(work: Callable[[int, int], T], spans: Sequence[tuple[int, int]]) -> Iterator[T]:
    """`work(*span)` for every span in order, each computed on a helper thread while the caller
    handles the one before: rendering (NumPy, GIL released) overlaps the caller's filtering and
    oversampling, which would otherwise leave a core idle."""
    if not spans:
        return
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(work, *spans[0])
        for following in [*spans[1:], None]:
            result = pending.result()
            if following is not None:
                pending = pool.submit(work, *following)
            yield result
