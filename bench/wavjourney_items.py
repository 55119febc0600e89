"""wavjourney with many items: time against the number of items (it should grow linearly).

Writes scripts of N short sound effects (impacts of 0.3 s every 0.5 s) and renders each with
`audio-creator wavjourney --script`, in a process of its own. Prints JSON: seconds per run and
seconds per 1,000 items, with the ratio of the largest run's time to the smallest's against the
ratio of their sizes (linear: about equal).

Run: `python bench/wavjourney_items.py [--items 250,500,1000,2000]`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def render(folder: Path, count: int) -> float:
    items = [{"audio_type": "sound_effect", "desc": "impact", "len": 0.3, "start": k * 0.5,
              "vol": -20} for k in range(count)]  # fmt: skip
    script = folder / f"items{count}.json"
    script.write_text(json.dumps({"items": items}))
    command = [sys.executable, "-m", "audio_creator.cli", "--log-level", "WARNING", "wavjourney",
               "--script", str(script), "-o", str(folder / f"out{count}.wav")]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", default="250,500,1000,2000")
    counts = [int(n) for n in parser.parse_args().items.split(",")]
    with tempfile.TemporaryDirectory() as scratch:
        seconds = {n: round(render(Path(scratch), n), 2) for n in counts}
    small, large = min(counts), max(counts)
    print(json.dumps({
        "seconds": seconds,
        "seconds_per_1000_items": {n: round(1000 * s / n, 2) for n, s in seconds.items()},
        "time_ratio": round(seconds[large] / seconds[small], 2),
        "size_ratio": round(large / small, 2),
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
