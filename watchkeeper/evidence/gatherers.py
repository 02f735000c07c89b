"""Every gatherer by name (importing each module of evidence registers its own), and the first step
of a playbook: one skill run and its result read."""

from __future__ import annotations

from watchkeeper.evidence import endpoints, logs, metrics, processes
from watchkeeper.evidence.gather import GATHERERS
from watchkeeper.evidence.processes import run_step

MODULES = (endpoints, logs, metrics, processes)  # imported for their @gatherer registrations

__all__ = ["GATHERERS", "MODULES", "run_step"]
