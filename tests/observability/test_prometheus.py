"""query_promql and prometheus_alerts against real Prometheus, Alertmanager and node-exporter."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.conftest import call, make_settings
from tests.helpers import free_port, wait_for
from tests.observability.conftest import PromStack
from watchkeeper.app import App, open_app
from watchkeeper.skills.invoke import Status


def obs_rt(tmp_path: Path, log_dir: Path, stack: PromStack) -> App:
    return open_app(
        make_settings(
            tmp_path,
            log_dir,
            observability={"prometheus_url": stack.prometheus, "alertmanager_url": stack.alertmanager},
        )
    )


def test_instant_query_summarises_series(tmp_path: Path, log_dir: Path, prom_stack: PromStack) -> None:
    rt = obs_rt(tmp_path, log_dir, prom_stack)
    result = call(rt, "query_promql", query='up{job="node"}')
    assert result.ok, result.error
    assert result.result["type"] == "vector" and result.result["series_count"] == 1
    series = result.result["series"][0]
    assert series["labels"]["job"] == "node" and series["last"] == 1.0 and "values" not in series


def test_range_query_with_raw_points(tmp_path: Path, log_dir: Path, prom_stack: PromStack) -> None:
    rt = obs_rt(tmp_path, log_dir, prom_stack)
    result = call(rt, "query_promql", query="node_memory_MemTotal_bytes", range_minutes=1, step_s=1, raw=True)
    assert result.ok, result.error
    series = result.result["series"][0]
    assert result.result["type"] == "matrix" and series["points"] >= 3
    assert series["min"] == series["max"] > 0 and series["trend_per_s"] == 0
    assert len(series["values"]) == series["points"]


def test_many_series_are_cut_and_counted(tmp_path: Path, log_dir: Path, prom_stack: PromStack) -> None:
    rt = obs_rt(tmp_path, log_dir, prom_stack)
    result = call(rt, "query_promql", query="node_cpu_seconds_total", max_series=2)
    assert result.ok and len(result.result["series"]) == 2
    assert result.result["truncated"] is True and result.result["series_count"] > 2


def test_invalid_query_passes_the_backend_message(tmp_path: Path, log_dir: Path, prom_stack: PromStack) -> None:
    rt = obs_rt(tmp_path, log_dir, prom_stack)
    result = call(rt, "query_promql", query="sum(rate(node_cpu_seconds_total[5m])")
    assert result.status is Status.FAILED
    assert "Prometheus rejected the request (400)" in (result.error or "") and "parse error" in (result.error or "")


def test_unreachable_and_unconfigured_backends(tmp_path: Path, log_dir: Path) -> None:
    down = open_app(
        make_settings(tmp_path, log_dir, observability={"prometheus_url": f"http://127.0.0.1:{free_port()}"})
    )
    result = call(down, "query_promql", query="up")
    assert result.status is Status.FAILED and "is unreachable" in (result.error or "")
    bare = call(down, "query_logql", query='{job="x"}')
    assert bare.status is Status.FAILED and "no loki configured" in (bare.error or "")


def test_alerts_and_rules(tmp_path: Path, log_dir: Path, prom_stack: PromStack) -> None:
    rt = obs_rt(tmp_path, log_dir, prom_stack)
    now = datetime.now(UTC)
    posted = [
        {
            "labels": {"alertname": "PostedByTest", "instance": "web-9:9100"},
            "startsAt": now.isoformat(),
            "endsAt": (now + timedelta(minutes=5)).isoformat(),
        }
    ]
    req = urllib.request.Request(
        f"{prom_stack.alertmanager}/api/v2/alerts",
        data=json.dumps(posted).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(req, timeout=5).close()

    def seen() -> bool:
        result = call(rt, "prometheus_alerts")
        names = {a["name"] for a in (result.result or {}).get("alertmanager", [])}
        return result.ok and {"PostedByTest", "WatchkeeperTestAlwaysFiring"} <= names

    assert wait_for(seen, timeout=20), "the alerts never reached Alertmanager"
    result = call(rt, "prometheus_alerts")
    firing = {a["name"]: a for a in result.result["alerts"]}
    assert firing["WatchkeeperTestAlwaysFiring"]["state"] == "firing"
    rules = {r["name"]: r for r in result.result["rules"]}
    assert rules["WatchkeeperTestNeverFiring"]["state"] == "inactive" and rules["WatchkeeperTestNeverFiring"]["query"]
