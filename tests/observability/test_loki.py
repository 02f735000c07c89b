"""query_logql against a server speaking Loki's real query_range API and JSON (see fake_loki.py)."""

from __future__ import annotations

import time
from pathlib import Path

from tests.conftest import call, make_settings
from tests.observability.fake_loki import Store, fake_loki
from watchkeeper.app import open_app
from watchkeeper.skills.invoke import Status


def test_streams_filters_limits_and_errors(tmp_path: Path, log_dir: Path) -> None:
    now = time.time_ns()
    store = Store()
    store.push(
        {"service": "checkout", "level": "error"},
        [(now - i * 10**9, f"ERROR payment gateway timed out #{i}") for i in range(5)],
    )
    store.push({"service": "checkout", "level": "info"}, [(now - 2 * 10**9, "INFO order 42 paid")])
    store.push({"service": "search"}, [(now - 10**9, "ERROR index missing")])
    store.push({"service": "checkout", "level": "error"}, [(now - 7200 * 10**9, "ERROR two hours ago")])
    with fake_loki(store) as url:
        rt = open_app(make_settings(tmp_path, log_dir, observability={"loki_url": url}))
        errors = call(rt, "query_logql", query='{service="checkout"} |= "ERROR"', since_minutes=60)
        limited = call(rt, "query_logql", query='{service=~"check.*"}', limit=2)
        bad = call(rt, "query_logql", query="service=checkout")
    assert errors.ok, errors.error
    lines = [entry["line"] for entry in errors.result["lines"]]
    assert lines == [f"ERROR payment gateway timed out #{i}" for i in range(5)]  # newest first, window honoured
    assert errors.result["lines"][0]["labels"] == {"service": "checkout", "level": "error"}
    assert limited.ok and limited.result["line_count"] == 2
    assert bad.status is Status.FAILED and "Loki rejected the request (400)" in (bad.error or "")
    assert "parse error" in (bad.error or "")
