"""Findings -> ranked root-cause hypotheses, each with a culprit, the evidence that convicts it,
an explained score and the remediation (skill, params, risk class).

Rules read finding kinds and words, never scenario names; they live in one module per kind of
evidence (rules_processes, rules_disk, rules_network, rules_logs) and are listed here. Scores start
from how direct the evidence is and rise when the symptom's family agrees; the explanation lists
each step.
"""

from __future__ import annotations

from watchkeeper.evidence import rules_disk, rules_logs, rules_network, rules_processes
from watchkeeper.evidence.investigation import Investigation
from watchkeeper.evidence.report import Hypothesis
from watchkeeper.evidence.scoring import Rule

RULES: list[Rule] = [  # in ties the earlier wins: the more specific evidence first
    rules_processes.blocked,
    rules_processes.cpu_hog,
    rules_processes.memory_leak,
    rules_disk.disk_full,
    rules_network.service_down,
    rules_network.bound_elsewhere,
    rules_network.close_wait,
    rules_network.upstream_exhausted,
    rules_logs.error_burst,
    rules_network.slow_dependency,
    rules_network.cert_expiry,
    rules_processes.zombies,
    rules_processes.stopped,
    rules_processes.threads,
    rules_processes.descriptors,
    rules_processes.cpu_groups,
    rules_processes.memory_groups,
    rules_disk.deleted_open,
    rules_disk.inodes,
    rules_disk.tmpfs_memory,
    rules_processes.oom_killed,
    rules_processes.failed_unit,
]


def rank(inv: Investigation, family: str) -> list[Hypothesis]:
    """Best first; one hypothesis per conclusion (a category and a culprit), the best-scored of them."""
    found = [h.model_copy(update={"rule": rule.__name__}) for rule in RULES if (h := rule(inv, family)) is not None]
    found += rules_logs.error_leads(inv, family)
    best: dict[tuple[str, str | None, str | None], Hypothesis] = {}
    for h in sorted(found, key=lambda h: h.confidence, reverse=True):
        key = (h.category, h.culprit.kind if h.culprit else None, h.culprit.name if h.culprit else h.title)
        best.setdefault(key, h)
    return list(best.values())
