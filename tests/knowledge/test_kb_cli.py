"""`wk kb` as a user runs it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from tests.helpers import Wk
from tests.knowledge.test_knowledge import RUNBOOK
from watchkeeper.cli import app
from watchkeeper.scenarios.world import alert_payload


def test_add_list_show_search_forget(tmp_path: Path, log_dir: Path) -> None:
    wk = Wk(tmp_path, log_dir)
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "checkout.md").write_text(RUNBOOK)
    added = wk("kb", "add", str(tmp_path / "kb"))
    assert added.returncode == 0 and "added" in added.stdout
    assert "unchanged" in wk("kb", "add", str(tmp_path / "kb")).stdout
    docs = wk.json("kb", "list")
    assert len([d for d in docs if d["type"] == "runbook"]) >= 16  # the starter set plus ours
    hits = wk.json("kb", "search", "payment gateway times out", "--service", "checkout")
    assert hits[0]["title"] == "Checkout latency" and {"id", "title", "source", "type", "score", "passage"} <= set(
        hits[0]
    )
    shown = wk("kb", "show", hits[0]["id"])
    assert "Checkout latency > Fix" in shown.stdout
    assert wk("kb", "forget", hits[0]["id"]).returncode == 0
    assert wk("kb", "show", hits[0]["id"]).returncode == 2
    assert [r["tool_name"] for r in wk.json("audit", "--tool", "query_knowledge")] == ["query_knowledge"]
    (tmp_path / "bad.json").write_text("{")
    (tmp_path / "more.txt").write_text("The payments DB is db-7.\n")
    bad = wk("kb", "add", str(tmp_path / "bad.json"), str(tmp_path / "more.txt"))
    assert bad.returncode == 2 and bad.stderr == (
        f"error: {tmp_path / 'bad.json'} is not valid JSON: "
        "Expecting property name enclosed in double quotes at line 1 column 2\n"
    )
    assert bad.stdout.split() == ["added", str(tmp_path / "more.txt")], "the good file still goes in"


def test_learn_from_a_report_and_feedback(tmp_path: Path, log_dir: Path) -> None:
    wk = Wk(tmp_path, log_dir)
    alert = tmp_path / "alert.json"
    alert.write_text(json.dumps({"labels": {"alertname": "TargetDown", "service": "ghost", "instance": "127.0.0.1:1"}}))
    report = wk("investigate", "--alert", str(alert), "--json")
    (tmp_path / "report.json").write_text(report.stdout)
    learned = wk("kb", "learn", "--report", str(tmp_path / "report.json"), "--fix", "restart ghost", "--worked", "yes")
    assert learned.returncode == 0 and learned.stdout.startswith("learned case ")
    case_id = learned.stdout.split()[-1]
    again = wk("kb", "learn", "--report", str(tmp_path / "report.json"), "--fix", "restart ghost", "--worked", "partly")
    assert again.stdout.strip() == f"merged into case {case_id}"
    shown = wk.json("kb", "show", case_id)
    assert shown["meta"]["recurrences"] == 2 and shown["meta"]["outcomes"] == {"yes": 1, "partly": 1, "no": 0}
    fb = wk("kb", "feedback", case_id, "--worked", "no")
    assert fb.returncode == 0 and fb.stdout.strip() == f"{case_id}: outcomes yes=1 partly=1 no=1"
    cited = json.loads(wk("investigate", "--alert", str(alert), "--json").stdout)["references"]
    assert case_id in {r["id"] for r in cited}, "the next investigation of the same alert cites the case"
    assert wk("kb", "learn", "--report", str(alert), "--fix", "x", "--worked", "yes").returncode == 2
    assert (
        wk("kb", "learn", "--report", str(tmp_path / "report.json"), "--fix", "x", "--worked", "maybe").returncode == 2
    )


def _alert(name: str, service: str, port: int) -> dict[str, Any]:
    return alert_payload({"alertname": name, "service": service, "instance": f"127.0.0.1:{port}"})["alerts"][0]


def test_learn_takes_what_investigate_prints_and_recorded_investigations(tmp_path: Path, log_dir: Path) -> None:
    wk = Wk(tmp_path, log_dir, "[triage]\nsample_seconds = 0.5\n")
    payload = alert_payload({"alertname": "TargetDown", "service": "ghost", "instance": "127.0.0.1:1"})
    payload["alerts"] += [_alert("TargetDown", "phantom", 2), _alert("TargetDown", "ghost", 1)]
    (tmp_path / "payload.json").write_text(json.dumps(payload))
    printed = wk("investigate", "--alert", str(tmp_path / "payload.json"), "--json")
    reports = json.loads(printed.stdout)
    assert isinstance(reports, list) and len(reports) == 3
    (tmp_path / "reports.json").write_text(printed.stdout)

    def learn(*args: str) -> subprocess.CompletedProcess[str]:
        return wk("kb", "learn", *args, "--fix", "restart the target", "--worked", "yes")

    # A list is learned report by report; the third alert is the first one again and counts once.
    every = learn("--report", str(tmp_path / "reports.json"))
    assert every.returncode == 0, every.stderr
    lines = every.stdout.splitlines()
    assert [line.split(" case ")[0] for line in lines] == [
        "report 1: learned",
        "report 2: learned",
        "report 3: the same problem as report 1, counted once",
    ]
    first_case = lines[0].split()[-1]
    assert first_case != lines[1].split()[-1]
    shown = wk.json("kb", "show", first_case)
    assert shown["meta"]["recurrences"] == 1 and shown["meta"]["outcomes"]["yes"] == 1

    # --index picks one report of the list; --id takes the recording of a past investigation.
    picked = learn("--report", str(tmp_path / "reports.json"), "--index", "2")
    assert picked.stdout == f"report 2: merged into case {lines[1].split()[-1]}\n"
    recorded = learn("--id", reports[0]["id"])
    assert recorded.returncode == 0 and recorded.stdout == f"merged into case {first_case}\n"
    assert wk.json("kb", "show", first_case)["meta"]["recurrences"] == 2


def test_learn_says_precisely_what_is_wrong(tmp_path: Path) -> None:
    report = {"id": "inv-1", "summary": "s", "symptom": {}, "started_at": "2026-01-01T00:00:00Z"}
    files = {
        "not-json.json": '{"id": "inv-1",\n  "summary": }',
        "alert.json": json.dumps({"labels": {"alertname": "X"}}),
        "bad-field.json": json.dumps([report, {**report, "hypotheses": [{"category": "cpu", "title": "t"}]}]),
        "empty.json": "[]",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)

    def learn(*args: str) -> str:  # in process: each of these fails before anything opens
        done = CliRunner().invoke(app, ["kb", "learn", *args, "--fix", "x", "--worked", "yes"])
        assert done.exit_code == 2 and done.stdout == "" and len(done.stderr.splitlines()) == 1, done.output
        return done.stderr.strip()

    assert learn("--report", str(tmp_path / "nope.json")) == f"error: report {tmp_path / 'nope.json'}: no such file"
    assert learn("--report", str(tmp_path / "not-json.json")) == (
        f"error: report {tmp_path / 'not-json.json'} is not valid JSON: Expecting value at line 2 column 14"
    )
    assert learn("--report", str(tmp_path / "alert.json")) == (
        f"error: report {tmp_path / 'alert.json'} is not a report from wk investigate --json: id: Field required"
    )
    assert learn("--report", str(tmp_path / "bad-field.json")) == (
        f"error: report {tmp_path / 'bad-field.json'}, item 2, is not a report from wk investigate --json: "
        "hypotheses[0].confidence: Field required"
    )
    assert learn("--report", str(tmp_path / "empty.json")) == (
        f"error: report {tmp_path / 'empty.json'} is an empty list: no report to learn"
    )
    assert learn("--report", str(tmp_path / "bad-field.json"), "--index", "3") == (
        f"error: --index takes 1 to 2: report {tmp_path / 'bad-field.json'} holds 2 reports"
    )
    assert learn("--id", "inv-20260101-000000-abcdef").startswith(
        "error: no recorded investigation inv-20260101-000000-abcdef in "
    )
    assert learn("--id", "../../etc/passwd") == (
        "error: ../../etc/passwd is not an investigation id (they look like inv-20260101-120000-ab12cd)"
    )
    assert learn() == "error: give --report FILE or --id INVESTIGATION (one of them)"
