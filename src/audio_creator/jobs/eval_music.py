"""The music of eval's single mode: one video, its music made here by the base model and with an
adapter, both judged the same way (`audio-creator eval --video V [--lora-path A]`). It lives
with the jobs, as it runs one (vidmuse); `eval.run.evaluate` is handed it and only judges."""

from __future__ import annotations

import logging
from pathlib import Path

from audio_creator.eval.run import Single
from audio_creator.pairs import Row

logger = logging.getLogger(__name__)


def make_music(single: Single, folder: Path, device: str) -> tuple[list[Row], list[str]]:
    """(manifest rows of the video with each piece made, the variants' names): `base.wav`
    and/or `lora.wav` in `folder`. With an adapter, both come from the backend it was made
    for, so the comparison is of the adapter alone."""
    from audio_creator.jobs.music_for_video import VidmuseOptions, run_vidmuse
    from audio_creator.music import lora

    backend = single.backend
    if single.lora is not None and backend == "auto":
        backend = lora.kind_of(single.lora)
    variants = ([] if single.skip_base else ["base"]) + ([] if single.lora is None else ["lora"])
    rows, names = [], []
    for variant in variants:
        out = folder / f"{variant}.wav"
        result = run_vidmuse(
            VidmuseOptions(
                video=single.video, output=out, duration_s=single.duration_s, backend=backend,
                rerank=single.rerank, lora=single.lora if variant == "lora" else None,
                device=device, music_model=single.music_model,
            )
        )  # fmt: skip
        logger.info("%s: %s music in %s", variant, result.backend, out)
        rows.append(Row(single.video, out, 0.0))
        names.append(variant)
    return rows, names
