"""The evaluation job: a manifest of videos with their (generated) soundtracks in; per-clip and
overall measures out, as a table, `results.json` and `results.csv`.

Metrics (`--metrics`):

- `dist`: the Fréchet distance between the soundtracks' embeddings and those of reference
  music (`--reference-audio-dir`), in the chosen audio backend's space.
- `rhythm`: per clip, motion–onset correlation, tempo and the cut-to-beat hit rate
  (`eval.rhythm`); their means overall.
- `sim`: audio–visual alignment in a shared space — CLIP describes each video's frames in
  words, CLAP scores the soundtrack against those words (`music.semantic`, as the reranker
  does); never a cosine between CLIP and CLAP vectors, which live in unrelated spaces.
- `retrieval`: every soundtrack scored against every video that way; Recall@1/5/10, median
  rank, and with `--compute-map-ndcg` mAP and nDCG (`eval.metrics`).
"""

from __future__ import annotations

import csv
import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from audio_creator.errors import ConfigError, MediaError

logger = logging.getLogger(__name__)

METRICS = ("sim", "retrieval", "dist", "rhythm")
REFERENCE_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a", ".aac", ".aif", ".aiff")


@dataclass(frozen=True)
class EvalOptions:
    manifest: Path
    output_dir: Path
    metrics: tuple[str, ...] = ("dist", "rhythm")
    audio_backend: str = "auto"
    reference_audio_dir: Path | None = None
    compute_map_ndcg: bool = False
    load_embeddings: Path | None = None
    save_embeddings: Path | None = None
    device: str = "auto"

    def __post_init__(self) -> None:
        unknown = [m for m in self.metrics if m not in METRICS]
        if unknown or not self.metrics:
            raise ConfigError(f"--metrics takes {','.join(METRICS)}; not {','.join(unknown)}")
        if "dist" in self.metrics and self.reference_audio_dir is None:
            raise ConfigError("--metrics dist needs --reference-audio-dir (the music to compare)")


@dataclass
class EvalResult:
    clips: list[dict[str, Any]]
    overall: dict[str, Any]
    outputs: list[Path] = field(default_factory=list)


def evaluate(options: EvalOptions) -> EvalResult:
    """Run the chosen metrics (see the module docstring) and write the results."""
    from audio_creator.eval import embeddings
    from audio_creator.train.manifest import read_manifest

    rows = read_manifest(options.manifest, mismatch_limit_s=math.inf)
    references = _references(options.reference_audio_dir) if "dist" in options.metrics else []
    outputs = [options.output_dir / "results.json", options.output_dir / "results.csv"]
    from audio_creator.files import check_output_path

    inputs = [options.manifest, *(p for r in rows for p in (r.video, r.audio)), *references]
    for path in outputs:
        check_output_path(path, inputs=inputs)
    clips: list[dict[str, Any]] = [{"video": str(r.video), "audio": str(r.audio)} for r in rows]
    overall: dict[str, Any] = {"clips": len(rows)}

    if "dist" in options.metrics:
        from audio_creator.eval.metrics import frechet_distance

        embedder = embeddings.create(options.audio_backend, options.device)
        cache = embeddings.Cache(options.load_embeddings)
        generated = np.stack([cache.get(embedder, r.audio) for r in rows])
        reference = np.stack([cache.get(embedder, p) for p in references])
        overall["frechet_distance"] = frechet_distance(generated, reference)
        overall["audio_backend"] = embedder.version
        logger.info("embeddings: %d computed, %d from the cache", cache.misses, cache.hits)
        if options.save_embeddings is not None:
            cache.save(options.save_embeddings)
    if "rhythm" in options.metrics:
        _rhythm(rows, clips, overall)
    if "sim" in options.metrics or "retrieval" in options.metrics:
        _semantic(options, rows, clips, overall)
    _write(outputs, clips, overall)
    return EvalResult(clips, overall, outputs)


def _references(folder: Path | None) -> list[Path]:
    if folder is None or not folder.is_dir():
        raise ConfigError(f"--reference-audio-dir {folder} is not a folder")
    found = sorted(p for p in folder.rglob("*") if p.suffix.lower() in REFERENCE_SUFFIXES)
    if len(found) < 2:
        raise MediaError(
            f"{folder} holds {len(found)} audio file(s); the distance needs at least 2"
        )
    return found


def _rhythm(rows: list[Any], clips: list[dict[str, Any]], overall: dict[str, Any]) -> None:
    from audio_creator.analysis.video import analyse_video
    from audio_creator.audio import load
    from audio_creator.eval import rhythm

    for row, clip in zip(rows, clips, strict=True):
        cuts = analyse_video(row.video).cuts_s
        clip.update(rhythm.measure(row.video, load(row.audio), cuts).summary())
    for key in ("motion_onset_r", "tempo_bpm", "cut_hit_rate"):
        values = [c[key] for c in clips if c.get(key) is not None]
        overall[f"mean_{key}"] = float(np.mean(values)) if values else None


def _semantic(
    options: EvalOptions, rows: list[Any], clips: list[dict[str, Any]], overall: dict[str, Any]
) -> None:
    """CLIP's words for each video, CLAP's score of every soundtrack against them."""
    from audio_creator.audio import load
    from audio_creator.errors import BackendUnavailable
    from audio_creator.eval.metrics import retrieval
    from audio_creator.music import semantic

    lack = semantic.missing()
    if lack is not None:
        raise BackendUnavailable(
            f"sim and retrieval compare picture and sound through CLIP and CLAP: {lack}"
        )
    judge = semantic.SemanticJudge(device=options.device)
    descriptions = [judge.describe(r.video) for r in rows]
    heard = [judge.hear(load(r.audio)) for r in rows]
    matrix = np.array([[judge.match(h, d) for h in heard] for d in descriptions])
    for clip, description, score in zip(clips, descriptions, np.diag(matrix), strict=True):
        clip.update(sim=float(score), words=description.text())
    overall["mean_sim"] = float(np.mean(np.diag(matrix)))
    if "retrieval" in options.metrics:
        found = retrieval(matrix)
        summary = found.summary()
        if not options.compute_map_ndcg:
            summary = {k: v for k, v in summary.items() if k not in ("mAP", "nDCG")}
        overall.update(summary)
        for clip, rank in zip(clips, found.ranks.tolist(), strict=True):
            clip["rank"] = rank


def _write(outputs: list[Path], clips: list[dict[str, Any]], overall: dict[str, Any]) -> None:
    from audio_creator.files import atomic_output

    with atomic_output(outputs[0]) as temporary:
        text = json.dumps({"overall": overall, "clips": clips}, indent=2)
        temporary.write_text(text, encoding="utf-8")
    columns = list(dict.fromkeys(["clip", *(k for c in clips for k in c), *overall]))
    with atomic_output(outputs[1]) as temporary, temporary.open("w", newline="") as f:
        writer = csv.DictWriter(f, columns)
        writer.writeheader()
        writer.writerows({"clip": index, **clip} for index, clip in enumerate(clips, start=1))
        writer.writerow({**overall, "clip": "overall"})


def table(result: EvalResult) -> str:
    """The overall figures as a two-column text table."""
    width = max(len(k) for k in result.overall)
    lines = []
    for key, value in result.overall.items():
        shown = f"{value:.4f}" if isinstance(value, float) else str(value)
        lines.append(f"{key:<{width}}  {shown}")
    return "\n".join(lines)
