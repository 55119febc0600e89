"""The shared registry of lazy backend factories."""

from __future__ import annotations

import threading

import pytest

from audio_creator.errors import BackendUnavailable, ConfigError
from audio_creator.registry import Registry


def make() -> tuple[Registry[str], list[str]]:
    made: list[str] = []
    fills: list[int] = []

    def builtins(registry: Registry[str]) -> None:
        fills.append(1)
        registry.register("ready", lambda **kw: made.append("ready") or f"ready{kw}", lambda: None)
        registry.register("lacking", lambda **kw: "never", lambda: "pip install something")

    registry = Registry("test backend", builtins)
    registry.fills = fills  # type: ignore[attr-defined]
    return registry, made


def test_factories_run_only_when_chosen() -> None:
    registry, made = make()
    assert registry.available() == {"ready": None, "lacking": "pip install something"}
    assert made == []
    assert registry.create("ready", x=1) == "ready{'x': 1}"
    assert made == ["ready"]


def test_unknown_duplicate_and_lacking_backends_are_refused() -> None:
    registry, _ = make()
    with pytest.raises(ConfigError, match="unknown test backend 'other'; available: auto, lacking"):
        registry.create("other")
    with pytest.raises(ConfigError, match="already registered"):
        registry.register("ready", lambda: "x", lambda: None)
    with pytest.raises(ConfigError, match="already registered"):
        registry.register("auto", lambda: "x", lambda: None)
    with pytest.raises(BackendUnavailable, match="'lacking' cannot run here: pip install"):
        registry.create("lacking")


def test_builtins_are_registered_once_under_concurrency() -> None:
    registry, _ = make()
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def ask() -> None:
        barrier.wait()
        try:
            registry.available()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and registry.fills == [1]  # type: ignore[attr-defined]
