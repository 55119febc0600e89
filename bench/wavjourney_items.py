"""wavjourney with many items: time and peak memory against the number of items.

Writes scripts of N short sound effects (impacts of 0.3 s, one every GAP seconds) and renders
each with `audio-creator wavjourney --script` in a process of its own under `/usr/bin/time -v`.
Prints JSON: per run the wall and CPU seconds and the peak RSS, seconds per 1,000 items, and the
ratio of the largest run's time to the smallest's against the ratio of their sizes (linear:
about equal).

Two costs add up: each item is made and set to its loudness (about 1 ms on each core), and the
programme is mixed and mastered (about 7 ms per second of programme on two cores, whatever it
holds). The default GAP of 0.1 s keeps the second small, so the figures are the items' own;
`--gap 0.5` spreads 10,000 items over 83 minutes, where mixing the length dominates.

The code before this work (as the issue measured it): 500 items 30 s, 1,000 items 120 s,
3,000 items over 300 s. Goal: 10,000 items in 30 s or less.

Run: `python bench/wavjourney_items.py [--items 1000,2000,5000,10000] [--gap 0.1]`.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from long import timed  # bench/long.py: GNU time's figures for one command

BEFORE_S = {500: 30, 1000: 120, 3000: "> 300"}


def render(folder: Path, count: int, gap: float) -> dict[str, float]:
    items = [{"audio_type": "sound_effect", "desc": "impact", "len": 0.3, "start": k * gap,
              "vol": -20} for k in range(count)]  # fmt: skip
    script = folder / f"items{count}.json"
    script.write_text(json.dumps({"items": items}))
    output = folder / f"out{count}.wav"
    return timed([sys.executable, "-m", "audio_creator.cli", "--log-level", "WARNING",
                  "wavjourney", "--script", str(script), "-o", str(output)])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", default="1000,2000,5000,10000")
    parser.add_argument("--gap", type=float, default=0.1, help="seconds from item to item")
    args = parser.parse_args()
    counts = [int(n) for n in args.items.split(",")]
    with tempfile.TemporaryDirectory() as scratch:
        runs = {n: render(Path(scratch), n, args.gap) for n in counts}
    small, large = min(counts), max(counts)
    print(json.dumps({
        "gap_s": args.gap,
        "programme_minutes": {n: round(n * args.gap / 60, 1) for n in counts},
        "runs": runs,
        "seconds_per_1000_items": {n: round(1000 * r["seconds"] / n, 2) for n, r in runs.items()},
        "time_ratio": round(runs[large]["seconds"] / runs[small]["seconds"], 2),
        "size_ratio": round(large / small, 2),
        "before_seconds": BEFORE_S,
        "goal": "10,000 items in <= 30 s",
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
