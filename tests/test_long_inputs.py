"""Long inputs stay bounded: music is rendered and mastered on disk, a block at a time, and long
wavjourney items (a bed under a long video) wait on disk until they are mixed.

The figures for hour-long videos are in bench/long.py; here the same code paths run on short
pieces (the length past which a piece goes to disk is lowered), checked against the in-memory
results, and the memory of one long-ish render is measured with tracemalloc.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audio_creator.audio import Audio
from audio_creator.audio_source import AudioFile, file_source
from audio_creator.dsp.loudness import integrated_lufs
from audio_creator.dsp.master import master_in_place, master_to_file
from audio_creator.dsp.true_peak import true_peak_dbtp
from audio_creator.music import MusicRequest
from helpers import make_video

RATE = 48000


def _peaky(seconds: float) -> np.ndarray:
    """Quiet noise with loud clicks: the limiter has work to do at any usual target."""
    rng = np.random.default_rng(5)
    x = (0.05 * rng.standard_normal((2, round(seconds * RATE)))).astype(np.float32)
    x[:, :: RATE // 3] = 0.95
    return x


@pytest.mark.parametrize("seconds", [3.0, 25.0])  # one chunk; several (a limiter curve across)
def test_mastering_a_file_equals_mastering_in_memory(tmp_path: Path, seconds: float) -> None:
    samples = _peaky(seconds)
    source = tmp_path / "in.wav"
    sf.write(source, samples.T, RATE, subtype="FLOAT")
    in_memory = samples.copy()
    expected = master_in_place(in_memory, RATE, target_lufs=-14.0, true_peak_dbtp=-1.0)
    assert expected.limiter_max_reduction_db > 1.0  # the limiter path, not one plain gain

    got = master_to_file(
        file_source(source), tmp_path / "out.wav", target_lufs=-14.0, true_peak_dbtp=-1.0,
        bit_depth=32,
    )  # fmt: skip
    written, rate = sf.read(tmp_path / "out.wav", dtype="float32", always_2d=True)
    assert rate == RATE
    assert np.max(np.abs(written.T - in_memory)) < 1e-6
    assert got.gain_db == pytest.approx(expected.gain_db, abs=1e-9)
    assert got.integrated_lufs == pytest.approx(-14.0, abs=0.05)
    assert integrated_lufs(Audio(np.ascontiguousarray(written.T), RATE)) == pytest.approx(
        -14.0, abs=0.05
    )
    assert true_peak_dbtp(Audio(np.ascontiguousarray(written.T), RATE)) <= -1.0 + 0.01
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav", "out.wav"]  # no temporary


def test_mastering_a_silent_file_writes_it_as_it_is(tmp_path: Path) -> None:
    sf.write(tmp_path / "in.wav", np.zeros((RATE, 2), np.float32), RATE)
    report = master_to_file(file_source(tmp_path / "in.wav"), tmp_path / "out.wav")
    assert report.integrated_lufs is None and report.gain_db == 0.0
    assert not np.any(sf.read(tmp_path / "out.wav")[0])


def test_a_long_piece_is_rendered_on_disk_and_sounds_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from audio_creator.music import procedural

    backend = procedural.ProceduralBackend()
    request = MusicRequest(20.0, seed=4, spill_dir=tmp_path)
    in_memory = backend.generate(request)  # 20 s is short: in memory, as before
    assert isinstance(in_memory.audio, Audio)
    monkeypatch.setattr(procedural, "SPILL_AFTER_S", 5.0)
    on_disk = backend.generate(request)
    assert isinstance(on_disk.audio, AudioFile) and on_disk.audio.path.parent == tmp_path
    assert [p.name for p in tmp_path.iterdir()] == [on_disk.audio.path.name]  # float one gone
    heard = on_disk.audio.read(0, on_disk.audio.frames)
    assert heard.shape == in_memory.audio.samples.shape
    # the same music, but for 24-bit rounding
    assert np.max(np.abs(heard - in_memory.audio.samples)) < 1e-5
    assert on_disk.summary == in_memory.summary  # loudness and peak included


def test_rendering_a_long_piece_on_disk_keeps_memory_to_a_few_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four minutes of music: 92 MB of float32 stereo, which the old renderer held (and more)."""
    from audio_creator.music import procedural

    monkeypatch.setattr(procedural, "SPILL_AFTER_S", 60.0)
    backend = procedural.ProceduralBackend()
    backend.warm_up()
    tracemalloc.start()
    try:
        music = backend.generate(MusicRequest(240.0, seed=1, spill_dir=tmp_path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert isinstance(music.audio, AudioFile) and music.audio.duration_s == pytest.approx(240.0)
    assert peak < 70 * 2**20, f"peak {peak / 2**20:.0f} MB"


def test_vidmuse_leaves_nothing_of_its_pieces_on_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Candidates made on disk are ranked, the best written, the rest removed as they drop out."""
    from audio_creator.jobs.music_for_video import VidmuseOptions, run_vidmuse
    from audio_creator.music import procedural

    monkeypatch.setattr(procedural, "SPILL_AFTER_S", 1.0)
    video = make_video(tmp_path / "clip.mp4", duration_s=4.0)
    out = tmp_path / "out" / "music.wav"
    out.parent.mkdir()
    result = run_vidmuse(
        VidmuseOptions(video=video, output=out, rerank=3, rerank_topk=2,
                       merged_video=tmp_path / "out" / "merged.mp4")
    )  # fmt: skip
    written = sorted(p.name for p in out.parent.iterdir())
    assert written == ["merged.mp4", "music.2.wav", "music.wav"]
    assert len(result.scores) == 2
    music, rate = sf.read(out, dtype="float32", always_2d=True)
    assert music.shape[0] == pytest.approx(4.0 * rate, abs=2)
    assert integrated_lufs(Audio(np.ascontiguousarray(music.T), rate)) == pytest.approx(
        -18.0, abs=0.1
    )


def test_a_long_bed_is_rendered_and_set_to_its_loudness_on_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the length past which an item goes to disk lowered, a rain bed and the music under a
    narrator are made as files, each at its `vol`, mixed, and removed after."""
    from audio_creator.music import procedural
    from audio_creator.plan import execute
    from audio_creator.plan.script import parse_script

    monkeypatch.setattr(execute, "LONG_ITEM_S", 3.0)
    monkeypatch.setattr(procedural, "SPILL_AFTER_S", 3.0)
    script = parse_script(
        {
            "items": [
                {"audio_type": "sound_effect", "layout": "background", "start": 0, "len": 8.0,
                 "vol": -30, "desc": "rain"},
                {"audio_type": "music", "layout": "background", "start": 0, "len": 8.0,
                 "vol": -24, "desc": "calm piano"},
                {"audio_type": "sound_effect", "layout": "foreground", "len": 1.0,
                 "vol": -20, "desc": "whoosh"},
            ]
        }
    )  # fmt: skip
    spill = tmp_path / "spill"
    spill.mkdir()
    rendering = execute.render_items(script, tmp_path / "speech.wav", spill=spill)
    kinds = {i: type(a).__name__ for i, a in rendering.audio.items()}
    assert kinds == {0: "AudioFile", 1: "AudioFile", 2: "Audio"}
    assert len(list(spill.iterdir())) == 2  # the raw renders were replaced by the set ones
    for index, vol in ((0, -30.0), (1, -24.0)):
        clip = rendering.audio[index]
        assert isinstance(clip, AudioFile)
        heard = Audio(clip.read(0, clip.frames), clip.sample_rate)
        assert clip.duration_s == pytest.approx(8.0)
        assert integrated_lufs(heard) == pytest.approx(vol, abs=0.1)
        assert true_peak_dbtp(heard) <= execute.ITEM_CEILING_DBTP + 0.01
    report = execute.mix_rendering(
        rendering, tmp_path / "mix.wav", target_lufs=-20.0, true_peak_dbtp=-1.0
    )
    assert report["integrated_lufs"] == pytest.approx(-20.0, abs=0.1)


def test_the_timelines_loudness_curve_reads_the_mix_in_blocks(tmp_path: Path) -> None:
    """Read a block at a time, the curve is the known answer throughout: a 1 kHz sine peaking
    at −20 dBFS on both channels reads −20 LUFS (BS.1770: −3.01 LUFS per full-scale channel)."""
    from audio_creator.jobs.timeline_picture import short_term_loudness

    seconds = 50.0  # more than two blocks of 2^20 samples
    t = np.arange(round(seconds * RATE)) / RATE
    tone = (0.1 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    sf.write(tmp_path / "mix.wav", np.stack([tone, tone]).T, RATE, subtype="FLOAT")
    times, lufs = short_term_loudness(tmp_path / "mix.wav")
    assert times[0] == pytest.approx(3.0) and times[-1] == pytest.approx(seconds)
    assert lufs.size == round(seconds * 10) - 29
    assert np.allclose(lufs, -20.0, atol=0.02)
