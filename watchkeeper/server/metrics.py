"""The manager's Prometheus metrics, in a registry of its own (one per app, so tests and several apps in
one process never share counters). Every name starts with `watchkeeper_`."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy.exc import SQLAlchemyError

from watchkeeper.bus.base import Bus
from watchkeeper.bus.stats import BusStats, merged
from watchkeeper.server.asgi import ASGIApp, Message, Receive, Scope, Send
from watchkeeper.skills.invoke import Invocation

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _BusMetrics:
    """The bus's own counters and each consumer's queue depth, read when scraped (nothing to keep in step)."""

    def __init__(self, bus: Bus, elsewhere: Callable[[], BusStats]) -> None:
        self.bus = bus
        self.elsewhere = elsewhere  # what the worker process counted, as it last reported

    def collect(self) -> Iterable[Metric]:
        stats = merged(self.bus.stats(), self.elsewhere())
        published = CounterMetricFamily("watchkeeper_events_published", "Events published (a new id each).")
        published.add_metric([], stats.published)
        yield published
        for counter, help_text in CONSUMER_COUNTERS.items():
            family = CounterMetricFamily(f"watchkeeper_events_{counter}", help_text, labels=["consumer"])
            for consumer, counted in sorted(stats.consumers.items()):
                family.add_metric([consumer], getattr(counted, counter))
            yield family
        depth = GaugeMetricFamily(
            "watchkeeper_queue_depth", "Events a consumer has not acked yet.", labels=["consumer"]
        )
        try:
            depths = self.bus.depths()
        except SQLAlchemyError:  # a scrape while the store is down still answers; /readyz names the store
            depths = {}
        for consumer, n in sorted(depths.items()):
            depth.add_metric([consumer], n)
        yield depth


Tallies = Callable[[], dict[str, dict[tuple[str, ...], int]]]
# What each tally counts and by which labels (`incidents.queries.tallies`).
TALLIES = {
    "incidents": ("Incidents by status and severity.", ["status", "severity"]),
    "alert_deliveries": ("Alert deliveries by status (accepted: waiting for the assigner).", ["status"]),
    "notifications": ("Incident messages by status (undeliverable: given up after retries).", ["status"]),
}


class _IncidentMetrics:
    def __init__(self, tallies: Tallies) -> None:
        self.tallies = tallies

    def collect(self) -> Iterable[Metric]:
        try:
            counted = self.tallies()
        except SQLAlchemyError:  # the store is down: /readyz says so
            counted = {}
        for name, (help_text, labels) in TALLIES.items():
            family = GaugeMetricFamily(f"watchkeeper_{name}", help_text, labels=labels)
            for key, n in sorted(counted.get(name, {}).items()):
                family.add_metric(list(key), n)
            yield family


class _WorkersUp:
    """1 while the incident workers run, 0 while they are down; absent where a manager only receives."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterable[Metric]:
        if (up := self.metrics.workers_up) is not None:
            yield GaugeMetricFamily(
                "watchkeeper_workers_up", "1 while the assigner, investigator and notifier run.", value=float(up())
            )


CONSUMER_COUNTERS = {
    "delivered": "Deliveries to a consumer, redeliveries included.",
    "redelivered": "Events delivered again to a consumer.",
    "acked": "Events acked by a consumer.",
    "dead_lettered": "Events that exhausted their deliveries.",
}


class Metrics:
    def __init__(self, bus: Bus, tallies: Tallies) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.skill_calls = Counter(
            "watchkeeper_skill_invocations", "Skill invocations by skill and status.", ["skill", "status"], registry=r
        )
        self.skill_seconds = Histogram(
            "watchkeeper_skill_duration_seconds", "Time a skill invocation took.", ["skill"], registry=r
        )
        self.http_requests = Counter(
            "watchkeeper_http_requests", "HTTP requests by route and status code.", ["route", "code"], registry=r
        )
        self.http_seconds = Histogram(
            "watchkeeper_http_request_duration_seconds", "Time to answer an HTTP request.", ["route"], registry=r
        )
        self.worker_restarts = Counter(
            "watchkeeper_worker_restarts", "Incident worker processes started again after they exited.", registry=r
        )
        # The bus counters of the worker process (incidents.process), as it last reported them.
        self.worker_bus = BusStats()
        self.workers_up: Callable[[], bool] | None = None  # set where this manager runs the workers
        r.register(_WorkersUp(self))
        r.register(_BusMetrics(bus, lambda: self.worker_bus))
        r.register(_IncidentMetrics(tallies))

    def invoked(self, call: Invocation) -> None:
        self.skill_called(call.key, call.status.value, call.duration_ms / 1000)

    def skill_called(self, skill: str, status: str, seconds: float) -> None:
        self.skill_calls.labels(skill, status).inc()
        self.skill_seconds.labels(skill).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class HttpMetrics:
    """Counts every answer, refusals included, by the route that matched (its template, so the label
    set stays small) or `unmatched`."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        code, t0 = 500, time.monotonic()

        async def sending(message: Message) -> None:
            nonlocal code
            if message["type"] == "http.response.start":
                code = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.http_requests.labels(route, str(code)).inc()
            self.metrics.http_seconds.labels(route).observe(time.monotonic() - t0)
