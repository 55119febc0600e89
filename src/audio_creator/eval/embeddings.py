"""Audio embedding backends for the evaluation, and the cache of their vectors.

- `dsp`: standard descriptors (`eval.dsp`), no weights: runs on a fresh install.
- `clap`: CLAP's audio embedding (transformers; `audio-creator models download clap`), unit
  length, clips longer than 10 s embedded in windows and averaged (as the reranker hears).
- `muq_mulan`, `vggish`: named for the original project's users; they need packages and weights
  this project does not install, and say so (exit code 3).

A cache (`--save-embeddings` / `--load-embeddings`, `.npz`) holds vectors keyed by the file's
content (SHA-256) and the backend's version (dsp's layout version; CLAP's folder and weights),
so a vector of another file, or of another model, is never taken for this one. A cache that
does not read is reported and rebuilt.
"""

from __future__ import annotations

import hashlib
import logging
import os
import zipfile
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from audio_creator.audio import Audio, load
from audio_creator.errors import BackendUnavailable, ConfigError

logger = logging.getLogger(__name__)

Vector = npt.NDArray[np.float64]
BACKENDS = ("auto", "dsp", "clap", "muq_mulan", "vggish", "vggsound")


class AudioEmbedder(Protocol):
    name: str
    version: str

    def embed(self, audio: Audio) -> Vector: ...


class Dsp:
    name = "dsp"

    def __init__(self) -> None:
        from audio_creator.eval import dsp

        self.version = dsp.VERSION
        self._embed = dsp.embed

    def embed(self, audio: Audio) -> Vector:
        return self._embed(audio)


class Clap:
    """CLAP's audio tower (the `clap` catalogue model, or a folder)."""

    name = "clap"

    def __init__(self, folder: str | os.PathLike[str] | None = None, device: str = "auto") -> None:
        from transformers import AutoFeatureExtractor, ClapModel

        from audio_creator import models
        from audio_creator.music.neural import missing_packages, pick_device

        lack = missing_packages()
        if lack is not None:
            raise BackendUnavailable(f"the clap backend needs torch and transformers: {lack}")
        where = models.locate(folder or "clap")
        self.device = pick_device(device)
        self.model = ClapModel.from_pretrained(where, local_files_only=True).to(self.device).eval()
        self.features = AutoFeatureExtractor.from_pretrained(  # type: ignore[no-untyped-call]
            where, local_files_only=True
        )
        self.version = "clap:" + _folder_fingerprint(where)

    def embed(self, audio: Audio) -> Vector:
        from audio_creator.music.semantic import clap_audio_embedding

        heard = clap_audio_embedding(self.model, self.features, audio, self.device)
        return np.asarray(heard.cpu().numpy(), np.float64)


def create(name: str, device: str = "auto") -> AudioEmbedder:
    """The backend called `name`; `auto`: clap when its weights are here, else dsp."""
    if name not in BACKENDS:
        raise ConfigError(f"--audio-backend must be one of {', '.join(BACKENDS)}, not {name!r}")
    if name == "auto":
        from audio_creator import models
        from audio_creator.music.neural import missing_packages

        lack = missing_packages() or models.missing("clap")
        if lack is None:
            return Clap(device=device)
        logger.info("audio backend auto: dsp (not clap: %s)", lack)
        return Dsp()
    if name == "dsp":
        return Dsp()
    if name == "clap":
        return Clap(device=device)
    package = {"muq_mulan": "the muq package", "vggish": "the torchvggish package",
               "vggsound": "a VGGSound-trained model's package"}[name]  # fmt: skip
    raise BackendUnavailable(
        f"the {name} audio backend needs {package} and its weights, which are not "
        "installed here; use --audio-backend clap or dsp"
    )


class Cache:
    """Vectors by (backend version, file content)."""

    def __init__(self, path: Path | None = None) -> None:
        self.vectors: dict[str, Vector] = {}
        self.hits = self.misses = 0
        if path is not None and path.exists():
            self.vectors = _read(path)

    def get(self, embedder: AudioEmbedder, path: Path) -> Vector:
        key = f"{embedder.version}:{file_sha256(path)}"
        if key in self.vectors:
            self.hits += 1
            return self.vectors[key]
        self.misses += 1
        vector = np.asarray(embedder.embed(load(path)), np.float64)
        self.vectors[key] = vector
        return vector

    def save(self, path: Path) -> None:
        from audio_creator.files import atomic_output, check_output_path

        check_output_path(path)
        keys = sorted(self.vectors)
        with atomic_output(path) as temporary, temporary.open("wb") as f:
            arrays: dict[str, Any] = {f"v{i}": self.vectors[k] for i, k in enumerate(keys)}
            np.savez(f, keys=np.array(keys, dtype=str), **arrays)


def _read(path: Path) -> dict[str, Vector]:
    try:
        with np.load(path, allow_pickle=False) as stored:
            keys = [str(k) for k in stored["keys"]]
            return {k: np.asarray(stored[f"v{i}"], np.float64) for i, k in enumerate(keys)}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        logger.warning("embedding cache %s does not read (%s): computing afresh", path, exc)
        return {}


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _folder_fingerprint(folder: Path) -> str:
    """A short hash of a model folder's config files and its weights' names, sizes and
    modification times (weights replaced in place get a new hash)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode())
        if path.suffix == ".json":
            digest.update(path.read_bytes())
        else:
            stat = path.stat()
            digest.update(f"{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]
