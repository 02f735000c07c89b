"""wk skills: list, inspect and run skills."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from watchkeeper.cli.approve import ask
from watchkeeper.cli.common import JsonFlag, cli_caller, emit_json, fail, open_cli_app, out, report_invocation
from watchkeeper.errors import InputError, WatchkeeperError

if TYPE_CHECKING:
    from watchkeeper.skills.base import Skill

skills_app = typer.Typer(no_args_is_help=True, help="List, inspect and run skills.")


@skills_app.command("list")
def skills_list(as_json: JsonFlag = False) -> None:
    """Every registered skill: built-ins and skill packs."""
    from watchkeeper.skills import derive

    app = open_cli_app(need_store=False)
    skills = app.registry.all()  # load problems were already logged as warnings on stderr
    if as_json:
        emit_json([derive.summary(s) for s in skills])
        return
    table = Table("key", "class", "scope", "category", "name")
    colour = {"safe": "green", "mutating": "yellow", "dangerous": "red"}
    for s in skills:
        risk = s.risk.value
        table.add_row(
            s.key, f"[{colour[risk]}]{risk}[/]", s.meta.scope.value, escape(s.meta.category), escape(s.meta.name)
        )
    out.print(table)


@skills_app.command("show")
def skills_show(key: str, as_json: JsonFlag = False) -> None:
    """One skill: its description, params and an example result."""
    from watchkeeper.skills import derive

    app = open_cli_app(need_store=False)
    try:
        skill = app.registry.get(key)
    except WatchkeeperError as exc:
        fail(str(exc))
    if as_json:
        emit_json(derive.summary(skill))
        return
    out.print(derive.describe(skill), highlight=False)
    out.print("\nexample result:", highlight=False)
    out.print_json(data=skill.meta.result_example)


def parse_params(skill: Skill | None, pairs: list[str], params_json: str | None) -> dict[str, Any]:
    """`k=v` pairs typed by the skill's schema: strings stay strings, other types parse as JSON."""
    from watchkeeper.inputs import json_type, parse_json
    from watchkeeper.skills import derive

    params: dict[str, Any] = {}
    if params_json:
        try:
            loaded = parse_json(params_json, "--params-json")
        except InputError as exc:
            fail(str(exc))
        if not isinstance(loaded, dict):
            fail(f"--params-json must be a JSON object, not {json_type(loaded)}")
        params.update(loaded)
    props = derive.params_schema(skill).get("properties", {}) if skill else {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name:
            fail(f"--param takes name=value, got: {pair}")
        if _is_string_param(props.get(name, {})):
            params[name] = raw
            continue
        try:
            params[name] = json.loads(raw)
        except (ValueError, RecursionError):  # not JSON (or absurdly long or deep): the text itself
            params[name] = raw
    return params


def _is_string_param(prop: Any) -> bool:
    if not isinstance(prop, dict):  # JSON Schema allows `true` as a property's whole schema
        return False
    kinds = [prop.get("type")] + [p.get("type") for p in prop.get("anyOf", []) if isinstance(p, dict)]
    flat = {k for kind in kinds for k in (kind if isinstance(kind, list) else [kind])}
    return "string" in flat and not flat & {"integer", "number", "boolean", "object", "array"}


@skills_app.command("run")
def skills_run(
    key: str,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", metavar="NAME=VALUE", help="A param as name=value (repeatable)."),
    ] = None,
    params_json: Annotated[str | None, typer.Option("--params-json", help="Params as one JSON object.")] = None,
    edge: Annotated[str | None, typer.Option("--edge", help="Target edge of a host skill.")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Approve a mutating skill without the prompt.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Run one skill through invoke: validated, gated, time-limited and audited."""
    from watchkeeper.incidents.approvals import run
    from watchkeeper.policy.risk import RiskClass

    app = open_cli_app(need_store=False)
    skill = app.registry.get(key) if key in app.registry else None
    params = parse_params(skill, param or [], params_json)
    if edge:
        params["edge"] = edge
    if skill is None or skill.risk is RiskClass.SAFE:
        report_invocation(app.invoker.invoke(key, params, cli_caller()), as_json)
    prepared, approval = ask(app, key, params, yes)
    report_invocation(run(app, key, params, prepared, cli_caller(), approval), as_json)
