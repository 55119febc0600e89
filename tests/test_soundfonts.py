"""SoundFont discovery: the best General MIDI font in the machine's folders renders the music,
`--soundfont` still wins, and a program a font lacks is played by the bundled one."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from audio_creator import cli
from audio_creator.errors import MediaError
from audio_creator.music import MusicRequest
from audio_creator.music.procedural import ProceduralBackend
from audio_creator.music.procedural import soundfonts as fonts
from audio_creator.music.procedural.render import default_soundfont, render_parts
from audio_creator.music.procedural.score import Note, Part
from tiny_soundfont import write_sine_soundfont


@pytest.fixture(autouse=True)
def models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A models folder of the test's own: the probes' verdicts are remembered there."""
    folder = tmp_path / "models"
    monkeypatch.setenv("AUDIO_CREATOR_MODELS", str(folder))
    return folder


@pytest.fixture
def system(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """Two "system" folders, as a platform's packages fill them: one with a copy of the bundled
    font under FluidR3 GM's name (a General MIDI bank), a tiny font of three programs, and a
    file that only calls itself a SoundFont; the other empty."""
    sf2, sf3 = tmp_path / "sounds" / "sf2", tmp_path / "sounds" / "sf3"
    sf2.mkdir(parents=True)
    sf3.mkdir()
    shutil.copy(fonts.bundled_soundfont(), sf2 / "FluidR3_GM.sf2")
    write_sine_soundfont(sf2 / "tiny.sf2", (0, 33, 80))
    (sf2 / "broken.sf2").write_bytes(b"RIFF\x04\x00\x00\x00sfbk")
    (sf2 / "notes.txt").write_text("not a SoundFont")
    monkeypatch.setenv(fonts.ENVIRONMENT, f"{sf3}:{sf2}")
    return sf2, sf3


def test_the_best_general_midi_font_found_renders_the_music(
    system: tuple[Path, Path], caplog: pytest.LogCaptureFixture
) -> None:
    sf2, _ = system
    with caplog.at_level(logging.WARNING):
        found = fonts.found()
    assert [f.name for f in found] == ["FluidR3_GM.sf2", "TimGM6mb.sf2", "tiny.sf2"]
    assert [f.general_midi for f in found] == [True, True, False]
    assert found[1].bundled and found[2].missing_programs() and not found[2].has_drums
    assert "broken.sf2" in caplog.text  # skipped, and said so
    assert default_soundfont() == sf2 / "FluidR3_GM.sf2"
    music = ProceduralBackend().generate(MusicRequest(4.0, style="pop"))
    assert music.summary["soundfont"] == "FluidR3_GM.sf2"  # the report says which


def test_a_better_known_font_outranks_a_bigger_unknown_one(
    system: tuple[Path, Path], tmp_path: Path
) -> None:
    sf2, sf3 = system
    shutil.copy(sf2 / "FluidR3_GM.sf2", sf3 / "MuseScore_General.sf3")
    big = sf3 / "SomeBank.sf2"
    big.write_bytes((sf2 / "FluidR3_GM.sf2").read_bytes())
    (sf3 / "default-GM.sf3").symlink_to(sf3 / "MuseScore_General.sf3")  # listed once
    (sf3 / "GeneralUser_GS.sf2").write_bytes(big.read_bytes()[:-2] + b"\0\0")
    names = [f.name for f in fonts.found()]
    # SF2 before SF3 (TinySoundFont decodes an SF3 at every load), known before unknown
    assert names == ["FluidR3_GM.sf2", "GeneralUser_GS.sf2", "SomeBank.sf2",
                     "MuseScore_General.sf3", "TimGM6mb.sf2", "tiny.sf2"]  # fmt: skip


def test_no_folders_means_the_bundled_font(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(fonts.ENVIRONMENT, "")
    assert [f.name for f in fonts.found()] == ["TimGM6mb.sf2"]
    assert default_soundfont() == fonts.bundled_soundfont()


def test_the_soundfont_option_still_wins(system: tuple[Path, Path]) -> None:
    sf2, _ = system
    music = ProceduralBackend(soundfont=sf2 / "tiny.sf2").generate(
        MusicRequest(3.0, style="piano", target_lufs=-30.0)
    )
    assert music.summary["soundfont"] == "tiny.sf2"


def test_a_program_the_font_lacks_is_played_by_the_bundled_font(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A part on a program the tiny font has plays its sine; a part on one it lacks sounds the
    same as the bundled font playing it alone."""
    tiny = write_sine_soundfont(tmp_path / "tiny.sf2", (0,))
    notes = (Note(0.1, 0.9, 69, 100),)
    sine = render_parts([Part("lead", 0, False, notes)], 1.0, soundfont=tiny, reverb=0)
    spectrum = np.abs(np.fft.rfft(sine[0, 4800:43200]))
    assert abs(np.argmax(spectrum) / (38400 / 48000) - 441) < 3  # the tiny font's sine
    with caplog.at_level(logging.WARNING):
        stand_in = render_parts([Part("bass", 33, False, notes)], 1.0, soundfont=tiny, reverb=0)
    assert "tiny.sf2 has no program 33 (" in caplog.text
    assert "the bundled TimGM6mb.sf2 plays it" in caplog.text
    bundled = render_parts([Part("bass", 33, False, notes)], 1.0,
                           soundfont=fonts.bundled_soundfont(), reverb=0)  # fmt: skip
    assert float(np.abs(stand_in).max()) > 0.01
    np.testing.assert_allclose(stand_in, bundled, atol=1e-6)


@pytest.mark.parametrize("pad", [None, True, False])
def test_preset_headers_are_read_whatever_the_padding(tmp_path: Path, pad: bool | None) -> None:
    """RIFF pads an odd chunk with a byte; MuseScore's SF3 files leave the pad out."""
    font = write_sine_soundfont(tmp_path / "odd.sf2", (0, 5, 33), pad)
    assert fonts.read_presets(font) == {(0, 0), (0, 5), (0, 33)}


def test_a_damaged_soundfont_is_refused_by_name(tmp_path: Path) -> None:
    font = write_sine_soundfont(tmp_path / "cut.sf2")
    data = font.read_bytes()
    font.write_bytes(data[: data.index(b"phdr") + 40])  # cut within the preset headers
    with pytest.raises(MediaError, match="damaged SoundFont"):
        fonts.read_presets(font)


def test_the_soundfonts_command_lists_them_and_marks_the_one_used(
    system: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["soundfonts"]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.endswith(("drums", "drum kit"))]
    assert lines[0].startswith("* FluidR3_GM.sf2:") and "all 23 programs" in lines[0]
    assert lines[1].startswith("  TimGM6mb.sf2 (bundled):")
    assert lines[2].startswith("  tiny.sf2:") and "lacks programs" in lines[2]
    assert "no drum kit" in lines[2]


def test_a_font_whose_program_is_silent_here_is_not_chosen_and_is_stood_in_for(
    system: tuple[Path, Path], models: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Two General MIDI banks by their headers, both ranked above FluidR3 by name; in one the
    piano's sample is silent (as MuseScore General's piano is under TinySoundFont). The probe
    finds it, remembers it, and the sound one is chosen."""
    _, sf3 = system
    every = tuple(sorted(fonts.programs_used()))
    quiet = write_sine_soundfont(sf3 / "MuseScore_General.sf2", every, drums=True, silent=(0,))
    sound = write_sine_soundfont(sf3 / "MuseScore_General_Lite.sf2", every, drums=True)
    found = {f.name: f for f in fonts.found()}
    assert found["MuseScore_General.sf2"].silent == {0}
    assert not found["MuseScore_General.sf2"].general_midi
    assert found["MuseScore_General_Lite.sf2"].silent == frozenset()
    assert default_soundfont() == sound
    remembered = (models / "soundfonts" / ".probed.json").read_text()
    assert str(quiet.resolve()) in remembered and str(sound.resolve()) in remembered
    # given by name, the silent program is played by the bundled font
    notes = (Note(0.1, 0.9, 60, 100),)
    with caplog.at_level(logging.WARNING):
        piano = render_parts([Part("pad", 0, False, notes)], 1.0, soundfont=quiet, reverb=0)
    assert "has no program 0 (it makes no sound here)" in caplog.text
    alone = render_parts([Part("pad", 0, False, notes)], 1.0,
                         soundfont=fonts.bundled_soundfont(), reverb=0)  # fmt: skip
    np.testing.assert_allclose(piano, alone, atol=1e-6)


@pytest.mark.parametrize(
    ("attack_s", "anticipate_attacks", "early_s"),
    [(0.0, True, 0.0), (0.3, True, 0.06), (0.3, False, 0.0)],
)
def test_a_slow_instrument_is_played_early_by_its_own_attack(
    tmp_path: Path, attack_s: float, anticipate_attacks: bool, early_s: float
) -> None:
    """A sine whose volume envelope swells for 0.3 s (linear in amplitude, so half its peak at
    0.15 s) is played 0.4 × 0.15 = 60 ms ahead of its note; one with no swell exactly on it, and
    so is any note when asked to be (a sound effect). Measuring the attack leaves no sound
    behind: nothing before the note's own start."""
    font = write_sine_soundfont(tmp_path / "swell.sf2", (48,), attack_s=attack_s)
    rate = 48000
    part = Part("pad", 48, False, (Note(1.0, 2.0, 69, 90),))
    out = render_parts([part], 3.0, sample_rate=rate, soundfont=font, reverb=0.0,
                       anticipate_attacks=anticipate_attacks)  # fmt: skip
    sounding = np.flatnonzero(np.abs(out[0]) > 1e-5)
    assert sounding[0] / rate == pytest.approx(1.0 - early_s, abs=0.002)
    assert sounding[-1] / rate > 2.0 - early_s  # the note keeps its length (plus its release)
