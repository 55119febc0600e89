"""Speech engines: load time and real-time factor (seconds of speech per second of work).

For every engine that can run here, times loading the voice (in a fresh process, so that imports
count) and speaking a ~1,000-character English text to a WAV file (best of N). Piper's own
speed, without our layers, is measured beside ours: the goal is ≥ 10× real time and ≤ 1 s load
for the default voice, without losing Piper's speed in text handling, pauses and writing.

Run: `python bench/tts.py [--repeat N]`; prints JSON.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from audio_creator.errors import AudioCreatorError
from audio_creator.speech import available_engines, create_engine, narrate_to_file
from timing import best_of

TEXT = (
    "Audio Creator gives a video its soundtrack. It listens to the pictures: where the cuts "
    "fall, how fast things move, how bright and warm the colours are. Then it writes music "
    "whose beats land on those cuts, and a voice that tells the story. The mix keeps the words "
    "clear, ducking the music under the speech and bringing the whole programme to a broadcast "
    "loudness. Everything runs on an ordinary laptop, offline, right after installation. "
    "Better models can be added later, when weights or an API key are at hand; the same "
    "commands then give better results. This paragraph is long enough to measure how quickly "
    "a voice speaks, and varied enough to use most of the sounds of English: numbers like 42, "
    "questions, exclamations! And quieter, thoughtful asides."
)


def load_seconds(engine: str) -> float:
    """Import and load the engine's voice in a fresh interpreter."""
    code = (
        "import time; t = time.perf_counter(); from audio_creator.speech import create_engine; "
        f"create_engine({engine!r}); print(time.perf_counter() - t)"
    )
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return float(done.stdout.strip().splitlines()[-1])


def piper_alone(repeat: int) -> float | None:
    """Piper's own real-time factor on the same text (the bundled voice, no layers of ours)."""
    from audio_creator.speech.piper_voice import bundled_voice

    model = bundled_voice()
    if model is None:
        return None
    from piper import PiperVoice

    voice = PiperVoice.load(model, model.with_name(model.name + ".json"))
    frames: list[int] = []

    def speak() -> None:
        frames.append(sum(c.audio_float_array.size for c in voice.synthesize(TEXT)))

    speak()  # warm-up, as for ours
    seconds = best_of(repeat, speak)
    return frames[-1] / voice.config.sample_rate / seconds


def measure(name: str, repeat: int) -> dict[str, object]:
    """One engine's figures, or why it cannot run here."""
    try:
        engine = create_engine(name)
    except AudioCreatorError as exc:  # installed, but without voice files here
        return {"unavailable": str(exc)}
    durations: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / f"{name}.wav"

        def speak() -> None:
            durations.append(narrate_to_file(TEXT, engine, out).duration_s)

        speak()  # warm-up: the first run of an ONNX session is slower
        seconds = best_of(repeat, speak)
    return {
        "voice": engine.description,
        "load_s": round(load_seconds(name), 3),
        "speech_s": round(durations[-1], 2),
        "real_time_factor": round(durations[-1] / seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--engine", help=argparse.SUPPRESS)  # one engine, in its own process
    args = parser.parse_args()
    if args.engine:
        print(json.dumps(measure(args.engine, args.repeat)))
        return
    report: dict[str, object] = {"text_characters": len(TEXT)}
    for name, lack in available_engines().items():
        if lack is not None:
            report[name] = {"unavailable": lack}
            continue
        # Each engine in a process of its own: espeak-ng has one state per process, which the
        # espeak and pyttsx3 engines would otherwise share.
        command = [sys.executable, __file__, "--engine", name, "--repeat", str(args.repeat)]
        done = subprocess.run(command, check=True, capture_output=True, text=True)
        report[name] = json.loads(done.stdout.strip().splitlines()[-1])
    rtf = piper_alone(args.repeat)
    report["piper_alone_real_time_factor"] = round(rtf, 1) if rtf else None
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
