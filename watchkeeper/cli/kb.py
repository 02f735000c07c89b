"""wk kb: the knowledge base - runbooks, notes and past incidents."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from watchkeeper.cli.common import (
    JsonFlag,
    cli_caller,
    emit_json,
    fail,
    open_cli_app,
    out,
    print_error,
    report_invocation,
)

if TYPE_CHECKING:
    from watchkeeper.knowledge.base import KnowledgeBase

kb_app = typer.Typer(no_args_is_help=True, help="The knowledge base: runbooks, notes and past incidents.")


def knowledge() -> KnowledgeBase:
    return open_cli_app().knowledge


@kb_app.command("add")
def kb_add(
    # Described in the docstring: Typer would print a variadic argument's type as `<list[Path]>`.
    paths: Annotated[list[Path], typer.Argument(metavar="PATH", hidden=True)],
) -> None:
    """Add or update markdown runbooks, text notes (one fact per paragraph) and JSON/YAML cases.

    Each PATH is a file or a directory (read recursively).
    """
    from watchkeeper.knowledge.ingest import IngestError, parse_paths

    try:
        parsed = parse_paths(paths)
    except IngestError as exc:
        fail(str(exc))
    # Files are read before the knowledge base opens: a bad file is named at once, the good ones still go in.
    good = [(source, docs) for source, docs in parsed if not isinstance(docs, IngestError)]
    for source, what in knowledge().add_parsed(good) if good else []:
        out.print(f"{what:10} {source}", highlight=False, markup=False)
    problems = [str(docs) for _, docs in parsed if isinstance(docs, IngestError)]
    for problem in problems:
        print_error(problem)
    if problems:
        raise typer.Exit(2)


@kb_app.command("list")
def kb_list(
    kind: Annotated[str | None, typer.Option("--type", help="runbook, case or note.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Every entry: id, type, title, source."""
    docs = knowledge().documents(kind)
    if as_json:
        emit_json(docs)
        return
    table = Table("id", "type", "title", "source", "v")
    for d in docs:
        table.add_row(d["id"], d["type"], escape(d["title"]), escape(d["source"]), str(d["version"]))
    out.print(table)


@kb_app.command("show")
def kb_show(kb_id: str, as_json: JsonFlag = False) -> None:
    """One entry with its chunks."""
    doc = knowledge().get(kb_id)
    if doc is None:
        fail(f"no knowledge entry {kb_id} (wk kb list shows them)")
    if as_json:
        emit_json(doc)
        return
    out.print(
        f"[bold]{escape(doc['title'])}[/bold]  {doc['type']} {doc['id']} v{doc['version']}  {escape(doc['source'])}",
        highlight=False,
    )
    for chunk in doc["chunks"]:
        out.print(f"\n[bold]{escape(chunk['heading'])}[/bold]\n{escape(chunk['text'])}", highlight=False)


@kb_app.command("forget")
def kb_forget(kb_id: str) -> None:
    """Remove an entry."""
    if not knowledge().forget(kb_id):
        fail(f"no knowledge entry {kb_id}")
    out.print(f"forgot {kb_id}", highlight=False)


@kb_app.command("search")
def kb_search(
    query: str,
    service: Annotated[str | None, typer.Option("--service", help="Only entries about this service.")] = None,
    kind: Annotated[str | None, typer.Option("--type", help="runbook, case or note.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="How many hits.")] = 5,
    as_json: JsonFlag = False,
) -> None:
    """Search through the query_knowledge skill (audited, like every read)."""
    params: dict[str, Any] = {"query": query, "service": service, "type": kind, "limit": limit}
    call = open_cli_app().invoker.invoke("query_knowledge", params, cli_caller())
    if not call.ok:
        report_invocation(call, as_json)
    hits = call.result["hits"]
    if as_json:
        emit_json(hits)
        return
    for i, h in enumerate(hits, start=1):
        out.print(
            f"{i}. [bold]{escape(h['title'])}[/bold] ({h['type']} {h['id']}, score {h['score']:.2f})", highlight=False
        )
        out.print(f"   {h['heading']}: {h['passage'][:200]}", highlight=False, markup=False)


@kb_app.command("learn")
def kb_learn(
    fix: Annotated[str, typer.Option("--fix", help="What was done.")],
    worked: Annotated[str, typer.Option("--worked", help="yes, no or partly.")],
    report_path: Annotated[
        Path | None, typer.Option("--report", help="What wk investigate --json printed: one report or a list.")
    ] = None,
    inv_id: Annotated[str | None, typer.Option("--id", help="A recorded investigation (inv-…) instead.")] = None,
    index: Annotated[int | None, typer.Option("--index", help="Learn only the Nth report of a list (from 1).")] = None,
) -> None:
    """Turn a resolved incident into a case (or count a recurrence of a known one).

    A list of reports (one per firing alert) is learned report by report with the same --fix and
    --worked; reports of the same problem count once.
    """
    from watchkeeper.config import load_settings
    from watchkeeper.evidence.investigation import load_recording
    from watchkeeper.inputs import read_json
    from watchkeeper.knowledge.learn import fingerprint, learn, reports_in

    if worked not in ("yes", "no", "partly"):
        fail("--worked takes yes, no or partly")
    if (report_path is None) == (inv_id is None):
        fail("give --report FILE or --id INVESTIGATION (one of them)")
    # Input problems (InputError, RecordingError, LearnError) end as one line through CommandGroup.
    if report_path is not None:
        source = f"report {report_path}"
        raw = read_json(report_path, source)
    else:
        source = f"investigation {inv_id}"
        raw = load_recording(load_settings().data_dir, str(inv_id)).get("report")
    reports = reports_in(raw, source, index)
    kb = knowledge()
    learned: dict[str, int] = {}
    for n, report in reports:
        prefix = f"report {n}: " if n else ""
        key = fingerprint(report)
        if key in learned:
            out.print(f"{prefix}the same problem as report {learned[key]}, counted once", highlight=False)
            continue
        learned[key] = n
        case_id, merged = learn(kb, report, fix, worked)  # type: ignore[arg-type]
        out.print(f"{prefix}{'merged into' if merged else 'learned'} case {case_id}", highlight=False)


@kb_app.command("feedback")
def kb_feedback(case_id: str, worked: Annotated[str, typer.Option("--worked", help="yes, no or partly.")]) -> None:
    """Record another outcome of a case's fix: it moves the case up or down in retrieval."""
    from watchkeeper.humanize import pairs
    from watchkeeper.knowledge.learn import feedback

    if worked not in ("yes", "no", "partly"):
        fail("--worked takes yes, no or partly")
    meta = feedback(knowledge(), case_id, worked)  # type: ignore[arg-type]
    outcomes = {k: meta["outcomes"].get(k, 0) for k in ("yes", "partly", "no")}
    out.print(f"{case_id}: outcomes {pairs(outcomes)}", highlight=False, markup=False)
