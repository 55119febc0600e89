"""General MIDI SoundFonts: the one bundled with `pretty_midi`, and better ones the machine has.

The bundled TimGM6mb (6 MB) always works; many machines have a richer General MIDI bank, and one
package install gets one (Debian and Ubuntu: `musescore-general-soundfont-small` or
`fluid-soundfont-gm`; Homebrew: `fluid-synth`'s fonts, or any SF2/SF3 copied into a folder
below). The composer renders with the best one found unless `--soundfont` names a file.

Looked for in the folders where platforms install SoundFonts, then the user's own, then the
models folder's `soundfonts/` (`AUDIO_CREATOR_SOUNDFONT_DIRS`, a list of folders separated like
PATH, replaces them all). A font is only chosen by itself when it is a General MIDI bank that
works here: it has every program the styles play in bank 0 and a drum kit in bank 128 (read from
its preset headers, the `phdr` chunk, without reading its samples), and each of them sounds when
TinySoundFont plays a note of it in the range the styles use (a probe, run once per font file
and remembered in the models folder: MuseScore General's piano, for one, is silent there).
Among those, SF2 files come before SF3 (TinySoundFont decodes an SF3's compressed samples every
time it loads one: 3.6 s for MuseScore General against 0.4 s for FluidR3 GM's 141 MB), then
known fonts by their known quality (MuseScore General, FluidR3 GM, GeneralUser GS), then others
by size. A program a font lacks, or that is silent in it, is played by the bundled font.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import struct
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from audio_creator.errors import BackendUnavailable, MediaError

logger = logging.getLogger(__name__)

ENVIRONMENT = "AUDIO_CREATOR_SOUNDFONT_DIRS"
SUFFIXES = (".sf2", ".sf3")
DRUM_BANK = 128
# Known General MIDI fonts, best first (a file whose name starts with one of these).
KNOWN = ("musescore_general", "fluidr3_gm", "generaluser", "timgm6mb")


def _platform_folders() -> list[Path]:
    home = Path.home()
    folders = [Path("/usr/share/sounds/sf3"), Path("/usr/share/sounds/sf2"),
               Path("/usr/share/soundfonts"), Path("/usr/local/share/soundfonts"),
               home / ".local/share/soundfonts",
               home / ".fluidsynth"]  # fmt: skip
    if sys.platform == "darwin":
        folders += [Path("/opt/homebrew/share/soundfonts"), Path("/opt/homebrew/share/fluid-synth"),
                    home / "Library/Audio/Sounds/Banks"]  # fmt: skip
    return folders


def search_folders() -> list[Path]:
    """Where SoundFonts are looked for, in order."""
    chosen = os.environ.get(ENVIRONMENT)
    if chosen is not None:
        return [Path(p).expanduser() for p in chosen.split(os.pathsep) if p]
    from audio_creator import models

    return [*_platform_folders(), models.models_dir() / "soundfonts"]


def programs_used() -> frozenset[int]:
    """Every General MIDI program a style plays (bank 0)."""
    from audio_creator.music.procedural.styles import STYLES

    used: set[int] = set()
    for style in STYLES.values():
        used.update(p for p in (style.pad, style.bass, style.lead, style.lead_alt, style.rhythm)
                    if p is not None)  # fmt: skip
    return frozenset(used)


@dataclass(frozen=True)
class SoundFontInfo:
    """One SoundFont file and what it holds."""

    path: Path
    size_bytes: int
    presets: frozenset[tuple[int, int]]  # (bank, program)
    bundled: bool = False
    silent: frozenset[int] = frozenset()  # programs it has that make no sound here (-1: drums)

    @property
    def name(self) -> str:
        return self.path.name

    def missing_programs(self, wanted: frozenset[int] | None = None) -> list[int]:
        """The programs of `wanted` (default: the styles') that bank 0 lacks."""
        return sorted(p for p in (wanted or programs_used()) if (0, p) not in self.presets)

    @property
    def has_drums(self) -> bool:
        return any(bank == DRUM_BANK for bank, _ in self.presets)

    @property
    def general_midi(self) -> bool:
        """Fit to be chosen by itself: every program the styles play, and a drum kit, each of
        which sounds."""
        return not self.missing_programs() and self.has_drums and not self.silent

    def rank(self) -> tuple[int, int, int]:
        """Sort key, best first: SF2 before SF3, known fonts by their known quality, then
        bigger ones."""
        stem = self.path.name.lower().replace("-", "_").replace(" ", "_")
        known = next((k for k, name in enumerate(KNOWN) if stem.startswith(name)), len(KNOWN))
        return int(self.path.suffix.lower() == ".sf3"), known, -self.size_bytes


def read_presets(path: Path) -> frozenset[tuple[int, int]]:
    """The (bank, program) of every preset in an SF2/SF3 file, from its preset headers.

    Raises:
        MediaError: not a SoundFont, or a damaged one.
    """
    try:
        with path.open("rb") as handle:
            head = handle.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"sfbk":
                raise MediaError(f"{path} is not a SoundFont (SF2/SF3 files start with RIFF…sfbk)")
            end = 8 + struct.unpack("<I", head[4:8])[0]
            records = _find_chunk(handle, 12, end, (b"pdta", b"phdr"))
    except OSError as exc:
        raise MediaError(f"cannot read the SoundFont {path}: {exc}") from exc
    if records is None or len(records) % 38:
        raise MediaError(
            f"{path} is not a usable SoundFont (a damaged SoundFont: no preset headers)"
        )
    presets = set()
    for offset in range(0, len(records) - 38, 38):  # the last record only ends the list
        program, bank = struct.unpack_from("<HH", records, offset + 20)
        presets.add((bank, program))
    return frozenset(presets)


def _find_chunk(handle: BinaryIO, start: int, end: int, path: tuple[bytes, bytes]) -> bytes | None:
    """The body of sub-chunk `path[1]` of the LIST chunk of type `path[0]`, between `start`
    and `end`; every other chunk is skipped over, not read."""
    position = start
    while position + 8 <= end:
        handle.seek(position)
        header = handle.read(8)
        if len(header) < 8:
            return None
        kind, size = header[:4], struct.unpack("<I", header[4:])[0]
        body = position + 8
        if kind == b"LIST" and handle.read(4) == path[0]:
            inner = body + 4
            while inner + 8 <= body + size:
                handle.seek(inner)
                sub = handle.read(8)
                if len(sub) < 8:
                    return None
                sub_size = struct.unpack("<I", sub[4:])[0]
                if sub[:4] == path[1]:
                    found = handle.read(sub_size)
                    return found if len(found) == sub_size else None  # cut short
                inner = _next(handle, inner + 8 + sub_size, sub_size)
        position = _next(handle, body + size, size)
    return None


def _next(handle: BinaryIO, after: int, size: int) -> int:
    """Where the chunk after one of `size` bytes ending at `after` starts: RIFF pads an odd
    size with a byte, but some writers (MuseScore's SF3 among them) leave the pad out."""
    if not size & 1:
        return after
    handle.seek(after)
    unpadded = handle.read(4)  # a pad byte is zero: a chunk's name is printable
    return after if len(unpadded) == 4 and all(32 <= c < 127 for c in unpadded) else after + 1


def bundled_soundfont() -> Path:
    """The General MIDI SoundFont inside the installed `pretty_midi` package (TimGM6mb)."""
    import importlib.util

    spec = importlib.util.find_spec("pretty_midi")
    if spec is None or not spec.submodule_search_locations:
        raise BackendUnavailable(
            "the default SoundFont comes with the pretty_midi package: pip install pretty_midi "
            "(or give --soundfont PATH to an SF2/SF3 file)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "TimGM6mb.sf2"
    if not path.is_file():
        raise BackendUnavailable(f"pretty_midi is installed but {path} is missing; reinstall it")
    return path


def found() -> list[SoundFontInfo]:
    """Every readable SoundFont in the search folders and the bundled one, best first (fonts
    that are not General MIDI banks last)."""
    return list(_found(tuple(search_folders())))


@functools.cache
def _found(folders: tuple[Path, ...]) -> tuple[SoundFontInfo, ...]:
    seen: set[Path] = set()
    fonts = []
    candidates = [(p, False) for folder in folders if folder.is_dir()
                  for p in sorted(folder.iterdir()) if p.suffix.lower() in SUFFIXES]  # fmt: skip
    try:
        candidates.append((bundled_soundfont(), True))
    except BackendUnavailable as exc:
        logger.debug("no bundled SoundFont: %s", exc)
    for path, bundled in candidates:
        real = path.resolve()
        if real in seen or not real.is_file():
            continue
        seen.add(real)
        try:
            presets = read_presets(real)
        except MediaError as exc:
            logger.warning("skipping %s: %s", path, exc)
            continue
        font = SoundFontInfo(path, real.stat().st_size, presets, bundled)
        if not bundled and not font.missing_programs() and font.has_drums:
            font = SoundFontInfo(path, font.size_bytes, presets, False, silent_programs(real))
        fonts.append(font)
    return tuple(sorted(fonts, key=lambda f: (not f.general_midi, f.bundled, *f.rank())))


PROBE_DBFS = -60.0  # a note quieter than this (RMS over its first 0.3 s) makes no sound
PROBE_VERSION = 1  # bump when the probe changes: remembered verdicts are then made again


def silent_programs(path: Path) -> frozenset[int]:
    """The programs the styles play (and the drum kit, as -1) that `path` has but that make no
    sound when TinySoundFont plays a note of each in the range the styles use. Remembered per
    file (its path, size and time) in the models folder, so each font is probed once."""
    real = path.resolve()
    stat = real.stat()
    key = f"{real}|{stat.st_size}|{stat.st_mtime_ns}|{PROBE_VERSION}"
    remembered = _remembered()
    if key in remembered:
        return frozenset(remembered[key])
    silent = _probe(real)
    remembered[key] = sorted(silent)
    _remember(remembered)
    return silent


@functools.cache
def _silent_here(path: Path) -> frozenset[int]:
    try:
        return silent_programs(path)
    except (OSError, MediaError) as exc:
        logger.warning("cannot probe %s: %s", path, exc)
        return frozenset()


def _probe(path: Path) -> frozenset[int]:
    import numpy as np
    import tinysoundfont

    from audio_creator.music.procedural.styles import RANGES

    synth = tinysoundfont.Synth(samplerate=24000, gain=-6.0)
    try:
        sfid = synth.sfload(str(path))
    except Exception as exc:  # TinySoundFont's own exception type
        raise MediaError(f"{path} is not a usable SoundFont (SF2/SF3): {exc}") from exc
    presets = read_presets(path)
    silent = set()
    trials = [(p, 0, [sum(RANGES.get(p, (48, 72))) // 2]) for p in sorted(programs_used())]
    trials.append((-1, DRUM_BANK, [36, 38, 42]))  # the kit: kick, snare, hat
    for program, bank, keys in trials:
        preset = 0 if program < 0 else program
        if (bank, preset) not in presets:
            continue
        synth.program_select(0, sfid, bank, preset, is_drums=program < 0)
        loudest = -200.0
        for key in keys:
            synth.noteon(0, key, 100)
            block = np.frombuffer(synth.generate(7200), dtype=np.float32)
            synth.noteoff(0, key)
            synth.generate(24000)  # let it ring out before the next
            loudest = max(loudest, 10 * float(np.log10(np.mean(block**2) + 1e-20)))
        if loudest < PROBE_DBFS:
            silent.add(program)
    return frozenset(silent)


def _memory_file() -> Path:
    from audio_creator import models

    return models.models_dir() / "soundfonts" / ".probed.json"


def _remembered() -> dict[str, Any]:
    try:
        loaded = json.loads(_memory_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _remember(remembered: dict[str, Any]) -> None:
    from audio_creator.files import atomic_output

    target = _memory_file()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(target) as tmp:
            tmp.write_text(json.dumps(remembered, indent=1) + "\n", encoding="utf-8")
    except OSError as exc:  # a read-only home: probe again next time
        logger.debug("cannot remember the SoundFont probe in %s: %s", target, exc)


def stand_ins(path: Path) -> frozenset[int]:
    """The programs the bundled font should play for `path`: those it has that are silent
    (probed once per font, as `silent_programs`; the bundled font itself is trusted)."""
    try:
        if path.resolve() == bundled_soundfont().resolve():
            return frozenset()
    except BackendUnavailable:
        return frozenset()
    return _silent_here(path.resolve())


def best_soundfont() -> Path:
    """The SoundFont the composer renders with when none is given: the best General MIDI font
    found here, else the bundled one."""
    fonts = found()
    chosen = next((f for f in fonts if f.general_midi), None)
    if chosen is None:
        return bundled_soundfont()
    if not chosen.bundled:
        logger.info("SoundFont: %s (the best General MIDI font found here)", chosen.path)
    return chosen.path
