"""`--fit-projection`: a ridge map between the spaces, fitted leaving each pair out — it finds a
real relation, and on unrelated data stays at chance where a map that saw the pair would not."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from audio_creator import cli
from audio_creator.errors import ConfigError
from audio_creator.eval import projection
from audio_creator.eval.metrics import retrieval


def test_a_linear_relation_is_found() -> None:
    rng = np.random.default_rng(0)
    video = rng.normal(size=(30, 8))
    audio = video @ rng.normal(size=(8, 40)) + 0.1 * rng.normal(size=(30, 40))
    found = retrieval(projection.scores(video, audio))
    assert found.recall[1] >= 0.9


def test_unrelated_pairs_stay_at_chance() -> None:
    recalls, medians, seen = [], [], []
    for seed in range(10):
        rng = np.random.default_rng(seed)
        video, audio = rng.normal(size=(20, 8)), rng.normal(size=(20, 40))
        found = retrieval(projection.scores(video, audio))
        recalls.append(found.recall[1])
        medians.append(found.median_rank)
        # a map fitted on every pair (the one being scored included) memorises them
        fitted = projection.RidgeMap(video, audio, projection.RIDGE)
        mapped = fitted(audio)
        mapped /= np.linalg.norm(mapped, axis=1, keepdims=True)
        target = fitted.standard_video(video)
        target /= np.linalg.norm(target, axis=1, keepdims=True)
        seen.append(retrieval(target @ mapped.T).recall[1])
    assert np.mean(recalls) < 0.15  # chance: 1/20
    assert 7 <= np.mean(medians) <= 14  # chance: about 10.5
    assert np.mean(seen) > 0.9  # why each row's map must not have seen its pair


def test_offline_projection_from_the_command_line(tmp_path: Path) -> None:
    from helpers import make_pairs

    rows = [f"{v},{a}" for v, a in make_pairs(tmp_path, 4, size="96x64", rate=16000)]
    manifest = tmp_path / "m.csv"
    manifest.write_text("video_path,audio_path\n" + "\n".join(rows) + "\n")
    out = tmp_path / "out"
    args = ["eval", "--manifest", str(manifest), "--metrics", "sim,retrieval", "--fit-projection",
            "--audio-backend", "dsp", "--video-backend", "analysis", "--output-dir", str(out),
            "--compute-map-ndcg"]  # fmt: skip
    assert cli.main(args) == 0
    results = json.loads((out / "results.json").read_text())
    assert {"mean_sim", "recall@1", "mAP", "nDCG"} <= set(results["overall"])
    assert all(1 <= c["rank"] <= 4 and -1 <= c["sim"] <= 1 for c in results["clips"])
    assert cli.main([*args[:-3], "--output-dir", str(tmp_path / "o2"), "--video-backend",
                     "sideways"]) == 2  # fmt: skip
    with pytest.raises(ConfigError, match="at least 3 pairs"):
        projection.scores(np.zeros((2, 3)), np.zeros((2, 5)))


def test_a_feature_constant_but_in_one_clip_does_not_swamp_its_scores() -> None:
    rng = np.random.default_rng(4)
    video = rng.normal(size=(6, 4))
    video[:, 3] = 0.0
    video[2, 3] = 5.0  # e.g. the only clip with cuts
    audio = rng.normal(size=(6, 10))
    found = projection.scores(video, audio)
    assert np.isfinite(found).all() and np.abs(found[2]).max() > 1e-3
