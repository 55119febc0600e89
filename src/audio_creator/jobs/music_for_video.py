"""The vidmuse job: a video in, music that follows it out (WAV; MIDI and a muxed video if asked).

analyse the video → make one or more candidates with a music backend → rank them by how well
they fit the picture → write the best (and the next best, if asked) → put the best into a copy
of the video.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from audio_creator.analysis.video import Progress, VideoAnalysis, analyse_video
from audio_creator.audio import Audio, save
from audio_creator.audio_source import AudioFile, file_source
from audio_creator.errors import ConfigError, require_finite
from audio_creator.files import check_output_path
from audio_creator.jobs.options import MAX_RERANK
from audio_creator.media.probe import SHORTEST_VIDEO_S, VideoInfo, probe
from audio_creator.music.backend import GeneratedMusic, Sampling
from audio_creator.music.rerank import Ranked, Term

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
    candidate_outputs: tuple[Path, ...] = ()  # where the 2nd … best go; () for stem.2.wav, …
    soundfont: Path | None = None
    lora: Path | None = None  # an adapter for a neural backend (`train-lora` makes them)
    lora_scale: float = 1.0  # how much of it: 0 is the base model, 1 as trained
    midi_out: Path | None = None
    merged_video: Path | None = None  # write the video with the music as its soundtrack here
    target_lufs: float = -18.0
    device: str = "auto"  # where a neural backend runs
    music_model: str | None = None  # a neural backend's weights (name or folder); None: default
    sampling: Sampling = field(default_factory=Sampling)

    def __post_init__(self) -> None:
        require_finite(
            duration=self.duration_s, target_lufs=self.target_lufs, lora_scale=self.lora_scale
        )
        if not 0.0 <= self.lora_scale <= 4.0:
            raise ConfigError(f"--lora-scale must be within 0–4, got {self.lora_scale}")
        if self.duration_s is not None and self.duration_s <= 0:
            raise ConfigError(f"--duration must be positive, got {self.duration_s}")
        if not -70.0 <= self.target_lufs <= -5.0:  # as the mix's: a level music can be made at
            raise ConfigError(f"--target-lufs must be within −70…−5 LUFS, got {self.target_lufs:g}")
        if not 1 <= self.rerank <= MAX_RERANK:
            raise ConfigError(f"--rerank must be 1–{MAX_RERANK} candidates, got {self.rerank}")
        if not 1 <= self.rerank_topk <= self.rerank:
            raise ConfigError(
                f"--rerank-topk must be between 1 and --rerank ({self.rerank}), "
                f"got {self.rerank_topk}"
            )
        if self.output.suffix.lower() != ".wav":
            raise ConfigError("music is written as WAV; give an output ending in .wav")
        if self.candidate_outputs and len(self.candidate_outputs) != self.rerank_topk - 1:
            raise ConfigError("give one path for each kept candidate after the best")

    def outputs(self) -> list[Path]:
        """The music files, best first: the output, then the other kept candidates."""
        rest = self.candidate_outputs or tuple(
            self.output.with_name(f"{self.output.stem}.{k}.wav")
            for k in range(2, self.rerank_topk + 1)
        )
        return [self.output, *rest]


@dataclass(frozen=True)
class VidmuseResult:
    """What was written, and what was decided."""

    outputs: tuple[Path, ...]  # music files, best first
    scores: tuple[dict[str, Any], ...]  # per written candidate, when several were ranked
    summary: dict[str, Any] = field(default_factory=dict)
    merged_video: Path | None = None
    beats_s: tuple[float, ...] = ()  # the best piece's beats, when its backend knows them
    backend: str = ""  # which backend made it
    music: Audio | AudioFile | None = None  # the best piece: in memory, or its written file


def run_vidmuse(
    options: VidmuseOptions,
    progress: Progress | None = None,
    analysis: VideoAnalysis | None = None,
    info: VideoInfo | None = None,
) -> VidmuseResult:
    """Make music for a video and write it (see the module docstring).

    Every input and output is checked before any work starts; if writing fails part-way, the
    outputs already written by this run are removed again. A caller that has probed and analysed
    the video already (the autopipeline) passes `info` and `analysis`, and the video is neither
    probed nor decoded again.
    """
    from audio_creator.music import MusicRequest, create_backend

    info = info or probe(options.video)  # inputs first: a bad input leaves nothing behind
    if options.duration_s is None and info.duration_s < SHORTEST_VIDEO_S:
        raise ConfigError(
            f"the video is {info.duration_s:.2f} s long; music for it needs at least "
            f"{SHORTEST_VIDEO_S:g} s (or give --duration)"
        )
    outputs = options.outputs()
    _check_outputs(options, outputs)
    backend_options: dict[str, Any] = {}
    if options.soundfont is not None:
        backend_options["soundfont"] = options.soundfont
    backend_name = options.backend
    if options.lora is not None:
        from audio_creator.music import lora

        if backend_name == "auto":  # the adapter says which model it belongs to
            backend_name = lora.kind_of(options.lora)
        backend_options.update(lora=options.lora, lora_scale=options.lora_scale)
    if options.music_model is not None:
        backend_options["model"] = options.music_model
    backend = create_backend(backend_name, device=options.device, **backend_options)
    logger.info("music backend: %s", backend.name)

    warm_up = getattr(backend, "warm_up", None)
    if warm_up is not None:  # the backend's imports load while the decoder works
        threading.Thread(target=warm_up, name="music-warm-up", daemon=True).start()
    if analysis is None:
        analysis = analyse_video(info, progress)
    duration = options.duration_s or analysis.duration_s
    logger.info(
        "video: %.2f s, %d hard cuts, %d gradual transitions",
        analysis.duration_s,
        len(analysis.cuts_s),
        len(analysis.transitions),
    )

    # A long piece is rendered on disk, in a hidden folder beside the output (gone at the end).
    with tempfile.TemporaryDirectory(dir=options.output.parent, prefix=".vidmuse.") as spill:

        def request(variation: int) -> MusicRequest:
            return MusicRequest(
                duration, analysis, style=options.style, prompt=options.prompt, seed=options.seed,
                variation=variation, target_lufs=options.target_lufs, sampling=options.sampling,
                video=info.path, spill_dir=Path(spill),
            )  # fmt: skip

        pieces: list[GeneratedMusic] = []
        batched = getattr(backend, "generate_many", None)
        if batched is not None and options.rerank > 1:  # neural: every candidate in one batch
            pieces = batched(request(0), options.rerank, progress)

        def make(variation: int) -> GeneratedMusic:
            return pieces[variation] if pieces else backend.generate(request(variation))

        kept = _best_candidates(
            make,
            analysis,
            options.rerank,
            options.rerank_topk,
            progress,
            _rerank_terms(options) if options.rerank > 1 else None,
        )
        best = kept[0][1]
        merged = _write_all(options, outputs, [music for _, music in kept], info)
    scores = tuple(
        {
            "candidate": r.index,
            "score": round(r.score, 4),
            **{k: round(v, 4) for k, v in r.terms.items()},
        }
        for r, _ in kept
        if options.rerank > 1
    )
    # The best piece as the caller may go on with it: still in memory when it is short; when it
    # was made on disk (gone with the spill folder now), the file just written.
    music = best.audio if isinstance(best.audio, Audio) else file_source(outputs[0])
    return VidmuseResult(
        tuple(outputs), scores, best.summary, merged, best.beats_s, best.backend, music
    )


def _check_outputs(options: VidmuseOptions, outputs: list[Path]) -> None:
    """Every output writable, none an input, no two the same, each of a kind we can write."""
    from audio_creator.media.mux import CONTAINERS

    extra = [p for p in (options.midi_out, options.merged_video) if p is not None]
    resolved = [p.expanduser().resolve() for p in outputs + extra]
    if len(set(resolved)) != len(resolved):
        raise ConfigError("two outputs would be the same file: give each output its own name")
    for path in outputs + extra:
        check_output_path(path, inputs=[options.video])
    if options.merged_video is not None and options.merged_video.suffix.lower() not in CONTAINERS:
        raise ConfigError(
            f"cannot write a video to {options.merged_video.name}: "
            f"use one of {', '.join(sorted(CONTAINERS))}"
        )
    if options.midi_out is not None and options.midi_out.suffix.lower() not in (".mid", ".midi"):
        raise ConfigError(f"MIDI is written to a .mid file, not {options.midi_out.name}")


def _rerank_terms(options: VidmuseOptions) -> dict[str, tuple[float, Term]]:
    """The rhythmic terms, and the semantic one when CLIP's and CLAP's weights are here."""
    from audio_creator.music import semantic
    from audio_creator.music.rerank import RHYTHMIC_TERMS

    lack = semantic.missing()
    if lack is not None:
        logger.info("rerank: rhythm only (the semantic term needs CLIP and CLAP: %s)", lack)
        return dict(RHYTHMIC_TERMS)
    try:
        term = semantic.semantic_term(options.video, device=options.device)
    except Exception as exc:  # weights that do not load: rank by rhythm, and say why
        logger.warning("rerank: rhythm only; CLIP or CLAP did not load: %s", exc)
        return dict(RHYTHMIC_TERMS)
    return {**RHYTHMIC_TERMS, "semantic": (0.5, term)}


def _best_candidates(
    make: Callable[[int], GeneratedMusic],
    analysis: VideoAnalysis,
    count: int,
    keep: int,
    progress: Progress | None,
    terms: dict[str, tuple[float, Term]] | None = None,
) -> list[tuple[Ranked, GeneratedMusic]]:
    """Make `count` candidates and keep the `keep` best, scoring each as it comes (so no more
    than `keep` + 1 pieces are in memory). One candidate needs no score."""
    from audio_creator.music.rerank import score

    kept: list[tuple[Ranked, GeneratedMusic]] = []
    for variation in range(count):
        music = make(variation)
        place = score(music.audio, analysis, variation, terms) if count > 1 else Ranked(0, 0.0, {})
        kept.append((place, music))
        kept.sort(key=lambda item: (-item[0].score, item[0].index))
        for _, dropped in kept[keep:]:
            if isinstance(dropped.audio, AudioFile):  # a long piece on disk: its space back now
                dropped.audio.path.unlink(missing_ok=True)
        del kept[keep:]
        if progress is not None:
            progress((variation + 1) / count, "composing")
    return kept


def _write_all(
    options: VidmuseOptions, outputs: list[Path], pieces: list[GeneratedMusic], info: VideoInfo
) -> Path | None:
    """Write the merged video, the MIDI and the WAVs; on failure, remove what was written."""
    from audio_creator.media.mux import mux

    written: list[Path] = []
    try:
        merged = None
        if options.merged_video is not None:
            # A --duration longer than the video keeps all its music: the picture holds.
            merged = mux(info, pieces[0].audio, options.merged_video, keep_longer_audio=True).path
            written.append(merged)
        if options.midi_out is not None:
            from audio_creator.music.procedural import save_midi

            save_midi(pieces[0], options.midi_out)
            written.append(options.midi_out)
        for path, music in zip(outputs, pieces, strict=True):
            written.append(save(music.audio, path))
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return merged
