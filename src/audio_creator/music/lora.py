"""LoRA adapters for the neural music decoders: where they go, how they are stored, how they
are baked into a model.

An adapter adds to a linear layer's weight W the low-rank product (alpha / rank) · B · A, and
only A and B are trained. Training attaches them with `peft`; inference needs no `peft`: the
products are added into the weights once when the model loads (`merge_into`), scaled by
`--lora-scale` (0 leaves the base model exactly as it was), so generation costs what it did.

An adapter is stored in one of three forms, chosen by the output's name:

- a folder (no suffix): `adapter_model.safetensors` and `adapter_config.json` as `peft` writes
  them for the decoder, and `audio_creator.json`, the metadata;
- `NAME.safetensors`: the same tensors, the metadata in the file's header;
- `NAME.pt`: a torch file holding both (the original project's form).

The metadata says which model the adapter belongs to (its kind, name and a hash of the
decoder's architecture), its rank, alpha and target modules, how many parameters it trains and
where, and what it was trained on. An adapter is only ever merged into the model it was made
for.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from audio_creator.errors import ConfigError, MediaError

logger = logging.getLogger(__name__)

# The decoder's self- and cross-attention projections and its feed-forward layers (names inside
# a MusicgenDecoderLayer). Never the frozen encoders: adapters only ever go into the decoder.
DEFAULT_TARGETS = ("q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2")
PREFIX = "base_model.model."  # peft's prefix in a saved adapter's tensor names
METADATA = "audio_creator.json"
FORMAT = 1

# The decoder's shape: what an adapter's tensors must fit.
_SHAPE_KEYS = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
               "ffn_dim", "num_codebooks", "audio_channels")  # fmt: skip


def config_hash(config: Any) -> str:
    """A short hash of a decoder config's architecture (the fields that shape its weights)."""
    fields = {key: getattr(config, key, None) for key in _SHAPE_KEYS}
    text = json.dumps(fields, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def target_names(decoder: Any, targets: tuple[str, ...] | list[str]) -> list[str]:
    """The full names of the decoder's linear layers that `targets` name: a layer's own name
    (`q_proj`), a dotted tail of it (`encoder_attn.q_proj`) or its full name. A target that
    names nothing is an error that lists what there is."""
    import torch

    linear = [name for name, m in decoder.named_modules() if isinstance(m, torch.nn.Linear)]
    chosen: list[str] = []
    for target in targets:
        hits = [n for n in linear if n == target or n.endswith("." + target)]
        if not hits:
            tails = sorted({n.rsplit(".", 1)[-1] for n in linear})
            raise ConfigError(
                f"--target-modules: no linear layer of the decoder is called {target!r} "
                f"(there are: {', '.join(tails)})"
            )
        chosen += [n for n in hits if n not in chosen]
    return sorted(chosen, key=linear.index)


def attach(decoder: Any, names: list[str], rank: int, alpha: float) -> Any:
    """Add fresh LoRA layers (A random, B zero: the model's output is unchanged until it
    trains) to the decoder's layers `names`; everything else in the decoder is frozen. Returns
    the peft config."""
    from peft import LoraConfig, inject_adapter_in_model

    check_rank(rank, alpha)
    config = LoraConfig(
        r=rank,
        lora_alpha=alpha,  # type: ignore[arg-type]  # typed int; peft only divides it by r
        target_modules=names,
        lora_dropout=0.0,
    )
    decoder.requires_grad_(False)
    inject_adapter_in_model(config, decoder)
    return config


def check_rank(rank: int, alpha: float) -> None:
    if rank <= 0:
        raise ConfigError(f"--rank must be a whole number ≥ 1, got {rank}")
    if not alpha > 0:
        raise ConfigError(f"--alpha must be positive, got {alpha}")


def trainable(decoder: Any) -> dict[str, int]:
    """Trainable parameters by the kind of layer they sit in (`self_attn.q_proj`, `fc1`…)."""
    counts: dict[str, int] = {}
    for name, parameter in decoder.named_parameters():
        if parameter.requires_grad:
            parts = name.split(".")
            at = next((i for i, p in enumerate(parts) if p.startswith("lora_")), len(parts))
            kind = ".".join(p for p in parts[:at][-2:] if not p.isdigit())
            counts[kind] = counts.get(kind, 0) + parameter.numel()
    return counts


def adapter_state(decoder: Any) -> dict[str, Any]:
    """The adapter's tensors (A and B of every layer), named as peft saves them, on the CPU."""
    from peft import get_peft_model_state_dict

    state = get_peft_model_state_dict(decoder)
    return {PREFIX + name: t.detach().float().cpu().contiguous() for name, t in state.items()}


def load_state(decoder: Any, state: dict[str, Any]) -> None:
    """Put saved adapter tensors back into a decoder that `attach` prepared (to resume)."""
    from peft import set_peft_model_state_dict

    result = set_peft_model_state_dict(
        decoder, {name.removeprefix(PREFIX): t for name, t in state.items()}
    )
    unexpected = getattr(result, "unexpected_keys", [])
    if unexpected:
        raise ConfigError(f"the adapter does not fit this decoder: {unexpected[:3]}")


def save(path: str | os.PathLike[str], state: dict[str, Any], metadata: dict[str, Any]) -> Path:
    """Write an adapter whole or not at all (see the module docstring for the three forms)."""
    import torch
    from safetensors.torch import save_file

    out = Path(path)
    check_replaceable(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    metadata = {"format": FORMAT, **metadata}
    text = json.dumps(metadata, indent=2, sort_keys=True)
    if out.suffix in (".safetensors", ".pt"):
        from audio_creator.files import atomic_output

        with atomic_output(out) as temporary:
            if out.suffix == ".pt":
                torch.save({"state": state, "metadata": metadata}, temporary)
            else:
                save_file(state, temporary, metadata={METADATA: text})
        return out
    if out.suffix:
        raise ConfigError(f"an adapter is a folder, NAME.safetensors or NAME.pt, not {out.name}")
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}."))
    try:
        save_file(state, staging / "adapter_model.safetensors")
        (staging / "adapter_config.json").write_text(
            json.dumps(metadata["peft"], indent=2), encoding="utf-8"
        )
        (staging / METADATA).write_text(text, encoding="utf-8")
        if out.is_dir():
            shutil.rmtree(out)
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out


def check_replaceable(out: Path, inputs: tuple[Path, ...] = ()) -> None:
    """Refuse an adapter output that would replace anything but an earlier adapter: a folder
    of other files (a folder output replaces the folder), a file where a folder is meant, or
    a place holding one of `inputs`."""
    if (out.is_file() and not out.suffix) or (out.is_dir() and out.suffix):
        raise MediaError(f"{out} exists and is not an adapter of the form its name asks for")
    if out.is_dir() and any(out.iterdir()) and not (out / METADATA).is_file():
        raise MediaError(f"{out} is a folder that holds other files than an adapter: give a new "
                         "name (an adapter folder replaces what is there)")  # fmt: skip
    resolved = out.resolve()
    for given in inputs:
        if given.resolve() == resolved or resolved in given.resolve().parents:
            raise MediaError(f"the adapter {out} would replace the input {given}")


def read(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(tensors, metadata) of a saved adapter, in any of its forms."""
    import torch
    from safetensors import safe_open
    from safetensors.torch import load_file

    where = Path(path)
    if not where.exists():
        raise MediaError(f"LoRA adapter not found: {where}")
    try:
        if where.is_dir():
            state = load_file(where / "adapter_model.safetensors")
            metadata = json.loads((where / METADATA).read_text(encoding="utf-8"))
        elif where.suffix == ".pt":
            saved = torch.load(where, map_location="cpu", weights_only=True)
            state, metadata = saved["state"], saved["metadata"]
        else:
            with safe_open(str(where), framework="pt") as f:
                header = f.metadata() or {}
            state, metadata = load_file(where), json.loads(header[METADATA])
    except Exception as exc:  # damaged or foreign files fail in many ways (pickle, safetensors…)
        raise MediaError(f"{where} is not an audio-creator LoRA adapter ({exc})") from exc
    return state, metadata


def check_base(metadata: dict[str, Any], kind: str, config: Any, where: Path) -> None:
    """Refuse an adapter that was made for another model."""
    made_for = metadata.get("base", {})
    if made_for.get("kind") != kind:
        raise ConfigError(
            f"{where} is an adapter for the {made_for.get('kind')} backend "
            f"({made_for.get('model')}), not for {kind}"
        )
    if made_for.get("config_hash") != config_hash(config):
        raise ConfigError(
            f"{where} was trained on {made_for.get('model')}, whose decoder has another shape "
            f"than this {kind} model's; train an adapter for this model"
        )


def kind_of(path: str | os.PathLike[str]) -> str:
    """The backend an adapter was made for (`vidmuse` or `musicgen`)."""
    _, metadata = read(path)
    return str(metadata.get("base", {}).get("kind"))


def check_kind(path: str | os.PathLike[str], kind: str) -> None:
    """Refuse at once (before any model loads) an adapter missing, unreadable or made for
    another backend; the decoder's shape is checked when it loads."""
    made_for = kind_of(path)
    if made_for != kind:
        raise ConfigError(f"{path} is an adapter for the {made_for} backend, not for {kind}")


def merge_into(decoder: Any, state: dict[str, Any], metadata: dict[str, Any], scale: float) -> int:
    """Add each adapted layer's scale · (alpha / rank) · B · A into its weight (in float32,
    then back to the weight's dtype). Returns the number of layers changed."""
    import torch

    peft = metadata["peft"]
    factor = scale * float(peft["lora_alpha"]) / int(peft["r"])
    modules = dict(decoder.named_modules())
    changed = 0
    for name in sorted(n for n in state if n.endswith(".lora_A.weight")):
        layer = name.removeprefix(PREFIX).removesuffix(".lora_A.weight")
        target = modules.get(layer)
        up = state.get(name.replace(".lora_A.", ".lora_B."))
        if target is None or up is None or not isinstance(target, torch.nn.Linear):
            raise ConfigError(f"the adapter names a layer this decoder does not have: {layer}")
        delta = up.float() @ state[name].float()
        if delta.shape != target.weight.shape:
            raise ConfigError(f"the adapter's {layer} has shape {tuple(delta.shape)}, "
                              f"the decoder's {tuple(target.weight.shape)}")  # fmt: skip
        if factor != 0.0:
            with torch.no_grad():
                weight = target.weight.float() + factor * delta.to(target.weight.device)
                target.weight.copy_(weight.to(target.weight.dtype))
        changed += 1
    return changed


def load_into(decoder: Any, path: str | os.PathLike[str], kind: str, scale: float = 1.0) -> None:
    """Merge the adapter at `path` into `decoder` (of the `kind` backend), scaled."""
    if not 0.0 <= scale <= 4.0:  # (NaN fails this too)
        raise ConfigError(f"--lora-scale must be within 0–4, got {scale}")
    where = Path(path)
    state, metadata = read(where)
    check_base(metadata, kind, decoder.config, where)
    count = merge_into(decoder, state, metadata, scale)
    logger.info(
        "LoRA adapter %s (rank %s, alpha %s) merged into %d layers at scale %g",
        where, metadata["peft"]["r"], metadata["peft"]["lora_alpha"], count, scale,
    )  # fmt: skip
