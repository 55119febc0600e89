"""The offline evaluation's cost: embedding 100 clips of 10 s with the `dsp` backend, without and
with the embedding cache, beside librosa computing comparable descriptors (log-mel, chroma,
onset strength and tempo) of the same clips.

Run: `python bench/eval.py [--clips 100] [--seconds 10]`; prints JSON.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from audio_creator.eval import embeddings
from audio_creator.eval.metrics import frechet_distance


def make_clips(folder: Path, count: int, seconds: float) -> list[Path]:
    """Tones, chords and clicks at different pitches and tempi (32 kHz stereo)."""
    rng = np.random.default_rng(0)
    rate = 32000
    t = np.arange(round(seconds * rate)) / rate
    paths = []
    for k in range(count):
        notes = 110.0 * 2 ** (rng.integers(0, 36, 3) / 12)
        chord = sum(np.sin(2 * np.pi * f * t) for f in notes) / 6
        beat = 60.0 / rng.uniform(70, 160)
        clicks = (np.mod(t, beat) < 0.01) * rng.normal(size=t.size) * 0.3
        signal = np.stack([chord + clicks, chord - clicks]).T.astype(np.float32)
        path = folder / f"clip{k:03d}.wav"
        sf.write(path, signal, rate)
        paths.append(path)
    return paths


def librosa_descriptors(path: Path) -> np.ndarray:
    import librosa

    y, rate = librosa.load(path, sr=16000, mono=True)
    mel = librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=rate, n_mels=64))
    chroma = librosa.feature.chroma_stft(y=y, sr=rate)
    onsets = librosa.onset.onset_strength(y=y, sr=rate)
    tempo = librosa.feature.tempo(onset_envelope=onsets, sr=rate)
    return np.concatenate([mel.mean(1), mel.std(1), chroma.mean(1), tempo, [onsets.mean()]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        paths = make_clips(Path(folder), args.clips, args.seconds)
        cache_file = Path(folder) / "cache.npz"
        embedder = embeddings.create("dsp")
        figures: dict[str, float | int] = {"clips": args.clips, "seconds": args.seconds}

        started = time.perf_counter()
        cache = embeddings.Cache()
        vectors = np.stack([cache.get(embedder, p) for p in paths])
        cache.save(cache_file)
        figures["dsp_s"] = round(time.perf_counter() - started, 2)

        started = time.perf_counter()
        cached = embeddings.Cache(cache_file)
        again = np.stack([cached.get(embedder, p) for p in paths])
        figures["dsp_cached_s"] = round(time.perf_counter() - started, 3)
        assert cached.misses == 0 and np.array_equal(vectors, again)

        started = time.perf_counter()
        half = len(paths) // 2
        figures["frechet"] = round(frechet_distance(vectors[:half], vectors[half:]), 3)
        figures["frechet_s"] = round(time.perf_counter() - started, 4)

        started = time.perf_counter()
        for path in paths:
            librosa_descriptors(path)
        figures["librosa_s"] = round(time.perf_counter() - started, 2)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
