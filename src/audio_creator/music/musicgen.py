"""The `musicgen` backend: Meta's MusicGen on transformers, text → music at 32 kHz.

The text is the user's `--prompt`, else a description written from the style and the picture
(tempo from the video's energy, mood from its brightness and how its energy moves). The T5
encoder's states, projected to the decoder's width, are the decoder's cross-attention memory;
the null condition for guidance is the projection of zeros with every position masked, as
MusicGen was trained. Tokens are sampled by `neural.tokens` (windows of 30 s, each prompted
with the last 10 s of the one before) and decoded by the model's EnCodec.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Hashable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

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

DEFAULT_MODEL = "musicgen-small"
WINDOW_S = 30.0  # what MusicGen was trained on
PROMPT_S = 10.0  # each later window continues from this much of the one before


def missing_requirements(model: str = DEFAULT_MODEL) -> str | None:
    """None when the packages and the default weights are here, else what is missing."""
    from audio_creator import models

    return missing_packages() or models.missing(model)


class MusicGenBackend:
    """MusicGen from a folder of weights (a catalogue name, or a path)."""

    name = "musicgen"

    def __init__(
        self,
        model: str | os.PathLike[str] = DEFAULT_MODEL,
        device: str = "auto",
        lora: str | os.PathLike[str] | None = None,
        lora_scale: float = 1.0,
        **_: Any,
    ) -> None:
        from audio_creator import models

        lack = missing_packages()
        if lack is not None:
            raise BackendUnavailable(f"the musicgen backend needs torch and transformers: {lack}")
        self.lora, self.lora_scale = (None if lora is None else Path(lora)), lora_scale
        if self.lora is not None:
            from audio_creator.music import lora as adapters

            adapters.check_kind(self.lora, "musicgen")
        self.folder = models.locate(model)
        self.device_name = device
        self._model = LoadOnce(self._load)  # (model, tokenizer, device, dtype)

    def warm_up(self) -> None:
        """Load the model (the vidmuse job calls this while the video decodes)."""
        self._model()

    def _load(self) -> tuple[Any, Any, Any, Any]:
        from transformers import AutoTokenizer, MusicgenForConditionalGeneration

        started = time.perf_counter()
        device = pick_device(self.device_name)
        dtype = dtype_for(device)
        model = MusicgenForConditionalGeneration.from_pretrained(
            self.folder, local_files_only=True, dtype=dtype
        )
        if self.lora is not None:
            from audio_creator.music import lora

            lora.load_into(model.decoder, self.lora, self.name, self.lora_scale)
        tokenizer = AutoTokenizer.from_pretrained(self.folder, local_files_only=True)
        logger.info(
            "musicgen: loaded %s on %s (%s) in %.1f s",
            self.folder, device, str(dtype).removeprefix("torch."), time.perf_counter() - started,
        )  # fmt: skip
        return model.to(device).eval(), tokenizer, device, dtype

    def generate(self, request: MusicRequest, progress: Progress | None = None) -> GeneratedMusic:
        return self.generate_many(request, 1, progress)[0]

    def generate_many(
        self, request: MusicRequest, count: int, progress: Progress | None = None
    ) -> list[GeneratedMusic]:
        """`count` candidates in one batch: the decoder's cost is in reading its weights, so
        several candidates cost little more than one. Candidate i is the piece `generate`
        makes with variation i."""
        variations = [replace(request, variation=request.variation + i) for i in range(count)]
        return self.generate_batch(variations, progress)

    def batch_key(self, request: MusicRequest) -> Hashable:
        """Requests with the same key can share a batch (`generate_batch`): any texts and
        lengths can, but one batch draws its tokens one way."""
        return request.sampling

    def generate_batch(
        self, requests: Sequence[MusicRequest], progress: Progress | None = None
    ) -> list[GeneratedMusic]:
        """One piece per request, all in one batch: each its own text (padded, and masked
        where padded), seed and length. All share one sampling. The batch runs to its longest
        piece; a piece as long as the longest is the one `generate` makes for its request
        alone (each row draws from its own seed), a shorter one differs from that only in its
        last frames' upper codebooks, which the delay pattern samples after its end."""
        import torch

        from audio_creator.music.neural.tokens import decode, sample_codes

        if len({self.batch_key(r) for r in requests}) != 1:
            raise ConfigError("one batch of music shares one way of sampling")
        model, tokenizer, device, _ = self._model()
        texts = [describe(request) for request in requests]
        for text in dict.fromkeys(texts):
            logger.info("musicgen prompt: %s", text)
        condition = text_condition(model, tokenizer, texts, device)
        rate = model.config.audio_encoder.frame_rate
        lengths = [max(1, round(request.duration_s * rate)) for request in requests]
        generators = [
            torch.Generator(device=device).manual_seed(request.seed * 1009 + request.variation)
            for request in requests
        ]
        with torch.inference_mode():
            codes = sample_codes(
                model.decoder, lambda _start, _stop: condition, max(lengths),
                requests[0].sampling, generators, window=round(WINDOW_S * rate),
                overlap=round(PROMPT_S * rate), progress=progress,
            )  # fmt: skip
        stereo = model.config.decoder.audio_channels == 2
        made = []
        for row, (request, frames) in enumerate(zip(requests, lengths, strict=True)):
            samples = decode(model.audio_encoder, codes[row : row + 1, :, :frames], stereo=stereo)
            audio = finish(Audio(samples, model.config.audio_encoder.sampling_rate), request)
            summary = {"model": Path(self.folder).name, "prompt": texts[row], "frames": frames}
            made.append(GeneratedMusic(audio, self.name, (), summary))
        return made


def text_condition(model: Any, tokenizer: Any, texts: list[str], device: Any) -> Any:
    """The decoder memory for `texts` and its null counterpart (zeros, all masked)."""
    import torch

    from audio_creator.music.neural.tokens import Condition

    tokens = tokenizer(texts, return_tensors="pt", padding=True).to(device)
    with torch.inference_mode():
        states = model.text_encoder(
            input_ids=tokens.input_ids, attention_mask=tokens.attention_mask
        ).last_hidden_state
        project = getattr(model, "enc_to_dec_proj", None) or torch.nn.Identity()  # equal widths
        memory, null = project(states), project(torch.zeros_like(states))
    mask = tokens.attention_mask
    return Condition(memory, mask, null, torch.zeros_like(mask))


def describe(request: MusicRequest) -> str:
    """The text MusicGen is given: the user's prompt (or the style's name), then the tempo and
    mood the picture suggests, when there is a picture."""
    from audio_creator.music.procedural.styles import (
        style_from_picture,
        style_from_prompt,
        style_named,
    )

    prompt = (request.prompt or "").strip()
    analysis = request.analysis
    if analysis is None:
        return prompt or f"{request.style or 'cinematic'} instrumental music"
    energy, brightness = float(np.mean(analysis.energy)), float(np.mean(analysis.brightness))
    if request.style:
        style = style_named(request.style)
    else:
        style = (style_from_prompt(prompt) if prompt else None) or style_from_picture(
            energy, brightness
        )
    low, high = style.tempo_bpm
    words = [
        prompt or f"{style.name} instrumental music",
        f"{round(low + (high - low) * min(1.0, energy / 0.7))} bpm",
        "bright, uplifting" if brightness >= 0.45 else "dark, moody",
    ]
    if analysis.energy.size >= 4:
        half = analysis.energy.size // 2
        first, second = float(analysis.energy[:half].mean()), float(analysis.energy[half:].mean())
        if second > first + 0.1:
            words.append("building from calm to energetic")
        elif first > second + 0.1:
            words.append("settling from energetic to calm")
    return ", ".join(words)
