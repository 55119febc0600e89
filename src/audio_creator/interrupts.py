"""Stopping a command from outside: SIGTERM (`kill`, `timeout`, a web job cancelled) and SIGHUP
(a closed terminal) end it as Ctrl-C does, through the code's own clean-up (staged outputs and
temporary files are removed), instead of killing it where it stands."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where the command is, so that it stops as on Ctrl-C: every
    staged or temporary file is removed on the way out."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def stopping_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP as `Terminated` while a command runs (main thread only: the only one
    Python delivers signals to), the previous handlers back afterwards."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, _frame: object) -> None:
        raise Terminated(signum)

    wanted = [getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)]
    before = {signum: signal.signal(signum, stop) for signum in wanted}
    try:
        yield
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)
