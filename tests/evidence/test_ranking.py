"""The ranking, from findings alone (a recording with no calls): the most upstream confirmed cause wins
over its victims, decoys are ruled out with the reason shown, and spread CPU needs a CPU symptom."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from watchkeeper.evidence.catalogue import load_catalogue
from watchkeeper.evidence.facts import (
    BoundElsewhere,
    CloseWait,
    CommandCpu,
    CpuReading,
    DiskUsage,
    LargestFile,
    LogErrors,
    PortClosed,
    ProcessMemoryTop,
    RecentChange,
    TmpfsUsage,
)
from watchkeeper.evidence.follow import follow
from watchkeeper.evidence.gather import finding
from watchkeeper.evidence.hypotheses import rank
from watchkeeper.evidence.investigation import Investigation, RecordedCall, RecordedSource
from watchkeeper.evidence.playbooks import Playbook
from watchkeeper.evidence.report import Culprit, Hypothesis, Symptom
from watchkeeper.evidence.symptoms import targets
from watchkeeper.evidence.triage import build_report

CATALOGUE = load_catalogue([])


def investigation(question: str = "", **results: Any) -> Investigation:
    symptom = Symptom(question=question or None)
    inv = Investigation(symptom, targets(symptom), RecordedSource([]), [], {}, CATALOGUE)
    inv.results.update(results)
    return inv


def log_error(inv: Investigation, service: str, example: str, count: int = 40, novel: bool = True) -> None:
    inv.add(
        finding(
            LogErrors(
                service=service,
                path=f"/var/log/{service}/{service}.log",
                role="target",
                template=example,
                example=example,
                count=count,
                novel=novel,
                words=["exception"],
            ),
            "crit",
            f"new error template in {service} x{count}: {example}",
            [],
            Culprit(kind="service", name=service),
        )
    )


def test_the_lock_holder_outranks_the_job_that_logs_the_wait() -> None:
    inv = investigation("report_job keeps failing")
    log_error(inv, "reports", "could not acquire lock /run/app/db.lock: Resource temporarily unavailable")
    # The check reads file_users from the (empty) recording: nothing holds it, so nothing is confirmed.
    follow(inv, CATALOGUE, inv.findings)
    lead = inv.results["leads"][0]
    assert lead.signature.name == "lock_held" and lead.object == "/run/app/db.lock" and not lead.confirmed
    # Confirmed as the check would: another process holds the lock.
    lead.confirmed, lead.culprit = True, Culprit(kind="process", name="vacuum", pid=42, path=lead.object)
    lead.facts.append("/run/app/db.lock is held open by vacuum (pid 42)")
    top = rank(inv, "generic")[0]
    assert top.category == "process" and top.culprit is not None and top.culprit.name == "vacuum"
    assert top.actions[0].skill == "kill_process" and top.actions[0].params["pid"] == 42
    assert top.rule == "lock_held"
    assert "upstream" in top.explanation


def test_a_victims_new_error_yields_to_its_confirmed_upstream_cause() -> None:
    inv = investigation()
    log_error(
        inv, "cart", "cache write failed: OOM command not allowed when used memory > 'maxmemory'. (127.0.0.1:6379)"
    )
    follow(inv, CATALOGUE, inv.findings)
    lead = inv.results["leads"][0]
    lead.confirmed, lead.culprit = True, Culprit(kind="process", name="kvcache", pid=7, port=6379)
    ranked = rank(inv, "http_errors")
    assert ranked[0].culprit is not None and ranked[0].culprit.name == "kvcache"
    assert all(h.title != "cart throws a new error since a change" for h in ranked)  # the victim is not blamed


def test_an_unconfirmed_lead_is_ruled_out_with_what_was_measured() -> None:
    inv = investigation()
    log_error(inv, "api", "upstream 127.0.0.1:5432 failed: Connection refused", count=3, novel=False)
    follow(inv, CATALOGUE, inv.findings)
    lead = inv.results["leads"][0]
    lead.facts.append("probe 127.0.0.1:5432: open in 0.9 ms")  # as the check would say: it is up now
    lead.culprit = Culprit(kind="service", name="postgres", port=5432)
    report = build_report(inv, Playbook(name="generic"), datetime.now(UTC), 0.1)
    ruled = [r for r in report.ruled_out if r.entity and r.entity.name == "postgres"]
    assert ruled and "did not confirm" in ruled[0].reason and "open in 0.9 ms" in ruled[0].facts[0]
    assert "probe 127.0.0.1:5432: open in 0.9 ms" in report.checked
    assert all(h.culprit is None or h.culprit.name != "postgres" for h in report.hypotheses)


def test_a_big_file_that_does_not_grow_is_ruled_out_never_blamed() -> None:
    inv = investigation("the disk is full")
    decoy = "/data/backup/db.dump"
    inv.add(
        finding(
            LargestFile(mount="/data", bytes=2**30),
            "info",
            f"{decoy} is the largest file",
            [],
            Culprit(kind="path", name=decoy, path=decoy),
        )
    )
    inv.add(
        finding(
            DiskUsage(mount="/data", percent=97.0),
            "crit",
            "disk /data at 97%",
            [],
            Culprit(kind="path", name="/data", path="/data"),
        )
    )
    ranked = rank(inv, "disk")
    assert ranked and all(h.culprit is None or h.culprit.name != decoy for h in ranked)
    assert [r.entity.name for r in inv.results["ruled_out"] if r.entity] == [decoy]


def test_cpu_spread_over_processes_is_a_cause_only_with_a_cpu_symptom() -> None:
    def spread(question: str) -> Investigation:
        inv = investigation(question)
        group = {"name": "worker", "count": 4, "cpu_percent": 150.0, "pids": [1, 2, 3, 4]}
        inv.add(finding(CommandCpu(**group), "warn", "4 worker processes", [], Culprit(kind="process", name="worker")))
        return inv

    assert rank(spread("is anything wrong?"), "generic") == []
    top = rank(spread("CPU is pegged, what is eating it?"), "cpu")[0]
    assert top.category == "cpu" and top.culprit is not None and top.culprit.name == "worker"
    assert top.actions[0].skill == "restart_service"
    # On a busy host, beside a question about something else, it is named only as a contender.
    busy = spread("the disk is almost full")
    busy.add(finding(CpuReading(), "warn", "CPU at 100%", []))
    [contender] = rank(busy, "disk")
    assert contender.culprit is not None and contender.culprit.name == "worker" and contender.confidence < 0.5
    busy_cpu = spread("CPU is pegged")
    busy_cpu.add(finding(CpuReading(), "warn", "CPU at 100%", []))
    assert rank(busy_cpu, "cpu")[0].confidence >= 0.85


def test_a_report_written_before_the_fixed_categories_still_loads() -> None:
    """Queued notifications and learned cases hold reports with the old category names."""
    old = Hypothesis.model_validate({"category": "service_down", "title": "orders is down", "confidence": 0.8})
    assert (old.category, old.rule) == ("network", "service_down")
    new = rank(investigation("CPU is pegged"), "cpu")
    assert new == []  # nothing found, nothing invented


def test_a_read_several_steps_want_runs_once() -> None:
    recorded = RecordedCall("process_detail", {"pid": 7}, "succeeded", {"pid": 7, "cwd": "/srv"}, None, 1, 2.0, 0.1)
    inv = Investigation(Symptom(question="x"), targets(Symptom()), RecordedSource([recorded]), [], {}, CATALOGUE)
    assert inv.call_once("process_detail", pid=7) == {"pid": 7, "cwd": "/srv"}
    assert inv.call_once("process_detail", pid=7) == {"pid": 7, "cwd": "/srv"}  # the recording held it once
    assert len(inv.calls) == 1 and inv.notes == []


def test_a_refused_port_nobody_holds_after_the_callers_own_config_changed_blames_the_change() -> None:
    inv = investigation("orders fail with 503")
    log_error(inv, "orders", "tax lookup failed: upstream 127.0.0.1:39507 failed: [Errno 111] Connection refused")
    follow(inv, CATALOGUE, inv.findings)
    lead = inv.results["leads"][0]
    lead.confirmed, lead.culprit = True, Culprit(kind="port", name="127.0.0.1:39507", port=39507)
    lead.facts.append("nothing listens on 39507")
    before = rank(inv, "http_errors")[0]
    assert (before.category, before.culprit and before.culprit.kind) == ("dependency", "port")
    change = RecentChange(path="/etc/orders/orders.yaml", ago_s=120.0, service="orders")
    inv.add(finding(change, "info", "/etc/orders/orders.yaml changed 2 min ago", [], None))
    top = rank(inv, "http_errors")[0]
    assert top.rule == "misdirected" and top.category == "application"
    assert top.culprit is not None and (top.culprit.kind, top.culprit.name) == ("service", "orders")
    assert top.actions[0].skill is None and "/etc/orders/orders.yaml" in top.actions[0].title


def test_a_listener_on_another_address_is_not_down_it_is_bound_elsewhere() -> None:
    inv = investigation()
    who = Culprit(kind="service", name="quota", pid=7, port=8080)
    inv.add(finding(PortClosed(role="target", host="10.0.0.5", port=8080), "crit", "refused", [], who))
    assert rank(inv, "service_down")[0].rule == "service_down"
    bound = BoundElsewhere(role="target", port=8080, probed="10.0.0.5", addresses=["127.0.0.1"], process="quota")
    inv.add(finding(bound, "crit", "quota listens on 127.0.0.1 only", [], who))
    ranked = rank(inv, "service_down")
    assert [h.rule for h in ranked] == ["bound_elsewhere"]
    assert ranked[0].actions[0].skill is None and "10.0.0.5" in ranked[0].actions[0].title


def test_files_in_ram_are_a_cause_only_with_a_memory_symptom() -> None:
    def shm(question: str) -> Investigation:
        inv = investigation(question)
        where = Culprit(kind="path", name="/dev/shm", path="/dev/shm")
        inv.add(finding(TmpfsUsage(mount="/dev/shm", used_bytes=2**31), "warn", "2 GiB in /dev/shm", [], where))
        top = ProcessMemoryTop(name="cache", pid=9, rss_bytes=2**29)
        inv.add(finding(top, "info", "cache holds 512 MiB", [], Culprit(kind="process", name="cache", pid=9)))
        return inv

    assert rank(shm("is anything wrong?"), "generic") == []
    top = rank(shm("memory is almost full, who holds it?"), "memory")[0]
    assert top.rule == "tmpfs_memory" and top.culprit is not None and top.culprit.path == "/dev/shm"
    assert "more than the biggest process holds" in top.explanation


def test_connections_left_in_close_wait_blame_their_process() -> None:
    inv = investigation("CLOSE_WAIT 连接越来越多")
    inv.add(
        finding(
            CloseWait(process="sync", pid=5, count=640),
            "crit",
            "sync holds 640 CLOSE_WAIT",
            [],
            Culprit(kind="process", name="sync", pid=5),
        )
    )
    top = rank(inv, "generic")[0]
    assert top.rule == "close_wait" and top.culprit is not None and top.culprit.name == "sync"
    assert top.actions[0].skill == "restart_service" and top.confidence >= 0.85


def test_pid_1_is_never_blamed_for_its_orphans_nor_proposed_for_a_kill() -> None:
    from watchkeeper.evidence.host_facts import process_facts
    from watchkeeper.evidence.scoring import kill

    table = {"by_parent": [{"parent": "init", "ppid": 1, "children_cpu_percent": 180.0, "children": 40}]}
    assert process_facts(table, []) == []
    action = kill(1, "init", "its zombies")
    assert action.skill is None and "PID 1" in action.title
    assert kill(42, "worker", "spins").skill == "kill_process"
