"""Silence matchers in Alertmanager's syntax, parsed and matched with its semantics."""

from __future__ import annotations

import dataclasses
import logging

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from watchkeeper.alerts.silences import Matcher, all_match, parse_matchers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('alertname="DiskFull"', Matcher("alertname", "=", "DiskFull")),
        ("alertname=DiskFull", Matcher("alertname", "=", "DiskFull")),
        ('  team != "db"  ', Matcher("team", "!=", "db")),
        ('instance=~"db-.*"', Matcher("instance", "=~", "db-.*")),
        ("instance!~db-1|db-2", Matcher("instance", "!~", "db-1|db-2")),
        ('summary="say \\"hi\\""', Matcher("summary", "=", 'say "hi"')),
        ('path="C:\\\\temp"', Matcher("path", "=", "C:\\temp")),
        ('text="two\\nlines"', Matcher("text", "=", "two\nlines")),
        ('re=~"\\d+"', Matcher("re", "=~", "\\d+")),  # a stray escape is kept, as Alertmanager does
        ('team=""', Matcher("team", "=", "")),
        ("team=", Matcher("team", "=", "")),
        ('msg="a, b = c"', Matcher("msg", "=", "a, b = c")),
        ('lead=" spaced "', Matcher("lead", "=", " spaced ")),
        ("__name__=up", Matcher("__name__", "=", "up")),
        ("a:b=1", Matcher("a:b", "=", "1")),
        ("a==x", Matcher("a", "=", "=x")),  # as Alertmanager reads it: the value starts after the first operator
        ('city="Zürich 苏黎世"', Matcher("city", "=", "Zürich 苏黎世")),
    ],
)
def test_parse(text: str, expected: Matcher) -> None:
    assert Matcher.parse(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("alertname", "bad matcher 'alertname': expected name=value, name!=value, name=~regex or name!~regex"),
        ("", "bad matcher '': expected name=value, name!=value, name=~regex or name!~regex"),
        ("1st=x", "bad matcher '1st=x': expected name=value, name!=value, name=~regex or name!~regex"),
        ("a.b=x", "bad matcher 'a.b=x': expected name=value, name!=value, name=~regex or name!~regex"),
        ('a="x', "bad matcher 'a=\"x': the value's opening quote is never closed"),
        ('a=x"', "bad matcher 'a=x\"': a double quote inside the value must be escaped (\\\")"),
        ('a="x"y"', 'bad matcher \'a="x"y"\': a double quote inside the value must be escaped (\\")'),
        ('a=~"("', "bad matcher 'a=~\"(\"': not a regular expression (missing ) at position 1)"),
        ('a!~"[z-a]"', "bad matcher 'a!~\"[z-a]\"': not a regular expression (bad character range at position 4)"),
    ],
)
def test_a_bad_matcher_is_one_clear_line(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        Matcher.parse(text)
    assert str(caught.value) == message and "\n" not in str(caught.value)


def test_constructing_checks_the_name_the_operator_and_the_regex() -> None:
    with pytest.raises(ValueError, match=r"^bad matcher 'a b=\"x\"': 'a b' is not a label name$"):
        Matcher("a b", "=", "x")
    with pytest.raises(ValueError, match=r"^bad matcher operator '==': expected name=value"):
        Matcher("a", "==", "x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a regular expression"):
        Matcher("a", "=~", "(")


@pytest.mark.parametrize(
    ("text", "labels", "matches"),
    [
        ('team="db"', {"team": "db"}, True),
        ('team="db"', {"team": "dba"}, False),
        ('team="db"', {}, False),
        ('team=""', {}, True),  # a missing label is the empty string
        ('team=""', {"team": "db"}, False),
        ('team!="db"', {}, True),
        ('team!="db"', {"team": "db"}, False),
        ('team!="db"', {"team": "web"}, True),
        ('team!=""', {}, False),
        ('instance=~"db-.*"', {"instance": "db-1:9100"}, True),
        ('instance=~"db"', {"instance": "db-1"}, False),  # anchored: the whole value must match
        ('instance=~"db"', {"instance": "xdb"}, False),
        ('instance=~"db|web"', {"instance": "xweb"}, False),  # anchored around the alternation too
        ('instance=~"db|web"', {"instance": "web"}, True),
        ('instance=~".*"', {}, True),
        ('instance=~".+"', {}, False),
        ('instance!~"db-.*"', {"instance": "web-1"}, True),
        ('instance!~"db-.*"', {"instance": "db-1"}, False),
        ('instance!~"db-.*"', {}, True),
        ('msg=~"a.b"', {"msg": "a\nb"}, False),  # `.` does not match a newline, as in Go's RE2
        ('city=~"Z.rich"', {"city": "Zürich"}, True),  # one character, not one byte
    ],
)
def test_matches_with_alertmanagers_semantics(text: str, labels: dict[str, str], matches: bool) -> None:
    assert Matcher.parse(text).matches(labels) is matches


def test_a_regex_that_backtracks_without_end_matches_nothing(caplog: pytest.LogCaptureFixture) -> None:
    labels = {"x": "a" * 5000}
    with caplog.at_level(logging.WARNING, logger="watchkeeper.alerts.silences"):
        assert Matcher("x", "=~", "(a+)+b").matches(labels) is False
        assert Matcher("x", "!~", "(a+)+b").matches(labels) is False  # undecided silences nothing either way
    assert caplog.text.count("timed out on a 5000-character value") == 2


def test_parse_matchers_reads_single_texts_and_the_brace_form() -> None:
    got = parse_matchers(['{alertname="Disk,Full", instance=~"db-.*",}', 'team!=""', " { job = node } ", "{}"])
    assert got == [
        Matcher("alertname", "=", "Disk,Full"),
        Matcher("instance", "=~", "db-.*"),
        Matcher("team", "!=", ""),
        Matcher("job", "=", "node"),
    ]
    assert parse_matchers(['{msg="say \\"a,b\\"",x=y}']) == [Matcher("msg", "=", 'say "a,b"'), Matcher("x", "=", "y")]


@pytest.mark.parametrize(
    ("texts", "message"),
    [
        (['{a="b"'], "bad matchers '{a=\"b\"': the opening brace is never closed"),
        (["{a=b,,c=d}"], "bad matcher '': expected name=value"),
        (["{a=b,c}"], "bad matcher 'c': expected name=value"),
    ],
)
def test_parse_matchers_errors(texts: list[str], message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_matchers(texts)
    assert str(caught.value).startswith(message)


def test_all_match_needs_every_matcher() -> None:
    matchers = parse_matchers(['{alertname="DiskFull",instance=~"db-.*"}'])
    assert all_match(matchers, {"alertname": "DiskFull", "instance": "db-1"})
    assert not all_match(matchers, {"alertname": "DiskFull", "instance": "web-1"})
    assert not all_match(matchers, {"alertname": "CpuHigh", "instance": "db-1"})
    assert all_match([], {"alertname": "anything"})


def test_a_matcher_is_a_frozen_value() -> None:
    matcher = Matcher.parse('a=~"b.*"')
    with pytest.raises(dataclasses.FrozenInstanceError):
        matcher.value = "c"  # type: ignore[misc]
    assert matcher == Matcher("a", "=~", "b.*") and len({matcher, Matcher("a", "=~", "b.*")}) == 1
    assert repr(matcher) == "Matcher(name='a', op='=~', value='b.*')"


NAMES = st.from_regex(r"[a-zA-Z_:][a-zA-Z0-9_:]{0,10}", fullmatch=True)


@settings(max_examples=200, deadline=None, database=None)
@given(name=NAMES, op=st.sampled_from(["=", "!=", "=~", "!~"]), value=st.text(max_size=30))
def test_str_round_trips(name: str, op: str, value: str) -> None:
    if op in ("=~", "!~"):
        value = regex.escape(value)
    matcher = Matcher(name, op, value)  # type: ignore[arg-type]
    assert Matcher.parse(str(matcher)) == matcher
    assert parse_matchers([f"{{{matcher},{matcher}}}"]) == [matcher, matcher]


def test_str_is_alertmanagers_spelling() -> None:
    assert str(Matcher("summary", "!=", 'say "hi"\\\n')) == 'summary!="say \\"hi\\"\\\\\\n"'
    assert str(Matcher.parse("instance=~db-.*")) == 'instance=~"db-.*"'
