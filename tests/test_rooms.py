"""Which rooms of the project may use which: checked on the source, function-level imports too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "src" / "audio_creator"

# room → the modules it must not import (a lower room never reaches into a higher one).
FORBIDDEN = {
    "dsp": ("audio_creator.mix", "audio_creator.music", "audio_creator.jobs"),
    "music": ("audio_creator.mix", "audio_creator.jobs", "audio_creator.train"),
    "eval": ("audio_creator.train", "audio_creator.jobs"),
    "mix": ("audio_creator.jobs", "audio_creator.music"),
}


def imported(path: Path) -> set[str]:
    """Every module that `path` imports, anywhere in it, as absolute names."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("room", sorted(FORBIDDEN))
def test_a_room_does_not_import_the_rooms_above_it(room: str) -> None:
    breaches = [
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in sorted((PACKAGE / room).rglob("*.py"))
        for name in sorted(imported(path))
        if name.startswith(FORBIDDEN[room])
    ]
    assert breaches == []


def test_the_check_sees_a_function_level_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from audio_creator.jobs.run import run\n")
    assert "audio_creator.jobs.run" in imported(module)


def test_the_training_loop_does_not_ask_which_model_it_trains() -> None:
    """`train/lora.py` reaches its base only through `music.neural.trainable`: no comparison
    with a model's name anywhere in it, and no import of a model's own modules."""
    path = PACKAGE / "train" / "lora.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    named = [
        ast.unparse(node)
        for node in ast.walk(tree)
        if isinstance(node, ast.Compare)
        and any(
            isinstance(side, ast.Constant) and side.value in ("vidmuse", "musicgen")
            for side in (node.left, *node.comparators)
        )
    ]
    assert named == []
    models = ("audio_creator.music.vidmuse", "audio_creator.music.musicgen")
    assert [name for name in imported(path) if name.startswith(models)] == []
