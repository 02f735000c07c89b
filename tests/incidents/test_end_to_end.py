"""The whole flow with the real parts: a real fault (a filesystem filling up) makes a real Prometheus
rule fire on node-exporter's data, the real Alertmanager posts to `wk serve`'s webhook with a webhook
token, an incident opens and is investigated once, its report reaches a DingTalk-format receiver
(signature checked); the fault is cleared, Alertmanager posts `resolved`, the incident resolves and
the resolution message arrives. (A filesystem rather than CPU: a busy host cannot keep it firing.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.helpers import wait_for
from tests.notify.receivers import SECRET, receiver
from tests.observability.conftest import running_stack
from tests.server.conftest import Served, serve_core
from watchkeeper.scenarios.disk_filling import DiskFilling
from watchkeeper.scenarios.world import World

DISK_RULE = """
groups:
  - name: node
    rules:
      - alert: HostOutOfDiskSpace
        expr: node_filesystem_avail_bytes{{mountpoint="{mount}"}} / node_filesystem_size_bytes < 0.2
        labels: {{severity: critical}}
        annotations: {{summary: "{{{{ $labels.mountpoint }}}} is almost full"}}
"""


def incidents(served: Served) -> list[dict[str, Any]]:
    answer = served.get("/api/v1/incidents", "viewer")
    assert answer.status_code == 200, answer.text
    result: list[dict[str, Any]] = answer.json()
    return result


def test_alertmanager_to_incident_to_dingtalk_and_back_to_resolved(tmp_path: Path, log_dir: Path) -> None:
    world = World("e2e-incident")
    with receiver() as chat:
        dingtalk = f"dingtalk+{chat.url}/robot/send?access_token=tok123&secret={SECRET}"
        with serve_core(
            tmp_path,
            log_dir,
            notify={"urls": [dingtalk], "backoff_s": 0.2},
            incidents={"settle_s": 2, "resolve_grace_s": 1},
            triage={"sample_seconds": 0.5},
        ) as served:
            token_file = tmp_path / "wk.token"
            token_file.write_text(served.tokens["webhook"])
            am_config = f"""
route: {{receiver: wk, group_by: [alertname, instance], group_wait: 0s, group_interval: 1s, repeat_interval: 1h}}
receivers:
  - name: wk
    webhook_configs:
      - url: {served.url}/api/v1/alerts/alertmanager
        send_resolved: true
        http_config: {{authorization: {{credentials_file: {token_file}}}}}
"""
            try:
                fault = DiskFilling()
                fault.setup(world)
                with running_stack(tmp_path, DISK_RULE.format(mount=fault.mount), am_config):
                    assert wait_for(lambda: len(incidents(served)) >= 1, timeout=90), "no incident opened"
                    assert wait_for(lambda: incidents(served)[0]["status"] == "diagnosed", timeout=120)
                    (incident,) = incidents(served)
                    assert incident["investigation_count"] == 1 and incident["severity"] == "critical"
                    assert wait_for(lambda: any("incident #" in r.raw for r in chat.got), timeout=30)
                    assert world.cleanup() == []
                    assert wait_for(lambda: incidents(served)[0]["status"] == "resolved", timeout=120)
                    assert wait_for(lambda: len(chat.got) >= 2, timeout=30), "no resolution message"
                    shown = served.get(f"/api/v1/incidents/{incident['id']}", "viewer").json()
            finally:
                world.cleanup()
    # One report, attached, covering the alert; one investigation in all.
    assert len(shown["reports"]) == 1 and shown["reports"][0]["alerts"] == [shown["alerts"][0]["fingerprint"]]
    assert shown["alerts"][0]["labels"]["alertname"] == "HostOutOfDiskSpace"
    assert shown["reports"][0]["report"]["playbook"] == "disk"
    assert [i["status"] for i in shown["investigations"]] == ["done"]
    kinds = [e["kind"] for e in shown["timeline"]]
    assert kinds.index("opened") < kinds.index("diagnosed") < kinds.index("resolved")
    # Every message passed the receiver's signature check and came in DingTalk's markdown shape.
    assert all(r.path == "/robot/send" and r.query.get("sign") for r in chat.got)
    assert [n["status"] for n in shown["notifications"]] == ["sent", "sent"]
    diagnosis, resolution = chat.got[0].body["markdown"]["text"], chat.got[-1].body["markdown"]["text"]
    assert "HostOutOfDiskSpace" in diagnosis
    assert "resolved" in resolution.lower()
