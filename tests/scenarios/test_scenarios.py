"""Every fault scenario, for real on this machine: the report names the right root cause, culprit
and remediation with no LLM, and nothing is left behind."""

from __future__ import annotations

import json

import pytest

from tests.readable import assert_readable, on_terminal
from tests.scenarios.scoring import run_and_score
from watchkeeper.cli.render import print_report
from watchkeeper.scenarios.runner import all_scenarios

pytestmark = pytest.mark.alone  # each fault is judged on the whole host

SCENARIOS = all_scenarios("original")


def test_the_suite_covers_the_faults_an_sre_meets() -> None:
    assert set(SCENARIOS) >= {
        "cpu_hog",
        "memory_leak",
        "disk_filling",
        "service_down",
        "upstream_502",
        "error_burst",
        "slow_dependency",
        "cert_expiry",
    }


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario(name: str) -> None:
    outcome = run_and_score(SCENARIOS[name])
    report = outcome.report
    assert report is not None and report.hypotheses[0].audit_ids, "the top hypothesis must cite its skill calls"
    assert report.hypotheses[0].evidence and report.hypotheses[0].explanation
    assert report.references, "the report cites the knowledge base"
    assert_readable(on_terminal(lambda c: print_report(c, report)), where=f"the {name} report")


def test_alerts_never_name_the_culprit() -> None:
    from watchkeeper.scenarios.world import World

    for name, scenario in SCENARIOS.items():
        world = World(name)
        try:
            scenario.setup(world)
            payload = json.dumps(scenario.alert(world))
            truth = scenario.truth(world)
            if truth.culprit_kind in ("process", "path") or name in ("upstream_502", "slow_dependency"):
                assert truth.culprit not in payload, f"{name}'s alert gives the culprit away"
        finally:
            assert world.cleanup() == []
