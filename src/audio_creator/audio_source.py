"""Audio read a stretch at a time: what the mixer consumes, in memory or straight from a file.

`Audio` holds its samples; `AudioFile` reads WAV/FLAC/OGG from disk on demand, so an hour of
input costs no memory. Both answer `read(start, stop)` with float32 `[channels, stop − start]`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from audio_creator.audio import Audio, load
from audio_creator.errors import MediaError
from audio_creator.files import check_input_file


class AudioSource(Protocol):
    @property
    def sample_rate(self) -> int: ...
    @property
    def channels(self) -> int: ...
    @property
    def frames(self) -> int: ...
    def read(self, start: int, stop: int) -> npt.NDArray[np.float32]: ...


@dataclass(frozen=True)
class AudioFile:
    """A file that libsndfile can seek in (WAV, FLAC, OGG), read on demand."""

    path: Path
    sample_rate: int
    channels: int
    frames: int

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate

    def read(self, start: int, stop: int) -> npt.NDArray[np.float32]:
        import soundfile as sf

        stop = min(stop, self.frames)
        if stop <= start:
            return np.zeros((self.channels, 0), np.float32)
        with sf.SoundFile(self.path) as f:
            f.seek(start)
            data = f.read(stop - start, dtype="float32", always_2d=True)
        block = np.ascontiguousarray(data.T)
        if not (np.isfinite(block.max()) and np.isfinite(block.min())):
            raise MediaError(f"{self.path} has NaN or infinite samples; repair or re-export it")
        return block


@dataclass(frozen=True)
class StoredClip:
    """A clip kept in a `ClipStore`'s file: float32, one channel after the other, from byte
    `offset`; read on demand like an `AudioFile`."""

    path: Path
    offset: int
    sample_rate: int
    channels: int
    frames: int

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate

    def read(self, start: int, stop: int) -> npt.NDArray[np.float32]:
        start, stop = max(0, start), min(stop, self.frames)
        out = np.zeros((self.channels, max(0, stop - start)), np.float32)
        if stop <= start:
            return out
        with open(self.path, "rb") as f:
            for channel, row in enumerate(out):
                f.seek(self.offset + 4 * (channel * self.frames + start))
                if f.readinto(row.data) != row.nbytes:
                    raise MediaError(f"{self.path} was cut short while it was being read")
        return out


class ClipStore:
    """Clips appended to one scratch file in `folder`: thousands of short sounds (a script's
    effects) that cost no memory until they are mixed. The file is the caller's to remove, with
    its folder."""

    def __init__(self, folder: Path) -> None:
        import tempfile

        fd, name = tempfile.mkstemp(dir=folder, prefix="clips.", suffix=".f32")
        self.path = Path(name)
        self._file = os.fdopen(fd, "wb")
        self.bytes = 0

    def add(self, audio: Audio) -> StoredClip:
        samples = np.ascontiguousarray(audio.samples, dtype=np.float32)
        clip = StoredClip(self.path, self.bytes, audio.sample_rate, *samples.shape)
        self._file.write(samples.data)
        self._file.flush()  # readable at once
        self.bytes += samples.nbytes
        return clip

    def close(self) -> None:
        self._file.close()


@dataclass(frozen=True)
class Conformed:
    """A source seen with another channel count (mono ↔ stereo, ITU downmixes), block by block."""

    source: AudioSource
    channels: int

    @property
    def sample_rate(self) -> int:
        return self.source.sample_rate

    @property
    def frames(self) -> int:
        return self.source.frames

    def read(self, start: int, stop: int) -> npt.NDArray[np.float32]:
        block = self.source.read(start, stop)
        if block.shape[0] == self.channels:
            return block
        return Audio(block, self.sample_rate).to_channels(self.channels).samples


def file_source(path: str | os.PathLike[str]) -> AudioFile:
    """A WAV, FLAC or OGG file as a source read on demand, whatever its length."""
    import soundfile as sf

    p = check_input_file(path)
    try:
        info = sf.info(str(p))
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise MediaError(f"{p} is not a WAV, FLAC or OGG file that can be read in pieces") from exc
    return AudioFile(p, info.samplerate, info.channels, info.frames)


IN_MEMORY_BYTES = 512 * 2**20  # inputs smaller than this (decoded) are simply loaded


def open_audio(path: str | os.PathLike[str], sample_rate: int) -> Audio | AudioFile:
    """An input for the mixer at `sample_rate`.

    Long seekable files (WAV, FLAC, OGG) already at that rate are read from disk on demand, so
    an hour of input costs no memory; everything else is decoded (and resampled) into memory,
    which is faster when it fits.
    """
    import soundfile as sf

    p = check_input_file(path)
    try:
        info = sf.info(str(p))
    except (sf.LibsndfileError, RuntimeError, TypeError):
        info = None
    large = info is not None and info.frames * info.channels * 4 > IN_MEMORY_BYTES
    if info is not None and large and info.samplerate == sample_rate:
        return AudioFile(p, info.samplerate, info.channels, info.frames)
    return load(p, sample_rate=sample_rate)
