"""Audio tokens: MusicGen's codebook delay pattern, sampling with classifier-free guidance,
durations beyond one context window, and EnCodec decoding in overlapping chunks.

A MusicGen-style decoder predicts K codebooks at once, codebook k delayed by k steps: in the
delayed sequence, position 0 holds the start token for every codebook and position 1 + t + k
holds frame t of codebook k; the corners are padding (the start token's id). A stereo model
interleaves its codebooks (left 0, right 0, left 1, …) and each left–right pair shares a delay.
Training sees the same sequence (`teacher_forcing`): the input is every position but the last,
the target every position but the first. Generation walks
the positions left to right, one forward pass per position with a KV cache. Guidance runs the
conditional and the null condition as one batch of twice the size (conditional first) and mixes
their logits: null + (cond − null) × cfg_coef.

Past one window of context, a long piece continues window by window: each new window is
prompted with the last frames of the one before (kept as they are, not re-sampled), so the
token stream is continuous; the whole stream is then decoded in overlapping chunks crossfaded
across the overlap, so no join can be heard.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from audio_creator.errors import ConfigError
from audio_creator.music.backend import Progress, Sampling


@dataclass(frozen=True)
class Condition:
    """The decoder's cross-attention memory for one stretch of music, at the decoder's width,
    and the null memory guidance compares it with (same shapes; masks 1 = attend)."""

    memory: Any  # torch.Tensor [batch, tokens, width]
    mask: Any  # torch.Tensor [batch, tokens] or None
    null_memory: Any
    null_mask: Any


def repeat(condition: Condition, count: int) -> Condition:
    """The same condition for a batch of `count` (one row each)."""
    if count == 1:
        return condition

    def more(x: Any) -> Any:
        return None if x is None else x.expand(count, *x.shape[1:])

    return Condition(
        more(condition.memory), more(condition.mask),
        more(condition.null_memory), more(condition.null_mask),
    )  # fmt: skip


def lags(config: Any) -> list[int]:
    """Each codebook's delay, in steps, for a decoder config (`num_codebooks`, and
    `audio_channels` 2 for a stereo model)."""
    books = int(config.num_codebooks)
    if int(getattr(config, "audio_channels", 1)) == 2:
        return [k // 2 for k in range(books)]
    return list(range(books))


def delay(codes: Any, pad: int, lag: list[int] | None = None) -> Any:
    """[B, K, n] codes → [B, K, n + max(lag) + 1] delayed sequence (position 0: the start
    token); `lag` defaults to a mono model's 0, 1, …, K − 1."""
    import torch

    batch, books, frames = codes.shape
    lag = list(range(books)) if lag is None else lag
    out = torch.full(
        (batch, books, frames + max(lag) + 1), pad, dtype=codes.dtype, device=codes.device
    )
    for k, d in enumerate(lag):
        out[:, k, 1 + d : 1 + d + frames] = codes[:, k]
    return out


def undelay(sequence: Any, frames: int, lag: list[int] | None = None) -> Any:
    """The inverse of `delay`: [B, K, ≥ frames + max(lag) + 1] → [B, K, frames]."""
    import torch

    lag = list(range(sequence.shape[1])) if lag is None else lag
    return torch.stack([sequence[:, k, 1 + d : 1 + d + frames] for k, d in enumerate(lag)], dim=1)


def teacher_forcing(codes: Any, lengths: Any, pad: int, lag: list[int]) -> tuple[Any, Any, Any]:
    """What a decoder is trained on, for [B, K, n] codes of which row b holds `lengths[b]`
    real frames: (inputs [B, K, L], targets [B, K, L], valid [B, K, L] bool), L = n + max(lag).
    The decoder sees `inputs` and predicts `targets` position by position, exactly as
    `sample_window` walks the delayed sequence; `valid` is False at the delay pattern's corners
    and past each row's length (no loss there)."""
    import torch

    frames = codes.shape[-1]
    real = torch.arange(frames, device=codes.device)[None, None, :] < lengths[:, None, None]
    codes = codes.masked_fill(~real, pad)
    sequence = delay(codes, pad, lag)
    valid = delay(real.expand_as(codes).long(), 0, lag).bool()
    return sequence[..., :-1], sequence[..., 1:], valid[..., 1:]


def sample_window(
    decoder: Any,
    condition: Condition,
    frames: int,
    sampling: Sampling,
    generator: Any,
    prompt: Any = None,
    progress: Callable[[float], None] | None = None,
) -> Any:
    """`frames` frames of codes [B, K, frames] in one context window; the first frames are
    `prompt` [B, K, P] as given (P < frames), the rest sampled. `progress(fraction)` now and
    then."""
    import torch

    books, pad = decoder.num_codebooks, decoder.config.pad_token_id
    memory, batch = condition.memory, condition.memory.shape[0]
    known = 0 if prompt is None else int(prompt.shape[-1])
    if not 0 <= known < frames:
        raise ConfigError(f"a window of {frames} frames cannot hold a prompt of {known}")
    codes = torch.full((batch, books, frames), pad, dtype=torch.long, device=memory.device)
    if prompt is not None:
        codes[..., :known] = prompt
    lag = lags(decoder.config)
    sequence = delay(codes, pad, lag)  # prompt in place, the rest padding for now
    guided = sampling.cfg_coef != 1.0
    if guided:
        memory = torch.cat([condition.memory, condition.null_memory])
        mask = _cat_masks(condition.mask, condition.null_mask, condition, batch)
    else:
        mask = condition.mask
    behind = torch.tensor(lag, device=memory.device)
    cache, start = None, 0
    end = frames + max(lag) + 1
    for position in range(known + 1, end):
        step = sequence[:, :, start:position].reshape(batch * books, -1)
        if guided:
            step = torch.cat([step, step])
        out = _forward(decoder, step, memory, mask, cache)
        cache, start = out.cache if hasattr(out, "cache") else out.past_key_values, position
        logits = out.logits[:, -1].float().view(-1, books, out.logits.shape[-1])
        if guided:
            cond, null = logits[:batch], logits[batch:]
            logits = null + (cond - null) * sampling.cfg_coef
        token = _draw(logits, sampling, generator)  # [B, K]
        frame = position - 1 - behind  # which frame each codebook is at
        free = (frame >= known) & (frame < frames)
        sequence[:, free, position] = token[:, free]
        if progress is not None and position % 25 == 0:
            progress((position - known) / (end - known))
    return undelay(sequence, frames, lag)


def sample_codes(
    decoder: Any,
    condition_for: Callable[[int, int], Condition],
    frames: int,
    sampling: Sampling,
    generator: Any,
    window: int,
    overlap: int,
    progress: Progress | None = None,
) -> Any:
    """[B, K, frames] codes, in windows of at most `window` frames; each window after the
    first is prompted with the last `overlap` frames before it. `condition_for(start, stop)`
    gives the condition for frames [start, stop)."""
    import torch

    if not 0 < overlap < window:
        raise ConfigError(f"the overlap ({overlap}) must be shorter than the window ({window})")
    made: Any = None
    have = 0
    while have < frames:
        prompt = None if made is None else made[..., -overlap:]
        lead = 0 if prompt is None else overlap
        size = min(window, frames - have + lead)
        start = have - lead

        def report(fraction: float, base: int = have, new: int = size - lead) -> None:
            if progress is not None:
                progress(min(1.0, (base + fraction * new) / frames), "sampling")

        piece = sample_window(
            decoder, condition_for(start, start + size), size, sampling, generator, prompt, report
        )
        new = piece[..., lead:]
        made = new if made is None else torch.cat([made, new], dim=-1)
        have += new.shape[-1]
    return made


def decode(
    codec: Any, codes: Any, chunk: int = 1500, overlap: int = 50, stereo: bool = False
) -> npt.NDArray[np.float32]:
    """EnCodec decoding of [1, K, n] codes → float32 [channels, samples], in chunks of `chunk`
    frames that overlap by `overlap` frames and are crossfaded linearly across it (the two
    decodings of the same frames are nearly equal, so a linear fade keeps the level).
    Stereo models interleave the codebooks: even ones left, odd ones right."""
    import torch

    if stereo:
        left = decode(codec, codes[:, ::2], chunk, overlap)
        right = decode(codec, codes[:, 1::2], chunk, overlap)
        return np.concatenate([left, right])
    hop = round(codec.config.sampling_rate / codec.config.frame_rate)
    frames = int(codes.shape[-1])
    out = np.zeros((codec.config.audio_channels, frames * hop), np.float32)
    start = 0
    with torch.inference_mode():
        while start < frames:
            lead = min(overlap, start)
            stop = min(frames, start - lead + chunk)
            part = codes[..., start - lead : stop]
            audio = codec.decode(part[None], [None]).audio_values[0].float().cpu().numpy()
            audio = audio[:, : (stop - start + lead) * hop]
            if lead:
                fade = np.linspace(0.0, 1.0, lead * hop, endpoint=False, dtype=np.float32)
                head = slice(start * hop - lead * hop, start * hop)
                out[:, head] = out[:, head] * (1 - fade) + audio[:, : lead * hop] * fade
            out[:, start * hop : stop * hop] = audio[:, lead * hop :]
            start = stop
    return out


def _forward(decoder: Any, ids: Any, memory: Any, mask: Any, cache: Any) -> Any:
    """One decoder pass with its KV cache (the keyword is `cache` in newer transformers,
    `past_key_values` before)."""
    kind: Any = type(decoder)
    name = "cache" if "cache" in _forward_parameters(kind) else "past_key_values"
    return decoder(
        input_ids=ids, encoder_hidden_states=memory, encoder_attention_mask=mask,
        use_cache=True, **{name: cache},
    )  # fmt: skip


@functools.cache
def _forward_parameters(kind: Any) -> frozenset[str]:
    return frozenset(inspect.signature(kind.forward).parameters)


def _cat_masks(mask: Any, null_mask: Any, condition: Condition, batch: int) -> Any:
    import torch

    if mask is None and null_mask is None:
        return None
    ones = torch.ones(condition.memory.shape[:2], dtype=torch.long, device=condition.memory.device)
    null_ones = torch.ones(
        condition.null_memory.shape[:2], dtype=torch.long, device=condition.memory.device
    )
    return torch.cat(
        [ones if mask is None else mask, null_ones if null_mask is None else null_mask]
    )


def _draw(logits: Any, sampling: Sampling, generator: Any) -> Any:
    """One token per row of [B, K, V] logits: greedy at temperature 0, else sampled after the
    top-k and top-p (nucleus) filters, from `generator`, or from `generator[b]` for row b when
    it is a list (so that a row draws the same tokens in a batch as it would alone)."""
    import torch

    if sampling.temperature == 0:
        return logits.argmax(dim=-1)
    logits = logits / sampling.temperature
    if sampling.top_k > 0:
        kth = torch.topk(logits, min(sampling.top_k, logits.shape[-1]), dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if 0 < sampling.top_p < 1:
        ordered, order = torch.sort(logits, dim=-1, descending=True)
        before = torch.softmax(ordered, dim=-1).cumsum(dim=-1) - torch.softmax(ordered, dim=-1)
        ordered = ordered.masked_fill(before > sampling.top_p, float("-inf"))  # keeps the first
        logits = torch.full_like(logits, float("-inf")).scatter(-1, order, ordered)
    probabilities = torch.softmax(logits, dim=-1)
    if isinstance(generator, (list, tuple)):  # one generator per row: each row draws as alone
        return torch.stack([_draw_row(p, g) for p, g in zip(probabilities, generator, strict=True)])
    return _draw_row(probabilities, generator)


def _draw_row(probabilities: Any, generator: Any) -> Any:
    import torch

    flat = probabilities.reshape(-1, probabilities.shape[-1])
    drawn = torch.multinomial(flat, 1, generator=generator)
    return drawn.view(probabilities.shape[:-1])
