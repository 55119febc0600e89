"""The semantic rerank term: does the music sound like what the picture shows?

CLIP's image embeddings and CLAP's audio embeddings live in different spaces, so they are never
compared directly. Instead the frames are described in words — CLIP zero-shot over a vocabulary
of moods, genres, instruments and tempi, the likeliest words of each kind kept with their
probabilities — and each candidate is scored against those words in CLAP's shared text–audio
space: the probability-weighted cosine similarity, mapped to 0–1. The term joins the rhythmic
ones when both models' weights are present (`audio-creator models download clip-vit-b32 clap`).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from audio_creator.analysis.video import VideoAnalysis
from audio_creator.music.rerank import Candidate, Term

logger = logging.getLogger(__name__)

VOCABULARY = {
    "mood": ("calm", "tense", "joyful", "sad", "epic", "mysterious", "romantic", "playful",
             "dark", "uplifting"),
    "genre": ("cinematic orchestral", "ambient", "lo-fi hip hop", "pop", "electronic dance",
              "solo piano", "rock", "jazz", "acoustic folk"),
    "instrument": ("strings", "piano", "synthesizer", "acoustic guitar", "drums", "brass", "choir"),
    "tempo": ("slow", "moderate", "fast"),
}  # fmt: skip
PICTURE_PROMPT = {  # how CLIP is asked about a frame, per kind of word
    "mood": "a {} scene", "genre": "a scene that calls for {} music",
    "instrument": "a scene that suits {}", "tempo": "a {} moving scene",
}  # fmt: skip
MUSIC_PROMPT = {
    "mood": "{} music", "genre": "{} music", "instrument": "music with {}", "tempo": "{} music",
}  # fmt: skip
KEEP = 2  # words of each kind kept
FRAMES = 8  # frames CLIP looks at, evenly over the video
CLAP_WINDOW_S = 10.0  # CLAP hears at most this much at once; longer music: windows averaged


@dataclass(frozen=True)
class Description:
    """Words for the picture, each with its probability within its kind."""

    words: tuple[tuple[str, str, float], ...]  # (kind, word, probability)

    def text(self) -> str:
        return ", ".join(f"{word} ({p:.2f})" for _, word, p in self.words)


def missing() -> str | None:
    """None when the semantic term can be used here."""
    from audio_creator import models
    from audio_creator.music.neural import missing_packages

    return missing_packages() or models.missing("clip-vit-b32") or models.missing("clap")


def semantic_term(
    video: str | os.PathLike[str],
    clip_folder: str | os.PathLike[str] | None = None,
    clap_folder: str | os.PathLike[str] | None = None,
    device: str = "auto",
) -> Term:
    """A rerank term for `video`: the frames are described once, each candidate scored."""
    judge = SemanticJudge(clip_folder, clap_folder, device)
    described: list[Description] = []

    def term(candidate: Candidate, _: VideoAnalysis) -> float:
        if not described:
            described.append(judge.describe(video))
            logger.info("the picture, in words: %s", described[0].text())
        return judge.score(candidate.heard(), described[0])

    return term


class SemanticJudge:
    """CLIP (picture → words) and CLAP (words ↔ audio), loaded from their folders."""

    def __init__(
        self,
        clip_folder: str | os.PathLike[str] | None = None,
        clap_folder: str | os.PathLike[str] | None = None,
        device: str = "auto",
    ) -> None:
        from transformers import AutoFeatureExtractor, AutoTokenizer, ClapModel, CLIPModel

        from audio_creator import models
        from audio_creator.music.neural import pick_device

        clip_at = models.locate(clip_folder or "clip-vit-b32")
        clap_at = models.locate(clap_folder or "clap")
        self.device = pick_device(device)
        self.clip = CLIPModel.from_pretrained(clip_at, local_files_only=True).to(self.device).eval()
        self.clip_words = AutoTokenizer.from_pretrained(clip_at, local_files_only=True)
        self.clap = ClapModel.from_pretrained(clap_at, local_files_only=True).to(self.device).eval()
        self.clap_words = AutoTokenizer.from_pretrained(clap_at, local_files_only=True)
        self.clap_audio = AutoFeatureExtractor.from_pretrained(  # type: ignore[no-untyped-call]
            clap_at, local_files_only=True
        )

    def describe(self, video: str | os.PathLike[str], frames: int = FRAMES) -> Description:
        """The likeliest words of each kind for `frames` of the video (CLIP zero-shot)."""
        import torch

        from audio_creator.music.vidmuse.frames import global_frames

        size = int(self.clip.config.vision_config.image_size)
        pixels = torch.from_numpy(global_frames(video, size, count=frames)).to(self.device)
        with torch.inference_mode():
            pictures = _unit(_embedding(self.clip.get_image_features(pixel_values=pixels)))
            words: list[tuple[str, str, float]] = []
            for kind, options in VOCABULARY.items():
                texts = [PICTURE_PROMPT[kind].format(o) for o in options]
                said = _unit(self._clip_text(texts))
                scale = float(self.clip.logit_scale.exp())
                chances = torch.softmax(scale * pictures @ said.T, dim=-1).mean(dim=0)
                for index in chances.argsort(descending=True)[:KEEP].tolist():
                    words.append((kind, options[index], float(chances[index])))
        return Description(tuple(words))

    def score(self, audio: Any, description: Description) -> float:
        """How well `audio` matches the words: weighted cosine similarity mapped to 0–1."""
        return self.match(self.hear(audio), description)

    def hear(self, audio: Any) -> Any:
        """CLAP's unit audio embedding of `audio` (windows of 10 s, averaged)."""
        return clap_audio_embedding(self.clap, self.clap_audio, audio, self.device)

    def match(self, heard: Any, description: Description) -> float:
        """A `hear` embedding against the words, weighted by their probabilities, in 0–1."""
        import torch

        texts = [MUSIC_PROMPT[kind].format(word) for kind, word, _ in description.words]
        weights = torch.tensor([p for _, _, p in description.words])
        with torch.inference_mode():
            tokens = self.clap_words(texts, return_tensors="pt", padding=True).to(self.device)
            said = _unit(_embedding(self.clap.get_text_features(**tokens)))
            similarity = (said @ heard).cpu()
        return float(((similarity * weights).sum() / weights.sum() + 1) / 2)

    def _clip_text(self, texts: list[str]) -> Any:
        tokens = self.clip_words(texts, return_tensors="pt", padding=True).to(self.device)
        return _embedding(self.clip.get_text_features(**tokens))


def clap_audio_embedding(model: Any, extractor: Any, audio: Any, device: Any) -> Any:
    """CLAP's unit audio embedding of an `Audio`: windows of 10 s (CLAP's span), each embedded
    and made unit length, averaged, made unit length again."""
    import torch

    rate = int(extractor.sampling_rate)
    mono = audio.to_channels(1).resample(rate).samples[0]
    window = int(CLAP_WINDOW_S * rate)
    pieces = [mono[i : i + window] for i in range(0, max(1, mono.size - window // 2), window)]
    with torch.inference_mode():
        features = extractor(
            [np.asarray(p, np.float32) for p in pieces], sampling_rate=rate,
            return_tensors="pt", truncation="rand_trunc", padding="repeatpad",
        ).to(device)  # fmt: skip
        heard = _unit(_embedding(model.get_audio_features(**features)).float()).mean(dim=0)
    return _unit(heard[None])[0]


def _embedding(output: Any) -> Any:
    """The projected embedding, whether transformers returns it bare or in an output object."""
    return getattr(output, "pooler_output", output)


def _unit(x: Any) -> Any:
    return x / x.norm(dim=-1, keepdim=True).clamp_min(1e-8)
