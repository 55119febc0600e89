"""A script of many items: each item set to its loudness cheaply and exactly, items past a memory
budget kept on disk, short effects made on every core, and a mix without speech measured once.
Every shortcut is checked against the long way round."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from audio_creator.audio import Audio
from audio_creator.audio_source import ClipStore, StoredClip
from audio_creator.dsp.loudness import integrated_lufs
from audio_creator.dsp.master import master_in_place
from audio_creator.dsp.true_peak import true_peak_dbtp
from audio_creator.mix.mixer import MixOptions, Track, mix
from audio_creator.plan import execute
from audio_creator.plan.effects import render_effect
from audio_creator.plan.script import AudioScript
from helpers import children

RATE = 48000


def impact(seed: int, seconds: float = 0.3) -> Audio:
    samples = render_effect("impact", seconds, RATE, seed)
    assert samples is not None
    return Audio(samples, RATE)


@pytest.mark.parametrize("seconds", [0.3, 1.7])
def test_one_gain_sets_a_short_clip_as_the_master_does(seconds: float) -> None:
    clip = impact(3, seconds)
    padded = np.zeros((2, max(clip.frames, round(0.4 * RATE))), np.float32)
    padded[:, : clip.frames] = clip.samples
    quick = execute._one_gain(padded.copy(), RATE, -23.0)
    assert quick is not None
    mastered = padded.copy()
    report = master_in_place(mastered, RATE, target_lufs=-23.0, true_peak_dbtp=-1.0)
    np.testing.assert_allclose(quick[0], mastered, atol=1e-6)
    assert quick[1] == report.integrated_lufs == pytest.approx(-23.0, abs=1e-3)
    assert integrated_lufs(Audio(quick[0], RATE)) == pytest.approx(-23.0, abs=1e-4)


def test_one_gain_leaves_a_clip_that_needs_limiting_to_the_master() -> None:
    clip = impact(5)
    # As loud as −6 LUFS, this impact's peaks would pass the −1 dBTP ceiling: not one gain.
    assert execute._one_gain(clip.samples.copy(), RATE, -6.0) is None
    made, reached, _ = execute._to_loudness(clip, -6.0)
    assert isinstance(made, Audio) and reached is not None
    assert true_peak_dbtp(made) <= execute.ITEM_CEILING_DBTP + 0.01


def test_a_clip_store_gives_back_what_it_was_given(tmp_path: Path) -> None:
    store = ClipStore(tmp_path)
    stereo = np.random.default_rng(0).standard_normal((2, 3000)).astype(np.float32)
    mono = np.random.default_rng(1).standard_normal((1, 700)).astype(np.float32)
    first, second = store.add(Audio(stereo, RATE)), store.add(Audio(mono, RATE))
    store.close()
    np.testing.assert_array_equal(first.read(0, 3000), stereo)
    np.testing.assert_array_equal(first.read(1234, 2000), stereo[:, 1234:2000])
    np.testing.assert_array_equal(second.read(600, 5000), mono[:, 600:])  # past its end: cut
    assert second.read(800, 900).shape == (1, 0)
    assert store.path.stat().st_size == 4 * (stereo.size + mono.size)
    store.path.write_bytes(store.path.read_bytes()[:100])  # the file cut short under it
    with pytest.raises(Exception, match="cut short"):
        second.read(0, 700)


def script(count: int, gap: float = 0.25) -> AudioScript:
    items = [{"audio_type": "sound_effect", "desc": "impact" if k % 7 else "a door slam",
              "len": 0.3, "start": k * gap, "vol": -20 - k % 5} for k in range(count)]  # fmt: skip
    items.append({"audio_type": "sound_effect", "desc": "a dial tone", "len": 0.3, "start": 1.0})
    return AudioScript.model_validate({"items": items})


def test_items_past_the_memory_budget_wait_on_disk_and_mix_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = execute.render_items(script(40), tmp_path / "s.wav")
    monkeypatch.setattr(execute, "IN_MEMORY_ITEMS_BYTES", 10 * impact(0).samples.nbytes)
    spill = tmp_path / "spill"
    spill.mkdir()
    kept = execute.render_items(script(40), tmp_path / "s.wav", spill=spill)
    on_disk = [clip for clip in kept.audio.values() if isinstance(clip, StoredClip)]
    assert len(kept.audio) - len(on_disk) == 10 and len(on_disk) == len(whole.audio) - 10
    assert kept.items == whole.items and kept.warnings == whole.warnings
    for index, clip in whole.audio.items():
        np.testing.assert_array_equal(kept.audio[index].read(0, clip.frames), clip.samples)
    options = MixOptions(speech_over_music_lu=-60.0)
    tracks = {
        name: [Track(r.audio[p.index], p.start_s) for p in r.timeline.placed if p.index in r.audio]
        for name, r in (("memory", whole), ("disk", kept))
    }
    np.testing.assert_array_equal(
        mix(tracks["memory"], [], options).audio.samples,
        mix(tracks["disk"], [], options).audio.samples,
    )


def test_many_short_effects_are_made_on_every_core_as_one_by_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one_by_one = execute.render_items(script(24), tmp_path / "s.wav")
    monkeypatch.setattr(execute, "POOL_FROM_ITEMS", 4)
    forked: list[int] = []
    real_pool = execute.ProcessPoolExecutor

    def pool(workers: int, **kwargs: object) -> object:
        forked.append(workers)
        return real_pool(workers, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(execute, "ProcessPoolExecutor", pool)
    monkeypatch.setattr(execute.os, "cpu_count", lambda: 2)
    # Earlier tests in the same process may leave a thread behind (a daemon warm-up, a server),
    # which makes forking unsafe in general; this test's own process forks nothing else.
    monkeypatch.setattr(execute.threading, "active_count", lambda: 1)
    pooled = execute.render_items(script(24), tmp_path / "s.wav")
    assert forked == [2]  # the pool really ran
    assert pooled.items == one_by_one.items and pooled.warnings == one_by_one.warnings
    assert any("no sound for 'a dial tone'" in w for w in pooled.warnings)
    assert pooled.audio.keys() == one_by_one.audio.keys()
    for index, clip in one_by_one.audio.items():
        np.testing.assert_array_equal(pooled.audio[index].read(0, clip.frames), clip.samples)


def test_no_pool_where_forking_is_unsafe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(execute.threading, "active_count", lambda: 3)
    assert execute._fork_context() is None


def test_a_mix_without_speech_is_measured_once_and_still_warns_of_silence() -> None:
    silent = Audio(np.zeros((2, 5 * RATE), np.float32), RATE)
    result = mix([Track(silent)], [], MixOptions())
    assert result.report.warnings == (
        "the music is silent",
        "the programme is silent; nothing to normalise",
    )
    bed = impact(2, 4.0)
    report = mix([Track(bed)], [], MixOptions(target_lufs=-20.0)).report
    assert report.integrated_lufs == pytest.approx(-20.0, abs=0.05)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_a_stopped_script_of_many_items_leaves_no_file_and_no_worker(tmp_path: Path) -> None:
    import json
    import os
    import signal
    import subprocess
    import sys
    import time

    items = [{"audio_type": "sound_effect", "desc": "impact", "len": 0.3, "start": k * 0.1}
             for k in range(6000)]  # fmt: skip
    path = tmp_path / "many.json"
    path.write_text(json.dumps({"items": items}))
    out = tmp_path / "out"
    out.mkdir()
    argv = [
        "-m",
        "audio_creator.cli",
        "wavjourney",
        "--script",
        str(path),
        "-o",
        str(out / "w.wav"),
    ]
    process = subprocess.Popen([sys.executable, *argv], stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not any(out.glob(".wavjourney.*")):
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        time.sleep(2.0)  # the items under way (on every core, where there are several)
        workers = children(process.pid)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 143
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert list(out.iterdir()) == []
    deadline = time.monotonic() + 10
    for pid in workers:  # each worker ended with the command
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        if Path(f"/proc/{pid}").exists():
            os.kill(pid, signal.SIGKILL)
            pytest.fail(f"worker {pid} outlived the command")
