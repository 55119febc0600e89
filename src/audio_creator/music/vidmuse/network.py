"""The VidMuse network (Tian et al., 2024) on transformers components.

Video → CLIP ViT-B/32 (frozen; per frame the 50 tokens × 768 of its last hidden state) → a
small transformer over each frame's tokens, with learned position embeddings, one for the local
stream (frames at 2 fps around the music being made) and one for the global stream (32 frames
over the whole video) → cross-attention fusion (queries from the local tokens, keys and values
from the global ones; residual and layer norm) → a linear projection to the decoder's width →
the cross-attention memory of a MusicGen decoder (no text encoder).

This module imports torch at its top: it is only ever imported by the vidmuse backend, the
checkpoint converter and tests, never by `import audio_creator`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch  # noqa: TID253 (see the module docstring)
from torch import nn  # noqa: TID253


@dataclass(frozen=True)
class VidMuseConfig:
    """The shapes of one VidMuse model (the published one: a MusicGen-medium decoder)."""

    decoder: dict[str, Any]  # a MusicgenDecoderConfig's fields
    clip: dict[str, Any]  # a CLIPVisionConfig's fields (the defaults are ViT-B/32)
    frame_depth: int = 2  # blocks of each per-frame transformer
    frame_head_dim: int = 64
    frame_hidden_scale: int = 4
    fusion_heads: int = 3

    @property
    def features(self) -> int:
        """CLIP's hidden width (ViT-B/32: 768), the width of the frame streams."""
        return int(self.clip.get("hidden_size", 768))

    @property
    def image_size(self) -> int:
        return int(self.clip.get("image_size", 224))

    @property
    def frame_tokens(self) -> int:
        """Tokens per frame: a class token and the patches (ViT-B/32 at 224 px: 1 + 7 × 7)."""
        return (self.image_size // int(self.clip.get("patch_size", 32))) ** 2 + 1

    @property
    def frame_heads(self) -> int:
        """The per-frame transformers use as many heads as the decoder (as upstream does)."""
        return int(self.decoder["num_attention_heads"])


class FrameAttention(nn.Module):
    """Self-attention over one frame's tokens (fused q, k, v; no bias on them)."""

    def __init__(self, width: int, heads: int, head_dim: int) -> None:
        super().__init__()
        self.heads, self.head_dim = heads, head_dim
        self.qkv = nn.Linear(width, 3 * heads * head_dim, bias=False)
        self.out = nn.Linear(heads * head_dim, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, _ = x.shape
        q, k, v = (
            part.view(batch, length, self.heads, self.head_dim).transpose(1, 2)
            for part in self.qkv(x).chunk(3, dim=-1)
        )
        attended = nn.functional.scaled_dot_product_attention(q, k, v)
        return self.out(attended.transpose(1, 2).reshape(batch, length, -1))  # type: ignore[no-any-return]


class FrameBlock(nn.Module):
    """Pre-norm attention, then a pre-norm GELU feed-forward, each with its residual."""

    def __init__(self, width: int, heads: int, head_dim: int, hidden: int) -> None:
        super().__init__()
        self.attention_norm = nn.LayerNorm(width)
        self.attention = FrameAttention(width, heads, head_dim)
        self.feed_forward_norm = nn.LayerNorm(width)
        self.feed_forward = nn.Sequential(
            nn.Linear(width, hidden), nn.GELU(), nn.Linear(hidden, width)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attention(self.attention_norm(x))
        return x + self.feed_forward(self.feed_forward_norm(x))  # type: ignore[no-any-return]


class FrameTransformer(nn.Module):
    """A few `FrameBlock`s and a final layer norm, over each frame's tokens on its own."""

    def __init__(self, config: VidMuseConfig) -> None:
        super().__init__()
        width = config.features
        hidden = width * config.frame_hidden_scale
        self.blocks = nn.ModuleList(
            FrameBlock(width, config.frame_heads, config.frame_head_dim, hidden)
            for _ in range(config.frame_depth)
        )
        self.norm = nn.LayerNorm(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return self.norm(x)  # type: ignore[no-any-return]


class Fusion(nn.Module):
    """Local tokens attend to global tokens; residual + layer norm, then an output projection
    with its own residual + layer norm."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.query, self.key, self.value = (nn.Linear(width, width) for _ in range(3))
        self.out = nn.Linear(width, width)
        self.norm_attended = nn.LayerNorm(width)
        self.norm_out = nn.LayerNorm(width)

    def forward(self, local: torch.Tensor, overall: torch.Tensor) -> torch.Tensor:
        batch, width = local.shape[0], local.shape[-1]

        def split(x: torch.Tensor) -> torch.Tensor:
            return x.view(batch, -1, self.heads, width // self.heads).transpose(1, 2)

        q, k, v = split(self.query(local)), split(self.key(overall)), split(self.value(overall))
        attended = nn.functional.scaled_dot_product_attention(q, k, v)
        attended = attended.transpose(1, 2).reshape(batch, -1, width)
        fused = self.norm_attended(attended + local)
        return self.norm_out(self.out(fused) + fused)  # type: ignore[no-any-return]


class VideoEncoder(nn.Module):
    """Frames → the decoder's cross-attention memory."""

    def __init__(self, config: VidMuseConfig) -> None:
        super().__init__()
        from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

        self.clip = CLIPVisionModelWithProjection(CLIPVisionConfig(**config.clip))
        self.clip.requires_grad_(False)  # frozen, as published
        shape = (1, config.frame_tokens, config.features)
        self.local_position = nn.Parameter(torch.randn(shape) * 0.02)
        self.global_position = nn.Parameter(torch.randn(shape) * 0.02)
        self.local_frames = FrameTransformer(config)
        self.global_frames = FrameTransformer(config)
        self.fusion = Fusion(config.features, config.fusion_heads)
        self.to_decoder = nn.Linear(config.features, int(config.decoder["hidden_size"]))

    def clip_tokens(self, pixels: torch.Tensor) -> torch.Tensor:
        """[N, 3, 224, 224] normalised frames → [N, 50, 768] (CLIP's last hidden state; the
        sizes are ViT-B/32's)."""
        with torch.no_grad():
            return self.clip(pixel_values=pixels).last_hidden_state  # type: ignore[no-any-return]

    def forward(self, local_tokens: torch.Tensor, global_tokens: torch.Tensor) -> torch.Tensor:
        """CLIP tokens of [B, T, 50, 768] local and [B, G, 50, 768] global frames →
        memory [B, T × 50, decoder width]."""
        batch, width = local_tokens.shape[0], local_tokens.shape[-1]
        local = self.local_frames(local_tokens.flatten(0, 1) + self.local_position)
        overall = self.global_frames(global_tokens.flatten(0, 1) + self.global_position)
        fused = self.fusion(local.reshape(batch, -1, width), overall.reshape(batch, -1, width))
        return self.to_decoder(fused)  # type: ignore[no-any-return]


class VidMuseModel(nn.Module):
    """The video encoder and the MusicGen decoder it conditions (EnCodec decodes apart)."""

    def __init__(self, config: VidMuseConfig) -> None:
        super().__init__()
        from transformers import MusicgenDecoderConfig, MusicgenForCausalLM

        self.config = config
        self.video = VideoEncoder(config)
        self.decoder = MusicgenForCausalLM(MusicgenDecoderConfig(**config.decoder))
