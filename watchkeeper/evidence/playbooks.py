"""Playbooks: which skills to run for which symptom, kept as YAML data operators can edit.

Built-in playbooks live in `evidence/playbooks/`; directories in `triage.playbook_dirs` add
or replace them by name. A playbook matches on alert names (regexes), words in the question
or annotations, and label names; the best-scoring one wins, `generic` when none matches.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from watchkeeper.errors import ConfigError
from watchkeeper.evidence.report import Symptom

BUILTIN = Path(__file__).parent / "playbooks"


class Match(BaseModel):
    model_config = ConfigDict(extra="forbid")
    alertnames: list[str] = Field(default_factory=list)
    words: list[str] = Field(default_factory=list)
    labels: list[str] = Field(default_factory=list)


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid")
    skill: str
    params: dict[str, Any] = Field(default_factory=dict)


class Playbook(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    description: str = ""
    match: Match = Field(default_factory=Match)
    steps: list[Step] = Field(default_factory=list)
    gather: list[str] = Field(default_factory=list)

    def score(self, symptom: Symptom) -> int:
        text = " ".join([symptom.question or "", symptom.alertname or "", *symptom.annotations.values()]).lower()
        score = 0
        if symptom.alertname and any(re.search(p, symptom.alertname) for p in self.match.alertnames):
            score += 3
        # ASCII boundaries only: Chinese has no spaces, so "CPU使用率" holds "cpu" and "磁盘满了" holds "磁盘".
        score += sum(
            1 for w in self.match.words if re.search(rf"(?<![a-z0-9_]){re.escape(w.lower())}(?![a-z0-9_])", text)
        )
        score += sum(2 for label in self.match.labels if label in symptom.labels)
        return score


def load_playbooks(extra_dirs: list[Path], gatherers: set[str]) -> dict[str, Playbook]:
    books: dict[str, Playbook] = {}
    for directory in [BUILTIN, *extra_dirs]:
        for path in sorted(Path(directory).glob("*.y*ml")):
            try:
                book = Playbook.model_validate(yaml.safe_load(path.read_text()))
            except (yaml.YAMLError, ValidationError) as exc:
                raise ConfigError(f"playbook {path} is invalid: {exc}") from None
            unknown = set(book.gather) - gatherers
            if unknown:
                raise ConfigError(f"playbook {path} names unknown gatherers: {', '.join(sorted(unknown))}")
            books[book.name] = book
    if "generic" not in books:
        raise ConfigError("no playbook named generic: it is the fallback and must exist")
    return books


def choose(books: dict[str, Playbook], symptom: Symptom) -> Playbook:
    scored = sorted(((b.score(symptom), b.name) for b in books.values() if b.name != "generic"), reverse=True)
    if scored and scored[0][0] > 0:
        return books[scored[0][1]]
    return books["generic"]
