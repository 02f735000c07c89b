"""Registration: one file per built-in, loud errors for wrong declarations, no silent defaults."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from watchkeeper.app import build_registry
from watchkeeper.errors import SkillDefinitionError, UnknownSkill
from watchkeeper.policy.risk import RiskClass
from watchkeeper.skills.base import Scope, SkillParams, skill
from watchkeeper.skills.registry import Registry, skill_from_function

BUILTINS = {
    "query_knowledge",
    "host_status",
    "top_processes",
    "process_detail",
    "tail_file",
    "grep_file",
    "read_journal",
    "probe_http",
    "probe_tcp",
    "probe_dns",
    "disk_usage",
    "listening_ports",
    "service_status",
    "restart_service",
    "kill_process",
    "file_users",
    "path_info",
    "tcp_connections",
    "query_promql",
    "query_logql",
    "prometheus_alerts",
    "process_table",
    "mounts",
    "kernel_log",
    "recent_changes",
    "list_logs",
    "service_units",
}


class P(SkillParams):
    pass


def test_every_builtin_registers_cleanly(settings: object) -> None:
    registry = Registry()
    registry.load_builtins()
    assert {s.key for s in registry.all()} == BUILTINS
    assert registry.load_errors == []
    mutating = {s.key for s in registry.all() if s.risk is RiskClass.MUTATING}
    assert mutating == {"restart_service", "kill_process"}


def test_a_skill_without_a_class_does_not_register() -> None:
    with pytest.raises(SkillDefinitionError, match="declares no risk class"):
        skill(key="x_y", name="X", description="d", risk=None, scope=Scope.HOST, category="c", result_example={})


def test_a_wrong_class_value_is_an_error() -> None:
    with pytest.raises(SkillDefinitionError, match="no valid risk class"):
        skill(
            key="x_y",
            name="X",
            description="d",
            risk="safe",
            scope=Scope.HOST,  # type: ignore[arg-type]
            category="c",
            result_example={},
        )


@pytest.mark.parametrize("key", ["Bad-Key", "1abc", "a", "has space"])
def test_keys_are_lower_snake(key: str) -> None:
    with pytest.raises(SkillDefinitionError, match="lower_snake_case"):
        skill(
            key=key, name="X", description="d", risk=RiskClass.SAFE, scope=Scope.HOST, category="c", result_example={}
        )


def test_duplicate_keys_are_an_error() -> None:
    @skill(
        key="dup_one",
        name="D",
        description="d",
        risk=RiskClass.SAFE,
        scope=Scope.MANAGER,
        category="c",
        result_example={},
    )
    def dup(params: P, ctx: object) -> dict[str, str]:
        return {}

    registry = Registry()
    registry.add(skill_from_function(dup))
    with pytest.raises(SkillDefinitionError, match="duplicate skill key 'dup_one'"):
        registry.add(skill_from_function(dup, source="elsewhere"))


def test_params_must_be_a_pydantic_model() -> None:
    @skill(
        key="no_model",
        name="N",
        description="d",
        risk=RiskClass.SAFE,
        scope=Scope.MANAGER,
        category="c",
        result_example={},
    )
    def no_model(params: dict, ctx: object) -> dict[str, str]:  # type: ignore[type-arg]
        return {}

    with pytest.raises(SkillDefinitionError, match="pydantic model"):
        skill_from_function(no_model)


class WithEdge(SkillParams):
    edge: str = "x"


def test_host_skills_must_not_declare_edge() -> None:
    @skill(
        key="with_edge",
        name="E",
        description="d",
        risk=RiskClass.SAFE,
        scope=Scope.HOST,
        category="c",
        result_example={},
    )
    def with_edge(params: WithEdge, ctx: object) -> dict[str, str]:
        return {}

    with pytest.raises(SkillDefinitionError, match="'edge' is derived"):
        skill_from_function(with_edge)


def test_a_broken_skill_file_is_reported_not_fatal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pkg = tmp_path / "extra_skills"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "broken.py").write_text("import no_such_module_anywhere\n")
    (pkg / "good.py").write_text(
        "from watchkeeper.policy.risk import RiskClass\n"
        "from watchkeeper.skills.base import Scope, SkillParams, skill\n"
        "class P(SkillParams):\n    pass\n"
        "@skill(key='good_one', name='G', description='d', risk=RiskClass.SAFE, scope=Scope.MANAGER,\n"
        "       category='c', result_example={})\n"
        "def good_one(params: P, ctx: object) -> dict:\n    return {}\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = Registry()
    registry.load_builtins("extra_skills")
    assert [s.key for s in registry.all()] == ["good_one"]
    assert len(registry.load_errors) == 1 and "extra_skills.broken failed to import" in registry.load_errors[0]
    sys.modules.pop("extra_skills", None)


def test_unknown_key_lists_close_matches(settings: object) -> None:
    registry = build_registry(settings)  # type: ignore[arg-type]
    with pytest.raises(UnknownSkill, match="did you mean tail_file"):
        registry.get("tail_fil")
