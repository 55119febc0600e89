"""Encode a soundtrack for muxing, in parallel segments where the codec allows it.

AAC encoding is the slow part of a mux (about 13 s for 10 minutes of stereo here), and FFmpeg's
encoder uses one core. AAC-LC frames carry no state from one frame to the next apart from the
MDCT overlap, so the audio can be cut at frame boundaries and the pieces encoded at once by
separate encoders, one per core. Each encoder also hears a few frames before and after its piece
(pre- and post-roll), so its psychoacoustic state and block-switching decisions at the seams match
what a single encoder would have done; only the packets of its own piece are kept. The kept packets
line up on one frame grid and play back as one stream.

Codecs with inter-frame state in the bitstream (MP3's bit reservoir, Opus) are encoded in one piece.

The audio is any `AudioSource` (an in-memory `Audio`, an `AudioFile` on disk, a wrapper around
either): each encoder reads its own span a block at a time, and long audio is cut into more pieces
than there are encoders, of which only a window is encoded ahead of the consumer. Memory therefore
stays at a few blocks and encoder buffers per worker, however long the soundtrack.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, cast

import av
import numpy as np
from av.audio.codeccontext import AudioCodecContext

from audio_creator.audio_source import AudioSource
from audio_creator.cores import cores

SEGMENTABLE_FRAME_SIZES = {"aac": 1024}  # codec → samples per frame, for codecs safe to split
_PREROLL_FRAMES = 16
_POSTROLL_FRAMES = 4
_FEED = 8192  # samples handed to an encoder at a time
_READ = 8 * _FEED  # samples read from the source at a time (a multiple of _FEED)
_AHEAD = 2  # pieces encoded or waiting per worker, ahead of the consumer


@dataclass(frozen=True)
class EncoderSettings:
    codec: str  # FFmpeg encoder name
    bit_rate: int  # bits per second
    sample_rate: int
    layout: str  # "mono" or "stereo"


def encode_audio(
    audio: AudioSource,
    settings: EncoderSettings,
    *,
    first_pts: int = 0,
    workers: int | None = None,
    min_segment_s: float = 20.0,
    max_segment_s: float = 60.0,
) -> Iterator[av.Packet[Any]]:
    """Yield the encoded packets of `audio` in order, timestamped in 1/sample_rate from `first_pts`.

    Args:
        audio: at `settings.sample_rate`, with the channels `settings.layout` names; read with
            `audio.read(start, stop)` a block at a time, from several threads at once.
        settings: the encoder; the output stream must be created with the same settings.
        first_pts: timestamp of the first sample.
        workers: encoders running at once; None uses every core.
        min_segment_s: never cut pieces shorter than this.
        max_segment_s: cut longer audio into more pieces than workers, about this long (at
            least twice `min_segment_s`), so that the packets waiting for the consumer stay few.
    """
    frame_size = SEGMENTABLE_FRAME_SIZES.get(settings.codec, 0)
    workers = workers or cores()
    frames, duration_s = audio.frames, audio.frames / audio.sample_rate
    pieces = min(workers, int(duration_s // min_segment_s)) if frame_size else 1
    if pieces <= 1:  # one encoder streams: nothing waits
        yield from _encode_piece(audio, settings, first_pts, (0, frames), (0, None))
        return
    shorter = math.ceil(duration_s / max(max_segment_s, 2 * min_segment_s))
    pieces = max(pieces, min(shorter, int(duration_s // min_segment_s)))
    preroll, postroll = _PREROLL_FRAMES * frame_size, _POSTROLL_FRAMES * frame_size

    def encode(start: int, end: int) -> list[av.Packet[Any]]:
        feed = (max(0, start - preroll), min(frames, end + postroll))
        keep = (start, end if end < frames else None)
        return list(_encode_piece(audio, settings, first_pts, feed, keep))

    pool = ThreadPoolExecutor(max_workers=workers)  # PyAV encodes without holding the GIL
    try:
        bounds = iter(_piece_bounds(frames, pieces, frame_size))
        pending: deque[Future[list[av.Packet[Any]]]] = deque()
        while True:  # keep _AHEAD pieces per worker submitted; hand out the oldest
            for span in itertools.islice(bounds, _AHEAD * workers - len(pending)):
                pending.append(pool.submit(encode, *span))
            if not pending:
                break
            yield from pending.popleft().result()
    finally:  # also when the consumer stops early (an error while muxing): drop what's queued
        pool.shutdown(wait=True, cancel_futures=True)


def _piece_bounds(frames: int, pieces: int, frame_size: int) -> list[tuple[int, int]]:
    """Cut [0, frames) into `pieces` spans whose inner bounds fall on the frame grid."""
    cuts = [round(frames * k / pieces / frame_size) * frame_size for k in range(1, pieces)]
    edges = [0, *cuts, frames]
    return list(itertools.pairwise(edges))


def _encode_piece(
    audio: AudioSource,
    settings: EncoderSettings,
    first_pts: int,
    feed: tuple[int, int],
    keep: tuple[int, int | None],
) -> Iterator[av.Packet[Any]]:
    """Encode samples [feed[0], feed[1]) with a fresh encoder; yield the packets whose frames start
    in [keep[0], keep[1]) (keep[1] None: to the end, the encoder's flush included)."""
    (feed_start, feed_end), (keep_start, keep_end) = feed, keep
    ctx = cast(AudioCodecContext, av.CodecContext.create(settings.codec, "w"))
    ctx.sample_rate = settings.sample_rate
    ctx.layout = settings.layout
    formats = ctx.codec.audio_formats
    ctx.format = formats[0] if formats else "fltp"  # PyAV converts our float frames to it
    ctx.bit_rate = settings.bit_rate
    ctx.time_base = Fraction(1, settings.sample_rate)
    delay: int | None = None  # encoder delay: input timestamp minus the packet's, fixed per codec

    def kept(packets: list[av.Packet[Any]]) -> Iterator[av.Packet[Any]]:
        nonlocal delay
        for packet in packets:
            pts = int(packet.pts or 0)
            if delay is None:
                delay = first_pts + feed_start - pts
            position = pts + delay - first_pts  # the sample this packet's frame starts at
            if position >= keep_start and (keep_end is None or position < keep_end):
                yield packet

    for block_start in range(feed_start, feed_end, _READ):
        block = audio.read(block_start, min(block_start + _READ, feed_end))
        for within in range(0, block.shape[1], _FEED):  # the same frames as feeding _FEED at once
            chunk = np.ascontiguousarray(block[:, within : within + _FEED], dtype=np.float32)
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=settings.layout)
            frame.sample_rate = settings.sample_rate
            frame.time_base = Fraction(1, settings.sample_rate)
            frame.pts = first_pts + block_start + within
            yield from kept(ctx.encode(frame))
    yield from kept(ctx.encode(None))
