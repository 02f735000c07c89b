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
from watchkeeper.audit.ledger import INTENT, CallRecord, Ledger
from watchkeeper.errors import LedgerUnavailable
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
    with pytest.raises(LedgerUnavailable, match="audit ledger cannot be written"):
        ledger.record_intent(record(9, status=INTENT))  # no spool: nothing durable can be written
    assert ledger.pending_count == 2  # the refused intent left nothing behind
    limit["pages"] = 1_000_000
    engine.dispose()
    assert ledger.append(record(3)) == 4
    assert ledger.pending_count == 0
    rows = ledger.rows()
    assert [r["args_json"] for r in rows] == ['{"n":0}', '{"n":1}', '{"n":2}', '{"n":3}']
    assert ledger.verify().ok


def test_pending_rows_survive_the_process_through_the_spool(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'spool.db'}"
    engine = open_engine(url)
    ledger = Ledger(engine, KEY, spool_dir=tmp_path)
    limit = full_disk(engine)
    assert ledger.append(record(1, result={"blob": "y" * 300_000})) is None
    ledger.flush()  # what exit does: the store is still full, so the row goes to the spool
    spool = tmp_path / "audit-spool.jsonl"
    assert spool.stat().st_size > 0
    limit["pages"] = 1_000_000
    again = Ledger(make_engine(url), KEY, spool_dir=tmp_path)
    assert again.pending_count == 1
    assert again.append(record(2)) == 2
    assert again.pending_count == 0 and spool.stat().st_size == 0
    assert [r["args_json"] for r in again.rows()] == ['{"n":1}', '{"n":2}']
    assert again.verify().ok
    assert ledger.pending_count == 0  # the first ledger does not write the same row again


def test_rows_a_process_could_write_nowhere_become_one_gap_row(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'gap.db'}"
    engine = open_engine(url)
    ledger = Ledger(engine, KEY, spool_dir=tmp_path)
    ledger.append(record(0))
    limit = full_disk(engine)
    for n in (1, 2):
        assert ledger.append(record(n, tool_name=f"tool_{n}", result={"blob": "z" * 300_000})) is None
    # A second ledger of the same data directory, alive at the same time, is not a dead process.
    neighbour = Ledger(make_engine(url), KEY, spool_dir=tmp_path)
    assert neighbour.rows()[-1]["status"] == "succeeded"
    ledger._lost.close()  # type: ignore[union-attr]  # the process ends without a word: no flush, no spool
    limit["pages"] = 1_000_000
    later = Ledger(make_engine(url), KEY, spool_dir=tmp_path)
    rows = later.rows()
    assert [(r["tool_name"], r["status"]) for r in rows] == [("host_status", "succeeded"), ("ledger", "gap")]
    assert '"lost_rows":2' in rows[1]["args_json"] and '"tools":["tool_1","tool_2"]' in rows[1]["args_json"]
    report = later.verify()
    assert report.ok and [n for _, n in report.notes] == [rows[1]["error"]]
    assert Ledger(make_engine(url), KEY, spool_dir=tmp_path).total() == 2  # recorded once, not at every start


def test_a_spooled_row_already_in_the_store_is_not_written_twice(tmp_path: Path) -> None:
    from watchkeeper.audit.spool import Spool

    engine = open_engine(f"sqlite:///{tmp_path / 'twice.db'}")
    ledger = Ledger(engine, KEY, spool_dir=tmp_path)
    rec = record(1)
    ledger.append(rec)
    # A process died after its commit and before it truncated the spool.
    Spool(tmp_path / "audit-spool.jsonl").append([Ledger.to_row(rec)])
    assert ledger.append(record(2)) == 2
    assert [r["args_json"] for r in ledger.rows()] == ['{"n":1}', '{"n":2}']


def test_ledgers_give_their_descriptors_back(tmp_path: Path) -> None:
    """Closed or merely dropped, a ledger keeps no file open: a long-lived process opens many."""
    import gc
    import os

    def open_fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    url = f"sqlite:///{tmp_path / 'fds.db'}"
    Ledger(open_engine(url), KEY, spool_dir=tmp_path).append(record(0))
    gc.collect()
    before = open_fds()
    for n in range(30):
        engine = open_engine(url)
        ledger = Ledger(engine, KEY, spool_dir=tmp_path)
        ledger.append(record(n))
        if n % 2:
            ledger.close()
        engine.dispose()
        del ledger, engine
    gc.collect()
    assert open_fds() - before < 5
