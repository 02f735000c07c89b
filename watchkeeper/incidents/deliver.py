"""Deliver reports to their targets; what fails is kept in the outbox for `retry`."""

from __future__ import annotations

from collections.abc import Iterable

from watchkeeper.config import Settings
from watchkeeper.evidence.report import Report
from watchkeeper.notify import deliver as sending
from watchkeeper.notify.deliver import Delivery, Job


def deliver(settings: Settings, reports: list[Report], targets: Iterable[str]) -> list[Delivery]:
    """Every report to every target at once; a failed delivery's report is kept in the outbox."""
    chosen = list(targets)
    if not chosen:
        return []
    return sending.deliver(sending.jobs_for(reports, chosen), settings.notify, settings.data_dir / "outbox")


def test(settings: Settings, target: str) -> list[Delivery]:
    """A short test message to one target; nothing is kept when it fails."""
    from watchkeeper.notify.trial import trial_report

    return sending.deliver([Job(trial_report(), target)], settings.notify, outbox=None)


def retry(settings: Settings, targets: Iterable[str] = ()) -> list[Delivery] | None:
    """Resend what the outbox kept to its targets (notify.urls and `targets`); None: the outbox is empty."""
    from watchkeeper.notify.outbox import resend

    outbox = settings.data_dir / "outbox"
    plan = resend(outbox, [*settings.notify.urls, *targets])
    if not plan.jobs and not plan.stuck:
        return None
    return sending.deliver(plan.jobs, settings.notify, outbox) + plan.stuck
