"""VidMuse as a base for LoRA training (`music.neural.trainable`): its condition is the video,
as CLIP's tokens of the local frames at 2 fps and of the 32 global ones; the null condition is
a black video, as inference's guidance uses."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audio_creator.music.neural.features import Cache, Example, encode_audio, file_key
from audio_creator.music.neural.trainable import frozen, model_key

CLIP_BATCH = 32  # frames through CLIP at a time, when features are made


@dataclass
class VidmuseTrainable:
    folder: Path
    model: Any
    codec: Any  # EnCodec, which makes the codes
    kind: str = "vidmuse"
    _black: Any = None  # CLIP's tokens of one black frame, made on first use

    @property
    def decoder(self) -> Any:
        return self.model.decoder

    def example(self, cache: Cache, row: Any, prompt: str | None, device: Any) -> Example:
        """Codes and CLIP tokens of one manifest row (VidMuse takes no text: `prompt` unused)."""
        import torch

        from audio_creator.music.vidmuse import frames

        size = self.model.config.image_size

        def make() -> dict[str, Any]:
            codes = encode_audio(self.codec, row.audio, row.duration_s, False, device)

            def clip(pixels: Any) -> Any:
                tensor = torch.from_numpy(pixels).to(device)
                with torch.inference_mode():
                    parts = [
                        self.model.video.clip_tokens(c) for c in torch.split(tensor, CLIP_BATCH)
                    ]
                return torch.cat(parts).half().cpu()

            local = clip(frames.local_frames(row.video, row.duration_s, size))
            overall = clip(frames.global_frames(row.video, size))
            return {"codes": codes.short(), "local": local, "overall": overall}

        key = {"kind": "vidmuse", "model": model_key(self.folder, self.decoder),
               "video": file_key(row.video), "audio": file_key(row.audio),
               "seconds": round(row.duration_s, 3)}  # fmt: skip
        found = cache.get(key, make)
        return Example(row.video.name, found["codes"].long(), float(self.codec.config.frame_rate),
                       local=found["local"], overall=found["overall"])  # fmt: skip

    def memory(
        self, example: Example, seconds: tuple[float, float], null: bool, device: Any, dtype: Any
    ) -> tuple[Any, bool]:
        """The video encoder's memory of the frames under `seconds` (and the global ones)."""
        from audio_creator.music.vidmuse.frames import local_span

        first, last = local_span(*seconds, int(example.local.shape[0]))
        local = example.local[first:last].to(device=device, dtype=dtype)
        overall = example.overall.to(device=device, dtype=dtype)
        if null:
            black = self._black_tokens(device).to(dtype)
            local, overall = black.expand_as(local), black.expand_as(overall)
        return self.model.video(local[None], overall[None])[0], False

    def _black_tokens(self, device: Any) -> Any:
        """CLIP's tokens of one black frame [1, tokens, width] (the null video's frames)."""
        import torch

        from audio_creator.music.vidmuse.frames import black

        if self._black is None:
            pixels = torch.from_numpy(black(1, self.model.config.image_size)).to(device)
            dtype = next(self.model.parameters()).dtype
            self._black = self.model.video.clip_tokens(pixels.to(dtype))
        return self._black


def load(music_model: str | None, device: Any) -> VidmuseTrainable:
    """VidMuse's network and its EnCodec, in float32 (the adapter trains in full precision;
    autocast runs the matrix products in half on a GPU), frozen."""
    from transformers import EncodecModel

    from audio_creator.music.vidmuse.backend import load_network, model_folders

    folder, codec_folder = model_folders(music_model or "vidmuse")
    model = frozen(load_network(folder), device)
    codec = frozen(EncodecModel.from_pretrained(codec_folder, local_files_only=True), device)
    return VidmuseTrainable(folder, model, codec)
