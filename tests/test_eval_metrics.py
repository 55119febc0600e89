"""The evaluation's arithmetic against independent references: scikit-learn's ranking measures
(ties included), a brute-force count, and SciPy's general matrix square root."""

from __future__ import annotations

import numpy as np
import pytest

from audio_creator.errors import ConfigError
from audio_creator.eval.metrics import frechet_distance, pearson, retrieval


def brute_force_ranks(similarity: np.ndarray) -> list[int]:
    """Sort each row (ties: the right column last) and find the right column's place."""
    ranks = []
    for i, row in enumerate(similarity):
        order = sorted(range(len(row)), key=lambda j: (-row[j], j == i))
        ranks.append(order.index(i) + 1)
    return ranks


@pytest.mark.parametrize("levels", [None, 3, 2])  # continuous scores, then heavy ties
def test_retrieval_equals_scikit_learn_and_brute_force(levels: int | None) -> None:
    from sklearn.metrics import label_ranking_average_precision_score, ndcg_score

    rng = np.random.default_rng(7 if levels is None else levels)
    for n in (1, 2, 5, 12, 40):
        scores = rng.normal(size=(n, n)) + 1.5 * np.eye(n)
        if levels is not None:
            scores = np.round(scores * levels / 3) / levels  # a few distinct values: many ties
        found = retrieval(scores)
        truth = np.eye(n, dtype=int)
        assert found.ranks.tolist() == brute_force_ranks(scores)
        assert found.mean_average_precision == pytest.approx(
            label_ranking_average_precision_score(truth, scores), rel=1e-12
        )
        if n > 1:  # scikit-learn refuses nDCG of one document
            assert found.ndcg == pytest.approx(ndcg_score(truth, scores), rel=1e-12)
        for k in (1, 5, 10):
            assert found.recall[k] == pytest.approx(
                np.mean(np.array(brute_force_ranks(scores)) <= k)
            )
        assert found.median_rank == np.median(brute_force_ranks(scores))


def test_retrieval_of_equal_scores_is_not_flattering() -> None:
    found = retrieval(np.zeros((4, 4)))
    assert found.ranks.tolist() == [4, 4, 4, 4] and found.recall[1] == 0.0
    assert retrieval(np.eye(3)).recall[1] == 1.0
    with pytest.raises(ConfigError, match="square"):
        retrieval(np.zeros((2, 3)))
    with pytest.raises(ConfigError, match="NaN"):
        retrieval(np.array([[np.nan]]))


def scipy_frechet(a: np.ndarray, b: np.ndarray) -> float:
    from scipy import linalg

    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    root = linalg.sqrtm(cov_a @ cov_b).real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * root))


def test_frechet_distance_equals_scipy_on_random_gaussians() -> None:
    rng = np.random.default_rng(3)
    for dims in (1, 4, 16, 64):
        mix = rng.normal(size=(dims, dims))
        a = rng.normal(size=(500, dims))
        b = rng.normal(loc=0.3, size=(400, dims)) @ mix / np.sqrt(dims)
        assert frechet_distance(a, b) == pytest.approx(scipy_frechet(a, b), rel=1e-6)
        assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_of_a_closed_form_case() -> None:
    """N(0, I) and N(m, s²I) in d dimensions: |m|² + d (1 − s)²."""
    rng = np.random.default_rng(0)
    d, s = 8, 2.0
    a = rng.normal(size=(200_000, d))
    b = rng.normal(loc=1.0, scale=s, size=(200_000, d))
    assert frechet_distance(a, b) == pytest.approx(d * 1.0 + d * (1 - s) ** 2, rel=0.01)


def test_frechet_distance_stays_finite_with_fewer_samples_than_dimensions() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(5, 128)), rng.normal(loc=0.5, size=(7, 128))
    value = frechet_distance(a, b)
    assert np.isfinite(value) and value > 0
    same = frechet_distance(a, a)
    assert same == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ConfigError, match="at least 2"):
        frechet_distance(a[:1], b)
    with pytest.raises(ConfigError, match="dimensions"):
        frechet_distance(a, b[:, :64])


def test_pearson() -> None:
    x = np.arange(10.0)
    assert pearson(x, 2 * x + 1) == pytest.approx(1.0)
    assert pearson(x, -x) == pytest.approx(-1.0)
    assert pearson(x, np.ones(10)) == 0.0
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=50), rng.normal(size=50)
    assert pearson(a, b) == pytest.approx(np.corrcoef(a, b)[0, 1])
