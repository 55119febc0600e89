"""The procedural composer: beat grid fitting, musical sanity of every style, rendering."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from audio_creator.analysis import VideoAnalysis, analyse_video
from audio_creator.analysis.beat_grid import fit_beat_grid
from audio_creator.errors import ConfigError
from audio_creator.media import DEMO_CUTS_S, make_demo_video
from audio_creator.music import MusicRequest, create_backend
from audio_creator.music.procedural import STYLES, ProceduralBackend
from audio_creator.music.procedural.harmony import in_key
from audio_creator.music.procedural.score import Score
from audio_creator.music.procedural.styles import RANGES, style_from_prompt
from audio_creator.music.rerank import motion_onset_correlation

HUMANISE_BOUND_S = 0.012


@pytest.fixture(scope="module")
def demo_analysis(tmp_path_factory: pytest.TempPathFactory) -> VideoAnalysis:
    path = tmp_path_factory.mktemp("v") / "demo.mp4"
    return analyse_video(make_demo_video(path, width=320, height=180))


def compose(analysis: VideoAnalysis | None, style: str, seed: int = 0, **kw: float) -> Score:
    duration = kw.get("duration", analysis.duration_s if analysis else 12.0)
    request = MusicRequest(duration, analysis, style=style, seed=seed)
    return ProceduralBackend().compose(request)[0]


# ------------------------------------------------------------------------------------ beat grid


@pytest.mark.parametrize("target", [70.0, 100.0, 128.0])
def test_regular_cuts_land_on_beats_at_one_tempo(target: float) -> None:
    grid = fit_beat_grid(20.0, (4, 8, 12, 16), target)
    assert grid.cuts_on_beat == 1.0
    assert np.ptp(grid.bpm) == 0  # one tempo
    assert abs(grid.nominal_bpm / target - 1) <= 0.2


def test_irregular_cuts_land_on_downbeats() -> None:
    cuts = (2.3, 5.1, 9.7, 14.9)
    grid = fit_beat_grid(18.0, cuts, 110.0)
    assert grid.cuts_on_beat == 1.0
    on_downbeats = [bool(grid.downbeat[np.argmin(np.abs(grid.beats_s - c))]) for c in cuts]
    assert all(on_downbeats)
    assert np.all(np.abs(grid.bpm / 110 - 1) <= 0.2)
    assert np.all(np.diff(grid.beats_s) > 0) and grid.beats_s[0] == 0


def test_fast_editing_keeps_the_tempo_within_bounds() -> None:
    """Shots of 0.4–0.9 s (about a beat each): every cut still lands on a beat, no beat is
    pushed or pulled beyond ±50 % of the target, and half the time stays within ±20 %."""
    rng = np.random.default_rng(1)
    cuts = np.cumsum(rng.uniform(0.4, 0.9, 40))
    grid = fit_beat_grid(float(cuts[-1]) + 1.0, cuts, 100.0)
    ratio = grid.bpm / 100.0
    assert np.all((ratio >= 1 / 1.5) & (ratio <= 1.5))
    spans = np.diff(np.r_[grid.beats_s, cuts[-1] + 1.0])
    assert grid.cuts_on_beat >= 0.9
    assert spans[np.abs(np.log(ratio)) <= np.log(1.2)].sum() >= 0.5 * spans.sum()


def test_no_cuts_keeps_the_target_tempo() -> None:
    grid = fit_beat_grid(10.0, (), 90.0)
    assert grid.nominal_bpm == pytest.approx(90.0)
    assert grid.beats_s[-1] < 10.0


def test_bad_grid_requests_are_refused() -> None:
    with pytest.raises(ConfigError):
        fit_beat_grid(0.0, (), 90)
    with pytest.raises(ConfigError):
        fit_beat_grid(10.0, (), 500)


# ------------------------------------------------------------------------------ musical sanity


@pytest.mark.parametrize("style", list(STYLES))
def test_score_of_every_style_is_musically_sane(style: str, demo_analysis: VideoAnalysis) -> None:
    score = compose(demo_analysis, style, seed=3)
    grid, end = score.grid, score.duration_s
    pitched = [n for p in score.parts if not p.is_drums for n in p.notes]
    assert pitched
    for part in score.parts:
        for note in part.notes:
            assert 0 <= note.start_s < note.end_s <= end  # nothing sounds past the end
            assert 1 <= note.velocity <= 127
            if not part.is_drums:
                low, high = RANGES[part.program]
                assert low <= note.pitch <= high, (part.name, note.pitch)
    in_scale = [in_key(n.pitch, score.key_root, score.mode) for n in pitched]
    assert np.mean(in_scale) >= 0.9
    for part in score.parts:  # a repeated pitch never overlaps itself (MIDI players cut it)
        by_pitch: dict[int, float] = {}
        for note in sorted(part.notes, key=lambda n: n.start_s):
            assert note.start_s >= by_pitch.get(note.pitch, -1.0), (part.name, note)
            by_pitch[note.pitch] = note.end_s
    bass = sorted(score.part("bass").notes, key=lambda n: n.start_s)
    assert all(a.end_s <= b.start_s for a, b in itertools.pairwise(bass))  # monophonic
    # Chords change on beats: every pad note starts within the humanisation bound of a beat.
    beats = grid.beats_s
    for note in score.part("pad").notes:
        assert np.min(np.abs(beats - note.start_s)) <= HUMANISE_BOUND_S + 1e-9
    if any(p.is_drums for p in score.parts):  # drum hits on the sixteenth-note grid
        sixteenths = np.sort(
            np.concatenate([b + np.arange(4) * (60 / grid.bpm[i]) / 4 for i, b in enumerate(beats)])
        )
        swing = STYLES[style].swing * 0.5 * 60 / grid.bpm.max() / 2
        for note in score.part("drums").notes:
            distance = np.min(np.abs(sixteenths - note.start_s))
            assert distance <= HUMANISE_BOUND_S + swing + 1e-9
    # No silence longer than a bar while the piece plays (before its last ring-out).
    ordered = sorted(pitched, key=lambda n: n.start_s)
    starts = np.array([n.start_s for n in ordered])
    sounding_until = np.maximum.accumulate([n.end_s for n in ordered])
    bar_s = 4 * 60 / grid.bpm.min()
    assert starts[0] <= bar_s
    assert np.all(starts[1:] - sounding_until[:-1] <= bar_s)
    assert sounding_until[-1] >= end - 1.0


def test_instrumentation_changes_from_section_to_section(demo_analysis: VideoAnalysis) -> None:
    score = compose(demo_analysis, "cinematic")
    lead, alternate = score.part("lead"), score.part("lead2")
    assert lead.program != alternate.program
    assert lead.notes and alternate.notes
    # Between two adjacent cuts only one of the two instruments plays the lead.
    for start, stop in itertools.pairwise(DEMO_CUTS_S):
        inside = [
            part.name
            for part in (lead, alternate)
            for n in part.notes
            if start + 0.05 <= n.start_s < stop - 0.05
        ]
        assert len(set(inside)) <= 1, (start, stop)


def test_cut_beats_carry_exact_accents(demo_analysis: VideoAnalysis) -> None:
    score = compose(demo_analysis, "pop")
    drums = score.part("drums").notes
    for cut in DEMO_CUTS_S:
        on_cut = [n for n in drums if abs(n.start_s - cut) < 0.02]
        assert any(n.anchor and n.pitch == 49 for n in on_cut), cut  # a crash, exactly there
        assert all(abs(n.start_s - cut) < 1e-6 for n in on_cut if n.anchor)


def test_same_seed_same_music_and_seeds_differ(demo_analysis: VideoAnalysis) -> None:
    a, b, c = (compose(demo_analysis, "lofi", seed=s) for s in (5, 5, 6))
    assert a.parts == b.parts and np.array_equal(a.grid.beats_s, b.grid.beats_s)
    assert a.part("lead").notes != c.part("lead").notes


def test_style_from_prompt_and_picture() -> None:
    assert style_from_prompt("an epic cinematic trailer").name == "cinematic"
    assert style_from_prompt("chill lofi beats to study to").name == "lofi"
    assert style_from_prompt("a video of my cat") is None
    # Keywords start words: "fun" is not in "funeral", "edm" not in "fedmail".
    assert style_from_prompt("a sad funeral").name == "piano"
    assert style_from_prompt("footage of a lighthouse") is None
    with pytest.raises(ConfigError, match="choose one of"):
        compose(None, "polka")


# ---------------------------------------------------------------------------------- rendering


def test_rendered_music_meets_loudness_and_peak(
    demo_analysis: VideoAnalysis, tmp_path: Path
) -> None:
    from audio_creator.audio import save
    from helpers import ffmpeg_loudness

    music = create_backend("procedural").generate(
        MusicRequest(demo_analysis.duration_s, demo_analysis, style="electronic")
    )
    audio = music.audio
    assert audio.sample_rate == 48000 and audio.channels == 2
    assert audio.frames == round(demo_analysis.duration_s * 48000)
    assert np.abs(audio.samples).max() < 1.0
    tail = audio.samples[:, -480:]
    assert np.abs(tail).max() < 1e-3  # it ends in silence, not cut off
    measured = ffmpeg_loudness(save(audio, tmp_path / "music.wav"))  # an independent meter
    assert measured["I"] == pytest.approx(-18.0, abs=0.2)
    assert measured["TP"] <= -1.0 + 0.1


@pytest.mark.slow
@pytest.mark.parametrize("style", ["pop", "electronic", "lofi", "piano"])
def test_independent_beat_tracker_finds_beats_on_the_cuts(
    style: str, demo_analysis: VideoAnalysis
) -> None:
    librosa = pytest.importorskip("librosa")
    music = create_backend("procedural").generate(
        MusicRequest(demo_analysis.duration_s, demo_analysis, style=style, seed=1)
    )
    mono = librosa.resample(music.audio.samples.mean(axis=0), orig_sr=48000, target_sr=22050)
    tempo, beats = librosa.beat.beat_track(
        y=mono, sr=22050, hop_length=128, units="time", trim=False
    )
    planned = music.summary["tempo_bpm"]
    ratio = float(np.atleast_1d(tempo)[0]) / planned
    assert min(abs(ratio - 1), abs(ratio - 2), abs(ratio - 0.5)) <= 0.02
    near = np.min(np.abs(np.array(DEMO_CUTS_S)[:, None] - beats[None, :]), axis=1)
    assert np.mean(near <= 0.07) >= 0.9, near


@pytest.fixture(scope="module")
def irregular_analysis(tmp_path_factory: pytest.TempPathFactory) -> VideoAnalysis:
    """30 s of shots whose lengths (0.8–7 s, log-normal around 2.5 s) follow no grid."""
    from audio_creator.media.synthetic import Shot, make_shot_video

    rng = np.random.default_rng(21)
    lengths = np.clip(rng.lognormal(np.log(2.5), 0.5, 40), 0.8, 7.0)
    lengths = lengths[: int(np.searchsorted(np.cumsum(lengths), 30.0))]
    shots = [Shot(float(d), float(rng.choice([0.03, 1.0]))) for d in lengths]
    path = tmp_path_factory.mktemp("irregular") / "irregular.mp4"
    return analyse_video(make_shot_video(path, shots, fps=25, seed=4).path)


@pytest.mark.slow
@pytest.mark.parametrize("style", ["pop", "electronic", "lofi", "cinematic"])
def test_beats_meet_irregular_cuts(style: str, irregular_analysis: VideoAnalysis) -> None:
    librosa = pytest.importorskip("librosa")
    analysis = irregular_analysis
    assert len(analysis.cuts_s) >= 9
    music = create_backend("procedural").generate(
        MusicRequest(analysis.duration_s, analysis, style=style, seed=2)
    )
    mono = librosa.resample(music.audio.samples.mean(axis=0), orig_sr=48000, target_sr=22050)
    tempo, beats = librosa.beat.beat_track(
        y=mono, sr=22050, hop_length=128, units="time", trim=False
    )
    ratio = float(np.atleast_1d(tempo)[0]) / music.summary["tempo_bpm"]
    assert min(abs(ratio - 1), abs(ratio - 2), abs(ratio - 0.5)) <= 0.02
    near = np.min(np.abs(np.array(analysis.cuts_s)[:, None] - beats[None, :]), axis=1)
    assert np.mean(near <= 0.07) >= 0.9, near


def test_music_follows_motion(tmp_path: Path) -> None:
    from audio_creator.media.synthetic import Shot, make_shot_video

    shots = [Shot(4.0, speed) for speed in (0.02, 1.5, 0.02, 1.5, 0.02)]
    timeline = make_shot_video(tmp_path / "motion.mp4", shots, fps=25, seed=2)
    analysis = analyse_video(timeline.path)
    music = create_backend("procedural").generate(
        MusicRequest(analysis.duration_s, analysis, style="pop")
    )
    assert motion_onset_correlation(music.audio, analysis) >= 0.3


@pytest.mark.parametrize("duration", [0.5, 1.0, 3.7])
@pytest.mark.parametrize("style", list(STYLES))
def test_short_pieces_have_music_and_an_ending(duration: float, style: str) -> None:
    score = compose(None, style, duration=duration)
    notes = [n for p in score.parts for n in p.notes]
    assert notes and all(0 <= n.start_s < n.end_s <= duration for n in notes)
    if duration >= 3:  # something happens before the closing chord
        assert len({round(n.start_s, 3) for n in notes}) >= 2


def test_reverb_blocks_join_without_seams() -> None:
    """The block-wise reverb equals one long convolution, across block boundaries."""
    import importlib

    from scipy.signal import oaconvolve

    render = importlib.import_module("audio_creator.music.procedural.render")
    rng = np.random.default_rng(0)
    dry = rng.standard_normal((2, 700_000)).astype(np.float32)  # more than two blocks
    wet = dry.copy()
    room = render.Reverb(48000, 0.3)
    for lo, hi in ((0, 1000), (1000, 301_000), (301_000, 700_000)):  # as a stream arrives
        room.add_in_place(wet[:, lo:hi])
    response = render.room_response(48000)
    for channel in range(2):
        reference = dry[channel] + 0.3 * oaconvolve(dry[channel], response[channel])[:700_000]
        assert np.max(np.abs(wet[channel] - reference)) < 1e-4


@pytest.mark.parametrize("cuts", [(1.48, 6.48), (1.37, 2.9, 5.17)])
def test_midi_notes_sit_where_the_audio_plays_them(cuts: tuple[float, ...], tmp_path: Path) -> None:
    """Read back with mido, every note of the MIDI file starts at its time in the score."""
    import mido

    from audio_creator.music.procedural.score import write_midi

    score = compose(_analysis_with_cuts(cuts, 9.0), "pop", seed=1)
    write_midi(score, tmp_path / "score.mid")
    onsets, now = [], 0.0
    for message in mido.MidiFile(tmp_path / "score.mid"):  # iterating gives delta seconds
        now += message.time
        if message.type == "note_on":
            onsets.append(now)
    expected = sorted(n.start_s for p in score.parts for n in p.notes)
    assert np.allclose(sorted(onsets), expected, atol=2e-3)


def _analysis_with_cuts(cuts: tuple[float, ...], duration: float) -> VideoAnalysis:
    """A VideoAnalysis with given cuts and calm, even curves (no video needed)."""
    from audio_creator.media.probe import VideoInfo

    axis = np.arange(0, duration, 0.1, dtype=np.float32)
    flat = np.full_like(axis, 0.4)
    info = VideoInfo(
        Path("none.mp4"), "mp4", duration, 320, 180, 25.0, 0, 0, "h264", "yuv420p", False
    )
    return VideoAnalysis(info, duration, cuts, (), axis, flat * 0.2, flat, flat * 0, flat, flat)


def test_default_soundfont_has_every_instrument_the_styles_use() -> None:
    import tinysoundfont

    from audio_creator.music.procedural.render import default_soundfont

    synth = tinysoundfont.Synth()
    font = synth.sfload(str(default_soundfont()))
    for style in STYLES.values():
        programs = {style.pad, style.bass, style.lead, style.lead_alt}
        programs |= {style.rhythm} if style.rhythm is not None else set()
        for program in programs:
            assert synth.sfpreset_name(font, 0, program), (style.name, program)
            assert program in RANGES
    assert synth.sfpreset_name(font, 128, 0)  # the drum kit
