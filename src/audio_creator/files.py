"""Safe file handling at the edges: inputs checked before work starts, outputs appear atomically.

Every output is written to a temporary file in the destination folder and renamed into place, so a
failed run leaves nothing half-written behind, and an output path that names an input is refused.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from audio_creator.errors import MediaError


def check_input_file(path: str | os.PathLike[str], *, what: str = "input") -> Path:
    """Return `path` as a Path if it names a non-empty regular file, else raise MediaError."""
    p = Path(path)
    noun = what if what.endswith("file") else f"{what} file"  # "text file", not "text file file"
    if not p.exists():
        raise MediaError(f"{noun} not found: {p}")
    if p.is_dir():
        raise MediaError(f"{what} {p} is a directory; give the path of a file")
    if not p.is_file():
        raise MediaError(f"{what} {p} is not a regular file")
    if p.stat().st_size == 0:
        raise MediaError(f"{noun} {p} is empty (0 bytes)")
    return p


_made_folders: list[Path] = []  # made for outputs by this process (see `remove_made_folders`)


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
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _made_folders.extend(missing)
    except OSError as exc:
        raise MediaError(f"cannot write there: {_why_not_a_folder(folder, exc)}") from exc
    try:  # os.access is not enough: it says yes to root on read-only mounts and /proc
        _probe(folder)
    except OSError as exc:
        raise MediaError(
            f"cannot write there: the folder {folder} takes no new files ({exc.strerror or exc})"
        ) from exc
    return out


_probes = itertools.count()


def _probe(folder: Path) -> None:
    """Make and remove a file in `folder`. Its name (this process's, this thread's, a count) is
    chosen before it is made, so that it is removed however the call ends: a signal (Ctrl-C,
    SIGTERM) between the file's creation and the return of its descriptor would otherwise leave
    it behind. A file of that name can only be a dead process's (a pid used again): it goes too."""
    name = folder / f".audio-creator-probe-{os.getpid()}-{threading.get_ident()}-{next(_probes)}"
    try:
        os.close(os.open(name, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600))
    finally:
        with contextlib.suppress(OSError):  # (not made: the error that said so goes on)
            name.unlink()


def remove_made_folders() -> None:
    """Remove the folders `check_output_path` made that are still empty, deepest first: what a
    failed or stopped command calls, so that it leaves no empty folder behind."""
    for folder in sorted(set(_made_folders), key=lambda p: len(p.parts), reverse=True):
        with contextlib.suppress(OSError):  # not empty (or gone): it stays as it is
            folder.rmdir()
    _made_folders.clear()


def _why_not_a_folder(folder: Path, exc: OSError) -> str:
    """Why `folder` could not be made: a file in the way, or a place that takes no folders."""
    for above in (folder, *folder.parents):
        if above.exists():
            if not above.is_dir():
                return f"{above} is a file, not a folder"
            return f"{folder} cannot be made in {above} ({exc.strerror or exc})"
    return f"{folder} cannot be made ({exc.strerror or exc})"


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


class StagedOutputs:
    """Several outputs that appear together or not at all.

    Each output is written to a staging name beside it (`stage(final)`); `commit()` renames them
    all into place at the end, so a run that fails half-way leaves the outputs of an earlier run
    as they were, and no new file; `discard()` removes what was staged. Use it as a context
    manager: it commits on success and discards on any error.
    """

    def __init__(self) -> None:
        self._staged: list[tuple[Path, Path]] = []  # (staging name, final name)

    def stage(self, final: str | os.PathLike[str]) -> Path:
        """A fresh staging path beside `final`, with its suffix (writers pick formats by it)."""
        out = Path(final)
        fd, name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.stem}.", suffix=out.suffix)
        os.close(fd)
        staged = Path(name)
        staged.unlink()  # writers create it (atomically, under a name of their own)
        self._staged.append((staged, out))
        return staged

    def scratch(self, beside: str | os.PathLike[str], suffix: str) -> Path:
        """A staging path for a working file that is never committed (removed by both ends)."""
        path = self.stage(Path(beside).with_suffix(suffix))
        self._staged[-1] = (path, path)  # commits onto itself: removed below
        return path

    def commit(self) -> None:
        mode = 0o666 & ~_current_umask()
        for staged, final in self._staged:
            if staged == final:
                staged.unlink(missing_ok=True)
            elif staged.exists():
                os.chmod(staged, mode)
                os.replace(staged, final)
        self._staged.clear()

    def discard(self) -> None:
        for staged, _ in self._staged:
            staged.unlink(missing_ok=True)
        self._staged.clear()

    def __enter__(self) -> StagedOutputs:
        return self

    def __exit__(self, kind: object, *_: object) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()
