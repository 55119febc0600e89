"""A batch's rows: every video (or text) of a folder, or every row of a manifest.

A manifest is CSV (a header of option names) or JSON Lines (one object per line). Its columns are
the mode's options by name (`style`, `seed`, `narration`, `target_lufs`…), and `id` for the
row's folder name (else the input file's stem). A cell left empty takes the batch's default.
Files named in a row are read from the manifest's folder when relative. A row cannot name an
output (each row writes into its own folder under the mode's usual names; an extra output such as
`midi_out` is a switch, true or false) nor carry a secret (give keys in the environment).

What makes the whole manifest unusable is refused before any work, every problem at once: a file
that cannot be read or parsed, unknown or forbidden columns, no rows, ids used twice. A row whose
own values are wrong is not: it fails as data, with its message, and the others run.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audio_creator.errors import ConfigError
from audio_creator.jobs.options import EXTRA_OUTPUTS, JOBS, OUTPUT_NAMES
from audio_creator.jobs.spec import Field
from audio_creator.media.probe import SUPPORTED_VIDEO_SUFFIXES

# What a folder's files stand for, per mode (mix takes two inputs: a manifest only).
FOLDER_INPUTS = {
    "autopipeline": ("video", SUPPORTED_VIDEO_SUFFIXES),
    "vidmuse": ("video", SUPPORTED_VIDEO_SUFFIXES),
    "wavjourney": ("video", SUPPORTED_VIDEO_SUFFIXES),
    "tts": ("text_file", (".txt",)),
}
MANIFEST_SUFFIXES = (".csv", ".jsonl")
MAX_ROWS = 100_000
_TRUE, _FALSE = ("true", "yes", "1", "on"), ("false", "no", "0", "off", "")


class ManifestError(ConfigError):
    """The manifest (or folder) cannot be used at all: every problem found, one per line."""

    def __init__(self, source: Path, problems: list[str]) -> None:
        shown = problems[:20] + ([f"… and {len(problems) - 20} more"] if len(problems) > 20 else [])
        super().__init__(f"{source} cannot be used:\n  " + "\n  ".join(shown))
        self.problems = problems


@dataclass(frozen=True)
class Row:
    """One job of the batch, before the batch's defaults are added."""

    id: str  # its folder's name under the output folder
    where: str  # "line 3", "clip.mp4": how messages name it
    values: dict[str, Any]  # option → value, converted; outputs not yet placed
    problem: str | None = None  # why it cannot run (it fails as data)


def folder_rows(folder: Path, mode: str) -> list[Row]:
    """A row for each file of `folder` that the mode takes (see FOLDER_INPUTS), by name."""
    if mode not in FOLDER_INPUTS:
        raise ConfigError(f"{mode} takes several inputs per job: give them in a --manifest")
    if not folder.is_dir():
        raise ConfigError(f"--input {folder}: no such folder")
    option, suffixes = FOLDER_INPUTS[mode]
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in suffixes)
    if not files:
        raise ManifestError(folder, [f"no {' / '.join(suffixes)} file in it"])
    ids = _unique_ids([_safe_id(p.stem) for p in files])
    return [Row(i, p.name, {option: p.resolve()}) for i, p in zip(ids, files, strict=True)]


def manifest_rows(path: Path, mode: str) -> list[Row]:
    """The rows of a CSV or JSON Lines manifest (see the module docstring).

    Raises:
        ManifestError: the manifest cannot be used; every problem is listed.
    """
    if path.suffix.lower() not in MANIFEST_SUFFIXES:
        raise ConfigError(f"--manifest {path.name}: give a .csv or .jsonl file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"--manifest {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(path, [f"cannot be read as UTF-8 text: {exc}"]) from None
    problems: list[str] = []
    records = _csv_records(text, problems) if path.suffix.lower() == ".csv" else (
        _jsonl_records(text, problems))  # fmt: skip
    fields = {f.name: f for f in JOBS[mode].fields()}
    columns = sorted({key for _, record in records for key in record})
    for column in columns:
        problems += _column_problems(column, fields, mode)
    if not records and not problems:
        problems.append("it has no rows")
    if len(records) > MAX_ROWS:
        problems.append(f"it has {len(records)} rows; a batch takes at most {MAX_ROWS:,}")
    given = [str(record.get("id") or "").strip() for _, record in records]
    for name in sorted({n for n in given if n and given.count(n) > 1}):
        problems.append(f"id {name!r} is given to more than one row")
    for name in given:
        if name and _safe_id(name) != name:
            problems.append(f"id {name!r}: use letters, digits, '.', '_' and '-' only")
    if problems:
        raise ManifestError(path, problems)
    rows = []
    base = path.parent.resolve()
    ids = _unique_ids([name or _default_id(record, fields, number)
                       for name, (number, record) in zip(given, records, strict=True)])  # fmt: skip
    for row_id, (number, record) in zip(ids, records, strict=True):
        values, problem = {}, None
        for key, raw in record.items():
            if key == "id" or raw is None or raw == "":
                continue
            try:
                values[key] = cell(fields[key], raw, base)
            except ConfigError as exc:
                problem = problem or str(exc)
        rows.append(Row(row_id, f"line {number}", values, problem))
    return rows


def cell(f: Field, raw: Any, base: Path) -> Any:
    """A manifest cell as its option takes it: text converted by the option's kind; a file
    named relative to the manifest's folder made absolute."""
    if f.spec.role == "extra_output" or f.kind is bool:
        return _switch(f, raw)
    if f.many:
        items = raw if isinstance(raw, list) else [s for s in str(raw).split(";") if s.strip()]
        return [_file(str(item).strip(), base) for item in items]
    if isinstance(raw, (list, dict)):
        raise ConfigError(f"{f.name} takes one value, not {type(raw).__name__}")
    if f.kind is Path or f.spec.role in ("input", "server_file"):
        return _file(str(raw).strip(), base)
    if f.kind in (int, float):
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            return raw
        try:
            number = float(str(raw).strip())
        except ValueError:
            raise ConfigError(f"{f.name} must be a number, not {raw!r}") from None
        return int(number) if f.kind is int and number.is_integer() else number
    return str(raw)


def _switch(f: Field, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise ConfigError(f"{f.name} is a switch: true or false, not {raw!r}")


def _file(text: str, base: Path) -> Path | str:
    """A path from the manifest's folder; "FILE@SECONDS" (mix's tracks) keeps its offset."""
    name, at, offset = text.rpartition("@")
    if at and name and re.fullmatch(r"[0-9.eE+-]+", offset):
        return f"{_file(name, base)}@{offset}"
    path = Path(text).expanduser()
    return path if path.is_absolute() else base / path


def _column_problems(column: str, fields: dict[str, Field], mode: str) -> list[str]:
    if column == "id":
        return []
    f = fields.get(column)
    if f is None:
        known = ", ".join(["id", *fields])
        return [f"column {column!r} is no option of {mode} (its options: {known})"]
    if f.spec.role == "output":
        return [f"column {column!r}: each row writes into its own folder, under the usual names"]
    if f.spec.role == "secret":
        return [f"column {column!r} would keep a secret in a file: give it in the environment"]
    if f.spec.role == "extra_output" and EXTRA_OUTPUTS.get(column, "") is None:
        return [f"column {column!r}: set merge_video true to have the video written"]
    return []


def _csv_records(text: str, problems: list[str]) -> list[tuple[int, dict[str, Any]]]:
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if header is None:
        return []
    names = [h.strip() for h in header]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"column {name!r} appears twice")
    if "" in names:
        problems.append("a column has no name")
    records = []
    for number, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue  # a blank line
        if len(values) != len(names):
            problems.append(f"line {number} has {len(values)} cells; the header has {len(names)}")
            continue
        records.append((number, dict(zip(names, values, strict=True))))
    return records


def _jsonl_records(text: str, problems: list[str]) -> list[tuple[int, dict[str, Any]]]:
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            problems.append(f"line {number} is not JSON: {exc}")
            continue
        if not isinstance(record, dict):
            problems.append(f"line {number} is not a JSON object")
            continue
        records.append((number, record))
    return records


def _default_id(record: dict[str, Any], fields: dict[str, Field], number: int) -> str:
    """A row's id when none is given: its first input file's stem, else its line."""
    for name, f in fields.items():
        value = record.get(name)
        if f.spec.role == "input" and value and not f.many:
            return _safe_id(Path(str(value)).stem) or f"line-{number}"
    return f"line-{number}"


def _safe_id(text: str) -> str:
    """`text` as a folder name: letters, digits, '.', '_' and '-' (no leading dot)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).lstrip(".")[:100]


def _unique_ids(ids: list[str]) -> list[str]:
    """`ids`, each repeated one given a numbered suffix (clip, clip-2, clip-3…)."""
    seen: dict[str, int] = {}
    unique = []
    taken = set(ids)
    for given in ids:
        name = given or "row"
        if name in seen:
            count = seen[name] + 1
            while f"{name}-{count}" in taken:
                count += 1
            seen[name] = count
            unique.append(f"{name}-{count}")
            taken.add(unique[-1])
        else:
            seen[name] = 1
            unique.append(name)
    return unique


def place_outputs(mode: str, values: dict[str, Any], folder: Path) -> dict[str, Any]:
    """`values` with the job's outputs placed in `folder` under the mode's usual names (an extra
    output switched on gets its usual name; one switched off is left out)."""
    placed = {"output": folder / OUTPUT_NAMES[mode]}
    stem = Path(OUTPUT_NAMES[mode]).stem
    for name, value in values.items():
        if name in EXTRA_OUTPUTS and EXTRA_OUTPUTS[name] is not None:
            if value is True:
                placed[name] = folder / str(EXTRA_OUTPUTS[name]).format(stem=stem)
            continue
        placed[name] = value
    return placed
