"""The published VidMuse checkpoint → `network.VidMuseModel`.

The checkpoint (`state_dict.bin`) is a dict with `best_state` (audiocraft parameter names) and
`xp.cfg` (the training configuration, YAML). Every upstream name is matched by an exact rule —
a prefix that ends at a dot, then an exact suffix — never by substring, so that `emb` cannot
catch `local_pos_embedding` nor `transformer` the temporal transformers. Fused attention
projections (`in_proj_weight`) are split into q, k and v. Any upstream key no rule takes, and
any parameter of ours nothing filled, is an error that names them.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from audio_creator.errors import ConfigError, MediaError

# Inside a decoder layer: upstream suffix → ours (MusicgenDecoderLayer).
_LAYER = {
    "self_attn.out_proj.weight": "self_attn.out_proj.weight",
    "cross_attention.out_proj.weight": "encoder_attn.out_proj.weight",
    "linear1.weight": "fc1.weight",
    "linear2.weight": "fc2.weight",
    **{f"norm1.{p}": f"self_attn_layer_norm.{p}" for p in ("weight", "bias")},
    **{f"norm2.{p}": f"final_layer_norm.{p}" for p in ("weight", "bias")},
    **{f"norm_cross.{p}": f"encoder_attn_layer_norm.{p}" for p in ("weight", "bias")},
}
_FUSED = {"self_attn.in_proj_weight": "self_attn", "cross_attention.in_proj_weight": "encoder_attn"}
# Inside a per-frame transformer: upstream (layers.N.0 attention, layers.N.1 feed-forward).
_FRAME = {
    **{f"0.norm.{p}": f"attention_norm.{p}" for p in ("weight", "bias")},
    "0.fn.to_qkv.weight": "attention.qkv.weight",
    **{f"0.fn.to_out.0.{p}": f"attention.out.{p}" for p in ("weight", "bias")},
    **{f"1.norm.{p}": f"feed_forward_norm.{p}" for p in ("weight", "bias")},
    **{f"1.fn.net.0.{p}": f"feed_forward.0.{p}" for p in ("weight", "bias")},
    **{f"1.fn.net.3.{p}": f"feed_forward.2.{p}" for p in ("weight", "bias")},
}
_FUSION = {"query": "query", "key": "key", "value": "value", "final_linear": "out",
           "norm1": "norm_attended", "norm2": "norm_out"}  # fmt: skip
_EXACT = {
    "local_pos_embedding": "video.local_position",
    "global_pos_embedding": "video.global_position",
    "visual_feature_proj.weight": "video.to_decoder.weight",
    "visual_feature_proj.bias": "video.to_decoder.bias",
    "out_norm.weight": "decoder.model.decoder.layer_norm.weight",
    "out_norm.bias": "decoder.model.decoder.layer_norm.bias",
}
# Ours that no checkpoint holds: computed when the model is built.
_COMPUTED = ("decoder.model.decoder.embed_positions.weights",)


def read_checkpoint(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(state, training configuration) of an upstream `state_dict.bin`."""
    import torch
    import yaml

    try:
        saved = torch.load(Path(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # a pickle that is not one, a truncated file
        raise MediaError(f"{path} is not a VidMuse checkpoint: {exc}") from None
    if not isinstance(saved, dict) or "best_state" not in saved:
        raise MediaError(f"{path} holds no 'best_state': not a VidMuse checkpoint")
    state = saved["best_state"]
    state = state.get("model", state) if isinstance(state.get("model"), dict) else state
    cfg = saved.get("xp.cfg") or {}
    config = yaml.safe_load(cfg) if isinstance(cfg, str) else dict(cfg)
    return state, config or {}


def config_from_upstream(cfg: dict[str, Any], clip: dict[str, Any] | None = None) -> Any:
    """Our `VidMuseConfig` from the upstream training configuration."""
    from audio_creator.music.vidmuse.network import VidMuseConfig

    lm = dict(cfg.get("transformer_lm") or {})
    card, dim = int(lm.get("card", 2048)), int(lm.get("dim", 1536))
    decoder = {
        "vocab_size": card, "hidden_size": dim, "num_hidden_layers": int(lm.get("num_layers", 48)),
        "num_attention_heads": int(lm.get("num_heads", 24)),
        "ffn_dim": int(float(lm.get("hidden_scale", 4)) * dim),
        "num_codebooks": int(lm.get("n_q", 4)), "pad_token_id": card, "bos_token_id": card,
        "decoder_start_token_id": card, "max_position_embeddings": 4096,
        "activation_function": "gelu", "audio_channels": 1,
        "dropout": float(lm.get("dropout", 0.0)),  # audiocraft's default (transformers': 0.1)
    }  # fmt: skip
    return VidMuseConfig(
        decoder=decoder,
        clip=clip or {},
        frame_depth=int(lm.get("depth", 2)),
        frame_head_dim=int(lm.get("dim_head", 64)),
        frame_hidden_scale=int(lm.get("hidden_scale", 4)),
    )


def convert(state: dict[str, Any]) -> dict[str, Any]:
    """Upstream names and tensors → ours. ConfigError naming every key no rule takes."""
    out: dict[str, Any] = {}
    unmatched: list[str] = []
    for name, tensor in state.items():
        taken = rename_upstream(name, tensor)
        if taken is None:
            unmatched.append(name)
        else:
            out.update(taken)
    if unmatched:
        shown = ", ".join(sorted(unmatched)[:12]) + (" …" if len(unmatched) > 12 else "")
        raise ConfigError(
            f"{len(unmatched)} checkpoint parameter(s) fit no part of VidMuse: {shown}"
        )
    return out


def load_converted(model: Any, state: dict[str, Any]) -> None:
    """Fill `model` with converted `state`; ConfigError naming anything left over or unfilled."""
    import torch

    ours = convert(state)
    expected = model.state_dict()
    wrong = [
        f"{k} {tuple(v.shape)} ≠ {tuple(expected[k].shape)}"
        for k, v in ours.items()
        if k in expected and tuple(v.shape) != tuple(expected[k].shape)
    ]
    if wrong:
        raise ConfigError(
            f"checkpoint shapes do not match the configuration: {', '.join(wrong[:6])}"
        )
    result = model.load_state_dict(
        {k: v.to(torch.float32) if v.is_floating_point() else v for k, v in ours.items()},
        strict=False,
    )
    missing = [k for k in result.missing_keys if k not in _COMPUTED]
    if missing or result.unexpected_keys:
        raise ConfigError(
            f"the checkpoint does not fill the model: missing {sorted(missing)[:12]}, "
            f"unexpected {sorted(result.unexpected_keys)[:12]}"
        )


def rename_upstream(name: str, tensor: Any) -> dict[str, Any] | None:
    if name in _EXACT:
        return {_EXACT[name]: tensor}
    if name.startswith("visual_encoder_model."):
        return {"video.clip." + name.removeprefix("visual_encoder_model."): tensor}
    if m := re.fullmatch(r"emb\.(\d+)\.weight", name):
        return {f"decoder.model.decoder.embed_tokens.{m[1]}.weight": tensor}
    if m := re.fullmatch(r"linears\.(\d+)\.weight", name):
        return {f"decoder.lm_heads.{m[1]}.weight": tensor}
    if m := re.fullmatch(r"transformer\.layers\.(\d+)\.(.+)", name):
        layer = f"decoder.model.decoder.layers.{m[1]}"
        if m[2] in _FUSED:
            q, k, v = tensor.chunk(3, dim=0)
            part = _FUSED[m[2]]
            return {
                f"{layer}.{part}.{x}_proj.weight": t for x, t in zip("qkv", (q, k, v), strict=True)
            }
        return {f"{layer}.{_LAYER[m[2]]}": tensor} if m[2] in _LAYER else None
    if m := re.fullmatch(r"(local|global)_temporal_transformer\.(.+)", name):
        stream = f"video.{m[1]}_frames"
        if m[2] in ("norm.weight", "norm.bias"):
            return {f"{stream}.{m[2]}": tensor}
        block = re.fullmatch(r"layers\.(\d+)\.(.+)", m[2])
        if block and block[2] in _FRAME:
            return {f"{stream}.blocks.{block[1]}.{_FRAME[block[2]]}": tensor}
        return None
    if m := re.fullmatch(r"multi_head_cross_attention\.(\w+)\.(weight|bias)", name):
        return {f"video.fusion.{_FUSION[m[1]]}.{m[2]}": tensor} if m[1] in _FUSION else None
    return None
