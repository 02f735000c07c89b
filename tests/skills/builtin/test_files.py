"""tail_file and grep_file on real files: allowlist escapes, rotated siblings, byte budgets."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from tests.conftest import call
from watchkeeper.app import App
from watchkeeper.skills.invoke import Status


@pytest.fixture
def rotated(log_dir: Path) -> Path:
    """app.log (newest), app.log.1, app.log.2.gz (oldest): three lines each."""
    app = log_dir / "app.log"
    app.write_text("".join(f"current {i}\n" for i in range(3)))
    (log_dir / "app.log.1").write_text("".join(f"rot1 {i} ERROR x\n" for i in range(3)))
    with gzip.open(log_dir / "app.log.2.gz", "wt") as fh:
        fh.write("".join(f"rot2 {i} ERROR y\n" for i in range(3)))
    return app


def test_tail_returns_the_newest_lines_oldest_first(rt: App, log_dir: Path) -> None:
    log = log_dir / "big.log"
    log.write_text("".join(f"line {i}\n" for i in range(10_000)))
    result = call(rt, "tail_file", path=str(log), lines=3)
    assert result.ok and result.result["lines"] == ["line 9997", "line 9998", "line 9999"]


def test_tail_continues_into_rotated_files(rt: App, rotated: Path) -> None:
    result = call(rt, "tail_file", path=str(rotated), lines=8, include_rotated=True)
    lines = result.result["lines"]
    assert lines == [
        "rot2 1 ERROR y",
        "rot2 2 ERROR y",
        *(f"rot1 {i} ERROR x" for i in range(3)),
        *(f"current {i}" for i in range(3)),
    ]
    assert result.result["files"][0].endswith("app.log.2.gz")
    assert call(rt, "tail_file", path=str(rotated), lines=8).result["line_count"] == 3


def test_tail_respects_the_byte_budget(rt: App, log_dir: Path) -> None:
    log = log_dir / "wide.log"
    log.write_text("".join(f"{i:06d} " + "x" * 993 + "\n" for i in range(5000)))  # 1000-byte lines
    result = call(rt, "tail_file", path=str(log), lines=5000, max_bytes=10_240)
    assert result.result["budget_exhausted"] is True
    assert 8 <= result.result["line_count"] <= 10
    assert result.result["lines"][-1].startswith("004999")


@pytest.mark.parametrize("skill", ["tail_file", "grep_file"])
def test_paths_outside_the_allowlist_are_refused(rt: App, log_dir: Path, skill: str) -> None:
    outside = log_dir.parent / "secret.txt"
    outside.write_text("password=hunter2\n")
    (log_dir / "escape.log").symlink_to(outside)
    attempts = [
        "/etc/passwd",
        f"{log_dir}/../secret.txt",
        f"{log_dir}/escape.log",
        "relative/app.log",
    ]
    for path in attempts:
        result = call(rt, skill, path=path, pattern="x") if skill == "grep_file" else call(rt, skill, path=path)
        assert result.status is Status.REFUSED, path
        assert result.rule == "path_allowlist"
    rows = rt.ledger.rows(tool=skill)
    assert [r["status"] for r in rows] == ["refused"] * len(attempts)
    assert "hunter2" not in str(rows)


def test_a_rotated_sibling_that_escapes_is_refused(rt: App, log_dir: Path, rotated: Path) -> None:
    outside = log_dir.parent / "other.log"
    outside.write_text("not yours\n")
    (log_dir / "app.log.3").symlink_to(outside)
    result = call(rt, "tail_file", path=str(rotated), lines=50, include_rotated=True)
    assert result.status is Status.REFUSED and "other.log" in (result.error or "")


def test_symlinks_inside_the_allowlist_are_fine(rt: App, log_dir: Path, rotated: Path) -> None:
    (log_dir / "current.log").symlink_to(rotated)
    assert call(rt, "tail_file", path=str(log_dir / "current.log")).ok


def test_missing_file_is_a_clear_failure(rt: App, log_dir: Path) -> None:
    result = call(rt, "tail_file", path=str(log_dir / "nope.log"))
    assert result.status is Status.FAILED and result.error == f"{log_dir / 'nope.log'} does not exist"


def test_grep_keeps_the_newest_matches_across_rotations(rt: App, rotated: Path) -> None:
    result = call(rt, "grep_file", path=str(rotated), pattern=r"ERROR (x|y)", max_matches=4, include_rotated=True)
    assert result.ok
    assert result.result["total_matches"] == 6 and result.result["truncated"] is True
    assert [m["line"] for m in result.result["matches"]] == [
        "rot2 2 ERROR y",
        "rot1 0 ERROR x",
        "rot1 1 ERROR x",
        "rot1 2 ERROR x",
    ]
    assert result.result["matches"][-1]["line_no"] == 3


def test_grep_case_and_invalid_regex(rt: App, rotated: Path) -> None:
    assert call(rt, "grep_file", path=str(rotated), pattern="CURRENT").result["total_matches"] == 0
    assert call(rt, "grep_file", path=str(rotated), pattern="CURRENT", ignore_case=True).result["total_matches"] == 3
    bad = call(rt, "grep_file", path=str(rotated), pattern="(unclosed")
    assert bad.status is Status.INVALID
    assert bad.problems[0][0] == "pattern" and "invalid regular expression" in bad.problems[0][1]


def test_grep_reads_only_the_newest_bytes_of_a_huge_file(rt: App, log_dir: Path) -> None:
    log = log_dir / "huge.log"
    with log.open("w") as fh:
        fh.write("OLD ERROR\n" * 10_000)
        fh.write("NEW ERROR\n" * 100)
    result = call(rt, "grep_file", path=str(log), pattern="ERROR", max_bytes=2048)
    lines = {m["line"] for m in result.result["matches"]}
    assert lines == {"NEW ERROR"} and result.result["total_matches"] <= 205
