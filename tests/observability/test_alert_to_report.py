"""End to end with real parts: a Prometheus rule fires on node-exporter data, Alertmanager posts
its webhook, and the deterministic triage turns that payload into the right diagnosis."""

from __future__ import annotations

import http.server
import json
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import call, make_settings
from tests.helpers import wait_for
from tests.observability.conftest import PromStack, running_stack
from watchkeeper.app import open_app
from watchkeeper.evidence.symptoms import from_alert_payload
from watchkeeper.evidence.triage import investigate
from watchkeeper.scenarios.cpu_hog import CpuHog
from watchkeeper.scenarios.world import World

CPU_RULE = """
groups:
  - name: node
    rules:
      - alert: HostHighCpuLoad
        expr: sum by (instance, job) (rate(node_cpu_seconds_total{mode!="idle"}[5s])) > 0.6
        labels: {severity: warning}
        annotations: {summary: "CPU busy on {{ $labels.instance }}"}
"""


@pytest.mark.alone
def test_a_real_rule_fires_and_the_report_names_the_hog(tmp_path: Path, log_dir: Path) -> None:
    posts: list[dict[str, Any]] = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            posts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    hook = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    am_config = (
        f"route: {{receiver: wk, group_wait: 0s, group_interval: 1s, repeat_interval: 1h}}\n"
        f"receivers: [{{name: wk, webhook_configs: [{{url: 'http://127.0.0.1:{hook.server_address[1]}/'}}]}}]\n"
    )
    world = World("prom-cpu")
    try:
        with running_stack(tmp_path, CPU_RULE, am_config) as stack:
            CpuHog().setup(world)
            assert wait_for(lambda: any(p["status"] == "firing" for p in posts), timeout=60), "no webhook arrived"
            payload = next(p for p in posts if p["status"] == "firing")
            assert payload["version"] == "4" and payload["alerts"][0]["labels"]["alertname"] == "HostHighCpuLoad"
            rt = open_app(make_settings(tmp_path, log_dir, observability={"prometheus_url": stack.prometheus}))
            report = investigate(rt.settings, rt.invoker, from_alert_payload(payload)[0])
            promql = call(rt, "query_promql", query='rate(node_cpu_seconds_total{mode="user"}[5s])')
    finally:
        assert world.cleanup() == []
        hook.shutdown()
        hook.server_close()
    top = report.hypotheses[0]
    assert top.category == "cpu" and top.culprit is not None and top.culprit.name == "image_process"
    assert promql.ok and promql.result["series_count"] >= 1


def test_metric_trends_read_prometheus(tmp_path: Path, log_dir: Path, prom_stack: PromStack) -> None:
    from watchkeeper.evidence.report import Symptom

    rt = open_app(
        make_settings(
            tmp_path, log_dir, observability={"prometheus_url": prom_stack.prometheus}, triage={"sample_seconds": 0.5}
        )
    )
    report = investigate(rt.settings, rt.invoker, Symptom(alertname="HostOutOfDiskSpace", labels={"mountpoint": "/"}))
    assert report.playbook == "disk"
    assert any(c.skill == "query_promql" and c.status == "succeeded" for c in report.calls)
    said = " ".join(report.notes) + " ".join(f.message for f in report.findings)
    assert "Prometheus:" in said and "available space on /" in said
