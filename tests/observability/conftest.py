"""Real Prometheus, Alertmanager and node-exporter (Debian packages) on 127.0.0.1, started here."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import require_binary
from tests.helpers import free_port, wait_for

RULES = """
groups:
  - name: watchkeeper-tests
    rules:
      - alert: WatchkeeperTestAlwaysFiring
        expr: vector(1) > 0
        labels: {severity: warning}
        annotations: {summary: "always on, for tests"}
      - alert: WatchkeeperTestNeverFiring
        expr: vector(0) > 1
"""


@dataclass
class PromStack:
    prometheus: str
    alertmanager: str
    node_exporter: str


def ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as resp:
            return int(resp.status) == 200
    except OSError:
        return False


def first_scrape_done(prometheus: str) -> bool:
    try:
        with urllib.request.urlopen(f"{prometheus}/api/v1/query?query=up", timeout=1) as resp:
            return bool(json.loads(resp.read())["data"]["result"])
    except OSError:
        return False


BLACKHOLE = "route: {receiver: blackhole, group_wait: 0s, group_interval: 1s}\nreceivers: [{name: blackhole}]\n"


@contextmanager
def running_stack(tmp: Path, rules: str = RULES, alertmanager_config: str = BLACKHOLE) -> Iterator[PromStack]:
    """node-exporter, Alertmanager and Prometheus (1 s scrape and evaluation) on free loopback ports."""
    prom_bin = require_binary("prometheus")
    am_bin = require_binary("prometheus-alertmanager")
    ne_bin = require_binary("prometheus-node-exporter")
    ne_port, am_port, prom_port = free_port(), free_port(), free_port()
    (tmp / "am.yml").write_text(alertmanager_config)
    (tmp / "rules.yml").write_text(rules)
    (tmp / "prometheus.yml").write_text(f"""
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
rule_files: [{tmp / "rules.yml"}]
alerting:
  alertmanagers: [{{static_configs: [{{targets: ['127.0.0.1:{am_port}']}}]}}]
scrape_configs:
  - job_name: node
    static_configs: [{{targets: ['127.0.0.1:{ne_port}']}}]
""")
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    procs = [
        subprocess.Popen([ne_bin, f"--web.listen-address=127.0.0.1:{ne_port}"], **quiet),  # type: ignore[call-overload]
        subprocess.Popen(
            [
                am_bin,
                f"--config.file={tmp / 'am.yml'}",
                f"--storage.path={tmp / 'am'}",  # type: ignore[call-overload]
                f"--web.listen-address=127.0.0.1:{am_port}",
                "--cluster.listen-address=",
            ],
            **quiet,
        ),
        subprocess.Popen(
            [
                prom_bin,
                f"--config.file={tmp / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp / 'tsdb'}",  # type: ignore[call-overload]
                f"--web.listen-address=127.0.0.1:{prom_port}",
                "--rules.alert.resend-delay=1s",
            ],
            **quiet,
        ),
    ]
    stack = PromStack(f"http://127.0.0.1:{prom_port}", f"http://127.0.0.1:{am_port}", f"http://127.0.0.1:{ne_port}")
    try:
        assert wait_for(lambda: ready(f"{stack.prometheus}/-/ready"), timeout=30), "Prometheus did not start"
        assert wait_for(lambda: ready(f"{stack.alertmanager}/-/ready"), timeout=30), "Alertmanager did not start"
        assert wait_for(lambda: first_scrape_done(stack.prometheus), timeout=30), "no scrape of node-exporter"
        yield stack
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(15)


@pytest.fixture(scope="package")  # not the session: its 1 s scrapes are load the CPU scenarios would see
def prom_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PromStack]:
    with running_stack(tmp_path_factory.mktemp("prom")) as stack:
        time.sleep(3)  # a few samples for range queries, and the always-firing rule evaluated
        yield stack
