"""Put a soundtrack into a video: copy the video stream, encode the audio, write a new file.

The video stream is copied packet for packet (no re-encode, no quality loss) whenever the output
container can hold its codec. When it can't (VP8 into MP4, say), the video is re-encoded to a codec
the container takes — H.264 at CRF 18, or VP9 for WebM — and a warning says so. The output
container follows the output file's suffix, because that is what the user asked for.

The audio is fitted to the video: padded with silence or trimmed to the video stream's duration,
and starts with the video's first frame. Any existing audio track of the input is replaced.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, cast

import av
import av.bitstream

from audio_creator.audio import Audio, validate_audio
from audio_creator.errors import ConfigError, MediaError
from audio_creator.files import atomic_output, check_output_path
from audio_creator.media.audio_encoder import EncoderSettings, encode_audio
from audio_creator.media.probe import VideoInfo, probe, video_stream

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
    video_path: str | os.PathLike[str],
    audio: Audio,
    output_path: str | os.PathLike[str],
    *,
    audio_bitrate: int = 192_000,
    keep_longer_audio: bool = False,
    progress: Progress | None = None,
) -> MuxResult:
    """Write `output_path`: the video of `video_path` with `audio` as its only audio track.

    Args:
        video_path: the source video; never modified.
        audio: the soundtrack; fitted to the video's duration (padded with silence or cut).
            More than two channels are downmixed to stereo.
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
    validate_audio(audio, name="soundtrack")
    check_output_path(out, inputs=[info.path])
    audio = _fit_audio(audio, info, container, keep_longer_audio)
    with atomic_output(out) as tmp:
        copied, video_codec = _write(
            info=info,
            audio=audio,
            tmp=tmp,
            container=container,
            audio_bitrate=audio_bitrate,
            progress=progress,
        )
    audio_codec = container.audio_codec.removeprefix("lib").removesuffix("lame")
    return MuxResult(out, copied, video_codec, audio_codec, info.duration_s)


def _fit_audio(audio: Audio, info: VideoInfo, container: _Container, keep_longer: bool) -> Audio:
    if audio.channels > 2:
        logger.info("downmixing the %d-channel soundtrack to stereo", audio.channels)
        audio = audio.to_channels(2)
    if audio.sample_rate not in container.audio_rates:
        audio = audio.resample(container.audio_rates[0])
    frames = round(info.duration_s * audio.sample_rate)
    return audio.fit_frames(max(frames, audio.frames) if keep_longer else frames)


def _write(
    *,
    info: VideoInfo,
    audio: Audio,
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
