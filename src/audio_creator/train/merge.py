"""`audio-creator merge`: a LoRA adapter baked into its model's weights, as a new model folder.

The folder has the layout the backend loads (`--music-model FOLDER`), so the merged model runs
without the adapter and at the base model's speed:

- vidmuse: `state_dict.bin` in the published checkpoint's own layout and names (the merged
  q, k, v projections fused back into `in_proj_weight`), its training config, and the base
  folder's `clip_config.json` and `encodec/` when it has them;
- musicgen: a Hugging Face folder (weights, config, tokenizer).

Beside the weights, `merged_lora.json` records the adapter's metadata and the scale used. The
folder is written whole under a temporary name and renamed into place; an existing one is never
overwritten.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from audio_creator.errors import ConfigError, MediaError


def bake(
    adapter: str | os.PathLike[str],
    output: str | os.PathLike[str],
    music_model: str | None = None,
    scale: float = 1.0,
) -> Path:
    """Write the model of `adapter`'s base (or `music_model`) with the adapter merged."""
    from audio_creator.music import lora

    out = Path(output)
    if out.exists():
        raise MediaError(f"{out} exists; give a new folder for the merged model")
    if not 0.0 <= scale <= 4.0:
        raise ConfigError(f"--lora-scale must be within 0–4, got {scale}")
    state, metadata = lora.read(adapter)
    kind = metadata.get("base", {}).get("kind")
    if kind not in ("vidmuse", "musicgen"):
        raise ConfigError(f"{adapter} does not say which model it adapts")
    base = music_model or _trained_on(metadata) or kind
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}."))
    try:
        if kind == "vidmuse":
            _vidmuse(base, state, metadata, scale, Path(adapter), staging)
        else:
            _musicgen(base, state, metadata, scale, Path(adapter), staging)
        record = {"adapter": str(Path(adapter).resolve()), "scale": scale, **metadata}
        (staging / "merged_lora.json").write_text(json.dumps(record, indent=2), encoding="utf-8")
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out


def _trained_on(metadata: dict[str, Any]) -> str | None:
    path = metadata.get("base", {}).get("path")
    return path if path and Path(path).is_dir() else None


def _vidmuse(
    base: str, state: dict[str, Any], metadata: dict[str, Any], scale: float, adapter: Path,
    out: Path,
) -> None:  # fmt: skip
    import torch
    import yaml

    from audio_creator.music import lora
    from audio_creator.music.vidmuse.backend import load_network, model_folders
    from audio_creator.music.vidmuse.convert import read_checkpoint, rename_upstream

    folder, _ = model_folders(base)
    model = load_network(folder)
    lora.check_base(metadata, "vidmuse", model.decoder.config, adapter)
    lora.merge_into(model.decoder, state, metadata, scale)
    merged = model.state_dict()
    upstream, cfg = read_checkpoint(folder / "state_dict.bin")
    baked = {}
    for name, tensor in upstream.items():
        ours = rename_upstream(name, tensor) or {}
        parts = [merged[key].to(tensor.dtype) for key in ours]  # q, k, v in order when fused
        baked[name] = torch.cat(parts) if len(parts) > 1 else parts[0]
    torch.save({"best_state": baked, "xp.cfg": yaml.safe_dump(cfg)}, out / "state_dict.bin")
    for extra in ("clip_config.json", "encodec"):
        source = folder / extra
        if source.is_dir():
            shutil.copytree(source, out / extra)
        elif source.is_file():
            shutil.copy2(source, out / extra)


def _musicgen(
    base: str, state: dict[str, Any], metadata: dict[str, Any], scale: float, adapter: Path,
    out: Path,
) -> None:  # fmt: skip
    from transformers import AutoTokenizer, MusicgenForConditionalGeneration

    from audio_creator import models
    from audio_creator.music import lora
    from audio_creator.music.musicgen import DEFAULT_MODEL

    folder = models.locate(DEFAULT_MODEL if base == "musicgen" else base)
    model = MusicgenForConditionalGeneration.from_pretrained(folder, local_files_only=True)
    lora.check_base(metadata, "musicgen", model.decoder.config, adapter)
    lora.merge_into(model.decoder, state, metadata, scale)
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(folder, local_files_only=True).save_pretrained(out)
