"""How a scenario's run is judged: the same for the original and the blind set."""

from __future__ import annotations

import json

from watchkeeper.scenarios.base import Scenario
from watchkeeper.scenarios.runner import Outcome, run_scenario


def run_and_score(scenario: Scenario) -> Outcome:
    """Run the fault; fail unless it ran cleanly, left nothing behind and named the right cause,
    culprit and remediation (the JSON outcome is the failure's message)."""
    outcome = run_scenario(scenario)
    detail = json.dumps(outcome.as_dict(), indent=1)
    assert outcome.error is None, detail
    assert outcome.leftovers == [], detail
    assert outcome.category_ok, detail
    assert outcome.culprit_ok, detail
    assert outcome.remediation_ok, detail
    return outcome
