"""`wk notify test|send|retry` and `wk investigate --notify` as a user runs them, against local receivers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.helpers import Wk, free_port
from tests.notify.receivers import receiver
from watchkeeper.cli import app

FAST = "[notify]\nretries = 1\nbackoff_s = 0.05\ntimeout_s = 3\n"


@pytest.fixture
def wk(tmp_path: Path, log_dir: Path) -> Wk:
    return Wk(tmp_path, log_dir, FAST)


def one_line_error(stderr: str) -> None:
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1, stderr


def test_notify_test(wk: Wk) -> None:
    with receiver() as r:
        ok = wk("notify", "test", f"slack+{r.url}/services/T1/B1/X1")
    assert ok.returncode == 0, ok.stderr
    assert f"delivered to slack+http://127.0.0.1:{r.url.rsplit(':', 1)[1]}/…" in ok.stderr
    assert "Test message from watchkeeper" in r.got[0].body["text"]
    dead = wk("notify", "test", f"http://127.0.0.1:{free_port()}/hook?token=s3cr3t")
    assert dead.returncode == 1 and "failed" in dead.stderr and "s3cr3t" not in dead.stderr
    assert not (wk.data / "outbox").exists(), "a test message is not kept"
    apprise = wk("notify", "test", "tgram://BOTTOKEN/CHATID")
    assert apprise.returncode == 1 and "tgram://…" in apprise.stderr and "BOTTOKEN" not in apprise.stderr


def test_notify_send_a_report_file_a_list_and_a_recording(wk: Wk, tmp_path: Path) -> None:
    done = wk("investigate", "is the disk full?", "--no-llm", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    single, several = tmp_path / "one.json", tmp_path / "list.json"
    single.write_text(done.stdout)
    several.write_text(json.dumps([report, {**report, "id": "inv-second"}]))
    with receiver() as r:
        hook = f"{r.url}/hooks/wk"
        assert wk("notify", "send", "--report", str(single), hook).returncode == 0
        listed = wk("notify", "send", "--report", str(several), hook)
        recorded = wk("notify", "send", "--id", report["id"], hook)
    assert listed.returncode == 0 and recorded.returncode == 0, listed.stderr + recorded.stderr
    got = [g.body["report"]["id"] for g in r.got]
    # The two reports of the list go out together, in either order.
    assert got[0] == got[3] == report["id"] and sorted(got[1:3]) == sorted([report["id"], "inv-second"])
    # Every delivery failed: exit 1, and the report is still printed.
    dead = [f"http://127.0.0.1:{free_port()}/a", f"http://127.0.0.1:{free_port()}/b"]
    again = wk("investigate", "--replay", report["id"], "--json", "--notify", dead[0], "--notify", dead[1])
    assert again.returncode == 1 and json.loads(again.stdout)["id"] == report["id"]
    assert again.stderr.count("failed") == 2


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--report", "absent.json", "http://127.0.0.1:1/x"], "cannot read the report"),
        (["--report", "bad.json", "http://127.0.0.1:1/x"], "not a report from wk investigate --json: item 2"),
        (["--id", "inv-nope", "http://127.0.0.1:1/x"], "no recorded investigation inv-nope"),
        (["--report", "good.json"], "no targets"),
        (["http://127.0.0.1:1/x"], "give --report FILE or --id"),
    ],
)
def test_notify_send_bad_input_is_one_line(tmp_path: Path, args: list[str], says: str) -> None:
    good = {"id": "inv-1", "summary": "s", "symptom": {}, "started_at": "2026-01-01T00:00:00Z"}
    (tmp_path / "good.json").write_text(json.dumps(good))
    (tmp_path / "bad.json").write_text(json.dumps([good, {"id": "inv-2"}]))
    done = CliRunner().invoke(app, ["notify", "send", *[str(tmp_path / a) if a.endswith(".json") else a for a in args]])
    assert done.exit_code == 2 and says in done.stderr
    one_line_error(done.stderr)


def test_retry_resends_what_the_outbox_kept_without_storing_tokens(wk: Wk, tmp_path: Path) -> None:
    by_url, by_ref, unlisted = free_port(), free_port(), free_port()
    wk.config.write_text(
        wk.config.read_text() + f'urls = ["http://127.0.0.1:{by_url}/hook?token=s3cr3t-one", "env:HOOK_URL_FOR_TEST"]\n'
    )
    wk.env["HOOK_URL_FOR_TEST"] = f"http://127.0.0.1:{by_ref}/hook?token=s3cr3t-two"
    report = {"id": "inv-kept", "summary": "kept", "symptom": {}, "started_at": "2026-01-01T00:00:00Z"}
    path = tmp_path / "r.json"
    path.write_text(json.dumps(report))
    first = wk("notify", "send", "--report", str(path))
    extra = wk("notify", "send", "--report", str(path), f"http://127.0.0.1:{unlisted}/other?token=s3cr3t-three")
    assert first.returncode == 1 and extra.returncode == 1
    kept = sorted((wk.data / "outbox").glob("*.json"))
    assert len(kept) == 3
    stored = "".join(p.read_text() for p in kept)
    assert "s3cr3t" not in stored and f":{by_url}" in stored, "targets are shown with their port, never a token"
    assert '"ref": "env:HOOK_URL_FOR_TEST"' in stored and stored.count('"fingerprint": "sha256:') == 3
    with receiver(by_url) as one, receiver(by_ref) as two:
        retried = wk("notify", "retry")
    assert retried.returncode == 0, retried.stderr  # two of three passed
    assert len(one.got) == len(two.got) == 1 and one.got[0].query == {"token": "s3cr3t-one"}
    assert "its target is not among the configured ones" in retried.stderr
    assert len(list((wk.data / "outbox").glob("*.json"))) == 1, "delivered entries leave the outbox"
    assert wk("notify", "retry").returncode == 1, "only the unlisted target is left, and it cannot be found"
    with receiver(unlisted) as three:
        assert wk("notify", "retry", f"http://127.0.0.1:{unlisted}/other?token=s3cr3t-three").returncode == 0
    assert three.got[0].body["report"]["id"] == "inv-kept"
    empty = wk("notify", "retry")
    assert empty.returncode == 0 and "the outbox is empty" in empty.stderr
