"""disk_usage on a real tree with known sizes."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import call
from watchkeeper.app import App
from watchkeeper.skills.invoke import Status


def write(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\1" * size)  # not sparse: blocks are really allocated


def test_largest_directories_and_files(rt: App, tmp_path: Path) -> None:
    root = tmp_path / "var"
    write(root / "log" / "app" / "app.log", 3_000_000)
    write(root / "log" / "syslog", 1_000_000)
    write(root / "cache" / "pkg.deb", 500_000)
    write(root / "tiny", 10)
    result = call(rt, "disk_usage", path=str(root), top=3)
    assert result.ok and result.result["complete"] is True
    dirs = result.result["largest_dirs"]
    assert [d["path"] for d in dirs] == [str(root / "log"), str(root / "log" / "app"), str(root / "cache")]
    assert dirs[0]["bytes"] >= 4_000_000
    files = result.result["largest_files"]
    assert files[0]["path"] == str(root / "log" / "app" / "app.log") and files[0]["bytes"] >= 3_000_000
    assert result.result["total_bytes"] >= 4_500_000


def test_scan_is_bounded(rt: App, tmp_path: Path) -> None:
    root = tmp_path / "many"
    for i in range(300):
        write(root / f"d{i % 10}" / f"f{i}", 1)
    result = call(rt, "disk_usage", path=str(root), max_entries=100)
    assert result.ok and result.result["complete"] is False and result.result["entries_scanned"] == 100


def test_bad_paths(rt: App, tmp_path: Path) -> None:
    assert call(rt, "disk_usage", path="var/log").status is Status.FAILED
    missing = call(rt, "disk_usage", path=str(tmp_path / "nope"))
    assert missing.status is Status.FAILED and "No such file" in (missing.error or "")
