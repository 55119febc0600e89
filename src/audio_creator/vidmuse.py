"""The vidmuse job: a video in, music that follows it out (WAV; MIDI and a muxed video if asked).

analyse the video → make one or more candidates with a music backend → rank them by how well
they fit the picture → write the best (and the next best, if asked) → put the best into a copy
of the video.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from audio_creator.analysis.video import Progress, analyse_video
from audio_creator.audio import save
from audio_creator.errors import ConfigError, require_finite
from audio_creator.files import check_output_path
from audio_creator.media.probe import probe

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class VidmuseOptions:
    """One vidmuse run. Paths are checked before any work starts."""

    video: Path
    output: Path  # the music, WAV
    duration_s: float | None = None  # default: the video's length
    backend: str = "auto"
    style: str | None = None
    prompt: str | None = None
    seed: int = 0
    rerank: int = 1  # candidates to make
    rerank_topk: int = 1  # best ones to keep: output, then output stem.2.wav, …
    soundfont: Path | None = None
    lora: Path | None = None
    midi_out: Path | None = None
    merged_video: Path | None = None  # write the video with the music as its soundtrack here
    target_lufs: float = -18.0

    def __post_init__(self) -> None:
        require_finite(duration=self.duration_s, target_lufs=self.target_lufs)
        if self.duration_s is not None and self.duration_s <= 0:
            raise ConfigError(f"--duration must be positive, got {self.duration_s}")
        if self.rerank < 1:
            raise ConfigError(f"--rerank must be at least 1, got {self.rerank}")
        if not 1 <= self.rerank_topk <= self.rerank:
            raise ConfigError(
                f"--rerank-topk must be between 1 and --rerank ({self.rerank}), "
                f"got {self.rerank_topk}"
            )
        if self.output.suffix.lower() != ".wav":
            raise ConfigError("music is written as WAV; give an output ending in .wav")


@dataclass(frozen=True)
class VidmuseResult:
    """What was written, and what was decided."""

    outputs: tuple[Path, ...]  # music files, best first
    scores: tuple[dict[str, Any], ...]  # per written candidate, when several were ranked
    summary: dict[str, Any] = field(default_factory=dict)
    merged_video: Path | None = None


def run_vidmuse(options: VidmuseOptions, progress: Progress | None = None) -> VidmuseResult:
    """Make music for a video and write it (see the module docstring)."""
    from audio_creator.media.mux import mux
    from audio_creator.music import MusicRequest, create_backend
    from audio_creator.music.rerank import Ranked, rank

    info = probe(options.video)  # inputs first: a bad input leaves nothing behind
    outputs = [options.output] + [
        options.output.with_name(f"{options.output.stem}.{k}.wav")
        for k in range(2, options.rerank_topk + 1)
    ]
    extra = [p for p in (options.midi_out, options.merged_video) if p is not None]
    for path in outputs + extra:
        check_output_path(path, inputs=[options.video])
    backend_options: dict[str, Any] = {}
    if options.soundfont is not None:
        backend_options["soundfont"] = options.soundfont
    if options.lora is not None:
        backend_options["lora"] = options.lora
    backend = create_backend(options.backend, **backend_options)
    logger.info("music backend: %s", backend.name)

    warm_up = getattr(backend, "warm_up", None)
    if warm_up is not None:  # the backend's imports load while the decoder works
        threading.Thread(target=warm_up, name="music-warm-up", daemon=True).start()
    analysis = analyse_video(info.path, progress)
    duration = options.duration_s or analysis.duration_s
    logger.info(
        "video: %.2f s, %d hard cuts, %d gradual transitions",
        analysis.duration_s,
        len(analysis.cuts_s),
        len(analysis.transitions),
    )
    candidates = []
    for variation in range(options.rerank):
        request = MusicRequest(
            duration,
            analysis,
            style=options.style,
            prompt=options.prompt,
            seed=options.seed,
            variation=variation,
            target_lufs=options.target_lufs,
        )
        candidates.append(backend.generate(request))
        if progress is not None:
            progress((variation + 1) / options.rerank, "composing")
    # One candidate needs no ranking: its scores would only cost time.
    ranked = rank([c.audio for c in candidates], analysis) if len(candidates) > 1 else []
    kept = ranked[: options.rerank_topk] or [Ranked(0, float("nan"), {})]
    for path, place in zip(outputs, kept, strict=True):
        save(candidates[place.index].audio, path)
    best = candidates[kept[0].index]
    if options.midi_out is not None:
        from audio_creator.music.procedural import save_midi

        save_midi(best, options.midi_out)
    merged = None
    if options.merged_video is not None:
        merged = mux(options.video, best.audio, options.merged_video).path
    scores = tuple(
        {
            "candidate": r.index,
            "score": round(r.score, 4),
            **{k: round(v, 4) for k, v in r.terms.items()},
        }
        for r in ranked[: options.rerank_topk]
    )
    return VidmuseResult(tuple(outputs), scores, best.summary, merged)
