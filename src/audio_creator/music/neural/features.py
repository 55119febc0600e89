"""What a neural music model is trained on, computed once per file and cached: each soundtrack as
EnCodec codes, and what the frozen encoders make of its condition (each trainable base says what:
`music.vidmuse.trainable`, `music.musicgen_trainable`).

Entries are keyed by the file (path, size, modification time), the model (its folder and the
decoder's architecture hash) and the settings that shape them, so editing a file or switching
models computes afresh and nothing stale is read. Each entry is one torch file, written whole.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audio_creator.errors import MediaError

logger = logging.getLogger(__name__)

ENCODE_S = 30.0  # audio goes through EnCodec in pieces this long (bounded memory)


@dataclass
class Example:
    """One training pair, ready: codes [K, n] (long) and its condition's inputs."""

    name: str
    codes: Any
    frame_rate: float
    local: Any = None  # vidmuse: CLIP tokens [T, tokens, width] of the frames at 2 fps
    overall: Any = None  # vidmuse: [32, tokens, width] of the global frames
    states: Any = None  # musicgen: T5 states [tokens, width] of the description
    text: str | None = None  # musicgen: the description

    @property
    def frames(self) -> int:
        return int(self.codes.shape[-1])


class Cache:
    """A folder of cached tensors."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self.hits = self.misses = 0

    def get(self, key: dict[str, Any], make: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """The entry for `key`, made (and stored) on first use."""
        import torch

        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:32]
        path = self.folder / f"{digest}.pt"
        if path.is_file():
            try:
                found: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=True)
                self.hits += 1
                return found
            except Exception as exc:  # damaged (truncated, not a torch file…): make it again
                logger.warning("feature cache: %s unreadable (%s); computing again", path, exc)
        made = make()
        self.misses += 1
        from audio_creator.files import atomic_output

        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with atomic_output(path) as temporary:
                torch.save(made, temporary)
        except OSError as exc:  # a read-only cache only costs time
            logger.warning("feature cache: cannot write %s (%s)", path, exc)
        return made


def file_key(path: Path) -> dict[str, Any]:
    stat = path.stat()
    return {"path": str(path.resolve()), "size": stat.st_size, "mtime": stat.st_mtime_ns}


def encode_audio(codec: Any, path: Path, duration_s: float, stereo: bool, device: Any) -> Any:
    """The soundtrack's first `duration_s` as EnCodec codes [K, n] (a stereo decoder's
    codebooks interleave left and right, as it generates them)."""
    import torch

    from audio_creator.audio import load

    rate = int(codec.config.sampling_rate)
    audio = load(path, sample_rate=rate, channels=2 if stereo else 1)
    samples = torch.from_numpy(audio.samples[:, : round(duration_s * rate)].copy())
    if samples.shape[-1] == 0:
        raise MediaError(f"{path.name} holds no sound")
    channels = [encode_mono(codec, samples[c], device) for c in range(samples.shape[0])]
    if not stereo:
        return channels[0]
    left, right = channels
    return torch.stack([left, right], dim=1).reshape(-1, left.shape[-1])  # L0, R0, L1, …


def encode_mono(codec: Any, samples: Any, device: Any) -> Any:
    """[samples] float → [K, n] codes, in `ENCODE_S` pieces."""
    import torch

    hop = round(codec.config.sampling_rate / codec.config.frame_rate)
    piece = round(ENCODE_S * codec.config.frame_rate) * hop
    bandwidth = max(codec.config.target_bandwidths)
    parts = []
    with torch.inference_mode():
        for start in range(0, samples.shape[-1], piece):
            chunk = samples[start : start + piece].to(device)[None, None]
            codes = codec.encode(chunk, bandwidth=bandwidth).audio_codes  # [1, 1, K, n]
            parts.append(codes[0, 0].cpu())
    frames = round(samples.shape[-1] / hop)
    return torch.cat(parts, dim=-1)[:, :frames].long()
