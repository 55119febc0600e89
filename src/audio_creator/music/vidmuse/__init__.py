"""The `vidmuse` backend: music conditioned on the video's frames (see `network`), from the
published VidMuse checkpoint (see `convert`)."""
