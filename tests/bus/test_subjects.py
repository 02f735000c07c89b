"""NATS subject syntax: what a filter selects, and the names it refuses."""

from __future__ import annotations

import pytest

from watchkeeper.bus.subjects import check_filter, check_name, check_subject, matches


@pytest.mark.parametrize(
    ("filter_subject", "subject", "expected"),
    [
        ("incident.opened", "incident.opened", True),
        ("incident.opened", "incident.closed", False),
        ("incident.*", "incident.opened", True),
        ("incident.*", "incident", False),
        ("incident.*", "incident.opened.late", False),
        ("*.opened", "incident.opened", True),
        ("alert.>", "alert.received", True),
        ("alert.>", "alert.received.alertmanager", True),
        ("alert.>", "alert", False),
        (">", "anything.at.all", True),
        ("*", "one", True),
        ("*", "one.two", False),
    ],
)
def test_filters_select_subjects_as_nats_does(filter_subject: str, subject: str, expected: bool) -> None:
    assert matches(check_filter(filter_subject), check_subject(subject)) is expected


@pytest.mark.parametrize("subject", ["", "a..b", ".a", "a.", "a b", "a.*", "a.>"])
def test_bad_subjects_are_refused(subject: str) -> None:
    with pytest.raises(ValueError, match="invalid subject"):
        check_subject(subject)


@pytest.mark.parametrize("filter_subject", ["", "a..b", "a.>.b", "> .a"])
def test_bad_filters_are_refused(filter_subject: str) -> None:
    with pytest.raises(ValueError, match="invalid subject filter"):
        check_filter(filter_subject)


@pytest.mark.parametrize("name", ["", "a.b", "a*", "a>", "a b", "x" * 101])
def test_bad_consumer_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="invalid consumer name"):
        check_name(name)
