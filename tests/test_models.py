"""`audio-creator models`: the catalogue, downloads with recorded checksums, verification, and
the clear failure where there is no internet (as on this machine)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from audio_creator import cli, models

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def models_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "models"
    monkeypatch.setenv("AUDIO_CREATOR_MODELS", str(folder))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # never the network, even where there is one
    return folder


def test_list_says_what_is_here(models_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (models_dir / "musicgen" / "small").mkdir(parents=True)
    (models_dir / "musicgen" / "small" / "config.json").write_text("{}")
    assert cli.main(["models", "list"]) == 0
    lines = {line.split()[0]: line.split()[1] for line in capsys.readouterr().out.splitlines()}
    assert lines["musicgen-small"] == "here" and lines["vidmuse"] == "missing"
    assert lines["piper-en_US-amy-medium"] == "missing"
    assert cli.main(["models", "list", "no-such-model"]) == 2


def test_offline_a_download_fails_fast_and_says_where_to_run_it(
    models_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("huggingface_hub")
    assert cli.main(["models", "download", "musicgen-small"]) == 3
    said = capsys.readouterr().err
    assert "audio-creator models download musicgen-small" in said
    assert "machine with the internet" in said and str(models_dir) in said
    assert not models.is_present("musicgen-small")
    assert not models_dir.exists()  # no empty musicgen/small left behind
    (models_dir / "musicgen").mkdir(parents=True)  # a folder that was there stays
    assert cli.main(["models", "download", "musicgen-small"]) == 3
    assert [p.name for p in models_dir.rglob("*")] == ["musicgen"]


def test_the_original_download_script_runs_the_same_command(models_dir: Path) -> None:
    pytest.importorskip("huggingface_hub")
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "download_models.py"), "clap"],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 3 and "models download clap" in done.stderr


def test_a_download_records_checksums_that_verify_then_catch_a_change(
    models_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    hub = pytest.importorskip("huggingface_hub")
    asked: list[dict[str, Any]] = []

    def fake_snapshot(repo: str, *, local_dir: Path, allow_patterns: Any, **_: Any) -> str:
        """What the hub client does: the repository's files into local_dir (and its own
        bookkeeping in .cache, which is not ours to record)."""
        asked.append({"repo": repo, "patterns": allow_patterns})
        where = Path(local_dir)
        (where / "config.json").write_text(json.dumps({"model_type": "musicgen"}))
        (where / "model.safetensors").write_bytes(b"\x00weights" * 100)
        (where / ".cache").mkdir(exist_ok=True)
        (where / ".cache" / "lock").write_text("x")
        return str(where)

    monkeypatch.setattr(hub, "snapshot_download", fake_snapshot)
    assert cli.main(["models", "download", "musicgen-small"]) == 0
    assert asked == [{"repo": "facebook/musicgen-small", "patterns": list(models.CATALOGUE[
        "musicgen-small"].files)}]  # fmt: skip
    record = json.loads(models.checksums_of("musicgen-small").read_text())
    assert set(record) == {"config.json", "model.safetensors"}
    assert record["config.json"] == models.sha256(
        models.folder_of("musicgen-small") / "config.json"
    )
    assert cli.main(["models", "verify"]) == 0
    assert "every file matches" in capsys.readouterr().out
    assert cli.main(["models", "download", "musicgen-small"]) == 0  # present: nothing fetched
    assert len(asked) == 1

    (models.folder_of("musicgen-small") / "model.safetensors").write_bytes(b"tampered")
    assert cli.main(["models", "verify", "musicgen-small"]) == 2
    assert "model.safetensors: SHA-256 differs" in capsys.readouterr().out


def test_piper_voices_share_a_folder_and_keep_their_own_records(
    models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = pytest.importorskip("huggingface_hub")
    from fnmatch import fnmatch

    every = [f"en/en_US/amy/medium/en_US-amy-medium.onnx{x}" for x in ("", ".json")] + [
        f"en/en_GB/alan/medium/en_GB-alan-medium.onnx{x}" for x in ("", ".json")
    ]

    def fake_snapshot(repo: str, *, local_dir: Path, allow_patterns: Any, **_: Any) -> str:
        for name in every:
            if any(fnmatch(name, p) for p in allow_patterns):
                (Path(local_dir) / name).parent.mkdir(parents=True, exist_ok=True)
                (Path(local_dir) / name).write_text(name)
        return str(local_dir)

    monkeypatch.setattr(hub, "snapshot_download", fake_snapshot)
    assert cli.main(["models", "download", "piper-en_US-amy-medium"]) == 0
    assert cli.main(["models", "download", "piper-en_GB-alan-medium"]) == 0
    amy = json.loads(models.checksums_of("piper-en_US-amy-medium").read_text())
    assert sorted(amy) == sorted(every[:2])  # not the other voice's files
    from audio_creator.speech.voices import installed

    assert installed("piper", ".onnx") == ["en_GB-alan-medium", "en_US-amy-medium"]
