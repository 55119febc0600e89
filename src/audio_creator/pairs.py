"""Manifests of video–soundtrack pairs, which training learns from and evaluation judges: each
video paired with its soundtrack, checked, as CSV.

`N.mp4` pairs with the audio file of the same stem beside it, whatever the case of either
extension (`N.WAV`, `n.Flac` for `N.MOV`…). Both must decode; their durations should agree (a
difference beyond 0.5 s is reported: the pair is kept, trimmed to the shorter; beyond 2 s, what
training refuses, it is left out). Pairs that do not decode, videos without a soundtrack and
soundtracks without a video are reported and left out.
The CSV has the columns `video_path,audio_path,duration` (absolute paths, seconds).

Training and evaluation read a manifest back with `read_manifest`, which checks every row before
any work: both files there and decoding, durations within a limit of each other. A manifest
may have a `text` column too (a description of each soundtrack, for MusicGen), a
`speech_path` column (the narration stem of a mix, for the evaluation's `mix` metric), and
relative paths (taken from the manifest's folder).
"""

from __future__ import annotations

import csv
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from audio_creator.errors import ConfigError, MediaError

logger = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi")
AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a", ".aac", ".aif", ".aiff")
TOLERANCE_S = 0.5  # a manifest reports differences beyond this…
MISMATCH_LIMIT_S = 2.0  # …and training refuses those beyond this


@dataclass(frozen=True)
class Pair:
    video: Path
    audio: Path
    video_s: float
    audio_s: float

    @property
    def duration_s(self) -> float:
        return min(self.video_s, self.audio_s)


def find_pairs(folder: str | os.PathLike[str]) -> tuple[list[Pair], list[str]]:
    """The checked pairs in `folder` (sorted by video name) and what was left out, and why."""
    root = Path(folder)
    if not root.is_dir():
        raise ConfigError(f"{root} is not a folder of videos")
    files = sorted(p for p in root.iterdir() if p.is_file())
    audio_by_stem: dict[str, list[Path]] = {}
    for path in files:
        if path.suffix.lower() in AUDIO_SUFFIXES:
            audio_by_stem.setdefault(path.stem.lower(), []).append(path)
    pairs: list[Pair] = []
    problems: list[str] = []
    used: set[Path] = set()
    for video in (p for p in files if p.suffix.lower() in VIDEO_SUFFIXES):
        candidates = audio_by_stem.get(video.stem.lower(), [])
        if not candidates:
            problems.append(
                f"{video.name}: no audio file named {video.stem}.<wav|flac|…> beside it"
            )
            continue
        audio = min(candidates, key=lambda p: AUDIO_SUFFIXES.index(p.suffix.lower()))
        if len(candidates) > 1:
            problems.append(f"{video.name}: several soundtracks; took {audio.name}")
        used.update(candidates)
        try:
            pair = check_pair(video, audio)
        except MediaError as exc:
            problems.append(f"{video.name} + {audio.name}: left out, {exc}")
            continue
        apart = abs(pair.video_s - pair.audio_s)
        if apart > MISMATCH_LIMIT_S:  # one rule with training: what it would refuse stays out
            problems.append(
                f"{video.name} + {audio.name}: left out, durations differ by {apart:.2f} s "
                f"(training takes pairs at most {MISMATCH_LIMIT_S:g} s apart)"
            )
            continue
        if apart > TOLERANCE_S:
            problems.append(
                f"{video.name} + {audio.name}: durations differ by "
                f"{abs(pair.video_s - pair.audio_s):.2f} s (kept, trimmed to the shorter)"
            )
        pairs.append(pair)
    for stems in audio_by_stem.values():
        problems += [f"{p.name}: no video named {p.stem}.<mp4|mov|…> beside it"
                     for p in stems if p not in used]  # fmt: skip
    return pairs, problems


def check_pair(video: Path, audio: Path) -> Pair:
    """Both decode (the video's first frame, the whole audio); their durations."""
    from audio_creator.audio import load
    from audio_creator.media.frames import frames_at
    from audio_creator.media.probe import probe

    info = probe(video)
    if not frames_at(video, [0.0], short_side=64):
        raise MediaError(f"{video.name} has no picture that decodes")
    sound = load(audio)
    if sound.frames == 0:
        raise MediaError(f"{audio.name} holds no sound")
    return Pair(video.resolve(), audio.resolve(), info.duration_s, sound.duration_s)


def write_manifest(pairs: list[Pair], output: str | os.PathLike[str]) -> Path:
    """The CSV, written whole or not at all."""
    from audio_creator.files import atomic_output, check_output_path

    path = check_output_path(output, inputs=[p for pair in pairs for p in (pair.video, pair.audio)])
    with atomic_output(path) as temporary, temporary.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["video_path", "audio_path", "duration"])
        for pair in pairs:
            writer.writerow([str(pair.video), str(pair.audio), f"{pair.duration_s:.3f}"])
    return path


@dataclass(frozen=True)
class Row:
    """One training example: a video, its soundtrack, how much of both to use."""

    video: Path
    audio: Path
    duration_s: float
    text: str | None = None
    speech: Path | None = None  # the narration stem, when the soundtrack is a mix


def read_manifest(
    path: str | os.PathLike[str], mismatch_limit_s: float = MISMATCH_LIMIT_S
) -> list[Row]:
    """The checked rows of a manifest. Every problem in it is reported at once (ConfigError)."""
    from audio_creator.files import check_input_file

    manifest = check_input_file(path, what="manifest")
    try:
        with manifest.open(newline="", encoding="utf-8") as f:
            records = list(csv.DictReader(f))
            columns = set(records[0]) if records else set()
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"{manifest} is not a readable CSV manifest ({exc})") from exc
    if not records:
        raise ConfigError(f"{manifest} lists no video–audio pairs")
    if not {"video_path", "audio_path"} <= columns:
        raise ConfigError(f"{manifest} needs the columns video_path,audio_path (has: "
                          f"{','.join(sorted(c for c in columns if c))})")  # fmt: skip
    rows: list[Row] = []
    problems: list[str] = []
    for line, record in enumerate(records, start=2):
        try:
            rows.append(_checked_row(record, manifest.parent, mismatch_limit_s))
        except (ConfigError, MediaError) as exc:
            problems.append(f"line {line}: {exc}")
    if problems:
        shown = "\n  ".join(problems[:10]) + ("\n  …" if len(problems) > 10 else "")
        raise ConfigError(f"{manifest}: {len(problems)} bad row(s):\n  {shown}")
    return rows


def _checked_row(record: dict[str, str], base: Path, mismatch_limit_s: float) -> Row:
    def where(column: str) -> Path:
        text = (record.get(column) or "").strip()
        if not text:
            raise ConfigError(f"no {column}")
        found = Path(text).expanduser()
        found = found if found.is_absolute() else base / found
        if not found.is_file():
            raise MediaError(f"{column} {found} not found")
        return found

    pair = check_pair(where("video_path"), where("audio_path"))
    gap = abs(pair.video_s - pair.audio_s)
    if gap > mismatch_limit_s:
        raise MediaError(
            f"{pair.video.name} lasts {pair.video_s:.2f} s but {pair.audio.name} "
            f"{pair.audio_s:.2f} s (more than {mismatch_limit_s:g} s apart)"
        )
    duration = pair.duration_s
    given = (record.get("duration") or "").strip()
    if given:
        try:
            duration = min(duration, float(given))
        except ValueError:
            raise ConfigError(f"duration {given!r} is not a number") from None
        if not duration > 0:
            raise ConfigError(f"duration {given} must be positive")
    text = (record.get("text") or "").strip() or None
    speech = where("speech_path") if (record.get("speech_path") or "").strip() else None
    return Row(pair.video, pair.audio, duration, text, speech)
