"""When a batch row is done, and how its folder appears whole.

A row is done when its folder holds its outputs and `batch_record.json`: what it was made from
(each input file's size, modification time and SHA-256), with which options, by which version of
the project, in how many seconds, and a few figures from its report. The next run skips it when
all of that still holds. An input whose size and time are unchanged keeps its recorded hash (a
re-run does not read every video again); one that changed is hashed, so a file touched but not
edited still counts as the same.

A row runs in a hidden staging folder beside its final one and is renamed into place, record and
all, only when it succeeded: an interrupted batch leaves hidden folders (removed by the next run),
never a half-written row folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

RECORD = "batch_record.json"
STAGING_PREFIX = ".staging."  # a row at work: .staging.ID.XXXX
RETIRED_PREFIX = ".retired."  # a row's previous folder, on its way out
_HASH_BLOCK = 1 << 20


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(_HASH_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def file_facts(path: Path, known: dict[str, Any] | None = None) -> dict[str, Any]:
    """Size, modification time and content hash of `path`; the hash is taken from `known` (an
    earlier record's facts) when size and time have not changed."""
    stat = path.stat()
    facts: dict[str, Any] = {"path": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    if known and known.get("size") == stat.st_size and known.get("mtime_ns") == stat.st_mtime_ns:
        facts["sha256"] = known.get("sha256")
    else:
        facts["sha256"] = sha256(path)
    return facts


def input_files(values: dict[str, Any], inputs: list[str]) -> list[Path]:
    """The files a row reads: its input options' values (a mix track's "FILE@SECONDS" too)."""
    found = []
    for name in inputs:
        value = values.get(name)
        for item in value if isinstance(value, list) else [value]:
            if item is None:
                continue
            text = str(item)
            file, at, offset = text.rpartition("@")
            found.append(Path(file if at and file and _number(offset) else text))
    return found


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_record(folder: Path) -> dict[str, Any] | None:
    try:
        record = json.loads((folder / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def is_done(folder: Path, identity: dict[str, Any], files: list[Path]) -> bool:
    """Whether `folder` holds a finished row of this identity (mode, options, version) made from
    these files as they are now, with every output it recorded still there."""
    record = read_record(folder)
    if record is None or record.get("identity") != identity:
        return False
    if any(not (folder / name).is_file() for name in record.get("outputs", [])):
        return False
    recorded = record.get("inputs", [])
    if len(recorded) != len(files):
        return False
    for path, known in zip(files, recorded, strict=True):
        try:
            now = file_facts(path, known)
        except OSError:
            return False
        if (now["path"], now["size"], now["sha256"]) != (
            known.get("path"),
            known.get("size"),
            known.get("sha256"),
        ):
            return False
    return True


def staging_folder(out: Path, row_id: str) -> Path:
    """A new hidden folder in `out` for the row to work in (as a folder made by mkdir would be:
    mkdtemp's own is private)."""
    path = Path(tempfile.mkdtemp(dir=out, prefix=f"{STAGING_PREFIX}{row_id}."))
    umask = os.umask(0)
    os.umask(umask)
    path.chmod(0o777 & ~umask)
    return path


def publish(staging: Path, final: Path, record: dict[str, Any]) -> None:
    """Write the record into `staging`, then put `staging` where `final` is: an earlier folder
    there is moved aside first and removed after, so `final` is never half there."""
    with (staging / (RECORD + ".tmp")).open("w", encoding="utf-8") as f:
        json.dump(record, f, indent=2)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    (staging / (RECORD + ".tmp")).replace(staging / RECORD)
    retired = None
    if final.exists():
        retired = Path(tempfile.mkdtemp(dir=final.parent, prefix=f"{RETIRED_PREFIX}{final.name}."))
        final.replace(retired / final.name)
    staging.replace(final)
    if retired is not None:
        shutil.rmtree(retired, ignore_errors=True)


def clear_leftovers(out: Path) -> list[Path]:
    """Remove the staging and retired folders an interrupted run left in `out`."""
    removed = []
    for path in out.iterdir():
        if path.is_dir() and path.name.startswith((STAGING_PREFIX, RETIRED_PREFIX)):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed
