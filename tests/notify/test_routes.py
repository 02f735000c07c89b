"""Notification routes: the first route that matches an incident's fields wins; exact or anchored-regex values."""

from __future__ import annotations

import pytest

from watchkeeper.config import NotifyRoute, NotifySettings, load_settings
from watchkeeper.errors import ConfigError
from watchkeeper.notify.routes import route_for, targets_for

CRITICAL = NotifyRoute(match={"severity": "critical"}, targets=["env:ONCALL"], min_interval_s=60)
DATABASES = NotifyRoute(match={"service": "~orders-(db|cache)", "team": "data"}, targets=["env:DATA"])
EVERYTHING = NotifyRoute(match={}, targets=["env:CHANNEL"], min_interval_s=900)


def test_the_first_matching_route_wins() -> None:
    routes = [CRITICAL, DATABASES, EVERYTHING]
    fields = {"severity": "critical", "service": "orders-db", "team": "data"}
    assert route_for(routes, fields) is CRITICAL
    assert route_for(routes, fields | {"severity": "warning"}) is DATABASES
    assert route_for(routes, {"severity": "info", "status": "open"}) is EVERYTHING


def test_every_match_entry_must_fit() -> None:
    assert route_for([DATABASES], {"service": "orders-db"}) is None, "no team label"
    assert route_for([DATABASES], {"service": "orders-db", "team": "web"}) is None
    assert route_for([DATABASES], {"service": "orders-cache", "team": "data"}) is DATABASES


@pytest.mark.parametrize(
    ("service", "fits"),
    [("orders-db", True), ("orders-cache", True), ("my-orders-db", False), ("orders-db-replica", False)],
)
def test_a_tilde_value_is_a_regex_matching_the_whole_field(service: str, fits: bool) -> None:
    assert (route_for([DATABASES], {"service": service, "team": "data"}) is DATABASES) is fits


def test_exact_values_are_not_patterns() -> None:
    dotted = NotifyRoute(match={"service": "orders.db"}, targets=["env:X"])
    assert route_for([dotted], {"service": "orders-db"}) is None
    assert route_for([dotted], {"service": "orders.db"}) is dotted


def test_a_missing_field_reads_as_empty_as_in_alertmanager() -> None:
    no_service = NotifyRoute(match={"service": ""}, targets=["env:X"])
    assert route_for([no_service], {"severity": "critical"}) is no_service
    assert route_for([no_service], {"service": "orders-db"}) is None
    assert route_for([NotifyRoute(match={"service": "~.+"}, targets=["env:X"])], {"severity": "critical"}) is None


def test_a_bad_regex_is_refused_when_the_configuration_loads_naming_the_field() -> None:
    with pytest.raises(
        ConfigError, match=r"notify\.routes\.1\.match: .*match\.service: 'orders-\(db' is not a regular"
    ):
        load_settings(
            notify={"routes": [CRITICAL.model_dump(), {"match": {"service": "~orders-(db"}, "targets": ["env:X"]}]}
        )


def test_targets_without_routes_are_the_notify_urls_every_five_minutes() -> None:
    settings = NotifySettings(urls=["env:A", "env:B"])
    assert targets_for(settings, {"severity": "info"}) == (["env:A", "env:B"], 300.0)


def test_targets_come_from_the_matching_route_and_no_match_reaches_nobody() -> None:
    settings = NotifySettings(urls=["env:FALLBACK"], routes=[CRITICAL, DATABASES])
    assert targets_for(settings, {"severity": "critical"}) == (["env:ONCALL"], 60.0)
    assert targets_for(settings, {"service": "orders-db", "team": "data"}) == (["env:DATA"], 300.0)
    targets, _ = targets_for(settings, {"severity": "info", "service": "web"})
    assert targets == [], "routes configured: notify.urls is not a fallback"
