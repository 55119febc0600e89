"""Whether a voice can read a text's script, and which language a text needs.

A voice given letters of a script it does not know reads their names ("arabic meem, arabic
raa…"). So before anything is spoken the text's letters are counted by script (`script.detect`):

- with no `--language`, a text mostly in another script than Latin asks for the language of that
  script (Arabic → ar, Han → zh, kana → ja, …), and "auto" picks a voice that speaks it;
- a voice that would read more than MAX_UNREAD of the letters as letter names is refused, with a
  message naming the script found and the languages that can be spoken here.

What a voice reads: espeak-ng is the phonemiser of the espeak, Piper and Kokoro engines, so what
it reads is what they read (measured with espeak-ng 1.52): its language's own script; Latin too
(it switches to English for Latin words), except in Japanese and Burmese, which spell Latin
letter by letter; Japanese kana but not kanji, Korean Hangul but not hanja (both are read
"Chinese letter"). Every other script is read as letter names. An engine with a text front-end of
its own says what it reads with a `reads(language)` method.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace

from audio_creator.errors import AudioCreatorError, ConfigError, MediaError
from audio_creator.speech.engine import (
    AUTO_ORDER,
    ENGINES,
    SpeechEngine,
    SpeechOptions,
    create_engine,
)
from audio_creator.speech.script import SCRIPT_LANGUAGES, Letters, Writing, language_scripts

logger = logging.getLogger(__name__)

# A voice may leave this share of a text's letters unread (read as letter names, at worst): a
# foreign word or name in a sentence, not a foreign text.
MAX_UNREAD = 0.3
# espeak-ng spells Latin letter by letter in these languages, and reads no kanji or hanja in these.
_SPELLS_LATIN = frozenset({"ja", "my"})
_NO_HAN = frozenset({"ja", "ko"})
# Languages asked about when telling which ones can be spoken here.
_COMMON = ("en", "de", "fr", "es", "it", "pt", "nl", "sv", "pl", "cs", "tr", "vi", "id", "sw")
_SHOWN = 12  # languages named per engine in a message


def espeak_reads(language: str) -> frozenset[str]:
    """The scripts espeak-ng reads in `language` (see the module docstring)."""
    base = language.lower().replace("_", "-").split("-")[0]
    scripts = set(language_scripts(language))
    if base in _NO_HAN:
        scripts.discard("Han")
    if base not in _SPELLS_LATIN:
        scripts.add("Latin")
    return frozenset(scripts)


def reads(engine: SpeechEngine, language: str) -> frozenset[str]:
    """The scripts `engine` reads aloud when it speaks `language`."""
    own = getattr(engine, "reads", None)
    return frozenset(own(language)) if callable(own) else espeak_reads(language)


def voice_language(engine: SpeechEngine, options: SpeechOptions) -> str | None:
    """The language `engine` will speak with `options`, as the engine names it ("zh" is espeak-ng's
    "cmn"): the one asked for, else the voice's own (None when the voice does not say)."""
    chosen = getattr(engine, "spoken_language", None)  # engines that resolve it themselves
    if callable(chosen):
        return str(chosen(options))
    if options.language:
        return options.language
    own = getattr(engine, "language", None)
    if isinstance(own, str) and own and own != "und":
        return own
    return "en" if engine.speaks("en") else None


def needed_writing(letters: Letters) -> Writing | None:
    """The writing system a text needs a voice for, when a Latin-script voice would leave more
    than MAX_UNREAD of its letters unread; None for a text that such a voice reads."""
    if letters.outside(("Latin",)) <= MAX_UNREAD:
        return None
    return letters.writing(excluding=("Latin",))


def fit_options(letters: Letters, engine: SpeechEngine, options: SpeechOptions) -> SpeechOptions:
    """`options` for speaking a text whose letters are `letters` with `engine`: with no language
    asked, the text's own when the engine speaks it (Arabic text → "ar").

    Raises:
        ConfigError: the voice would read more than MAX_UNREAD of the letters as letter names;
            the message names the script and the languages that can be spoken here.
    """
    writing = needed_writing(letters) if not options.language else None
    if writing is not None and writing.language and engine.speaks(writing.language):
        options = replace(options, language=writing.language)
    language = voice_language(engine, options)
    if language is None:  # a voice that does not say what it speaks: take it at its word
        return options
    read = reads(engine, language)
    if letters.outside(read) > MAX_UNREAD:
        raise ConfigError(refusal(letters, engine, language, read))
    return options


def refusal(
    letters: Letters,
    engine: SpeechEngine | None,
    language: str | None,
    read: frozenset[str] = frozenset(),
    voices: list[SpeechEngine] | None = None,
) -> str:
    """Why a text whose letters are `letters` cannot be spoken by `engine` in `language` (which
    reads the `read` scripts; engine None: by no voice here), and what can: one line, for a
    ConfigError. `voices` are the voices here, if they were made already."""
    unread = letters.writing(excluding=read) or letters.writing()
    if unread is None:
        return "the text has no letters to speak"
    share = letters.outside(read) if read else unread.share
    head = f"{share:.0%} of the text's letters are in {unread.name}"
    if engine is not None:
        speaking = "" if f"({language})" in engine.description else f", speaking {language},"
        head += f", which {engine.description}{speaking} would read out as letter names"
    whole = letters.writing(excluding=("Latin",)) or unread
    if voices is None:
        voices = [*([engine] if engine is not None else []), *voices_here(exclude=engine)]
    found = _readers_here(letters, whole, voices)
    if found:
        name, code = found[0]
        others = sorted({c for _, c in found[1:]} - {code})[:5]
        also = f" (or {', '.join(others)})" if others else ""
        return (
            f"{head}; {name} speaks it here as {code!r}{also}: give --language {code} "
            f"--engine {name}"
        )
    partly = ""
    if whole.language is not None:  # a voice that speaks the language, but not all its letters
        for voice in voices:
            if voice.speaks(whole.language):
                known = " and ".join(sorted(reads(voice, whole.language) & set(whole.scripts)))
                partly = f" ({voice.description} speaks {whole.language} but reads {known} only)"
                break
    hint = ""
    if ENGINES.missing("espeak") is not None:
        hint = "; espeak-ng reads most scripts: pip install espeakng-loader"
    return (
        f"{head}, and no voice here reads {whole.name}{partly}; the languages that can be "
        f"spoken here: {languages_here(voices)}. Choose a voice that reads it with --engine "
        f"and --language{hint}"
    )


def voices_here(exclude: SpeechEngine | None = None) -> Iterator[SpeechEngine]:
    """Each engine of the auto order that can be made here, best first (but `exclude`'s)."""
    for name in AUTO_ORDER:
        if (exclude is not None and name == exclude.name) or ENGINES.missing(name) is not None:
            continue
        try:
            yield ENGINES.create(name)
        except MediaError as exc:  # its files are there but broken: say so
            logger.warning("%s cannot speak here: %s", name, exc)
        except AudioCreatorError as exc:  # no voice files for it here
            logger.debug("%s cannot speak here: %s", name, exc)


def pick_voice(
    letters: Letters, language: str, options: SpeechOptions, from_text: bool
) -> SpeechEngine:
    """For "auto": the best voice here that speaks `language` and reads the text's letters
    (`from_text`: the language was found from them, not asked for).

    Raises:
        ConfigError: no voice here does (the message says which can, and what they speak).
        BackendUnavailable: no engine can run here at all.
    """
    made: list[SpeechEngine] = []
    partial = None  # the first voice that speaks the language, if none reads the text
    for voice in voices_here():
        made.append(voice)
        if not voice.speaks(language):
            continue
        spoken = voice_language(voice, replace(options, language=language))
        if spoken is None or letters.outside(reads(voice, spoken)) <= MAX_UNREAD:
            logger.info("speech engine: %s (%s)", voice.name, voice.description)
            return voice
        partial = partial or (voice, spoken)
    if not made:
        return create_engine("auto", language=language)  # raises: it says what is missing
    if partial is not None:
        voice, spoken = partial
        raise ConfigError(refusal(letters, voice, spoken, reads(voice, spoken), made))
    if from_text:
        raise ConfigError(refusal(letters, None, None, voices=made))
    raise ConfigError(
        f"no installed voice speaks {language!r} (tried: {', '.join(v.name for v in made)}); "
        f"the languages that can be spoken here: {languages_here(made)}"
    )


def _readers_here(
    letters: Letters, writing: Writing, voices: list[SpeechEngine]
) -> list[tuple[str, str]]:
    """(engine name, language) for each of `voices` that would read the text, best first."""
    script = writing.scripts[0]
    codes = _COMMON if script == "Latin" else SCRIPT_LANGUAGES.get(script, ())
    return [
        (voice.name, code)
        for voice in voices
        for code in codes
        if voice.speaks(code) and letters.outside(reads(voice, code)) <= MAX_UNREAD
    ]


def languages_here(voices: list[SpeechEngine] | None = None) -> str:
    """The languages `voices` (default: every voice here) speak, voice by voice:
    "en (piper …); ar, de, … (espeak-ng)"; "none" if there is none."""
    if voices is None:
        voices = list(voices_here())
    codes = list(dict.fromkeys((*_COMMON, *(c for cs in SCRIPT_LANGUAGES.values() for c in cs))))
    parts = []
    for voice in voices:
        spoken = [c for c in codes if voice.speaks(c)]
        own = getattr(voice, "language", None)
        if not spoken and isinstance(own, str):
            spoken = [own]
        more = f" and {len(spoken) - _SHOWN} more" if len(spoken) > _SHOWN else ""
        if spoken:
            parts.append(f"{', '.join(spoken[:_SHOWN])}{more} ({voice.description})")
    return "; ".join(parts) or "none"
