"""Speed of the neural music backends at full size: seconds of audio made per second.

Builds MusicGen-small (T5-base encoder, a 24-layer 1024-wide decoder, EnCodec 32 kHz) and
VidMuse (CLIP ViT-B/32, the per-frame transformers and fusion, a MusicGen-medium decoder: 48
layers, 1536 wide) with random weights — speed does not depend on the weights' values — and
times, with guidance (cfg 3, batch doubled), top-k 250 sampling:

- stock: transformers' own `generate()` (MusicGen's; for VidMuse the decoder's, given the same
  cross-attention memory), decoding included;
- ours: the project's token loop (`music.neural.tokens`), decoding included; for VidMuse also
  CLIP and the video encoder on the frames (2 fps local, 32 global).

Run: `python bench/neural.py [--seconds 4] [--only musicgen|vidmuse] [--device cpu|cuda]`;
prints JSON. On a GPU the models run in bf16 (fp16 where bf16 is not supported).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from typing import Any

import torch
from transformers import (
    CLIPVisionConfig,
    EncodecConfig,
    EncodecModel,
    MusicgenConfig,
    MusicgenDecoderConfig,
    MusicgenForConditionalGeneration,
    T5Config,
)

from audio_creator.music.backend import Sampling
from audio_creator.music.neural import dtype_for
from audio_creator.music.neural.tokens import Condition, decode, repeat, sample_codes

ENCODEC_32K = {
    "sampling_rate": 32000, "audio_channels": 1, "codebook_size": 2048, "hidden_size": 128,
    "num_filters": 64, "upsampling_ratios": [8, 5, 4, 4], "target_bandwidths": [2.2],
    "num_lstm_layers": 2, "norm_type": "weight_norm", "normalize": False,
    "chunk_length_s": None, "overlap": None, "use_causal_conv": False, "pad_mode": "reflect",
}  # fmt: skip
SMALL = {"hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16, "ffn_dim": 4096}
MEDIUM = {"hidden_size": 1536, "num_hidden_layers": 48, "num_attention_heads": 24, "ffn_dim": 6144}
TINY = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "ffn_dim": 64}


def decoder_config(size: dict[str, int]) -> dict[str, Any]:
    return {**size, "vocab_size": 2048, "num_codebooks": 4, "pad_token_id": 2048,
            "bos_token_id": 2048, "decoder_start_token_id": 2048,
            "max_position_embeddings": 2048}  # fmt: skip


def timed(run: Any, device: Any) -> tuple[float, Any]:
    if device.type == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    result = run()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - started, result


def musicgen(seconds: float, device: Any, dtype: Any) -> dict[str, Any]:
    t5 = T5Config(d_model=768, d_ff=3072, num_layers=12, num_heads=12, d_kv=64, vocab_size=32128)
    config = MusicgenConfig(
        text_encoder=t5.to_dict(), audio_encoder=EncodecConfig(**ENCODEC_32K).to_dict(),
        decoder=MusicgenDecoderConfig(**decoder_config(SMALL)).to_dict(),
    )  # fmt: skip
    model = MusicgenForConditionalGeneration(config).to(device=device, dtype=dtype).eval()
    frames = round(seconds * 50)
    prompt = torch.randint(0, 32000, (1, 12), device=device)
    mask = torch.ones_like(prompt)
    sampling = Sampling()

    def stock() -> Any:
        return model.generate(
            input_ids=prompt, attention_mask=mask, do_sample=True, guidance_scale=3.0,
            top_k=250, max_new_tokens=frames + 3,
        )  # fmt: skip

    def ours(count: int = 1) -> Any:
        states = model.text_encoder(input_ids=prompt, attention_mask=mask).last_hidden_state
        project = model.enc_to_dec_proj
        condition = repeat(Condition(project(states), mask, project(torch.zeros_like(states)),
                                     torch.zeros_like(mask)), count)  # fmt: skip
        generator = torch.Generator(device=device).manual_seed(0)
        codes = sample_codes(model.decoder, lambda *_: condition, frames, sampling, generator,
                             window=1500, overlap=500)  # fmt: skip
        return [decode(model.audio_encoder, codes[row : row + 1]) for row in range(count)]

    result = compare("musicgen-small", seconds, device, stock, ours)
    with torch.inference_mode():  # three rerank candidates in one batch, as `--rerank 3` makes them
        batch_s, _ = timed(lambda: ours(3), device)
    result["ours_3_candidates_in_one_batch"] = {
        "wall_s": round(batch_s, 2),
        "audio_s_per_s": round(3 * seconds / batch_s, 3),
    }
    return result


def vidmuse(seconds: float, device: Any, dtype: Any) -> dict[str, Any]:
    from audio_creator.music.vidmuse.network import VidMuseConfig, VidMuseModel

    size = TINY if seconds < 0.5 else MEDIUM  # (a quick check of the script itself)
    config = VidMuseConfig(decoder=decoder_config(size), clip=CLIPVisionConfig().to_dict())
    model = VidMuseModel(config).to(device=device, dtype=dtype).eval()
    codec = EncodecModel(EncodecConfig(**ENCODEC_32K)).to(device).eval()
    frames = round(seconds * 50)
    local = torch.randn(max(1, round(seconds * 2)), 3, 224, 224, device=device, dtype=dtype)
    overall = torch.randn(32, 3, 224, 224, device=device, dtype=dtype)
    sampling = Sampling()

    def condition() -> Condition:
        """As the backend does it: CLIP once per frame, once for a black frame (the null)."""
        local_tokens = model.video.clip_tokens(local)
        global_tokens = model.video.clip_tokens(overall)
        black = model.video.clip_tokens(overall[:1] * 0)
        memory = model.video(local_tokens[None], global_tokens[None])
        null = model.video(
            black.expand_as(local_tokens)[None], black.expand_as(global_tokens)[None]
        )
        return Condition(memory, None, null, None)

    with torch.inference_mode():
        condition()
        video_s, fixed = timed(condition, device)

    def stock() -> Any:
        bos = torch.full((4, 1), 2048, device=device)
        codes = model.decoder.generate(
            input_ids=bos, encoder_hidden_states=torch.cat([fixed.memory, fixed.null_memory]),
            do_sample=True, guidance_scale=3.0, top_k=250, max_new_tokens=frames + 3,
            num_return_sequences=1,
        )  # fmt: skip
        usable = codes[..., 1 : frames + 1].reshape(1, 4, -1)
        return decode(codec, usable.clamp(max=2047))

    def ours() -> Any:
        generator = torch.Generator(device=device).manual_seed(0)
        codes = sample_codes(model.decoder, lambda *_: fixed, frames, sampling, generator,
                             window=1500, overlap=25)  # fmt: skip
        return decode(codec, codes)

    result = compare("vidmuse (medium decoder)", seconds, device, stock, ours)
    result["video_encoder_s"] = round(video_s, 2)  # CLIP + fusion, once per video window
    return result


def compare(name: str, seconds: float, device: Any, stock: Any, ours: Any) -> dict[str, Any]:
    with torch.inference_mode():
        timed(ours, device)  # warm-up (allocator, kernels): not counted
        ours_peak = peak_rss_gb()  # ours ran first: the peak so far is ours
        stock_s, _ = timed(stock, device)
        stock_peak = peak_rss_gb()
        ours_s, _ = timed(ours, device)

    def figures(wall_s: float) -> dict[str, float]:
        return {"wall_s": round(wall_s, 2), "audio_s_per_s": round(seconds / wall_s, 3)}

    return {"model": name, "audio_s": seconds,
            "stock_generate": {**figures(stock_s), "process_peak_rss_gb": stock_peak},
            "ours": {**figures(ours_s), "process_peak_rss_gb": ours_peak}}  # fmt: skip


def peak_rss_gb() -> float:
    """This process's peak resident memory so far (the model's weights included)."""
    import resource
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1e9 if sys.platform == "darwin" else 1e6), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--only", choices=("musicgen", "vidmuse"), default=None)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument(
        "--dtype", choices=("auto", "float32", "bfloat16", "float16"), default="auto",
        help="auto: what the backends use on that device",
    )  # fmt: skip
    args = parser.parse_args()
    device = torch.device(args.device)
    dtype = dtype_for(device) if args.dtype == "auto" else getattr(torch, args.dtype)
    torch.manual_seed(0)
    hardware = (
        torch.cuda.get_device_name(device) if device.type == "cuda"
        else f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"
    )  # fmt: skip
    results = []
    if args.only in (None, "musicgen"):
        results.append(musicgen(args.seconds, device, dtype))
    if args.only in (None, "vidmuse"):
        results.append(vidmuse(args.seconds, device, dtype))
    print(json.dumps({"device": hardware, "dtype": str(dtype), "torch": torch.__version__,
                      "results": results}, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
