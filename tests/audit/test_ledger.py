"""The ledger: hash chain, tamper detection, serialised appends, redaction, fail-closed storage."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from tests.helpers import LEDGER_COLUMNS, full_disk
from watchkeeper.audit.ledger import CallRecord, Ledger
from watchkeeper.store.db import make_engine, open_engine

KEY = b"k" * 32


def record(n: int = 0, **overrides: Any) -> CallRecord:
    now = datetime.now(UTC)
    base: dict[str, Any] = {
        "tool_name": "host_status",
        "args": {"n": n},
        "status": "succeeded",
        "started_at": now,
        "finished_at": now,
        "caller_role": "cli",
        "result": {"ok": n},
    }
    base.update(overrides)
    return CallRecord(**base)


def fill(ledger: Ledger, count: int) -> None:
    for n in range(count):
        ledger.append(record(n))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = open_engine(db_url)
    yield engine
    engine.dispose()


pytestmark = pytest.mark.ledger_tampering


def test_rows_chain_and_verify(engine: Engine) -> None:
    ledger = Ledger(engine, KEY)
    ids = [ledger.append(record(n)) for n in range(5)]
    assert ids == [1, 2, 3, 4, 5]
    report = ledger.verify()
    assert report.ok and report.rows_checked == 5
    rows = ledger.rows()
    assert rows[0]["prev_hash"] == "0" * 64
    assert all(rows[i]["prev_hash"] == rows[i - 1]["row_hash"] for i in range(1, 5))
    assert set(rows[0]) >= LEDGER_COLUMNS


def test_edited_row_is_named(engine: Engine) -> None:
    ledger = Ledger(engine, KEY)
    fill(ledger, 4)
    with engine.begin() as conn:
        conn.execute(text("UPDATE tool_calls SET status = 'failed' WHERE id = 2"))
    report = ledger.verify()
    assert not report.ok
    assert report.problems[0][0] == 2 and "edited" in report.problems[0][1]


def test_rehashing_without_the_key_is_detected(engine: Engine) -> None:
    ledger = Ledger(engine, KEY)
    fill(ledger, 3)
    forger = Ledger(engine, b"not-the-key")
    # The forger recomputes every hash with its own key: the chain looks consistent to it.
    assert not forger.verify().ok
    assert ledger.verify().ok


def test_deleted_middle_row_is_named(engine: Engine) -> None:
    ledger = Ledger(engine, KEY)
    fill(ledger, 5)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM tool_calls WHERE id = 3"))
    report = ledger.verify()
    assert (3, "row(s) 3 deleted") in report.problems


def test_deleted_last_rows_are_named(engine: Engine) -> None:
    ledger = Ledger(engine, KEY)
    fill(ledger, 5)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM tool_calls WHERE id >= 4"))
    report = ledger.verify()
    assert (4, "row(s) 4-5 deleted") in report.problems


def test_parallel_appends_never_fork_the_chain(engine: Engine) -> None:
    ledger = Ledger(engine, KEY)
    threads = [threading.Thread(target=fill, args=(ledger, 15)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    report = ledger.verify()
    assert report.ok and report.rows_checked == 120
    assert [r["id"] for r in ledger.rows()] == list(range(1, 121))


def _append_from_process(url: str, count: int) -> None:
    fill(Ledger(make_engine(url), KEY), count)


def test_appends_from_several_processes_serialise(db_url: str) -> None:
    open_engine(db_url)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_append_from_process, args=(db_url, 20)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    report = Ledger(make_engine(db_url), KEY).verify()
    assert report.ok and report.rows_checked == 60


def test_secrets_are_redacted_before_hashing(engine: Engine) -> None:
    ledger = Ledger(engine, KEY)
    ledger.append(
        record(
            args={"password": "hunter2", "dsn": "postgresql://app:s3cret@db:5432/app"},
            result={"line": "Authorization: Bearer abcdefghijklmnop"},
            error="login failed for token=ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        )
    )
    row = ledger.rows()[0]
    stored = row["args_json"] + row["result_json"] + row["error"]
    for secret in ("hunter2", "s3cret", "abcdefghijklmnop", "ghp_abcdefghij"):
        assert secret not in stored
    assert "app:[REDACTED]@db" in row["args_json"]
    assert ledger.verify().ok


def test_full_disk_keeps_rows_and_writes_them_later(tmp_path: Path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'small.db'}")
    ledger = Ledger(engine, KEY)
    ledger.append(record(0))
    limit = full_disk(engine)
    big = record(1, result={"blob": "x" * 300_000})
    assert ledger.append(big) is None
    assert ledger.append(record(2)) is None
    assert ledger.pending_count == 2
    with pytest.raises(Exception, match="audit ledger cannot be written"):
        ledger.ensure_writable()
    limit["pages"] = 1_000_000
    engine.dispose()
    ledger.ensure_writable()
    assert ledger.pending_count == 0
    assert ledger.append(record(3)) == 4
    rows = ledger.rows()
    assert [r["args_json"] for r in rows] == ['{"n":0}', '{"n":1}', '{"n":2}', '{"n":3}']
    assert ledger.verify().ok


def test_pending_rows_survive_the_process_through_the_spool(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'spool.db'}"
    engine = open_engine(url)
    spool = tmp_path / "audit-spool.jsonl"
    ledger = Ledger(engine, KEY, spool_path=spool)
    limit = full_disk(engine)
    assert ledger.append(record(1, result={"blob": "y" * 300_000})) is None
    ledger.spool_pending()  # what atexit does
    assert spool.exists()
    limit["pages"] = 1_000_000
    again = Ledger(make_engine(url), KEY, spool_path=spool)
    assert again.pending_count == 1
    assert again.append(record(2)) == 2
    assert not spool.exists()
    assert again.verify().ok
