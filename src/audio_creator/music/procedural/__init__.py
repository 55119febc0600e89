"""The embedded default music backend: a composer that follows the picture, rendered with a
General MIDI SoundFont. Runs offline on a CPU in a fraction of the video's length."""

from __future__ import annotations

import importlib.util
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from audio_creator.audio import Audio
from audio_creator.audio_source import AudioFile
from audio_creator.errors import ConfigError
from audio_creator.files import check_input_file
from audio_creator.music.backend import GeneratedMusic, MusicRequest, Progress
from audio_creator.music.procedural.arrange import arrange
from audio_creator.music.procedural.harmony import NOTE_NAMES
from audio_creator.music.procedural.plan import plan_music
from audio_creator.music.procedural.render import default_soundfont, render, render_blocks
from audio_creator.music.procedural.score import Score, write_midi
from audio_creator.music.procedural.styles import (
    STYLES,
    Style,
    style_from_picture,
    style_from_prompt,
    style_named,
)

if TYPE_CHECKING:
    from audio_creator.dsp.master import MasterReport

logger = logging.getLogger(__name__)

SPILL_AFTER_S = 300.0  # longer pieces are rendered on disk when the request gives a folder

__all__ = ["STYLES", "ProceduralBackend", "Score", "choose_style", "missing_requirements"]


def missing_requirements() -> str | None:
    """What the procedural backend lacks here, or None."""
    if importlib.util.find_spec("tinysoundfont") is None:
        return "TinySoundFont is not installed: pip install --no-deps tinysoundfont"
    if importlib.util.find_spec("mido") is None:
        return "mido is not installed: pip install mido"
    return None


def choose_style(request: MusicRequest) -> tuple[Style, str]:
    """The style for a request, and why: named, from the prompt's words, or from the picture."""
    if request.style:
        return style_named(request.style), "--style"
    if request.prompt:
        found = style_from_prompt(request.prompt)
        if found is not None:
            return found, "the prompt"
    analysis = request.analysis
    if analysis is None:
        return STYLES["piano"], "default (no video)"
    energy = float(analysis.energy.mean()) if analysis.energy.size else 0.3
    brightness = float(analysis.brightness.mean()) if analysis.brightness.size else 0.5
    return style_from_picture(energy, brightness), "the picture"


class ProceduralBackend:
    """Compose (plan → arrangement → score) and render with a SoundFont."""

    name = "procedural"

    def __init__(
        self,
        soundfont: str | os.PathLike[str] | None = None,
        lora: str | os.PathLike[str] | None = None,
        lora_scale: float = 1.0,  # (refused with `lora` below)
        model: str | None = None,
        device: str = "auto",  # the composer runs on the CPU whatever is asked
    ) -> None:
        if model is not None:
            raise ConfigError(
                "--music-model names weights for a neural backend (musicgen, vidmuse); "
                "the procedural composer has none"
            )
        if lora is not None:
            raise ConfigError(
                "LoRA adapters apply to the neural music backends (musicgen, vidmuse); "
                "the procedural composer has no weights to adapt"
            )
        self.soundfont = _checked_soundfont(soundfont) if soundfont is not None else None

    def warm_up(self) -> None:
        """Import what rendering and mastering need. The vidmuse job calls this on a helper
        thread while the video decodes (SciPy's signal module alone takes most of a second)."""
        import mido  # noqa: F401
        import scipy.fft
        import scipy.ndimage
        import scipy.signal  # noqa: F401
        import tinysoundfont  # noqa: F401

    def compose(self, request: MusicRequest) -> tuple[Score, Style, str]:
        """The score for a request, without rendering it."""
        style, reason = choose_style(request)
        seed = request.seed * 1009 + request.variation
        plan = plan_music(request.analysis, request.duration_s, style, seed)
        return arrange(plan, seed), style, reason

    def generate(self, request: MusicRequest, progress: Progress | None = None) -> GeneratedMusic:
        """Compose, render and bring the piece to the requested loudness and peak ceiling.

        A piece longer than SPILL_AFTER_S is rendered and mastered on disk, in the request's
        `spill_dir`, when it names one: an hour of music then needs a few tens of MB.
        """
        score, style, reason = self.compose(request)
        if progress is not None:
            progress(0.1, f"rendering {style.name} music")
        font = self.soundfont or default_soundfont()
        audio: Audio | AudioFile
        if request.spill_dir is not None and request.duration_s > SPILL_AFTER_S:
            audio, mastered = _render_to_disk(score, style, font, request)
        else:
            from audio_creator.dsp.master import master_in_place

            samples = render(score, sample_rate=request.sample_rate, soundfont=font,
                             reverb=style.reverb)  # fmt: skip
            mastered = master_in_place(
                samples,
                request.sample_rate,
                target_lufs=request.target_lufs,
                true_peak_dbtp=request.true_peak_dbtp,
            )
            audio = Audio(samples, request.sample_rate)
        if progress is not None:
            progress(1.0, "music ready")
        grid = score.grid
        summary = {
            "style": style.name,
            "style_from": reason,
            "tempo_bpm": round(grid.nominal_bpm, 2),
            "tempo_changes": int((abs(grid.bpm[1:] - grid.bpm[:-1]) > 0.01).sum()),
            "key": f"{NOTE_NAMES[score.key_root]} {score.mode}",
            "cuts_on_beat": round(grid.cuts_on_beat, 3),
            "soundfont": Path(font).name,
            "loudness_lufs": _rounded(mastered.integrated_lufs),
            "true_peak_dbtp": _rounded(mastered.true_peak_dbtp),
        }
        logger.info("procedural music: %s", summary)
        return GeneratedMusic(
            audio,
            self.name,
            tuple(float(b) for b in grid.beats_s),
            summary,
            score,
        )


def _render_to_disk(
    score: Score, style: Style, font: Path, request: MusicRequest
) -> tuple[AudioFile, MasterReport]:
    """Render the score block by block into a float WAV in `request.spill_dir`, then master it
    into a 24-bit one there (the float one is removed): memory stays a few blocks."""
    from audio_creator.audio import open_wav_writer
    from audio_creator.audio_source import file_source
    from audio_creator.dsp.master import master_to_file

    assert request.spill_dir is not None
    rate = request.sample_rate
    raw = _fresh_file(request.spill_dir, ".raw.wav")
    out = _fresh_file(request.spill_dir, ".wav")
    try:
        with open_wav_writer(raw, rate, 2, 32) as write:
            for block in render_blocks(
                score.parts, score.duration_s, sample_rate=rate, soundfont=font, reverb=style.reverb
            ):
                write(block)
        mastered = master_to_file(
            file_source(raw), out, target_lufs=request.target_lufs,
            true_peak_dbtp=request.true_peak_dbtp,
        )  # fmt: skip
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    finally:
        raw.unlink(missing_ok=True)
    return file_source(out), mastered


def _fresh_file(folder: Path, suffix: str) -> Path:
    """A new, empty file's name in `folder` (the file itself is left to its writer)."""
    import tempfile

    fd, name = tempfile.mkstemp(dir=folder, prefix="procedural.", suffix=suffix)
    os.close(fd)
    return Path(name)


def save_midi(music: GeneratedMusic, path: str | os.PathLike[str]) -> None:
    """Write the score behind `music` as a MIDI file."""
    if not isinstance(music.midi, Score):
        raise ConfigError(f"the {music.backend} backend writes no MIDI score")
    write_midi(music.midi, path)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _checked_soundfont(path: str | os.PathLike[str]) -> Path:
    """`path` if it is a readable SoundFont whose preset headers can be read (the same reading
    the discovery does), checked before any work starts; MediaError otherwise."""
    from audio_creator.music.procedural.soundfonts import read_presets

    font = check_input_file(path, what="SoundFont")
    read_presets(font)
    return font
