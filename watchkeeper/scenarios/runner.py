"""Run scenarios: set up the fault, investigate the alert with no LLM, score, clean up, check."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import time
from dataclasses import dataclass, field
from typing import Any

from watchkeeper.app import open_app
from watchkeeper.evidence.investigation import recording_path
from watchkeeper.evidence.report import Report, Symptom
from watchkeeper.evidence.symptoms import from_alert_payload
from watchkeeper.evidence.triage import compression
from watchkeeper.incidents.investigate import investigate
from watchkeeper.scenarios.base import Scenario, Suite, Truth
from watchkeeper.scenarios.world import World


def all_scenarios(suite: Suite | None = None) -> dict[str, Scenario]:
    """Every Scenario subclass that names itself, from the modules of this package and its subpackages
    (helpers hold none), of one suite when asked; the original set first, then the blind set."""
    import watchkeeper.scenarios as package

    found: dict[str, Scenario] = {}
    infos = pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}.")
    for info in sorted(infos, key=lambda i: (i.name.count("."), i.name)):
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if not (issubclass(cls, Scenario) and cls.name and cls.__module__ == module.__name__):
                continue
            if suite is None or cls.suite == suite:
                found[cls.name] = cls()
    return found


# A program is a process and, when it serves, a service: for the blind set either kind names it.
SAME_KIND = {"process": {"process", "service"}, "service": {"process", "service"}}


def symptom_of(scenario: Scenario, world: World) -> Symptom:
    """The operator's question when the scenario asks one, else its alert."""
    question = scenario.question(world)
    if question is not None:
        return Symptom(question=question)
    return from_alert_payload(scenario.alert(world))[0]


@dataclass
class Outcome:
    scenario: str
    truth: Truth
    suite: str = "original"
    fault_class: str = ""
    simulated: bool = False
    asked: str = "alert"  # or "question"
    category_ok: bool = False
    culprit_ok: bool = False
    remediation_ok: bool = False
    got_category: str | None = None
    got_culprit: dict[str, Any] | None = None
    got_remediation: tuple[str | None, str] | None = None
    seconds_to_report: float = 0.0
    skill_calls: int = 0
    compression: float = 0.0
    leftovers: list[str] = field(default_factory=list)
    error: str | None = None
    report: Report | None = None

    @property
    def passed(self) -> bool:
        return self.category_ok and self.culprit_ok and self.remediation_ok and not self.leftovers and not self.error

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "suite": self.suite,
            "fault_class": self.fault_class,
            "simulated": self.simulated,
            "asked": self.asked,
            "passed": self.passed,
            "category_ok": self.category_ok,
            "culprit_ok": self.culprit_ok,
            "remediation_ok": self.remediation_ok,
            "expected": self.truth.__dict__,
            "got_category": self.got_category,
            "got_culprit": self.got_culprit,
            "got_remediation": list(self.got_remediation) if self.got_remediation else None,
            "seconds_to_report": self.seconds_to_report,
            "skill_calls": self.skill_calls,
            "compression": round(self.compression, 1),
            "leftovers": self.leftovers,
            "error": self.error,
            "report_id": self.report.id if self.report else None,
        }


def score(outcome: Outcome, report: Report) -> None:
    truth = outcome.truth
    top = report.hypotheses[0] if report.hypotheses else None
    if top is None:
        return
    blind = outcome.suite == "blind"
    outcome.got_category = top.category
    outcome.category_ok = top.category == truth.category
    c = top.culprit
    if c is not None:
        outcome.got_culprit = c.model_dump(exclude_none=True)
        names = {c.name, c.path, c.url, str(c.port) if c.port else None}
        kinds = SAME_KIND.get(truth.culprit_kind, {truth.culprit_kind}) if blind else {truth.culprit_kind}
        outcome.culprit_ok = c.kind in kinds and truth.culprit in names
    wanted_skill = truth.remediation_skill
    action = (
        next((a for a in top.actions if a.skill), None) if wanted_skill else (top.actions[0] if top.actions else None)
    )
    if action is not None:
        outcome.got_remediation = (action.skill, action.risk_class)
        outcome.remediation_ok = (action.skill, action.risk_class) == (wanted_skill, truth.remediation_class)


def run_scenario(scenario: Scenario) -> Outcome:
    world = World(scenario.name)
    outcome = Outcome(
        scenario.name,
        Truth("?", "?", "?", None, "?"),
        suite=scenario.suite,
        fault_class=scenario.fault_class,
        simulated=scenario.simulated,
    )
    try:
        scenario.setup(world)
        outcome.truth = scenario.truth(world)
        settings = world.settings()
        app = open_app(settings)
        try:
            symptom = symptom_of(scenario, world)
            outcome.asked = "question" if symptom.question else "alert"
            t0 = time.monotonic()
            report = investigate(app, symptom, use_model=False)
            outcome.seconds_to_report = round(time.monotonic() - t0, 2)
        finally:
            app.close()
        outcome.report = report
        outcome.skill_calls = len(report.calls)
        outcome.compression = compression(report, recording_path(settings.data_dir, report.id))
        score(outcome, report)
    except Exception as exc:  # a broken scenario is a scored failure, and the rest still run
        outcome.error = f"{exc.__class__.__name__}: {exc}"
    finally:
        outcome.leftovers = world.cleanup()
    return outcome
