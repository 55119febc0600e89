"""A learned bridge between a video space and an audio space (`--fit-projection`).

Video and audio embeddings from different models cannot be compared by cosine. Given the
user's own pairs, a ridge regression maps audio embeddings into the video space (both
standardised), and a soundtrack is scored against a video by the cosine there. Each video's
row of scores comes from a map fitted *without* that video's pair (leave one out), so a pair
is never scored by a map that has seen it: on unrelated data the retrieval stays at chance.

Video embeddings: the mean CLIP image embedding of evenly spread frames, or — offline — the
project's own analysis (motion, brightness, warmth, saturation, energy, their spread, the cut
rate).
"""

from __future__ import annotations

import os

import numpy as np
import numpy.typing as npt

from audio_creator.errors import ConfigError

Floats = npt.NDArray[np.float64]
RIDGE = 1.0


def scores(video: npt.ArrayLike, audio: npt.ArrayLike, ridge: float = RIDGE) -> Floats:
    """[videos, soundtracks] cosine scores through leave-one-out ridge maps."""
    v, a = np.asarray(video, np.float64), np.asarray(audio, np.float64)
    count = v.shape[0]
    if count < 3 or a.shape[0] != count:
        raise ConfigError(f"--fit-projection needs at least 3 pairs, got {count}")
    out = np.empty((count, count))
    for i in range(count):
        keep = np.arange(count) != i
        to_video = RidgeMap(v[keep], a[keep], ridge)
        mapped = _unit(to_video(a))
        out[i] = mapped @ _unit(to_video.standard_video(v[i : i + 1]))[0]
    return out


class RidgeMap:
    """Standardised audio → standardised video, fitted by ridge regression."""

    def __init__(self, v: Floats, a: Floats, ridge: float) -> None:
        self.v_mean, self.v_std = v.mean(0), _scale(v.std(0))
        self.a_mean, self.a_std = a.mean(0), _scale(a.std(0))
        x, y = (a - self.a_mean) / self.a_std, (v - self.v_mean) / self.v_std
        # ridge in its dual form: cheap when there are fewer pairs than audio dimensions
        gram = x @ x.T + ridge * np.eye(x.shape[0])
        self.weights = x.T @ np.linalg.solve(gram, y)

    def __call__(self, a: Floats) -> Floats:
        return ((a - self.a_mean) / self.a_std) @ self.weights  # type: ignore[no-any-return]

    def standard_video(self, v: Floats) -> Floats:
        return (v - self.v_mean) / self.v_std  # type: ignore[no-any-return]


def _scale(spread: Floats) -> Floats:
    """Standard deviations to divide by: 1 where a feature is (nearly) constant, so that a
    value it takes only in the held-out clip does not blow up (as scikit-learn's scaler)."""
    return np.where(spread < 1e-8, 1.0, spread)


def _unit(x: Floats) -> Floats:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)  # type: ignore[no-any-return]


def analysis_features(video: str | os.PathLike[str]) -> Floats:
    """The offline video embedding: the analysis curves' means and spreads, and the cut rate."""
    from audio_creator.analysis.video import analyse_video

    found = analyse_video(video)
    curves = (found.motion, found.brightness, found.warmth, found.saturation, found.energy)
    stats = [f(c) for c in curves for f in (np.mean, np.std)]
    return np.array([*stats, len(found.cuts_s) / max(found.duration_s, 1e-3)], np.float64)


class ClipFrames:
    """The mean unit CLIP image embedding of frames spread over a video."""

    def __init__(self, frames: int = 8, device: str = "auto") -> None:
        from transformers import CLIPModel

        from audio_creator import models
        from audio_creator.music.neural import pick_device

        if not 1 <= frames <= 256:
            raise ConfigError(f"--num-video-frames must be within 1–256, got {frames}")
        self.frames, self.device = frames, pick_device(device)
        where = models.locate("clip-vit-b32")
        self.clip = CLIPModel.from_pretrained(where, local_files_only=True).to(self.device).eval()

    def __call__(self, video: str | os.PathLike[str]) -> Floats:
        import torch

        from audio_creator.music.vidmuse.frames import global_frames

        size = int(self.clip.config.vision_config.image_size)
        pixels = torch.from_numpy(global_frames(video, size, count=self.frames)).to(self.device)
        with torch.inference_mode():
            out = self.clip.get_image_features(pixel_values=pixels)
            vectors = getattr(out, "pooler_output", out).float()
            vectors = vectors / vectors.norm(dim=-1, keepdim=True).clamp_min(1e-8)
        return np.asarray(vectors.mean(0).cpu().numpy(), np.float64)
