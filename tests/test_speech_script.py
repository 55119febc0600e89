"""Scripts and voices: text in a script a voice cannot read is spoken by one that can, or refused
(exit 2) with a message naming the script and the languages spoken here, never read out as
letter names ("arabic meem, arabic raa…") or dropped."""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path

import pytest
import soundfile as sf

from audio_creator import cli
from audio_creator.errors import ConfigError
from audio_creator.speech import SpeechOptions, create_engine, narrate_to_file
from audio_creator.speech.engine import ENGINES
from audio_creator.speech.language import MAX_UNREAD, espeak_reads, needed_writing
from audio_creator.speech.script import detect, language_scripts, script_of

ARABIC = "مرحبا بكم في هذا الفيديو. هذا هو الجزء الثاني من العرض."
CHINESE = "你好，欢迎观看这个视频。今天天气很好。"
KANA = "こんにちは。ありがとうございます。"
KANJI = "今日は天気がいいです。日本語の文章です。"
MIXED = "The Greek word λόγος means word or reason 🎉, and it gave us the word logic. Lovely!"

needs_espeak = pytest.mark.skipif(
    ENGINES.missing("espeak") is not None, reason="espeak-ng is not installed here"
)


@pytest.fixture
def no_espeak(monkeypatch: pytest.MonkeyPatch) -> None:
    """This machine as one without espeak-ng: its package is not found."""
    real = importlib.util.find_spec

    def find_spec(name: str, *args: object, **kwargs: object) -> object:
        return None if name == "espeakng_loader" else real(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    assert ENGINES.missing("espeak") is not None


def tts(*args: str | Path) -> int:
    return cli.main(["tts", *(str(a) for a in args)])


# The detector


@pytest.mark.parametrize(
    ("text", "name", "language"),
    [
        (ARABIC, "Arabic script", "ar"),
        (CHINESE, "Han (Chinese characters)", "zh"),
        (KANJI, "Japanese kana and kanji", "ja"),
        (KANA, "Japanese kana", "ja"),
        ("안녕하세요. 韓國語", "Korean Hangul", "ko"),
        ("Привет, как дела?", "Cyrillic script", "ru"),
        ("Καλημέρα σας", "Greek script", "el"),
        ("שלום עולם", "Hebrew script", "he"),
        ("नमस्ते दुनिया", "Devanagari script", "hi"),
        ("สวัสดีครับ", "Thai script", "th"),
        ("Hello, world", "Latin script", None),
    ],
    ids=["ar", "zh", "ja-kanji", "ja-kana", "ko", "ru", "el", "he", "hi", "th", "en"],
)
def test_the_dominant_writing_and_its_language(text: str, name: str, language: str) -> None:
    writing = detect(text).writing()
    assert writing is not None
    assert (writing.name, writing.language, writing.share) == (name, language, 1.0)


def test_only_letters_count() -> None:
    # Digits, punctuation, spaces, emoji and combining marks are no letters of any script.
    assert detect("abc 123, ?! 🎉🎉 ☀️ \u0301").counts == {"Latin": 3}
    assert detect("Café Ünïcödé").counts == {"Latin": 11}
    letters = detect("")
    assert (letters.total, letters.writing(), letters.share(["Latin"])) == (0, None, 0.0)
    assert detect("🎉 123").outside(["Latin"]) == 0.0


def test_mixed_text_counts_each_script() -> None:
    letters = detect("Hello مرحبا 你好")
    assert letters.counts == {"Latin": 5, "Arabic": 5, "Han": 2}
    assert letters.share(["Arabic"]) == pytest.approx(5 / 12)
    writing = letters.writing(excluding=["Latin"])
    assert writing is not None and writing.language == "ar"


def test_scripts_outside_the_table_are_named_by_unicode() -> None:
    assert script_of("\U0001e900") == "Adlam"  # ADLAM CAPITAL LETTER ALIF
    assert script_of("ｗ") == "Latin" and script_of("ｶ") == "Kana" and script_of("〆") == "Han"


def test_detection_is_fast_on_a_long_text() -> None:
    text = (ARABIC + " " + MIXED) * 8000  # about a million characters
    started = time.perf_counter()
    letters = detect(text)
    assert time.perf_counter() - started < 2.0
    assert letters.counts["Arabic"] == detect(ARABIC).counts["Arabic"] * 8000


def test_languages_and_the_scripts_their_voices_read() -> None:
    assert language_scripts("en_US") == {"Latin"}
    assert language_scripts("ja") == {"Kana", "Han"}
    assert language_scripts("zh-CN") == language_scripts("cmn") == {"Han"}
    assert language_scripts("sr-Latn") == {"Latin"} and language_scripts("sr") == {"Cyrillic"}
    # espeak-ng (the phonemiser of espeak, Piper and Kokoro) reads Latin in most languages,
    # spells it in Japanese, and reads kanji and hanja as "Chinese letter".
    assert espeak_reads("ar") == {"Arabic", "Latin"}
    assert espeak_reads("ja") == {"Kana"}
    assert espeak_reads("ko") == {"Hangul", "Latin"}
    assert espeak_reads("de") == {"Latin"}


def test_a_few_foreign_letters_do_not_need_another_voice() -> None:
    assert needed_writing(detect(MIXED)) is None
    assert detect(MIXED).outside(["Latin"]) < MAX_UNREAD
    # Past the threshold the foreign script decides.
    mostly_arabic = "This is it: " + ARABIC
    writing = needed_writing(detect(mostly_arabic))
    assert writing is not None and writing.language == "ar"


# Voices and the command line


@needs_espeak
@pytest.mark.parametrize("code", ["zh", "zh-CN", "zh_CN", "zh-Hans-CN", "cmn", "zh-TW"])
def test_chinese_language_codes_find_espeaks_mandarin_voice(code: str) -> None:
    engine = create_engine("espeak")
    assert engine.speaks(code)
    assert engine.spoken_language(SpeechOptions(language=code)) == "cmn"  # type: ignore[attr-defined]
    assert engine.spoken_language(SpeechOptions(language="zh-HK")) == "yue"  # type: ignore[attr-defined]


@needs_espeak
def test_language_zh_is_spoken_by_espeaks_cmn_voice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "zh.wav"
    assert tts("--text", CHINESE, "--language", "zh", "-o", out) == 0
    said = capsys.readouterr().out
    assert "language         cmn" in said and "espeak-ng" in said
    assert_spoken(out, detect(CHINESE).total, per_letter_s=0.45)


def assert_spoken(path: Path, letters: int, per_letter_s: float) -> None:
    """A WAV with speech in it, and short enough not to be letter names (a letter's name takes
    0.5–1 s; a letter's sound, a tenth to a third of that)."""
    samples, rate = sf.read(path, dtype="float32")
    duration = samples.size / rate
    assert 0.5 < duration < letters * per_letter_s, duration
    assert float((samples**2).mean()) ** 0.5 > 0.01


@needs_espeak
@pytest.mark.parametrize(
    ("text", "language", "per_letter_s"),
    [(ARABIC, "ar", 0.3), (CHINESE, "cmn", 0.45), (KANA, "ja", 0.45)],
    ids=["arabic", "chinese", "kana"],
)
def test_text_in_another_script_finds_a_voice_that_speaks_it(
    text: str, language: str, per_letter_s: float, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    out, srt = tmp_path / "speech.wav", tmp_path / "speech.srt"
    assert tts("--text", text, "-o", out, "--subtitles", srt) == 0
    said = capsys.readouterr().out
    assert f"language         {language}" in said and "voice            espeak-ng" in said
    assert "sentences        2" in said
    assert_spoken(out, detect(text).total, per_letter_s)


@needs_espeak
def test_japanese_with_kanji_is_refused_where_no_voice_reads_kanji(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "new" / "ja.wav"
    assert tts("--text", KANJI, "-o", out) == 2
    said = capsys.readouterr().err
    assert "of the text's letters are in Han (Chinese characters)" in said
    assert "no voice here reads Japanese kana and kanji" in said
    assert "espeak-ng speaks ja but reads Kana only" in said
    assert "the languages that can be spoken here: " in said and "en (piper" in said
    assert "--engine and --language" in said
    assert len([line for line in said.splitlines() if "ERROR" in line]) == 1  # one line
    assert not out.parent.exists()


@needs_espeak
@pytest.mark.parametrize(
    "extra",
    [["--engine", "piper"], ["--language", "en"], ["--engine", "espeak", "--language", "de"]],
)
def test_a_voice_that_cannot_read_the_script_is_refused(
    extra: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "new" / "ar.wav"
    assert tts("--text", ARABIC, *extra, "-o", out) == 2
    said = capsys.readouterr().err
    assert "100% of the text's letters are in Arabic script" in said
    assert "would read out as letter names" in said
    assert "espeak speaks it here as 'ar'" in said and "--language ar --engine espeak" in said
    assert not out.parent.exists()


def test_without_espeak_other_scripts_are_refused_naming_what_can_be_spoken(
    no_espeak: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "new" / "x.wav"
    for text in (ARABIC, CHINESE, KANA):
        assert tts("--text", text, "-o", out) == 2
        said = capsys.readouterr().err
        assert "100% of the text's letters are in" in said and "no voice here reads" in said
        assert "the languages that can be spoken here: en (piper en_US-joe-medium" in said
        assert "pip install espeakng-loader" in said
    assert tts("--text", CHINESE, "--language", "zh", "-o", out) == 2
    said = capsys.readouterr().err
    assert "no installed voice speaks 'zh'" in said and "spoken here: en (piper" in said
    assert not out.parent.exists()


def test_english_with_an_emoji_and_a_greek_word_is_still_spoken(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "mixed.wav"
    assert tts("--text", MIXED, "-o", out) == 0
    said = capsys.readouterr().out
    assert "voice            piper en_US-joe-medium" in said and "language         en_US" in said
    assert sf.info(out).duration > 2.0


def test_the_library_refuses_too_and_finds_the_language_for_a_voice_that_speaks_it(
    tmp_path: Path,
) -> None:
    piper = create_engine("piper")
    with pytest.raises(ConfigError, match="Arabic script"):
        narrate_to_file(ARABIC, piper, tmp_path / "a.wav")
    assert not (tmp_path / "a.wav").exists()
    if ENGINES.missing("espeak") is None:
        narration = narrate_to_file(ARABIC, create_engine("espeak"), tmp_path / "b.wav")
        assert narration.language == "ar" and len(narration.sentences) == 2


# The autopipeline


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from audio_creator.media.demo import make_demo_video

    return make_demo_video(tmp_path_factory.mktemp("demo") / "demo.mp4")


@needs_espeak
def test_an_arabic_narration_is_spoken_by_the_autopipeline(demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "ar.wav"
    argv = ["autopipeline", "--video", str(demo), "-o", str(out), "--narration", ARABIC]
    assert cli.main(argv) == 0
    speech = json.loads((tmp_path / "ar_report.json").read_text())["speech"]
    assert (speech["engine"], speech["language"]) == ("espeak", "ar")
    assert speech["dropped_sentences"] == 0 and not speech["warnings"]
    assert [s["text"] for s in speech["sentences"]] == [
        "مرحبا بكم في هذا الفيديو.", "هذا هو الجزء الثاني من العرض.",
    ]  # fmt: skip
    lengths = [s["end_s"] - s["start_s"] for s in speech["sentences"]]
    assert all(0.5 < length < 6.0 for length in lengths), lengths  # words, not letter names


@pytest.mark.parametrize(
    ("narration", "extra", "said"),
    [
        (ARABIC, ["--engine", "piper"], "of the text's letters are in Arabic script"),
        (ARABIC, ["--language", "en"], "of the text's letters are in Arabic script"),
        (ARABIC, [], "of the text's letters are in Arabic script"),
        ("😀🎉 ✨", [], "there is no text to speak"),
    ],
)
def test_an_unreadable_narration_is_refused_before_any_work(
    narration: str, extra: list[str], said: str, demo: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
) -> None:  # fmt: skip
    from audio_creator.jobs import pipeline

    if narration == ARABIC and not extra:  # with no voice named, only a machine without
        request.getfixturevalue("no_espeak")  # espeak-ng refuses

    def no_analysis(*_: object, **__: object) -> None:
        raise AssertionError("the video was analysed before the narration was checked")

    monkeypatch.setattr(pipeline, "analyse_video", no_analysis)
    out = tmp_path / "new" / "ar.wav"
    argv = ["autopipeline", "--video", str(demo), "-o", str(out), "--narration", narration,
            *extra]  # fmt: skip
    assert cli.main(argv) == 2
    assert said in capsys.readouterr().err
    assert not out.parent.exists()  # a refused run leaves no folder of its making


@needs_espeak
def test_a_script_line_in_arabic_is_spoken_by_a_voice_that_speaks_it(tmp_path: Path) -> None:
    """In wavjourney, a character left to "auto" has an Arabic line spoken by espeak-ng's Arabic
    voice and an English line by its usual voice; a character whose voice is set keeps it, and
    so is refused the Arabic line rather than reading it as letter names."""
    from audio_creator.plan.execute import render_items
    from audio_creator.plan.script import parse_script

    lines = [{"audio_type": "speech", "character": "Host", "text": ARABIC},
             {"audio_type": "speech", "character": "Host", "text": "Welcome back."}]  # fmt: skip
    rendering = render_items(parse_script({"items": lines}), tmp_path / "speech.wav")
    arabic, english = (rendering.audio[i] for i in (0, 1))
    assert arabic.duration_s > 1.5 and english.duration_s > 0.3  # both spoken, not silent
    assert [i.measured_lufs is not None for i in rendering.items] == [True, True]

    fixed = {"items": lines[:1], "characters": {"Host": {"engine": "piper"}}}
    with pytest.raises(ConfigError, match="Arabic"):
        render_items(parse_script(fixed), tmp_path / "speech.wav")
