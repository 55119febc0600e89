"""The `vidmuse` backend: music from the video's own frames (see `network`).

The model folder (`audio-creator models download vidmuse`) holds the published checkpoint,
`state_dict.bin`; optionally `clip_config.json` (default: ViT-B/32's) and `encodec/` (a
transformers EnCodec; default: the `encodec-32khz` model). Videos longer than one 30 s window
are made window by window: each window sees the local frames of its own stretch and the same
32 global frames, and continues from the last 0.5 s of tokens before it.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Hashable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from audio_creator.audio import Audio
from audio_creator.errors import BackendUnavailable, ConfigError
from audio_creator.music.backend import GeneratedMusic, MusicRequest, Progress
from audio_creator.music.neural import (
    LoadOnce,
    dtype_for,
    finish,
    missing_packages,
    pick_device,
)

logger = logging.getLogger(__name__)

WINDOW_S = 30.0
PROMPT_S = 0.5
CLIP_BATCH = 32  # frames through CLIP at a time


def missing_requirements() -> str | None:
    """None when the packages and the weights (VidMuse and its EnCodec) are here."""
    from audio_creator import models

    return missing_packages() or models.missing("vidmuse") or models.missing("encodec-32khz")


def model_folders(model: str | os.PathLike[str] = "vidmuse") -> tuple[Path, Path]:
    """(the VidMuse folder, its EnCodec's folder) for a catalogue name or a path."""
    from audio_creator import models

    folder = models.locate(model)
    if not (folder / "state_dict.bin").is_file():
        raise BackendUnavailable(
            f"{folder} holds no state_dict.bin (the VidMuse checkpoint): "
            "run `audio-creator models download vidmuse`"
        )
    own_codec = folder / "encodec"
    return folder, own_codec if own_codec.is_dir() else models.locate("encodec-32khz")


def load_network(folder: Path) -> Any:
    """The VidMuse network of a model folder, float32 on the CPU."""
    from audio_creator.music.vidmuse.convert import (
        config_from_upstream,
        load_converted,
        read_checkpoint,
    )
    from audio_creator.music.vidmuse.network import VidMuseModel

    state, cfg = read_checkpoint(folder / "state_dict.bin")
    clip_file = folder / "clip_config.json"
    clip = json.loads(clip_file.read_text(encoding="utf-8")) if clip_file.is_file() else {}
    model = VidMuseModel(config_from_upstream(cfg, clip))
    load_converted(model, state)
    return model


class VidMuseBackend:
    """VidMuse from a folder holding `state_dict.bin` (a catalogue name, or a path)."""

    name = "vidmuse"

    def __init__(
        self,
        model: str | os.PathLike[str] = "vidmuse",
        device: str = "auto",
        lora: str | os.PathLike[str] | None = None,
        lora_scale: float = 1.0,
        **_: Any,
    ) -> None:
        lack = missing_packages()
        if lack is not None:
            raise BackendUnavailable(f"the vidmuse backend needs torch and transformers: {lack}")
        self.folder, self.codec_folder = model_folders(model)
        self.lora, self.lora_scale = (None if lora is None else Path(lora)), lora_scale
        if self.lora is not None:
            from audio_creator.music import lora as adapters

            adapters.check_kind(self.lora, "vidmuse")
        self.device_name = device
        self._model = LoadOnce(self._load)  # (VidMuse, EnCodec, device)

    def warm_up(self) -> None:
        self._model()

    def _load(self) -> tuple[Any, Any, Any]:
        from transformers import EncodecModel

        from audio_creator.music import lora

        started = time.perf_counter()
        device = pick_device(self.device_name)
        model = load_network(self.folder)
        if self.lora is not None:
            lora.load_into(model.decoder, self.lora, self.name, self.lora_scale)
        model = model.to(device=device, dtype=dtype_for(device)).eval()
        codec = EncodecModel.from_pretrained(self.codec_folder, local_files_only=True)
        codec = codec.to(device).eval()
        logger.info(
            "vidmuse: loaded %s on %s in %.1f s", self.folder, device, time.perf_counter() - started
        )
        return model, codec, device

    def generate(self, request: MusicRequest, progress: Progress | None = None) -> GeneratedMusic:
        return self.generate_many(request, 1, progress)[0]

    def generate_many(
        self, request: MusicRequest, count: int, progress: Progress | None = None
    ) -> list[GeneratedMusic]:
        """`count` candidates in one batch; candidate i is the piece `generate` makes with
        variation i (see `MusicGenBackend.generate_many`)."""
        variations = [replace(request, variation=request.variation + i) for i in range(count)]
        return self.generate_batch(variations, progress)

    def batch_key(self, request: MusicRequest) -> Hashable:
        """Requests with the same key can share a batch: pieces of one length (their windows,
        and so their frames' memories, line up), drawn one way."""
        return (request.sampling, round(request.duration_s, 3))

    def generate_batch(
        self, requests: Sequence[MusicRequest], progress: Progress | None = None
    ) -> list[GeneratedMusic]:
        """One piece per request, all in one batch: each from its own video and seed, all of
        one length and sampling (`batch_key`). Each piece is the one `generate` makes for its
        request alone."""
        import torch

        from audio_creator.music.neural.tokens import Condition, decode, sample_codes

        for request in requests:
            if request.video is None:
                raise ConfigError("the vidmuse backend makes music from a video: give one")
        if len({self.batch_key(r) for r in requests}) != 1:
            raise ConfigError("one batch of vidmuse music shares one length and one sampling")
        model, codec, device = self._model()
        seen: dict[Path, VideoConditions] = {}  # CLIP looks at each video once
        conditions = []
        for request in requests:
            video = Path(request.video)  # type: ignore[arg-type]
            if video not in seen:
                seen[video] = VideoConditions(model, video, request.duration_s, device)
            conditions.append(seen[video])
        rate = codec.config.frame_rate
        frames = max(1, round(requests[0].duration_s * rate))
        generators = [
            torch.Generator(device=device).manual_seed(r.seed * 1009 + r.variation)
            for r in requests
        ]

        def condition(start: int, stop: int) -> Condition:
            each = {id(c): c.between(start / rate, stop / rate) for c in seen.values()}
            parts = [each[id(c)] for c in conditions]
            return Condition(
                torch.cat([p.memory for p in parts]), None,
                torch.cat([p.null_memory for p in parts]), None,
            )  # fmt: skip

        with torch.inference_mode():
            codes = sample_codes(
                model.decoder, condition, frames, requests[0].sampling, generators,
                window=round(WINDOW_S * rate), overlap=max(1, round(PROMPT_S * rate)),
                progress=progress,
            )  # fmt: skip
        made = []
        for row, (request, frames_seen) in enumerate(zip(requests, conditions, strict=True)):
            summary = {"model": Path(self.folder).name, "frames": frames,
                       "local_frames": frames_seen.local_count}  # fmt: skip
            audio = finish(Audio(decode(codec, codes[row : row + 1]), codec.config.sampling_rate),
                           request)  # fmt: skip
            made.append(GeneratedMusic(audio, self.name, (), summary))
        return made


class VideoConditions:
    """The decoder memory for any stretch of the music: CLIP runs once per frame of the video,
    then each window takes its own local frames (and always the same global ones)."""

    def __init__(self, model: Any, video: Path, duration_s: float, device: Any) -> None:
        import torch

        from audio_creator.music.vidmuse import frames

        self.model, size = model, model.config.image_size
        self.dtype = next(model.parameters()).dtype
        with torch.inference_mode():
            self.local = self._clip(frames.local_frames(video, duration_s, size), device)
            self.overall = self._clip(frames.global_frames(video, size), device)
            self.black = self._clip(frames.black(1, size), device)
        self.local_count = int(self.local.shape[0])
        self._nulls: dict[int, Any] = {}  # the black video's memory, by local frame count

    def _clip(self, pixels: Any, device: Any) -> Any:
        import torch

        tensor = torch.from_numpy(pixels).to(device=device, dtype=self.dtype)
        parts = [self.model.video.clip_tokens(chunk) for chunk in torch.split(tensor, CLIP_BATCH)]
        return torch.cat(parts)

    def between(self, start_s: float, stop_s: float) -> Any:
        """The condition (and its all-zero-video null) for music [start_s, stop_s)."""
        import torch

        from audio_creator.music.neural.tokens import Condition
        from audio_creator.music.vidmuse.frames import local_span

        first, last = local_span(start_s, stop_s, self.local_count)
        local = self.local[first:last]
        with torch.inference_mode():
            memory = self.model.video(local[None], self.overall[None])
            count = int(local.shape[0])
            if count not in self._nulls:  # the same for every window of this size
                black_local = self.black.expand(count, -1, -1)
                black_global = self.black.expand(self.overall.shape[0], -1, -1)
                self._nulls[count] = self.model.video(black_local[None], black_global[None])
        return Condition(memory, None, self._nulls[count], None)
