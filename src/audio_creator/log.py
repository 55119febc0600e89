"""How the command line logs: one line per record on standard error, prefixed with the program's
name and the level (`audio-creator: ERROR: …`), which is what every error message looks like."""

from __future__ import annotations

import logging
import sys
from typing import Any


class _CurrentStderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is when a record comes, not what it was when made (an
    embedding program or a test may swap it, and the old one may be closed)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _: Any) -> None:
        pass


def configure_logging(level: str) -> None:
    """Send every record at `level` or above to standard error, one line each."""
    logging.basicConfig(
        level=level, format="audio-creator: %(levelname)s: %(message)s", force=True,
        handlers=[_CurrentStderr()],
    )  # fmt: skip
