"""Dense retrieval: the packaged MiniLM encoder, the shipped starter vectors, hybrid ranking, fallback."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import call, missing_backend
from watchkeeper.app import open_app
from watchkeeper.config import Settings
from watchkeeper.knowledge import embeddings
from watchkeeper.knowledge.base import STARTER, KnowledgeBase
from watchkeeper.knowledge.embeddings import MiniLM, load_model, text_key
from watchkeeper.knowledge.ingest import parse_file
from watchkeeper.store.db import open_engine


@pytest.fixture(scope="module")
def model() -> MiniLM:
    found = load_model()
    if found is None:
        missing_backend("the embedding model (make embeddings installs it)")
    assert found is not None
    return found


def test_encoder_is_semantic_deterministic_and_unit_length(model: MiniLM) -> None:
    v = model.encode(["the disk is full", "No space left on device when writing", "the TLS certificate expired"])
    assert v.shape == (3, 384) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > 0.35 > v[0] @ v[2] and v[1] @ v[2] < 0.1
    assert np.allclose(model.encode(["the disk is full"])[0], v[0], atol=1e-5)  # batch padding: float noise only


def test_shipped_starter_vectors_are_current(model: MiniLM) -> None:
    texts = [f"{c.heading}\n{c.text}" for p in sorted(STARTER.glob("*.md")) for d in parse_file(p) for c in d.chunks]
    with np.load(embeddings.STARTER_VECTORS) as shipped:
        assert {text_key(t) for t in texts} <= set(shipped.files), "run scripts/embed-starter.py"
        sample = texts[:: max(1, len(texts) // 5)]
        fresh = model.encode(sample)
        for text, vector in zip(sample, fresh, strict=True):
            assert np.allclose(shipped[text_key(text)], vector, atol=1e-4)


@pytest.fixture
def dense_kb(db_url: str, model: MiniLM) -> Iterator[KnowledgeBase]:
    engine = open_engine(db_url)
    kb = KnowledgeBase(engine, model)
    kb.ensure_starter()
    yield kb
    engine.dispose()


def test_hybrid_is_the_default_and_finds_paraphrases(dense_kb: KnowledgeBase) -> None:
    assert dense_kb.default_method() == "hybrid"
    # A paraphrase sharing no content word with the runbook: only the dense side finds it.
    paraphrase = "the machine ran out of storage capacity and cannot save files"
    assert "Disk full" not in [h.title for h in dense_kb.search(paraphrase, method="lexical", limit=5)]
    assert dense_kb.search(paraphrase, method="dense", limit=1)[0].title == "Disk full"
    assert dense_kb.search("writes fail because the volume has no room left", limit=1)[0].title == "Disk full"
    assert dense_kb.search("payment gateway", method="dense", type="case") == []


def test_chunks_stored_without_vectors_are_backfilled(tmp_path: Path, model: MiniLM) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'kb.db'}")
    KnowledgeBase(engine).ensure_starter()  # no model: no vectors
    kb = KnowledgeBase(engine, model)
    assert kb.backfill_embeddings() > 50
    assert kb.backfill_embeddings() == 0
    assert kb.search("kernel killed my process because memory ran out", method="dense")[0].title == "OOM killer fired"


def test_without_a_model_it_is_lexical_only_and_says_so_once_per_app(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    """The app core loads the model once and keeps it: every search after the first reuses it, and a
    missing model is said once, not at each query."""
    monkeypatch.setattr(embeddings, "model_zip", lambda: None)
    app = open_app(Settings(data_dir=tmp_path / "data"))
    try:
        with caplog.at_level(logging.WARNING, logger="watchkeeper.knowledge.embeddings"):
            for _ in range(3):
                assert call(app, "query_knowledge", query="disk full").ok
            assert app.knowledge is app.knowledge
        warnings = [r.message for r in caplog.records if "no embedding model installed" in r.message]
        assert len(warnings) == 1 and "knowledge retrieval is lexical-only" in warnings[0]
        assert app.knowledge.default_method() == "lexical"
    finally:
        app.close()


@pytest.mark.parametrize("missing", ["tokenizers", "safetensors"])
def test_a_partial_install_falls_back_to_lexical_with_one_warning(tmp_path: Path, missing: str) -> None:
    """The weights without one of the libraries that read them: `wk kb add` and `kb search` still work."""
    if embeddings.model_zip() is None:
        missing_backend("the embedding model (make embeddings installs it)")
    runbook = tmp_path / "disk.md"
    runbook.write_text("# Disk full\n\nFind what grows with du and rotate the log.\n")
    # A module set to None in sys.modules is one Python cannot import: exactly a package that is absent.
    script = (
        f"import sys; sys.modules[{missing!r}] = None; sys.argv = ['wk'] + sys.argv[1:]\n"
        "from watchkeeper.cli import main\nmain()"
    )
    (tmp_path / "empty.toml").write_text("")
    env = {**os.environ, "WK_DATA_DIR": str(tmp_path / "data"), "WK_CONFIG": str(tmp_path / "empty.toml")}
    added = subprocess.run(
        [sys.executable, "-c", script, "kb", "add", str(runbook)], capture_output=True, text=True, env=env
    )
    assert added.returncode == 0, added.stderr
    assert "Traceback" not in added.stderr
    assert added.stderr.count(f"{missing} is missing") == 1 and "lexical-only" in added.stderr
    found = subprocess.run(
        [sys.executable, "-c", script, "kb", "search", "disk full rotate", "--json"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert found.returncode == 0, found.stderr
    assert "Disk full" in found.stdout
