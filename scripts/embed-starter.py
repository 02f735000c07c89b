"""Recompute watchkeeper/knowledge/starter/vectors.npz after editing a starter runbook.

Run: .venv/bin/python scripts/embed-starter.py  (tests/knowledge checks the file is current).
"""

from __future__ import annotations

import numpy as np

from watchkeeper.knowledge.base import STARTER
from watchkeeper.knowledge.embeddings import STARTER_VECTORS, load_model, text_key
from watchkeeper.knowledge.ingest import parse_file


def main() -> None:
    model = load_model()
    if model is None:
        raise SystemExit("the embedding model cannot be imported: pip install -e .")
    texts = [
        f"{c.heading}\n{c.text}" for path in sorted(STARTER.glob("*.md")) for d in parse_file(path) for c in d.chunks
    ]
    vectors = model.encode(texts)
    np.savez_compressed(STARTER_VECTORS, **{text_key(t): v for t, v in zip(texts, vectors, strict=True)})
    print(f"{len(texts)} chunk vectors written to {STARTER_VECTORS}")


if __name__ == "__main__":
    main()
