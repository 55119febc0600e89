"""Every mode over a corpus of bad input (issue 19).

The corpus is made once per run: missing files, folders, empty files, MP4s cut short at either
end, text and PNG named .mp4, audio-only and one-frame videos, NaN and one-sample WAVs, empty,
emoji, control, right-to-left and CJK text, numbers out of range. For each (mode, input) case:

- the exit code is the one the table names: 2 for bad input, 0 where the input is valid after
  all (both where either is reasonable, as for Arabic or Chinese text); never 1, an internal
  error (3, a missing backend, is for no case here: they all run offline on what is installed);
- nothing on stderr or stdout is a traceback, and the error is one line, the last one, in the
  program's format (`audio-creator: ERROR: …`, or argparse's `audio-creator CMD: error: …` after
  its usage lines); what comes before it is the program's own warnings, notes and progress;
- the output folder, which holds an unrelated file, is as it was: nothing added (not even a
  hidden temporary file or an empty folder), nothing changed; a run that succeeds leaves its
  outputs there and nothing hidden; and the inputs are never touched.

Cases run in-process (`cli.main`), with stderr captured at the file descriptor, so that what the
native libraries print is seen too.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audio_creator import cli
from helpers import run_ffmpeg, sine

OUT = "<out>"  # the output folder of a case, in an argv template
BAD = frozenset({2})
OK = frozenset({0})
OK_OR_BAD = frozenset({0, 2})  # e.g. Arabic or CJK text: spoken, or refused as unspeakable

# ----------------------------------------------------------------------------------- the corpus

TONE_S = 2.0
RATE = 48000
TEXTS = {
    "empty": "",
    "blank": "  \n\t \n",
    "emoji": "😀🎉🚀",
    "control": "\x07\x1b[31m\x7f\x1b[0m",
    "rtl": "مرحبا بالعالم. هذا اختبار.",
    "cjk": "你好，世界。这是一个测试。",
    "emoji-in-words": "Hello 😀 there.",
    "control-in-words": "Hello\x07 there\x1b[0m.",
    "valid": "Hello there.",
}


def _make_corpus(root: Path) -> dict[str, Path]:
    """name → path; "missing…" names are never created."""
    files: dict[str, Path] = {}

    def put(name: str, data: bytes) -> None:
        files[name] = root / name
        files[name].write_bytes(data)

    for name in ("missing.mp4", "missing.wav", "missing.txt", "missing.json", "missing.csv"):
        files[name] = root / name
    for name in ("folder.mp4", "folder.wav", "folder.txt", "folder.json", "empty-dir"):
        files[name] = root / name
        files[name].mkdir()

    # Videos: moov at the end (ffmpeg's default), so cutting the tail loses the index.
    ok = root / "ok.mp4"
    run_ffmpeg(
        *("-f", "lavfi", "-i", f"color=black:s=64x36:r=25:d={TONE_S}"),
        *("-f", "lavfi", "-i", f"sine=frequency=440:sample_rate={RATE}:duration={TONE_S}"),
        *("-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(ok)),
    )
    files["ok.mp4"] = ok
    data = ok.read_bytes()
    assert data.find(b"moov") > data.find(b"mdat")  # the index is at the end
    put("cut-tail.mp4", data[: len(data) // 2])  # an upload cut short: no index
    put("cut-head.mp4", data[len(data) // 3 :])  # the start lost: no ftyp, mdat half gone
    put("empty.mp4", b"")
    put("text.mp4", b"this is a text file, not a video\n" * 20)
    png = root / "image.png"
    run_ffmpeg("-f", "lavfi", "-i", "color=red:s=16x16", "-frames:v", "1", str(png))
    for suffix in ("mp4", "wav", "txt", "json", "csv"):
        put(f"png.{suffix}", png.read_bytes())
    files["audio-only.mp4"] = root / "audio-only.mp4"
    run_ffmpeg(
        *("-f", "lavfi", "-i", f"sine=frequency=440:sample_rate={RATE}:duration=1.5"),
        *("-c:a", "aac", str(files["audio-only.mp4"])),
    )
    files["one-frame.mp4"] = root / "one-frame.mp4"
    run_ffmpeg(
        *("-f", "lavfi", "-i", "color=black:s=64x36:r=25", "-frames:v", "1"),
        *("-c:v", "libx264", "-pix_fmt", "yuv420p", str(files["one-frame.mp4"])),
    )

    # WAVs.
    tone = sine(440, RATE, TONE_S)[:, None]
    files["tone.wav"] = root / "tone.wav"
    sf.write(files["tone.wav"], tone, RATE, subtype="PCM_16")
    nan = tone.copy()
    nan[::100] = np.nan
    files["nan.wav"] = root / "nan.wav"
    sf.write(files["nan.wav"], nan, RATE, subtype="FLOAT")
    inf = tone.copy()
    inf[RATE // 2] = np.inf
    files["inf.wav"] = root / "inf.wav"
    sf.write(files["inf.wav"], inf, RATE, subtype="FLOAT")
    files["one-sample.wav"] = root / "one-sample.wav"
    sf.write(files["one-sample.wav"], np.array([[0.5]], np.float32), RATE, subtype="FLOAT")
    files["silent.wav"] = root / "silent.wav"
    sf.write(files["silent.wav"], np.zeros((round(RATE * TONE_S), 1)), RATE, subtype="PCM_16")
    wav = files["tone.wav"].read_bytes()
    put("cut-tail.wav", wav[: len(wav) * 3 // 4])  # the header promises more than is there
    put("cut-head.wav", wav[1000:])  # no RIFF header
    put("empty.wav", b"")
    put("text.wav", b"RIFF? no, just text\n" * 20)

    # Text files.
    for name, text in TEXTS.items():
        put(f"{name}.txt", text.encode())
    put("nul.txt", b"\x00\x01\x02\x00\n")
    put("latin1.txt", "Café crème, s'il vous plaît.".encode("latin-1"))

    # Audio scripts (wavjourney --script).
    def script(name: str, items: object) -> None:
        put(name, (items if isinstance(items, str) else json.dumps(items)).encode())

    script("empty.json", "")
    script("text.json", "these are words, not JSON\n")
    script("object.json", {})
    script("no-items.json", [])
    script("nan-len.json", '[{"audio_type": "music", "len": NaN, "desc": "calm"}]')
    script("huge-len.json", [{"audio_type": "music", "len": 1e9, "desc": "calm"}])
    script("loud.json", [{"audio_type": "music", "len": 1.5, "vol": 10, "desc": "calm"}])
    script("negative-start.json", [{"audio_type": "music", "len": 1, "start": -3}])
    script("speech-emoji.json", [{"audio_type": "speech", "text": "😀🎉"}])
    script("speech-rtl.json", [{"audio_type": "speech", "text": TEXTS["rtl"]}])
    script("valid.json", [{"audio_type": "music", "len": 1.5, "desc": "calm piano"}])

    # Manifests and folders of pairs.
    put("empty.csv", b"")
    put("junk.csv", b"this,is\nnot,a manifest\n")
    put("valid.csv", f"video_path,audio_path\n{ok},{files['tone.wav']}\n".encode())
    for name, (video, audio) in {
        "pairs-junk": (files["text.mp4"], files["text.wav"]),
        "pairs-ok": (ok, files["tone.wav"]),
    }.items():
        files[name] = root / name
        files[name].mkdir()
        (files[name] / "1.mp4").write_bytes(video.read_bytes())
        (files[name] / "1.wav").write_bytes(audio.read_bytes())
    return files


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return _make_corpus(tmp_path_factory.mktemp("bad-input"))


# ------------------------------------------------------------------------------------ the cases


@dataclass(frozen=True)
class Case:
    id: str
    argv: tuple[str, ...]  # "<name>" stands for a corpus file, "<out>" for the output folder
    codes: frozenset[int]
    outputs: tuple[str, ...]  # what a successful run leaves in the output folder
    slow: bool = False  # a few seconds of work or more: `-m "not slow"` leaves it out


CASES: list[Case] = []
# What a run of each mode that ends well leaves in the output folder (the names the tables use).
OUTPUTS = {
    "vidmuse": ("music.wav",),
    "autopipeline": ("mix.wav", "mix_music.wav", "mix_narr.wav", "mix_narr.srt", "mix_report.json"),
    "wavjourney": ("mix.wav", "mix_script.json", "mix_report.json"),
    "mix": ("mix.wav",),
    "tts": ("speech.wav",),
    "eval": ("eval/results.json", "eval/results.csv"),
    "manifest": ("pairs.csv",),
}


def case(id_: str, *argv: str, codes: Iterable[int] = BAD, slow: bool = False) -> None:
    CASES.append(Case(id_, argv, frozenset(codes), OUTPUTS.get(argv[0], ()), slow))


# Videos that no mode can use. The one-frame video is a valid file (probe: 0), but 40 ms is no
# length to score: the autopipeline refuses videos under 1 s, and so should every mode that
# makes music of a video's length (vidmuse, wavjourney --video, eval --video).
BAD_VIDEOS = {
    "missing": "<missing.mp4>",
    "directory": "<folder.mp4>",
    "empty": "<empty.mp4>",
    "cut-tail": "<cut-tail.mp4>",
    "cut-head": "<cut-head.mp4>",
    "text-as-mp4": "<text.mp4>",
    "png-as-mp4": "<png.mp4>",
    "audio-only": "<audio-only.mp4>",
}

# probe: reads, writes nothing.
for name, video in BAD_VIDEOS.items():
    case(f"probe-{name}", "probe", video)
case("probe-one-frame", "probe", "<one-frame.mp4>", codes=OK)
case("probe-valid", "probe", "<ok.mp4>", codes=OK)

# vidmuse: music for a video.
VIDMUSE = ("vidmuse", "-o", f"{OUT}/music.wav")
for name, video in {**BAD_VIDEOS, "one-frame": "<one-frame.mp4>"}.items():
    case(f"vidmuse-{name}", *VIDMUSE, "--video", video)
case("vidmuse-valid", *VIDMUSE, "--video", "<ok.mp4>", codes=OK)
for name, args in {
    "duration-negative": ("--duration", "-1"),
    "duration-zero": ("--duration", "0"),
    "duration-nan": ("--duration", "nan"),
    "duration-inf": ("--duration", "inf"),
    "duration-huge": ("--duration", "1e300"),
    "rerank-zero": ("--rerank", "0"),
    "rerank-huge": ("--rerank", "100000"),
    "rerank-topk-zero": ("--rerank-topk", "0"),
    "rerank-topk-over-rerank": ("--rerank-topk", "5"),
    "target-lufs-zero": ("--target-lufs", "0"),
    "target-lufs-nan": ("--target-lufs", "nan"),
    "seed-negative": ("--seed", "-1"),
    "top-k-negative": ("--top-k", "-1"),
    "top-p-over-one": ("--top-p", "2"),
    "temperature-negative": ("--temperature", "-1"),
    "temperature-nan": ("--temperature", "nan"),
    "cfg-coef-inf": ("--cfg-coef", "inf"),
    "lora-scale-huge": ("--lora-scale", "99"),
    "style-unknown": ("--style", "polka-metal"),
    "duration-not-a-number": ("--duration", "ten"),
}.items():
    case(f"vidmuse-{name}", *VIDMUSE, "--video", "<ok.mp4>", *args)

# autopipeline: the whole soundtrack, here with a narration of one's own (no captioner).
AUTO = ("autopipeline", "-o", f"{OUT}/mix.wav")
for name, video in {**BAD_VIDEOS, "one-frame": "<one-frame.mp4>"}.items():
    case(f"autopipeline-{name}", *AUTO, "--video", video, "--narration", TEXTS["valid"])
case("autopipeline-valid", *AUTO, "--video", "<ok.mp4>", "--narration", TEXTS["valid"], codes=OK)
for name, text in TEXTS.items():
    if name == "valid":
        continue
    codes = {"rtl": OK_OR_BAD, "cjk": OK_OR_BAD}.get(name, BAD)
    if name in ("emoji-in-words", "control-in-words"):
        codes = OK
    argv = (*AUTO, "--video", "<ok.mp4>", "--narration", text)
    case(f"autopipeline-narration-{name}", *argv, codes=codes, slow=codes != BAD)
for name, path in {
    "missing": "<missing.txt>",
    "directory": "<folder.txt>",
    "empty": "<empty.txt>",
    "latin1": "<latin1.txt>",
    "png": "<png.txt>",
    "emoji": "<emoji.txt>",
    "nul": "<nul.txt>",
}.items():
    argv = (*AUTO, "--video", "<ok.mp4>", "--narration-file", path)
    case(f"autopipeline-narration-file-{name}", *argv)
for name, args in {
    "speed-huge": ("--speed", "9"),
    "speed-nan": ("--speed", "nan"),
    "ducking-db-nan": ("--ducking-db", "nan"),
    "ducking-db-negative": ("--ducking-db", "-5"),
    "target-lufs-zero": ("--target-lufs", "0"),
    "true-peak-positive": ("--true-peak", "3"),
    "caption-max-len-zero": ("--caption-max-len", "0"),
    "caption-frames-zero": ("--caption-frames", "0"),
    "rerank-zero": ("--rerank", "0"),
    "rerank-topk-zero": ("--rerank-topk", "0"),
    "seed-negative": ("--seed", "-1"),
    "lora-scale-nan": ("--lora-scale", "nan"),
}.items():
    case(f"autopipeline-{name}", *AUTO, "--video", "<ok.mp4>", "--narration", "Hello.", *args)

# wavjourney: an instruction (or a script) rendered into a mix, here with the offline planner.
WJ = ("wavjourney", "-o", f"{OUT}/mix.wav")
INSTRUCTION = "A calm intro with birds."
for name, video in {**BAD_VIDEOS, "one-frame": "<one-frame.mp4>"}.items():
    case(f"wavjourney-video-{name}", *WJ, "--instruction", INSTRUCTION, "--video", video)
case("wavjourney-video-valid", *WJ, "--instruction", INSTRUCTION, "--video", "<ok.mp4>", codes=OK)
for name, text in TEXTS.items():
    # The offline rules plan any words (a language they do not know gives a generic plan);
    # an instruction with nothing in it (blank, or terminal control codes) is refused.
    codes = BAD if name in ("empty", "blank", "control") else OK_OR_BAD
    if name in ("valid", "emoji-in-words", "control-in-words"):
        codes = OK
    slow = name in ("emoji-in-words", "control-in-words", "rtl", "cjk")
    case(f"wavjourney-instruction-{name}", *WJ, "--instruction", text, codes=codes, slow=slow)
for name, path in {
    "missing": "<missing.json>",
    "directory": "<folder.json>",
    "empty": "<empty.json>",
    "text": "<text.json>",
    "png": "<png.json>",
    "object": "<object.json>",
    "no-items": "<no-items.json>",
    "nan-len": "<nan-len.json>",
    "huge-len": "<huge-len.json>",
    "loud": "<loud.json>",
    "negative-start": "<negative-start.json>",
    "speech-emoji": "<speech-emoji.json>",
}.items():
    case(f"wavjourney-script-{name}", *WJ, "--script", path)
case(
    "wavjourney-script-speech-rtl", *WJ, "--script", "<speech-rtl.json>", codes=OK_OR_BAD, slow=True
)
case("wavjourney-script-valid", *WJ, "--script", "<valid.json>", codes=OK)
for name, args in {
    "target-lufs-nan": ("--target-lufs", "nan"),
    "target-lufs-zero": ("--target-lufs", "0"),
    "true-peak-positive": ("--true-peak", "5"),
    "ducking-db-negative": ("--ducking-db", "-1"),
    "ducking-db-nan": ("--ducking-db", "nan"),
    "seed-negative": ("--seed", "-1"),
    "planner-unknown": ("--planner", "oracle"),
}.items():
    case(f"wavjourney-{name}", *WJ, "--instruction", INSTRUCTION, *args)

# mix: music and narration files.
MIX = ("mix", "-o", f"{OUT}/mix.wav")
BAD_AUDIO = {
    "missing": "<missing.wav>",
    "directory": "<folder.wav>",
    "empty": "<empty.wav>",
    "text-as-wav": "<text.wav>",
    "png-as-wav": "<png.wav>",
    "cut-head": "<cut-head.wav>",
    "nan": "<nan.wav>",
    "inf": "<inf.wav>",
    "one-sample": "<one-sample.wav>",
    "video-without-audio": "<one-frame.mp4>",
    "text-as-mp4": "<text.mp4>",
}
for name, audio in BAD_AUDIO.items():
    case(f"mix-music-{name}", *MIX, "--music", audio)
    case(f"mix-speech-{name}", *MIX, "--music", "<tone.wav>", "--speech", audio)
case("mix-valid", *MIX, "--music", "<tone.wav>", "--speech", "<tone.wav>", codes=OK)
case("mix-music-from-video", *MIX, "--music", "<ok.mp4>", codes=OK)
# Silence is valid audio (a mix of it is silent), and so is a WAV cut short (what is there).
case("mix-music-silent", *MIX, "--music", "<silent.wav>", codes=OK_OR_BAD)
case("mix-music-cut-tail", *MIX, "--music", "<cut-tail.wav>", codes=OK_OR_BAD)
case("mix-nothing", *MIX)
case("mix-output-is-input", "mix", "--music", f"{OUT}/keep.wav", "-o", f"{OUT}/keep.wav")
for name, args in {
    "target-lufs-positive": ("--target-lufs", "10"),
    "target-lufs-nan": ("--target-lufs", "nan"),
    "true-peak-positive": ("--true-peak", "5"),
    "duration-negative": ("--duration", "-1"),
    "duration-zero": ("--duration", "0"),
    "duration-nan": ("--duration", "nan"),
    "duration-huge": ("--duration", "1e12"),
    "music-volume-negative": ("--music-volume", "-1"),
    "music-volume-nan": ("--music-volume", "nan"),
    "music-volume-inf": ("--music-volume", "inf"),
    "speech-volume-negative": ("--speech-volume", "-1"),
    "ducking-db-negative": ("--ducking-db", "-1"),
    "ducking-db-nan": ("--ducking-db", "nan"),
    "duck-attack-negative": ("--duck-attack", "-1"),
    "duck-hold-inf": ("--duck-hold", "inf"),
    "crossfade-negative": ("--crossfade", "-1"),
    "fade-in-nan": ("--fade-in", "nan"),
    "speech-over-music-nan": ("--speech-over-music", "nan"),
    "sample-rate-zero": ("--sample-rate", "0"),
    "sample-rate-one": ("--sample-rate", "1"),
    "sample-rate-huge": ("--sample-rate", "10000000"),
    "channels-three": ("--channels", "3"),
}.items():
    case(f"mix-{name}", *MIX, "--music", "<tone.wav>", "--speech", "<tone.wav>", *args)
for name, offset in {"negative": "-5", "nan": "nan", "inf": "inf", "huge": "1e12"}.items():
    case(f"mix-offset-{name}", *MIX, "--music", "<tone.wav>", "--speech", f"<tone.wav>@{offset}")

# tts: text in, narration out.
TTS = ("tts", "-o", f"{OUT}/speech.wav")
for name, text in TEXTS.items():
    codes = {"rtl": OK_OR_BAD, "cjk": OK_OR_BAD}.get(name, BAD)
    if name in ("valid", "emoji-in-words", "control-in-words"):
        codes = OK
    case(f"tts-text-{name}", *TTS, "--text", text, codes=codes)
    if name not in ("valid", "emoji-in-words", "control-in-words"):
        slow = name in ("rtl", "cjk")  # the same text as --text, spoken again
        case(f"tts-file-{name}", *TTS, "--text-file", f"<{name}.txt>", codes=codes, slow=slow)
case("tts-file-valid", *TTS, "--text-file", "<valid.txt>", codes=OK)
for name, path in {
    "missing": "<missing.txt>",
    "directory": "<folder.txt>",
    "nul": "<nul.txt>",
    "latin1": "<latin1.txt>",
    "png": "<png.txt>",
}.items():
    case(f"tts-file-{name}", *TTS, "--text-file", path)
for name, args in {
    "speed-zero": ("--speed", "0"),
    "speed-huge": ("--speed", "10"),
    "speed-negative": ("--speed", "-1"),
    "speed-nan": ("--speed", "nan"),
    "speed-inf": ("--speed", "inf"),
    "speed-not-a-number": ("--speed", "fast"),
    "sample-rate-zero": ("--sample-rate", "0"),
    "sample-rate-huge": ("--sample-rate", "1000000000"),
    "sentence-pause-negative": ("--sentence-pause", "-1"),
    "sentence-pause-nan": ("--sentence-pause", "nan"),
    "paragraph-pause-inf": ("--paragraph-pause", "inf"),
    "subtitles-not-srt": ("--subtitles", f"{OUT}/speech.txt"),
    "output-not-wav": ("-o", f"{OUT}/speech.mp3"),
    "engine-unknown": ("--engine", "shouty"),
    "language-unknown": ("--language", "xx-nowhere"),
}.items():
    case(f"tts-{name}", *TTS, "--text", TEXTS["valid"], *args)

# eval: one video (its music made and measured) or a manifest of pairs.
# manifests eval and train-lora both refuse
BAD_MANIFESTS = {"missing": "<missing.csv>", "empty": "<empty.csv>", "junk": "<junk.csv>",
                 "png": "<png.csv>"}  # fmt: skip
EVAL = ("eval", "--output-dir", f"{OUT}/eval")
for name, video in {**BAD_VIDEOS, "one-frame": "<one-frame.mp4>"}.items():
    case(f"eval-video-{name}", *EVAL, "--video", video)
case("eval-video-valid", *EVAL, "--video", "<ok.mp4>", "--duration", "1", codes=OK)
for name, path in BAD_MANIFESTS.items():
    case(f"eval-manifest-{name}", *EVAL, "--manifest", path)
for name, args in {
    "duration-negative": ("--duration", "-1"),
    "duration-nan": ("--duration", "nan"),
    "rerank-zero": ("--rerank", "0"),
    "num-video-frames-zero": ("--num-video-frames", "0"),
    "target-lufs-nan": ("--target-lufs", "nan"),
    "metrics-unknown": ("--metrics", "vibes"),
}.items():
    case(f"eval-{name}", *EVAL, "--video", "<ok.mp4>", *args)

# manifest: a folder of pairs → CSV.
MANIFEST = ("manifest", "-o", f"{OUT}/pairs.csv")
for name, folder in {
    "missing": "<missing.mp4>",
    "file": "<ok.mp4>",
    "empty": "<empty-dir>",
    "junk-pairs": "<pairs-junk>",
}.items():
    case(f"manifest-{name}", *MANIFEST, "--video-dir", folder)
case("manifest-valid", *MANIFEST, "--video-dir", "<pairs-ok>", codes=OK)

# train-lora: its manifest and its numbers (refused before any model is loaded).
TRAIN = ("train-lora", "-o", f"{OUT}/adapter")
for name, path in BAD_MANIFESTS.items():
    case(f"train-lora-manifest-{name}", *TRAIN, "--manifest", path)
for name, args in {
    "epochs-zero": ("--epochs", "0"),
    "rank-zero": ("--rank", "0"),
    "lr-negative": ("--lr", "-1"),
    "lr-nan": ("--lr", "nan"),
    "batch-size-zero": ("--batch-size", "0"),
    "max-seconds-zero": ("--max-seconds", "0"),
    "cond-dropout-one": ("--cond-dropout", "1"),
    "seed-negative": ("--seed", "-1"),
}.items():
    case(f"train-lora-{name}", *TRAIN, "--manifest", "<valid.csv>", *args)


# ------------------------------------------------------------------------------------ the checks

PROGRAM_ERROR = re.compile(r"audio-creator: ERROR: \S")
USAGE_ERROR = re.compile(r"audio-creator(?: [\w-]+)?: error: \S")
# What may come before the error: the program's own log lines, progress, argparse's usage.
ALLOWED_BEFORE = re.compile(r"audio-creator: (?:WARNING|INFO): |[\w-]+ +done$")


def _snapshot(folder: Path) -> dict[str, tuple[str, int, int]]:
    """Every file and folder under `folder`: kind, size, modification time (ns)."""
    seen: dict[str, tuple[str, int, int]] = {}
    for root, dirs, names in os.walk(folder):
        for name in dirs + names:
            path = Path(root, name)
            st = path.lstat()
            kind = "dir" if path.is_dir() else "file"
            seen[str(path.relative_to(folder))] = (kind, st.st_size, st.st_mtime_ns)
    return seen


def _diff(before: dict[str, object], after: dict[str, object]) -> str:
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = sorted(k for k in set(before) & set(after) if before[k] != after[k])
    return f"added {added}, removed {removed}, changed {changed}"


def _run(argv: list[str]) -> tuple[int, bool]:
    """Exit code, and whether argparse ended the run (a usage error)."""
    try:
        return cli.main(argv), False
    except SystemExit as ended:
        code = ended.code if isinstance(ended.code, int) else 1
        return code, True


def _check_error_text(err: str, usage: bool) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines, "no message at all on stderr"
    last = lines[-1]
    if usage:
        assert USAGE_ERROR.match(last), f"not argparse's one-line error: {last!r}\n{err}"
        start = next((i for i, line in enumerate(lines) if line.startswith("usage:")), None)
        assert start is not None, err
        before = lines[:start]
    else:
        assert PROGRAM_ERROR.match(last), f"the last line is not the error: {last!r}\n{err}"
        before = lines[:-1]
    errors = [line for line in lines if PROGRAM_ERROR.match(line) or USAGE_ERROR.match(line)]
    assert len(errors) == 1, f"more than one error line:\n{err}"
    stray = [line for line in before if not ALLOWED_BEFORE.match(line)]
    assert not stray, f"stderr lines that are not the program's: {stray}\n{err}"


@pytest.mark.parametrize(
    "c", [pytest.param(c, id=c.id, marks=[pytest.mark.slow] if c.slow else []) for c in CASES]
)
def test_bad_input(
    c: Case,
    corpus: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AUDIO_CREATOR_MODELS", str(tmp_path / "models"))  # no weights here
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)  # no .env of the checkout's; nothing written beside the tests
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("an unrelated file that must stay as it is\n")
    sf.write(out / "keep.wav", sine(440, RATE, 1.5)[:, None], RATE)  # an input for one case
    corpus_root = corpus["ok.mp4"].parent
    outputs_before, corpus_before = _snapshot(out), _snapshot(corpus_root)

    def fill(arg: str) -> str:
        arg = arg.replace(OUT, str(out))
        return re.sub(r"<([\w.-]+)>", lambda m: str(corpus.get(m[1], m[0])), arg)

    code, usage = _run([fill(a) for a in c.argv])
    stdout, stderr = capfd.readouterr()
    shown = f"exit {code}; stderr:\n{stderr}"

    assert "Traceback" not in stderr + stdout, shown
    assert code in c.codes, f"expected exit {sorted(c.codes)}, got {shown}"
    assert _snapshot(corpus_root) == corpus_before, "an input was changed"
    after = _snapshot(out)
    if code != 0:
        _check_error_text(stderr, usage)
        assert after == outputs_before, f"the output folder changed: {_diff(outputs_before, after)}"
        return
    assert not re.search(r": (ERROR|error): ", stderr), shown
    for name in ("keep.txt", "keep.wav"):
        assert after[name] == outputs_before[name], f"{name} was touched"
    hidden = [name for name in after if any(p.startswith(".") for p in Path(name).parts)]
    assert not hidden, f"hidden files left behind: {hidden}"
    for name in c.outputs:
        assert (out / name).is_file() and (out / name).stat().st_size > 0, f"no {name}: {shown}"


def test_the_table_covers_every_mode() -> None:
    """Each mode of issue 19 has cases, and each case id is unique."""
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    modes = {c.argv[0] for c in CASES}
    assert {"probe", "tts", "mix", "vidmuse", "wavjourney", "autopipeline", "eval"} <= modes
    assert modes <= cli.available_commands()
