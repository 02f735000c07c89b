"""The knowledge base on SQLite and PostgreSQL: ingestion, retrieval, learning from outcomes."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from watchkeeper.app import build_registry
from watchkeeper.config import Settings
from watchkeeper.evidence.report import Culprit, Hypothesis, Report, Symptom
from watchkeeper.knowledge.base import STARTER, KnowledgeBase
from watchkeeper.knowledge.learn import LearnError, feedback, learn
from watchkeeper.store.db import open_engine

RUNBOOK = """---
title: Checkout latency
alerts: [CheckoutSlow]
services: [checkout]
severity: warning
tags: [latency]
---
# Checkout latency

## Symptoms
Checkout pages take seconds; the payment gateway times out.

## Fix
Fail over to the secondary payment gateway and page the payments team.
"""


@pytest.fixture
def kb(db_url: str) -> Iterator[KnowledgeBase]:
    engine = open_engine(db_url)
    yield KnowledgeBase(engine)
    engine.dispose()


def test_ingestion_is_idempotent_and_updates_versions(kb: KnowledgeBase, tmp_path: Path) -> None:
    (tmp_path / "rb").mkdir()
    book = tmp_path / "rb" / "checkout.md"
    book.write_text(RUNBOOK)
    (tmp_path / "rb" / "toml.md").write_text(
        '+++\ntitle = "Queue backlog"\nservices = ["orders"]\n+++\n## What\nConsumers lag.\n'
    )
    (tmp_path / "rb" / "empty.md").write_text("---\ntitle: placeholder\n---\n")
    (tmp_path / "knowledge.txt").write_text("The orders DB is db-3.\n\nRedis evictions mean the cache is too small.\n")
    (tmp_path / "cases.yaml").write_text(
        "- symptom: checkout 502\n  root_cause: gateway down\n  fix: failover\n"
        "  worked: yes\n- symptom: slow search\n  root_cause: missing index\n"
    )
    first = dict(kb.add_paths([tmp_path]))
    assert first[str(book)] == "added" and first[str(tmp_path / "knowledge.txt")] == "added"
    assert first[str(tmp_path / "rb" / "empty.md")].startswith("skipped")
    assert {d["type"] for d in kb.documents()} == {"runbook", "note", "case"}
    assert len(kb.documents("case")) == 2 and len(kb.documents("note")) == 1
    assert set(dict(kb.add_paths([tmp_path])).values()) <= {
        "unchanged",
        "skipped: front matter only, nothing to retrieve",
    }
    book.write_text(RUNBOOK.replace("secondary", "backup"))
    assert dict(kb.add_paths([book]))[str(book)] == "updated"
    doc = next(d for d in kb.documents("runbook") if d["source"] == str(book))
    full = kb.get(doc["id"])
    assert full is not None and full["version"] == 2
    assert [c["heading"] for c in full["chunks"]] == ["Checkout latency > Symptoms", "Checkout latency > Fix"]
    assert doc["meta"]["services"] == ["checkout"] and doc["meta"]["alerts"] == ["CheckoutSlow"]
    assert kb.forget(doc["id"]) and kb.get(doc["id"]) is None and not kb.forget(doc["id"])


def test_bad_files_are_reported_not_fatal(kb: KnowledgeBase, tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{nope")
    (tmp_path / "unclosed.md").write_text("---\ntitle: x\n# body")
    (tmp_path / "ok.md").write_text(RUNBOOK)
    results = dict(kb.add_paths([tmp_path]))
    assert (
        results[str(tmp_path / "bad.json")].startswith("error:")
        and "not valid JSON" in results[str(tmp_path / "bad.json")]
    )
    assert "never closed" in results[str(tmp_path / "unclosed.md")]
    assert results[str(tmp_path / "ok.md")] == "added"


def test_search_ranks_filters_and_quotes_the_passage(kb: KnowledgeBase, tmp_path: Path) -> None:
    kb.ensure_starter()
    (tmp_path / "checkout.md").write_text(RUNBOOK)
    kb.add_paths([tmp_path])
    hits = kb.search("payment gateway times out at checkout")
    assert hits[0].title == "Checkout latency" and hits[0].heading.endswith("Symptoms")
    assert "payment gateway" in hits[0].passage
    assert [h.title for h in kb.search("disk full no space left on device", limit=1)] == ["Disk full"]
    assert kb.search("payment gateway", service="orders") == []
    assert kb.search("payment gateway", service="CHECKOUT")[0].title == "Checkout latency"
    assert all(h.type == "runbook" for h in kb.search("memory", type="runbook"))
    assert kb.search("gateway", alert="CheckoutSlow")[0].title == "Checkout latency"
    assert kb.search("zzzz qqqq") == []


def report(alert: str, culprit: str, category: str = "network") -> Report:
    return Report(
        id=f"inv-{alert}-{culprit}",
        summary=f"{culprit} is down",
        started_at=datetime.now(UTC),
        symptom=Symptom(alertname=alert, labels={"service": culprit}),
        hypotheses=[
            Hypothesis(
                category=category,
                title=f"{culprit} is down",
                confidence=0.8,
                culprit=Culprit(kind="service", name=culprit),
            )
        ],
    )


def test_learning_merges_recurrences_and_steers_ranking(kb: KnowledgeBase) -> None:
    good, merged = learn(kb, report("TargetDown", "billing"), "restart billing", "yes")
    assert not merged
    again, merged = learn(kb, report("TargetDown", "billing"), "restart billing", "yes")
    assert merged and again == good
    case = kb.get(good)
    assert case is not None and case["meta"]["recurrences"] == 2 and case["meta"]["outcomes"]["yes"] == 2
    bad, _ = learn(kb, report("TargetDown", "invoices"), "restart invoices", "no")
    query = "TargetDown service is down restart"
    ranked = [h.id for h in kb.search(query, type="case")]
    assert ranked.index(good) < ranked.index(bad), "a fix that worked ranks above one that failed"
    for _ in range(3):
        feedback(kb, good, "no")
        feedback(kb, bad, "yes")
    ranked = [h.id for h in kb.search(query, type="case")]
    assert ranked.index(bad) < ranked.index(good), "feedback moved the cases"
    with pytest.raises(LearnError):
        feedback(kb, "case-nope", "yes")


def _keys(value: object) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


HEADINGS_EN = ("## Symptoms", "## How to confirm", "## Fix", "## Verify")
HEADINGS_ZH = ("## 现象", "## 如何确认", "## 处理", "## 验证")


def test_starter_runbooks_are_complete_and_name_real_skills(tmp_path: Path) -> None:
    books = sorted(STARTER.glob("*.md"))
    english = [b for b in books if not b.stem.startswith("zh-")]
    assert 15 <= len(english) <= 25
    # Every English runbook has its Chinese counterpart, written by a Chinese team's headings.
    assert {f"zh-{b.stem}" for b in english} <= {b.stem for b in books}
    registry = build_registry(Settings(data_dir=tmp_path))
    skills = {s.key for s in registry.all()} | {"tls_cert_expiry"}
    # Result fields a runbook may quote (inodes_percent, fd_count, ...) come from the skills' examples.
    fields = {k for s in registry.all() for k in _keys(s.meta.result_example)}
    for book in books:
        text = book.read_text()
        sections = HEADINGS_ZH if book.stem.startswith("zh-") else HEADINGS_EN
        for section in sections:
            assert section in text, f"{book.name} lacks {section}"
        named = set(re.findall(r"`([a-z]+(?:_[a-z]+)+)(?=[`\s])", text))  # skill keys, possibly with params after
        assert named, f"{book.name} names no watchkeeper skill"
        assert named <= skills | fields, f"{book.name} names unknown skills {named - skills - fields}"
        assert named & skills, f"{book.name} names no watchkeeper skill"
        assert "**mutating**" in text or "**dangerous**" in text, f"{book.name} gives no risk for its fix"
    topics = {b.stem for b in books}
    assert {"high-cpu", "disk-full", "service-down", "tls-certificate-expiry", "memory-leak"} <= topics


def test_ingesting_the_starter_twice_changes_nothing(kb: KnowledgeBase) -> None:
    kb.ensure_starter()
    before = json.dumps(kb.documents(), sort_keys=True)
    kb.ensure_starter()
    assert json.dumps(kb.documents(), sort_keys=True) == before


def test_the_skill_on_postgresql(tmp_path: Path, log_dir: Path, pg_url: str) -> None:
    from tests.conftest import call, make_settings
    from watchkeeper.app import open_app

    rt = open_app(make_settings(tmp_path, log_dir, database_url=pg_url))
    result = call(rt, "query_knowledge", query="nginx answers 502 bad gateway", limit=2)
    assert result.ok, result.error
    assert result.result["hits"][0]["title"] == "502/504 from a reverse proxy"
    assert rt.ledger.rows()[-1]["tool_name"] == "query_knowledge"
    rt.engine.dispose()


def test_the_starter_runbooks_come_in_the_teams_language(kb: KnowledgeBase) -> None:
    kb.ensure_starter("zh-CN")
    titles = {d["title"] for d in kb.documents(type="runbook")}
    assert {"磁盘写满", "服务宕机"} <= titles and "Disk full" not in titles
    assert kb.search("磁盘满了写不进去", limit=1)[0].title == "磁盘写满"
    kb.ensure_starter("en")  # the language changed back: the Chinese starter set goes
    titles = {d["title"] for d in kb.documents(type="runbook")}
    assert "Disk full" in titles and "磁盘写满" not in titles


@pytest.mark.parametrize(
    ("env", "language"),
    [
        ({"LANG": "zh_CN.UTF-8"}, "zh-CN"),
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LC_ALL": "zh_TW.UTF-8"}, "zh-CN"),
        ({}, "en"),
    ],
)
def test_the_report_language_follows_a_chinese_locale(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], language: str
) -> None:
    from watchkeeper.config import ReportSettings

    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert ReportSettings().language == language


def test_chinese_is_segmented_quietly_with_its_cache_in_the_data_dir(tmp_path: Path) -> None:
    """A fresh process: the segmenter loads on the first Chinese query, writes its cache under the data
    directory, prints nothing, and an English error message inside Chinese text keeps its words."""
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from watchkeeper.knowledge import tokens\n"
        "tokens.use_cache_dir(Path(sys.argv[1]))\n"
        "print(tokens.tokens('磁盘满了，日志里报 No space left on device'))\n"  # noqa: RUF001 (Chinese punctuation)
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "cache")], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr
    words = ast.literal_eval(done.stdout)
    assert {"磁盘", "日志", "space", "left", "device"} <= set(words) and "了" not in words and "on" not in words
    assert list((tmp_path / "cache").glob("jieba*.cache"))
