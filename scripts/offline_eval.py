"""Evaluate soundtracks against their videos, as the original project's script did.

    python scripts/offline_eval.py --manifest data/test.csv --metrics sim,retrieval,dist \
        --reference-audio-dir data/train --audio-backend clap --compute-map-ndcg

The same as `audio-creator eval …` (see `audio-creator eval --help`).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))  # run from a checkout

from audio_creator import cli

if __name__ == "__main__":
    sys.exit(cli.main(["eval", *sys.argv[1:]]))
