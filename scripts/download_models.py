"""Fetch model weights into the models folder, as the original project's script did.

    python scripts/download_models.py                    # MusicGen small, VidMuse, CLIP, CLAP
    python scripts/download_models.py musicgen-medium    # or any names from `models list`

The same as `audio-creator models download NAME…` (it needs the internet).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))  # run from a checkout

from audio_creator import cli

DEFAULT = ["musicgen-small", "vidmuse", "clip-vit-b32", "clap"]

if __name__ == "__main__":
    sys.exit(cli.main(["models", "download", *(sys.argv[1:] or DEFAULT)]))
