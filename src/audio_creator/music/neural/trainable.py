"""What LoRA training needs of a base model, whichever it is: one small interface, implemented
beside each model (`music.vidmuse.trainable`, `music.musicgen_trainable`), so that the training
loop (`train.lora`) never asks which model it trains.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Protocol

from audio_creator.errors import ConfigError
from audio_creator.music.neural.features import Cache, Example

# base → the module that implements it (its `load(music_model, device)` makes one)
IMPLEMENTATIONS = {
    "vidmuse": "audio_creator.music.vidmuse.trainable",
    "musicgen": "audio_creator.music.musicgen_trainable",
}


class TrainableBase(Protocol):
    """A frozen base model whose decoder takes LoRA layers."""

    kind: str  # what adapters made on it say they belong to ("vidmuse", "musicgen")
    folder: Path  # its weights
    model: Any  # the whole model, frozen, on the training device
    decoder: Any  # the decoder that the adapter's layers go into

    def example(self, cache: Cache, row: Any, prompt: str | None, device: Any) -> Example:
        """A manifest row's codes and condition inputs (cached by file, model and settings);
        `prompt` is the description of rows without their own, where the model takes text."""
        ...

    def memory(
        self, example: Example, seconds: tuple[float, float], null: bool, device: Any, dtype: Any
    ) -> tuple[Any, bool]:
        """The decoder's cross-attention memory [tokens, width] for the stretch `seconds` of
        `example`, or for the null condition (`null`: what classifier-free guidance's
        unconditional branch sees), and whether that memory is hidden from the decoder."""
        ...


def load_trainable(kind: str, music_model: str | None, device: Any) -> TrainableBase:
    """The base `kind` with its weights (`music_model`: a name or folder; None: its default),
    frozen, on `device`."""
    if kind not in IMPLEMENTATIONS:
        raise ConfigError(f"no trainable base {kind!r}: one of {', '.join(IMPLEMENTATIONS)}")
    module = importlib.import_module(IMPLEMENTATIONS[kind])
    base: TrainableBase = module.load(music_model, device)
    return base


def frozen(module: Any, device: Any) -> Any:
    """`module` without gradients, in evaluation mode, on `device`."""
    module.requires_grad_(False)
    return module.to(device).eval()


def model_key(folder: Path, decoder: Any) -> dict[str, Any]:
    """A model's part of a features cache key: its folder and its decoder's architecture."""
    from audio_creator.music.lora import config_hash

    return {"folder": str(folder.resolve()), "decoder": config_hash(decoder.config)}
