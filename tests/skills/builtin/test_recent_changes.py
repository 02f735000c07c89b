"""recent_changes on real files: what was modified in the window, newest first, and dpkg's log read
only inside the allowlist."""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import call
from watchkeeper.app import App
from watchkeeper.skills.builtin import recent_changes


def test_files_changed_in_the_window_newest_first(rt: App, tmp_path: Path) -> None:
    conf = tmp_path / "etc" / "app"
    conf.mkdir(parents=True)
    old, new, newer = conf / "old.yaml", conf / "app.yaml", conf / "feature.yaml"
    for f in (old, new, newer):
        f.write_text("x: 1\n")
    hours_ago = time.time() - 7200
    os.utime(old, (hours_ago, hours_ago))
    os.utime(new, (time.time() - 300, time.time() - 300))
    result = call(rt, "recent_changes", paths=[str(tmp_path / "etc")], minutes=60)
    assert result.ok, result.error
    paths = [f["path"] for f in result.result["files"]]
    assert paths == [str(newer), str(new)]  # the two-hour-old file is outside the window
    assert 250 <= result.result["files"][1]["ago_s"] <= 400 and result.result["complete"] is True
    single = call(rt, "recent_changes", paths=[str(new)], minutes=60)
    assert [f["path"] for f in single.result["files"]] == [str(new)]


def test_packages_come_from_dpkgs_log_inside_the_allowlist(
    rt: App, log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dpkg = log_dir / "dpkg.log"
    now = datetime.now()  # dpkg writes local time
    dpkg.write_text(
        f"{(now - timedelta(hours=5)):%Y-%m-%d %H:%M:%S} install old-tool:amd64 <none> 1.0\n"
        f"{(now - timedelta(minutes=10)):%Y-%m-%d %H:%M:%S} status half-configured openssl:amd64 3.0.13-1\n"
        f"{(now - timedelta(minutes=9)):%Y-%m-%d %H:%M:%S} upgrade openssl:amd64 3.0.11-1 3.0.13-1\n"
    )
    monkeypatch.setattr(recent_changes, "DPKG_LOG", str(dpkg))
    result = call(rt, "recent_changes", paths=[str(log_dir)], minutes=60)
    assert [(p["action"], p["package"], p["from"], p["to"]) for p in result.result["packages"]] == [
        ("upgrade", "openssl:amd64", "3.0.11-1", "3.0.13-1")
    ]
    monkeypatch.setattr(recent_changes, "DPKG_LOG", "/etc/passwd")  # outside the allowlist: never read
    assert call(rt, "recent_changes", paths=[str(log_dir)]).result["packages"] == []
