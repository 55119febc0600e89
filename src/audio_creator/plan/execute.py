"""Rendering an `AudioScript`: every item made, brought to its loudness, placed and mixed.

speech first (its length is the voice's) → the timeline → music and effects at the lengths the
timeline gives them → each item to its `vol` (integrated loudness, true peak ≤ −1 dBTP) → the
mix: every item as placed, the music and effects (background, and foreground ones that overlap
it) ducked while speech plays → the programme's loudness target and true-peak ceiling.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from audio_creator.analysis.video import VideoAnalysis
from audio_creator.audio import Audio, load, open_wav_writer
from audio_creator.audio_source import AudioFile, ClipStore, StoredClip, file_source
from audio_creator.cores import cores
from audio_creator.errors import AudioCreatorError
from audio_creator.plan.effects import effect_blocks, render_effect
from audio_creator.plan.script import AudioScript, Character, ScriptItem
from audio_creator.plan.timeline import Placed, Timeline, place

logger = logging.getLogger(__name__)
Progress = Callable[[float, str], None]

RATE = 48000
ITEM_CEILING_DBTP = -1.0
SHORTEST_MEASURABLE_S = 0.4  # one gating block of BS.1770
LONG_ITEM_S = 120.0  # longer items are rendered on disk when the caller gives a folder
IN_MEMORY_ITEMS_BYTES = 256 * 2**20  # past this, rendered items wait on disk for the mix
POOL_FROM_ITEMS = 256  # short effects are rendered on every core from this many on


@dataclass(frozen=True)
class RenderedItem:
    """One item as rendered: where it plays and how loud it came out."""

    index: int
    audio_type: str
    desc: str
    start_s: float
    end_s: float
    vol: float
    measured_lufs: float | None  # None: silent, or too short to measure


@dataclass
class Rendering:
    """The rendered items on their timeline, ready to mix."""

    timeline: Timeline
    audio: dict[int, Audio | AudioFile | StoredClip]  # by script index; silent ones are absent
    items: list[RenderedItem]
    warnings: list[str] = field(default_factory=list)


def render_items(
    script: AudioScript,
    scratch: Path,
    *,
    analysis: VideoAnalysis | None = None,
    seed: int = 0,
    progress: Progress | None = None,
    spill: Path | None = None,
) -> Rendering:
    """Render every item of `script` (speech WAVs pass through `scratch`, removed after).

    Items longer than LONG_ITEM_S (a bed under a long video, its music) are rendered and set to
    their loudness on disk, in the caller's folder `spill`, when it names one: memory then stays
    a few blocks whatever their length. Likewise, once the items in memory pass
    IN_MEMORY_ITEMS_BYTES, the rest wait for the mix in one file there: a script of 20,000 items
    holds a few of them at a time. The files must outlive the mix.
    """
    warnings: list[str] = []
    audio: dict[int, Audio | AudioFile | StoredClip] = {}
    kept = _Keeper(spill)
    try:
        voices = _Voices(script.characters, warnings)
        for index, item in enumerate(script.items):
            if item.audio_type == "speech":
                audio[index] = kept(voices.speak(item, scratch))
        lengths = {i: audio[i].duration_s for i in audio}
        for index, item in enumerate(script.items):
            if item.audio_type != "speech" and item.len is not None:
                lengths[index] = item.len
        cuts = analysis.cuts_s if analysis is not None else ()
        timeline = place(script, lengths, cuts)
        warnings += timeline.warnings
        items: list[RenderedItem] = []
        short = [
            (p.item.desc, p.length_s, seed + p.index, p.item.vol)
            for p in timeline.placed
            if _is_short_effect(p)
        ]
        with contextlib.closing(_short_effects(short)) as finished:
            for count, placed in enumerate(timeline.placed, start=1):
                if _is_short_effect(placed):
                    set_, measured, note = next(finished)
                    items.append(_record(placed, set_, measured, note, audio, kept, warnings))
                else:
                    made = kept.release(audio.pop(placed.index, None))
                    if placed.item.audio_type != "speech":
                        made = _music_or_effect(placed, analysis, seed + placed.index, spill)
                    items.append(_finish(placed, made, audio, kept, warnings, spill))
                if progress is not None:
                    progress(count / len(timeline.placed), "rendering")
    finally:
        kept.close()
    return Rendering(timeline, audio, items, warnings)


def _is_short_effect(placed: Placed) -> bool:
    return placed.item.audio_type == "sound_effect" and placed.length_s <= LONG_ITEM_S


def _short_effects(
    jobs: Sequence[tuple[str | None, float, int, float]],
) -> Generator[tuple[Audio | None, float | None, str | None], None, None]:
    """`_short_effect` for each job, in order; on every core for a script of many items (each
    is independent: rendering them is most of a long script's work)."""
    workers = min(cores(), 8)
    context = _fork_context()
    if len(jobs) < POOL_FROM_ITEMS or workers < 2 or context is None:
        yield from map(_short_effect, jobs)
        return
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_quiet_worker)
    try:
        chunk = max(1, min(64, len(jobs) // workers // 8))
        yield from pool.map(_short_effect, jobs, chunksize=chunk)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _fork_context() -> multiprocessing.context.BaseContext | None:
    """Workers forked from this process where that is safe: on Linux, from a process that may
    have children (a web job's may not), with no other thread running (a thread could hold a
    lock that the children would inherit held). None elsewhere: a spawned worker would run the
    caller's main module again, which a script without a `__main__` guard does not survive."""
    if sys.platform != "linux" or threading.active_count() > 1:
        return None
    if multiprocessing.current_process().daemon:
        return None
    return multiprocessing.get_context("fork")


def _quiet_worker() -> None:
    """A worker leaves Ctrl-C to the command (which stops the pool), dies on SIGTERM, and leaves
    its notes to the command's warnings."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
    logging.getLogger("audio_creator").setLevel(logging.ERROR)


def _short_effect(
    job: tuple[str | None, float, int, float],
) -> tuple[Audio | None, float | None, str | None]:
    """A sound effect (`desc`, length, seed, `vol`) made in memory and set to its loudness."""
    desc, length_s, seed, vol = job
    samples = render_effect(desc or "", length_s, RATE, seed)
    if samples is None:
        return None, None, None
    made, measured, note = _to_loudness(Audio(samples, RATE), vol)
    assert isinstance(made, Audio)  # what is in memory stays there
    return made, measured, note


def _finish(
    placed: Placed,
    made: Audio | AudioFile | StoredClip | None,
    audio: dict[int, Audio | AudioFile | StoredClip],
    kept: _Keeper,
    warnings: list[str],
    spill: Path | None,
) -> RenderedItem:
    """Item `placed`, as `made`, brought to its loudness and kept in `audio` for the mix."""
    if made is None:
        return _record(placed, None, None, None, audio, kept, warnings)
    if isinstance(made, StoredClip):  # a line spoken earlier, waiting on disk
        made = Audio(made.read(0, made.frames), made.sample_rate)
    return _record(placed, *_to_loudness(made, placed.item.vol, spill), audio, kept, warnings)


def _record(
    placed: Placed,
    made: Audio | AudioFile | None,
    measured: float | None,
    note: str | None,
    audio: dict[int, Audio | AudioFile | StoredClip],
    kept: _Keeper,
    warnings: list[str],
) -> RenderedItem:
    """Item `placed`, `made` at its loudness (None: no sound), kept in `audio` for the mix."""
    item = placed.item
    if made is None and item.audio_type != "speech":
        warnings.append(f"item {placed.index + 1}: no sound for {item.desc!r}; silent")
    if note:
        warnings.append(f"item {placed.index + 1} ({item.desc or item.audio_type}): {note}")
    if made is not None:
        audio[placed.index] = kept(made)
    return RenderedItem(
        placed.index, item.audio_type, item.desc or (item.text or ""), placed.start_s,
        placed.end_s, item.vol, measured,
    )  # fmt: skip


class _Keeper:
    """Keeps rendered items in memory up to IN_MEMORY_ITEMS_BYTES, the rest in a `ClipStore`
    in `spill` (in memory, all of them, without one)."""

    def __init__(self, spill: Path | None) -> None:
        self._spill, self._held = spill, 0
        self._store: ClipStore | None = None

    def __call__(self, clip: Audio | AudioFile) -> Audio | AudioFile | StoredClip:
        if not isinstance(clip, Audio) or self._spill is None:
            return clip
        if self._held + clip.samples.nbytes <= IN_MEMORY_ITEMS_BYTES:
            self._held += clip.samples.nbytes
            return clip
        if self._store is None:
            self._store = ClipStore(self._spill)
        return self._store.add(clip)

    def release(
        self, clip: Audio | AudioFile | StoredClip | None
    ) -> Audio | AudioFile | StoredClip | None:
        """`clip`, taken back (its memory no longer counted)."""
        if isinstance(clip, Audio) and self._spill is not None:
            self._held -= clip.samples.nbytes
        return clip

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


def mix_rendering(
    rendering: Rendering,
    output: Path,
    *,
    target_lufs: float,
    true_peak_dbtp: float,
    ducking_db: float = 8.0,
    duration_s: float | None = None,
) -> dict[str, Any]:
    """Mix the rendered items into `output` (WAV); returns the mix report as a dict."""
    from dataclasses import asdict

    from audio_creator.errors import ConfigError
    from audio_creator.mix.ducking import DuckingOptions
    from audio_creator.mix.mixer import MixOptions, Track, mix_to_file

    speech: list[Track] = []
    under: list[Track] = []
    for placed in rendering.timeline.placed:
        clip = rendering.audio.get(placed.index)
        if clip is None:
            continue
        track = Track(clip, placed.start_s)
        (speech if placed.item.audio_type == "speech" else under).append(track)
    if not speech and not under:
        raise ConfigError("the script made no sound at all (every item was silent or left out)")
    options = MixOptions(
        target_lufs=target_lufs,
        true_peak_dbtp=true_peak_dbtp,
        # Each item already has its loudness: the mix keeps their balance, ducks the music and
        # effects under the speech, and sets the whole programme's level.
        speech_over_music_lu=-60.0,
        ducking=DuckingOptions(depth_db=ducking_db, hold_s=1.0),
        music_fit="pad",
        fade_in_s=0.0,
        fade_out_s=0.5,
        duration_s=duration_s or rendering.timeline.duration_s,
    )
    return asdict(mix_to_file(under, speech, options, output))


class _Voices:
    """One engine per character's voice (and per other script its lines are in), made when
    first needed."""

    def __init__(self, characters: dict[str, Character], warnings: list[str]) -> None:
        self._characters = characters
        self._engines: dict[tuple[str, str | None, str | None], tuple[Any, Any]] = {}
        self._warnings = warnings
        self._unknown: set[str] = set()

    def speak(self, item: ScriptItem, scratch: Path) -> Audio:
        from audio_creator.speech import SpeechOptions, create_engine
        from audio_creator.speech.language import needed_writing
        from audio_creator.speech.narrate import choose_voice, narrate_to_file
        from audio_creator.speech.script import detect

        character = self._characters.get(item.character or "")
        if character is None:
            if item.character and item.character not in self._unknown:
                self._unknown.add(item.character)
                self._warnings.append(
                    f"no voice is set for {item.character!r}: the default voice speaks it"
                )
            character = Character()
        speech_options = SpeechOptions(
            speed=character.speed, language=character.language, speaker=character.speaker
        )
        text = item.text or ""
        # A line in another script than the character's voice reads (Arabic, Chinese…) goes to
        # a voice that speaks it when the character leaves the choice open (auto, no language).
        writing = None
        if character.engine == "auto" and character.language is None and not character.voice:
            writing = needed_writing(detect(text))
        key = (character.engine, character.voice, writing.language if writing else None)
        if key not in self._engines:
            options = {"voice": character.voice} if character.voice else {}
            if writing is not None:
                self._engines[key] = choose_voice(text, "auto", speech_options)
            else:
                engine = create_engine(character.engine, language=character.language, **options)
                self._engines[key] = (engine, speech_options)
        engine, chosen = self._engines[key]
        if writing is not None:  # the chosen language, the character's own speed and speaker
            speech_options = replace(speech_options, language=chosen.language)
        try:
            narrate_to_file(text, engine, scratch, speech_options)
            spoken = load(scratch)
        finally:
            scratch.unlink(missing_ok=True)
        return spoken


def _music_or_effect(
    placed: Placed, analysis: VideoAnalysis | None, seed: int, spill: Path | None
) -> Audio | AudioFile | None:
    """A long sound effect (a bed) or a music item, made at its own level."""
    item = placed.item
    if item.audio_type == "sound_effect":
        if spill is None:
            samples = render_effect(item.desc, placed.length_s, RATE, seed)
            return None if samples is None else Audio(samples, RATE)
        blocks = effect_blocks(item.desc, placed.length_s, RATE, seed)
        if blocks is None:
            return None
        path = _spill_file(spill, ".effect.wav")
        with open_wav_writer(path, RATE, 2, 32) as write:
            for block in blocks:
                write(block)
        return file_source(path)
    from audio_creator.music import MusicRequest, create_backend

    backend = create_backend("auto")
    # Made at the backend's own level; `_to_loudness` then brings it to the item's `vol`.
    request = MusicRequest(
        placed.length_s, _slice(analysis, placed), prompt=item.desc or None, seed=seed,
        spill_dir=spill,
    )  # fmt: skip
    return backend.generate(request).audio


def _spill_file(folder: Path, suffix: str) -> Path:
    fd, name = tempfile.mkstemp(dir=folder, prefix="item.", suffix=suffix)
    os.close(fd)
    return Path(name)


def _slice(analysis: VideoAnalysis | None, placed: Placed) -> VideoAnalysis | None:
    """The video's analysis when the music covers the video from its start, else None (the
    composer follows a picture from 0 s)."""
    if analysis is None or placed.start_s > 0.05:
        return None
    return analysis


def _to_loudness(
    clip: Audio | AudioFile, vol: float, spill: Path | None = None
) -> tuple[Audio | AudioFile, float | None, str | None]:
    """`clip` at integrated loudness `vol` with its true peak ≤ ITEM_CEILING_DBTP; the loudness
    it reached (None for silence); and a note when `vol` could not be reached.

    A clip shorter than one 400 ms gating block is measured (and set) as a meter measures it:
    padded with silence to one block. A clip on disk is set on disk, into a new file in `spill`
    (the old one is removed).
    """
    if isinstance(clip, AudioFile):
        return _file_to_loudness(clip, vol, spill or clip.path.parent)
    from audio_creator.dsp.loudness import integrated_lufs
    from audio_creator.dsp.master import master_in_place
    from audio_creator.dsp.true_peak import true_peak_dbtp

    frames = clip.frames
    block = max(frames, round(SHORTEST_MEASURABLE_S * clip.sample_rate))
    samples = np.zeros((clip.channels, block), np.float32)
    samples[:, :frames] = clip.samples
    if not np.any(samples):
        return clip, None, None
    quick = _one_gain(samples, clip.sample_rate, vol)
    if quick is not None:
        return Audio(quick[0][:, :frames], clip.sample_rate), quick[1], None
    note = None
    original = samples.copy()
    # Too dense or too sparse a sound may not reach `vol` under the ceiling (the limiter takes
    # off only so much): then as loud as it goes, in 1 LU steps down.
    for target in _targets(vol):
        try:
            reached = master_in_place(
                samples, clip.sample_rate, target_lufs=float(target),
                true_peak_dbtp=ITEM_CEILING_DBTP,
            ).integrated_lufs  # fmt: skip
            break
        except AudioCreatorError:
            samples[...] = original
    else:  # not even 25 LU under: just its peaks at the ceiling
        peak = true_peak_dbtp(Audio(samples, clip.sample_rate))
        samples *= np.float32(10 ** ((ITEM_CEILING_DBTP - 0.05 - peak) / 20))
        reached = integrated_lufs(Audio(samples, clip.sample_rate))
    if reached is None:  # cannot be: the clip was not silent
        return clip, None, None
    if abs(reached - vol) > 1.0:
        note = f"reached {reached:.1f} LUFS of the {vol:g} asked (its peaks allow no more)"
    return Audio(samples[:, :frames], clip.sample_rate), reached, note


def _one_gain(
    samples: npt.NDArray[np.float32], rate: int, vol: float
) -> tuple[npt.NDArray[np.float32], float] | None:
    """`samples` scaled by one gain to integrated loudness `vol`, and the loudness reached, when
    that gain provably keeps the true peak under ITEM_CEILING_DBTP; else None (the limiter must
    decide). Exact and cheap: K-weighting is linear, so one measurement gives the gain, and the
    oversampler's worst-case gain over the largest sample bounds the true peak without
    oversampling. What most short effects of a script take (thousands of them)."""
    from audio_creator.dsp.loudness import integrated_lufs
    from audio_creator.dsp.true_peak import interpolator, oversampling_factor

    lufs = integrated_lufs(Audio(samples, rate))
    if not np.isfinite(lufs):  # under the meter's absolute gate
        return None
    gain = 10 ** ((vol - lufs) / 20)
    factor = oversampling_factor(rate)
    bound = interpolator(factor)[1] if factor > 1 else 1.0
    if float(np.abs(samples).max()) * gain * bound > 10 ** (ITEM_CEILING_DBTP / 20):
        return None
    return samples * np.float32(gain), vol


def _file_to_loudness(
    clip: AudioFile, vol: float, spill: Path
) -> tuple[AudioFile, float | None, str | None]:
    """`_to_loudness` for a long clip on disk, streamed (see `master_to_file`)."""
    from audio_creator.dsp.master import master_to_file

    out = _spill_file(spill, ".wav")
    try:
        for target in _targets(vol):
            try:
                report = master_to_file(
                    clip, out, target_lufs=float(target), true_peak_dbtp=ITEM_CEILING_DBTP,
                    bit_depth=32,
                )  # fmt: skip
                break
            except AudioCreatorError:
                continue
        else:  # a long clip that cannot be mastered at all: as it was (the mix limits it)
            out.unlink(missing_ok=True)
            return clip, None, "its loudness could not be set; it is mixed as it was made"
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    clip.path.unlink(missing_ok=True)
    reached = report.integrated_lufs
    note = None
    if reached is not None and abs(reached - vol) > 1.0:
        note = f"reached {reached:.1f} LUFS of the {vol:g} asked (its peaks allow no more)"
    return file_source(out), reached, note


def _targets(vol: float) -> npt.NDArray[np.float64]:
    return np.arange(vol, vol - 25.0, -1.0)


__all__: Sequence[str] = ["RenderedItem", "Rendering", "mix_rendering", "render_items"]
