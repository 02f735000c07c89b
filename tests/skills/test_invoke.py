"""`invoke`: validation, gate, routing, timeouts, output cap, concurrency, redaction, audit."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import CLI, SmallDisk, call, checkpoint_sqlite, make_settings
from tests.helpers import full_disk, pid_alive, wait_for
from tests.skills.lab import add_lab_skills
from watchkeeper.app import App, open_app
from watchkeeper.config import Settings
from watchkeeper.policy.approvals import grant
from watchkeeper.policy.risk import Caller, Role
from watchkeeper.skills.invoke import Status


@pytest.fixture
def lab(rt: App) -> App:
    add_lab_skills(rt.registry)
    return rt


def last_row(rt: App) -> dict[str, object]:
    return rt.ledger.rows()[-1]


def test_success_returns_result_and_writes_one_row(lab: App) -> None:
    result = call(lab, "lab_echo", text="ab", times=2)
    assert result.status is Status.SUCCEEDED and result.result == {"text": "abab"}
    row = last_row(lab)
    assert row["id"] == result.audit_id and row["status"] == "succeeded"
    assert json.loads(str(row["args_json"])) == {"text": "ab", "times": 2}
    assert row["caller_role"] == "cli" and row["caller_user_id"] == "tester"


def test_invalid_params_name_each_field(lab: App) -> None:
    result = call(lab, "lab_echo", times=99, colour="red")
    assert result.status is Status.INVALID
    fields = dict(result.problems)
    assert set(fields) == {"text", "times", "colour"}
    assert "required" in fields["text"].lower() and "10" in fields["times"]
    assert "text" in (result.error or "") and last_row(lab)["status"] == "invalid"


def test_params_must_be_an_object(lab: App) -> None:
    result = lab.invoker.invoke("lab_echo", ["not", "an", "object"], CLI)  # type: ignore[arg-type]
    assert result.status is Status.INVALID and "JSON object" in (result.error or "")


def test_unknown_skill_suggests_close_keys(lab: App) -> None:
    result = call(lab, "lab_ecko")
    assert result.status is Status.INVALID and result.rule == "unknown_skill"
    assert "lab_echo" in (result.error or "")
    assert last_row(lab)["tool_name"] == "lab_ecko"


def test_host_skill_runs_with_no_params_on_the_local_edge(lab: App) -> None:
    assert call(lab, "lab_host").result == {"edge": "local"}
    assert call(lab, "lab_host", edge="local").ok
    result = call(lab, "lab_host", edge="web-7")
    assert result.status is Status.INVALID and "unknown edge 'web-7'" in (result.error or "")


def test_skill_bug_is_a_failed_call(lab: App) -> None:
    result = call(lab, "lab_boom")
    assert result.status is Status.FAILED and "ZeroDivisionError" in (result.error or "")
    assert last_row(lab)["error"] == result.error


def test_python_timeout(lab: App) -> None:
    t0 = time.monotonic()
    result = call(lab, "lab_sleep", seconds=5)
    assert result.status is Status.TIMED_OUT
    assert time.monotonic() - t0 < 2.0
    assert last_row(lab)["status"] == "timed_out"


def test_timeout_kills_the_whole_process_group(lab: App, tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    result = call(lab, "lab_spawn", seconds=60, pid_file=str(pid_file))
    assert result.status is Status.TIMED_OUT
    grandchild = int(pid_file.read_text())
    assert wait_for(lambda: not pid_alive(grandchild), timeout=5), "the grandchild survived the timeout"


def test_per_skill_timeout_from_config(tmp_path: Path, log_dir: Path) -> None:
    rt = open_app(make_settings(tmp_path, log_dir, skills={"timeouts": {"lab_sleep": 3.0}}))
    add_lab_skills(rt.registry)
    assert call(rt, "lab_sleep", seconds=1).ok


def test_output_cap_cuts_with_a_visible_marker(lab: App) -> None:
    result = call(lab, "lab_big", kib=300)
    assert result.ok and result.truncated
    text = json.dumps(result.result)
    assert len(text.encode()) <= lab.settings.limits.output_cap_bytes
    assert "cut by watchkeeper: output cap 65536 bytes" in text
    assert result.result["summary"] == "ok"
    assert len(str(last_row(lab)["result_json"]).encode()) <= 65536


def test_concurrency_is_limited(tmp_path: Path, log_dir: Path) -> None:
    rt = open_app(make_settings(tmp_path, log_dir, limits={"max_concurrent": 2}))
    add_lab_skills(rt.registry)
    results = []
    threads = [threading.Thread(target=lambda: results.append(call(rt, "lab_busy"))) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r.ok for r in results)
    assert max(r.result["peak"] for r in results) == 2


def test_results_and_rows_are_redacted(lab: App) -> None:
    result = call(lab, "lab_leak")
    text = json.dumps(result.result) + str(last_row(lab)["result_json"])
    assert "pw-in-log" not in text and "hunter2" not in text


def test_mutating_is_refused_without_approval_and_nothing_runs(lab: App, tmp_path: Path) -> None:
    target = tmp_path / "touched"
    result = call(lab, "lab_touch", path=str(target))
    assert result.status is Status.REFUSED and result.rule == "approval_required"
    assert "needs one person's approval of this exact call" in (result.error or "")
    assert "--yes" not in (result.error or "")  # how to give it is each face's to say
    assert not target.exists()
    assert last_row(lab)["status"] == "refused"


def test_mutating_runs_with_a_matching_approval_and_records_who(lab: App, tmp_path: Path) -> None:
    target = tmp_path / "touched"
    approval = grant("lab_touch", {"path": str(target)}, "local", "alice", Role.CLI)
    result = call(lab, "lab_touch", approval=approval, path=str(target))
    assert result.ok and target.read_text() == "touched"
    assert last_row(lab)["approved_by"] == "alice"


def test_approval_for_other_params_is_refused(lab: App, tmp_path: Path) -> None:
    approval = grant("lab_touch", {"path": str(tmp_path / "a")}, "local", "alice", Role.CLI)
    result = call(lab, "lab_touch", approval=approval, path=str(tmp_path / "b"))
    assert result.status is Status.REFUSED and result.rule == "approval_mismatch"
    assert not (tmp_path / "b").exists()
    assert last_row(lab)["approved_by"] is None


@pytest.mark.parametrize("role", [Role.LLM, Role.MCP, Role.WEBHOOK])
def test_untrusted_callers_never_run_mutating_skills(lab: App, tmp_path: Path, role: Role) -> None:
    target = tmp_path / "touched"
    approval = grant("lab_touch", {"path": str(target)}, "local", "alice", Role.CLI)
    result = call(lab, "lab_touch", caller=Caller(role), approval=approval, path=str(target))
    assert result.status is Status.REFUSED and not target.exists()


def test_dangerous_is_refused(lab: App, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    approval = grant("lab_wipe", {"path": str(victim)}, "local", "alice", Role.CLI)
    result = call(lab, "lab_wipe", approval=approval, path=str(victim))
    assert result.status is Status.REFUSED and result.rule == "dangerous_requires_sop"
    assert victim.exists()


def test_preview_shows_the_exact_call(lab: App, tmp_path: Path) -> None:
    validated, shown = lab.invoker.preview("lab_touch", {"path": str(tmp_path / "x")})
    assert validated.params == {"path": str(tmp_path / "x")} and validated.edge == "local"
    assert shown is not None and shown.summary == f"create {tmp_path / 'x'}"


def test_a_full_store_takes_the_intent_through_the_spool_before_acting(lab: App, tmp_path: Path) -> None:
    assert call(lab, "lab_echo", text="before").audit_id == 1
    limit = full_disk(lab.engine)
    big = call(lab, "lab_big", kib=60)
    assert big.ok and big.audit_id is None and lab.ledger.pending_count == 1
    target = tmp_path / "touched"
    approval = grant("lab_touch", {"path": str(target)}, "local", "alice", Role.CLI)
    touched = call(lab, "lab_touch", approval=approval, path=str(target))
    assert touched.ok and target.exists()
    spool = lab.settings.data_dir / "audit-spool.jsonl"
    spooled = [json.loads(line) for line in spool.read_text().splitlines()]
    # The row waiting in memory and the intent went to the spool, fsync'ed, before the skill ran.
    assert [(r["tool_name"], r["status"]) for r in spooled] == [("lab_big", "succeeded"), ("lab_touch", "intent")]
    assert spooled[1]["call_id"] == touched.call_id
    limit["pages"] = 1_000_000
    lab.engine.dispose()
    assert call(lab, "lab_echo", text="after").audit_id == 5
    rows = lab.ledger.rows()
    assert [(r["tool_name"], r["status"]) for r in rows] == [
        ("lab_echo", "succeeded"),
        ("lab_big", "succeeded"),
        ("lab_touch", "intent"),
        ("lab_touch", "succeeded"),
        ("lab_echo", "succeeded"),
    ]
    assert rows[2]["call_id"] == rows[3]["call_id"] == touched.call_id
    assert lab.ledger.verify().ok and not lab.ledger.verify().notes


def test_a_full_disk_refuses_mutating_skills_and_keeps_safe_rows(small_disk: SmallDisk, tmp_path: Path) -> None:
    """A real full filesystem (ENOSPC) under the data directory: neither the store nor the spool can be written."""
    lab = open_app(Settings(data_dir=small_disk.path / "data", policy={"read_allowlist": [str(tmp_path)]}))
    add_lab_skills(lab.registry)
    assert call(lab, "lab_echo", text="before").audit_id == 1
    checkpoint_sqlite(small_disk.path / "data" / "watchkeeper.db")
    small_disk.fill()
    echo = call(lab, "lab_echo", text="while full")
    assert echo.ok and echo.audit_id is None  # safe skills still run; the row waits in memory
    target = tmp_path / "touched"
    approval = grant("lab_touch", {"path": str(target)}, "local", "alice", Role.CLI)
    refused = call(lab, "lab_touch", approval=approval, path=str(target))
    assert refused.status is Status.REFUSED and refused.rule == "ledger_unavailable"
    assert "No space left on device" in (refused.error or "") and "fail closed" in (refused.error or "")
    assert not target.exists()
    small_disk.free()
    assert call(lab, "lab_echo", text="after").audit_id == 4
    rows = lab.ledger.rows()
    assert [(r["tool_name"], r["status"]) for r in rows] == [
        ("lab_echo", "succeeded"),
        ("lab_echo", "succeeded"),
        ("lab_touch", "refused"),
        ("lab_echo", "succeeded"),
    ]
    assert lab.ledger.verify().ok
    lab.engine.dispose()


def test_the_intent_is_committed_before_the_skill_acts(tmp_path: Path) -> None:
    """A process that dies inside a mutating skill leaves its intent row: the record came first."""
    script = f"""
import os, sys
sys.path.insert(0, {str(Path(__file__).parents[2])!r})
from pathlib import Path
from tests.skills.lab import add_lab_skills
from watchkeeper.config import Settings
from watchkeeper.config import Settings
from watchkeeper.policy.approvals import grant
from watchkeeper.policy.risk import Caller, Role
from watchkeeper.app import open_app
rt = open_app(Settings(data_dir=Path({str(tmp_path / "d")!r})))
add_lab_skills(rt.registry)
approval = grant("lab_die", {{}}, "local", "alice", Role.CLI)
rt.invoker.invoke("lab_die", {{}}, Caller(Role.CLI, user="alice"), approval)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 3, done.stderr
    rt = open_app(Settings(data_dir=tmp_path / "d"))
    rows = rt.ledger.rows()
    assert [(r["tool_name"], r["status"], r["approved_by"]) for r in rows] == [("lab_die", "intent", "alice")]
    report = rt.ledger.verify()
    assert report.ok and len(report.notes) == 1 and "no outcome row follows" in report.notes[0][1]
    rt.engine.dispose()


def test_a_stuck_skill_does_not_keep_the_process_alive(tmp_path: Path) -> None:
    script = f"""
import sys, time
sys.path.insert(0, {str(Path(__file__).parents[2])!r})
from pathlib import Path
from tests.skills.lab import add_lab_skills
from watchkeeper.config import Settings
from watchkeeper.policy.risk import Caller, Role
from watchkeeper.app import open_app
rt = open_app(Settings(data_dir=Path({str(tmp_path / "d")!r})))
add_lab_skills(rt.registry)
print(rt.invoker.invoke("lab_sleep", {{"seconds": 60}}, Caller(Role.CLI)).status.value, flush=True)
"""
    t0 = time.monotonic()
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    assert done.stdout.strip() == "timed_out", done.stderr
    assert time.monotonic() - t0 < 15


def test_two_jobs_submitted_at_once_never_share_one_idle_worker() -> None:
    import threading

    from watchkeeper.skills.workers import Workers

    workers = Workers(4)
    workers.submit(lambda: None).result(timeout=5)  # leaves one idle worker
    barrier = threading.Barrier(2, timeout=5)
    jobs = [workers.submit(barrier.wait), workers.submit(barrier.wait)]
    assert sorted(j.result(timeout=10) for j in jobs) == [0, 1]  # both met: they ran at the same time
