"""LoRA fine-tuning: the training targets are generation's own delay pattern, a tiny random
VidMuse really learns a tiny synthetic dataset, only the adapters change, the adapter changes
the music (and at scale 0 does not), and a resumed run ends where an uninterrupted one does."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("peft")
import torch

from audio_creator import cli
from audio_creator.errors import ConfigError, MediaError
from audio_creator.music import lora
from audio_creator.music.backend import Sampling
from audio_creator.music.neural.tokens import Condition, delay, sample_window, teacher_forcing
from audio_creator.music.vidmuse.backend import load_network
from audio_creator.train.lora import TrainOptions, batch_loss, train
from helpers import make_pairs, run_ffmpeg
from tiny_models import CODEBOOK, save_tiny_musicgen, save_tiny_vidmuse

PAD = CODEBOOK


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny VidMuse and three 2 s video–soundtrack pairs (a test pattern, a tone each)."""
    root = tmp_path_factory.mktemp("lora")
    pairs = make_pairs(root, 3)
    manifest = root / "train.csv"
    with manifest.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["video_path", "audio_path", "duration"])
        writer.writerows([v.name, a.name, "2.0"] for v, a in pairs)  # relative paths
    return {"root": root, "manifest": manifest, "model": save_tiny_vidmuse(root / "vidmuse"),
            "cache": root / "cache"}  # fmt: skip


def options(data: dict[str, Path], output: Path, **changes: Any) -> TrainOptions:
    settings: dict[str, Any] = {
        "manifest": data["manifest"], "output": output, "music_model": str(data["model"]),
        "rank": 8, "alpha": 16.0, "lr": 5e-3, "max_seconds": 1.0, "cache_dir": data["cache"],
        "device": "cpu", "epochs": 30,
    }  # fmt: skip
    return TrainOptions(**{**settings, **changes})


@pytest.fixture(scope="module")
def trained(data: dict[str, Path]) -> Any:
    return train(options(data, data["root"] / "out" / "adapter"))  # 90 steps


def test_training_targets_are_the_delay_pattern_generation_uses() -> None:
    """Against transformers' own MusicGen helper, mono and stereo (whose left–right codebook
    pairs share a delay)."""
    from transformers import MusicgenDecoderConfig, MusicgenForCausalLM

    for books, channels in ((4, 1), (8, 2)):
        config = MusicgenDecoderConfig(
            vocab_size=CODEBOOK, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
            ffn_dim=32, num_codebooks=books, audio_channels=channels, pad_token_id=PAD,
            bos_token_id=PAD, decoder_start_token_id=PAD,
        )  # fmt: skip
        decoder = MusicgenForCausalLM(config)
        lag = [k // channels for k in range(books)]
        codes = torch.randint(
            0, CODEBOOK, (2, books, 12), generator=torch.Generator().manual_seed(1)
        )
        start = torch.full((2, books, 1), PAD)
        _, theirs = decoder.build_delay_pattern_mask(  # the whole pattern; -1: still to make
            torch.cat([start, codes], -1).reshape(2 * books, -1), PAD, max_length=12 + max(lag) + 1
        )
        theirs = theirs.reshape(2, books, -1)
        assert not (theirs == -1).any()  # every position known: the codes, the start, padding
        assert torch.equal(delay(codes, PAD, lag), theirs)
        inputs, targets, valid = teacher_forcing(codes, torch.tensor([12, 12]), PAD, lag)
        assert torch.equal(inputs, theirs[..., :-1]) and torch.equal(targets, theirs[..., 1:])
        assert torch.equal(valid, theirs[..., 1:] != PAD)  # the loss skips exactly the corners
        # a shorter row: its padding is masked out too
        _, _, valid = teacher_forcing(codes, torch.tensor([12, 5]), PAD, lag)
        assert int(valid[1].sum()) == books * 5 and int(valid[0].sum()) == books * 12


def test_training_predicts_what_greedy_generation_chose(data: dict[str, Path]) -> None:
    """Teacher forcing on tokens that greedy sampling made: at every position the loss counts,
    the training logits' best token is the one generation took — the two walk the same
    sequence, position for position."""
    model = load_network(data["model"]).eval()
    memory = torch.randn(1, 17, 32, generator=torch.Generator().manual_seed(3))
    condition = Condition(memory, None, torch.zeros_like(memory), None)
    with torch.no_grad():
        codes = sample_window(model.decoder, condition, 20, Sampling(temperature=0, cfg_coef=1),
                              torch.Generator())  # fmt: skip
        inputs, targets, valid = teacher_forcing(codes, torch.tensor([20]), PAD, [0, 1, 2, 3])
        logits = model.decoder(input_ids=inputs.reshape(4, -1), encoder_hidden_states=memory).logits
    best = logits.view(1, 4, inputs.shape[-1], -1).argmax(-1)
    assert torch.equal(best[valid], targets[valid])


def test_training_lowers_the_loss_and_changes_only_the_adapters(
    trained: Any, data: dict[str, Path]
) -> None:
    losses = trained.losses
    assert len(losses) == 90
    first, last = sum(losses[:5]) / 5, sum(losses[-10:]) / 10
    assert last <= 0.7 * first, (first, last)
    state, metadata = lora.read(trained.adapter)
    fresh = load_network(data["model"])
    wanted = lora.target_names(fresh.decoder, lora.DEFAULT_TARGETS)
    assert len(wanted) == 2 * 10  # 2 layers × (self q k v out, cross q k v out, fc1, fc2)
    ups = {name.removeprefix(lora.PREFIX).removesuffix(".lora_B.weight"): t
           for name, t in state.items() if ".lora_B." in name}  # fmt: skip
    assert sorted(ups) == sorted(wanted)
    assert all(float(t.abs().max()) > 0 for t in ups.values())  # every B trained
    # nothing else moved: the encoders (CLIP, the frame transformers) and the decoder's weights
    before = fresh.state_dict()
    after = {k.replace(".base_layer", ""): v for k, v in trained.model.state_dict().items()
             if "lora_" not in k}  # fmt: skip
    assert sorted(after) == sorted(before)
    assert all(torch.equal(after[k], before[k]) for k in before)
    # the parameter count, worked out apart: rank × (inputs + outputs) of every adapted layer
    layers = dict(fresh.decoder.named_modules())
    expected = sum(8 * (layers[n].in_features + layers[n].out_features) for n in wanted)
    assert metadata["trainable"]["parameters"] == expected == sum(trained.trainable.values())
    assert set(trained.trainable) == {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                                      "self_attn.out_proj", "encoder_attn.q_proj",
                                      "encoder_attn.k_proj", "encoder_attn.v_proj",
                                      "encoder_attn.out_proj", "fc1", "fc2"}  # fmt: skip
    assert metadata["base"]["kind"] == "vidmuse" and metadata["peft"]["r"] == 8
    assert metadata["data"]["pairs"] == 3 and metadata["data"]["seconds"] == 6.0
    rows = list(csv.DictReader(trained.logs[0].open()))
    assert len(rows) == 90 and float(rows[-1]["loss"]) == pytest.approx(losses[-1], abs=1e-5)
    assert trained.logs[2].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _greedy_tokens(model: Any, seed: int = 0) -> Any:
    memory = torch.randn(1, 17, 32, generator=torch.Generator().manual_seed(seed))
    condition = Condition(memory, None, torch.zeros_like(memory), None)
    with torch.no_grad():
        return sample_window(model.decoder, condition, 40, Sampling(top_k=0), torch.Generator()
                             .manual_seed(seed))  # fmt: skip


def test_the_adapter_changes_the_tokens_and_scale_zero_is_the_base(
    trained: Any, data: dict[str, Path]
) -> None:
    base = _greedy_tokens(load_network(data["model"]).eval())
    adapted, off = load_network(data["model"]).eval(), load_network(data["model"]).eval()
    lora.load_into(adapted.decoder, trained.adapter, "vidmuse", 1.0)
    lora.load_into(off.decoder, trained.adapter, "vidmuse", 0.0)
    assert not torch.equal(_greedy_tokens(adapted), base)
    assert torch.equal(_greedy_tokens(off), base)


def test_merging_equals_peft_running_the_adapter(trained: Any, data: dict[str, Path]) -> None:
    """The saved folder loads in peft itself; its forward pass (adapter beside the weights)
    equals ours with the adapter merged in, at scale 1 and 0.5; the three file forms hold the
    same adapter."""
    from peft import PeftModel

    ids = torch.randint(0, CODEBOOK, (4, 9), generator=torch.Generator().manual_seed(2))
    memory = torch.randn(1, 17, 32, generator=torch.Generator().manual_seed(4))
    state, metadata = lora.read(trained.adapter)
    for scale in (1.0, 0.5):
        reference = PeftModel.from_pretrained(load_network(data["model"]).decoder, trained.adapter)
        for module in reference.modules():
            if hasattr(module, "set_scale"):
                module.set_scale("default", scale)
        ours = load_network(data["model"]).decoder
        lora.merge_into(ours, state, metadata, scale)
        with torch.no_grad():
            expected = reference.eval()(input_ids=ids, encoder_hidden_states=memory).logits
            got = ours.eval()(input_ids=ids, encoder_hidden_states=memory).logits
        assert torch.allclose(got, expected, atol=1e-5), float((got - expected).abs().max())
    for name in ("one.safetensors", "one.pt"):
        again = lora.save(data["root"] / name, state, metadata)
        state2, metadata2 = lora.read(again)
        assert metadata2 == metadata and sorted(state2) == sorted(state)
        assert all(torch.equal(state2[k], state[k]) for k in state)


def test_a_resumed_run_ends_with_the_uninterrupted_runs_adapter(
    data: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    whole = train(options(data, data["root"] / "whole.safetensors", epochs=3))

    def stop(epoch: int) -> None:
        if epoch == 1:
            raise KeyboardInterrupt

    broken = options(data, data["root"] / "broken.safetensors", epochs=3)
    with pytest.raises(KeyboardInterrupt):
        train(broken, on_epoch=stop)
    assert not broken.output.exists() and broken.beside("resume.pt").is_file()
    args = ["train-lora", "--manifest", str(data["manifest"]), "-o", str(broken.output),
            "--music-model", str(data["model"]), "--rank", "8", "--alpha", "16", "--lr", "5e-3",
            "--max-seconds", "1", "--cache-dir", str(data["cache"]), "--epochs", "3",
            "--device", "cpu", "--resume"]  # fmt: skip
    assert cli.main(args) == 0
    said = capsys.readouterr().err
    assert "resuming after epoch 1 (step 3)" in said
    assert "LoRA rank 8, alpha 16: 13,312 trainable parameters" in said  # shown at the start
    first, _ = lora.read(whole.adapter)
    second, metadata = lora.read(broken.output)
    assert all(torch.allclose(first[k], second[k], atol=1e-6) for k in first)
    assert metadata["training"]["steps"] == 9
    # a resume with other settings is refused
    assert cli.main([*args[:-1], "--lr", "1e-3", "--resume"]) == 2


def test_bad_input_is_refused_before_any_training(
    data: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = data["root"]
    (tmp_path / "noise.mp4").write_bytes(b"\x00" * 4096)
    longer = tmp_path / "long.wav"
    run_ffmpeg("-f", "lavfi", "-i", "sine=frequency=200:sample_rate=32000:duration=5", str(longer))
    cases = {
        "missing": [[str(root / "a.mp4"), str(tmp_path / "gone.wav"), "2"]],
        "unreadable": [[str(tmp_path / "noise.mp4"), str(root / "a.wav"), "2"]],
        "mismatched": [[str(root / "a.mp4"), str(longer), "2"]],
        "empty": [],
    }
    said = {
        "missing": "gone.wav not found",
        "unreadable": "noise.mp4",
        "mismatched": "more than 2 s apart",
        "empty": "lists no video–audio pairs",
    }
    for name, rows in cases.items():
        manifest = tmp_path / f"{name}.csv"
        with manifest.open("w", newline="") as f:
            csv.writer(f).writerows([["video_path", "audio_path", "duration"], *rows])
        out = tmp_path / f"{name}_adapter"
        args = ["train-lora", "--manifest", str(manifest), "-o", str(out), "--music-model",
                str(data["model"]), "--device", "cpu"]  # fmt: skip
        assert cli.main(args) == 2, name
        assert said[name] in capsys.readouterr().err, name
        assert not out.exists() and not (tmp_path / f"{name}_adapter_loss.csv").exists()
    for flag, value in (("--rank", "0"), ("--rank", "-2"), ("--epochs", "0"), ("--lr", "nan")):
        args = ["train-lora", "--manifest", str(data["manifest"]), "-o", str(tmp_path / "x"),
                "--music-model", str(data["model"]), flag, value]  # fmt: skip
        assert cli.main(args) == 2, (flag, value)
        assert flag.lstrip("-") in capsys.readouterr().err
    # an output folder of other files is never replaced; nor are damaged files a traceback
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "precious.mp4").write_bytes(b"mine")
    args = ["train-lora", "--manifest", str(data["manifest"]), "-o", str(keep), "--music-model",
            str(data["model"]), "--device", "cpu"]  # fmt: skip
    assert cli.main(args) == 2 and (keep / "precious.mp4").read_bytes() == b"mine"
    assert "holds other files than an adapter" in capsys.readouterr().err
    import torch

    if not torch.cuda.is_available():  # a device that is not here: refused before any folder
        args = ["train-lora", "--manifest", str(data["manifest"]), "-o",
                str(tmp_path / "new" / "adapter"), "--music-model", str(data["model"]),
                "--device", "cuda"]  # fmt: skip
        assert cli.main(args) == 3
        assert "no CUDA device" in capsys.readouterr().err
        assert not (tmp_path / "new").exists()
    (tmp_path / "bad_resume.pt").write_bytes(b"\x80\x04 not a pickle")
    args = ["train-lora", "--manifest", str(data["manifest"]), "-o", str(tmp_path / "bad.pt"),
            "--music-model", str(data["model"]), "--device", "cpu", "--resume"]  # fmt: skip
    assert cli.main(args) == 2
    assert "is not a training checkpoint" in capsys.readouterr().err
    for name in ("broken.pt", "broken.safetensors"):
        (tmp_path / name).write_bytes(b"\x80\x04 garbage")
        with pytest.raises(MediaError, match="is not an audio-creator LoRA adapter"):
            lora.read(tmp_path / name)
    with pytest.raises(ConfigError, match="no linear layer of the decoder is called 'clip'"):
        train(options(data, tmp_path / "y", target_modules=("clip",)))


def test_an_adapter_for_another_model_is_refused(trained: Any, tmp_path: Path) -> None:
    from audio_creator.music.musicgen import MusicGenBackend

    with pytest.raises(ConfigError, match="adapter for the vidmuse backend, not for musicgen"):
        MusicGenBackend(model=save_tiny_musicgen(tmp_path / "mg"), lora=trained.adapter)
    state, metadata = lora.read(trained.adapter)
    metadata["base"]["config_hash"] = "0" * 16  # as if trained on a model of another shape
    other = lora.save(tmp_path / "other.safetensors", state, metadata)
    with pytest.raises(ConfigError, match="whose decoder has another shape"):
        lora.load_into(load_network(Path(metadata["base"]["path"])).decoder, other, "vidmuse")


def test_vidmuse_with_an_adapter_and_merged_from_the_command_line(
    trained: Any, data: dict[str, Path], tmp_path: Path
) -> None:
    video = data["root"] / "a.mp4"

    def music(name: str, *extra: str) -> bytes:
        out = tmp_path / f"{name}.wav"
        args = ["vidmuse", "--video", str(video), "-o", str(out), "--duration", "1",
                "--target-lufs", "-30", *extra]  # fmt: skip
        assert cli.main(args) == 0
        return out.read_bytes()

    model = ["--music-model", str(data["model"])]
    base = music("base", "--backend", "vidmuse", *model)
    # --backend auto with an adapter: the backend the adapter was made for
    assert music("off", "--vidmuse-lora", str(trained.adapter), "--lora-scale", "0", *model) == base
    adapted = music("on", "--lora", str(trained.adapter), *model)
    assert adapted != base
    merged = tmp_path / "merged"
    assert cli.main(["merge", "--lora", str(trained.adapter), "-o", str(merged)]) == 0
    assert music("merged", "--backend", "vidmuse", "--music-model", str(merged)) == adapted
    assert cli.main(["merge", "--lora", str(trained.adapter), "-o", str(merged)]) == 2  # exists
    assert cli.main(["vidmuse", "--video", str(video), "-o", str(tmp_path / "p.wav"),
                     "--backend", "procedural", "--lora", str(trained.adapter)]) == 2  # fmt: skip


def test_musicgen_trains_on_its_text_condition(data: dict[str, Path], tmp_path: Path) -> None:
    folder = save_tiny_musicgen(tmp_path / "musicgen", head_scale=10)
    made = train(options(data, tmp_path / "mg.pt", base="musicgen", music_model=str(folder),
                         prompt="w1 w2 w3", epochs=15, lr=1e-2,
                         target_modules=("encoder_attn.q_proj", "fc1")))  # fmt: skip
    assert sum(made.losses[-5:]) / 5 <= 0.7 * sum(made.losses[:5]) / 5
    assert set(made.trainable) == {"encoder_attn.q_proj", "fc1"}
    state, metadata = lora.read(made.adapter)
    assert metadata["base"]["kind"] == "musicgen" and len(state) == 2 * 2 * 2
    out = tmp_path / "music.wav"
    args = ["vidmuse", "--video", str(data["root"] / "a.mp4"), "-o", str(out), "--duration", "0.5",
            "--music-model", str(folder), "--lora", str(made.adapter), "--prompt", "w1 w2 w3",
            "--target-lufs", "-30"]  # fmt: skip
    assert cli.main(args) == 0 and out.stat().st_size > 0


def test_a_batch_masks_its_padding(trained: Any) -> None:
    """A short example batched beside a longer one (shorter codes, fewer frames of video
    memory): each codebook's loss is the token-weighted mean of the two examples' own."""
    from audio_creator.music.neural.features import Example
    from audio_creator.music.vidmuse.trainable import VidmuseTrainable
    from audio_creator.train.lora import Crop

    g = torch.Generator().manual_seed(5)

    def example(frames: int) -> Example:
        return Example("x", torch.randint(0, CODEBOOK, (4, frames), generator=g), 50.0,
                       local=torch.randn(4, 17, 48, generator=g),
                       overall=torch.randn(32, 17, 48, generator=g))  # fmt: skip

    base = VidmuseTrainable(Path("."), trained.model, codec=None)
    short, long = Crop(example(20), 0, 20), Crop(example(80), 10, 50)  # 1 and 2 video frames
    with torch.no_grad():
        _, together = batch_loss(base, [short, long], "cpu")
        _, alone_short = batch_loss(base, [short], "cpu")
        _, alone_long = batch_loss(base, [long], "cpu")
    for k in range(4):
        expected = (20 * alone_short[k] + 50 * alone_long[k]) / 70
        assert float(together[k]) == pytest.approx(float(expected), rel=1e-5)
    # and the loss is the one transformers' MusicGen computes from the same labels (its own
    # per-codebook cross-entropy, after audiocraft's), padding as its ignored label
    from audio_creator.music.neural.tokens import teacher_forcing
    from audio_creator.train.lora import condition

    codes = torch.full((2, 4, 50), PAD)
    codes[0, :, :20], codes[1] = short.example.codes, long.example.codes[:, 10:60]
    inputs, targets, _ = teacher_forcing(codes, torch.tensor([20, 50]), PAD, [0, 1, 2, 3])
    memory, mask = condition(base, [short, long], "cpu")
    with torch.no_grad():
        theirs = base.decoder(
            input_ids=inputs.reshape(8, -1), encoder_hidden_states=memory,
            encoder_attention_mask=mask, labels=targets.transpose(1, 2),
        ).loss  # fmt: skip
        ours, _ = batch_loss(base, [short, long], "cpu")
    assert float(ours) == pytest.approx(float(theirs), rel=1e-5)


def test_the_original_training_script_takes_the_original_flags() -> None:
    import subprocess
    import sys

    script = Path(__file__).resolve().parent.parent / "scripts" / "train_lora_vidmuse.py"
    done = subprocess.run(
        [sys.executable, str(script), "--help"], check=True, capture_output=True, text=True
    )
    for flag in ("--manifest", "--epochs", "--rank", "--alpha", "--lr", "--batch-size",
                 "--grad-accum", "--output", "--device", "--base", "--target-modules",
                 "--max-seconds", "--seed", "--resume"):  # fmt: skip
        assert flag in done.stdout, flag


def test_gradient_accumulation_equals_the_larger_batch(data: dict[str, Path]) -> None:
    """Three examples: batches of 2 and 1 against batches of 1 accumulated two at a time (the
    same groups, the last one short): the same adapter."""
    one = train(options(data, data["root"] / "acc1.safetensors", epochs=2, batch_size=2))
    two = train(options(data, data["root"] / "acc2.safetensors", epochs=2, grad_accum=2))
    first, _ = lora.read(one.adapter)
    second, _ = lora.read(two.adapter)
    assert len(one.losses) == len(two.losses) == 4
    assert all(torch.allclose(first[k], second[k], atol=1e-5) for k in first)
    # (clipping and Adam hide a mis-scaled short group there; the divisors show it)
    from audio_creator.train.lora import accumulation_divisors

    assert accumulation_divisors(3, 2) == [2, 2, 1]
    assert accumulation_divisors(5, 4) == [4, 4, 4, 4, 1]
    assert accumulation_divisors(4, 1) == [1, 1, 1, 1]


def test_a_dropped_condition_is_the_null_video_inference_guides_with(trained: Any) -> None:
    from audio_creator.music.neural.features import Example
    from audio_creator.music.vidmuse.frames import black
    from audio_creator.music.vidmuse.trainable import VidmuseTrainable
    from audio_creator.train.lora import Crop, condition

    g = torch.Generator().manual_seed(6)
    base = VidmuseTrainable(Path("."), trained.model, codec=None)
    crops = [
        Crop(Example("x", torch.zeros(4, 50, dtype=torch.long), 50.0,
                     local=torch.randn(4, 17, 48, generator=g),
                     overall=torch.randn(32, 17, 48, generator=g)), 0, 50, null=True)
        for _ in range(2)
    ]  # fmt: skip
    with torch.no_grad():
        memory, mask = condition(base, crops, "cpu")
        tokens = trained.model.video.clip_tokens(torch.from_numpy(black(1, 32)))
        expected = trained.model.video(
            tokens.expand(2, -1, -1)[None], tokens.expand(32, -1, -1)[None]
        )
    assert torch.allclose(memory[0], expected[0], atol=1e-6)  # whatever the video was
    assert torch.allclose(memory[1], expected[0], atol=1e-6) and bool(mask.all())


def test_training_without_its_packages_is_a_missing_backend(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No torch or transformers here: exit 3 (a backend unavailable), said in one line, before
    torch is imported or any folder made."""
    from audio_creator.music import neural

    monkeypatch.setattr(neural, "missing_packages", lambda: "torch is not installed")
    manifest = tmp_path / "pairs.csv"
    manifest.write_text("video_path,audio_path,duration\n")
    out = tmp_path / "new" / "adapter"
    assert cli.main(["train-lora", "--manifest", str(manifest), "-o", str(out)]) == 3
    assert "training needs torch and transformers: torch is not installed" in (
        capsys.readouterr().err
    )
    assert not out.parent.exists()
