"""What training reads, computed once per file and cached: each soundtrack as EnCodec codes, and
what the frozen encoders make of each video (VidMuse: CLIP's tokens for the local frames at
2 fps and the 32 global ones; MusicGen: the T5 states of the example's description).

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
CLIP_BATCH = 32


@dataclass
class Example:
    """One training pair, ready: codes [K, n] (long) and its condition's inputs."""

    name: str
    codes: Any
    frame_rate: float
    local: Any = None  # vidmuse: CLIP tokens [T, tokens, width] of the frames at 2 fps
    overall: Any = None  # vidmuse: [32, tokens, width] of the global frames
    states: Any = None  # musicgen: T5 states [tokens, width] of the description
    text: str | None = None

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


def vidmuse_example(
    cache: Cache, model: Any, codec: Any, model_key: dict[str, Any], row: Any, device: Any
) -> Example:
    """Codes and CLIP tokens of one manifest row, for VidMuse."""
    import torch

    from audio_creator.music.vidmuse import frames

    size = model.config.image_size

    def make() -> dict[str, Any]:
        codes = encode_audio(codec, row.audio, row.duration_s, False, device)

        def clip(pixels: Any) -> Any:
            tensor = torch.from_numpy(pixels).to(device)
            with torch.inference_mode():
                parts = [model.video.clip_tokens(c) for c in torch.split(tensor, CLIP_BATCH)]
            return torch.cat(parts).half().cpu()

        local = clip(frames.local_frames(row.video, row.duration_s, size))
        overall = clip(frames.global_frames(row.video, size))
        return {"codes": codes.short(), "local": local, "overall": overall}

    key = {"kind": "vidmuse", "model": model_key, "video": file_key(row.video),
           "audio": file_key(row.audio), "seconds": round(row.duration_s, 3)}  # fmt: skip
    found = cache.get(key, make)
    return Example(row.video.name, found["codes"].long(), float(codec.config.frame_rate),
                   local=found["local"], overall=found["overall"])  # fmt: skip


def musicgen_example(
    cache: Cache, model: Any, tokenizer: Any, model_key: dict[str, Any], row: Any,
    text: str | None, device: Any,
) -> Example:  # fmt: skip
    """Codes and T5 states of one manifest row, for MusicGen. The description is `text`, else
    the one inference writes for the video when no prompt is given (`musicgen.describe`)."""
    import torch

    codec = model.audio_encoder
    stereo = int(model.config.decoder.audio_channels) == 2

    def make_codes() -> dict[str, Any]:
        return {"codes": encode_audio(codec, row.audio, row.duration_s, stereo, device).short()}

    def make_states() -> dict[str, Any]:
        said = text if text is not None else describe_video(row.video, row.duration_s)
        tokens = tokenizer([said], return_tensors="pt").to(device)
        with torch.inference_mode():
            states = model.text_encoder(
                input_ids=tokens.input_ids, attention_mask=tokens.attention_mask
            ).last_hidden_state
        return {"states": states[0].cpu(), "text": said}

    audio_key = {"kind": "musicgen-codes", "model": model_key, "audio": file_key(row.audio),
                 "seconds": round(row.duration_s, 3)}  # fmt: skip
    codes = cache.get(audio_key, make_codes)["codes"].long()
    said = {"text": text} if text is not None else {"video": file_key(row.video)}
    states = cache.get({"kind": "musicgen-text", "model": model_key, **said}, make_states)
    return Example(row.video.name, codes, float(codec.config.frame_rate),
                   states=states["states"], text=states["text"])  # fmt: skip


def describe_video(video: Path, duration_s: float) -> str:
    """What `musicgen` would be told about this video, given no prompt."""
    from audio_creator.analysis.video import analyse_video
    from audio_creator.music.backend import MusicRequest
    from audio_creator.music.musicgen import describe

    return describe(MusicRequest(duration_s, analyse_video(video)))
