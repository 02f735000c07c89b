"""The blind fault suite (issue 12): faults written from a catalogue without reading the triage's
rules. Each runs for real and is scored on its fault class, culprit and remediation; what today's
triage misses is xfail(strict=True) with what it said instead, so a fix turns it into a pass."""

from __future__ import annotations

import io
import json
import re
import tokenize
from pathlib import Path

import pytest

from tests.scenarios.scoring import run_and_score
from watchkeeper.scenarios.base import FAULT_CLASSES, Scenario
from watchkeeper.scenarios.runner import all_scenarios
from watchkeeper.scenarios.world import World

pytestmark = pytest.mark.alone  # each fault is judged on the whole host

BLIND = all_scenarios("blind")
FSTRING_MIDDLE = getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)  # Python 3.12: f-strings are tokens

# What today's triage names instead (measured, not guessed); a fix makes the case pass and the
# strict xfail fail, so the entry is removed then.
MISSES: dict[str, str] = {}  # none today (bench/scenarios.py prints the figures)


def cases() -> list[object]:
    return [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=MISSES[name])) if name in MISSES else name
        for name in sorted(BLIND)
    ]


def test_the_blind_set_is_separate_and_covers_the_classes() -> None:
    original = all_scenarios("original")
    assert len(original) == 8 and not set(original) & set(BLIND)
    assert len(BLIND) >= 15
    assert all(s.fault_class in FAULT_CLASSES for s in BLIND.values())
    assert {s.fault_class for s in BLIND.values()} >= set(FAULT_CLASSES)


def test_at_least_a_third_are_asked_as_questions() -> None:
    asked = [n for n, s in BLIND.items() if type(s).question is not Scenario.question]
    assert 3 * len(asked) >= len(BLIND), asked


def test_questions_come_in_two_languages() -> None:
    """Over the questions that need no fault set up to be asked (the others name what their fault made)."""
    languages = set()
    for name, scenario in BLIND.items():
        world = World(name)
        try:
            question = scenario.question(world)
        except AttributeError:  # it names something its setup makes
            continue
        finally:
            assert world.cleanup() == []
        if question is not None:
            languages.add("zh" if any("\u4e00" <= ch <= "\u9fff" for ch in question) else "en")
    assert languages == {"en", "zh"}


@pytest.mark.parametrize("name", cases())
def test_blind_scenario(name: str) -> None:
    outcome = run_and_score(BLIND[name])
    assert outcome.report is not None
    symptom, truth = outcome.report.symptom, outcome.truth
    if symptom.question is None:  # an alert never gives the culprit away, and a node alert is on the node
        said = json.dumps(symptom.model_dump(mode="json"))
        if truth.culprit_kind in ("process", "path"):
            assert truth.culprit not in said, f"{name}'s alert gives the culprit away"
        if symptom.labels.get("job") == "node":
            assert symptom.labels.get("instance") == "localhost:9100", name


# Words of the blind set's entities that are also plain English or HTTP in the triage's own text.
GENERAL_PHRASES = ("bad gateway", "largest consumer")


def _knowledge_text(path: Path) -> str:
    """What a file of the triage says in words: a YAML file whole, a Python file's strings and comments."""
    if path.suffix != ".py":
        return path.read_text()
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text()).readline)
    return "\n".join(t.string for t in tokens if t.type in (tokenize.STRING, tokenize.COMMENT, FSTRING_MIDDLE))


def test_no_rule_playbook_or_signature_names_a_blind_scenarios_entities() -> None:
    """The triage's knowledge is general: no service, process, path or port of a blind fault appears in
    a rule, a playbook or a signature (the blind set would then measure nothing)."""
    import watchkeeper.evidence as evidence

    package = Path(evidence.__file__).parent
    files = [p for p in sorted(package.rglob("*")) if p.suffix in (".py", ".yaml", ".yml")]
    knowledge = "\n".join(_knowledge_text(p).lower() for p in files)
    for phrase in GENERAL_PHRASES:
        knowledge = knowledge.replace(phrase, "")
    names = set()
    for path in (Path(all_scenarios.__code__.co_filename).parent / "blind").glob("*.py"):
        text = path.read_text()
        names |= set(re.findall(r'(?:spawn|backfill)\(\s*(?:world,\s*)?"[a-z_]+",\s*"([a-z_]{4,})"', text))
        names |= set(re.findall(r'backfill\(\s*"([a-z_]{4,})"', text))
        names |= set(re.findall(r'Truth\("[a-z]+", "[a-z]+", "([a-z_]{4,})"', text))
    assert len(names) >= 25, sorted(names)
    named = sorted(n for n in names if re.search(rf"(?<![a-z_]){re.escape(n)}(?![a-z_])", knowledge))
    assert named == [], f"the triage's rules name blind scenarios' entities: {named}"
