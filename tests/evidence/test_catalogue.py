"""The catalogue of error signatures: each entry recognises its own phrasings (and no earlier entry
takes them), reads the object its line names, and an operator's broken entry is one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import Wk
from watchkeeper.errors import ConfigError
from watchkeeper.evidence.catalogue import CHECKS_OF_OBJECT, classify, load_catalogue
from watchkeeper.evidence.follow import CHECKS, extract
from watchkeeper.evidence.report import CATEGORIES

CATALOGUE = load_catalogue([])
EXAMPLES = [(sig.name, e.line, e.object) for sig in CATALOGUE for e in sig.examples]


def test_every_signature_has_examples_a_category_and_a_check_that_exists() -> None:
    assert len(CATALOGUE) >= 12
    for sig in CATALOGUE:
        assert sig.examples, f"{sig.name} has no example lines"
        assert sig.category in CATEGORIES
        assert sig.check == "none" or sig.check in CHECKS, sig.check
        assert sig.object in CHECKS_OF_OBJECT.get(sig.check, {sig.object}), (sig.name, sig.check, sig.object)


@pytest.mark.parametrize(("name", "line", "obj"), EXAMPLES, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(EXAMPLES)])
def test_a_signature_recognises_its_line_and_reads_its_object(name: str, line: str, obj: str | None) -> None:
    matched = classify(CATALOGUE, line)
    assert matched and matched[0].name == name, [s.name for s in matched]
    assert extract(matched[0].object, line) == obj


def test_ordinary_lines_match_nothing() -> None:
    for line in ("GET /orders/17 200 12ms", "INFO consumed batch 4 (50 messages)", "vacuum started", "连接成功"):
        assert classify(CATALOGUE, line) == [], line


def test_operators_add_and_replace_signatures(tmp_path: Path) -> None:
    (tmp_path / "team.yaml").write_text(
        "- name: job_backlog\n  category: application\n  patterns: ['backlog of \\d+ jobs', '任务积压']\n"
        "  title: '{service} falls behind: its jobs pile up'\n  fix: {title: 'add workers or shed load'}\n"
        "  examples: [{line: 'scheduler: backlog of 12000 jobs, oldest 40 min'}]\n"
        "- name: permission_denied\n  category: permissions\n  patterns: ['forbidden by policy']\n"
        "  title: 'denied'\n  fix: {title: 'ask'}\n  examples: [{line: 'forbidden by policy X'}]\n"
    )
    mine = load_catalogue([tmp_path])
    assert [s.name for s in classify(mine, "任务积压严重")] == ["job_backlog"]
    assert [s.name for s in classify(mine, "backlog of 12 jobs")] == ["job_backlog"]
    assert classify(mine, "Permission denied: '/etc/x/y'") == []  # replaced by name
    assert len(mine) == len(CATALOGUE) + 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "- name: bad\n  category: cpu\n  patterns: ['(unclosed']\n  title: t\n  fix: {title: f}\n",
            "entry bad: patterns",
        ),
        ("- name: bad\n  category: weather\n  patterns: ['x']\n  title: t\n  fix: {title: f}\n", "entry bad: category"),
        (
            "- name: bad\n  category: cpu\n  patterns: ['x']\n  title: t\n  fix: {title: f}\n  examples: [{line: y}]\n",
            "matches none of the patterns",
        ),
        ("- name: bad\n  category: cpu\n  patterns: ['x']\n  title: '{svc} broke'\n  fix: {title: f}\n", "names svc"),
        ("- name: bad\n  category: cpu\n  patterns: ['x']\n  title: t\n  fix: {title: 'do {it}'}\n", "names it"),
        (
            "- name: bad\n  category: cpu\n  patterns: ['(a+)+$']\n  title: t\n  fix: {title: f}\n",
            "backtracks without end",
        ),
        ("name: bad\n", "must hold a list of entries"),
        ("- [unclosed\n", "cannot be read"),
    ],
)
def test_a_malformed_entry_fails_with_one_line_naming_file_and_entry(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "mine.yaml").write_text(text)
    with pytest.raises(ConfigError, match=r"mine\.yaml") as err:
        load_catalogue([tmp_path])
    assert message in str(err.value) and "\n" not in str(err.value)


def test_wk_investigate_with_a_malformed_signature_exits_2_with_one_line(tmp_path: Path, log_dir: Path) -> None:
    sigs = tmp_path / "sigs"
    sigs.mkdir()
    (sigs / "team.yaml").write_text("- name: oops\n  category: cpu\n  title: t\n  fix: {title: f}\n")
    wk = Wk(tmp_path, log_dir, f'[triage]\nsignature_dirs = ["{sigs}"]\n')
    done = wk("investigate", "is anything wrong?")
    assert done.returncode == 2, done
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "team.yaml" in lines[0] and "entry oops" in lines[0] and "patterns" in lines[0], lines
    assert "Traceback" not in done.stderr


def test_a_match_that_runs_too_long_is_no_match_and_does_not_hang() -> None:
    import time

    from watchkeeper.evidence.catalogue import Signature

    # Built past the load check (which would refuse it) to stand for a pattern no hostile line caught.
    sig = Signature.model_construct(name="slow", patterns=["(x+x+)+y"], title="t")
    started = time.monotonic()
    assert sig.matches("x" * 40) is False
    assert time.monotonic() - started < 5
