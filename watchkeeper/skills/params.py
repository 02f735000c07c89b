"""Params specs: validate a call's params and give the JSON Schema every projection uses.

Two kinds, one interface: a pydantic model (built-in skills) and a JSON Schema (skill packs,
imported MCP tools). Host-scope skills get an optional `edge` param derived here, never
declared per skill.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any, Protocol

import jsonschema
from pydantic import BaseModel, Field, ValidationError, create_model

from watchkeeper.errors import InvalidParams, SkillDefinitionError

LOCAL_EDGE = "local"  # the host the manager runs on
EDGE_DESCRIPTION = "Target edge (host) to run on; default: the local host."


def with_edge(params: dict[str, Any], edge: str) -> dict[str, Any]:
    """Params as a caller passes them to invoke: the target edge among them, unless it is this host."""
    return {**params, "edge": edge} if edge != LOCAL_EDGE else dict(params)


@dataclass(frozen=True)
class Validated:
    value: Any  # what the skill's run function receives
    params: dict[str, Any]  # JSON-ready params, without the edge: audited and digested
    edge: str


class ParamsSpec(Protocol):
    def json_schema(self) -> dict[str, Any]: ...

    def validate(self, key: str, raw: dict[str, Any]) -> Validated: ...


def _field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(p) for p in loc) or "(params)"


def _schema_problem(error: jsonschema.ValidationError) -> tuple[str, str]:
    """Name the field even where jsonschema reports on the parent object (required, extra fields)."""
    path = list(error.path)
    if error.validator == "required":
        missing = re.match(r"^'(.+)' is a required property$", error.message)
        if missing:
            return _field_path([*path, missing.group(1)]), "Field required"
    if error.validator == "additionalProperties":
        extra = re.findall(r"'([^']+)'", error.message.split("(", 1)[-1])
        if extra:
            return _field_path([*path, *extra[:1]]), "Extra inputs are not permitted"
    return _field_path(path), error.message


class ModelParams:
    """Params declared as a pydantic model."""

    def __init__(self, model: type[BaseModel], host_scope: bool) -> None:
        self.model = model
        self.input_model: type[BaseModel] = model
        if host_scope:
            if "edge" in model.model_fields:
                raise SkillDefinitionError(f"{model.__name__}: 'edge' is derived for host skills; do not declare it")
            self.input_model = create_model(
                model.__name__,
                __base__=model,
                edge=(str | None, Field(None, description=EDGE_DESCRIPTION)),
            )
        self._schema = self.input_model.model_json_schema()

    def json_schema(self) -> dict[str, Any]:
        return copy.deepcopy(self._schema)

    def validate(self, key: str, raw: dict[str, Any]) -> Validated:
        if not isinstance(raw, dict):
            raise InvalidParams(key, [("(params)", "params must be a JSON object")])
        try:
            value = self.input_model.model_validate(raw)
        except ValidationError as exc:
            raise InvalidParams(key, [(_field_path(e["loc"]), e["msg"]) for e in exc.errors()]) from None
        edge = getattr(value, "edge", None) or LOCAL_EDGE
        return Validated(value, value.model_dump(mode="json", exclude={"edge"}), edge)


class SchemaParams:
    """Params declared as a JSON Schema (skill packs, imported MCP tools)."""

    def __init__(self, schema: dict[str, Any], host_scope: bool, owner: str) -> None:
        if schema.get("type", "object") != "object":
            raise SkillDefinitionError(f"{owner}: params schema must describe an object")
        try:
            validator_cls = jsonschema.validators.validator_for(schema)
            validator_cls.check_schema(schema)
        except jsonschema.SchemaError as exc:
            where = "/".join(str(p) for p in exc.path) or "(root)"
            raise SkillDefinitionError(f"{owner}: invalid params schema at {where}: {exc.message}") from None
        self._schema = {"type": "object", **copy.deepcopy(schema)}
        self._schema.setdefault("properties", {})
        if host_scope:
            self._schema["properties"]["edge"] = {"type": ["string", "null"], "description": EDGE_DESCRIPTION}
        self._validator = validator_cls(self._schema)

    def json_schema(self) -> dict[str, Any]:
        return copy.deepcopy(self._schema)

    def validate(self, key: str, raw: dict[str, Any]) -> Validated:
        if not isinstance(raw, dict):
            raise InvalidParams(key, [("(params)", "params must be a JSON object")])
        errors = sorted(self._validator.iter_errors(raw), key=lambda e: list(e.path))
        if errors:
            raise InvalidParams(key, [_schema_problem(e) for e in errors])
        params = {k: v for k, v in raw.items() if k != "edge"}
        return Validated(params, params, raw.get("edge") or LOCAL_EDGE)
