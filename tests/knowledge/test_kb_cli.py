"""`wk kb` as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import Wk
from tests.knowledge.test_knowledge import RUNBOOK


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
    assert fb.returncode == 0 and "'no': 1" in fb.stdout
    cited = json.loads(wk("investigate", "--alert", str(alert), "--json").stdout)["references"]
    assert case_id in {r["id"] for r in cited}, "the next investigation of the same alert cites the case"
    assert wk("kb", "learn", "--report", str(alert), "--fix", "x", "--worked", "yes").returncode == 2
    assert (
        wk("kb", "learn", "--report", str(tmp_path / "report.json"), "--fix", "x", "--worked", "maybe").returncode == 2
    )
