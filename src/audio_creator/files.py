"""Safe file handling at the edges: inputs checked before work starts, outputs appear atomically.

Every output is written to a temporary file in the destination folder and renamed into place, so a
failed run leaves nothing half-written behind, and an output path that names an input is refused.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from audio_creator.errors import MediaError


def check_input_file(path: str | os.PathLike[str], *, what: str = "input") -> Path:
    """Return `path` as a Path if it names a non-empty regular file, else raise MediaError."""
    p = Path(path)
    if not p.exists():
        raise MediaError(f"{what} file not found: {p}")
    if p.is_dir():
        raise MediaError(f"{what} {p} is a directory; give the path of a file")
    if not p.is_file():
        raise MediaError(f"{what} {p} is not a regular file")
    if p.stat().st_size == 0:
        raise MediaError(f"{what} file {p} is empty (0 bytes)")
    return p


def check_output_path(
    path: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str]] = ()
) -> Path:
    """Validate an output path before any work is done.

    Refuses an output that is one of the inputs (never overwrite an input), an existing directory,
    or a folder that cannot be created or written to. Missing parent folders are created.
    """
    out = Path(path)
    if out.is_dir():
        raise MediaError(f"output {out} is a directory; give a file name such as {out / 'out.wav'}")
    resolved = out.resolve()
    for source in inputs:
        src = Path(source)
        if src.resolve() == resolved or (
            out.exists() and src.exists() and os.path.samefile(out, src)
        ):
            raise MediaError(f"output {out} is also an input; choose another output path")
    folder = out.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MediaError(f"cannot create output folder {folder}: {exc.strerror or exc}") from exc
    try:  # os.access is not enough: it says yes to root on read-only mounts and /proc
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".audio-creator-probe-"):
            pass
    except OSError as exc:
        raise MediaError(f"cannot write to output folder {folder}: {exc.strerror or exc}") from exc
    return out


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success rename it onto `path`, on error delete it.

    The temporary name keeps the final suffix so that writers choosing a format by extension
    (soundfile, FFmpeg) pick the same format.
    """
    final = Path(path)
    fd, tmp_name = tempfile.mkstemp(dir=final.parent, prefix=f".{final.stem}.", suffix=final.suffix)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_current_umask())  # mkstemp makes 0600; give the usual mode
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
