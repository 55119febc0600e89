"""Fine-tune VidMuse (or MusicGen) with a LoRA adapter, as the original project's script did.

    python scripts/train_lora_vidmuse.py --manifest data/train.csv --epochs 1 --rank 4 \
        --alpha 16 --lr 5e-4 --batch-size 1 --grad-accum 1 --output lora/vidmuse.pt --device cuda

The same as `audio-creator train-lora …` (see `audio-creator train-lora --help`).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))  # run from a checkout

from audio_creator import cli

if __name__ == "__main__":
    sys.exit(cli.main(["train-lora", *sys.argv[1:]]))
