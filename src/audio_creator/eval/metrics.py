"""The evaluation's arithmetic: retrieval from a similarity matrix, and the Fréchet distance
between two sets of embeddings.

Retrieval: row i of the matrix scores every audio clip against video i, whose own soundtrack
is column i. A clip's rank counts every column scoring at least as high as the right one (ties
rank the right answer last, as scikit-learn's label-ranking precision does), so a matrix of
equal scores never looks good. nDCG spreads the gain of a tie over the tied places, as
scikit-learn's `ndcg_score` does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from audio_creator.errors import ConfigError

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Retrieval:
    ranks: npt.NDArray[np.int64]  # per video, 1 = its own soundtrack scored highest
    recall: dict[int, float]  # Recall@K
    median_rank: float
    mean_average_precision: float
    ndcg: float

    def summary(self) -> dict[str, float]:
        return {**{f"recall@{k}": v for k, v in self.recall.items()},
                "median_rank": self.median_rank, "mAP": self.mean_average_precision,
                "nDCG": self.ndcg}  # fmt: skip


def retrieval(similarity: npt.ArrayLike, ks: tuple[int, ...] = (1, 5, 10)) -> Retrieval:
    """Video → audio retrieval measures of a square similarity matrix."""
    scores = np.asarray(similarity, np.float64)
    if scores.ndim != 2 or scores.shape[0] != scores.shape[1] or scores.shape[0] == 0:
        raise ConfigError(f"retrieval needs a square similarity matrix, got {scores.shape}")
    if not np.isfinite(scores).all():
        raise ConfigError("the similarity matrix holds NaN or infinite scores")
    right = np.diag(scores)[:, None]
    above = (scores > right).sum(axis=1)  # strictly better columns
    tied = (scores == right).sum(axis=1)  # the right one and any equal to it
    ranks = (above + tied).astype(np.int64)
    # nDCG with one relevant item: its gain is shared over the tied places above+1 … above+tied
    places = np.arange(1, scores.shape[1] + 1)
    discount = 1.0 / np.log2(places + 1.0)
    cumulative = np.concatenate([[0.0], np.cumsum(discount)])
    ndcg = (cumulative[above + tied] - cumulative[above]) / tied
    return Retrieval(
        ranks=ranks,
        recall={k: float(np.mean(ranks <= k)) for k in ks},
        median_rank=float(np.median(ranks)),
        mean_average_precision=float(np.mean(1.0 / ranks)),
        ndcg=float(np.mean(ndcg)),
    )


def frechet_distance(a: npt.ArrayLike, b: npt.ArrayLike) -> float:
    """The Fréchet distance between Gaussians fitted to two sets of embeddings [n, d]:
    |μa − μb|² + tr(Σa + Σb − 2 (Σa Σb)^½).

    The trace of the matrix square root is taken as tr((Σa^½ Σb Σa^½)^½), a symmetric
    positive semi-definite matrix whose eigenvalues are real and ≥ 0 (rounding below zero is
    clipped), so it stays finite and real when a covariance is singular (fewer samples than
    dimensions) — where a general `sqrtm` turns complex or blows up.
    """
    x, y = _embeddings(a, "generated"), _embeddings(b, "reference")
    if x.shape[1] != y.shape[1]:
        raise ConfigError(f"embeddings of {x.shape[1]} and {y.shape[1]} dimensions")
    mean_x, mean_y = x.mean(axis=0), y.mean(axis=0)
    cov_x, cov_y = _covariance(x), _covariance(y)
    root_x = _psd_sqrt(cov_x)
    middle = root_x @ cov_y @ root_x
    trace_root = float(np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum())
    value = float(((mean_x - mean_y) ** 2).sum() + np.trace(cov_x) + np.trace(cov_y))
    return max(0.0, value - 2.0 * trace_root)


def _embeddings(values: npt.ArrayLike, what: str) -> Floats:
    array = np.asarray(values, np.float64)
    if array.ndim != 2 or array.shape[0] < 2:
        raise ConfigError(f"the {what} set needs at least 2 embeddings, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ConfigError(f"the {what} embeddings hold NaN or infinite values")
    return array


def _covariance(x: Floats) -> Floats:
    return np.atleast_2d(np.cov(x, rowvar=False))


def _psd_sqrt(matrix: Floats) -> Floats:
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T  # type: ignore[no-any-return]


def pearson(x: npt.ArrayLike, y: npt.ArrayLike) -> float:
    """Pearson's r of two equally long series; 0 when either is constant."""
    a, b = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if a.shape != b.shape or a.size < 2:
        raise ConfigError(
            f"correlation needs two series of one length ≥ 2, got {a.shape}, {b.shape}"
        )
    a, b = a - a.mean(), b - b.mean()
    norm = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / norm) if norm > 0 else 0.0
