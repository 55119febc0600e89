"""The same music through every General MIDI SoundFont found here: how each sounds, in figures.

One score per style (20 s, seed 0, cuts every 4 s) is rendered, before any mastering, with each
font the discovery finds (`audio-creator soundfonts`; the bundled TimGM6mb always among them).
For each font: its size, the programs the styles play that it lacks, how long it takes to load
and render, and per style the integrated loudness (BS.1770, our meter) and the spectrum's
centroid and 95 % roll-off, with the share of energy above 5 kHz (the bundled font's 22 kHz
samples are dull beside a bigger bank's). Install a better font (Debian:
`musescore-general-soundfont-small` or `fluid-soundfont-gm`) to compare.

Run: `python bench/soundfonts.py`; prints JSON.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from audio_creator.audio import Audio
from audio_creator.dsp.loudness import integrated_lufs
from audio_creator.music import MusicRequest
from audio_creator.music.procedural import ProceduralBackend
from audio_creator.music.procedural.render import render
from audio_creator.music.procedural.soundfonts import found
from audio_creator.music.procedural.styles import STYLES

RATE = 48000


def spectrum_figures(samples: np.ndarray) -> dict[str, float]:
    mono = samples.mean(axis=0)
    power = np.abs(np.fft.rfft(mono * np.hanning(mono.size))) ** 2
    freqs = np.fft.rfftfreq(mono.size, 1 / RATE)
    total = float(power.sum())
    cumulative = np.cumsum(power) / total
    return {
        "centroid_hz": round(float((freqs * power).sum() / total)),
        "rolloff95_hz": round(float(freqs[np.searchsorted(cumulative, 0.95)])),
        "energy_above_5khz": round(float(power[freqs > 5000].sum() / total), 4),
    }


def main() -> None:
    from beats import analysis_with_cuts  # (the bench beside this one)

    backend = ProceduralBackend()
    analysis = analysis_with_cuts(np.arange(4.0, 18.0, 4.0), 20.0)
    scores = {name: backend.compose(MusicRequest(20.0, analysis, style=name, seed=0))[0]
              for name in STYLES}  # fmt: skip
    report = []
    for font in found():
        started = time.perf_counter()
        styles = {}
        for name, score in scores.items():
            samples = render(score, sample_rate=RATE, soundfont=font.path,
                             reverb=STYLES[name].reverb)  # fmt: skip
            styles[name] = {
                "lufs": round(integrated_lufs(Audio(samples, RATE)), 1),
                **spectrum_figures(samples),
            }
        report.append({
            "font": font.name, "path": str(font.path), "bundled": font.bundled,
            "size_mb": round(font.size_bytes / 2**20, 1),
            "general_midi": font.general_midi, "missing_programs": font.missing_programs(),
            "render_s_all_styles": round(time.perf_counter() - started, 2),
            "styles": styles,
        })  # fmt: skip
    print(json.dumps({"seconds_per_piece": 20.0, "fonts": report}, indent=2))


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    main()
