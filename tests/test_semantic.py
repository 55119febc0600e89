"""The semantic rerank term: CLIP describes the picture in words, CLAP scores the music against
those words (tiny random models of the real architectures; the arithmetic is checked against
known embeddings)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
import torch

from audio_creator.audio import Audio
from audio_creator.music import semantic
from tiny_models import save_tiny_clap, save_tiny_clip, save_tiny_musicgen


@pytest.fixture(scope="module")
def judge(tmp_path_factory: pytest.TempPathFactory) -> semantic.SemanticJudge:
    root = tmp_path_factory.mktemp("semantic")
    return semantic.SemanticJudge(save_tiny_clip(root / "clip"), save_tiny_clap(root / "clap"))


def test_the_picture_is_described_in_words_of_every_kind(
    judge: semantic.SemanticJudge, sample_videos: dict[str, Path]
) -> None:
    described = judge.describe(sample_videos["mp4"])
    kinds = [kind for kind, _, _ in described.words]
    assert kinds == [k for k in semantic.VOCABULARY for _ in range(semantic.KEEP)]
    for kind, word, chance in described.words:
        assert word in semantic.VOCABULARY[kind] and 0 < chance <= 1
    for kind in semantic.VOCABULARY:  # likeliest first, and within one kind's distribution
        chances = [p for k, _, p in described.words if k == kind]
        assert chances == sorted(chances, reverse=True) and sum(chances) <= 1 + 1e-6
    assert described == judge.describe(sample_videos["mp4"])  # deterministic


def test_music_that_sounds_like_the_words_scores_higher(
    judge: semantic.SemanticJudge, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With CLAP's audio embedding set to a known direction, the score is the weighted cosine
    with the words' embeddings, mapped to 0–1: along the words → above ½, against them → below,
    and the two mirror each other around ½."""
    words = semantic.Description((("mood", "calm", 0.75), ("tempo", "slow", 0.25)))
    texts = [semantic.MUSIC_PROMPT[k].format(w) for k, w, _ in words.words]
    tokens = judge.clap_words(texts, return_tensors="pt", padding=True)
    with torch.no_grad():
        said = semantic._unit(semantic._embedding(judge.clap.get_text_features(**tokens)))
    target = semantic._unit((said * torch.tensor([[0.75], [0.25]])).sum(dim=0))
    music = Audio(np.zeros((1, 48000), np.float32), 48000)

    def heard_as(direction: Any) -> float:
        monkeypatch.setattr(judge.clap, "get_audio_features",
                            lambda **_: SimpleNamespace(pooler_output=direction[None]))  # fmt: skip
        return judge.score(music, words)

    along, against = heard_as(target), heard_as(-target)
    expected = float(((said @ target) * torch.tensor([0.75, 0.25])).sum() + 1) / 2
    assert along == pytest.approx(expected, abs=1e-5) and along > 0.5
    assert against == pytest.approx(1 - along, abs=1e-5)


def test_vidmuse_ranks_with_the_semantic_term_when_clip_and_clap_are_here(
    tmp_path: Path, sample_videos: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from audio_creator.jobs.music_for_video import VidmuseOptions, run_vidmuse

    models = tmp_path / "models"
    monkeypatch.setenv("AUDIO_CREATOR_MODELS", str(models))
    options = VidmuseOptions(
        video=sample_videos["mp4"], output=tmp_path / "a.wav", rerank=2, rerank_topk=1,
        backend="procedural",
    )  # fmt: skip
    plain = run_vidmuse(options)
    assert set(plain.scores[0]) == {"candidate", "score", "cut_alignment", "motion_onset"}

    save_tiny_clip(models / "clip" / "vit-b32")
    save_tiny_clap(models / "clap" / "htsat-unfused")
    save_tiny_musicgen(models / "unused")  # (other weights in the folder change nothing)
    ranked = run_vidmuse(VidmuseOptions(**{**options.__dict__, "output": tmp_path / "b.wav"}))
    terms = ranked.scores[0]
    assert 0.0 <= terms["semantic"] <= 1.0
    weighted = (0.5 * terms["cut_alignment"] + 0.5 * terms["motion_onset"]
                + 0.5 * terms["semantic"]) / 1.5  # fmt: skip
    assert terms["score"] == pytest.approx(weighted, abs=2e-4)
