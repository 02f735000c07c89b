"""Which targets hear about an incident: the first `[[notify.routes]]` entry whose `match` fits it.

The fields matched are the incident's `severity`, `status`, `service` (its root service) and the
labels its alerts share. A value is compared exactly, or, written `~regex`, as a regular expression
that must match the whole field. As in Alertmanager's matchers, a field the incident lacks reads as
the empty string (so `service = ""` or `service = "~.*"` matches an incident without one).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from watchkeeper.config import NotifyRoute, NotifySettings

# With no routes configured every incident goes to notify.urls, as often as a route's default allows.
DEFAULT_MIN_INTERVAL_S: float = NotifyRoute.model_fields["min_interval_s"].default


def _fits(want: str, got: str) -> bool:
    # A regex was compiled once already when the configuration loaded (NotifyRoute refuses a bad one).
    return re.fullmatch(want[1:], got) is not None if want.startswith("~") else got == want


def route_for(routes: Sequence[NotifyRoute], fields: Mapping[str, str]) -> NotifyRoute | None:
    """The first route whose every `match` entry fits `fields`; None when none does."""
    for route in routes:
        if all(_fits(want, fields.get(name, "")) for name, want in route.match.items()):
            return route
    return None


def targets_for(settings: NotifySettings, fields: Mapping[str, str]) -> tuple[list[str], float]:
    """The targets an incident's messages go to, and the least time between two updates of it.

    No routes configured: every incident to `notify.urls`. Routes configured and none matching: nobody.
    """
    if not settings.routes:
        return list(settings.urls), DEFAULT_MIN_INTERVAL_S
    route = route_for(settings.routes, fields)
    if route is None:
        return [], DEFAULT_MIN_INTERVAL_S
    return list(route.targets), route.min_interval_s
