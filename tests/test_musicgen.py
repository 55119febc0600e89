"""The neural music machinery and the `musicgen` backend, on tiny random models of the real
architecture (no weights are downloaded: see tiny_models.py)."""

from __future__ import annotations

import itertools
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
import torch

from audio_creator import cli
from audio_creator.music.backend import MusicRequest, Sampling
from audio_creator.music.neural import tokens
from audio_creator.music.neural.tokens import Condition, decode, delay, sample_codes, undelay
from tiny_models import BOOKS, CODEBOOK, save_tiny_musicgen, tiny_musicgen


@pytest.fixture(scope="module")
def model() -> Any:
    return tiny_musicgen()


@pytest.fixture
def models_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "models"
    monkeypatch.setenv("AUDIO_CREATOR_MODELS", str(folder))
    return folder


def condition(model: Any, batch: int = 1, seed: int = 0) -> Condition:
    g = torch.Generator().manual_seed(seed)
    memory = torch.randn(batch, 3, model.decoder.config.hidden_size, generator=g)
    return Condition(memory, None, torch.zeros_like(memory), None)


def test_the_delay_pattern_is_musicgens() -> None:
    """Codebook k is delayed by k steps after the start token; the corners are padding."""
    codes = torch.arange(12).view(1, 4, 3)  # frames 0..2 of codebooks 0..3
    P = 99
    expected = torch.tensor(
        [
            [P, 0, 1, 2, P, P, P],
            [P, P, 3, 4, 5, P, P],
            [P, P, P, 6, 7, 8, P],
            [P, P, P, P, 9, 10, 11],
        ]
    )
    assert torch.equal(delay(codes, P)[0], expected)
    assert torch.equal(undelay(delay(codes, P), 3), codes)


def test_a_window_keeps_its_prompt_and_has_the_frames_asked_for(model: Any) -> None:
    prompt = torch.randint(0, CODEBOOK, (1, BOOKS, 7))
    g = torch.Generator().manual_seed(1)
    codes = tokens.sample_window(model.decoder, condition(model), 20, Sampling(), g, prompt)
    assert codes.shape == (1, BOOKS, 20)
    assert torch.equal(codes[..., :7], prompt)
    assert int(codes.min()) >= 0 and int(codes.max()) < CODEBOOK  # no padding left in


def test_same_seed_same_tokens_other_seed_other_tokens(model: Any) -> None:
    def run(seed: int) -> Any:
        g = torch.Generator().manual_seed(seed)
        return tokens.sample_window(model.decoder, condition(model), 15, Sampling(), g)

    assert torch.equal(run(3), run(3))
    assert not torch.equal(run(3), run(4))


class _FixedLogits:
    """A stand-in decoder whose conditional rows always score `cond` and null rows `null`,
    recording each call's batch, so guidance can be checked against a known answer."""

    num_codebooks = 2

    def __init__(self, cond: Any, null: Any) -> None:
        self.config = SimpleNamespace(pad_token_id=5, num_codebooks=2)
        self.cond, self.null = cond, null
        self.calls: list[tuple[int, int, Any]] = []

    def __call__(self, input_ids: Any, encoder_hidden_states: Any, **_: Any) -> Any:
        rows, memory = input_ids.shape[0], encoder_hidden_states
        self.calls.append((rows, memory.shape[0], memory))
        half = memory.shape[0] // 2 if rows == 2 * self.num_codebooks else memory.shape[0]
        parts = [self.cond] * half + [self.null] * (memory.shape[0] - half)
        logits = torch.stack([torch.stack([p] * self.num_codebooks) for p in parts])
        return SimpleNamespace(logits=logits.view(rows, 1, -1), cache=None)

    forward = __call__


def test_guidance_doubles_the_batch_and_mixes_the_logits() -> None:
    """Greedy picks of null + (cond − null) × coef, worked out by hand:
    coef 3 → [3, 1.3, −3]: token 0 (neither condition's own favourite);
    coef 1 → cond itself [1, 1.1, 0]: token 1; coef 0.2 → [0.2, 1.02, 1.2]: token 2."""
    cond = torch.tensor([1.0, 1.1, 0.0, -9.0, -9.0])
    null = torch.tensor([0.0, 1.0, 1.5, -9.0, -9.0])
    memory = torch.ones(1, 3, 4)

    def run(coef: float) -> tuple[set[int], list[tuple[int, int, Any]]]:
        stand_in = _FixedLogits(cond, null)
        made = tokens.sample_window(
            stand_in, Condition(memory, None, memory * 0, None), 3,
            Sampling(temperature=0, cfg_coef=coef), None,
        )  # fmt: skip
        return set(made.flatten().tolist()), stand_in.calls

    picked, calls = run(3.0)
    assert picked == {0}
    rows, batch, seen = calls[0]
    assert (rows, batch) == (2 * 2, 2)  # B×K token rows twice over; the memory batch doubled
    assert torch.equal(seen[0], memory[0]) and torch.equal(seen[1], memory[0] * 0)
    picked, calls = run(1.0)
    assert picked == {1} and calls[0][:2] == (2, 1)  # no guidance: no null rows
    assert run(0.2)[0] == {2}


def test_top_k_and_top_p_keep_only_the_likeliest_tokens() -> None:
    logits = torch.log(torch.tensor([[[0.5, 0.3, 0.15, 0.05]]]))
    g = torch.Generator().manual_seed(0)
    for sampling, allowed in ((Sampling(top_k=2), {0, 1}), (Sampling(top_k=0, top_p=0.7), {0, 1})):
        drawn = {int(tokens._draw(logits, sampling, g)) for _ in range(300)}
        assert drawn == allowed, (sampling, drawn)
    drawn = {int(tokens._draw(logits, Sampling(top_k=0), g)) for _ in range(400)}
    assert drawn == {0, 1, 2, 3}


def test_long_pieces_continue_window_by_window_from_the_last_frames(
    model: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    windows: list[tuple[Any, Any]] = []
    real = tokens.sample_window

    def spy(*args: Any, **kwargs: Any) -> Any:
        made = real(*args, **kwargs)
        windows.append((args[5] if len(args) > 5 else None, made))
        return made

    monkeypatch.setattr(tokens, "sample_window", spy)
    seen: list[tuple[int, int]] = []

    def condition_for(start: int, stop: int) -> Condition:
        seen.append((start, stop))
        return condition(model)

    g = torch.Generator().manual_seed(0)
    codes = sample_codes(model.decoder, condition_for, 100, Sampling(), g, window=40, overlap=10)
    assert codes.shape == (1, BOOKS, 100)
    assert seen == [(0, 40), (30, 70), (60, 100)]
    for (_, before), (prompt, after) in itertools.pairwise(windows):
        assert torch.equal(prompt, before[..., -10:])  # prompted with what came before
        assert torch.equal(after[..., :10], prompt)
    assert torch.equal(codes[..., :40], windows[0][1])


def test_chunked_decoding_has_no_seam(model: Any) -> None:
    """Decoding in overlapping, crossfaded chunks matches one decode of the whole stream; at
    the joins it steps no more than anywhere else."""
    codes = torch.randint(0, CODEBOOK, (1, BOOKS, 300))
    whole = decode(model.audio_encoder, codes, chunk=10_000)
    chunked = decode(model.audio_encoder, codes, chunk=100, overlap=20)
    assert chunked.shape == whole.shape == (1, 300 * 640)
    scale = float(np.abs(whole - whole.mean()).max())
    assert float(np.abs(chunked - whole).max()) < 0.05 * scale
    steps = np.abs(np.diff(chunked[0]))
    joins = [100 * 640, 180 * 640, 260 * 640]  # where each later chunk's own frames begin
    at_joins = max(float(steps[j - 2 : j + 2].max()) for j in joins)
    assert at_joins <= float(np.percentile(steps, 99.9))


def test_the_backend_makes_the_length_asked_for_across_windows(models_dir: Path) -> None:
    from audio_creator.music.musicgen import MusicGenBackend

    save_tiny_musicgen(models_dir / "musicgen" / "small")
    backend = MusicGenBackend()
    music = backend.generate(MusicRequest(65.0, prompt="calm piano", target_lufs=-30.0))
    assert music.audio.channels == 2 and music.audio.frames == 65 * 48000
    assert music.summary["frames"] == 65 * 50 and music.backend == "musicgen"
    assert abs(float(music.audio.samples.mean())) < 1e-3  # the codec's offset is removed


def test_vidmuse_with_musicgen_follows_the_video_length(
    models_dir: Path, sample_videos: dict[str, Path], tmp_path: Path
) -> None:
    from helpers import ffmpeg_loudness

    folder = save_tiny_musicgen(tmp_path / "my-musicgen")
    out = tmp_path / "music.wav"
    args = ["vidmuse", "--video", str(sample_videos["mp4"]), "-o", str(out)]
    code = cli.main([*args, "--backend", "musicgen", "--music-model", str(folder),
                     "--target-lufs", "-30", "--top-k", "50", "--cfg-coef", "2.5"])  # fmt: skip
    assert code == 0
    import soundfile as sf

    info = sf.info(str(out))
    assert abs(info.duration - 2.0) < 1e-3
    assert abs(ffmpeg_loudness(out)["I"] + 30.0) < 0.5


def test_without_weights_musicgen_fails_fast_and_auto_falls_back(
    models_dir: Path, sample_videos: dict[str, Path], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    out = tmp_path / "music.wav"
    args = ["vidmuse", "--video", str(sample_videos["mp4"]), "-o", str(out)]
    assert cli.main([*args, "--backend", "musicgen"]) == 3
    assert "audio-creator models download musicgen-small" in capsys.readouterr().err
    assert not out.exists()
    assert cli.main(args) == 0
    said = capsys.readouterr().err  # the CLI logs to stderr
    assert "auto: not musicgen" in said and "music backend: procedural" in said


def test_bad_sampling_options_are_refused(sample_videos: dict[str, Path], tmp_path: Path) -> None:
    args = ["vidmuse", "--video", str(sample_videos["mp4"]), "-o", str(tmp_path / "m.wav")]
    for bad in (["--top-k", "-1"], ["--top-p", "1.5"], ["--temperature", "-1"],
                ["--cfg-coef", "nan"]):  # fmt: skip
        assert cli.main([*args, *bad]) == 2, bad


def test_the_prompt_follows_the_picture() -> None:
    from audio_creator.music.musicgen import describe

    assert describe(MusicRequest(5.0, prompt="dreamy synthwave")) == "dreamy synthwave"
    assert describe(MusicRequest(5.0, style="piano")) == "piano instrumental music"
    calm_then_busy = SimpleNamespace(
        energy=np.array([0.1, 0.1, 0.8, 0.8]), brightness=np.array([0.6] * 4)
    )
    text = describe(MusicRequest(5.0, analysis=calm_then_busy, style="pop"))  # type: ignore[arg-type]
    assert text.startswith("pop instrumental music, ") and "bright" in text
    assert "building from calm to energetic" in text


def test_rerank_candidates_are_made_in_one_batch(
    models_dir: Path, sample_videos: dict[str, Path], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from audio_creator.jobs.music_for_video import VidmuseOptions, run_vidmuse

    save_tiny_musicgen(models_dir / "musicgen" / "small")
    batches: list[int] = []
    real = tokens.sample_codes

    def spy(decoder: Any, condition_for: Any, *args: Any, **kwargs: Any) -> Any:
        batches.append(int(condition_for(0, 1).memory.shape[0]))
        return real(decoder, condition_for, *args, **kwargs)

    monkeypatch.setattr(tokens, "sample_codes", spy)
    result = run_vidmuse(VidmuseOptions(
        video=sample_videos["mp4"], output=tmp_path / "m.wav", backend="musicgen", rerank=3,
        rerank_topk=3, target_lufs=-30.0,
    ))  # fmt: skip
    assert batches == [3]  # one pass for the three
    assert [s["candidate"] for s in result.scores] != [] and len(result.outputs) == 3
    import soundfile as sf

    heard = [sf.read(str(p))[0] for p in result.outputs]
    assert all(h.shape == heard[0].shape for h in heard)
    assert not np.allclose(heard[0], heard[1]) and not np.allclose(heard[1], heard[2])
