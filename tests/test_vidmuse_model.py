"""The VidMuse model: checkpoint conversion from the published layout, and the video really
conditioning the music — on a tiny random model of the real architecture."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
import torch

from audio_creator import cli
from audio_creator.errors import ConfigError
from audio_creator.music.backend import MusicRequest, Sampling
from audio_creator.music.vidmuse.convert import config_from_upstream, convert, load_converted
from audio_creator.music.vidmuse.network import VidMuseModel
from tiny_models import TINY_CLIP, TINY_LM, save_tiny_vidmuse, upstream_vidmuse_state


@pytest.fixture(scope="module")
def upstream() -> dict[str, Any]:
    return upstream_vidmuse_state()


@pytest.fixture(scope="module")
def model(upstream: dict[str, Any]) -> Any:
    built = VidMuseModel(config_from_upstream({"transformer_lm": TINY_LM}, TINY_CLIP)).eval()
    load_converted(built, upstream)
    return built


def test_the_checkpoint_converts_with_nothing_left_over(
    model: Any, upstream: dict[str, Any]
) -> None:
    ours = convert(upstream)
    filled = set(model.state_dict())
    assert set(ours) <= filled
    assert filled - set(ours) <= {"decoder.model.decoder.embed_positions.weights"}
    # Fused projections are split, q first: rows [0, d) of in_proj are q_proj.
    fused = upstream["transformer.layers.1.cross_attention.in_proj_weight"]
    layer = model.decoder.model.decoder.layers[1]
    assert torch.equal(layer.encoder_attn.q_proj.weight, fused[:32])
    assert torch.equal(layer.encoder_attn.v_proj.weight, fused[64:])
    assert torch.equal(model.video.local_position, upstream["local_pos_embedding"])


def test_an_unknown_or_missing_parameter_fails_loudly(upstream: dict[str, Any]) -> None:
    extra = {**upstream, "transformer.layers.0.linear1.bias": torch.zeros(128)}
    with pytest.raises(ConfigError, match=r"linear1\.bias"):
        convert(extra)
    # A substring rename would take this for a decoder embedding ("emb"): exact rules do not.
    with pytest.raises(ConfigError, match="local_pos_embedding_extra"):
        convert({**upstream, "local_pos_embedding_extra": torch.zeros(1)})
    short = {k: v for k, v in upstream.items() if not k.startswith("linears.3")}
    built = VidMuseModel(config_from_upstream({"transformer_lm": TINY_LM}, TINY_CLIP))
    with pytest.raises(ConfigError, match=r"lm_heads\.3"):
        load_converted(built, short)


def test_a_decoder_layer_equals_the_upstream_computation(
    model: Any, upstream: dict[str, Any]
) -> None:
    """Layer 0, run by transformers with the converted weights, against a direct computation
    from the fused upstream weights with PyTorch's own multi-head attention."""
    import torch.nn.functional as F

    w = {k.removeprefix("transformer.layers.0."): v for k, v in upstream.items()
         if k.startswith("transformer.layers.0.")}  # fmt: skip
    d, heads, steps = 32, 2, 7
    g = torch.Generator().manual_seed(5)
    x, memory = torch.randn(1, steps, d, generator=g), torch.randn(1, 11, d, generator=g)
    future = torch.triu(torch.ones(steps, steps, dtype=torch.bool), diagonal=1)

    def attention(q_in: Any, kv_in: Any, fused: Any, out: Any, mask: Any = None) -> Any:
        result, _ = F.multi_head_attention_forward(
            q_in.transpose(0, 1), kv_in.transpose(0, 1), kv_in.transpose(0, 1), d, heads,
            fused, None, None, None, False, 0.0, out, None, training=False, need_weights=False,
            attn_mask=mask,
        )  # fmt: skip
        return result.transpose(0, 1)

    def norm(t: Any, name: str) -> Any:
        return F.layer_norm(t, (d,), w[f"{name}.weight"], w[f"{name}.bias"])

    expected = x + attention(
        norm(x, "norm1"), norm(x, "norm1"), w["self_attn.in_proj_weight"],
        w["self_attn.out_proj.weight"], future,
    )  # fmt: skip
    h = norm(expected, "norm_cross")
    expected = expected + attention(
        h, memory, w["cross_attention.in_proj_weight"], w["cross_attention.out_proj.weight"]
    )
    h = norm(expected, "norm2")
    expected = expected + F.linear(F.gelu(F.linear(h, w["linear1.weight"])), w["linear2.weight"])

    additive = torch.zeros(steps, steps).masked_fill(future, float("-inf"))[None, None]
    with torch.no_grad():
        got = model.decoder.model.decoder.layers[0](
            x, attention_mask=additive, encoder_hidden_states=memory, use_cache=False
        )
    got = got[0] if isinstance(got, tuple) else got
    assert torch.allclose(got, expected, atol=1e-5), float((got - expected).abs().max())


def _tokens(model: Any, local: Any, overall: Any, coef: float, seed: int = 0) -> Any:
    from audio_creator.music.neural.tokens import Condition, sample_window

    with torch.no_grad():
        memory = model.video(model.video.clip_tokens(local)[None],
                             model.video.clip_tokens(overall)[None])  # fmt: skip
        black = torch.from_numpy(_black(local.shape[0] + overall.shape[0]))
        null = model.video(model.video.clip_tokens(black[: local.shape[0]])[None],
                           model.video.clip_tokens(black[local.shape[0] :])[None])  # fmt: skip
        g = torch.Generator().manual_seed(seed)
        return sample_window(
            model.decoder, Condition(memory, None, null, None), 30, Sampling(cfg_coef=coef), g
        )


def _black(count: int) -> Any:
    from audio_creator.music.vidmuse.frames import black

    return black(count, TINY_CLIP["image_size"])


def _video_pixels(seed: int, count: int) -> Any:
    from audio_creator.music.vidmuse.frames import normalise

    rng = np.random.default_rng(seed)
    images = [rng.integers(0, 256, (40, 48, 3), dtype=np.uint8) for _ in range(count)]
    return torch.from_numpy(normalise(images, TINY_CLIP["image_size"]))


def test_the_video_conditions_the_music(model: Any) -> None:
    one, other = _video_pixels(1, 6), _video_pixels(2, 6)
    overall = _video_pixels(3, 32)
    assert not torch.equal(_tokens(model, one, overall, 3.0), _tokens(model, other, overall, 3.0))
    assert torch.equal(_tokens(model, one, overall, 3.0), _tokens(model, one, overall, 3.0))
    # A black video is the null condition itself: guidance then changes nothing.
    black_local, black_global = torch.from_numpy(_black(6)), torch.from_numpy(_black(32))
    assert torch.equal(
        _tokens(model, black_local, black_global, 3.0),
        _tokens(model, black_local, black_global, 1.0),
    )
    assert not torch.equal(_tokens(model, one, overall, 3.0), _tokens(model, one, overall, 1.0))


def test_the_backend_scores_a_video_across_windows(
    tmp_path: Path, sample_videos: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from audio_creator.music.vidmuse import backend as vidmuse

    folder = save_tiny_vidmuse(tmp_path / "vidmuse")
    monkeypatch.setattr(vidmuse, "WINDOW_S", 1.0)  # 2 s of video: windows of 1 s
    asked: list[tuple[float, float]] = []
    real = vidmuse.VideoConditions.between

    def spy(self: Any, start: float, stop: float) -> Any:
        asked.append((round(start, 2), round(stop, 2)))
        return real(self, start, stop)

    monkeypatch.setattr(vidmuse.VideoConditions, "between", spy)
    made = vidmuse.VidMuseBackend(model=folder).generate(
        MusicRequest(2.0, video=sample_videos["mp4"], target_lufs=-30.0)
    )
    assert made.audio.frames == 2 * 48000 and made.summary["local_frames"] == 4
    assert asked == [(0.0, 1.0), (0.5, 1.5), (1.0, 2.0)]  # each later window re-prompted 0.5 s


def test_vidmuse_runs_from_the_command_line(tmp_path: Path, sample_videos: dict[str, Path]) -> None:
    folder = save_tiny_vidmuse(tmp_path / "vidmuse")
    out = tmp_path / "music.wav"
    args = ["vidmuse", "--video", str(sample_videos["mp4"]), "-o", str(out), "--backend",
            "vidmuse", "--music-model", str(folder), "--target-lufs", "-30"]  # fmt: skip
    assert cli.main(args) == 0
    import soundfile as sf

    assert abs(sf.info(str(out)).duration - 2.0) < 1e-3


def test_without_weights_vidmuse_fails_fast_naming_the_download(
    tmp_path: Path, sample_videos: dict[str, Path], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("AUDIO_CREATOR_MODELS", str(tmp_path / "models"))
    out = tmp_path / "music.wav"
    args = ["vidmuse", "--video", str(sample_videos["mp4"]), "-o", str(out), "--backend", "vidmuse"]
    assert cli.main(args) == 3
    assert "audio-creator models download vidmuse" in capsys.readouterr().err
    assert not out.exists()
