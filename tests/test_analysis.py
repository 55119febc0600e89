"""Video analysis on synthetic videos whose cuts, fades, dissolves and motion are known."""

from __future__ import annotations

import itertools
from pathlib import Path

import av
import numpy as np
import pytest

from audio_creator.analysis import analyse_video
from audio_creator.analysis.features import normal_flow
from audio_creator.errors import MediaError
from audio_creator.media import DEMO_CUTS_S, make_demo_video
from audio_creator.media.synthetic import Shot, ShotTimeline, make_shot_video
from helpers import CUTS_IN_TRANSITIONS, make_cut_in_transition, run_ffmpeg

FPS = 25
FRAME_S = 1 / FPS

# Irregular shot lengths, hard cuts between still and fast-moving shots, a fade through black
# and a dissolve: the detector's job in miniature.
MIXED_SHOTS = (
    Shot(1.6, 0.03),
    Shot(2.2, 1.2),  # a fast pan, cut in and out
    Shot(1.4, 0.02),
    Shot(2.0, 0.04, "fade", 0.8),
    Shot(1.8, 0.9, "cut"),
    Shot(2.4, 0.03, "dissolve", 1.0),
    Shot(1.2, 1.6, "cut"),  # a very fast pan after a cut
    Shot(1.5, 0.02, "cut"),
)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> ShotTimeline:
    return make_shot_video(tmp_path_factory.mktemp("a") / "mixed.mp4", MIXED_SHOTS, fps=FPS)


def assert_cuts_match(found: tuple[float, ...], truth: tuple[float, ...]) -> None:
    """Every true cut found within one frame, and nothing else."""
    assert len(found) == len(truth), (found, truth)
    for got, want in zip(found, truth, strict=True):
        assert abs(got - want) <= FRAME_S + 1e-6, (found, truth)


def test_every_hard_cut_found_within_a_frame_and_nothing_else(mixed: ShotTimeline) -> None:
    analysis = analyse_video(mixed.path)
    assert_cuts_match(analysis.cuts_s, mixed.cuts_s)


def test_fade_and_dissolve_are_gradual_transitions_where_they_happen(mixed: ShotTimeline) -> None:
    analysis = analyse_video(mixed.path)
    kinds = [t.kind for t in analysis.transitions]
    assert kinds == ["fade-out", "fade-in", "dissolve"], analysis.transitions
    (_, fade_start, fade_end), (_, dissolve_start, dissolve_end) = mixed.gradual
    fade_out, fade_in, dissolve = analysis.transitions
    assert fade_out.start_s == pytest.approx(fade_start, abs=3 * FRAME_S)
    assert fade_in.end_s == pytest.approx(fade_end, abs=3 * FRAME_S)
    assert fade_out.end_s <= fade_in.start_s
    # This dissolve leaves a fast pan, whose own change blurs where the blend begins: its middle
    # and end are found, its start to within a second.
    middle = (dissolve.start_s + dissolve.end_s) / 2
    assert dissolve.start_s <= (dissolve_start + dissolve_end) / 2 <= dissolve.end_s
    assert middle == pytest.approx((dissolve_start + dissolve_end) / 2, abs=0.5)
    assert dissolve.end_s == pytest.approx(dissolve_end, abs=3 * FRAME_S)


def test_dissolve_between_still_shots_is_located_to_a_few_frames(tmp_path: Path) -> None:
    shots = (Shot(2.0, 0.03), Shot(2.0, 0.03, "dissolve", 1.2), Shot(1.0, 0.03, "cut"))
    timeline = make_shot_video(tmp_path / "dissolve.mp4", shots, fps=FPS, seed=5)
    analysis = analyse_video(timeline.path)
    assert [t.kind for t in analysis.transitions] == ["dissolve"]
    (_, start, end), found = timeline.gradual[0], analysis.transitions[0]
    assert found.start_s == pytest.approx(start, abs=3 * FRAME_S)
    assert found.end_s == pytest.approx(end, abs=3 * FRAME_S)
    assert_cuts_match(analysis.cuts_s, timeline.cuts_s)


@pytest.mark.parametrize("shape", sorted(CUTS_IN_TRANSITIONS))
def test_a_cut_inside_a_dissolve_or_a_fade_is_found(shape: str, tmp_path: Path) -> None:
    """Real edits cut in the middle of a transition. A fade's ramp is no cut however fast its
    colours move near black, but a cut inside it is: the picture's structure changes (inside a
    fade-in it was once missed)."""
    cuts = make_cut_in_transition(tmp_path / "edit.mp4", shape)
    assert_cuts_match(analyse_video(tmp_path / "edit.mp4").cuts_s, cuts)


def test_a_fast_pan_fading_in_is_no_cut(tmp_path: Path) -> None:
    """Inside a fade, a fast pan changes the picture's structure at every frame, about half as
    much as a cut does: only a change that stands out from its neighbours is one (a first rule,
    without that comparison, found two cuts in this fade)."""
    shots = (Shot(2.0, 0.03), Shot(2.5, 1.5, "fade", 1.4), Shot(1.5, 0.03, "cut"))
    timeline = make_shot_video(tmp_path / "pan_fade.mp4", shots, fps=FPS, seed=1)
    assert_cuts_match(analyse_video(timeline.path).cuts_s, timeline.cuts_s)


def test_a_dissolve_cut_short_by_a_cut_keeps_the_cut(tmp_path: Path) -> None:
    """The synthetic shots make the same edit: a 2 s dissolve that a cut ends after 1.6 s."""
    shots = (Shot(3.0, 0.03), Shot(0.6, 0.05, "dissolve", 2.0), Shot(3.0, 0.04, "cut"))
    timeline = make_shot_video(tmp_path / "short.mp4", shots, fps=FPS, seed=7)
    assert timeline.cuts_s == (3.6,)
    assert timeline.gradual == (("dissolve", 2.0, 3.6),)
    assert_cuts_match(analyse_video(timeline.path).cuts_s, timeline.cuts_s)


def test_motion_curve_separates_fast_shots_from_still_ones(mixed: ShotTimeline) -> None:
    analysis = analyse_video(mixed.path)
    bounds = np.r_[0.0, mixed.boundaries_s, mixed.duration_s]
    means = [analysis.at(analysis.motion, a + 0.3, b - 0.3) for a, b in itertools.pairwise(bounds)]
    fast = [m for m, shot in zip(means, MIXED_SHOTS, strict=True) if shot.pan_widths_per_s > 0.5]
    still = [m for m, shot in zip(means, MIXED_SHOTS, strict=True) if shot.pan_widths_per_s < 0.5]
    assert min(fast) > 4 * max(still), means
    energy = [analysis.at(analysis.energy, a + 0.5, b - 0.5) for a, b in itertools.pairwise(bounds)]
    assert np.corrcoef(energy, means)[0, 1] > 0.8


def test_fast_motion_alone_has_no_cuts(tmp_path: Path) -> None:
    shots = (Shot(3.0, 2.0), Shot(3.0, 3.0, "dissolve", 0.6))
    timeline = make_shot_video(tmp_path / "pan.mp4", shots, fps=FPS, seed=3)
    assert analyse_video(timeline.path).cuts_s == ()


def test_flash_frame_is_not_a_cut(tmp_path: Path) -> None:
    timeline = make_shot_video(tmp_path / "still.mp4", (Shot(3.0, 0.05),), fps=FPS)
    frames = [f.to_ndarray(format="rgb24") for f in av.open(str(timeline.path)).decode(video=0)]
    frames[40] = np.full_like(frames[40], 250)  # one white frame
    flashed = tmp_path / "flash.mp4"
    with av.open(str(flashed), "w") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 320, 180, "yuv420p"
        for index, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = index
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    assert analyse_video(flashed).cuts_s == ()


def test_demo_video_cuts_and_fade(tmp_path: Path) -> None:
    analysis = analyse_video(make_demo_video(tmp_path / "demo.mp4", width=320, height=180))
    assert_cuts_match(analysis.cuts_s, DEMO_CUTS_S)
    assert [t.kind for t in analysis.transitions] == ["fade-out"]


def test_variable_frame_rate_keeps_cut_times(mixed: ShotTimeline, tmp_path: Path) -> None:
    vfr = tmp_path / "vfr.mkv"  # two frames in three dropped during the first four seconds
    run_ffmpeg(
        "-i",
        str(mixed.path),
        "-vf",
        "select='gte(t,4)+not(mod(n,3))'",
        "-fps_mode",
        "vfr",
        "-c:v",
        "libx264",
        str(vfr),
    )
    analysis = analyse_video(vfr)
    late = tuple(t for t in mixed.cuts_s if t > 4.2)
    assert_cuts_match(tuple(t for t in analysis.cuts_s if t > 4.2), late)
    early = [t for t in analysis.cuts_s if t < 4.0]
    assert len(early) == len([t for t in mixed.cuts_s if t < 4.0])
    for got, want in zip(early, [t for t in mixed.cuts_s if t < 4.0], strict=True):
        assert abs(got - want) <= 3 * FRAME_S + 1e-6  # only every third frame exists there


def test_rotated_video_is_analysed_upright(mixed: ShotTimeline, tmp_path: Path) -> None:
    rotated = tmp_path / "rotated.mp4"
    run_ffmpeg("-display_rotation", "90", "-i", str(mixed.path), "-c", "copy", str(rotated))
    upright, turned = analyse_video(mixed.path), analyse_video(rotated)
    assert turned.info.display_size == (180, 320)
    assert_cuts_match(turned.cuts_s, mixed.cuts_s)
    assert np.allclose(turned.brightness, upright.brightness, atol=0.01)


def test_portrait_4k_video(tmp_path: Path) -> None:
    shots = (Shot(0.6, 0.05), Shot(0.6, 0.05))
    timeline = make_shot_video(tmp_path / "tall.mp4", shots, width=2160, height=3840, fps=FPS)
    analysis = analyse_video(timeline.path)
    assert_cuts_match(analysis.cuts_s, timeline.cuts_s)
    assert analysis.frame_count == 30


def test_single_frame_video(tmp_path: Path) -> None:
    timeline = make_shot_video(tmp_path / "one.mp4", (Shot(FRAME_S),), fps=FPS)
    analysis = analyse_video(timeline.path)
    assert analysis.frame_count == 1
    assert analysis.cuts_s == ()
    assert analysis.duration_s == pytest.approx(FRAME_S, abs=1e-3)
    assert analysis.motion.size >= 1 and np.all(np.isfinite(analysis.energy))


def test_video_without_a_decodable_frame_is_refused(mixed: ShotTimeline, tmp_path: Path) -> None:
    """A real video stream whose every packet is zeros: nothing can be decoded from it."""
    blank = tmp_path / "blank.mp4"
    with av.open(str(mixed.path)) as source, av.open(str(blank), "w") as target:
        video = source.streams.video[0]
        stream = target.add_stream_from_template(video)
        for packet in source.demux(video):
            if packet.dts is None:
                continue
            zeros = av.Packet(bytes(packet.size))
            zeros.pts, zeros.dts, zeros.time_base = packet.pts, packet.dts, packet.time_base
            zeros.stream = stream
            target.mux(zeros)
    with av.open(str(blank)) as check:  # the stream and its packets are really there
        assert check.streams.video[0].frames > 0
    with pytest.raises(MediaError, match="cannot decode"):
        analyse_video(blank)


def test_audio_only_file_is_refused(audio_only: Path) -> None:
    with pytest.raises(MediaError, match="no video stream"):
        analyse_video(audio_only)


def test_normal_flow_reads_a_known_shift() -> None:
    """A smooth pattern moved by one pixel per frame reads about 1/width widths per frame."""
    x = np.arange(64, dtype=np.float32)
    y = np.arange(36, dtype=np.float32)[:, None]
    pattern = lambda shift: 0.5 + 0.2 * np.sin(2 * np.pi * (x - shift) / 16 + y / 9)  # noqa: E731
    still = normal_flow(pattern(0)[None], pattern(0)[None])
    moved = normal_flow(pattern(0)[None], pattern(1)[None])
    assert still[0] == pytest.approx(0, abs=1e-6)
    assert moved[0] * 64 == pytest.approx(1.0, rel=0.35)
