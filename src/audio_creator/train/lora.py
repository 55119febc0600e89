"""LoRA fine-tuning of a neural music decoder (VidMuse or MusicGen) on video–soundtrack pairs.

manifest → every row checked → the base model, frozen (`music.neural.trainable`: what the loop
needs of it, whichever it is) → features, computed once and cached (`music.neural.features`) →
LoRA layers in its decoder (`music.lora`) → epochs of teacher-forced steps
on the delayed codes, the very sequence generation walks (`tokens.teacher_forcing`), with a
cross-entropy per codebook → the adapter with its metadata, the loss log (CSV and JSON) and its
curve (PNG).

Examples longer than `max_seconds` are cropped, at a random place each epoch; shorter ones are
padded and the padding is masked out of the loss. Each epoch ends with a checkpoint beside the
adapter (`NAME_resume.pt`: the adapter, the optimiser, the log so far) that `resume` carries on
from. Every random choice of an epoch (order, crops, dropout) comes from a seed of (seed,
epoch), so a run that stopped and resumed ends with the adapter of one that never stopped.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from audio_creator.errors import BackendUnavailable, ConfigError, require_finite
from audio_creator.music.lora import DEFAULT_TARGETS
from audio_creator.music.neural.trainable import IMPLEMENTATIONS, TrainableBase, load_trainable
from audio_creator.pairs import MISMATCH_LIMIT_S

logger = logging.getLogger(__name__)

BASES = tuple(IMPLEMENTATIONS)  # the models an adapter can be trained on
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
MAX_GRAD_NORM = 1.0


@dataclass(frozen=True)
class TrainOptions:
    """One training run; checked before anything loads."""

    manifest: Path
    output: Path  # the adapter: a folder, NAME.safetensors or NAME.pt
    base: str = "vidmuse"
    music_model: str | None = None  # the base's weights (name or folder); None: its default
    epochs: int = 1
    rank: int = 4
    alpha: float = 16.0
    lr: float = 5e-4
    batch_size: int = 1
    grad_accum: int = 1
    target_modules: tuple[str, ...] = DEFAULT_TARGETS
    max_seconds: float = 30.0  # of each example per step
    seed: int = 0
    resume: bool = False
    device: str = "auto"
    precision: str = "auto"  # auto: bf16 (else fp16) autocast on a GPU, fp32 on the CPU
    cache_dir: Path | None = None  # default: MODELS/features
    prompt: str | None = None  # musicgen: the description of rows without a `text`
    cond_dropout: float = 0.2  # share of examples seen with the null condition (as audiocraft)
    mismatch_limit_s: float = MISMATCH_LIMIT_S

    def __post_init__(self) -> None:
        from audio_creator.music.lora import check_rank

        require_finite(alpha=self.alpha, lr=self.lr, max_seconds=self.max_seconds)
        check_rank(self.rank, self.alpha)
        if self.base not in BASES:
            raise ConfigError(f"--base must be one of {', '.join(BASES)}, got {self.base}")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"--precision must be one of {', '.join(PRECISIONS)}")
        for name, value in (("--epochs", self.epochs), ("--batch-size", self.batch_size),
                            ("--grad-accum", self.grad_accum)):  # fmt: skip
            if value < 1:
                raise ConfigError(f"{name} must be a whole number ≥ 1, got {value}")
        if not 0 < self.lr <= 1:
            raise ConfigError(f"--lr must be within (0, 1], got {self.lr}")
        if not 0.5 <= self.max_seconds <= 600:
            raise ConfigError(f"--max-seconds must be within 0.5–600, got {self.max_seconds}")
        if self.seed < 0:
            raise ConfigError(f"--seed must be ≥ 0, got {self.seed}")
        if not 0.0 <= self.cond_dropout < 1.0:
            raise ConfigError(f"--cond-dropout must be within [0, 1), got {self.cond_dropout}")
        if not self.target_modules:
            raise ConfigError("--target-modules names no layer")
        if self.output.suffix not in ("", ".safetensors", ".pt"):
            raise ConfigError("--output is a folder, NAME.safetensors or NAME.pt")

    def beside(self, tail: str) -> Path:
        """A file written next to the adapter: `NAME_loss.csv`, `NAME_resume.pt`…"""
        return self.output.parent / f"{self.output.stem}_{tail}"

    def settings(self) -> dict[str, Any]:
        """What a resumed run must share with the run it continues."""
        kept = ("base", "music_model", "rank", "alpha", "lr", "batch_size", "grad_accum",
                "target_modules", "max_seconds", "seed", "precision", "prompt",
                "cond_dropout")  # fmt: skip
        return {key: value for key, value in asdict(self).items() if key in kept}


@dataclass
class TrainResult:
    adapter: Path
    losses: list[float]  # one per optimiser step
    trainable: dict[str, int]  # parameters by the kind of layer they sit in
    metadata: dict[str, Any]
    logs: list[Path] = field(default_factory=list)
    model: Any = None  # the base model with the trained LoRA layers in its decoder


def train(options: TrainOptions, on_epoch: Callable[[int], None] | None = None) -> TrainResult:
    """Train an adapter (see the module docstring); `on_epoch(n)` after epoch n's checkpoint."""
    from audio_creator.music.neural import missing_packages, pick_device

    lack = missing_packages()
    if lack is not None:  # a backend that cannot run here: exit 3, as for the music backends
        raise BackendUnavailable(f"training needs torch and transformers: {lack}")
    import torch

    from audio_creator.files import check_output_path
    from audio_creator.music import lora
    from audio_creator.pairs import read_manifest

    rows = read_manifest(options.manifest, options.mismatch_limit_s)
    inputs = [options.manifest, *(p for row in rows for p in (row.video, row.audio))]
    device = pick_device(options.device)  # before the output checks make any folder
    for tail in ("loss.csv", "loss.json", "loss.png", "resume.pt"):
        check_output_path(options.beside(tail), inputs=inputs)
    if options.output.suffix:
        check_output_path(options.output, inputs=inputs)
    lora.check_replaceable(options.output, tuple(inputs))
    amp = _autocast_dtype(options.precision, device)
    checkpoint = _read_checkpoint(options, amp) if options.resume else None
    if checkpoint is not None and checkpoint["epoch"] >= options.epochs:
        raise ConfigError(f"{options.beside('resume.pt')} has done {checkpoint['epoch']} "
                          "epochs already: give --epochs more than that")  # fmt: skip

    torch.manual_seed(options.seed)
    base = load_trainable(options.base, options.music_model, device)
    names = lora.target_names(base.decoder, options.target_modules)
    peft_config = lora.attach(base.decoder, names, options.rank, options.alpha)
    base.decoder.to(device)
    counts = lora.trainable(base.decoder)
    total = sum(counts.values())
    decoder_size = sum(p.numel() for p in base.decoder.parameters()) - total
    logger.info(
        "LoRA rank %d, alpha %g: %s trainable parameters (%.3f %% of the decoder's %s) in %d "
        "layers: %s", options.rank, options.alpha, f"{total:,}", 100 * total / decoder_size,
        f"{decoder_size:,}", len(names), ", ".join(f"{k} {v:,}" for k, v in counts.items()),
    )  # fmt: skip

    examples = _prepare(options, base, rows, device)
    parameters = [p for p in base.decoder.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(parameters, lr=options.lr, weight_decay=0.0)
    scaler = torch.amp.GradScaler(device.type, enabled=amp == torch.float16)
    log: list[dict[str, Any]] = []
    first_epoch = 0
    if checkpoint is not None:
        lora.load_state(base.decoder, checkpoint["adapter"])
        optimiser.load_state_dict(checkpoint["optimiser"])
        if checkpoint["scaler"]:  # (empty when no scaler was used)
            scaler.load_state_dict(checkpoint["scaler"])
        log, first_epoch = checkpoint["log"], int(checkpoint["epoch"])
        logger.info("resuming after epoch %d (step %d)", first_epoch, len(log))

    batches = math.ceil(len(examples) / options.batch_size)
    bar = _progress_bar(options.epochs * batches, first_epoch * batches)
    logs: list[Path] = []
    for epoch in range(first_epoch, options.epochs):
        started = time.perf_counter()
        done = _epoch(options, base, examples, epoch, optimiser, scaler, amp, device, bar)
        log += done
        logger.info(
            "epoch %d/%d: mean loss %.4f over %d steps (%.1f s)", epoch + 1, options.epochs,
            sum(r["loss"] for r in done) / len(done), len(done), time.perf_counter() - started,
        )  # fmt: skip
        _save_checkpoint(options, base, optimiser, scaler, amp, log, epoch + 1)
        logs = _write_logs(options, log)  # after every epoch: a crash keeps the log so far
        if on_epoch is not None:
            on_epoch(epoch + 1)
    bar.close()

    losses = [row["loss"] for row in log]
    metadata = _metadata(options, base, peft_config, names, counts, decoder_size, rows, losses)
    adapter = lora.save(options.output, lora.adapter_state(base.decoder), metadata)
    logger.info("wrote %s (loss %.3f → %.3f over %d steps)", adapter, losses[0], losses[-1],
                len(losses))  # fmt: skip
    return TrainResult(adapter, losses, counts, metadata, logs, base.model)


# ------------------------------------------------------------------------------------ the steps


def _epoch(
    options: TrainOptions, base: TrainableBase, examples: list[Any], epoch: int, optimiser: Any,
    scaler: Any, amp: Any, device: Any, bar: Any,
) -> list[dict[str, Any]]:  # fmt: skip
    """One pass over the examples, in an order (and with crops) of this epoch's own seed."""
    import torch

    seed = options.seed * 100_003 + epoch
    torch.manual_seed(seed)  # dropout
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(examples), generator=generator).tolist()
    batches = [order[i : i + options.batch_size] for i in range(0, len(order), options.batch_size)]
    divisors = accumulation_divisors(len(batches), options.grad_accum)
    base.decoder.train()
    rows: list[dict[str, Any]] = []
    group: list[torch.Tensor] = []
    for index, batch in enumerate(batches):
        crops = [_crop(examples[i], options, generator) for i in batch]
        context = torch.autocast(device.type, dtype=amp) if amp else contextlib.nullcontext()
        with context:
            loss, per_book = batch_loss(base, crops, device)
        scaler.scale(loss / divisors[index]).backward()
        group.append(torch.stack([loss.detach(), *[b.detach() for b in per_book]]))
        if len(group) == options.grad_accum or index == len(batches) - 1:
            scaler.unscale_(optimiser)
            parameters = [p for p in base.decoder.parameters() if p.requires_grad]
            torch.nn.utils.clip_grad_norm_(parameters, MAX_GRAD_NORM)
            scaler.step(optimiser)
            scaler.update()
            optimiser.zero_grad(set_to_none=True)
            mean = torch.stack(group).float().mean(dim=0).tolist()
            rows.append({"epoch": epoch + 1, "step": 0, "loss": mean[0], "codebooks": mean[1:]})
            group = []
            bar.set_postfix(epoch=epoch + 1, loss=f"{mean[0]:.3f}")
        bar.update(1)
    base.decoder.eval()
    return rows


def accumulation_divisors(batches: int, accumulate: int) -> list[int]:
    """What each batch's loss is divided by: the size of its accumulation group, so that every
    optimiser step sees a mean gradient — the epoch's last group may be short."""
    return [min(accumulate, batches - (i - i % accumulate)) for i in range(batches)]


@dataclass(frozen=True)
class Crop:
    example: Any
    start: int  # first frame of codes
    frames: int
    null: bool = False  # seen with the null condition, as guidance's unconditional branch

    @property
    def seconds(self) -> tuple[float, float]:
        rate = self.example.frame_rate
        return self.start / rate, (self.start + self.frames) / rate


def _crop(example: Any, options: TrainOptions, generator: Any) -> Crop:
    """A random stretch of at most `max_seconds`; with probability `cond_dropout` it is seen
    with the null condition (a black video, an empty text), so that the adapted model still
    answers the unconditional half of classifier-free guidance."""
    import torch

    null = bool(torch.rand(1, generator=generator) < options.cond_dropout)
    longest = max(1, round(options.max_seconds * example.frame_rate))
    if example.frames <= longest:
        return Crop(example, 0, example.frames, null)
    start = int(torch.randint(0, example.frames - longest + 1, (1,), generator=generator))
    return Crop(example, start, longest, null)


def batch_loss(base: TrainableBase, crops: list[Crop], device: Any) -> tuple[Any, list[Any]]:
    """`token_loss` of a batch of crops, with their conditions."""
    import torch

    pad, books = int(base.decoder.config.pad_token_id), int(base.decoder.num_codebooks)
    longest = max(c.frames for c in crops)
    codes = torch.full((len(crops), books, longest), pad, dtype=torch.long)
    for row, crop in enumerate(crops):
        codes[row, :, : crop.frames] = crop.example.codes[:, crop.start : crop.start + crop.frames]
    lengths = torch.tensor([c.frames for c in crops])
    memory, mask = condition(base, crops, device)
    return token_loss(base.decoder, codes.to(device), lengths.to(device), memory, mask)


def token_loss(
    decoder: Any, codes: Any, lengths: Any, memory: Any, mask: Any
) -> tuple[Any, list[Any]]:
    """The mean over codebooks of each codebook's cross-entropy on the delayed targets (padding
    and the pattern's corners left out), and the per-codebook losses. `codes` [B, K, n], of
    which row b holds `lengths[b]` real frames; `memory` [B, tokens, width] and its `mask`."""
    import torch

    from audio_creator.music.neural.tokens import lags, teacher_forcing

    pad, books = int(decoder.config.pad_token_id), int(decoder.num_codebooks)
    inputs, targets, valid = teacher_forcing(codes, lengths, pad, lags(decoder.config))
    batch, _, length = inputs.shape
    out = decoder(
        input_ids=inputs.reshape(batch * books, length), encoder_hidden_states=memory,
        encoder_attention_mask=mask,
    )  # fmt: skip
    logits = out.logits.view(batch, books, length, -1).float()
    labels = targets.masked_fill(~valid, -100)  # cross_entropy's ignored label
    per_book = [
        torch.nn.functional.cross_entropy(
            logits[:, k].reshape(-1, logits.shape[-1]), labels[:, k].reshape(-1)
        )
        for k in range(books)
    ]
    return torch.stack(per_book).mean(), per_book


def condition(base: TrainableBase, crops: list[Crop], device: Any) -> tuple[Any, Any]:
    """The decoder's cross-attention memory for each crop (padded to the longest, masked)."""
    import torch

    dtype = next(base.decoder.parameters()).dtype
    memories, masked = [], []
    with torch.no_grad():  # the encoders are frozen
        for crop in crops:
            memory, hidden = base.memory(crop.example, crop.seconds, crop.null, device, dtype)
            memories.append(memory)
            masked.append(hidden)
    longest = max(m.shape[0] for m in memories)
    memory = torch.zeros(len(memories), longest, memories[0].shape[-1], device=device, dtype=dtype)
    mask = torch.zeros(len(memories), longest, dtype=torch.long, device=device)
    for row, (m, hidden) in enumerate(zip(memories, masked, strict=True)):
        memory[row, : m.shape[0]], mask[row, : m.shape[0]] = m, 0 if hidden else 1
    return memory, mask


# ---------------------------------------------------------------------------------------- features


def _prepare(options: TrainOptions, base: TrainableBase, rows: list[Any], device: Any) -> list[Any]:
    """Every row's features (from the cache when they are there), before the first step."""
    from audio_creator import models
    from audio_creator.music.neural.features import Cache

    cache = Cache(options.cache_dir or models.models_dir() / "features")
    started = time.perf_counter()
    examples = []
    for row in rows:
        made = base.example(cache, row, options.prompt, device)
        if made.codes.shape[0] != base.decoder.num_codebooks:
            raise ConfigError(f"EnCodec gives {made.codes.shape[0]} codebooks; the decoder "
                              f"predicts {base.decoder.num_codebooks}")  # fmt: skip
        examples.append(made)
    logger.info(
        "features of %d pairs ready in %.1f s (%d from the cache in %s)",
        len(examples), time.perf_counter() - started, cache.hits, cache.folder,
    )  # fmt: skip
    return examples


def _autocast_dtype(precision: str, device: Any) -> Any:
    import torch

    if precision == "auto":
        if device.type != "cuda":
            return None
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]


def _progress_bar(total: int, done: int) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=done, unit="batch", desc="training", disable=None)


# ------------------------------------------------------------------------------ what is written


def _read_checkpoint(options: TrainOptions, amp: Any) -> dict[str, Any]:
    import torch

    path = options.beside("resume.pt")
    if not path.is_file():
        raise ConfigError(f"--resume: no checkpoint {path} (it is written after each epoch)")
    try:
        saved: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=True)
        lacking = {"settings", "epoch", "log", "adapter", "optimiser", "scaler"} - set(saved)
        if lacking:
            raise KeyError(", ".join(sorted(lacking)))
    except Exception as exc:  # truncated, not a torch file, another kind of file
        raise ConfigError(f"--resume: {path} is not a training checkpoint ({exc})") from exc
    differ = {k for k, v in options.settings().items() if saved["settings"].get(k) != _plain(v)}
    if saved.get("autocast") != str(amp):
        differ.add(f"precision (it ran {saved.get('autocast')}, this would run {amp})")
    if differ or saved.get("manifest") != _sha256(options.manifest):
        what = ", ".join(sorted(differ)) or "the manifest"
        raise ConfigError(f"--resume: {path} was made with another {what}; train afresh")
    return saved


def _save_checkpoint(
    options: TrainOptions, base: TrainableBase, optimiser: Any, scaler: Any, amp: Any,
    log: list[dict[str, Any]], epochs: int,
) -> None:  # fmt: skip
    import torch

    from audio_creator.files import atomic_output
    from audio_creator.music import lora

    saved = {
        "settings": {k: _plain(v) for k, v in options.settings().items()},
        "manifest": _sha256(options.manifest), "epoch": epochs, "log": log, "autocast": str(amp),
        "adapter": lora.adapter_state(base.decoder), "optimiser": optimiser.state_dict(),
        "scaler": scaler.state_dict(),
    }  # fmt: skip
    with atomic_output(options.beside("resume.pt")) as temporary:
        torch.save(saved, temporary)


def _write_logs(options: TrainOptions, log: list[dict[str, Any]]) -> list[Path]:
    """The loss per optimiser step as CSV and JSON, and its curve as PNG."""
    import csv
    import json

    from audio_creator.files import atomic_output

    for step, row in enumerate(log, start=1):
        row["step"] = step
    books = len(log[0]["codebooks"]) if log else 0
    paths = [options.beside("loss.csv"), options.beside("loss.json"), options.beside("loss.png")]
    with atomic_output(paths[0]) as temporary, temporary.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["epoch", "step", "loss", *(f"codebook_{k + 1}" for k in range(books))])
        for row in log:
            writer.writerow([row["epoch"], row["step"], f"{row['loss']:.6f}",
                             *(f"{x:.6f}" for x in row["codebooks"])])  # fmt: skip
    with atomic_output(paths[1]) as temporary:
        temporary.write_text(json.dumps({"steps": log}, indent=1), encoding="utf-8")
    with atomic_output(paths[2]) as temporary:
        _plot(log, temporary)
    return paths


def _plot(log: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    steps = np.array([row["step"] for row in log])
    loss = np.array([row["loss"] for row in log])
    figure, axes = plt.subplots(figsize=(8, 4.5), dpi=100)
    try:
        axes.plot(steps, loss, color="#9ab", linewidth=1, label="loss per step")
        width = max(1, len(loss) // 20)
        if len(loss) > width > 1:
            smooth = np.convolve(loss, np.ones(width) / width, mode="valid")
            axes.plot(steps[width - 1 :], smooth, color="#135", linewidth=2,
                      label=f"mean of {width}")  # fmt: skip
        for row, after in itertools.pairwise(log):
            if after["epoch"] != row["epoch"]:
                axes.axvline(row["step"] + 0.5, color="#ccc", linewidth=0.8)
        axes.set_xlabel("optimiser step (epochs: grey lines)")
        axes.set_ylabel("cross-entropy per codebook (nats)")
        axes.legend()
        figure.tight_layout()
        figure.savefig(path, format="png")
    finally:
        plt.close(figure)


def _metadata(
    options: TrainOptions, base: TrainableBase, peft_config: Any, names: list[str],
    counts: dict[str, int], decoder_size: int, rows: list[Any], losses: list[float],
) -> dict[str, Any]:  # fmt: skip
    import datetime

    from audio_creator import __version__
    from audio_creator.music.lora import config_hash

    return {
        "base": {"kind": base.kind, "model": base.folder.name, "path": str(base.folder),
                 "config_hash": config_hash(base.decoder.config)},
        "peft": {"peft_type": "LORA", "r": options.rank, "lora_alpha": options.alpha,
                 "target_modules": names, "lora_dropout": 0.0, "bias": "none",
                 "base_model_name_or_path": str(base.folder),
                 "fan_in_fan_out": bool(peft_config.fan_in_fan_out)},
        "targets": list(options.target_modules),
        "trainable": {"parameters": sum(counts.values()), "by_module": counts,
                      "layers": len(names), "decoder_parameters": decoder_size},
        "training": {"epochs": options.epochs, "steps": len(losses), "lr": options.lr,
                     "batch_size": options.batch_size, "grad_accum": options.grad_accum,
                     "max_seconds": options.max_seconds, "seed": options.seed,
                     "cond_dropout": options.cond_dropout,
                     "precision": options.precision, "first_loss": losses[0],
                     "final_loss": losses[-1]},
        "data": {"manifest": str(options.manifest), "manifest_sha256": _sha256(options.manifest),
                 "pairs": len(rows), "seconds": round(sum(r.duration_s for r in rows), 3),
                 "videos": [r.video.name for r in rows[:100]]},
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "audio_creator": __version__,
    }  # fmt: skip


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value
