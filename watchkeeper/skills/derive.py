"""Projections of a skill's single definition: JSON Schema, LLM function tool, summaries.

MCP, HTTP and UI forms must build on these, never describe a skill a second time.
"""

from __future__ import annotations

from typing import Any

from watchkeeper.humanize import value
from watchkeeper.skills.base import Skill


def params_schema(skill: Skill) -> dict[str, Any]:
    return skill.params.json_schema()


def function_tool(skill: Skill) -> dict[str, Any]:
    """The OpenAI-style function tool; tool name = skill key."""
    return {
        "type": "function",
        "function": {
            "name": skill.key,
            "description": tool_description(skill),
            "parameters": params_schema(skill),
        },
    }


def tool_description(skill: Skill) -> str:
    """The description a model reads: what it does plus the risk it carries."""
    risk = {
        "safe": "Read-only.",
        "mutating": "MUTATING: needs a person's approval before it runs.",
        "dangerous": "DANGEROUS: needs a signed SOP and two approvers.",
    }[skill.risk.value]
    return f"{skill.meta.description} {risk}"


def summary(skill: Skill) -> dict[str, Any]:
    """One skill as `wk skills list --json` prints it."""
    meta = skill.meta
    return {
        "key": meta.key,
        "name": meta.name,
        "description": meta.description,
        "class": meta.risk.value,
        "scope": meta.scope.value,
        "category": meta.category,
        "idempotent": meta.idempotent,
        "timeout_s": meta.timeout_s,
        "source": skill.source,
        "params": params_schema(skill),
        "result_example": meta.result_example,
    }


def describe(skill: Skill) -> str:
    """A human description: header, text and one line per param."""
    meta = skill.meta
    schema = params_schema(skill)
    required = set(schema.get("required", []))
    lines = [
        f"{meta.name} ({meta.key})",
        f"class: {meta.risk.value}   scope: {meta.scope.value}   category: {meta.category}"
        f"   idempotent: {'yes' if meta.idempotent else 'no'}   source: {skill.source}",
        "",
        meta.description,
        "",
        "params:" if schema.get("properties") else "params: none",
    ]
    for name, prop in schema.get("properties", {}).items():
        kind = _type_of(prop)
        need = "required" if name in required else _default(prop.get("default"))
        text = prop.get("description", "")
        lines.append(f"  {name} ({kind}, {need}){': ' + text if text else ''}")
    return "\n".join(lines)


def _default(default: Any) -> str:
    if default is None:
        return "optional"
    return f"default {value(default) if default not in ('', [], {}) else 'empty'}"


def _type_of(prop: dict[str, Any]) -> str:
    if "enum" in prop:
        return "|".join(str(v) for v in prop["enum"])
    if "anyOf" in prop:
        return " or ".join(_type_of(p) for p in prop["anyOf"])
    kind = prop.get("type", "any")
    return "/".join(kind) if isinstance(kind, list) else str(kind)
