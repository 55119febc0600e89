"""The autopipeline: captions, narration placement, and the whole job end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audio_creator import cli
from audio_creator.analysis.video import analyse_video
from audio_creator.caption import describe_video, fit_words
from audio_creator.caption.offline import shot_starts
from audio_creator.errors import ConfigError
from audio_creator.jobs import placement
from audio_creator.media.demo import DEMO_CUTS_S, make_demo_video
from helpers import ffmpeg_loudness, make_video, packet_hashes


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_demo_video(tmp_path_factory.mktemp("demo") / "demo.mp4")


def test_words_are_cut_at_a_sentence_end() -> None:
    text = "One two three. Four five six seven. Eight."
    assert fit_words(text, 100) == text
    assert fit_words(text, 7) == "One two three. Four five six seven."
    assert fit_words(text, 5) == "One two three."
    assert fit_words("a b c d e f", 3) == "a b c."


def test_the_offline_caption_says_what_was_measured(demo: Path) -> None:
    analysis = analyse_video(demo)
    # The demo's hard cuts, with a fade to black before the one at 12 s counted once.
    assert shot_starts(analysis) == pytest.approx([0.0, *DEMO_CUTS_S], abs=0.05)
    caption = describe_video(analysis, max_words=60)
    assert caption.backend == "offline"
    assert caption.text.startswith("This 20-second video is told in five shots.")
    assert "fades to black" in caption.text
    assert len(describe_video(analysis, max_words=12).text.split()) <= 12


def test_sentences_start_on_shot_changes_and_spread_over_the_video() -> None:
    changes = [0.0, 4.0, 8.0, 12.0, 16.0]
    plan = placement.place([2.0, 3.0, 2.0], changes, 20.0)
    assert plan.dropped == 0 and plan.starts_s[0] == pytest.approx(1.5)  # after the intro
    assert plan.starts_s[1] == 8.0  # the spare time is shared, and the sentence meets a cut
    assert plan.starts_s[2] + 2.0 <= 19.0  # before the tail
    # No overlaps, at least the least gap apart.
    lengths = [2.0, 3.0, 2.0]
    for (a, la), b in zip(
        zip(plan.starts_s, lengths, strict=True), plan.starts_s[1:], strict=False
    ):
        assert b >= a + la + placement.GAP_S - 1e-9


def test_too_much_narration_is_sped_up_then_trimmed() -> None:
    lengths = [5.0] * 5  # 26.6 s of speech for a 20 s video
    assert placement.speedup_needed(lengths, 20.0) == pytest.approx(26.6 / 17.5)
    plan = placement.place(lengths, [0.0], 20.0)
    assert plan.dropped == 2 and len(plan.starts_s) == 3 and plan.warnings
    assert plan.starts_s[-1] + 5.0 <= 19.0
    with pytest.raises(ConfigError, match="at least 1 s"):
        placement.window(0.5)


@pytest.mark.slow
def test_video_in_soundtrack_out(demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out" / "auto.wav"
    args = ["autopipeline", "--video", str(demo), "-o", str(out), "--merge-video"]
    assert cli.main([*args, "--target-lufs", "-16", "--caption-max-len", "40"]) == 0
    names = sorted(p.name for p in out.parent.iterdir())
    assert names == [
        "auto.mp4", "auto.wav", "auto_caption.txt", "auto_music.wav", "auto_narr.srt",
        "auto_narr.wav", "auto_report.json", "auto_timeline.png",
    ]  # fmt: skip
    report = json.loads((out.parent / "auto_report.json").read_text())
    assert report["schema"] == 1 and report["caption"]["backend"] == "offline"
    stages = {"analysis", "caption", "music", "speech", "mix", "timeline", "mux"}
    assert set(report["seconds_per_stage"]) == stages
    assert undocumented(report) == []
    assert report["mux"]["encoded_true_peak_dbtp"] <= -1.0 + 0.005
    # The narration lies on the video's timeline, as the report and the subtitles say.
    narration, rate = sf.read(out.parent / "auto_narr.wav", dtype="float32")
    assert narration.size / rate == pytest.approx(20.0, abs=0.01)
    for sentence in report["speech"]["sentences"]:
        start = round(sentence["start_s"] * rate)
        assert np.max(np.abs(narration[start : start + rate // 5])) > 0.05  # speech begins there
        assert np.max(np.abs(narration[max(0, start - rate // 10) : start - rate // 50])) < 0.01
    assert report["speech"]["sentences"][-1]["end_s"] <= 20.0
    # The mix meets its loudness target and ceiling by an independent meter, in the MP4 too,
    # and the MP4's video is the original's, packet for packet.
    reference = ffmpeg_loudness(out)
    assert reference["I"] == pytest.approx(-16.0, abs=0.1) and reference["TP"] <= -0.9
    assert packet_hashes(out.parent / "auto.mp4") == packet_hashes(demo)
    mp4 = ffmpeg_loudness(out.parent / "auto.mp4")  # the AAC-encoded sound track
    assert mp4["I"] == pytest.approx(-16.0, abs=0.1) and mp4["TP"] <= -1.0


def test_the_timeline_picture_is_readable(demo: Path, tmp_path: Path) -> None:
    import matplotlib.pyplot as plt
    from matplotlib.text import Text

    from audio_creator.jobs.timeline_picture import (
        TimelineData,
        build_figure,
        draw_timeline,
        thumbnail_times,
    )
    from audio_creator.media.frames import frames_at

    analysis = analyse_video(demo)
    thumbnails = frames_at(demo, thumbnail_times(analysis.duration_s), short_side=90)
    beats = [0.5 + 2 / 3 * k for k in range(29)]
    duck = np.where((np.arange(2000) > 150) & (np.arange(2000) < 1850), -8.0, 0.0)
    times = np.arange(3.0, 20.0, 0.1)
    data = TimelineData(
        demo, analysis, thumbnails, beats, [(1.5, 4.2), (5.0, 7.9)], duck, 0.01, times,
        np.full(times.size, -16.5), -16.0,
    )  # fmt: skip
    figure = build_figure(data)
    try:
        figure.canvas.draw()
        renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
        texts = [t for t in figure.findobj(Text) if t.get_visible() and t.get_text().strip()]
        boxes = [(t.get_text(), t.get_window_extent(renderer).shrunk(0.98, 0.9)) for t in texts]
        for i, (a, box_a) in enumerate(boxes):
            for b, box_b in boxes[i + 1 :]:
                assert not box_a.overlaps(box_b), f"{a!r} overlaps {b!r}"
        rows = figure.axes
        assert rows[-1].get_xlabel() == "time (s)" and rows[-1].get_xlim() == (0.0, 20.0)
        assert all(row.get_legend() is not None for row in rows[1:])  # every data row has one
        assert all(row.get_ylabel() for row in rows)
    finally:
        plt.close(figure)
    png = draw_timeline(data, tmp_path / "t.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.png"]  # no temporary left


def undocumented(report: dict[str, object]) -> list[str]:
    """The report's fields that docs/report.md does not name (each field, or its parent's row
    naming it, in backticks)."""
    import re

    doc = (Path(__file__).parents[1] / "docs" / "report.md").read_text(encoding="utf-8")
    rows = {}
    for line in doc.splitlines():
        names = re.findall(r"`([^`]+)`", line)
        for name in names:
            rows.setdefault(name, set()).update(names)
    missing = []

    def walk(value: object, path: str) -> None:
        items = value[0] if isinstance(value, list) and value else value
        if not isinstance(items, dict):
            return
        for key, inner in items.items():
            full = f"{path}.{key}" if path else key
            if full not in rows and key not in rows.get(path, set()):
                missing.append(full)
            walk(inner, full)

    walk(report, "")
    return missing


def test_the_users_own_narration_is_spoken(demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "mine.wav"
    script = "Welcome to the show. Here is the second part."
    assert (
        cli.main(["autopipeline", "--video", str(demo), "-o", str(out), "--narration", script]) == 0
    )
    assert (tmp_path / "mine_caption.txt").read_text().strip() == script
    srt = (tmp_path / "mine_narr.srt").read_text()
    assert "Welcome to the show." in srt and "Here is the second part." in srt


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--caption-backend", "none"], "needs --narration"),
        (["--narration", "   "], "the narration given is empty"),
        (["--narration", ""], "the narration given is empty"),
        (["--caption-max-len", "2"], "--caption-max-len must be"),
        (["--caption-backend", "magic"], "--caption-backend must be one of"),
        (["--speed", "3"], "--speed must be within"),
        (["--ducking-db", "-5"], "ducking depth must be ≥ 0"),
        (["--target-lufs", "5"], "--target-lufs must be"),
        (["--rerank", "0"], "--rerank must be 1–16"),
        (["--rerank", "17"], "--rerank must be 1–16"),
        (["--rerank", "2", "--rerank-topk", "3"], "--rerank-topk must be between"),
        (
            ["--caption-backend", "offline", "--narration", "Hi."],
            "goes with --caption-backend none",
        ),
    ],
)
def test_bad_input_is_refused_before_anything_is_written(
    demo: Path, tmp_path: Path, extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "x" / "a.wav"
    assert cli.main(["autopipeline", "--video", str(demo), "-o", str(out), *extra]) == 2
    assert message in capsys.readouterr().err
    assert not out.parent.exists() or not any(out.parent.iterdir())


@pytest.mark.parametrize(
    ("name", "codec", "audio", "size", "fps"),
    [
        ("clip.webm", "libvpx-vp9", None, "320x240", 24),
        ("clip.mkv", "libx264", "aac", "240x320", 30),  # portrait, with a sound track
        ("clip.mov", "libx264", None, "426x240", 50),
        ("clip.ts", "libx264", "aac", "320x240", 25),  # MPEG-TS: seeks are not exact there
    ],
)
def test_other_containers_sizes_and_rates(
    tmp_path: Path, name: str, codec: str, audio: str | None, size: str, fps: int
) -> None:
    video = make_video(
        tmp_path / name, video_codec=codec, audio_codec=audio, duration_s=4.0, size=size, fps=fps
    )
    out = tmp_path / "out.wav"
    assert cli.main(["autopipeline", "--video", str(video), "-o", str(out), "--merge-video"]) == 0
    assert ffmpeg_loudness(out)["I"] == pytest.approx(-16.0, abs=0.1)
    report = json.loads((tmp_path / "out_report.json").read_text())
    assert report["video"]["fps"] == fps and report["speech"]["sentences"]
    assert report["speech"]["sentences"][-1]["end_s"] <= 4.0
    assert 1.0 <= report["speech"]["speed"] <= placement.MAX_SPEEDUP  # what was spoken
    assert (tmp_path / "out.mp4").is_file()


def test_a_failed_run_leaves_the_earlier_outputs_as_they_were(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "a.wav"
    script = "Hello there. This is the narration."
    args = ["autopipeline", "--video", str(demo), "-o", str(out)]
    assert cli.main([*args, "--narration", script]) == 0
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert len(before) == 7  # and no staging file left behind

    from audio_creator.jobs import pipeline

    def broken(*_: object, **__: object) -> object:
        raise KeyboardInterrupt  # as if the user pressed ctrl-C during the mix

    monkeypatch.setattr(pipeline, "_mix", broken)
    assert cli.main([*args, "--narration", "Other words."]) == 130
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_outputs_that_would_clobber_the_input_are_refused_first(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    video = tmp_path / "clip.mp4"
    video.write_bytes(demo.read_bytes())
    # `--merge-video` names the video after the mix: clip.wav → clip.mp4, the input itself.
    args = ["autopipeline", "--video", str(video), "-o", str(tmp_path / "clip.wav")]
    assert cli.main([*args, "--merge-video"]) == 2
    assert "is also an input" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]
    assert video.read_bytes() == demo.read_bytes()


def test_a_video_shorter_than_a_second_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    short = make_video(tmp_path / "short.mp4", duration_s=0.5, audio_codec=None)
    out = tmp_path / "o" / "a.wav"
    assert cli.main(["autopipeline", "--video", str(short), "-o", str(out)]) == 2
    assert "at least 1 s" in capsys.readouterr().err
    assert not out.exists()


def test_the_original_command_line_runs_the_pipeline(demo: Path, tmp_path: Path) -> None:
    from audio_creator import compat

    out = tmp_path / "auto.wav"
    argv = ["--mode", "autopipeline", "--video_path", str(demo), "--output_path", str(out)]
    argv += ["--caption-backend", "offline", "--caption-max-len", "20", "--ducking-db", "12"]
    assert compat.main([*argv, "--speed", "1.1", "--rerank", "2"]) == 0
    assert out.is_file() and (tmp_path / "auto_caption.txt").is_file()
    report = json.loads((tmp_path / "auto_report.json").read_text())
    assert len(report["music"]["candidates"]) == 1 and report["speech"]["speed"] >= 1.1
    assert undocumented(report) == []


def test_the_kept_music_candidates_are_written_and_reported(demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "a.wav"
    argv = ["autopipeline", "--video", str(demo), "-o", str(out), "--rerank", "3"]
    assert cli.main([*argv, "--rerank-topk", "2"]) == 0
    kept = json.loads((tmp_path / "a_report.json").read_text())["music"]["candidates"]
    assert [c["file"] for c in kept] == ["a_music.wav", "a_music.2.wav"]
    assert kept[0]["score"] >= kept[1]["score"]
    assert sf.info(tmp_path / "a_music.2.wav").duration == pytest.approx(
        sf.info(tmp_path / "a_music.wav").duration
    )
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())  # nothing staged is left


def test_a_narration_far_longer_than_the_video_is_cut_before_it_is_spoken(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """10,000 characters for 20 s of video: only what can fit is spoken (not 101 s of speech
    to be dropped), and the log says how much was left out of how much."""
    out = tmp_path / "a.wav"
    story = "This is a rather long sentence that keeps on going for a while. " * 160
    assert len(story) > 10_000
    argv = ["autopipeline", "--video", str(demo), "-o", str(out), "--narration", story]
    assert cli.main(argv) == 0
    said = capsys.readouterr().err
    assert "of its 160 sentences cannot fit and are left out before speaking" in said
    spoken = json.loads((tmp_path / "a_report.json").read_text())["speech"]["sentences"]
    assert 0 < len(spoken) < 20 and (tmp_path / "a_narr.srt").stat().st_size > 0


def test_a_narration_that_cannot_fit_at_all_is_refused_up_front(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    video = make_video(tmp_path / "short.mp4", duration_s=1.2, size="64x48")
    out = tmp_path / "o" / "a.wav"
    words = "Welcome to this beautiful and rather long presentation about many things."
    argv = ["autopipeline", "--video", str(video), "-o", str(out), "--narration", words]
    assert cli.main(argv) == 2
    assert "the narration cannot fit the 1.2 s video" in capsys.readouterr().err
    assert not out.parent.exists() or not any(out.parent.iterdir())


def test_the_video_is_probed_once_and_decoded_once(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The facts of one probe and the one analysis are handed to every stage: the timeline's
    thumbnails are taken during the analysis' pass (no seek), and the mux copies its packets."""
    import sys

    from audio_creator import jobs
    from audio_creator.analysis import video as analysis_module
    from audio_creator.media import frames

    probe = sys.modules["audio_creator.media.probe"]  # the module (the package exports its probe)
    calls: dict[str, int] = {"probe": 0, "decode": 0, "frames": 0, "seeks": 0}

    def counted(name: str, real: object) -> object:
        def call(*args: object, **kwargs: object) -> object:
            calls[name] += 1
            return real(*args, **kwargs)  # type: ignore[operator]

        return call

    monkeypatch.setattr(probe, "_probe_file", counted("probe", probe._probe_file))
    monkeypatch.setattr(
        analysis_module, "iter_every_frame", counted("decode", frames.iter_every_frame)
    )
    monkeypatch.setattr(frames, "iter_frames", counted("frames", frames.iter_frames))
    monkeypatch.setattr(frames, "frames_at", counted("seeks", frames.frames_at))
    jobs.autopipeline(video=demo, output=tmp_path / "a.wav", merge_video=True)
    assert calls == {"probe": 1, "decode": 1, "frames": 0, "seeks": 0}
    assert (tmp_path / "a_timeline.png").stat().st_size > 10_000  # with its thumbnails


def test_thumbnails_taken_on_the_analysis_pass_are_the_frames_a_seek_finds(
    demo: Path, tmp_path: Path
) -> None:
    """`Snapshots` picks the same frames as `frames_at` (the one on screen at each instant:
    the first when all come later, the last past the end), and pictures that differ only by the
    pass's skipped deblocking."""
    from audio_creator.analysis.video import analyse_video
    from audio_creator.media.frames import Snapshots, frames_at
    from helpers import make_video

    rotated = make_video(tmp_path / "r.mp4", duration_s=3.0, size="160x96",
                         extra=("-metadata:s:v:0", "rotate=90"))  # fmt: skip
    for video in (demo, rotated):
        times = [0.0, 0.013, 1.0, 2.5, 2.52, 2.9999, 60.0]
        taken = Snapshots(times, 90)
        analyse_video(video, snapshots=taken)
        sought = frames_at(video, times, short_side=90)
        assert [f.time_s for f in taken.frames] == sorted(times)
        assert len(sought) == len(taken.frames)
        for ours, theirs in zip(taken.frames, sought, strict=True):
            assert ours.source_time_s == pytest.approx(theirs.source_time_s, abs=1e-6)
            assert ours.image.shape == theirs.image.shape
            difference = np.abs(ours.image.astype(int) - theirs.image.astype(int)).mean()
            assert difference < 3.0, (video.name, ours.time_s, difference)


def test_the_mix_in_memory_is_the_mix_of_the_files_it_wrote(demo: Path, tmp_path: Path) -> None:
    """The music and the narration go to the mix in memory, not read back from their files:
    mixing the files the run wrote, as a user would, gives the same mix (to the 24-bit files'
    rounding); and the music is what `vidmuse` alone writes for the video."""
    from audio_creator import jobs
    from audio_creator.audio import Audio, load
    from audio_creator.audio_source import open_audio
    from audio_creator.mix.ducking import DuckingOptions
    from audio_creator.mix.mixer import MixOptions, Track, mix

    out = tmp_path / "a.wav"
    result = jobs.autopipeline(video=demo, output=out, narration="A quiet street. Then the rain.")
    alone = jobs.vidmuse(video=demo, output=tmp_path / "m.wav")
    music, _ = sf.read(result.outputs["music"], dtype="float32")
    np.testing.assert_array_equal(music, sf.read(alone.outputs["music"], dtype="float32")[0])
    # The narration's sentences, cut from its file where the report says they were placed.
    narration = load(result.outputs["narration"])
    rate = narration.sample_rate
    speech = []
    for sentence in result.report["speech"]["sentences"]:
        first, last = round(sentence["start_s"] * rate), round(sentence["end_s"] * rate)
        clip = Audio(np.ascontiguousarray(narration.samples[:, first:last]), rate)
        speech.append(Track(clip, sentence["start_s"]))
    options = MixOptions(
        ducking=DuckingOptions(depth_db=8.0, hold_s=1.2), music_fit="pad", duration_s=20.0
    )
    again = mix([Track(open_audio(result.outputs["music"], 48000))], speech, options)
    made, _ = sf.read(out, dtype="float32")
    assert made.shape == again.audio.samples.T.shape
    assert np.max(np.abs(made - again.audio.samples.T)) < 1e-4
    assert result.report["mix"]["integrated_lufs"] == pytest.approx(
        again.report.integrated_lufs, abs=0.01
    )
