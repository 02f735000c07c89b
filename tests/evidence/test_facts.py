"""Findings carry typed facts: one model per kind, the kind filed from the model, the skill's other
fields kept for the report, and `of` giving a rule the facts of one kind (and role) only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from watchkeeper.app import App
from watchkeeper.evidence import facts
from watchkeeper.evidence.catalogue import load_catalogue
from watchkeeper.evidence.gather import finding
from watchkeeper.evidence.investigation import Investigation, RecordedSource
from watchkeeper.evidence.report import Culprit, Report, Symptom
from watchkeeper.evidence.scoring import of
from watchkeeper.evidence.symptoms import from_alert_payload, targets
from watchkeeper.evidence.triage import investigate


def kinds() -> list[type[facts.Fact]]:
    found, todo = [], [facts.Fact]
    while todo:
        cls = todo.pop()
        todo += cls.__subclasses__()
        if "KIND" in cls.__dict__ and cls is not facts.Fact:
            found.append(cls)
    return found


def test_every_kind_of_fact_has_its_own_name() -> None:
    names = [cls.KIND for cls in kinds()]
    assert len(names) == len(set(names)) and len(names) >= 35
    assert {"zombies", "log_errors", "deleted_open", "tls_expiry", "lead"} <= set(names)


def test_a_finding_is_filed_under_its_facts_kind_and_keeps_the_skills_other_fields() -> None:
    row = {"parent": "scheduler", "ppid": 812, "count": 300, "pids": [1, 2, 3]}
    f = finding(facts.Zombies(**row), "crit", "300 zombies", [7], Culprit(kind="process", name="scheduler", pid=812))
    assert f.kind == "zombies" and f.data.count == 300
    report = Report(id="r", summary="s", symptom=Symptom(question="q"), findings=[f], started_at=datetime.now(UTC))
    data = report.model_dump(mode="json")["findings"][0]["data"]
    assert data == row  # the typed fields, the extra one, and no empty role
    again = Report.model_validate_json(report.model_dump_json())
    assert again.findings[0].kind == "zombies" and again.findings[0].data["pids"] == [1, 2, 3]


def test_a_fact_missing_what_its_rules_read_is_refused() -> None:
    with pytest.raises(ValidationError, match="ppid"):
        facts.Zombies(parent="scheduler", count=3)


def test_of_gives_the_facts_of_one_kind_and_role() -> None:
    symptom = Symptom(question="why?")
    inv = Investigation(symptom, targets(symptom), RecordedSource([]), [], {}, load_catalogue([]))

    def log(role: str, count: int) -> None:
        fact = facts.LogErrors(
            service="api", path="/var/log/api.log", role=role, template="t", count=count, novel=True, example="e"
        )
        inv.add(finding(fact, "warn", "m", []))

    log("target", 3)
    log("upstream", 5)
    inv.add(finding(facts.HttpSlow(role="target", latency_ms=2500.0), "warn", "slow", []))
    assert [f.data.count for f in of(inv, facts.LogErrors)] == [3, 5]
    assert [f.data.count for f in of(inv, facts.LogErrors, "upstream")] == [5]
    assert [f.data.latency_ms for f in of(inv, facts.HttpSlow)] == [2500.0]
    assert of(inv, facts.HttpError) == []


def test_close_wait_and_files_in_ram_become_facts_past_their_thresholds() -> None:
    from watchkeeper.evidence.host_facts import connection_facts, mount_facts

    tcp = {
        "by_process": [
            {"pid": 5, "name": "sync", "count": 700, "states": {"CLOSE_WAIT": 640, "ESTABLISHED": 60}},
            {"pid": 6, "name": "gateway", "count": 90, "states": {"ESTABLISHED": 60, "CLOSE_WAIT": 30}},
        ]
    }
    found = connection_facts(tcp, [3])
    assert [(f.kind, f.data.process, f.data.count, f.severity) for f in found] == [("close_wait", "sync", 640, "crit")]
    mounts = [
        {"mount": "/dev/shm", "fstype": "tmpfs", "used_bytes": 2**31, "total_bytes": 2**33},
        {"mount": "/run", "fstype": "tmpfs", "used_bytes": 2**20, "total_bytes": 2**30},
        {"mount": "/srv", "fstype": "ext4", "used_bytes": 2**35, "total_bytes": 2**36},
    ]
    assert [(f.kind, f.data.mount) for f in mount_facts(mounts, [4])] == [("tmpfs_usage", "/dev/shm")]


def test_a_target_this_host_cannot_resolve_is_not_called_down(rt: App) -> None:
    """Another network's name (an alert's instance) that does not resolve here says nothing of the service:
    a finding says it could not be checked, and no 'cache is down' with a restart is proposed."""
    labels = {"alertname": "CacheDown", "service": "cache", "instance": "c2.invalid:6379", "severity": "critical"}
    symptom = from_alert_payload({"labels": labels, "annotations": {"summary": "cache is unreachable"}})[0]
    report = investigate(rt.settings, rt.invoker, symptom)
    unresolved = [f for f in report.findings if f.kind == "host_unresolved"]
    assert unresolved and unresolved[0].message.startswith("c2.invalid:6379 cannot be checked from this host")
    assert not [f for f in report.findings if f.kind == "port_closed"]
    assert not [h for h in report.hypotheses if h.culprit and h.culprit.name == "cache"], report.summary
    assert not [a for a in report.actions if a.skill == "restart_service"]
