"""`wk investigate` as a user runs it: a question, an alert file, JSON, Markdown, replay, bad input."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import SmallDisk, checkpoint_sqlite
from tests.helpers import WK, Wk
from watchkeeper.scenarios.world import World, alert_payload


@pytest.fixture
def wk(tmp_path: Path, log_dir: Path) -> Wk:
    return Wk(tmp_path, log_dir)


@pytest.mark.alone
def test_question_json_replay_and_markdown(wk: Wk, tmp_path: Path) -> None:
    world = World("cli-cpu")
    try:
        world.spawn("hog", "image_process", log=False)
        done = wk("investigate", "CPU is at 98% on this server, find out why", "--no-llm", "--json")
    finally:
        assert world.cleanup() == []
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)  # only JSON on stdout
    top = report["hypotheses"][0]
    assert top["category"] == "cpu" and top["culprit"]["name"] == "image_process"
    assert top["audit_ids"] and report["calls"] and report["playbook"] == "cpu"
    assert {"id", "summary", "hypotheses", "findings", "actions", "references", "duration_s", "calls"} <= set(report)
    cited = {r["title"] for r in report["references"]}
    assert cited & {"High CPU use", "Runaway process pinning a core"}, cited
    action = report["actions"][0]
    assert action["skill"] == "kill_process" and action["risk_class"] == "mutating" and "pid" in action["params"]
    rows = wk.json("audit", "--session", report["id"])
    assert {r["tool_name"] for r in rows} >= {"host_status", "top_processes"}
    again = wk("investigate", "--replay", report["id"], "--json")
    replayed = json.loads(again.stdout)
    assert replayed["hypotheses"][0]["category"] == "cpu"
    assert replayed["hypotheses"][0]["culprit"] == top["culprit"]
    assert len(wk.json("audit", "--session", report["id"])) == len(rows), "a replay must not touch the host"
    md = wk("investigate", "--replay", report["id"], "--markdown")
    assert md.returncode == 0 and "### Root cause" in md.stdout and "image_process" in md.stdout


def test_alert_file_and_stdin(wk: Wk, tmp_path: Path) -> None:
    payload = alert_payload({"alertname": "TargetDown", "service": "ghost", "instance": "127.0.0.1:1"})
    path = tmp_path / "alert.json"
    path.write_text(json.dumps(payload))
    done = wk("investigate", "--alert", str(path), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["hypotheses"][0]["category"] == "network"
    assert report["hypotheses"][0]["culprit"]["name"] == "ghost"
    piped = subprocess.run(
        [WK, "investigate", "--alert", "-", "--markdown"],
        input=json.dumps(payload),
        env=wk.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert piped.returncode == 0 and "ghost is down" in piped.stdout


def test_bad_input_is_a_clear_usage_error(wk: Wk, tmp_path: Path) -> None:
    assert "give a question" in wk("investigate").stderr
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    done = wk("investigate", "--alert", str(bad))
    assert done.returncode == 2 and "not valid JSON" in done.stderr
    bad.write_text('{"alerts": []}')
    done = wk("investigate", "--alert", str(bad))
    assert done.returncode == 2 and "no firing alert" in done.stderr
    missing = wk("investigate", "--replay", "inv-nope")
    assert missing.returncode == 2 and "no recorded investigation inv-nope" in missing.stderr
    assert wk("investigate", "--alert", str(tmp_path / "absent.json")).returncode == 2


def test_notify_delivers_and_keeps_what_fails(wk: Wk, tmp_path: Path) -> None:
    from tests.notify.receivers import receiver

    payload = alert_payload({"alertname": "TargetDown", "service": "ghost", "instance": "127.0.0.1:1"})
    path = tmp_path / "alert.json"
    path.write_text(json.dumps(payload))
    with receiver() as r:
        done = wk(
            "investigate",
            "--alert",
            str(path),
            "--notify",
            f"slack+{r.url}/services/T1/B1/X1",
            "--notify",
            "http://127.0.0.1:1/nothing-listens",
            "--json",
        )
    assert done.returncode == 0
    assert "delivered to slack+http://127.0.0.1" in done.stderr
    assert "delivery to http://127.0.0.1" in done.stderr and "the report is kept at" in done.stderr
    assert "ghost is down" in r.got[0].body["text"]
    assert len(list((wk.data / "outbox").glob("*.json"))) == 1
    assert json.loads(done.stdout)["hypotheses"][0]["category"] == "network"


def test_progress_is_live_on_a_terminal(wk: Wk) -> None:
    import os
    import pty
    import select

    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [WK, "investigate", "is the disk full?"],
        env=wk.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=slave,
    )
    os.close(slave)
    shown = b""
    while proc.poll() is None or select.select([master], [], [], 0.2)[0]:
        if select.select([master], [], [], 0.2)[0]:
            try:
                shown += os.read(master, 4096)
            except OSError:
                break
    os.close(master)
    out, _ = proc.communicate(timeout=60)
    text = shown.decode(errors="replace")
    assert proc.returncode == 0 and "playbook disk" in text and "host_status" in text
    assert b"Most likely" in out or b"Nothing abnormal" in out


def test_a_full_data_disk_still_prints_the_report(small_disk: SmallDisk, log_dir: Path) -> None:
    wk = Wk(small_disk.path, log_dir)
    wk.env["WK_DATA_DIR"] = str(small_disk.path / "data")
    assert wk("skills", "run", "host_status").returncode == 0
    checkpoint_sqlite(small_disk.path / "data" / "watchkeeper.db")
    small_disk.fill()
    done = wk("investigate", "is the disk full?", "--no-llm", "--json")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    report = json.loads(done.stdout)
    assert report["playbook"] == "disk" and report["summary"] and report["calls"]
    assert "the recording could not be saved (No space left on device)" in done.stderr
    assert any("recording could not be saved" in n for n in report["notes"])
    assert not list((small_disk.path / "data").glob("investigations/*"))  # no truncated recording left
