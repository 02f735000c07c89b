"""read_journal against a real journal file written by systemd-journal-remote."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import call, make_settings, require_binary
from watchkeeper.app import App, open_app

JOURNAL_REMOTE = "/lib/systemd/systemd-journal-remote"


def export_entry(unit: str, priority: int, message: str, offset_us: int) -> str:
    ts = int(time.time() * 1_000_000) - 60_000_000 + offset_us
    return (
        f"__REALTIME_TIMESTAMP={ts}\n_SYSTEMD_UNIT={unit}\nPRIORITY={priority}\n_HOSTNAME=web-1\n"
        f"_PID=4242\nMESSAGE={message}\n\n"
    )


@pytest.fixture
def journal_dir(tmp_path: Path) -> Path:
    require_binary("journalctl")
    require_binary(JOURNAL_REMOTE)
    directory = tmp_path / "journal"
    directory.mkdir()
    export = tmp_path / "export.txt"
    export.write_text(
        export_entry("app.service", 3, "database connection refused", 1)
        + export_entry("app.service", 6, "request served in 12ms", 2)
        + export_entry("app.service", 2, "worker pool exhausted", 3)
        + export_entry("cron.service", 6, "job started", 4)
    )
    subprocess.run(
        [JOURNAL_REMOTE, f"--output={directory / 'remote.journal'}", str(export)], check=True, capture_output=True
    )
    return directory


def journal_rt(tmp_path: Path, log_dir: Path, directory: Path) -> App:
    return open_app(make_settings(tmp_path, log_dir, logs={"journal_directory": str(directory)}))


def test_entries_of_a_unit(tmp_path: Path, log_dir: Path, journal_dir: Path) -> None:
    rt = journal_rt(tmp_path, log_dir, journal_dir)
    result = call(rt, "read_journal", unit="app.service")
    assert result.ok, result.error
    assert result.result["journal_found"] is True
    messages = [e["message"] for e in result.result["entries"]]
    assert messages == ["database connection refused", "request served in 12ms", "worker pool exhausted"]
    first = result.result["entries"][0]
    assert first["priority"] == "err" and first["unit"] == "app.service" and first["hostname"] == "web-1"


def test_priority_and_since_filters(tmp_path: Path, log_dir: Path, journal_dir: Path) -> None:
    rt = journal_rt(tmp_path, log_dir, journal_dir)
    errors = call(rt, "read_journal", priority="err")
    assert [e["message"] for e in errors.result["entries"]] == ["database connection refused", "worker pool exhausted"]
    assert call(rt, "read_journal", since="1h").result["entry_count"] == 4
    assert call(rt, "read_journal", since="2030-01-01 00:00:00").result["entry_count"] == 0


def test_no_matching_entries_is_not_no_journal(tmp_path: Path, log_dir: Path, journal_dir: Path) -> None:
    rt = journal_rt(tmp_path, log_dir, journal_dir)
    result = call(rt, "read_journal", unit="nginx.service")
    assert result.ok and result.result["journal_found"] is True and result.result["entries"] == []


def test_no_journal_on_this_host(tmp_path: Path, log_dir: Path) -> None:
    require_binary("journalctl")
    empty = tmp_path / "empty-journal"
    empty.mkdir()
    rt = journal_rt(tmp_path, log_dir, empty)
    result = call(rt, "read_journal")
    assert result.ok and result.result["journal_found"] is False
    assert "No journal files were found" in result.result["note"]


def test_bad_filters_are_invalid(rt: App) -> None:
    bad = call(rt, "read_journal", unit="--all", since="yesterday-ish", priority="loud")
    assert {f for f, _ in bad.problems} == {"unit", "since", "priority"}
