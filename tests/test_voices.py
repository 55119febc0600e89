"""More engines behind one interface: Kokoro, Coqui, and voices found by name."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audio_creator import cli
from audio_creator.errors import ConfigError, MediaError
from audio_creator.speech import SpeechOptions, create_engine, narrate_to_file
from audio_creator.speech.engine import engine_for_voice
from audio_creator.speech.piper_voice import bundled_voice

SAMPLES_PER_TOKEN = 300


def write_kokoro_model(
    folder: Path, voices: tuple[str, ...] = ("af_heart", "bm_george", "ff_siwis")
) -> Path:
    """A tiny ONNX graph with the inputs and output of a Kokoro v1.0 export, and a voices file.

    It is not Kokoro's network (StyleTTS 2 has no small public form to build here): it speaks a
    tone of SAMPLES_PER_TOKEN × tokens ÷ speed samples, loud in proportion to the style, so
    what kokoro-onnx sends it (tokens, the voice's style row, the speed) can be read back.
    """
    import onnx
    from onnx import TensorProto, helper

    def const(name: str, value: float) -> onnx.NodeProto:
        return helper.make_node("Constant", [], [name], value_float=float(value))

    nodes = [
        helper.make_node("Shape", ["tokens"], ["shape"]),
        helper.make_node("Constant", [], ["one"], value_int=1),
        helper.make_node("Gather", ["shape", "one"], ["count"], axis=0),
        helper.make_node("Cast", ["count"], ["count_f"], to=TensorProto.FLOAT),
        const("per_token", SAMPLES_PER_TOKEN),
        helper.make_node("Mul", ["count_f", "per_token"], ["length_1"]),
        helper.make_node("Div", ["length_1", "speed"], ["length_v"]),
        helper.make_node("ReduceSum", ["length_v"], ["length"], keepdims=0),
        helper.make_node("Floor", ["length"], ["limit"]),
        const("zero", 0.0),
        const("step", 1.0),
        helper.make_node("Range", ["zero", "limit", "step"], ["t"]),
        const("omega", 2 * np.pi * 220 / 24000),
        helper.make_node("Mul", ["t", "omega"], ["phase"]),
        helper.make_node("Sin", ["phase"], ["tone"]),
        helper.make_node("ReduceMean", ["style"], ["gain"], keepdims=0),
        helper.make_node("Mul", ["tone", "gain"], ["audio"]),
    ]
    graph = helper.make_graph(
        nodes,
        "kokoro-signature",
        [
            helper.make_tensor_value_info("tokens", TensorProto.INT64, [1, "n"]),
            helper.make_tensor_value_info("style", TensorProto.FLOAT, [1, 256]),
            helper.make_tensor_value_info("speed", TensorProto.FLOAT, [1]),
        ],
        [helper.make_tensor_value_info("audio", TensorProto.FLOAT, ["samples"])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    folder.mkdir(parents=True, exist_ok=True)
    onnx.save(model, folder / "kokoro-v1.0.onnx")
    # Each voice's style rows have their own mean, so the output's loudness names the voice.
    styles = {
        name: np.full((510, 1, 256), 0.1 * (i + 1), np.float32) for i, name in enumerate(voices)
    }
    with open(folder / "voices-v1.0.bin", "wb") as handle:
        np.savez(handle, **styles)  # type: ignore[arg-type]
    return folder / "kokoro-v1.0.onnx"


@pytest.fixture
def models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "models"
    monkeypatch.setenv("AUDIO_CREATOR_MODELS", str(folder))
    return folder


def test_kokoro_speaks_through_its_real_loading_path(models: Path, tmp_path: Path) -> None:
    pytest.importorskip("kokoro_onnx")
    model = write_kokoro_model(tmp_path / "k")
    engine = create_engine("kokoro", voice=model)
    assert engine.sample_rate == 24000
    assert engine.speaks("en") and engine.speaks("en-gb") and engine.speaks("fr")
    assert not engine.speaks("de")

    normal = engine.synthesize("Hello there, my friend.", SpeechOptions())
    fast = engine.synthesize("Hello there, my friend.", SpeechOptions(speed=2.0))
    # The graph's length is tokens × 300 ÷ speed: the speed reached it, and so did the tokens
    # (espeak-ng's phonemes of the sentence, one token each).
    assert normal.size % SAMPLES_PER_TOKEN == 0 and 10 <= normal.size // SAMPLES_PER_TOKEN <= 40
    assert abs(fast.size / normal.size - 0.5) < 0.02
    # The default voice is af_heart, style mean 0.1; bm_george's is 0.2 and speaks en-gb.
    assert np.max(np.abs(normal)) == pytest.approx(0.1, rel=0.01)
    george = engine.synthesize("Hello.", SpeechOptions(speaker="bm_george"))
    assert np.max(np.abs(george)) == pytest.approx(0.2, rel=0.01)
    french = engine.synthesize("Bonjour.", SpeechOptions(language="fr"))
    assert np.max(np.abs(french)) == pytest.approx(0.3, rel=0.01)  # ff_siwis, the French one

    with pytest.raises(ConfigError, match="no voice 'zz_nobody'"):
        engine.synthesize("Hi.", SpeechOptions(speaker="zz_nobody"))
    with pytest.raises(ConfigError, match="does not speak 'fr'"):
        engine.synthesize("Hi.", SpeechOptions(speaker="bm_george", language="fr"))


def test_kokoro_narration_and_cli(models: Path, tmp_path: Path) -> None:
    pytest.importorskip("kokoro_onnx")
    model = write_kokoro_model(models / "kokoro")
    narration = narrate_to_file("One. Two words.", create_engine("kokoro"), tmp_path / "k.wav")
    assert len(narration.sentences) == 2 and narration.sample_rate == 24000
    # A Kokoro model in the models folder is the best voice here, so auto takes it.
    out = tmp_path / "auto.wav"
    assert cli.main(["tts", "--text", "Hi there.", "-o", str(out)]) == 0
    assert sf.info(out).samplerate == 24000
    # A voice file given by path finds its engine by what lies beside it.
    assert engine_for_voice(model) == "kokoro"
    (model.parent / "voices-v1.0.bin").unlink()
    assert (
        cli.main(["tts", "--text", "Hi.", "--engine", "kokoro", "-o", str(tmp_path / "x.wav")]) == 2
    )
    assert not (tmp_path / "x.wav").exists()


def test_a_broken_kokoro_install_does_not_stop_auto(
    models: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("kokoro_onnx")
    model = write_kokoro_model(models / "kokoro" / "v1")  # found in a folder inside, too
    from audio_creator.speech.kokoro_voice import default_model

    assert default_model() == model
    (model.parent / "voices-v1.0.bin").unlink()
    out = tmp_path / "auto.wav"
    assert cli.main(["tts", "--text", "Hi there.", "-o", str(out)]) == 0
    assert sf.info(out).samplerate == 22050  # Piper's
    assert "auto: skipping kokoro" in capsys.readouterr().err  # a warning says why


def test_english_rules_are_kept_for_english_voices(models: Path, tmp_path: Path) -> None:
    pytest.importorskip("kokoro_onnx")
    engine = create_engine("kokoro", voice=write_kokoro_model(tmp_path / "k"))
    heard: list[str] = []
    speak = engine.synthesize

    def listening(text: str, options: SpeechOptions) -> np.ndarray:
        heard.append(text)
        return speak(text, options)

    engine.synthesize = listening  # type: ignore[method-assign]
    narrate_to_file("Le 5 mai.", engine, tmp_path / "fr.wav", SpeechOptions(speaker="ff_siwis"))
    assert heard[-1] == "Le 5 mai."  # a French voice: its own rules read the number
    narrate_to_file("On May 5.", engine, tmp_path / "en.wav", SpeechOptions(speaker="bm_george"))
    assert heard[-1] == "On May fifth."


def test_kokoro_without_files_says_where_to_put_them(
    models: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("kokoro_onnx")
    out = tmp_path / "o.wav"
    assert cli.main(["tts", "--text", "Hi.", "--engine", "kokoro", "-o", str(out)]) == 3
    assert (
        f"put kokoro-v1.0.onnx and voices-v1.0.bin in {models / 'kokoro'}"
        in capsys.readouterr().err
    )
    assert not out.exists()


def test_piper_voices_are_found_by_name(
    models: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundled = bundled_voice()
    assert bundled is not None
    folder = models / "piper" / "en"
    folder.mkdir(parents=True)
    (folder / "my-voice.onnx").symlink_to(bundled)
    (folder / "my-voice.onnx.json").symlink_to(bundled.with_name(bundled.name + ".json"))
    engine = create_engine("auto", voice="my-voice")
    assert engine.name == "piper" and "my-voice" in engine.description
    assert engine_for_voice("my-voice") == "piper"
    with pytest.raises(ConfigError, match=r"no piper voice named 'nobody'.*voices there: my-voice"):
        create_engine("piper", voice="nobody")
    assert cli.main(["voices"]) == 0
    listing = capsys.readouterr().out
    assert "en_US-joe-medium (bundled), my-voice" in listing


def test_coqui_is_a_clear_error_until_installed(
    models: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib.util

    if importlib.util.find_spec("TTS") is not None:
        pytest.skip("coqui-tts is installed here")
    out = tmp_path / "o.wav"
    assert cli.main(["tts", "--text", "Hi.", "--engine", "coqui", "-o", str(out)]) == 3
    assert "pip install coqui-tts" in capsys.readouterr().err
    assert not out.exists()


def test_coqui_model_folders_are_read_as_coqui_lays_them_out(tmp_path: Path) -> None:
    from audio_creator.speech.coqui_voice import model_files

    xtts = tmp_path / "xtts_v2"
    xtts.mkdir()
    (xtts / "config.json").write_text('{"model": "xtts", "audio": {}}')
    (xtts / "model.pth").write_bytes(b"")
    assert model_files(xtts) == (xtts, xtts / "config.json")  # XTTS loads from its folder
    vits = tmp_path / "vits"
    vits.mkdir()
    (vits / "config.json").write_text('{"model": "vits"}')
    (vits / "checkpoint_9000.pth").write_bytes(b"")
    (vits / "best_model.pth").write_bytes(b"")
    assert model_files(vits) == (vits / "best_model.pth", vits / "config.json")
    assert engine_for_voice(vits) == "coqui"
    assert engine_for_voice("tts_models/multilingual/multi-dataset/xtts_v2") == "coqui"
    (vits / "config.json").unlink()
    with pytest.raises(MediaError, match=r"needs its config\.json"):
        model_files(vits)
    with pytest.raises(MediaError, match="not found"):
        model_files(tmp_path / "nothing")


def test_coqui_catalogue_names_are_found_on_disk_never_fetched(
    models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from audio_creator.speech.coqui_voice import _model_path

    monkeypatch.setenv("TTS_HOME", str(models / "coqui-cache"))
    name = "tts_models/multilingual/multi-dataset/xtts_v2"
    with pytest.raises(ConfigError, match=r"not on this machine.*nothing is downloaded"):
        _model_path(name)
    folder = models / "coqui" / "xtts_v2"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    assert _model_path(name) == folder


def test_the_voice_hears_words_and_the_subtitles_keep_the_text(tmp_path: Path) -> None:
    voice = create_engine("piper")
    heard: list[str] = []

    class Listening:  # the real voice, noting what it is given
        name, sample_rate, description = voice.name, voice.sample_rate, voice.description
        speaks = voice.speaks

        def synthesize(self, text: str, options: SpeechOptions) -> np.ndarray:
            heard.append(text)
            return voice.synthesize(text, options)

    text = "It costs $3.50 on Jan. 5th."
    narration = narrate_to_file(text, Listening(), tmp_path / "a.wav")
    assert heard[-1] == "It costs three dollars fifty cents on January fifth."
    assert narration.sentences[0].text == text
    narrate_to_file(text, Listening(), tmp_path / "b.wav", SpeechOptions(normalize=False))
    assert heard[-1] == text
    narrate_to_file(text, Listening(), tmp_path / "c.wav", SpeechOptions(language="en-us"))
    assert heard[-1] != text
