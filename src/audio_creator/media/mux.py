"""Put a soundtrack into a video: copy the video stream, encode the audio, write a new file.

The video stream is copied packet for packet (no re-encode, no quality loss) whenever the output
container can hold its codec. When it can't (VP8 into MP4, say), the video is re-encoded to a codec
the container takes — H.264 at CRF 18, or VP9 for WebM — and a warning says so. The output
container follows the output file's suffix, because that is what the user asked for.

The audio is fitted to the video: padded with silence or trimmed to the video stream's duration,
and starts with the video's first frame. Any existing audio track of the input is replaced.

The soundtrack is any `AudioSource`: an in-memory `Audio`, or a file read on demand
(`soundtrack_source`), so that a two-hour mix is encoded straight from disk, block by block, in
flat memory. Fitting is
lazy too (downmixing per block, silence past the end); only a rate the container can't take
makes the soundtrack be loaded and resampled in memory. `encoded_true_peak_dbtp` measures the true
peak of a written file's audio the same way, a block at a time.
"""

from __future__ import annotations

import io
import logging
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, cast

import av
import av.bitstream
import numpy as np
import numpy.typing as npt

from audio_creator.audio import Audio, load, validate_audio
from audio_creator.audio_source import AudioFile, AudioSource, Conformed
from audio_creator.dsp.true_peak import block_true_peaks
from audio_creator.errors import ConfigError, MediaError
from audio_creator.files import atomic_output, check_input_file, check_output_path
from audio_creator.media.audio_encoder import EncoderSettings, encode_audio
from audio_creator.media.probe import Video, VideoInfo, probe, video_stream

logger = logging.getLogger(__name__)
# Sample-entry tags a copied MP4/MOV video keeps as the source has them: Apple's players play
# HEVC tagged hvc1 (parameter sets in the sample entry) and refuse hev1, the muxer's default.
KEPT_TAGS = frozenset(("hvc1", "hev1", "avc1", "avc3"))

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class _Container:
    muxer: str  # FFmpeg's muxer name
    audio_codec: str
    audio_rates: tuple[int, ...]  # sample rates the audio codec takes; the first is the default
    video_codec: str  # used only when the input's video can't be copied
    options: tuple[tuple[str, str], ...] = ()


_MP4_OPTIONS = (("movflags", "+faststart"),)  # index first: playable while downloading
CONTAINERS = {
    ".mp4": _Container("mp4", "aac", (48000, 44100), "libx264", _MP4_OPTIONS),
    ".m4v": _Container("mp4", "aac", (48000, 44100), "libx264", _MP4_OPTIONS),
    ".mov": _Container("mov", "aac", (48000, 44100), "libx264", _MP4_OPTIONS),
    ".mkv": _Container("matroska", "aac", (48000, 44100), "libx264"),
    ".webm": _Container("webm", "libopus", (48000,), "libvpx-vp9"),
    ".avi": _Container("avi", "libmp3lame", (48000, 44100), "libx264"),
}
# Matroska and MP4 store H.264/HEVC with length-prefixed NAL units; AVI wants start codes.
_ANNEXB_MUXERS = ("avi",)
_ANNEXB_FILTERS = {"h264": "h264_mp4toannexb", "hevc": "hevc_mp4toannexb"}
_CODEC_FAMILY = {"libx264": "h264", "libvpx-vp9": "vp9"}
_AUDIO_LEAD_S = 0.5  # how far audio runs ahead of video in the interleaving


@dataclass(frozen=True)
class MuxResult:
    """What `mux` wrote."""

    path: Path
    video_copied: bool  # False when the video had to be re-encoded for the container
    video_codec: str
    audio_codec: str
    duration_s: float


def mux(
    video_path: Video,
    audio: AudioSource,
    output_path: str | os.PathLike[str],
    *,
    audio_bitrate: int = 192_000,
    keep_longer_audio: bool = False,
    progress: Progress | None = None,
) -> MuxResult:
    """Write `output_path`: the video of `video_path` with `audio` as its only audio track.

    Args:
        video_path: the source video (or its `VideoInfo`); never modified.
        audio: the soundtrack: an `Audio`, or any `AudioSource` such as `soundtrack_source(path)`,
            which is read a block at a time. Fitted to the video's duration (padded with silence
            or cut); more than two channels are downmixed to stereo. NaN or infinite samples are
            refused (a file source's, when the encoder reaches them: nothing is written then).
        output_path: .mp4, .m4v, .mov, .mkv, .webm or .avi; written atomically.
        audio_bitrate: bits per second for the encoded audio.
        keep_longer_audio: keep a soundtrack that outlasts the video whole instead of cutting it
            (players hold the last picture until the sound ends).
        progress: called with (fraction done, message).
    """
    out = Path(output_path)
    container = CONTAINERS.get(out.suffix.lower())
    if container is None:
        raise ConfigError(
            f"cannot write a video to {out.name}: use one of {', '.join(sorted(CONTAINERS))}"
        )
    info = probe(video_path)
    _check_soundtrack(audio)
    inputs = [info.path, *([audio.path] if isinstance(audio, AudioFile) else [])]
    check_output_path(out, inputs=inputs)
    fitted = _fit_audio(audio, info, container, keep_longer_audio)
    with atomic_output(out) as tmp:
        copied, video_codec = _write(
            info=info,
            audio=fitted,
            tmp=tmp,
            container=container,
            audio_bitrate=audio_bitrate,
            progress=progress,
        )
    audio_codec = container.audio_codec.removeprefix("lib").removesuffix("lame")
    return MuxResult(out, copied, video_codec, audio_codec, info.duration_s)


_SNDFILE_SEEKABLE = frozenset(("WAV", "WAVEX", "W64", "RF64", "AIFF", "CAF", "FLAC", "OGG"))


def soundtrack_source(path: str | os.PathLike[str]) -> AudioFile | Audio:
    """`path` as a soundtrack for `mux`: read from disk on demand when libsndfile can seek in it
    (WAV, FLAC, AIFF, OGG…), so that its length costs no memory; other formats (MP3, AAC, the
    audio of a video) are decoded into memory with `load`."""
    import soundfile as sf

    p = check_input_file(path)
    try:
        info = sf.info(str(p))
    except (sf.LibsndfileError, RuntimeError, TypeError):  # not a format libsndfile knows
        info = None
    if info is None or info.format not in _SNDFILE_SEEKABLE or info.frames <= 0:
        return load(p)  # also refuses empty and non-finite audio, with the usual messages
    return AudioFile(p, int(info.samplerate), int(info.channels), int(info.frames))


def _check_soundtrack(audio: AudioSource) -> None:
    """Refuse, before any work, what `mux` would refuse half way through."""
    if isinstance(audio, Audio):
        validate_audio(audio, name="soundtrack")  # a cheap pass: it is in memory already
    elif audio.frames <= 0:
        raise MediaError("soundtrack contains no samples")
    if audio.channels > 2:  # raises ConfigError for layouts without a standard downmix
        Audio(np.zeros((audio.channels, 1), np.float32), audio.sample_rate).to_channels(2)


def _fit_audio(
    audio: AudioSource, info: VideoInfo, container: _Container, keep_longer: bool
) -> AudioSource:
    """The soundtrack as the output gets it: stereo at most, at a rate the container takes, as
    long as the video (or longer, with `keep_longer`). Lazy, except for the resampling."""
    if audio.channels > 2:
        logger.info("downmixing the %d-channel soundtrack to stereo", audio.channels)
        audio = Conformed(audio, 2)
    if audio.sample_rate not in container.audio_rates:
        # Resampling needs the whole signal (no seamless block-wise resampler here), so it is
        # done in memory; the project's own mixes are 48 kHz, which every container takes.
        rate = container.audio_rates[0]
        logger.info("resampling the soundtrack from %d Hz to %d Hz", audio.sample_rate, rate)
        whole = audio if isinstance(audio, Audio) else Audio(_read_all(audio), audio.sample_rate)
        audio = whole.resample(rate)
    frames = round(info.duration_s * audio.sample_rate)
    return _Fitted(audio, max(frames, audio.frames) if keep_longer else frames)


_READ_BLOCK = 1 << 18  # frames read at a time when a source has to be loaded whole


def _read_all(audio: AudioSource) -> npt.NDArray[np.float32]:
    samples = np.empty((audio.channels, audio.frames), np.float32)
    for start in range(0, audio.frames, _READ_BLOCK):
        stop = min(start + _READ_BLOCK, audio.frames)
        samples[:, start:stop] = _finite(audio.read(start, stop), audio.sample_rate, start)
    return samples


def _finite(
    block: npt.NDArray[np.float32], sample_rate: int, start: int
) -> npt.NDArray[np.float32]:
    """`block` (read from sample `start` on), if its samples are finite; else MediaError."""
    if block.size and not (np.isfinite(block.max()) and np.isfinite(block.min())):
        at = start + int(np.argmin(np.isfinite(block).all(axis=0)))
        raise MediaError(
            f"soundtrack has NaN or infinite samples (the first at {at / sample_rate:.3f} s); "
            "repair or re-export the file"
        )
    return block


@dataclass(frozen=True)
class _Fitted:
    """`source` seen as exactly `frames` frames: cut short, or followed by silence."""

    source: AudioSource
    frames: int

    @property
    def sample_rate(self) -> int:
        return self.source.sample_rate

    @property
    def channels(self) -> int:
        return self.source.channels

    def read(self, start: int, stop: int) -> npt.NDArray[np.float32]:
        stop = min(stop, self.frames)
        have = min(stop, self.source.frames)  # the rest, up to `stop`, is silence
        if have >= stop > start:
            return self._checked(self.source.read(start, stop), start)
        out = np.zeros((self.channels, max(0, stop - start)), np.float32)
        if have > start:
            out[:, : have - start] = self._checked(self.source.read(start, have), start)
        return out

    def _checked(self, block: npt.NDArray[np.float32], start: int) -> npt.NDArray[np.float32]:
        if isinstance(self.source, Audio):  # checked whole before muxing began
            return block
        return _finite(block, self.sample_rate, start)


def _write(
    *,
    info: VideoInfo,
    audio: AudioSource,
    tmp: Path,
    container: _Container,
    audio_bitrate: int,
    progress: Progress | None,
) -> tuple[bool, str]:
    try:
        with (
            av.open(str(info.path)) as src,
            av.open(str(tmp), "w", format=container.muxer, options=dict(container.options)) as dst,
        ):
            src_video = video_stream(src, info.path)
            dst.metadata.update(src.metadata)
            copy = _can_copy(src_video, container.muxer)
            if copy:
                dst_video = dst.add_stream_from_template(src_video)
                tag = src_video.codec_context.codec_tag
                if container.muxer in ("mp4", "mov") and tag in KEPT_TAGS:
                    dst_video.codec_context.codec_tag = tag  # else hvc1 becomes hev1
                if container.muxer == "avi" and src_video.average_rate:
                    # AVI counts frames: one tick per frame, as a constant-rate source has.
                    dst_video.time_base = 1 / src_video.average_rate
            else:
                logger.warning(
                    "%s video cannot be stored in %s; re-encoding it to %s",
                    info.video_codec,
                    tmp.suffix,
                    container.video_codec,
                )
                dst_video = _add_reencoded_video_stream(dst, src_video, info, container)
            dst_video.metadata.update(src_video.metadata)
            convert = _video_converter(src_video, dst_video, copy, container.muxer)
            layout = "mono" if audio.channels == 1 else "stereo"
            dst_audio = cast(
                av.AudioStream,
                dst.add_stream(container.audio_codec, rate=audio.sample_rate, layout=layout),
            )
            dst_audio.bit_rate = audio_bitrate
            start_s = float((src_video.start_time or 0) * (src_video.time_base or 0))
            settings = EncoderSettings(
                container.audio_codec, audio_bitrate, audio.sample_rate, layout
            )
            audio_packets = encode_audio(
                audio, settings, first_pts=round(start_s * audio.sample_rate)
            )

            video_tick_s = float(src_video.time_base or 0)  # floats: Fractions cost seconds here
            audio_tick_s = 1 / audio.sample_rate
            for packet in src.demux(src_video):
                timestamp = packet.dts if packet.dts is not None else packet.pts
                if timestamp is not None:
                    time_s = timestamp * video_tick_s
                    for audio_packet in audio_packets:  # keep the audio just ahead of the video
                        audio_packet.stream = dst_audio
                        dst.mux(audio_packet)
                        if (audio_packet.pts or 0) * audio_tick_s >= time_s + _AUDIO_LEAD_S:
                            break
                    if progress is not None:
                        progress(min(1.0, (time_s - start_s) / info.duration_s), "muxing")
                dst.mux(convert(packet))  # the demuxer's final empty packet flushes the converter
            for audio_packet in audio_packets:
                audio_packet.stream = dst_audio
                dst.mux(audio_packet)
    except av.FFmpegError as exc:
        raise MediaError(f"muxing into {tmp.suffix} failed: {exc}") from exc
    return copy, info.video_codec if copy else _CODEC_FAMILY[container.video_codec]


def _video_converter(
    src: av.VideoStream, dst: av.VideoStream, copy: bool, muxer: str
) -> Callable[[av.Packet[Any]], list[av.Packet[Any]]]:
    """How each source packet becomes output packets: copied, rewrapped, or re-encoded.

    An empty packet (the demuxer's end-of-stream marker) flushes the converter.
    """
    if not copy:

        def reencode(packet: av.Packet[Any]) -> list[av.Packet[Any]]:
            frames = packet.decode()
            out = [p for frame in frames for p in dst.encode(frame)]
            return out + dst.encode(None) if packet.size == 0 else out

        return reencode

    bsf_name = _ANNEXB_FILTERS.get(src.codec_context.name) if muxer in _ANNEXB_MUXERS else None
    bsf = av.bitstream.BitStreamFilterContext(bsf_name, src, dst) if bsf_name else None

    def copy_packet(packet: av.Packet[Any]) -> list[av.Packet[Any]]:
        if packet.size == 0:
            return bsf.filter(None) if bsf else []
        if packet.pts is None:
            packet.pts = packet.dts  # AVI leaves pts unset; without reordering they agree
        packets = bsf.filter(packet) if bsf else [packet]
        for p in packets:
            p.stream = dst
        return packets

    return copy_packet


def _can_copy(stream: av.VideoStream, muxer: str) -> bool:
    """Whether `muxer` accepts `stream`'s codec as it is: try writing a header in memory."""
    try:
        with av.open(io.BytesIO(), "w", format=muxer) as trial:
            trial.add_stream_from_template(stream)
            trial.start_encoding()
    except (av.FFmpegError, ValueError):
        return False
    return True


def _add_reencoded_video_stream(
    dst: av.container.OutputContainer,
    src_video: av.VideoStream,
    info: VideoInfo,
    container: _Container,
) -> av.VideoStream:
    rate = src_video.average_rate or Fraction(round(info.fps * 1000), 1000)
    options = (
        {"crf": "18", "preset": "medium"}
        if container.video_codec == "libx264"
        else {"crf": "24", "b": "0", "deadline": "good", "cpu-used": "5", "row-mt": "1"}
    )
    stream = cast(av.VideoStream, dst.add_stream(container.video_codec, rate=rate, options=options))
    stream.width, stream.height = info.width, info.height
    stream.pix_fmt = "yuv420p"
    stream.thread_type = "AUTO"
    if info.rotation_deg and hasattr(stream, "set_display_rotation"):  # PyAV ≥ 16
        stream.set_display_rotation(info.rotation_deg)
    src_video.thread_type = "AUTO"
    return stream


# ------------------------------------------------------------------------ true peak, streaming

_TP_BLOCK = 1024  # true_peak_dbtp's pruning block: the same grid gives the same result
_TP_CHUNK = 256 * _TP_BLOCK  # frames measured at a time


def encoded_true_peak_dbtp(path: str | os.PathLike[str]) -> float | None:
    """The true peak (dBTP) of the first audio track of `path`, decoded a block at a time.

    Equals `true_peak_dbtp(load(path))` (the same decoding, the same oversampling; every block
    is measured with its neighbours' samples around it) in flat memory, however long the file.
    None when the file has no audio track.
    """
    p = check_input_file(path)
    try:
        with av.open(str(p)) as container:
            if not container.streams.audio:
                return None
            stream = container.streams.audio[0]
            # Float planar at the stream's own rate and layout, as `load` decodes it.
            resampler = av.AudioResampler(format="fltp", layout=stream.layout, rate=stream.rate)
            meter = _TruePeakMeter(stream.rate)
            for frame in container.decode(stream):
                for converted in resampler.resample(frame):
                    meter.feed(converted.to_ndarray())
            for converted in resampler.resample(None):
                meter.feed(converted.to_ndarray())
    except av.FFmpegError as exc:
        raise MediaError(f"cannot decode the audio of {p}: {exc}") from exc
    peak = meter.finish()
    return 20 * math.log10(peak) if peak > 0 else -math.inf


class _TruePeakMeter:
    """The largest true peak of a signal fed a piece at a time (linear, all channels).

    Samples gather until a chunk is complete; then its blocks are measured with
    `block_true_peaks` on the same block grid as a whole-signal measurement. The first and last
    block of a chunk lack their outer neighbour's samples, so they are measured with the next
    chunk instead, which starts one block before the first unmeasured one: every block but the
    signal's very first and last (measured with silence beyond, as the whole signal would be) is
    oversampled with its real surroundings.
    """

    def __init__(self, sample_rate: int) -> None:
        self._rate = sample_rate
        self._pending: list[npt.NDArray[np.float32]] = []
        self._frames = 0  # in _pending
        self._at_start = True  # _pending begins with the signal's first sample
        self._peak = 0.0

    def feed(self, samples: npt.NDArray[Any]) -> None:
        if samples.shape[1] == 0:
            return
        if not (np.isfinite(samples.max()) and np.isfinite(samples.min())):
            raise MediaError("the decoded audio has NaN or infinite samples")
        self._pending.append(np.asarray(samples, np.float32))
        self._frames += samples.shape[1]
        if self._frames >= _TP_CHUNK + 2 * _TP_BLOCK:
            self._measure(final=False)

    def finish(self) -> float:
        if self._frames:
            self._measure(final=True)
        return self._peak

    def _measure(self, *, final: bool) -> None:
        chunk = np.concatenate(self._pending, axis=1)
        # Blocks that can't reach a level already found (a true peak, or any sample: both are
        # lower bounds of the result) are not oversampled; they report a bound below it.
        floor = max(self._peak, float(np.abs(chunk).max()))
        peaks = block_true_peaks(chunk, self._rate, _TP_BLOCK, floor=floor)
        first = 0 if self._at_start else 1
        stop = peaks.size if final else chunk.shape[1] // _TP_BLOCK - 1
        self._peak = max(self._peak, float(peaks[first:stop].max(initial=0.0)))
        if final:
            self._pending, self._frames = [], 0
            return
        rest = chunk[:, (stop - 1) * _TP_BLOCK :].copy()  # a copy: the chunk itself is freed
        self._pending, self._frames, self._at_start = [rest], rest.shape[1], False
