"""Time and memory of one LoRA training step at full size (random weights: the cost does not
depend on their values), ours beside the stock transformers + peft step.

A decoder of MusicGen-small's shape (24 layers, 1024 wide) or MusicGen-medium's (48 × 1536, the
VidMuse decoder), LoRA rank 4 on the default targets (self- and cross-attention q/k/v/out,
fc1, fc2), `--seconds` of 50 Hz codes per example and a cross-attention memory like the real
one (VidMuse: 50 CLIP tokens per local frame at 2 fps; MusicGen: 24 T5 tokens). One step is
forward, backward, gradient clipping (ours) and an AdamW update:

- ours: `train.lora.token_loss` (teacher forcing on the delay pattern, per-codebook masked
  cross-entropy) on a decoder whose adapters `music.lora.attach` put in;
- stock: `peft.get_peft_model` and the decoder's own loss from `labels` (the same targets).

Run: `python bench/train_step.py [--size small|medium] [--seconds 10] [--batch 1,4]
[--precision fp32,bf16] [--device cpu|cuda]`; prints one JSON line per case. bf16 is autocast
(on a CPU it needs AMX or AVX-512 BF16 to be fast).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import resource
import subprocess
import sys
import time
from typing import Any

import torch
from transformers import MusicgenDecoderConfig, MusicgenForCausalLM

from audio_creator.music import lora
from audio_creator.music.neural.tokens import lags, teacher_forcing
from audio_creator.train.lora import token_loss

SIZES = {
    "small": {"hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16,
              "ffn_dim": 4096},
    "medium": {"hidden_size": 1536, "num_hidden_layers": 48, "num_attention_heads": 24,
               "ffn_dim": 6144},
}  # fmt: skip


def decoder(size: str, device: Any) -> Any:
    config = MusicgenDecoderConfig(
        **SIZES[size], vocab_size=2048, num_codebooks=4, pad_token_id=2048, bos_token_id=2048,
        decoder_start_token_id=2048, max_position_embeddings=4096, dropout=0.0,
    )  # fmt: skip
    torch.manual_seed(0)
    return MusicgenForCausalLM(config).to(device)


def case(
    name: str, size: str, seconds: float, batch: int, precision: str, device: Any, repeat: int
) -> dict[str, Any]:
    """One implementation's step time and peak memory (run alone in its process, so that the
    peak is its own)."""
    frames, memory_tokens = round(seconds * 50), (round(seconds * 2) * 50 if size == "medium"
                                                  else 24)  # fmt: skip
    width = SIZES[size]["hidden_size"]
    g = torch.Generator().manual_seed(1)
    codes = torch.randint(0, 2048, (batch, 4, frames), generator=g).to(device)
    lengths = torch.full((batch,), frames, device=device)
    memory = torch.randn(batch, memory_tokens, width, generator=g).to(device)
    mask = torch.ones(batch, memory_tokens, dtype=torch.long, device=device)
    amp = torch.bfloat16 if precision == "bf16" else None
    model = decoder(size, device)
    if name == "ours":
        names = lora.target_names(model, lora.DEFAULT_TARGETS)
        lora.attach(model, names, 4, 16.0)

        def loss(model: Any = model) -> Any:
            return token_loss(model, codes, lengths, memory, mask)[0]
    else:
        from peft import LoraConfig, get_peft_model

        config = LoraConfig(r=4, lora_alpha=16, target_modules=list(lora.DEFAULT_TARGETS))
        model = get_peft_model(model, config)
        inputs, targets, _ = teacher_forcing(codes, lengths, 2048, lags(model.config))

        def loss(model: Any = model, inputs: Any = inputs, targets: Any = targets) -> Any:
            return model(
                input_ids=inputs.reshape(batch * 4, -1), encoder_hidden_states=memory,
                encoder_attention_mask=mask, labels=targets.transpose(1, 2),
            ).loss  # fmt: skip

    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(trainable, lr=1e-4)

    def step(loss: Any = loss, trainable: Any = trainable, optimiser: Any = optimiser) -> None:
        context = torch.autocast(device.type, dtype=amp) if amp else contextlib.nullcontext()
        with context:
            value = loss()
        value.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimiser.step()
        optimiser.zero_grad(set_to_none=True)

    step()  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - started)
    peak = (torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda"
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20)  # fmt: skip
    return {"s_per_step": round(min(times), 3), "peak_gib": round(peak, 2),
            "trainable": sum(p.numel() for p in trainable)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", choices=tuple(SIZES), default="small")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--batch", default="1,4")
    parser.add_argument("--precision", default="fp32,bf16")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--one", choices=("stock", "ours"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    device = torch.device(args.device)
    if args.one:  # a child: one case
        found = case(args.one, args.size, args.seconds, int(args.batch), args.precision, device,
                     args.repeat)  # fmt: skip
        print(json.dumps(found))
        return
    where = torch.cuda.get_device_name() if device.type == "cuda" else platform.processor()
    for batch in args.batch.split(","):
        for precision in args.precision.split(","):
            row: dict[str, Any] = {
                "size": args.size,
                "seconds": args.seconds,
                "batch": int(batch),
                "precision": precision,
                "device": where or device.type,
            }
            for name in ("stock", "ours"):
                child = subprocess.run(
                    [sys.executable, __file__, "--one", name, "--size", args.size, "--seconds",
                     str(args.seconds), "--batch", batch, "--precision", precision, "--device",
                     args.device, "--repeat", str(args.repeat)],
                    check=True, capture_output=True, text=True,
                )  # fmt: skip
                row[name] = json.loads(child.stdout.strip().splitlines()[-1])
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
