"""Derived surfaces are pinned: a change to a built-in skill's interface shows up as a diff here.

Regenerate on purpose with WK_UPDATE_GOLDEN=1 and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from watchkeeper.skills import derive
from watchkeeper.skills.registry import Registry

GOLDEN = Path(__file__).parent / "golden"
REGISTRY = Registry()
REGISTRY.load_builtins()


@pytest.mark.parametrize("key", [s.key for s in REGISTRY.all()])
def test_tool_schema_is_pinned(key: str) -> None:
    skill = REGISTRY.get(key)
    derived = {"params": derive.params_schema(skill), "tool": derive.function_tool(skill)}
    path = GOLDEN / f"{key}.json"
    if os.environ.get("WK_UPDATE_GOLDEN") == "1":
        path.write_text(json.dumps(derived, indent=2, sort_keys=True) + "\n")
    assert path.exists(), f"no golden file for {key}: run with WK_UPDATE_GOLDEN=1"
    assert derived == json.loads(path.read_text())


@pytest.mark.parametrize("key", [s.key for s in REGISTRY.all()])
def test_every_surface_comes_from_the_one_definition(key: str) -> None:
    skill = REGISTRY.get(key)
    tool = derive.function_tool(skill)
    summary = derive.summary(skill)
    assert tool["function"]["name"] == key == summary["key"]
    assert tool["function"]["parameters"] == summary["params"] == skill.params.json_schema()
    assert skill.meta.description in tool["function"]["description"]
    assert summary["class"] == skill.risk.value
    text = derive.describe(skill)
    for name in summary["params"].get("properties", {}):
        assert f"  {name} (" in text
    if skill.meta.scope.value == "host":
        assert "edge" in summary["params"]["properties"]
        assert "edge" not in summary["params"].get("required", [])


def test_no_skill_has_required_params_it_cannot_explain() -> None:
    for skill in REGISTRY.all():
        props = skill.params.json_schema().get("properties", {})
        for name, prop in props.items():
            assert prop.get("description"), f"{skill.key}.{name} has no description for humans and models"
