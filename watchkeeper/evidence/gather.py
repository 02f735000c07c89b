"""The follow-ups an SRE does next, by name: playbooks list them, each module of evidence registers its
own with @gatherer. `finding` builds the typed fact every analyzer and gatherer adds."""

from __future__ import annotations

from collections.abc import Callable

from watchkeeper.evidence.investigation import Investigation
from watchkeeper.evidence.report import Culprit, F, Finding

Gatherer = Callable[[Investigation], None]
GATHERERS: dict[str, Gatherer] = {}


def gatherer(fn: Gatherer) -> Gatherer:
    GATHERERS[fn.__name__] = fn
    return fn


def finding(fact: F, severity: str, message: str, audit_ids: list[int], entity: Culprit | None = None) -> Finding[F]:
    """A finding of the fact's kind (evidence/facts.py)."""
    return Finding(kind=fact.KIND, severity=severity, message=message, entity=entity, audit_ids=audit_ids, data=fact)
