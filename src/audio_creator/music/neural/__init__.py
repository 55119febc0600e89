"""What the neural music backends share: torch and its device, audio tokens, EnCodec decoding.

Everything here imports torch lazily (inside functions): `import audio_creator.music` stays
light, and a machine without torch gets a clear `BackendUnavailable`, not an ImportError.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import numpy as np

from audio_creator.audio import Audio
from audio_creator.errors import BackendUnavailable
from audio_creator.registry import needs_module

if TYPE_CHECKING:
    from audio_creator.music.backend import MusicRequest


T = TypeVar("T")


class LoadOnce(Generic[T]):
    """A model loaded on first use, once, whichever thread asks first (a backend's warm-up
    thread and its first `generate` may ask at the same time)."""

    def __init__(self, load: Callable[[], T]) -> None:
        self._load = load
        self._loaded: T | None = None
        self._lock = threading.Lock()

    def __call__(self) -> T:
        with self._lock:
            if self._loaded is None:
                self._loaded = self._load()
            return self._loaded


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


def finish(decoded: Audio, request: MusicRequest) -> Audio:
    """A codec's output made delivery music: offset removed (a 20 Hz high-pass; codec decoders
    can drift off zero), at the request's rate, length and loudness, stereo."""
    from scipy.signal import butter, sosfiltfilt

    from audio_creator.dsp.master import master_in_place

    sos = butter(2, 20.0, "highpass", fs=decoded.sample_rate, output="sos")
    centred = Audio(
        sosfiltfilt(sos, decoded.samples, axis=-1).astype(np.float32), decoded.sample_rate
    )
    audio = centred.resample(request.sample_rate).fit_frames(
        round(request.duration_s * request.sample_rate)
    )
    buffer = np.array(audio.to_channels(2).samples)
    master_in_place(
        buffer, request.sample_rate, target_lufs=request.target_lufs,
        true_peak_dbtp=request.true_peak_dbtp,
    )  # fmt: skip
    return Audio(buffer, request.sample_rate)
