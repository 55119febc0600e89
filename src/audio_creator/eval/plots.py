"""The evaluation's pictures: the similarity matrix, where the right soundtracks ranked, and
each clip's figures side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

# per-clip figures worth a bar chart, in this order, with their axis labels
BARS = {
    "sim": "alignment (CLAP vs CLIP's words)",
    "motion_onset_r": "motion–onset r",
    "cut_hit_rate": "cuts on a beat",
    "estoi": "ESTOI",
    "lufs_error": "loudness error (LU)",
}


def draw(
    folder: Path, clips: list[dict[str, Any]], similarity: npt.NDArray[np.float64] | None
) -> list[Path]:
    """The pictures there is data for, written into `folder`; their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from audio_creator.files import atomic_output

    written: list[Path] = []

    def write(figure: Any, name: str) -> None:
        path = folder / name
        try:
            figure.tight_layout()
            with atomic_output(path) as temporary:
                figure.savefig(temporary, format="png", dpi=100)
        finally:
            plt.close(figure)
        written.append(path)

    labels = [Path(c["video"]).stem for c in clips]
    if similarity is not None:
        figure, axes = plt.subplots(figsize=(2 + 0.4 * len(clips), 1.5 + 0.4 * len(clips)))
        shown = axes.imshow(similarity, cmap="viridis")
        axes.set_xlabel("soundtrack")
        axes.set_ylabel("video")
        if len(clips) <= 30:
            axes.set_xticks(range(len(clips)), labels, rotation=90)
            axes.set_yticks(range(len(clips)), labels)
        figure.colorbar(shown, ax=axes, label="score")
        write(figure, "similarity.png")
        ranks = [c["rank"] for c in clips if "rank" in c]
        if ranks:
            figure, axes = plt.subplots(figsize=(6, 3.5))
            edges = [k + 0.5 for k in range(len(clips) + 1)]
            axes.hist(ranks, bins=edges, color="#357")
            axes.set_xlabel("rank of the right soundtrack (1 = best)")
            axes.set_ylabel("videos")
            write(figure, "ranks.png")
    kinds = [k for k in BARS if any(isinstance(c.get(k), float) for c in clips)]
    if kinds:
        size = (2 + 0.35 * len(clips), 2.2 * len(kinds))
        figure, panels = plt.subplots(len(kinds), 1, figsize=size, squeeze=False)
        for axes, kind in zip(panels[:, 0], kinds, strict=True):
            values = [c.get(kind) if isinstance(c.get(kind), float) else np.nan for c in clips]
            axes.bar(range(len(clips)), values, color="#579")
            axes.set_ylabel(BARS[kind], fontsize=8)
            axes.set_xticks(range(len(clips)), labels if len(clips) <= 40 else [""] * len(clips),
                            rotation=90, fontsize=7)  # fmt: skip
        write(figure, "clips.png")
    return written
