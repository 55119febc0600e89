"""`Audio`, the one object that carries sound through the project, and its file I/O.

An `Audio` holds float32 samples shaped `[channels, frames]` together with their sample rate. It is
immutable: every operation returns a new object. Loading accepts anything FFmpeg can decode (WAV,
FLAC, OGG, MP3, AAC/M4A, the audio track of a video); saving writes WAV.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from audio_creator.errors import ConfigError, MediaError
from audio_creator.files import atomic_output, check_input_file

if TYPE_CHECKING:
    from audio_creator.audio_source import AudioSource

logger = logging.getLogger(__name__)

_SQRT_HALF = float(np.sqrt(0.5))  # −3 dB, the ITU-R BS.775 weight of centre and surround channels

# Stereo downmix matrices (rows: left, right) for the channel orders FFmpeg and WAV use by default.
# ITU-R BS.775: Lo = L + 0.7071·C + 0.7071·Ls, Ro = R + 0.7071·C + 0.7071·Rs; the LFE is dropped.
_S = _SQRT_HALF
_STEREO_DOWNMIX: dict[int, list[list[float]]] = {
    # quad: FL FR BL BR
    4: [[1, 0, _S, 0], [0, 1, 0, _S]],
    # 5.0: FL FR FC BL BR
    5: [[1, 0, _S, _S, 0], [0, 1, _S, 0, _S]],
    # 5.1: FL FR FC LFE BL BR
    6: [[1, 0, _S, 0, _S, 0], [0, 1, _S, 0, 0, _S]],
    # 7.1: FL FR FC LFE BL BR SL SR
    8: [[1, 0, _S, 0, _S, 0, _S, 0], [0, 1, _S, 0, 0, _S, 0, _S]],
}

BIT_DEPTHS = (16, 24, 32)  # 16- and 24-bit integer PCM, 32-bit float


@dataclass(frozen=True, eq=False)
class Audio:
    """Sampled sound: float32 `samples` shaped `[channels, frames]` at `sample_rate` Hz."""

    samples: npt.NDArray[np.float32]
    sample_rate: int

    def __post_init__(self) -> None:
        samples = np.asarray(self.samples)
        if samples.ndim == 1:
            samples = samples[np.newaxis, :]
        if samples.ndim != 2:
            raise ConfigError(
                f"audio samples must be [channels, frames], got shape {samples.shape}"
            )
        if not np.issubdtype(samples.dtype, np.floating):
            raise ConfigError(f"audio samples must be floating point, got {samples.dtype}")
        if samples.shape[0] < 1:
            raise ConfigError("audio must have at least one channel")
        if int(self.sample_rate) != self.sample_rate or self.sample_rate <= 0:
            raise ConfigError(f"sample rate must be a positive integer, got {self.sample_rate}")
        # A read-only view: the caller's array stays writable; ours can't change behind our back.
        view = np.ascontiguousarray(samples, dtype=np.float32).view()
        view.flags.writeable = False
        object.__setattr__(self, "samples", view)
        object.__setattr__(self, "sample_rate", int(self.sample_rate))

    @property
    def channels(self) -> int:
        return int(self.samples.shape[0])

    @property
    def frames(self) -> int:
        return int(self.samples.shape[1])

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate

    def resample(self, sample_rate: int) -> Audio:
        """Return this audio at `sample_rate`, converted with libsoxr's very-high-quality filter."""
        if sample_rate <= 0:
            raise ConfigError(f"sample rate must be positive, got {sample_rate}")
        if sample_rate == self.sample_rate or self.frames == 0:
            return Audio(self.samples, sample_rate)
        import soxr

        out = soxr.resample(self.samples.T, self.sample_rate, sample_rate, quality="VHQ")
        return Audio(np.asarray(out, dtype=np.float32).T, sample_rate)

    def to_channels(self, channels: int) -> Audio:
        """Return this audio with `channels` channels.

        Mono is copied to every channel; stereo to mono is the mean of left and right; quad, 5.0,
        5.1 and 7.1 (FFmpeg/WAV channel order) are downmixed to stereo with the ITU-R BS.775
        coefficients, and to mono through that stereo downmix.
        """
        have = self.channels
        if channels == have:
            return self
        if channels < 1:
            raise ConfigError(f"channel count must be at least 1, got {channels}")
        if have == 1:
            return Audio(np.repeat(self.samples, channels, axis=0), self.sample_rate)
        if have in _STEREO_DOWNMIX:
            stereo = Audio(
                np.asarray(_STEREO_DOWNMIX[have], np.float32) @ self.samples, self.sample_rate
            )
            return stereo.to_channels(channels)
        if have == 2 and channels == 1:
            return Audio(self.samples.mean(axis=0, keepdims=True), self.sample_rate)
        raise ConfigError(
            f"no standard conversion from {have} to {channels} channels; "
            f"supported: mono, stereo, and downmixes of quad, 5.0, 5.1 and 7.1"
        )

    def read(self, start: int, stop: int) -> npt.NDArray[np.float32]:
        """Samples [start, stop), a read-only view (the `AudioSource` interface)."""
        return self.samples[:, start:stop]

    def fit_frames(self, frames: int) -> Audio:
        """Return exactly `frames` frames: trimmed at the end, or padded there with silence."""
        if frames < 0:
            raise ConfigError(f"frame count must be non-negative, got {frames}")
        if frames <= self.frames:
            return Audio(self.samples[:, :frames], self.sample_rate)
        pad = np.zeros((self.channels, frames - self.frames), np.float32)
        return Audio(np.concatenate([self.samples, pad], axis=1), self.sample_rate)


def validate_audio(audio: Audio, *, name: str = "audio") -> None:
    """Raise MediaError if `audio` is empty or holds NaN or infinite samples."""
    if audio.frames == 0:
        raise MediaError(f"{name} contains no samples")
    # NaN and ±inf survive min/max, which is much cheaper than a full isfinite pass.
    if np.isfinite(audio.samples.max()) and np.isfinite(audio.samples.min()):
        return
    finite = np.isfinite(audio.samples)
    if not finite.all():
        bad = int(finite.size - np.count_nonzero(finite))
        first = int(np.argmin(finite.all(axis=0)))
        raise MediaError(
            f"{name} has {bad} NaN or infinite samples (the first at "
            f"{first / audio.sample_rate:.3f} s); repair or re-export the file"
        )


def load(
    path: str | os.PathLike[str], *, sample_rate: int | None = None, channels: int | None = None
) -> Audio:
    """Read an audio file, or the first audio track of a video, as float32.

    Args:
        path: WAV, FLAC, OGG, MP3, AAC/M4A, or any video container FFmpeg reads.
        sample_rate: resample to this rate; None keeps the file's rate.
        channels: convert to this many channels; None keeps the file's layout.

    Returns:
        The decoded audio, checked for emptiness and non-finite samples.
    """
    p = check_input_file(path)
    audio = _read_with_soundfile(p)
    if audio is None:
        audio = _read_with_ffmpeg(p)
    validate_audio(audio, name=str(p))
    if channels is not None:
        audio = audio.to_channels(channels)
    if sample_rate is not None:
        audio = audio.resample(sample_rate)
    return audio


_WRITE_BLOCK = 1 << 18  # frames quantised and written at a time
_READ_BLOCK = 1 << 18  # frames per read: small enough for the cache, large enough to be cheap


def _read_with_soundfile(path: Path) -> Audio | None:
    """Decode with libsndfile (exact and fast for PCM formats); None if it can't read the file.

    Reads in blocks and de-interleaves each block while it is in the cache: transposing the whole
    file at once costs more than reading it.
    """
    import soundfile as sf

    try:
        with sf.SoundFile(path) as f:
            samples = np.empty((f.channels, f.frames), np.float32)
            block = np.empty((_READ_BLOCK, f.channels), np.float32)
            done = 0
            while done < f.frames:
                got = f.read(_READ_BLOCK, dtype="float32", always_2d=True, out=block)
                if len(got) == 0:
                    break
                samples[:, done : done + len(got)] = got.T
                done += len(got)
            rate = f.samplerate
    except (sf.LibsndfileError, RuntimeError, TypeError):  # not a format libsndfile knows
        return None
    return Audio(samples[:, :done], rate)


def _read_with_ffmpeg(path: Path) -> Audio:
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise MediaError(f"{path} has no audio track")
            stream = container.streams.audio[0]
            # Float planar at the stream's own rate and layout: a format conversion, not a resample.
            resampler = av.AudioResampler(format="fltp", layout=stream.layout, rate=stream.rate)
            chunks = [
                converted.to_ndarray()
                for frame in container.decode(stream)
                for converted in resampler.resample(frame)
            ]
            chunks += [converted.to_ndarray() for converted in resampler.resample(None)]
            rate = stream.rate
            channel_count = stream.channels
    except av.InvalidDataError as exc:
        raise MediaError(
            f"cannot decode {path} as audio: it is truncated or not audio "
            f"({exc.strerror or 'invalid data'})"
        ) from exc
    except av.FFmpegError as exc:
        raise MediaError(f"cannot decode {path} as audio: {exc.strerror or exc}") from exc
    if not chunks:
        return Audio(np.zeros((channel_count, 0), np.float32), rate)
    return Audio(np.concatenate(chunks, axis=1), rate)


def save(audio: Audio | AudioSource, path: str | os.PathLike[str], *, bit_depth: int = 24) -> Path:
    """Write `audio` as a WAV file, atomically (a temporary file renamed into place).

    Args:
        audio: what to write, in memory or any source read a stretch at a time (a long file is
            copied block by block); NaN or infinite samples are refused.
        path: destination; its folder must exist.
        bit_depth: 16 or 24 for integer PCM (samples outside [-1, 1) are clipped, with a warning),
            32 for 32-bit float (kept as they are).

    Returns:
        The written path.
    """
    if bit_depth not in BIT_DEPTHS:
        raise ConfigError(f"bit depth must be one of {BIT_DEPTHS}, got {bit_depth}")
    if isinstance(audio, Audio):
        validate_audio(audio, name="audio to save")  # a source checks each block it reads
    out = Path(path)
    with (
        atomic_output(out) as tmp,
        open_wav_writer(tmp, audio.sample_rate, audio.channels, bit_depth) as write,
    ):
        for start in range(0, audio.frames, _WRITE_BLOCK):  # block by block: flat memory
            write(audio.read(start, min(start + _WRITE_BLOCK, audio.frames)))
    return out


@contextlib.contextmanager
def open_wav_writer(
    path: str | os.PathLike[str], sample_rate: int, channels: int, bit_depth: int = 24
) -> Iterator[Callable[[npt.NDArray[np.float32]], None]]:
    """Yield a function that appends `[channels, n]` float blocks to a new WAV file.

    Integer depths are rounded and clipped (one warning at the end says how many samples
    clipped). The caller vouches that the samples are finite (see `validate_audio`).
    """
    if bit_depth not in BIT_DEPTHS:
        raise ConfigError(f"bit depth must be one of {BIT_DEPTHS}, got {bit_depth}")
    import soundfile as sf

    subtype = "FLOAT" if bit_depth == 32 else f"PCM_{bit_depth}"
    clipped = total = 0

    def write(block: npt.NDArray[np.float32]) -> None:
        nonlocal clipped, total
        total += block.size
        if bit_depth == 32:
            f.write(np.ascontiguousarray(block.T))
            return
        ints, over = _quantise(block, bit_depth)
        clipped += over
        f.write(np.ascontiguousarray(ints.T))

    with sf.SoundFile(path, "w", sample_rate, channels, subtype=subtype, format="WAV") as f:
        yield write
    if clipped:
        logger.warning(
            "clipped %d of %d samples outside full scale while writing %d-bit PCM",
            clipped,
            total,
            bit_depth,
        )


def _quantise(
    samples: npt.NDArray[np.float32], bits: int
) -> tuple[npt.NDArray[np.int32] | npt.NDArray[np.int16], int]:
    """Round to `bits`-bit integers (full scale 2**(bits-1)), clipping what doesn't fit; also
    return how many samples were clipped.

    24-bit values are returned left-aligned in int32, which is how libsndfile takes them.
    """
    # float32 holds every integer up to 2**24 exactly, so 16- and 24-bit rounding is exact in it.
    scale = np.float32(2 ** (bits - 1))
    scaled = samples * scale
    np.rint(scaled, out=scaled)
    clipped = int(np.count_nonzero((scaled < -scale) | (scaled > scale - 1)))
    np.clip(scaled, -scale, scale - 1, out=scaled)
    if bits == 16:
        return scaled.astype(np.int16), clipped
    return scaled.astype(np.int32) << (32 - bits), clipped
