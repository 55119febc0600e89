"""The README's Python example runs as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from audio_creator.media.demo import make_demo_video

README = Path(__file__).parents[1] / "README.md"


def python_example(heading: str) -> str:
    """The first ```python block after `heading` in the README."""
    text = README.read_text(encoding="utf-8")
    after = text[text.index(heading) :]
    found = re.search(r"```python\n(.*?)```", after, re.DOTALL)
    assert found is not None, f"no Python example under {heading}"
    return found.group(1)


@pytest.mark.slow
def test_the_jobs_example_runs_as_written(tmp_path: Path) -> None:
    make_demo_video(tmp_path / "clip.mp4")
    code = python_example("### From Python")
    done = subprocess.run(
        [sys.executable, "-c", code], check=False, cwd=tmp_path, capture_output=True,
        text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "mix 100%" in done.stdout  # the progress callback heard every stage
    for name in ("out/clip.wav", "out/clip.mp4", "hello.wav", "hello.srt", "music.wav",
                 "mix.wav", "w.wav"):  # fmt: skip
        assert (tmp_path / name).stat().st_size > 0, name
