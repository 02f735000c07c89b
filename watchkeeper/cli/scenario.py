"""wk scenario: break this machine on purpose, investigate, score, clean up."""

from __future__ import annotations

from typing import Annotated

import typer

from watchkeeper.cli.common import JsonFlag, emit_json, err, fail, out

scenario_app = typer.Typer(
    no_args_is_help=True, help="Fault-injection scenarios: break this machine, investigate, score."
)


@scenario_app.command("list")
def scenario_list(as_json: JsonFlag = False) -> None:
    """The fault-injection scenarios."""
    from watchkeeper.scenarios.runner import all_scenarios

    found = all_scenarios()
    if as_json:
        emit_json(
            [
                {
                    "name": n,
                    "description": s.description,
                    "suite": s.suite,
                    "fault_class": s.fault_class or None,
                    "simulated": s.simulated,
                }
                for n, s in found.items()
            ]
        )
        return
    width = max((len(n) for n in found), default=18)
    for name, sc in found.items():
        out.print(f"[bold]{name:{width}}[/bold] {sc.description}", highlight=False)


@scenario_app.command("run")
def scenario_run(
    # Described in the docstring: Typer would print a variadic argument's type as `<list[str]>`.
    names: Annotated[list[str] | None, typer.Argument(metavar="NAME", hidden=True)] = None,
    run_all: Annotated[bool, typer.Option("--all", help="Run every scenario.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Inject each fault on this machine, investigate its alert without an LLM, score the report, clean up.

    NAME is a scenario from wk scenario list; --all runs every one.

    Exit 0 when every scenario named the right root cause, culprit and remediation and left nothing behind.
    """
    from watchkeeper.scenarios.runner import all_scenarios, run_scenario

    found = all_scenarios()
    chosen = list(found) if run_all else (names or [])
    if not chosen:
        fail("name scenarios to run or pass --all (wk scenario list shows them)")
    unknown = [n for n in chosen if n not in found]
    if unknown:
        fail(f"unknown scenario(s): {', '.join(unknown)}; known: {', '.join(found)}")
    outcomes = []
    for name in chosen:
        if not as_json:
            err.print(f"[dim]… {name}: {found[name].description}[/dim]", highlight=False)
        outcome = run_scenario(found[name])
        outcomes.append(outcome)
        if not as_json:
            mark = "[green]PASS[/green]" if outcome.passed else "[red]FAIL[/red]"
            top = outcome.report.summary if outcome.report else outcome.error
            out.print(f"{mark} {name:18} {outcome.seconds_to_report:5.1f}s  {top}", highlight=False)
            for problem in outcome.leftovers:
                out.print(f"     left behind: {problem}", highlight=False)
    if as_json:
        emit_json([o.as_dict() for o in outcomes])
    raise typer.Exit(0 if all(o.passed for o in outcomes) else 1)
