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
    return MusicgenForConditionalGeneration(config).eval()


def save_tiny_musicgen(folder: Path, seed: int = 0) -> Path:
    """The tiny MusicGen saved as a Hugging Face folder, with a word-level tokenizer."""
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
    tiny_musicgen(seed).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
