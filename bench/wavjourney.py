"""How long `audio-creator wavjourney` takes, offline, from an instruction to a mixed WAV.

The goal: the issue's example ("A 15-second cinematic intro with rain, thunder and a narrator
saying 'Welcome back'") in ≤ 10 s on a 2-core machine, in a fresh process (start-up included).
Beside it, the time to render the same script again with `--script` (no planning), and the
real-time factor (seconds of programme per second of work).

Run: `python bench/wavjourney.py [--repeat N]`; prints JSON.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from timing import best_of

INSTRUCTIONS = (
    "A 15-second cinematic intro with rain, thunder and a narrator saying 'Welcome back'",
    "One minute of lo-fi study music with soft rain and 'Time to focus.' at the start",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for number, instruction in enumerate(INSTRUCTIONS):
            out = Path(folder) / f"w{number}.wav"
            base = [sys.executable, "-m", "audio_creator.cli", "--log-level", "WARNING"]
            planned = [*base, "wavjourney", "--planner", "rules", "--instruction", instruction]
            seconds = best_of(
                args.repeat, lambda c=planned, o=out: subprocess.run([*c, "-o", str(o)], check=True)
            )
            report = json.loads(out.with_name(out.stem + "_report.json").read_text())
            script = out.with_name(out.stem + "_script.json")
            rendered = out.with_name(out.stem + "_again.wav")
            again = [*base, "wavjourney", "--script", str(script), "-o", str(rendered)]
            rerender = best_of(args.repeat, lambda c=again: subprocess.run(c, check=True))
            results.append({
                "instruction": instruction,
                "programme_s": report["duration_s"],
                "items": len(report["items"]),
                "seconds": round(seconds, 2),
                "script_only_seconds": round(rerender, 2),
                "real_time_factor": round(report["duration_s"] / seconds, 1),
            })  # fmt: skip
    print(json.dumps({"goal": "first instruction in <= 10 s", "runs": results}, indent=2))


if __name__ == "__main__":
    main()
