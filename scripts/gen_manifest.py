"""Pair videos with their soundtracks for training, as the original project's script did.

    python scripts/gen_manifest.py --video-dir data/clips --output data/train.csv

The same as `audio-creator manifest --video-dir DIR --output CSV`.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))  # run from a checkout

from audio_creator import cli

if __name__ == "__main__":
    sys.exit(cli.main(["manifest", *sys.argv[1:]]))
