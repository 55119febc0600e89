"""Tiny randomly initialised models of the real architectures, built in the test (no downloads).

Each has the structure of the published model — MusicGen's T5 encoder, its decoder with four
delayed codebooks and cross-attention, a 32 kHz EnCodec at 50 frames a second — at two layers
and a width of 32, so a test runs it in seconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

CODEBOOK = 64  # entries per codebook (MusicGen: 2048)
BOOKS = 4


def tiny_encodec_config() -> Any:
    from transformers import EncodecConfig

    # 32 kHz, hop 640 → 50 frames/s like MusicGen's; 4 codebooks of 64 (6 bits) = 1.2 kbps.
    return EncodecConfig(
        sampling_rate=32000, audio_channels=1, codebook_size=CODEBOOK, codebook_dim=16,
        hidden_size=16, num_filters=4, upsampling_ratios=[8, 5, 4, 4], target_bandwidths=[1.2],
        num_lstm_layers=1, chunk_length_s=None, overlap=None,
    )  # fmt: skip


def with_random_codebooks(codec: Any, seed: int = 0) -> Any:
    """EnCodec's codebooks start as zeros (they are learned by k-means): give them random
    entries, so that different codes decode to different sound, as in a trained codec."""
    import torch

    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in codec.quantizer.layers:
            book = layer.codebook
            book.embed.copy_(torch.randn(book.embed.shape, generator=g))
            book.embed_avg.copy_(book.embed)
            book.cluster_size.fill_(1.0)
            book.inited.fill_(True)
    return codec


def tiny_musicgen(seed: int = 0) -> Any:
    """A MusicGen (text → music) of the real architecture at toy size, eval mode."""
    import torch
    from transformers import (
        MusicgenConfig,
        MusicgenDecoderConfig,
        MusicgenForConditionalGeneration,
        T5Config,
    )

    torch.manual_seed(seed)
    text = T5Config(vocab_size=64, d_model=48, d_ff=64, num_layers=2, num_heads=2, d_kv=16)
    decoder = MusicgenDecoderConfig(
        vocab_size=CODEBOOK, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        ffn_dim=64, num_codebooks=BOOKS, max_position_embeddings=4096,
        pad_token_id=CODEBOOK, bos_token_id=CODEBOOK, decoder_start_token_id=CODEBOOK,
    )  # fmt: skip
    config = MusicgenConfig(
        text_encoder=text.to_dict(), audio_encoder=tiny_encodec_config().to_dict(),
        decoder=decoder.to_dict(),
    )  # fmt: skip
    model = MusicgenForConditionalGeneration(config).eval()
    with_random_codebooks(model.audio_encoder, seed)
    return model


def save_tiny_musicgen(folder: Path, seed: int = 0, head_scale: float = 1.0) -> Path:
    """The tiny MusicGen saved as a Hugging Face folder, with a word-level tokenizer.
    `head_scale` multiplies the output heads' weights: at initialisation (std 0.02) they are
    too small to express any distribution far from uniform, which a trained model's can."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = ["<pad>", "</s>", "<unk>"] + [f"w{i}" for i in range(61)]
    vocabulary = {word: i for i, word in enumerate(words)}
    core = Tokenizer(models.WordLevel(vocabulary, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core, pad_token="<pad>", eos_token="</s>", unk_token="<unk>"
    )
    folder.mkdir(parents=True, exist_ok=True)
    model = tiny_musicgen(seed)
    if head_scale != 1.0:
        import torch

        with torch.no_grad():
            for head in model.decoder.lm_heads:
                head.weight.mul_(head_scale)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


# VidMuse at toy size: a 2-layer, width-32 decoder; CLIP at width 48 (3 fusion heads, as
# published, must divide it) on 32-px frames in 8-px
# patches (17 tokens a frame, against ViT-B/32's 50 at 224 px).
TINY_CLIP = {
    "hidden_size": 48, "intermediate_size": 64, "num_hidden_layers": 2,
    "num_attention_heads": 2, "image_size": 32, "patch_size": 8, "projection_dim": 16,
}  # fmt: skip
TINY_LM = {"dim": 32, "num_heads": 2, "num_layers": 2, "hidden_scale": 4, "n_q": BOOKS,
           "card": CODEBOOK, "dim_head": 16}  # fmt: skip


def upstream_vidmuse_state(seed: int = 0) -> dict[str, Any]:
    """A state dict in the published checkpoint's layout and names (audiocraft's LM, the
    VidMuse video modules, CLIPVisionModelWithProjection as `visual_encoder_model`), random."""
    import torch
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    g = torch.Generator().manual_seed(seed)

    def rand(*shape: int) -> Any:
        return torch.randn(*shape, generator=g) * 0.2

    d, card, books, ffn = TINY_LM["dim"], CODEBOOK, BOOKS, 4 * TINY_LM["dim"]
    width, heads, head_dim = TINY_CLIP["hidden_size"], TINY_LM["num_heads"], TINY_LM["dim_head"]
    tokens = (TINY_CLIP["image_size"] // TINY_CLIP["patch_size"]) ** 2 + 1
    state: dict[str, Any] = {f"emb.{k}.weight": rand(card + 1, d) for k in range(books)}
    for n in range(TINY_LM["num_layers"]):
        layer = f"transformer.layers.{n}"
        for attention in ("self_attn", "cross_attention"):
            state[f"{layer}.{attention}.in_proj_weight"] = rand(3 * d, d)
            state[f"{layer}.{attention}.out_proj.weight"] = rand(d, d)
        state[f"{layer}.linear1.weight"] = rand(ffn, d)
        state[f"{layer}.linear2.weight"] = rand(d, ffn)
        for norm in ("norm1", "norm2", "norm_cross"):
            state[f"{layer}.{norm}.weight"] = 1 + rand(d)
            state[f"{layer}.{norm}.bias"] = rand(d)
    state["out_norm.weight"], state["out_norm.bias"] = 1 + rand(d), rand(d)
    state.update({f"linears.{k}.weight": rand(card, d) for k in range(books)})
    torch.manual_seed(seed)
    clip = CLIPVisionModelWithProjection(CLIPVisionConfig(**TINY_CLIP))
    state.update({f"visual_encoder_model.{k}": v for k, v in clip.state_dict().items()})
    for stream in ("local", "global"):
        state[f"{stream}_pos_embedding"] = rand(1, tokens, width)
        t = f"{stream}_temporal_transformer"
        for i in range(2):
            for sub in (0, 1):
                state[f"{t}.layers.{i}.{sub}.norm.weight"] = 1 + rand(width)
                state[f"{t}.layers.{i}.{sub}.norm.bias"] = rand(width)
            state[f"{t}.layers.{i}.0.fn.to_qkv.weight"] = rand(3 * heads * head_dim, width)
            state[f"{t}.layers.{i}.0.fn.to_out.0.weight"] = rand(width, heads * head_dim)
            state[f"{t}.layers.{i}.0.fn.to_out.0.bias"] = rand(width)
            state[f"{t}.layers.{i}.1.fn.net.0.weight"] = rand(4 * width, width)
            state[f"{t}.layers.{i}.1.fn.net.0.bias"] = rand(4 * width)
            state[f"{t}.layers.{i}.1.fn.net.3.weight"] = rand(width, 4 * width)
            state[f"{t}.layers.{i}.1.fn.net.3.bias"] = rand(width)
        state[f"{t}.norm.weight"], state[f"{t}.norm.bias"] = 1 + rand(width), rand(width)
    for part in ("query", "key", "value", "final_linear"):
        state[f"multi_head_cross_attention.{part}.weight"] = rand(width, width)
        state[f"multi_head_cross_attention.{part}.bias"] = rand(width)
    for norm in ("norm1", "norm2"):
        state[f"multi_head_cross_attention.{norm}.weight"] = 1 + rand(width)
        state[f"multi_head_cross_attention.{norm}.bias"] = rand(width)
    state["visual_feature_proj.weight"], state["visual_feature_proj.bias"] = rand(d, width), rand(d)
    return state


def save_tiny_vidmuse(folder: Path, seed: int = 0) -> Path:
    """A VidMuse model folder as `models download vidmuse` lays it out, at toy size: the
    checkpoint (`best_state` + the training config as YAML), the CLIP config (the real one
    needs none: ViT-B/32 is the default) and an EnCodec."""
    import torch
    import yaml
    from transformers import EncodecModel

    folder.mkdir(parents=True, exist_ok=True)
    cfg = yaml.safe_dump({"transformer_lm": TINY_LM, "visual_encoder": "clip"})
    torch.save(
        {"best_state": upstream_vidmuse_state(seed), "xp.cfg": cfg}, folder / "state_dict.bin"
    )
    import json

    (folder / "clip_config.json").write_text(json.dumps(TINY_CLIP))
    torch.manual_seed(seed)
    with_random_codebooks(EncodecModel(tiny_encodec_config()), seed).save_pretrained(
        folder / "encodec"
    )
    return folder


def _word_tokenizer(words: list[str]) -> Any:
    """A word-level tokenizer that knows `words` (ids from 3; 0 pad, 1 end, 2 unknown)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocabulary = {"<pad>": 0, "</s>": 1, "<unk>": 2}
    for word in words:
        vocabulary.setdefault(word, len(vocabulary))
    core = Tokenizer(models.WordLevel(vocabulary, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(
        tokenizer_object=core, pad_token="<pad>", eos_token="</s>", unk_token="<unk>"
    )


def _semantic_words() -> list[str]:
    from audio_creator.music import semantic

    text = " ".join(
        [*(" ".join(v) for v in semantic.VOCABULARY.values()),
         *semantic.PICTURE_PROMPT.values(), *semantic.MUSIC_PROMPT.values()]
    ).replace("{}", " ").replace("-", " ")  # fmt: skip
    return sorted(set(text.split()))


def save_tiny_clip(folder: Path, seed: int = 0) -> Path:
    """CLIP (text and vision towers) at toy size, with a tokenizer that knows the semantic
    vocabulary."""
    import torch
    from transformers import CLIPConfig, CLIPModel, CLIPTextConfig, CLIPVisionConfig

    torch.manual_seed(seed)
    words = _semantic_words()
    text = CLIPTextConfig(
        vocab_size=len(words) + 3, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=2, max_position_embeddings=32, pad_token_id=0, bos_token_id=1,
        eos_token_id=1,
    )  # fmt: skip
    vision = CLIPVisionConfig(**{**TINY_CLIP, "hidden_size": 32})
    model = CLIPModel(CLIPConfig(text_config=text.to_dict(), vision_config=vision.to_dict(),
                                 projection_dim=16))  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    _word_tokenizer(words).save_pretrained(folder)
    return folder


def save_tiny_clap(folder: Path, seed: int = 0) -> Path:
    """CLAP (HTSAT audio tower, RoBERTa text tower) at toy size, with its feature extractor."""
    import torch
    from transformers import (
        ClapAudioConfig,
        ClapConfig,
        ClapFeatureExtractor,
        ClapModel,
        ClapTextConfig,
    )

    torch.manual_seed(seed)
    words = _semantic_words()
    audio = ClapAudioConfig(
        spec_size=64, num_mel_bins=16, window_size=4, patch_size=4, depths=[1, 1],
        num_attention_heads=[2, 2], hidden_size=32, patch_embeds_hidden_size=16,
        projection_dim=16, enable_fusion=False,
    )  # fmt: skip
    text = ClapTextConfig(
        vocab_size=len(words) + 3, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, projection_dim=16, max_position_embeddings=64, pad_token_id=0,
    )  # fmt: skip
    model = ClapModel(ClapConfig(text_config=text.to_dict(), audio_config=audio.to_dict(),
                                 projection_dim=16))  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    _word_tokenizer(words).save_pretrained(folder)
    ClapFeatureExtractor(feature_size=16, sampling_rate=48000, max_length_s=2).save_pretrained(
        folder
    )
    return folder
