"""`audio-creator eval` end to end: offline with the dsp backend, CLIP and CLAP paths on tiny
random models, the embedding cache, and bad input."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from audio_creator import cli
from helpers import make_pairs, run_ffmpeg


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("eval")
    rows = make_pairs(root, 3, seconds=3.0, size="96x64")
    manifest = root / "test.csv"
    with manifest.open("w", newline="") as f:
        csv.writer(f).writerows([["video_path", "audio_path"], *rows])
    same = root / "same"  # reference music: the very soundtracks → distance 0
    same.mkdir()
    for _, audio in rows:
        shutil.copy(audio, same / audio.name)
    other = root / "other"  # reference music unlike them: noise
    other.mkdir()
    for k in range(3):
        run_ffmpeg("-f", "lavfi", "-i", f"anoisesrc=d=3:c=pink:r=32000:seed={k + 1}",
                   str(other / f"n{k}.wav"))  # fmt: skip
    return {"root": root, "manifest": manifest, "same": same, "other": other}


def run_eval(clips: dict[str, Path], out: Path, *extra: str) -> int:
    return cli.main(["eval", "--manifest", str(clips["manifest"]), "--output-dir", str(out),
                     "--audio-backend", "dsp", *extra])  # fmt: skip


def test_offline_eval_with_the_dsp_backend_and_its_cache(
    clips: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = tmp_path / "embeddings.npz"
    out = tmp_path / "same"
    assert run_eval(clips, out, "--metrics", "dist,rhythm", "--reference-audio-dir",
                    str(clips["same"]), "--save-embeddings", str(cache)) == 0  # fmt: skip
    results = json.loads((out / "results.json").read_text())
    assert results["overall"]["frechet_distance"] == pytest.approx(0.0, abs=1e-6)
    assert results["overall"]["audio_backend"] == "dsp-1"
    assert len(results["clips"]) == 3
    assert all(-1 <= c["motion_onset_r"] <= 1 for c in results["clips"])
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert [r["clip"] for r in rows] == ["1", "2", "3", "overall"]
    assert "frechet_distance" in capsys.readouterr().out
    # the same soundtracks against noise: far; the cache supplies the three soundtracks
    far = tmp_path / "far"
    assert run_eval(clips, far, "--metrics", "dist", "--reference-audio-dir",
                    str(clips["other"]), "--load-embeddings", str(cache)) == 0  # fmt: skip
    assert json.loads((far / "results.json").read_text())["overall"]["frechet_distance"] > 1.0
    assert "embeddings: 3 computed, 3 from the cache" in capsys.readouterr().err
    # a damaged cache is reported and rebuilt
    cache.write_bytes(b"PK\x03\x04 not really a zip")
    assert run_eval(clips, tmp_path / "again", "--metrics", "dist", "--reference-audio-dir",
                    str(clips["same"]), "--save-embeddings", str(cache)) == 0  # fmt: skip
    assert "does not read" in capsys.readouterr().err
    assert run_eval(clips, tmp_path / "fourth", "--metrics", "dist", "--reference-audio-dir",
                    str(clips["same"]), "--load-embeddings", str(cache)) == 0  # fmt: skip
    assert "0 computed, 6 from the cache" in capsys.readouterr().err


def test_sim_and_retrieval_through_clip_words_and_clap(
    clips: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from tiny_models import save_tiny_clap, save_tiny_clip

    models = tmp_path / "models"
    monkeypatch.setenv("AUDIO_CREATOR_MODELS", str(models))
    save_tiny_clip(models / "clip" / "vit-b32")
    save_tiny_clap(models / "clap" / "htsat-unfused")
    out = tmp_path / "out"
    assert (
        cli.main(
            [
                "eval",
                "--manifest",
                str(clips["manifest"]),
                "--output-dir",
                str(out),
                "--compute-map-ndcg",
                "--reference-audio-dir",
                str(clips["other"]),
            ]
        )
        == 0
    )
    results = json.loads((out / "results.json").read_text())
    overall = results["overall"]
    assert {
        "mean_sim",
        "recall@1",
        "median_rank",
        "mAP",
        "nDCG",
        "frechet_distance",
        "mean_motion_onset_r",
    } <= set(overall)  # auto: every metric that can run
    assert overall["audio_backend"].startswith("clap:")  # auto: CLAP is here
    assert all(0 <= c["sim"] <= 1 and 1 <= c["rank"] <= 3 for c in results["clips"])
    for picture in ("similarity.png", "ranks.png", "clips.png"):
        assert (out / picture).read_bytes()[:4] == b"\x89PNG", picture


def test_bad_input(
    clips: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("AUDIO_CREATOR_MODELS", str(tmp_path / "no-models"))
    one_column = tmp_path / "one.csv"
    one_column.write_text("video_path\n" + str(clips["root"] / "a.mp4") + "\n")
    missing = tmp_path / "missing.csv"
    missing.write_text(f"video_path,audio_path\n{clips['root'] / 'a.mp4'},{tmp_path / 'x.wav'}\n")
    no_audio = tmp_path / "no_audio.csv"
    no_audio.write_text(f"video_path,audio_path\n{clips['root'] / 'a.mp4'},\n")
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = [
        (["--manifest", str(one_column)], 2, "needs the columns video_path,audio_path"),
        (["--manifest", str(missing)], 2, "x.wav not found"),
        (["--manifest", str(no_audio)], 2, "line 2: no audio_path"),
        (["--manifest", str(clips["manifest"]), "--metrics", "dist", "--reference-audio-dir",
          str(empty)], 2, "holds 0 audio file(s)"),
        (["--manifest", str(clips["manifest"]), "--metrics", "dist", "--reference-audio-dir",
          str(clips["same"]), "--audio-backend", "muq_mulan"], 3, "needs the muq package"),
        (["--manifest", str(clips["manifest"]), "--metrics", "dist", "--reference-audio-dir",
          str(clips["same"]), "--audio-backend", "vggsound"], 3, "VGGSound-trained model"),
        (["--manifest", str(clips["manifest"]), "--metrics", "sim"], 3, "through CLIP and CLAP"),
        (["--manifest", str(clips["manifest"]), "--metrics", "dist", "--reference-audio-dir",
          str(clips["same"]), "--fad-backend", "frechet_audio_distance"], 3, "not installed"),
        (["--manifest", str(clips["manifest"]), "--metrics", "loudness"], 2, "--metrics takes"),
        (["--manifest", str(clips["manifest"]), "--metrics", "dist"], 2,
         "needs --reference-audio-dir"),
        (["--manifest", str(clips["manifest"]), "--target-lufs", "nan"], 2,
         "target lufs must be a finite"),
        (["--manifest", str(clips["manifest"]), "--true-peak", "inf"], 2,
         "true peak must be a finite"),
    ]  # fmt: skip
    for args, code, said in cases:
        out = tmp_path / f"out{code}{len(args)}"
        assert cli.main(["eval", *args, "--output-dir", str(out)]) == code, said
        assert said in capsys.readouterr().err, said
        assert not (out / "results.json").exists()


def test_single_mode_makes_and_judges_base_and_adapter_music(
    clips: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("peft")
    from audio_creator.train.lora import TrainOptions, train
    from tiny_models import save_tiny_vidmuse

    model = save_tiny_vidmuse(tmp_path / "vidmuse")
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(
        f"video_path,audio_path\n{clips['root'] / 'a.mp4'},{clips['root'] / 'a.wav'}\n"
    )
    trained = train(TrainOptions(manifest=pairs, output=tmp_path / "ad.safetensors",
                                 music_model=str(model), max_seconds=1.0, device="cpu",
                                 cache_dir=tmp_path / "cache", epochs=3, lr=5e-3))  # fmt: skip
    adapter = trained.adapter
    out = tmp_path / "single"
    args = ["eval", "--video", str(clips["root"] / "b.mp4"), "--lora-path", str(adapter),
            "--music-model", str(model), "--duration", "1", "--metrics", "rhythm,mix",
            "--output-dir", str(out)]  # fmt: skip
    assert cli.main(args) == 0
    results = json.loads((out / "results.json").read_text())
    assert [c["variant"] for c in results["clips"]] == ["base", "lora"]
    assert (out / "base.wav").is_file() and (out / "lora.wav").is_file()
    assert (out / "base.wav").read_bytes() != (out / "lora.wav").read_bytes()
    assert all("motion_onset_r" in c and "integrated_lufs" in c for c in results["clips"])
    assert cli.main([*args[:-2], "--output-dir", str(tmp_path / "x"), "--skip-base",
                     "--metrics", "retrieval"]) == 2  # one video: no retrieval  # fmt: skip
    # as the original README wrote it: what applies to one video runs, the rest is said
    mixed = tmp_path / "mixed"
    assert (
        cli.main(
            [
                *args[:-2],
                "--output-dir",
                str(mixed),
                "--skip-base",
                "--metrics",
                "retrieval,dist,rhythm",
                "--audio-cache-dir",
                str(tmp_path / "c"),
            ]
        )
        == 0
    )
    said = capsys.readouterr().err
    assert "retrieval, dist compare many clips: left out" in said
    clips_out = json.loads((mixed / "results.json").read_text())["clips"]
    assert [c["variant"] for c in clips_out] == ["lora"] and "motion_onset_r" in clips_out[0]


def test_one_video_asks_for_what_is_missing_before_making_any_music(
    clips: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("AUDIO_CREATOR_MODELS", str(tmp_path / "no-models"))  # no CLIP, no CLAP
    out = tmp_path / "single"
    argv = ["eval", "--video", str(clips["root"] / "a.mp4"), "--metrics", "sim,rhythm",
            "--output-dir", str(out)]  # fmt: skip
    assert cli.main(argv) == 3
    assert "through CLIP and CLAP" in capsys.readouterr().err
    assert not (out / "base.wav").exists() and not (out / "results.json").exists()
