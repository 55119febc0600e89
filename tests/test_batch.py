"""Batches on the local engine: a folder or manifest in, a folder per row out, re-runs cheap,
failures as data, no row ever half written."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import soundfile as sf

from audio_creator import cli
from audio_creator.batch import BatchOptions, local, run_batch
from audio_creator.batch.rows import ManifestError, manifest_rows
from helpers import children


@pytest.fixture(scope="module")
def videos(batch_videos: Path) -> Path:
    return batch_videos


def mtimes(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*")
            if p.is_file() and not p.name.startswith("batch_report")}  # fmt: skip


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith((".staging", ".retired")))


def report(out: Path) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in json.loads((out / "batch_report.json").read_text())}


def test_a_folder_of_videos_each_gets_its_soundtrack_and_the_broken_one_is_reported(
    videos: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    args = ["batch", "--mode", "autopipeline", "--input", str(videos), "--output-dir", str(out)]
    assert cli.main([*args, "--workers", "2", "--merge-video"]) == 1  # one row failed
    rows = report(out)
    assert {k: r["status"] for k, r in rows.items()} == {
        "broken": "failed", "clip1": "done", "clip2": "done", "clip3": "done", "clip4": "done",
    }  # fmt: skip
    assert rows["broken"]["error_kind"] == "media" and "not a video" in rows["broken"]["error"]
    for number in range(1, 5):
        folder = out / f"clip{number}"
        names = {p.name for p in folder.iterdir()}
        assert {"soundtrack.wav", "soundtrack.mp4", "soundtrack_music.wav", "soundtrack_narr.wav",
                "soundtrack_narr.srt", "soundtrack_report.json", "soundtrack_timeline.png",
                "batch_record.json", "batch.log"} <= names  # fmt: skip
        info = sf.info(folder / "soundtrack.wav")
        assert info.duration == pytest.approx(3.0 + number, abs=0.05)
        record = json.loads((folder / "batch_record.json").read_text())
        assert record["inputs"][0]["size"] == (videos / f"clip{number}.mp4").stat().st_size
        assert len(record["inputs"][0]["sha256"]) == 64
        assert record["identity"]["options"]["merge_video"] is True
        assert rows[f"clip{number}"]["figures"]["mix.integrated_lufs"] == pytest.approx(
            -16, abs=0.1
        )
    assert not (out / "broken").exists() and leftovers(out) == []
    table = capsys.readouterr().out
    assert "done           4" in table and "failed         1" in table
    csv_lines = (out / "batch_report.csv").read_text().splitlines()
    assert csv_lines[0].startswith(
        "id,source,status,seconds,attempts,peak_rss_mb,error_kind,error,outputs"
    )
    assert all(0 < rows[f"clip{n}"]["peak_rss_mb"] < 4096 for n in range(1, 5))
    assert len(csv_lines) == 6

    # Again: the done rows are skipped without a worker started, and nothing is rewritten.
    before = mtimes(out)
    started: list[str] = []
    real_submit = local.LocalEngine.submit

    def submit(engine: local.LocalEngine, task: local.Task) -> None:
        started.append(task.row_id)
        real_submit(engine, task)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(local.LocalEngine, "submit", submit)
        assert cli.main([*args, "--merge-video"]) == 1
    assert started == ["broken"]  # the failed row is tried again; the done ones are not
    assert {k: r["status"] for k, r in report(out).items() if k != "broken"} == dict.fromkeys(
        ["clip1", "clip2", "clip3", "clip4"], "skipped"
    )
    assert mtimes(out) == before


def manifest(path: Path, videos: Path, seeds: list[int]) -> Path:
    lines = ["id,video,seed"] + [f"row{i},{videos}/clip{i}.mp4,{s}" for i, s in
                                 enumerate(seeds, start=1)]  # fmt: skip
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_changed_row_runs_again_and_only_that_row(videos: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    options = BatchOptions("vidmuse", out, manifest=manifest(tmp_path / "m.csv", videos,
                                                             [1, 2, 3]))  # fmt: skip
    fractions: list[float] = []
    first = run_batch(options, progress=lambda stage, done: fractions.append(done))
    assert first.exit_code == 0 and first.count("done") == 3
    assert fractions[-1] == 1.0 and len(fractions) == 3  # the job API hears each row end
    before = mtimes(out)
    second = run_batch(replace_manifest(options, manifest(tmp_path / "m.csv", videos, [1, 7, 3])))
    assert [r.status for r in second.rows] == ["skipped", "done", "skipped"]
    after = mtimes(out)
    changed = {name for name in after if after[name] != before.get(name)}
    assert changed and all(name.startswith("row2/") for name in changed)
    record = json.loads((out / "row2" / "batch_record.json").read_text())
    assert record["identity"]["options"]["seed"] == 7
    # An input edited in place runs its row again; one only touched does not.
    os.utime(videos / "clip1.mp4")
    assert run_batch(options).rows[0].status == "skipped"
    assert (
        run_batch(BatchOptions("vidmuse", out, manifest=options.manifest, force=True)).count("done")
        == 3
    )  # --force redoes them all


def replace_manifest(options: BatchOptions, path: Path) -> BatchOptions:
    from dataclasses import replace

    return replace(options, manifest=path)


def test_a_worker_that_dies_mid_row_is_retried_and_leaves_nothing_half_written(
    videos: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first attempt of row2 writes part of its output, then its process is SIGKILLed."""
    real_work = local.work

    def dying_work(task: local.Task, conn: Any) -> None:
        if task.row_id == "row2" and task.attempt == 1:
            (task.staging / "music.wav").write_bytes(b"RIFF half")
            os.kill(os.getpid(), signal.SIGKILL)
        real_work(task, conn)

    monkeypatch.setattr(local, "work", dying_work)
    out = tmp_path / "out"
    path = manifest(tmp_path / "m.csv", videos, [1, 2, 3])
    result = run_batch(BatchOptions("vidmuse", out, manifest=path))
    rows = {r.id: r for r in result.rows}
    assert result.exit_code == 0 and rows["row2"].status == "done" and rows["row2"].attempts == 2
    assert sf.info(out / "row2" / "music.wav").frames > 0 and leftovers(out) == []
    # With no retries left, the row fails, saying why, and leaves no folder.
    out = tmp_path / "out2"
    result = run_batch(BatchOptions("vidmuse", out, manifest=path, retries=0))
    rows = {r.id: r for r in result.rows}
    assert result.exit_code == 1 and rows["row2"].status == "failed"
    assert rows["row2"].error == "its worker process died (signal 9)"
    assert not (out / "row2").exists() and leftovers(out) == []
    assert rows["row1"].status == rows["row3"].status == "done"


def test_a_manifest_that_cannot_be_used_is_refused_whole_before_any_work(
    videos: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(f"id,video,colour,output,api_key\nx,{videos}/clip1.mp4,red,a.wav,k\n"
                   f"x,{videos}/clip2.mp4,blue,,\n")  # fmt: skip
    out = tmp_path / "out"
    args = ["batch", "--mode", "autopipeline", "--manifest", str(bad), "--output-dir", str(out)]
    assert cli.main(args) == 2 and not out.exists()
    said = capsys.readouterr().err
    problems = (
        "column 'colour' is no option of autopipeline",
        "column 'output'",
        "column 'api_key' would keep a secret",
        "id 'x' is given to more than one",
    )
    for problem in problems:
        assert problem in said
    with pytest.raises(ManifestError, match="line 2 is not JSON"):
        (tmp_path / "m.jsonl").write_text('{"video": "a.mp4"}\n{oops\n')
        manifest_rows(tmp_path / "m.jsonl", "vidmuse")
    # A row's own wrong value is no reason to stop the others: it fails as data.
    (tmp_path / "m.jsonl").write_text(
        json.dumps({"id": "good", "video": str(videos / "clip1.mp4")}) + "\n"
        + json.dumps({"id": "bad", "video": str(videos / "clip2.mp4"), "rerank": "many"}) + "\n"
    )  # fmt: skip
    result = run_batch(BatchOptions("vidmuse", out, manifest=tmp_path / "m.jsonl"))
    rows = {r.id: r for r in result.rows}
    assert rows["good"].status == "done" and rows["bad"].status == "failed"
    assert rows["bad"].error_kind == "config" and "rerank must be a number" in rows["bad"].error


def test_relative_paths_in_a_manifest_are_read_from_its_folder(
    videos: Path, tmp_path: Path
) -> None:
    import shutil

    shutil.copy(videos / "clip1.mp4", tmp_path / "here.mp4")
    (tmp_path / "m.csv").write_text("video,midi_out\nhere.mp4,true\n")
    result = run_batch(BatchOptions("vidmuse", tmp_path / "out", manifest=tmp_path / "m.csv"))
    assert [r.id for r in result.rows] == ["here"] and result.exit_code == 0
    assert {"music.wav", "music.mid"} <= {p.name for p in (tmp_path / "out" / "here").iterdir()}


@pytest.mark.skipif(sys.platform != "linux", reason="finds the worker through /proc")
def test_a_stopped_batch_stops_its_workers_and_leaves_no_partial_row(
    videos: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    command = [sys.executable, "-m", "audio_creator.cli", "batch", "--mode", "autopipeline",
               "--input", str(videos), "--output-dir", str(out), "--workers", "1"]  # fmt: skip
    batch = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not children(batch.pid):
            time.sleep(0.05)
        workers = children(batch.pid)
        assert workers, "no worker started"
        time.sleep(0.5)  # mid-row
        batch.send_signal(signal.SIGTERM)
        assert batch.wait(timeout=60) == 143
    finally:
        batch.kill()
    assert all(not Path(f"/proc/{pid}").exists() for pid in workers)
    assert leftovers(out) == []
    for folder in (p for p in out.iterdir() if p.is_dir()):  # rows that finished are whole
        assert (folder / "batch_record.json").is_file()
    assert (out / "batch_report.json").is_file()


@pytest.mark.skipif(sys.platform != "linux", reason="finds the worker through /proc")
def test_a_worker_killed_from_outside_is_retried(videos: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    (tmp_path / "m.csv").write_text(f"id,video\nonly,{videos / 'clip4.mp4'}\n")
    command = [sys.executable, "-m", "audio_creator.cli", "batch", "--mode", "autopipeline",
               "--manifest", str(tmp_path / "m.csv"), "--output-dir", str(out)]  # fmt: skip
    batch = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not children(batch.pid):
            time.sleep(0.05)
        (worker,) = children(batch.pid)
        time.sleep(0.5)  # mid-row
        os.kill(worker, signal.SIGKILL)
        assert batch.wait(timeout=120) == 0
    finally:
        batch.kill()
    (row,) = report(out).values()
    assert row["status"] == "done" and row["attempts"] == 2
    assert leftovers(out) == [] and (out / "only" / "soundtrack.wav").is_file()


def test_texts_are_spoken_from_python_with_defaults_for_every_row(tmp_path: Path) -> None:
    from audio_creator import jobs

    texts = tmp_path / "texts"
    texts.mkdir()
    (texts / "a.txt").write_text("Hello there.\n")
    (texts / "b b.txt").write_text("A second, longer line to say.\n")
    heard: list[tuple[str, float]] = []
    result = jobs.batch("tts", tmp_path / "out", input_dir=texts, subtitles=True,
                        progress=lambda stage, done: heard.append((stage, done)))  # fmt: skip
    assert result.exit_code == 0 and [r.id for r in result.rows] == ["a", "b_b"]
    assert heard == [("batch", 0.5), ("batch", 1.0)]
    for row in ("a", "b_b"):
        assert {"speech.wav", "speech.srt"} <= {p.name for p in (tmp_path / "out" / row).iterdir()}
    with pytest.raises(Exception, match="tts has no option 'style'"):
        jobs.batch("tts", tmp_path / "out", input_dir=texts, style="lofi")
