"""A registry of lazy factories, shared by every room with interchangeable backends (music
generators, speech engines, …): names → (factory, what-is-missing check), filled on first use.

A factory is called only when its backend is chosen, so heavy imports stay inside it; the check
says, without loading anything heavy, what the backend lacks here (a package, weights, a key).
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from audio_creator.errors import BackendUnavailable, ConfigError

T = TypeVar("T")
Missing = Callable[[], str | None]


class Registry(Generic[T]):
    """Named lazy factories of one kind of backend."""

    def __init__(self, kind: str, builtins: Callable[[Registry[T]], None]) -> None:
        """`kind` names the backends in messages ("music backend"); `builtins(registry)`
        registers the project's own, once, the first time the registry is used."""
        self.kind = kind
        self._builtins = builtins
        self._entries: dict[str, tuple[Callable[..., T], Missing]] = {}
        self._lock = threading.Lock()
        self._filled = False

    def register(self, name: str, factory: Callable[..., T], missing: Missing) -> None:
        """Add a backend; a name may be registered once, and "auto" is reserved."""
        if name in self._entries or name == "auto":
            raise ConfigError(f"a {self.kind} called {name!r} is already registered")
        self._entries[name] = (factory, missing)

    def names(self) -> list[str]:
        """Every registered name, sorted."""
        self._fill()
        return sorted(self._entries)

    def missing(self, name: str) -> str | None:
        """What backend `name` lacks here, or None if it can run (ConfigError if unknown)."""
        return self._entry(name)[1]()

    def available(self) -> dict[str, str | None]:
        """Every backend → None if it can run here, else what it lacks."""
        self._fill()
        return {name: missing() for name, (_, missing) in self._entries.items()}

    def create(self, name: str, **options: Any) -> T:
        """The backend called `name`, made with `options`.

        Raises:
            ConfigError: no backend has that name.
            BackendUnavailable: it lacks a package, weights or a key (the message says which).
        """
        factory, missing = self._entry(name)
        lack = missing()
        if lack is not None:
            raise BackendUnavailable(f"{self.kind} {name!r} cannot run here: {lack}")
        return factory(**options)

    def _entry(self, name: str) -> tuple[Callable[..., T], Missing]:
        self._fill()
        if name not in self._entries:
            raise ConfigError(
                f"unknown {self.kind} {name!r}; available: auto, {', '.join(self.names())}"
            )
        return self._entries[name]

    def _fill(self) -> None:
        with self._lock:  # two threads asking at once must not register twice
            if not self._filled:
                self._filled = True
                self._builtins(self)


def needs_module(module: str, message: str) -> Missing:
    """A what-is-missing check for a backend whose only requirement is an importable `module`:
    `message` (what to install) when it is absent, else None. Nothing is imported."""

    def missing() -> str | None:
        return message if importlib.util.find_spec(module) is None else None

    return missing
