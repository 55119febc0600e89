"""Evaluation of generated soundtracks: alignment, retrieval, distribution distance, rhythm."""
