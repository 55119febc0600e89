"""Neural music for many jobs at once: rows batched in one model pass (`generate_batch`), the
micro-batcher that gathers them, and the server a batch's rows share (tiny random models)."""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from audio_creator.audio import Audio
from audio_creator.audio_source import AudioFile
from audio_creator.music.backend import MusicRequest, Sampling, create_backend, serve_neural
from audio_creator.music.serving import MicroBatcher, MusicServer, ServedBackend
from helpers import make_video
from tiny_models import save_tiny_musicgen, save_tiny_vidmuse


@pytest.fixture(scope="module")
def musicgen_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_musicgen(tmp_path_factory.mktemp("musicgen") / "tiny")


@pytest.fixture
def exact(monkeypatch: pytest.MonkeyPatch) -> None:
    """The models in float64: a batch's sums then round as a single row's do to 1e-15, so a
    near-tie between two tokens cannot tip differently (in float32, one in a few hundred draws
    can), and a row's music in a batch must be exactly its music alone."""
    import torch

    from audio_creator.music import musicgen
    from audio_creator.music.vidmuse import backend as vidmuse

    for module in (musicgen, vidmuse):
        monkeypatch.setattr(module, "dtype_for", lambda _device: torch.float64)


def samples(piece: Any) -> np.ndarray:
    audio = piece.audio
    return audio.samples if isinstance(audio, Audio) else audio.read(0, audio.frames)


def test_each_row_of_a_musicgen_batch_is_what_it_would_be_alone(
    musicgen_folder: Path, exact: None
) -> None:
    from audio_creator.music.musicgen import MusicGenBackend

    backend = MusicGenBackend(model=musicgen_folder, device="cpu")
    rows = [MusicRequest(2.0, prompt="w1 w2 w3 w4 w5", seed=3, target_lufs=-30.0),
            MusicRequest(2.0, prompt="w9", seed=8, target_lufs=-30.0),
            MusicRequest(1.0, prompt="w9", seed=8, target_lufs=-30.0)]  # fmt: skip
    batched = backend.generate_batch(rows)
    assert [p.audio.frames for p in batched] == [96000, 96000, 48000]
    for row, piece in zip(rows[:2], batched[:2], strict=True):  # texts padded to one length
        np.testing.assert_allclose(samples(piece), samples(backend.generate(row)), atol=1e-4)
    assert not np.allclose(samples(batched[0]), samples(batched[1]), atol=1e-3)
    # the shorter piece: the same tokens, but for the last frames' upper codebooks
    alone = samples(backend.generate(rows[2]))
    assert np.corrcoef(samples(batched[2])[0, :40000], alone[0, :40000])[0, 1] > 0.99
    with pytest.raises(Exception, match="one way of sampling"):
        backend.generate_batch([rows[0], replace(rows[1], sampling=Sampling(top_k=5))])


def test_candidate_i_of_a_batch_is_variation_i_alone(musicgen_folder: Path, exact: None) -> None:
    from audio_creator.music.musicgen import MusicGenBackend

    backend = MusicGenBackend(model=musicgen_folder, device="cpu")
    request = MusicRequest(1.0, prompt="w3 w4", seed=5, target_lufs=-30.0)
    many = backend.generate_many(request, 3)
    for variation, piece in enumerate(many):
        alone = backend.generate(replace(request, variation=variation))
        np.testing.assert_allclose(samples(piece), samples(alone), atol=1e-4)
    assert not np.allclose(samples(many[0]), samples(many[1]), atol=1e-3)


def test_a_vidmuse_batch_of_two_videos_is_each_video_alone(
    tmp_path: Path, sample_videos: dict[str, Path], exact: None
) -> None:
    from audio_creator.music.vidmuse.backend import VidMuseBackend

    backend = VidMuseBackend(model=save_tiny_vidmuse(tmp_path / "vidmuse"), device="cpu")
    other = make_video(tmp_path / "mandel.mp4", source="rgbtestsrc", size="160x120")
    rows = [MusicRequest(2.0, video=sample_videos["mp4"], seed=1, target_lufs=-30.0),
            MusicRequest(2.0, video=other, seed=2, target_lufs=-30.0)]  # fmt: skip
    assert backend.batch_key(rows[0]) == backend.batch_key(rows[1])
    batched = backend.generate_batch(rows)
    for row, piece in zip(rows, batched, strict=True):
        np.testing.assert_allclose(samples(piece), samples(backend.generate(row)), atol=1e-4)
    longer = replace(rows[1], duration_s=1.5)
    assert backend.batch_key(longer) != backend.batch_key(rows[0])  # windows would not line up
    with pytest.raises(Exception, match="one length"):
        backend.generate_batch([rows[0], longer])


def _recording_batcher(
    linger_s: float, max_batch: int, fail: str | None = None
) -> tuple[MicroBatcher, list[tuple[Hashable, list[Any]]]]:
    seen: list[tuple[Hashable, list[Any]]] = []

    def run(key: Hashable, items: list[Any]) -> list[Any]:
        seen.append((key, list(items)))
        if fail is not None and fail in items:
            raise ValueError(f"cannot make {fail}")
        return [f"{key}:{item}" for item in items]

    return MicroBatcher(run, max_batch, linger_s), seen


def _in_threads(batcher: MicroBatcher, calls: list[tuple[str, list[str]]]) -> list[Any]:
    answers: list[Any] = [None] * len(calls)

    def call(index: int, key: str, items: list[str]) -> None:
        try:
            answers[index] = batcher.submit(key, items)
        except Exception as exc:
            answers[index] = exc

    threads = [threading.Thread(target=call, args=(i, *c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
        time.sleep(0.02)
    for thread in threads:
        thread.join(timeout=30)
    return answers


def test_calls_that_arrive_together_share_a_batch_and_each_gets_its_own_answers() -> None:
    batcher, seen = _recording_batcher(linger_s=30.0, max_batch=4)  # full before the linger
    answers = _in_threads(batcher, [("a", ["1", "2"]), ("b", ["x"]), ("a", ["3"]), ("a", ["4"])])
    assert answers[0] == ["a:1", "a:2"] and answers[2] == ["a:3"] and answers[3] == ["a:4"]
    assert seen[0] == ("a", ["1", "2", "3", "4"])  # one batch of 4 rows of key a
    assert answers[1] == ["b:x"] and seen[1] == ("b", ["x"])  # b waited its linger alone
    assert batcher.batches == [4, 1]


def test_a_lone_call_waits_only_its_linger_and_a_failed_batch_fails_its_callers() -> None:
    batcher, _ = _recording_batcher(linger_s=0.2, max_batch=8, fail="bad")
    started = time.monotonic()
    assert batcher.submit("k", ["one"]) == ["k:one"]
    assert time.monotonic() - started < 10
    answers = _in_threads(batcher, [("k", ["good"]), ("k", ["bad"])])
    assert all(isinstance(a, ValueError) for a in answers)  # they shared the failed batch
    assert batcher.submit("k", ["after"]) == ["k:after"]  # the server goes on


def test_the_server_loads_once_batches_its_callers_and_hands_back_files(
    musicgen_folder: Path, tmp_path: Path, exact: None
) -> None:
    server = MusicServer(max_batch=3, linger_s=60.0)
    options = {"model": musicgen_folder, "device": "cpu"}
    first = MusicRequest(1.0, prompt="w1", seed=1, target_lufs=-30.0, spill_dir=tmp_path)
    second = replace(first, prompt="w2 w3", seed=2)
    made: dict[str, list[Any]] = {}
    threads = [
        threading.Thread(target=lambda: made.setdefault("a", server.generate("musicgen", options,
                                                                             first, 2))),
        threading.Thread(target=lambda: made.setdefault("b", server.generate("musicgen", options,
                                                                             second, 1))),
    ]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert server.stats() == {"model_loads": 1, "batches": [3]}
    pieces = [*made["a"], *made["b"]]
    assert all(isinstance(p.audio, AudioFile) and p.audio.path.parent == tmp_path for p in pieces)
    assert all(p.summary["batch_rows"] == 3 and p.summary["model_loads"] == 1 for p in pieces)
    backend = create_backend("musicgen", **options)
    expected = [replace(first, variation=1), second]
    for piece, request in zip(pieces[1:], expected, strict=True):
        np.testing.assert_allclose(samples(piece), samples(backend.generate(request)), atol=1e-4)


def test_a_job_inside_serve_neural_gets_its_music_from_the_server(
    musicgen_folder: Path, sample_videos: dict[str, Path], tmp_path: Path
) -> None:
    from audio_creator import jobs

    server = MusicServer(max_batch=4, linger_s=0.0)
    with serve_neural(lambda name, options: ServedBackend(name, options, server.generate)):
        assert isinstance(create_backend("musicgen", model=musicgen_folder), ServedBackend)
        assert create_backend("procedural").name == "procedural"  # served: neural ones only
        result = jobs.vidmuse(video=sample_videos["mp4"], output=tmp_path / "m.wav",
                              backend="musicgen", music_model=str(musicgen_folder), device="cpu",
                              target_lufs=-30.0, rerank=2)  # fmt: skip
    assert result.report["summary"]["model_loads"] == 1
    assert server.stats()["batches"] == [2]  # both candidates in one pass
    assert (tmp_path / "m.wav").is_file() and not list(tmp_path.glob(".vidmuse.*"))
    assert not isinstance(create_backend("musicgen", model=musicgen_folder), ServedBackend)


def test_a_request_waiting_for_its_batch_survives_another_model_taking_the_server(
    musicgen_folder: Path, tmp_path: Path, exact: None
) -> None:
    """Rows asking for two models at once: the second evicts the first from the server while
    the first's request still waits for its batch; each is made by its own model."""
    other = save_tiny_musicgen(tmp_path / "other", seed=1)
    server = MusicServer(max_batch=4, linger_s=1.0)
    request = MusicRequest(1.0, prompt="w1", seed=1, target_lufs=-30.0)
    made: dict[str, Any] = {}

    def ask(name: str, folder: Path) -> None:
        try:
            made[name] = server.generate("musicgen", {"model": folder, "device": "cpu"},
                                         request)[0]  # fmt: skip
        except Exception as exc:
            made[name] = exc

    threads = [threading.Thread(target=ask, args=("first", musicgen_folder)),
               threading.Thread(target=ask, args=("second", other))]  # fmt: skip
    for thread in threads:
        thread.start()
        time.sleep(0.1)
    for thread in threads:
        thread.join(timeout=120)
    assert server.loads == 2
    for name, folder in (("first", musicgen_folder), ("second", other)):
        alone = create_backend("musicgen", model=folder, device="cpu").generate(request)
        np.testing.assert_allclose(samples(made[name]), samples(alone), atol=1e-4)
