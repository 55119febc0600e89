"""Batches: one mode's job for every video of a folder or every row of a manifest, on this
machine (`--engine local`), each row's outputs in a folder of its own; see `batch.run`."""

from audio_creator.batch.run import BatchOptions, BatchResult, RowOutcome, run_batch, summary

__all__ = ["BatchOptions", "BatchResult", "RowOutcome", "run_batch", "summary"]
