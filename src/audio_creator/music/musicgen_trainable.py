"""MusicGen as a base for LoRA training (`music.neural.trainable`): its condition is text, as
T5's states of each example's description (the row's `text`, else `--prompt`, else what
inference would say of the video); the null condition is an empty, fully masked text."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audio_creator.music.neural.features import Cache, Example, encode_audio, file_key
from audio_creator.music.neural.trainable import frozen, model_key


@dataclass
class MusicgenTrainable:
    folder: Path
    model: Any
    tokenizer: Any
    kind: str = "musicgen"

    @property
    def decoder(self) -> Any:
        return self.model.decoder

    def example(self, cache: Cache, row: Any, prompt: str | None, device: Any) -> Example:
        """Codes and T5 states of one manifest row. The description is the row's text, else
        `prompt`, else the one inference writes for the video (`musicgen.describe`)."""
        import torch

        text = row.text or prompt
        codec = self.model.audio_encoder
        stereo = int(self.model.config.decoder.audio_channels) == 2
        key = model_key(self.folder, self.decoder)

        def make_codes() -> dict[str, Any]:
            codes = encode_audio(codec, row.audio, row.duration_s, stereo, device)
            return {"codes": codes.short()}

        def make_states() -> dict[str, Any]:
            said = text if text is not None else describe_video(row.video, row.duration_s)
            tokens = self.tokenizer([said], return_tensors="pt").to(device)
            with torch.inference_mode():
                states = self.model.text_encoder(
                    input_ids=tokens.input_ids, attention_mask=tokens.attention_mask
                ).last_hidden_state
            return {"states": states[0].cpu(), "text": said}

        audio_key = {"kind": "musicgen-codes", "model": key, "audio": file_key(row.audio),
                     "seconds": round(row.duration_s, 3)}  # fmt: skip
        codes = cache.get(audio_key, make_codes)["codes"].long()
        said = {"text": text} if text is not None else {"video": file_key(row.video)}
        states = cache.get({"kind": "musicgen-text", "model": key, **said}, make_states)
        return Example(row.video.name, codes, float(codec.config.frame_rate),
                       states=states["states"], text=states["text"])  # fmt: skip

    def memory(
        self, example: Example, seconds: tuple[float, float], null: bool, device: Any, dtype: Any
    ) -> tuple[Any, bool]:
        """The description's states, projected to the decoder's width (the whole text for any
        stretch); the null text is zeros, hidden from the decoder by the mask."""
        import torch

        states = example.states.to(device=device, dtype=dtype)
        project = getattr(self.model, "enc_to_dec_proj", None) or torch.nn.Identity()
        return project(torch.zeros_like(states) if null else states), null


def describe_video(video: Path, duration_s: float) -> str:
    """What `musicgen` would be told about this video, given no prompt."""
    from audio_creator.analysis.video import analyse_video
    from audio_creator.music.backend import MusicRequest
    from audio_creator.music.musicgen import describe

    return describe(MusicRequest(duration_s, analyse_video(video)))


def load(music_model: str | None, device: Any) -> MusicgenTrainable:
    """MusicGen (its decoder, T5 and EnCodec) and its tokenizer, in float32, frozen."""
    from transformers import AutoTokenizer, MusicgenForConditionalGeneration

    from audio_creator import models
    from audio_creator.music.musicgen import DEFAULT_MODEL

    folder = models.locate(music_model or DEFAULT_MODEL)
    model = MusicgenForConditionalGeneration.from_pretrained(folder, local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    return MusicgenTrainable(folder, frozen(model, device), tokenizer)
