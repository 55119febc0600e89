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
- `mix`: loudness, range and true peak against the target and ceiling; with a `speech_path`
  column, the speech-to-music difference and ESTOI (`eval.mixing`).
"""

from __future__ import annotations

import csv
import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from audio_creator.errors import ConfigError, MediaError, require_finite
from audio_creator.pairs import Row, read_manifest

logger = logging.getLogger(__name__)

METRICS = ("sim", "retrieval", "dist", "rhythm", "mix")
REFERENCE_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a", ".aac", ".aif", ".aiff")


@dataclass(frozen=True)
class EvalOptions:
    manifest: Path | None  # batch mode: pairs to judge; or…
    output_dir: Path
    metrics: tuple[str, ...] = ("dist", "rhythm")
    audio_backend: str = "auto"
    reference_audio_dir: Path | None = None
    compute_map_ndcg: bool = False
    load_embeddings: Path | None = None
    save_embeddings: Path | None = None
    device: str = "auto"
    target_lufs: float = -16.0  # the mix metric's loudness target…
    true_peak_dbtp: float = -1.0  # …and ceiling
    fit_projection: bool = False  # sim/retrieval through a map fitted on the pairs
    video_backend: str = "auto"  # for the projection: clip, analysis (auto: clip if here)
    num_video_frames: int = 8
    single: Single | None = None  # …single mode: one video, its music made here
    fad_backend: str = "auto"  # dist: also FAD by `frechet_audio_distance` (auto: if here)

    def __post_init__(self) -> None:
        require_finite(target_lufs=self.target_lufs, true_peak=self.true_peak_dbtp)
        if (self.manifest is None) == (self.single is None):
            raise ConfigError("give --manifest (pairs to judge) or --video (music made here)")
        if self.single is not None:
            for metric in ("retrieval", "dist"):
                if metric in self.metrics:
                    raise ConfigError(f"{metric} compares many clips: give a --manifest")
            if self.fit_projection:
                raise ConfigError("--fit-projection is fitted on many pairs: give a --manifest")
        unknown = [m for m in self.metrics if m not in METRICS]
        if unknown or not self.metrics:
            raise ConfigError(f"--metrics takes {','.join(METRICS)}; not {','.join(unknown)}")
        if self.video_backend not in ("auto", "clip", "analysis"):
            raise ConfigError(
                f"--video-backend is auto, clip or analysis, not {self.video_backend}"
            )
        if not 1 <= self.num_video_frames <= 256:
            raise ConfigError(
                f"--num-video-frames must be within 1–256, got {self.num_video_frames}"
            )
        if "dist" in self.metrics and self.reference_audio_dir is None:
            raise ConfigError("--metrics dist needs --reference-audio-dir (the music to compare)")


@dataclass(frozen=True)
class Single:
    """Single mode: music for one video from the base model and/or with an adapter."""

    video: Path
    lora: Path | None = None
    skip_base: bool = False
    rerank: int = 1
    duration_s: float | None = None
    backend: str = "auto"
    music_model: str | None = None  # the neural backend's weights (name or folder)

    def __post_init__(self) -> None:
        if self.skip_base and self.lora is None:
            raise ConfigError("--skip-base leaves nothing to judge without --lora-path")


@dataclass
class EvalResult:
    clips: list[dict[str, Any]]
    overall: dict[str, Any]
    outputs: list[Path] = field(default_factory=list)
    similarity: Any = None  # sim/retrieval: the [videos, soundtracks] score matrix


MakeMusic = Callable[[Single, Path, str], tuple[list[Row], list[str]]]


def evaluate(options: EvalOptions, make_music: MakeMusic | None = None) -> EvalResult:
    """Run the chosen metrics (see the module docstring) and write the results.

    Single mode judges music made for its video, by `make_music(single, output_dir, device)`
    (the eval job passes `jobs.eval_music.make_music`, which runs vidmuse): evaluation itself
    makes nothing, and runs no job.
    """
    from audio_creator.eval import embeddings

    references = _references(options.reference_audio_dir) if "dist" in options.metrics else []
    outputs = [options.output_dir / "results.json", options.output_dir / "results.csv"]
    if options.save_embeddings is not None:
        outputs.append(options.save_embeddings)  # checked with the rest, before any work
    from audio_creator.files import check_output_path

    if {"sim", "retrieval"} & set(options.metrics) and not options.fit_projection:
        _need_semantic()  # before any music is made or file written
    if options.single is not None:
        if make_music is None:
            raise ConfigError("single mode judges music made for its video: give make_music")
        for path in outputs:
            check_output_path(path, inputs=[options.single.video, *references])
        rows, variants = make_music(options.single, options.output_dir, options.device)
    else:
        assert options.manifest is not None
        rows = read_manifest(options.manifest, mismatch_limit_s=math.inf)
        variants = []
        inputs = [options.manifest, *(p for r in rows for p in (r.video, r.audio)), *references]
        for path in outputs:
            check_output_path(path, inputs=inputs)
    clips: list[dict[str, Any]] = [{"video": str(r.video), "audio": str(r.audio)} for r in rows]
    for clip, variant in zip(clips, variants, strict=False):
        clip["variant"] = variant
    overall: dict[str, Any] = {"clips": len(rows)}

    cache = embeddings.Cache(options.load_embeddings)
    if "dist" in options.metrics:
        from audio_creator.eval.metrics import frechet_distance

        embedder = embeddings.create(options.audio_backend, options.device)
        generated = np.stack([cache.get(embedder, r.audio) for r in rows])
        reference = np.stack([cache.get(embedder, p) for p in references])
        overall["frechet_distance"] = frechet_distance(generated, reference)
        overall["audio_backend"] = embedder.version
        fad = _fad(options.fad_backend, [r.audio for r in rows], references)
        if fad is not None:
            overall["fad_vggish"] = fad
    if "rhythm" in options.metrics:
        _rhythm(rows, clips, overall)
    similarity = None
    if "sim" in options.metrics or "retrieval" in options.metrics:
        if options.fit_projection:
            similarity = _projected(options, rows, cache)
        else:
            similarity = _semantic(options, rows, clips)
        _score(options, similarity, clips, overall)
    if cache.hits or cache.misses:
        logger.info("embeddings: %d computed, %d from the cache", cache.misses, cache.hits)
    if options.save_embeddings is not None:
        cache.save(options.save_embeddings)
    if "mix" in options.metrics:
        _mix(options, rows, clips, overall)
    outputs = outputs[:2]
    _write(outputs, clips, overall)
    from audio_creator.eval import plots

    outputs += plots.draw(options.output_dir, clips, similarity)
    return EvalResult(clips, overall, outputs, similarity)


def _fad(backend: str, generated: list[Path], references: list[Path]) -> float | None:
    """FAD (VGGish) by the `frechet_audio_distance` package, when asked for or (auto) when it
    is installed; its weights come from its own download, so offline it can fail: then auto
    says so in the log and leaves FAD out, an explicit request stops (exit code 3)."""
    import importlib.util
    import shutil
    import tempfile

    from audio_creator.errors import BackendUnavailable

    if backend == "none":
        return None
    if importlib.util.find_spec("frechet_audio_distance") is None:
        if backend == "auto":
            return None
        raise BackendUnavailable("--fad-backend frechet_audio_distance: the package is not "
                                 "installed (pip install frechet_audio_distance)")  # fmt: skip
    from frechet_audio_distance import FrechetAudioDistance

    with tempfile.TemporaryDirectory() as made, tempfile.TemporaryDirectory() as heard:
        for folder, files in ((made, generated), (heard, references)):
            for index, path in enumerate(files):
                shutil.copy(path, Path(folder) / f"{index:05d}{path.suffix}")
        try:
            fad = FrechetAudioDistance(model_name="vggish", sample_rate=16000, verbose=False)
            return float(fad.score(heard, made))
        except Exception as exc:  # its weights download, its own errors: none of ours
            if backend == "auto":
                logger.warning("FAD left out: frechet_audio_distance failed (%s)", exc)
                return None
            raise BackendUnavailable(f"frechet_audio_distance failed: {exc}") from exc


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
        analysis = analyse_video(row.video)  # decoded once: cuts, and motion without OpenCV
        clip.update(rhythm.measure(row.video, load(row.audio), analysis).summary())
    for key in ("motion_onset_r", "tempo_bpm", "cut_hit_rate"):
        values = [c[key] for c in clips if c.get(key) is not None]
        overall[f"mean_{key}"] = float(np.mean(values)) if values else None


def _mix(
    options: EvalOptions, rows: list[Any], clips: list[dict[str, Any]], overall: dict[str, Any]
) -> None:
    from audio_creator.audio import load
    from audio_creator.eval import mixing

    for row, clip in zip(rows, clips, strict=True):
        speech = load(row.speech) if row.speech is not None else None
        found = mixing.measure(load(row.audio), options.target_lufs, options.true_peak_dbtp, speech)
        clip.update(found)
    for key in ("integrated_lufs", "lufs_error", "true_peak_dbtp", "speech_to_music_lu", "estoi"):
        values = [c[key] for c in clips if c.get(key) is not None]
        if values:
            overall[f"mean_{key}"] = float(np.mean(values))


def _need_semantic() -> None:
    """CLIP and CLAP are here, or BackendUnavailable saying what is missing."""
    from audio_creator.errors import BackendUnavailable
    from audio_creator.music import semantic

    lack = semantic.missing()
    if lack is not None:
        raise BackendUnavailable(
            f"sim and retrieval compare picture and sound through CLIP and CLAP: {lack} "
            "(or fit a projection on your pairs: --fit-projection)"
        )


def _semantic(options: EvalOptions, rows: list[Any], clips: list[dict[str, Any]]) -> Any:
    """CLIP's words for each video, CLAP's score of every soundtrack against them: the score
    matrix [videos, soundtracks]."""
    from audio_creator.audio import load
    from audio_creator.music import semantic

    _need_semantic()
    judge = semantic.SemanticJudge(device=options.device)
    descriptions = [judge.describe(r.video, options.num_video_frames) for r in rows]
    heard = [judge.hear(load(r.audio)) for r in rows]
    for clip, description in zip(clips, descriptions, strict=True):
        clip["words"] = description.text()
    return np.array([[judge.match(h, d) for h in heard] for d in descriptions])


def _projected(options: EvalOptions, rows: list[Any], cache: Any) -> Any:
    """Scores through ridge maps from the audio space to the video space, fitted on the
    pairs, each video's row by a map that has not seen it (`eval.projection`)."""
    from audio_creator import models
    from audio_creator.eval import embeddings, projection
    from audio_creator.music.neural import missing_packages

    embedder = embeddings.create(options.audio_backend, options.device)
    audio = np.stack([cache.get(embedder, r.audio) for r in rows])
    kind = options.video_backend
    if kind == "auto":
        clip_here = missing_packages() is None and models.missing("clip-vit-b32") is None
        kind = "clip" if clip_here else "analysis"
    if kind == "clip":
        frames = projection.ClipFrames(options.num_video_frames, options.device)
        video = np.stack([frames(r.video) for r in rows])
    else:
        video = np.stack([projection.analysis_features(r.video) for r in rows])
    logger.info("projection: %s audio → %s video, %d pairs", embedder.version, kind, len(rows))
    return projection.scores(video, audio)


def _score(
    options: EvalOptions, matrix: Any, clips: list[dict[str, Any]], overall: dict[str, Any]
) -> None:
    """sim (each right pair's score) and retrieval figures from the score matrix."""
    from audio_creator.eval.metrics import retrieval

    for clip, score in zip(clips, np.diag(matrix), strict=True):
        clip["sim"] = float(score)
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
