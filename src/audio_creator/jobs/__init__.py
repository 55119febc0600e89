"""Every mode as a Python function: what the command line runs, and the web, and a batch.

```python
from audio_creator import jobs

result = jobs.autopipeline(video="clip.mp4", output="out/clip.wav", merge_video=True,
                           progress=lambda stage, fraction: print(stage, fraction))
result.outputs   # {"mix": Path, "music": Path, "video": Path, "report": Path, ...}
result.report    # the report, as a dict
```

The keywords are the command line's long options with `_` for `-` (`--caption-frames` →
`caption_frames`); each mode's are the fields of its options class (`AutopipelineJob`,
`VidmuseJob`, `TtsJob`, `MixJob`, `WavjourneyJob`), which also give their defaults, help, bounds
and choices. `jobs.run(options)` runs a job from such an object.

Errors are the project's own: `ConfigError` or `MediaError` for bad options or input (the
command line's exit 2), `BackendUnavailable` for a backend that cannot run here (exit 3). Set the
`cancel` event to stop a job at its next progress step: it raises `Cancelled`, and leaves no file
half-written.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from audio_creator.errors import ConfigError
from audio_creator.jobs.options import (
    JOBS,
    AutopipelineJob,
    MixJob,
    TtsJob,
    VidmuseJob,
    WavjourneyJob,
)
from audio_creator.jobs.run import Cancelled, JobResult, Progress
from audio_creator.jobs.run import run as _run
from audio_creator.jobs.spec import JobOptions


def run(
    options: JobOptions,
    *,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> JobResult:
    """Run the job `options` describe (see the module's docstring); a job that fails or is
    stopped leaves no folder it made for its outputs."""
    from audio_creator.files import remove_made_folders

    try:
        return _run(options, progress=progress, cancel=cancel)
    except BaseException:
        remove_made_folders()
        raise


def options_of(mode: str, values: dict[str, Any]) -> JobOptions:
    """The options of `mode` from keyword values, each checked; unknown names and missing
    required ones are refused by name."""
    cls = JOBS.get(mode)
    if cls is None:
        raise ConfigError(f"unknown mode {mode!r}; one of: {', '.join(JOBS)}")
    fields = {f.name: f for f in cls.fields()}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(f"{mode} has no option {', '.join(map(repr, unknown))}")
    missing = [name for name, f in fields.items() if f.required and name not in values]
    if missing:
        raise ConfigError(f"{mode} needs {', '.join(map(repr, missing))}")
    return cls(**values)


def _job(mode: str) -> Any:
    def job(
        *,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
        **options: Any,
    ) -> JobResult:
        return run(options_of(mode, options), progress=progress, cancel=cancel)

    cls = JOBS[mode]
    job.__name__ = job.__qualname__ = mode
    job.__doc__ = (
        f"{(cls.__doc__ or '').strip()}\n\nKeywords: the fields of `{cls.__name__}` "
        f"({', '.join(f.name for f in cls.fields())}); `progress` and `cancel` as for `run`."
    )
    return job


def batch(
    mode: str,
    output_dir: str | os.PathLike[str],
    *,
    input_dir: str | os.PathLike[str] | None = None,
    manifest: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
    force: bool = False,
    max_failures: int | None = None,
    retries: int = 2,
    **defaults: Any,
) -> Any:
    """Run `mode` for every video of `input_dir` (every .txt for tts) or every row of `manifest`
    (CSV or JSON Lines; columns are the mode's options), each row's outputs in
    `output_dir/ROW_ID/`; `defaults` are options for every row. Done rows are skipped; a failed
    row is reported, not raised. Returns a `batch.BatchResult`; `progress("batch", fraction)`
    after each row. See `audio_creator.batch`."""
    from audio_creator.batch import BatchOptions, run_batch

    fields = {f.name for f in JOBS[mode].fields()} if mode in JOBS else set()
    unknown = sorted(set(defaults) - fields)
    if unknown:
        raise ConfigError(f"{mode} has no option {', '.join(map(repr, unknown))}")
    options = BatchOptions(
        mode, Path(output_dir), input_dir=None if input_dir is None else Path(input_dir),
        manifest=None if manifest is None else Path(manifest), defaults=defaults,
        workers=workers, force=force, max_failures=max_failures, retries=retries,
    )  # fmt: skip
    return run_batch(options, progress)


autopipeline = _job("autopipeline")
vidmuse = _job("vidmuse")
tts = _job("tts")
mix = _job("mix")
wavjourney = _job("wavjourney")

__all__ = [
    "JOBS",
    "AutopipelineJob",
    "Cancelled",
    "JobOptions",
    "JobResult",
    "MixJob",
    "TtsJob",
    "VidmuseJob",
    "WavjourneyJob",
    "autopipeline",
    "batch",
    "mix",
    "options_of",
    "run",
    "tts",
    "vidmuse",
    "wavjourney",
]
