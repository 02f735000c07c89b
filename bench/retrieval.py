"""Knowledge retrieval quality and latency.

Run from the project root: `.venv/bin/python -m bench.retrieval` (add `WK_DATASETS=DIR` for the public set).

Starter set (always): on-call phrasings and log lines written for watchkeeper's starter runbooks.
Bilingual set (always, `bench/bilingual_queries.yaml`): on-call questions across languages — Chinese
over the English starter runbooks (zh-en), English over the Chinese ones (en-zh), Chinese over Chinese
(zh-zh) — each pair against its own corpus, beside the lexical ranking of before (bm25s's English
tokenizer, which cannot split Chinese) run in the same process.
Public set (not ours, when `$WK_DATASETS/runbooks/` exists): the kube-prometheus alerts whose
`runbook_url` points at one of its runbooks — queried by their summary and description, never
their name — against those runbooks ingested into a scratch knowledge base. Prints recall@1,
recall@5 and MRR for random, lexical (BM25), dense and hybrid ranking, and p50/p95 query latency
with 10 000 chunks loaded.
"""

from __future__ import annotations

import random
import re
import statistics
import tempfile
import time
from pathlib import Path

import bm25s
import numpy as np
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from bench.datasets import dataset
from watchkeeper.knowledge import base
from watchkeeper.knowledge.base import KnowledgeBase
from watchkeeper.knowledge.embeddings import load_model
from watchkeeper.knowledge.ingest import Chunk, Document
from watchkeeper.store.db import open_engine
from watchkeeper.store.models import KbChunk

# On-call phrasings and log lines for the starter runbooks: (query, expected title).
STARTER_QUERIES = [
    ("the box is pegged at 100% cpu and everything is slow", "High CPU use"),
    ("one python process is spinning at 100% of a core forever", "Runaway process pinning a core"),
    ("RSS of the worker keeps climbing every hour", "Memory leak"),
    ("kernel: Out of memory: Killed process 4242 (java)", "OOM killer fired"),
    ("machine is thrashing, swap in/out through the roof", "Swap storm"),
    ("write failed: No space left on device", "Disk full"),
    ("df -h shows free space but touch says no space left; df -i at 100%", "Out of inodes"),
    ("/var/log filled up because of debug logging", "Log partition full"),
    ("connection refused on port 8080, the orders api is down", "Service down"),
    ("the service keeps restarting every few seconds", "Crash loop"),
    ("nginx returns 502 bad gateway, upstream timed out", "502/504 from a reverse proxy"),
    ("worker pool exhausted (32/32 busy), rejecting request", "Upstream worker pool exhausted"),
    ("certificate expires in 3 days on the portal", "TLS certificate about to expire"),
    ("curl: unable to get local issuer certificate", "Certificate chain errors"),
    ("Temporary failure in name resolution for db.internal", "DNS resolution failure"),
    ("accept: Too many open files", "Too many open files"),
    ("bind: Address already in use when starting the api", "Port conflict"),
    ("log timestamps are 10 minutes in the future, ntp not syncing", "Clock drift"),
    ("FATAL: remaining connection slots are reserved for superuser", "Database connection exhaustion"),
    ("some select statements take 30 seconds, requests pile up", "Slow queries"),
    ("replica is 20 minutes behind the primary", "Replication lag"),
    ("rabbitmq queue depth keeps growing, consumers cannot keep up", "Queue backlog"),
    ("checkout times out calling the pricing service", "Slow dependency"),
]


def strip_templates(text: str) -> str:
    return re.sub(r"\{\{.*?\}\}", " ", text)


def public_set(data: Path) -> tuple[list[Path], list[tuple[str, str]]]:
    books_dir = data / "prometheus-operator-runbooks" / "content" / "runbooks"
    books = {p.stem.lower(): p for p in books_dir.rglob("*.md") if p.name != "_index.md"}
    queries: dict[tuple[str, str], str] = {}
    for manifest in sorted((data / "kube-prometheus-alert-rules" / "manifests").glob("*.yaml")):
        spec = yaml.safe_load(manifest.read_text()).get("spec", {})
        for group in spec.get("groups", []):
            for rule in group.get("rules", []):
                notes = rule.get("annotations", {})
                url = notes.get("runbook_url", "")
                book = books.get(url.rstrip("/").rsplit("/", 1)[-1].lower())
                if "alert" not in rule or book is None:
                    continue
                query = strip_templates(f"{notes.get('summary', '')} {notes.get('description', '')}").strip()
                queries[(rule["alert"], query)] = str(book)
    return sorted(set(books.values())), [(q, src) for (_, q), src in sorted(queries.items())]


def evaluate(rank: list[list[str]], expected: list[str]) -> tuple[float, float, float]:
    r1 = sum(e in r[:1] for r, e in zip(rank, expected, strict=True)) / len(expected)
    r5 = sum(e in r[:5] for r, e in zip(rank, expected, strict=True)) / len(expected)
    mrr = statistics.fmean(1 / (r.index(e) + 1) if e in r else 0.0 for r, e in zip(rank, expected, strict=True))
    return r1, r5, mrr


def run(
    kb: KnowledgeBase,
    queries: list[tuple[str, str]],
    key: str,
    docs: list[str],
    name: str,
    results: dict[str, tuple[float, float, float]],
) -> list[str]:
    rng = random.Random(7)
    expected = [e for _, e in queries]
    rows = []
    rankings = {"random": [rng.sample(docs, k=min(10, len(docs))) for _ in queries]}
    for method in ("lexical", "dense", "hybrid"):
        if method != "lexical" and kb.embedder is None:
            rows.append(f"{name:8} {method:8} {len(queries):5d}       n/a       n/a     n/a  (no embedding model)")
            continue
        rankings[method] = [
            [getattr(h, key) for h in kb.search(q, type="runbook", limit=10, method=method)] for q, _ in queries
        ]
    for method, ranking in rankings.items():
        results[f"{name}/{method}"] = evaluate(ranking, expected)
        r1, r5, mrr = results[f"{name}/{method}"]
        rows.append(f"{name:8} {method:8} {len(queries):5d} {r1:9.3f} {r5:9.3f} {mrr:7.3f}")
    return rows


BILINGUAL = Path(__file__).parent / "bilingual_queries.yaml"
PAIRS = {"zh-en": "en", "en-zh": "zh-CN", "zh-zh": "zh-CN"}  # the pair -> the starter set it searches


def english_only_tokens(text: str) -> list[str]:
    """The lexical tokenizer of before: bm25s's, for English."""
    return list(bm25s.tokenize([text], stopwords="en", return_ids=False, show_progress=False)[0])


def bilingual(model: object, results: dict[str, tuple[float, float, float]]) -> list[str]:
    queries = yaml.safe_load(BILINGUAL.read_text())
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        kbs = {}
        for language in ("en", "zh-CN"):
            kb = KnowledgeBase(open_engine(f"sqlite:///{tmp}/{language}.db"), model)  # type: ignore[arg-type]
            kb.ensure_starter(language)
            kbs[language] = kb
        for pair, language in PAIRS.items():
            kb = kbs[language]
            mine = [(q["query"], q["expect"]) for q in queries if q["pair"] == pair]
            expected = [e for _, e in mine]
            methods = ["lexical (before)", "lexical"] + (["dense", "hybrid"] if model is not None else [])
            for method in methods:
                if method == "lexical (before)":
                    base.tokens, now = english_only_tokens, base.tokens  # type: ignore[assignment]
                    kb._index = None  # rebuilt with the old words
                try:
                    ranking = [
                        [h.title for h in kb.search(q, type="runbook", limit=10, method=method.split()[0])]
                        for q, _ in mine
                    ]
                finally:
                    if method == "lexical (before)":
                        base.tokens = now
                        kb._index = None
                results[f"{pair}/{method}"] = r1, r5, mrr = evaluate(ranking, expected)
                rows.append(f"{pair:8} {method:17} {len(mine):5d} {r1:9.3f} {r5:9.3f} {mrr:7.3f}")
    return rows


def main() -> None:
    data = dataset("runbooks")
    paths, public = public_set(data) if data is not None else ([], [])
    print(f"{'set':8} {'method':8} {'n':>5} {'recall@1':>9} {'recall@5':>9} {'MRR':>7}")
    results: dict[str, tuple[float, float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        engine = open_engine(f"sqlite:///{tmp}/kb.db")
        model = load_model()
        kb = KnowledgeBase(engine, model)
        rows: list[str] = []
        if paths:
            t0 = time.perf_counter()
            kb.add_paths(paths)
            ingest_s = time.perf_counter() - t0
            rows += run(kb, public, "source", [str(p) for p in paths], "public", results)
        kb.ensure_starter()
        starter = [d for d in kb.documents("runbook") if d["source"].startswith("starter:")]
        rows += run(kb, STARTER_QUERIES, "title", [d["title"] for d in starter], "starter", results)
        print("\n".join(rows))
        print(f"\n{'pair':8} {'method':17} {'n':>5} {'recall@1':>9} {'recall@5':>9} {'MRR':>7}")
        print("\n".join(bilingual(model, results)))
        if paths:
            embedded = "with" if model else "without"
            print(f"ingesting {len(paths)} public runbooks took {ingest_s:.1f}s ({embedded} embeddings)")
        # Latency with 10 000 chunks: pad with synthetic notes the size of real runbook sections, made of
        # the runbooks' own words. They get random unit vectors: the query-time cost is the matrix
        # product, not which vectors they are, and encoding 10 000 synthetic chunks would take minutes.
        texts = [p.read_text() for p in paths] or [
            c["text"]
            for d in starter
            for c in kb.get(d["id"])["chunks"]  # type: ignore[index]
        ]
        words = " ".join(texts).split()
        rng = random.Random(1)
        have = sum(len(kb.get(d["id"])["chunks"]) for d in kb.documents())  # type: ignore[index]
        filler = KnowledgeBase(engine)
        for i in range((10_000 - have) // 50 + 1):
            chunks = [Chunk(f"filler {i}.{j}", " ".join(rng.choices(words, k=80))) for j in range(50)]
            filler.add_document(Document(f"filler-{i}", "note", f"filler {i}", {"services": []}, chunks, str(i)))
        if model is not None:
            vectors = np.random.default_rng(1).normal(size=(12_000, model.dimensions)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            with Session(engine) as session, session.begin():
                for n, chunk in enumerate(session.scalars(select(KbChunk).where(KbChunk.embedding.is_(None)))):
                    chunk.embedding = vectors[n].tobytes()
        total = sum(len(kb.get(d["id"])["chunks"]) for d in kb.documents())  # type: ignore[index]
        kb.search("warm up the index")
        times = []
        for q, _ in (public + STARTER_QUERIES) * 2:
            t0 = time.perf_counter()
            kb.search(q, limit=5)
            times.append(time.perf_counter() - t0)
        times.sort()
        p50, p95 = statistics.median(times) * 1000, times[int(0.95 * (len(times) - 1))] * 1000
        method = kb.default_method()
        print(f"latency with {total} chunks: p50 {p50:.1f} ms, p95 {p95:.1f} ms ({method}, SQLite)")
    best = "hybrid" if "starter/hybrid" in results else "lexical"
    parts = [f"starter set ({len(STARTER_QUERIES)} queries): {best} recall@5 {results[f'starter/{best}'][1]:.3f}"]
    if public:
        lex = results["public/lexical"]
        hyb = results.get("public/hybrid")
        hybrid_text = f"hybrid recall@5 {hyb[1]:.3f} MRR {hyb[2]:.3f}" if hyb else "hybrid n/a (no embedding model)"
        parts.append(
            f"public set ({len(public)} alert queries): lexical recall@5 {lex[1]:.3f} MRR {lex[2]:.3f}; {hybrid_text}"
        )
    else:
        parts.append("public set skipped (no WK_DATASETS)")
    best_pairs = ", ".join(
        f"{pair} {results[f'{pair}/{best}'][1]:.3f} (before {results[f'{pair}/lexical (before)'][1]:.3f})"
        for pair in PAIRS
    )
    parts.append(f"bilingual {best} recall@5: {best_pairs}")
    print(f"SUMMARY {'; '.join(parts)}; query p50 {p50:.1f} ms ({method}) with {total} chunks")


if __name__ == "__main__":
    main()
