"""Music on the shapes real footage has and synthetic cut lists lack: a glitch frame at the start,
a cut in the last seconds, flash cuts, a cut inside a dissolve or a fade, long takes, and ten
minutes without repeating itself.

The rule every test holds the composer to: each hard cut at least 0.5 s from the start and at
least 1 s after the cut before it has a beat of the plan within 30 ms.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from audio_creator.analysis.video import VideoAnalysis, analyse_video
from audio_creator.media.probe import VideoInfo
from audio_creator.music import MusicRequest
from audio_creator.music.procedural import ProceduralBackend
from audio_creator.music.procedural.plan import MusicPlan, plan_music
from audio_creator.music.procedural.score import Score
from audio_creator.music.procedural.styles import STYLES
from helpers import CUTS_IN_TRANSITIONS, lavfi_inputs, make_cut_in_transition, run_ffmpeg

ON_BEAT_S = 0.03


def analysis_with_cuts(cuts: Sequence[float], duration: float) -> VideoAnalysis:
    """An analysis reduced to its cuts (the curves calm and even)."""
    axis = np.arange(0, duration, 0.1, dtype=np.float32)
    flat = np.full_like(axis, 0.5)
    info = VideoInfo(
        Path("none.mp4"), "mp4", duration, 640, 360, 25.0, 0, 0, "h264", "yuv420p", False
    )
    return VideoAnalysis(info, duration, tuple(cuts), (), axis, flat * 0.2, flat, flat * 0, flat,
                         flat)  # fmt: skip


def judged(cuts: Sequence[float]) -> list[float]:
    """The cuts a listener hears as events: ≥ 0.5 s in, and ≥ 1 s after the cut before."""
    kept, previous = [], -np.inf
    for cut in cuts:
        if cut >= 0.5 and cut - previous >= 1.0:
            kept.append(cut)
        previous = cut
    return kept


def misses(plan: MusicPlan, cuts: Sequence[float]) -> list[tuple[float, float]]:
    """(cut, distance to the nearest beat) for every judged cut off the beat."""
    beats = plan.grid.beats_s
    far = [(c, float(np.min(np.abs(beats - c)))) for c in judged(cuts)]
    return [(c, round(d, 3)) for c, d in far if d > ON_BEAT_S]


@pytest.mark.parametrize("style", sorted(STYLES))
def test_a_glitch_frame_at_the_start_does_not_cost_a_real_cut(style: str) -> None:
    """An 11.3 s clip whose analysis reports its second frame (0.083 s) as a cut: the fit once
    chose the tempo that served 0.083, 6.465 and 8.383 s and left 4.129 s 0.19 s off."""
    cuts = (0.083, 4.129, 6.465, 8.383)
    for seed in range(3):
        plan = plan_music(analysis_with_cuts(cuts, 11.3), 11.3, STYLES[style], seed)
        assert misses(plan, cuts) == []
        assert plan.grid.cuts_on_beat == 1.0  # of the cuts it follows: the glitch is not one


@pytest.mark.parametrize("style", sorted(STYLES))
@pytest.mark.parametrize("last", [8.1, 9.0, 9.68])
def test_a_cut_in_the_last_two_seconds_gets_the_closing_chord(style: str, last: float) -> None:
    """The 10 s clip whose last cut (9.68 s) fell into the ring-out, 2.2 s from any beat."""
    cuts = (2.5, 5.1, 7.4, last)
    backend = ProceduralBackend()
    score, _, _ = backend.compose(MusicRequest(10.0, analysis_with_cuts(cuts, 10.0), style=style))
    plan = plan_music(analysis_with_cuts(cuts, 10.0), 10.0, STYLES[style], 0)
    assert misses(plan, cuts) == []
    assert plan.grid.beats_s[plan.final_beat] == pytest.approx(last, abs=ON_BEAT_S)
    # the closing chord (pad and bass together, the only notes to start there) rings after it
    closing = [n for p in score.parts if p.name in ("pad", "bass") for n in p.notes
               if abs(n.start_s - last) <= ON_BEAT_S]  # fmt: skip
    assert len(closing) >= 3 and all(n.end_s > n.start_s + 0.1 for n in closing)
    assert all(n.start_s <= last + ON_BEAT_S for p in score.parts for n in p.notes)
    assert all(n.end_s < 10.0 for p in score.parts for n in p.notes)


def test_a_cut_too_close_to_the_end_for_a_chord_leaves_the_ending_alone() -> None:
    plan = plan_music(analysis_with_cuts((3.0, 6.0, 9.9), 10.0), 10.0, STYLES["pop"], 0)
    assert plan.grid.beats_s[plan.final_beat] < 9.0


@pytest.mark.parametrize("style", sorted(STYLES))
def test_flash_cuts_do_not_pull_the_cuts_around_them_off_the_beat(style: str) -> None:
    """Bursts of cuts 0.3–0.6 s apart amid ordinary shots: every cut after a real pause is on a
    beat, and the tempo does not chase the burst."""
    rng = np.random.default_rng(5)
    for _ in range(4):
        cuts: list[float] = []
        t = float(rng.uniform(1.0, 3.0))
        while t < 28.0:
            cuts.append(t)
            if rng.random() < 0.3:  # a burst of two or three flash cuts
                for _ in range(int(rng.integers(2, 4))):
                    t += float(rng.uniform(0.3, 0.6))
                    cuts.append(t)
            t += float(rng.uniform(1.5, 4.0))
        plan = plan_music(analysis_with_cuts(cuts, 30.0), 30.0, STYLES[style], 0)
        assert misses(plan, cuts) == [], cuts
        slow, fast = STYLES[style].tempo_bpm
        assert np.all((plan.grid.bpm >= 0.5 * slow) & (plan.grid.bpm <= 1.5 * fast))


@pytest.mark.parametrize("style", sorted(STYLES))
def test_a_long_take_still_moves_on_every_four_to_eight_bars(style: str) -> None:
    """A minute with no cut: the music still changes section every 4–8 bars."""
    plan = plan_music(analysis_with_cuts((), 60.0), 60.0, STYLES[style], 0)
    downbeats = set(np.flatnonzero(plan.grid.downbeat).tolist())
    bars = [sum(1 for d in downbeats if s.first_beat <= d < s.stop_beat) for s in plan.sections]
    assert len(plan.sections) >= 3
    assert all(4 <= n <= 8 for n in bars[:-1]), bars  # the last may be cut short by the ending
    assert len({s.progression for s in plan.sections}) >= 2


def bar_signatures(score: Score) -> list[tuple[tuple[str, int, int], ...]]:
    """Each bar's notes as (part, position in 48ths of the bar, pitch): what a listener would
    hear as the same bar, humanised timing and velocity aside."""
    down = score.grid.beats_s[score.grid.downbeat]
    edges = np.r_[down, score.duration_s]
    notes = [(part.name, note) for part in score.parts for note in part.notes]
    starts = np.array([note.start_s for _, note in notes])
    bars = []
    for a, z in itertools.pairwise(edges):
        inside = np.flatnonzero((starts >= a - 0.03) & (starts < z - 0.03))
        bars.append(tuple(sorted(
            (notes[i][0], round((notes[i][1].start_s - a) / (z - a) * 48), notes[i][1].pitch)
            for i in inside
        )))  # fmt: skip
    return bars


def most_repeated(bars: list[tuple[tuple[str, int, int], ...]], span: int = 8) -> int:
    counts = Counter(tuple(bars[k : k + span]) for k in range(len(bars) - span + 1))
    return max(counts.values())


@pytest.mark.parametrize("style", sorted(STYLES))
def test_ten_minutes_never_repeat_an_eight_bar_stretch_more_than_twice(style: str) -> None:
    backend = ProceduralBackend()
    sections = []
    for minutes in (1, 3, 10):
        length = 60.0 * minutes
        for cuts in ((), tuple(np.arange(5.3, length - 2, 5.3))):
            for seed in (0, 1):
                request = MusicRequest(length, analysis_with_cuts(cuts, length), style=style,
                                       seed=seed)  # fmt: skip
                score, _, _ = backend.compose(request)
                if minutes == 10:
                    assert most_repeated(bar_signatures(score)) <= 2, (cuts != (), seed)
        plan = plan_music(analysis_with_cuts((), length), length, STYLES[style], 0)
        sections.append(len(plan.sections))
    assert sections[0] < sections[1] < sections[2]  # more sections for longer pieces


def test_a_glitch_frame_in_a_real_video_steers_nothing(tmp_path: Path) -> None:
    """A generated video that opens with one frame of another picture (a glitch the analysis
    reports as a cut at the second frame), then three shots: every real cut on a beat."""
    video = tmp_path / "glitch.mp4"
    shots = ["color=c=red:s=160x120:r=24:d=0.0417", "testsrc2=s=160x120:r=24:d=4.1",
             "smptebars=s=160x120:r=24:d=2.3", "rgbtestsrc=s=160x120:r=24:d=1.9",
             "testsrc=s=160x120:r=24:d=3.0"]  # fmt: skip
    joined = "".join(f"[{k}:v]" for k in range(len(shots))) + f"concat=n={len(shots)}:v=1:a=0"
    run_ffmpeg(*lavfi_inputs(*shots), "-filter_complex", joined, "-c:v", "libx264",
               "-pix_fmt", "yuv420p", str(video))  # fmt: skip
    analysis = analyse_video(video)
    assert analysis.cuts_s[0] < 0.1  # the glitch, as the analysis sees it
    real = [c for c in analysis.cuts_s if c >= 0.5]
    assert len(real) == 3
    music = ProceduralBackend().generate(MusicRequest(analysis.duration_s, analysis, seed=2))
    beats = np.array(music.beats_s)
    assert all(float(np.min(np.abs(beats - c))) <= ON_BEAT_S for c in real)
    assert music.summary["cuts_on_beat"] == 1.0


@pytest.mark.parametrize("shape", sorted(CUTS_IN_TRANSITIONS))
def test_a_cut_inside_a_dissolve_or_a_fade_is_on_a_beat(shape: str, tmp_path: Path) -> None:
    """A generated video with a hard cut in the middle of a dissolve or a fade: the analysis
    finds it (tests/test_analysis.py) and the music puts a beat on it, in every style."""
    cuts = make_cut_in_transition(tmp_path / "edit.mp4", shape)
    analysis = analyse_video(tmp_path / "edit.mp4")
    assert len(analysis.cuts_s) == len(cuts)
    for style in sorted(STYLES):
        plan = plan_music(analysis, analysis.duration_s, STYLES[style], seed=0)
        assert not misses(plan, analysis.cuts_s), (style, misses(plan, analysis.cuts_s))


@pytest.mark.parametrize("style", ["cinematic", "pop"])
def test_a_fill_into_a_cut_leaves_its_accent_alone(style: str) -> None:
    """A drum fill into a section that starts on a cut builds up to it, and strikes nothing in
    the sixteenth before the cut: a last loud stroke there pulled librosa's tracker 130 ms early
    (with FluidR3 GM, on dissolves cut short: `bench/beats.py`), where the cut's own accent
    belongs. (A pattern's own sixteenth hats may still sound there, softly.)"""
    cuts = [3.0 + 2.6 * k for k in range(12)]
    analysis = ramping_analysis(36.0)
    analysis = VideoAnalysis(analysis.info, 36.0, tuple(cuts), (), analysis.times_s,
                             analysis.motion * 0 + 0.5, analysis.brightness, analysis.warmth,
                             analysis.saturation, analysis.energy * 0 + 0.8)  # fmt: skip
    score, _, _ = ProceduralBackend().compose(MusicRequest(36.0, analysis, style=style))
    beats = score.grid.beats_s
    drums = score.part("drums").notes
    fills = 0
    for cut in cuts:
        beat = int(np.argmin(np.abs(beats - cut)))
        sixteenth = (beats[beat] - beats[beat - 1]) / 4
        before = [n for n in drums if beats[beat] - 4 * sixteenth - 0.02 < n.start_s < cut - 0.02]
        accent = max(n.velocity for n in drums if abs(n.start_s - beats[beat]) < 0.001)
        on_a_beat = [float(np.min(np.abs(beats - n.start_s))) < 0.02 for n in before]
        fill = [n for n, on in zip(before, on_a_beat, strict=True) if n.pitch == 38 and not on]
        fills += bool(fill)
        assert not [n for n in fill if n.start_s > beats[beat] - 1.5 * sixteenth], cut
        assert all(n.velocity < accent for n in before), cut
    assert fills >= 6  # the music is busy enough for fills: the rule above had work to do


def ramping_analysis(duration: float, period_s: float = 20.0) -> VideoAnalysis:
    """One long shot whose motion rises from still to fast and falls back, every `period_s`;
    energy from motion as the analysis makes it."""
    from audio_creator.analysis.video import MOTION_REFERENCE

    axis = np.arange(0, duration, 0.1, dtype=np.float32)
    motion = (0.01 + 0.45 * (1 - np.abs(2 * (axis % period_s) / period_s - 1))).astype(np.float32)
    saturation = np.full_like(axis, 0.4)
    energy = 0.6 * motion / (motion + MOTION_REFERENCE) + 0.15 * saturation
    analysis = analysis_with_cuts((), duration)
    return VideoAnalysis(analysis.info, duration, (), (), axis, motion, saturation,
                         saturation * 0, saturation, energy.astype(np.float32))  # fmt: skip


@pytest.mark.parametrize("style", sorted(STYLES))
def test_the_arrangement_builds_and_calms_with_the_motion_inside_one_shot(style: str) -> None:
    """A minute with no cut whose motion ramps up and down: the notes per bar follow it
    (they once changed only at section starts: r between −0.03 and 0.4)."""
    analysis = ramping_analysis(60.0)
    score, _, _ = ProceduralBackend().compose(MusicRequest(60.0, analysis, style=style))
    edges = np.r_[score.grid.beats_s[score.grid.downbeat], 60.0]
    starts = np.array([note.start_s for part in score.parts for note in part.notes])
    bars = list(itertools.pairwise(edges))[1:-2]  # not the intro, nor the ending
    counts = [int(((starts >= a) & (starts < z)).sum()) for a, z in bars]
    motion = [analysis.at(analysis.motion, a, z) for a, z in bars]
    assert np.corrcoef(counts, motion)[0, 1] >= 0.7


@pytest.mark.parametrize("style", sorted(STYLES))
def test_the_music_is_heard_to_build_and_calm_with_the_motion(style: str) -> None:
    """The same, heard: librosa's onset strength of the rendered piece, on 2 s windows, follows
    the motion. Busy bars are played detached, for legato strokes over a held bed blur into it
    however many there are: on this clean ramp r went from 0.53–0.90 to 0.69–0.93 (seeds 0–2).
    bench/motion.py holds the goal of r ≥ 0.5 on a real video, whose motion is less clean."""
    librosa = pytest.importorskip("librosa")
    analysis = ramping_analysis(40.0)
    rate = 22050
    music = ProceduralBackend().generate(
        MusicRequest(40.0, analysis, style=style, sample_rate=rate)
    )
    onset = librosa.onset.onset_strength(y=music.audio.samples.mean(axis=0), sr=rate,
                                         hop_length=512)  # fmt: skip
    times = librosa.times_like(onset, sr=rate, hop_length=512)
    windows = np.arange(0.0, 38.0 + 1e-9, 2.0)
    heard = [onset[(times >= w) & (times < w + 2)].mean() for w in windows]
    motion = [analysis.at(analysis.motion, w, w + 2) for w in windows]
    assert np.corrcoef(heard, motion)[0, 1] >= 0.65


@pytest.mark.parametrize("style", sorted(STYLES))
def test_the_lead_climbs_and_falls_with_the_motion_inside_one_shot(style: str) -> None:
    """The lead's register follows the motion too: on a minute of one ramping shot, its mean
    pitch per bar against the motion, r ≥ 0.4 for every seed of four and ≥ 0.6 on average
    (0.46–0.89; cinematic, whose two leads share a narrow range, the lowest). The lead once kept
    one compass: r −0.48 … 0.38."""
    analysis = ramping_analysis(60.0)
    rs = []
    for seed in range(4):
        request = MusicRequest(60.0, analysis, style=style, seed=seed)
        score, _, _ = ProceduralBackend().compose(request)
        edges = np.r_[score.grid.beats_s[score.grid.downbeat], 60.0]
        lead = [n for part in score.parts if part.name in ("lead", "lead2") for n in part.notes]
        pitch, motion = [], []
        for a, z in list(itertools.pairwise(edges))[1:-2]:  # not the intro, nor the ending
            inside = [n.pitch for n in lead if a <= n.start_s < z]
            if inside:
                pitch.append(float(np.mean(inside)))
                motion.append(analysis.at(analysis.motion, a, z))
        assert len(pitch) >= 8
        rs.append(float(np.corrcoef(pitch, motion)[0, 1]))
    assert min(rs) >= 0.4 and np.mean(rs) >= 0.6, np.round(rs, 2)
