"""`wk doctor` against real Prometheus and Alertmanager, and a server speaking Loki's API."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import Wk, http_server
from tests.observability.conftest import PromStack
from tests.observability.fake_loki import Store, fake_loki


def test_doctor_says_ok_when_each_backend_answers_its_api(tmp_path: Path, log_dir: Path, prom_stack: PromStack) -> None:
    store = Store()
    store.push({"service": "checkout"}, [(1, "ERROR x")])
    with fake_loki(store) as loki:
        config = f"""
[observability]
prometheus_url = "{prom_stack.prometheus}"
alertmanager_url = "{prom_stack.alertmanager}/"
loki_url = "{loki}"
headers = {{ Authorization = "env:WK_TEST_LOKI_TOKEN" }}
"""
        wk = Wk(tmp_path, log_dir, config)
        wk.env["WK_TEST_LOKI_TOKEN"] = "Bearer s3cr3t-loki"
        done = wk("doctor")
    assert done.returncode == 0, done.stdout
    out = done.stdout
    assert f"ok   prometheus: {prom_stack.prometheus}: Prometheus 2." in out
    assert f"ok   alertmanager: {prom_stack.alertmanager}: Alertmanager 0." in out and "cluster disabled" in out
    assert f"ok   loki: {loki}: Loki, 1 labels" in out
    assert store.headers[-1]["Authorization"] == "Bearer s3cr3t-loki"  # the configured headers, resolved
    assert "s3cr3t" not in out


def test_doctor_fails_a_url_that_answers_but_is_not_that_api(tmp_path: Path, log_dir: Path) -> None:
    with http_server() as other:  # answers 200 {"status": "ok"} to anything
        wk = Wk(tmp_path, log_dir, f'[observability]\nprometheus_url = "{other}"\nalertmanager_url = "{other}"\n')
        done = wk("doctor")
    assert done.returncode == 1
    assert f"FAIL prometheus: {other} answers /api/v1/status/buildinfo, but not the way Prometheus does" in done.stdout
    assert f"FAIL alertmanager: {other} answers /api/v2/status, but not the way Alertmanager does" in done.stdout
