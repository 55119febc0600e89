"""What the neural music backends share: torch and its device, audio tokens, EnCodec decoding.

Everything here imports torch lazily (inside functions): `import audio_creator.music` stays
light, and a machine without torch gets a clear `BackendUnavailable`, not an ImportError.
"""

from __future__ import annotations

from typing import Any

from audio_creator.errors import BackendUnavailable
from audio_creator.registry import needs_module


def missing_packages() -> str | None:
    """None when torch and transformers can be imported, else how to install them."""
    for module in ("torch", "transformers"):
        lack = needs_module(
            module, f"{module} is not installed: pip install 'audio-creator[neural]'"
        )()
        if lack is not None:
            return lack
    return None


def pick_device(name: str = "auto") -> Any:
    """The torch device for `auto` (CUDA when torch sees one), `cpu` or `cuda`."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise BackendUnavailable("--device cuda was asked for, but torch sees no CUDA device")
    return torch.device(name)


def dtype_for(device: Any) -> Any:
    """Half precision on a GPU (bf16 where it is supported), fp32 on the CPU."""
    import torch

    if device.type != "cuda":
        return torch.float32
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
