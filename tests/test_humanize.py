"""Values and counts for people: the one helper every renderer uses."""

from __future__ import annotations

import pytest

from tests.readable import problems
from watchkeeper.humanize import host_port, pairs, plural, value


@pytest.mark.parametrize(
    ("count", "noun", "expected"),
    [
        (1, "finding", "1 finding"),
        (0, "finding", "0 findings"),
        (2, "warning", "2 warnings"),
        (1, "error line", "1 error line"),
        (3, "error line", "3 error lines"),
        (2, "entry", "2 entries"),
        (2, "key", "2 keys"),
        (2, "process", "2 processes"),
        (2, "hypothesis", "2 hypotheses"),
    ],
)
def test_plural(count: int, noun: str, expected: str) -> None:
    many = "hypotheses" if noun == "hypothesis" else None
    assert plural(count, noun, many) == expected


def test_values_and_params_read_like_the_cli_takes_them() -> None:
    assert pairs({"unit": "redis-server", "pid": 42}) == "unit=redis-server pid=42"
    assert pairs({"pid": 7, "start_time": None, "ignore_case": True}) == "pid=7 ignore_case=true"
    assert pairs({"query": "disk full", "paths": ["/a", "/b"]}) == "query='disk full' paths=/a,/b"
    assert pairs({"headers": {"X-Key": "v"}}) == 'headers={"X-Key":"v"}'
    assert value(None) == "-" and value(["a", "b"]) == "a, b" and value(5.0) == "5" and value(False) == "false"
    assert value({"yes": 2, "no": 0}) == "yes=2 no=0"
    for shown in (pairs({"a": None, "b": [1, 2], "c": {"d": None}}), value([None, {"x": "y"}])):
        assert not problems(shown), shown


def test_addresses_bracket_ipv6() -> None:
    assert host_port("0.0.0.0", 22) == "0.0.0.0:22"
    assert host_port("::", 22) == "[::]:22"
    assert host_port("::ffff:127.0.0.1", 80) == "[::ffff:127.0.0.1]:80"
    assert host_port("localhost", 8765) == "localhost:8765"


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("restart_service {'unit': 'redis-server'}", True),
        ("case-1: outcomes {'no': 1, 'yes': 0}", True),
        ("paths ['/var/log']", True),
        ("None is down", True),
        ("--notify <list[str]>", True),
        ("1 findings listed", True),
        ("WARN: 2 warning on vm", True),
        ("app.log: 1 error lines in the newest 3 lines", True),
        ("ledger intact: 1 rows verified", True),
        ("3 skill call", True),
        ("restart_service unit=redis-server", False),
        ("WARN: 2 warnings on vm; 1 critical", False),
        ("app.log: 1 error line in the newest 3 lines", False),
        ("burst of 30 error lines, x88, 1.5 lines, +0.25, 0 findings", False),
        ("KeyError: 'currency' while handling GET", False),
    ],
)
def test_the_checker_catches_reprs_and_bad_plurals(text: str, bad: bool) -> None:
    assert bool(problems(text)) is bad, problems(text)


def test_the_checker_ignores_data_shown_verbatim() -> None:
    cmdline = "python3 -c d={'a': None}"
    assert problems(f"top by CPU: {cmdline}")
    assert not problems(f"top by CPU: {cmdline}", quoted=[cmdline])
