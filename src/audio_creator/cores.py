"""How many cores a job keeps busy: the machine's, unless a batch shares them out among jobs
running side by side (it sets AUDIO_CREATOR_CORES in each worker). A job alone uses threads
that overlap its waits (frame-threaded decoding, parallel encoders); jobs side by side already
fill the cores, and the same threads would only cost switching."""

from __future__ import annotations

import os

ENVIRONMENT = "AUDIO_CREATOR_CORES"


def cores() -> int:
    """The cores this job may keep busy (at least 1)."""
    shared = os.environ.get(ENVIRONMENT, "")
    if shared.isdigit() and int(shared) > 0:
        return int(shared)
    return os.cpu_count() or 1


def alone() -> bool:
    """Whether this job has the machine to itself (no batch shares it out)."""
    return not os.environ.get(ENVIRONMENT, "").isdigit()
