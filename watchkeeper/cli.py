"""`watchkeeper` / `wk`: the command line.

Exit codes: 0 success · 1 the skill ran and failed (or a check found problems) · 2 usage
error, invalid params, or refused by the gate or a policy, with a one-line reason on stderr.
With --json, stdout carries only JSON; progress and messages go to stderr.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.core import TyperGroup

from watchkeeper import __version__
from watchkeeper.errors import ConfigError, InputError, WatchkeeperError

# Every command imports what it uses: `wk version` and `wk --help` must not pay for the store, the
# skills, MCP or the agent (bench/startup.py measures it).
if TYPE_CHECKING:
    from watchkeeper.agent.chat import Chat
    from watchkeeper.config import Settings
    from watchkeeper.evidence.report import Symptom
    from watchkeeper.notify.deliver import Delivery
    from watchkeeper.policy.approvals import Approval
    from watchkeeper.policy.risk import Caller
    from watchkeeper.runtime import Runtime
    from watchkeeper.skills.base import Skill
    from watchkeeper.skills.invoke import Invocation


class OneLineErrors(TyperGroup):
    """Whatever a command lets escape ends as one line on stderr, never a traceback (WK_DEBUG=1 shows it)."""

    # Exits, usage errors (TyperException), Ctrl-C/EOF and a closed pipe (`wk audit | head`) are Typer's to handle.
    PASS = (typer.Exit, typer.Abort, typer.TyperException, EOFError, BrokenPipeError)

    def invoke(self, ctx: Any) -> Any:  # a typer Context: its click is vendored inside typer
        try:
            return super().invoke(ctx)
        except self.PASS:
            raise
        except WatchkeeperError as exc:
            fail(str(exc))
        except Exception as exc:
            if os.environ.get("WK_DEBUG"):
                raise
            detail = next(iter(str(exc).splitlines()), "")[:300]
            fail(f"unexpected {type(exc).__name__}: {detail} (run again with WK_DEBUG=1 for the traceback)", 1)


app = typer.Typer(
    cls=OneLineErrors,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    add_completion=False,
    help="watchkeeper: an AIOps agent for the night shift.",
)
skills_app = typer.Typer(no_args_is_help=True, help="List, inspect and run skills.")
audit_app = typer.Typer(invoke_without_command=True, help="Read and verify the tool-call ledger.")
config_app = typer.Typer(no_args_is_help=True, help="Show the effective configuration.")
kb_app = typer.Typer(no_args_is_help=True, help="The knowledge base: runbooks, notes and past incidents.")
scenario_app = typer.Typer(
    no_args_is_help=True, help="Fault-injection scenarios: break this machine, investigate, score."
)
mcp_app = typer.Typer(invoke_without_command=True, help="Serve the skills over MCP; list imported MCP servers.")
app.add_typer(skills_app, name="skills")
app.add_typer(audit_app, name="audit")
app.add_typer(config_app, name="config")
app.add_typer(mcp_app, name="mcp")
app.add_typer(scenario_app, name="scenario")
app.add_typer(kb_app, name="kb")

# Piped output gets room for whole rows instead of rich's 80-column default.
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, soft_wrap=True)

EXIT_FOR_STATUS = {"succeeded": 0, "failed": 1, "timed_out": 1, "refused": 2, "invalid": 2}  # by invoke's Status
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON only on stdout.")]


def one_line(text: str) -> str:
    """Line breaks become spaces; other control characters (from a file name or a payload) are shown
    escaped rather than sent to the terminal. Markup-safe to print."""
    line = re.sub(r"[\x00-\x1f\x7f]", lambda m: " " if m.group() in "\t\n\r" else f"\\x{ord(m.group()):02x}", text)
    return escape(line)


def print_error(message: str) -> None:
    err.print(f"[red]error:[/red] {one_line(message)}", markup=True, highlight=False)


def fail(message: str, code: int = 2) -> NoReturn:
    print_error(message)
    raise typer.Exit(code)


def emit_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")


def runtime(need_store: bool = True) -> Runtime:
    """The wired runtime; commands that only run skills go on without the store (reads still work)."""
    from watchkeeper.runtime import open_runtime

    try:
        rt = open_runtime()
    except ConfigError as exc:
        fail(str(exc), 2)
    except OSError as exc:  # e.g. the data directory cannot be created
        fail(f"cannot open {exc.filename or 'the data directory'}: {exc.strerror or exc}", 1)
    if rt.store_error:
        if need_store:
            fail(rt.store_error, 1)
        err.print(
            f"[yellow]warning:[/yellow] {escape(rt.store_error)}; audit rows wait until it is back, "
            "and skills that change anything are refused",
            highlight=False,
        )
    return rt


def person() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def need_model(rt: Runtime, what: str) -> None:
    if rt.settings.llm.resolved is None:
        fail(
            f"{what} needs a model: set llm.base_url and llm.model (or llm.preset), or WK_LLM_BASE_URL and WK_LLM_MODEL"
        )


def live_line(message: str) -> None:
    """A progress line on stderr; model and tool text in it is escaped, never read as markup."""
    err.print(f"[dim]… {escape(message)}[/dim]", highlight=False)


def cli_caller(session_id: str | None = None) -> Caller:
    from watchkeeper.policy.risk import Caller, Role

    return Caller(Role.CLI, user=person(), session_id=session_id)


# -- wk version / check ----------------------------------------------------------------------


@app.command()
def version() -> None:
    """Print the watchkeeper version."""
    out.print(f"watchkeeper {__version__}", highlight=False)


@app.command()
def check(
    as_json: JsonFlag = False,
    fail_on: Annotated[
        str | None,
        typer.Option(
            "--fail-on", help="Exit 1 on a warning, 2 on a critical finding (warn), or 2 on critical only (crit)."
        ),
    ] = None,
) -> None:
    """One-shot health report of this host: CPU, load, memory, disks, top processes, ports, log errors."""
    from watchkeeper.evidence.host_check import run_check
    from watchkeeper.render import print_host_report

    if fail_on not in (None, "warn", "crit"):
        fail("--fail-on takes warn or crit")
    rt = runtime(need_store=False)
    if sys.stderr.isatty() and not as_json:
        with err.status("checking this host…"):
            report = run_check(rt.invoker, person())
    else:
        report = run_check(rt.invoker, person())
    if as_json:
        emit_json(report.as_dict())
    else:
        print_host_report(out, report)
    severity = report.severity
    if fail_on == "warn" and severity != "ok":
        raise typer.Exit(1 if severity == "warn" else 2)
    if fail_on == "crit" and severity == "crit":
        raise typer.Exit(2)


# -- wk investigate ----------------------------------------------------------------------------


def _alert_symptoms(source: str) -> list[Symptom]:
    from watchkeeper.evidence.symptoms import AlertError, from_alert_payload
    from watchkeeper.inputs import decode, parse_json, read_text

    name = "alert on stdin" if source == "-" else f"alert {source}"
    try:
        text = decode(sys.stdin.buffer.read(), name) if source == "-" else read_text(Path(source), name)
        return from_alert_payload(parse_json(text, name))
    except InputError as exc:
        fail(str(exc))
    except AlertError as exc:
        fail(f"{name}: {exc}")


@app.command()
def investigate(
    question: Annotated[str | None, typer.Argument(help="The symptom in words, e.g. 'CPU is at 98%, why?'")] = None,
    alert: Annotated[
        str | None,
        typer.Option("--alert", help="An Alertmanager webhook payload or one alert (JSON file, - for stdin)."),
    ] = None,
    replay_id: Annotated[
        str | None, typer.Option("--replay", help="Re-run the analysis of a recorded investigation.")
    ] = None,
    as_json: JsonFlag = False,
    markdown: Annotated[bool, typer.Option("--markdown", help="Print the report as Markdown.")] = False,
    llm: Annotated[
        bool | None,
        typer.Option(
            "--llm/--no-llm",
            help="Refine the triage with the configured model (default when one is configured) or force triage only.",
        ),
    ] = None,
    notify: Annotated[
        list[str] | None,
        typer.Option("--notify", metavar="URL", help="Deliver the report here too (repeatable; see README)."),
    ] = None,
) -> None:
    """Investigate a symptom through audited skills and print a diagnosis report with the fix."""
    from watchkeeper.evidence.report import Report, Symptom
    from watchkeeper.evidence.triage import investigate as run_triage
    from watchkeeper.evidence.triage import replay
    from watchkeeper.notify.render.markdown import to_markdown
    from watchkeeper.render import print_report

    if not (question or alert or replay_id):
        fail("give a question, --alert FILE or --replay ID")
    rt = runtime(need_store=False)
    use_llm = rt.settings.llm.resolved is not None if llm is None else llm
    if use_llm and not replay_id:
        need_model(rt, "--llm")
    reports: list[Report] = []
    if replay_id:
        reports.append(replay(rt.settings, replay_id))
    else:
        symptoms = _alert_symptoms(alert) if alert else [Symptom()]
        # With a model every request and tool call shows on stderr; stdout keeps only the report.
        live = use_llm or (sys.stderr.isatty() and not as_json)
        for symptom in symptoms:
            if question:
                symptom.question = question
            progress = live_line if live else None
            if use_llm:
                from watchkeeper.agent.investigator import investigate as run_agent

                reports.append(run_agent(rt.invoker, symptom, show=progress))
            else:
                reports.append(run_triage(rt.invoker, symptom, progress))
    targets = [*rt.settings.notify.urls, *(notify or [])]
    deliveries: list[Delivery] = []
    if targets:
        from watchkeeper.notify.deliver import deliver, jobs_for

        deliveries = deliver(jobs_for(reports, targets), rt.settings.notify, rt.settings.data_dir / "outbox")
        show_deliveries(deliveries)
    if as_json:
        emit_json(
            reports[0].model_dump(mode="json") if len(reports) == 1 else [r.model_dump(mode="json") for r in reports]
        )
    else:
        for report in reports:
            if markdown:
                out.print(to_markdown(report), markup=False, highlight=False)
            else:
                print_report(out, report)
    exit_if_every_delivery_failed(deliveries)


@app.command()
def chat() -> None:
    """Talk to the configured model with the skills as tools; /run N runs proposal N after you confirm it."""
    from watchkeeper.agent.chat import Chat

    rt = runtime(need_store=False)
    need_model(rt, "chat")
    try:
        session = Chat(rt.invoker, show=live_line)
    except ConfigError as exc:
        fail(str(exc))
    err.print(
        f"watchkeeper chat with {session.model_name}, session {session.session_id}. "
        "Commands: /proposals, /run N, /quit.",
        highlight=False,
    )
    shown = 0
    try:
        while True:
            err.print("[bold]you>[/bold] ", end="")
            line = sys.stdin.readline()
            if not line or line.strip() in ("/quit", "/exit"):
                break
            text = line.strip()
            if not text:
                continue
            if text == "/proposals" or text.startswith("/run"):
                _chat_command(rt, session, text)
                continue
            out.print(session.ask(text), markup=False, highlight=False)
            for n, action in enumerate(session.proposals[shown:], start=shown + 1):
                warn = f"  [red]echoes untrusted text: {escape(action.untrusted)}[/red]" if action.untrusted else ""
                title = escape(action.title)
                err.print(f"proposal {n}: {title} ({action.risk_class}); /run {n} to run it{warn}", highlight=False)
            shown = len(session.proposals)
    except (KeyboardInterrupt, typer.Abort):  # Ctrl-C at the prompt (or at a question) ends the chat like /quit
        err.print("", highlight=False)
    session.close()
    err.print(f"session {session.session_id}: wk audit --session {session.session_id}", highlight=False)


def _chat_command(rt: Runtime, session: Chat, text: str) -> None:
    from watchkeeper.policy.risk import RiskClass

    proposals = session.proposals
    if text == "/proposals":
        for n, a in enumerate(proposals, start=1):
            err.print(f"{n}. {a.title} ({a.risk_class}) {a.reason}", highlight=False, markup=False)
        if not proposals:
            err.print("no proposals yet", highlight=False)
        return
    arg = text.removeprefix("/run").strip()
    if not arg.isdigit() or not 1 <= int(arg) <= len(proposals):
        err.print(f"/run takes a proposal number from 1 to {len(proposals)}", highlight=False)
        return
    action = proposals[int(arg) - 1]
    assert action.skill is not None  # proposals always name the skill they would run
    skill = rt.registry.get(action.skill)
    if action.untrusted:
        err.print(
            f"[red]warning:[/red] this proposal echoes untrusted text: {escape(action.untrusted)}", highlight=False
        )
        err.print(f"type the skill name ({skill.key}) to go on: ", end="", highlight=False)
        if sys.stdin.readline().strip() != skill.key:
            err.print("not confirmed", highlight=False)
            return
    params = {**action.params, "edge": action.edge} if action.edge != "local" else dict(action.params)
    params, approval = approve(rt, skill, params, yes=False)
    if skill.risk is RiskClass.MUTATING and approval is None:
        return
    call = session.run(action, params, person(), approval)
    message = f"{call.status.value} (audit #{call.audit_id})"
    err.print(f"{action.skill}: {message}{': ' + call.error if call.error else ''}", highlight=False, markup=False)
    if call.ok:
        out.print_json(data=call.result)


# -- wk kb -------------------------------------------------------------------------------------


def _kb() -> Any:
    from watchkeeper.knowledge.skill import knowledge_base

    return knowledge_base(runtime().settings.db_url)


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
    for source, what in _kb().add_parsed(good) if good else []:
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
    docs = _kb().documents(kind)
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
    doc = _kb().get(kb_id)
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
    if not _kb().forget(kb_id):
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
    call = runtime().invoker.invoke("query_knowledge", params, cli_caller())
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
    # Input problems (InputError, RecordingError, LearnError) end as one line through OneLineErrors.
    if report_path is not None:
        source = f"report {report_path}"
        raw = read_json(report_path, source)
    else:
        source = f"investigation {inv_id}"
        raw = load_recording(load_settings().data_dir, str(inv_id)).get("report")
    reports = reports_in(raw, source, index)
    kb = _kb()
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
    meta = feedback(_kb(), case_id, worked)  # type: ignore[arg-type]
    outcomes = {k: meta["outcomes"].get(k, 0) for k in ("yes", "partly", "no")}
    out.print(f"{case_id}: outcomes {pairs(outcomes)}", highlight=False, markup=False)


# -- wk scenario -------------------------------------------------------------------------------


@scenario_app.command("list")
def scenario_list(as_json: JsonFlag = False) -> None:
    """The fault-injection scenarios."""
    from watchkeeper.scenarios.runner import all_scenarios

    found = all_scenarios()
    if as_json:
        emit_json([{"name": n, "description": s.description} for n, s in found.items()])
        return
    for name, sc in found.items():
        out.print(f"[bold]{name:18}[/bold] {sc.description}", highlight=False)


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


# -- wk skills ---------------------------------------------------------------------------------


@skills_app.command("list")
def skills_list(as_json: JsonFlag = False) -> None:
    """Every registered skill: built-ins and skill packs."""
    from watchkeeper.skills import derive

    rt = runtime(need_store=False)
    skills = rt.registry.all()  # load problems were already logged as warnings on stderr
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

    rt = runtime(need_store=False)
    try:
        skill = rt.registry.get(key)
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


def approve(rt: Runtime, skill: Skill, params: dict[str, Any], yes: bool) -> tuple[dict[str, Any], Approval | None]:
    """Show the dry run and ask a person; return the exact params to run and the approval, if given."""
    from watchkeeper.policy.approvals import grant_at_terminal
    from watchkeeper.policy.risk import RiskClass

    try:
        validated, shown = rt.invoker.preview(skill.key, params)
    except WatchkeeperError:
        return params, None  # invoke will refuse or fail with the precise, audited reason
    exact = dict(validated.params)
    err.print(f"[bold]{skill.key}[/bold] is a [yellow]{skill.risk.value}[/yellow] skill. It will run:", highlight=False)
    err.print(f"  skill:  {skill.key}\n  params: {json.dumps(exact)}\n  target: {validated.edge}", highlight=False)
    if shown:
        err.print(f"  effect: {shown.summary}", highlight=False)
    run_params = {**exact, "edge": validated.edge} if validated.edge != "local" else exact
    if skill.risk is not RiskClass.MUTATING:
        return run_params, None
    if yes:
        return run_params, grant_at_terminal(skill.key, exact, validated.edge, person())
    if not sys.stdin.isatty():
        err.print("no terminal to ask for approval and no --yes given", highlight=False)
        return run_params, None
    if typer.confirm("Approve and run it?", default=False, err=True):
        return run_params, grant_at_terminal(skill.key, exact, validated.edge, person())
    err.print("not approved", highlight=False)
    return run_params, None


def report_invocation(call: Invocation, as_json: bool) -> NoReturn:
    if as_json:
        emit_json(call.as_dict())
    elif call.ok:
        out.print_json(data=call.result)
        if call.truncated:
            err.print("[yellow]note:[/yellow] the result was cut at the output cap", highlight=False)
    if not call.ok:
        reason = call.error or call.status.value  # may quote the caller's params
        rule = f" ({call.rule})" if call.rule else ""
        err.print(f"[red]{call.status.value}{rule}:[/red] {one_line(reason)}", highlight=False)
    raise typer.Exit(EXIT_FOR_STATUS[call.status])


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
    from watchkeeper.policy.risk import RiskClass

    rt = runtime(need_store=False)
    skill = rt.registry.get(key) if key in rt.registry else None
    params = parse_params(skill, param or [], params_json)
    if edge:
        params["edge"] = edge
    approval = None
    if skill is not None and skill.risk is not RiskClass.SAFE:
        params, approval = approve(rt, skill, params, yes)
    report_invocation(rt.invoker.invoke(key, params, cli_caller(), approval), as_json)


# -- wk audit ----------------------------------------------------------------------------------

SINCE_RE = re.compile(r"^(\d+)\s*([smhdw])$")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str) -> datetime:
    m = SINCE_RE.match(text.strip())
    if m:
        return datetime.now(UTC) - timedelta(**{UNITS[m.group(2)]: int(m.group(1))})
    try:
        ts = datetime.fromisoformat(text)
    except ValueError:
        fail(f"--since takes a duration like 30m, 1h, 2d or an ISO timestamp, got {text!r}")
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


@audit_app.callback()
def audit(
    ctx: typer.Context,
    tool: Annotated[str | None, typer.Option("--tool", help="Only calls of this skill.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Only calls since: 30m, 1h, 2d or ISO time.")] = None,
    session: Annotated[str | None, typer.Option("--session", help="Only calls of this session id.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="Newest N rows.")] = 50,
    as_json: JsonFlag = False,
) -> None:
    """Ledger rows, oldest first (the newest --limit)."""
    from watchkeeper.audit.model_log import ModelLog

    if ctx.invoked_subcommand is not None:
        return
    rt = runtime()
    rows = rt.ledger.rows(tool=tool, since=parse_since(since) if since else None, session_id=session, limit=limit)
    requests = ModelLog(rt.engine).rows(session_id=session, limit=limit) if session else []
    if as_json:
        # A session is a whole investigation: its tool calls and model requests, in time order.
        if session:
            merged = [{"kind": "tool_call", **r} for r in rows] + [{"kind": "model_request", **r} for r in requests]
            emit_json(sorted(merged, key=lambda r: str(r["started_at"])))
        else:
            emit_json(rows)
        return
    table = Table("id", "started", "tool", "status", "caller", "approved by", "ms", "error")
    for r in rows:
        caller = f"{r['caller_role']}:{r['caller_user_id'] or '-'}"
        error = escape((r["error"] or "")[:60])
        table.add_row(
            str(r["id"]),
            r["started_at"][:19],
            r["tool_name"],
            r["status"],
            caller,
            r["approved_by"] or "",
            f"{r['duration_ms']:.0f}",
            error,
        )
    out.print(table)
    if requests:
        models = Table("started", "model", "role", "status", "tokens in", "tokens out", "tool calls", "ms", "error")
        for r in requests:
            models.add_row(
                r["started_at"][:19],
                r["model"],
                r["role"],
                r["status"],
                str(r["input_tokens"]),
                str(r["output_tokens"]),
                str(r["tool_calls"]),
                f"{r['latency_ms']:.0f}",
                escape((r["error"] or "")[:60]),
            )
        out.print(models)


@audit_app.command("verify")
def audit_verify(as_json: JsonFlag = False) -> None:
    """Recompute the hash chain: exit 0 when intact, 1 naming the first edited or deleted row."""
    from watchkeeper.humanize import plural

    rt = runtime()
    report = rt.ledger.verify()
    if as_json:
        emit_json(
            {
                "ok": report.ok,
                "rows_checked": report.rows_checked,
                "problems": [{"row_id": i, "problem": p} for i, p in report.problems],
                "notes": [{"row_id": i, "note": n} for i, n in report.notes],
            }
        )
    else:
        for row_id, note in report.notes:
            err.print(f"[yellow]row {row_id}:[/yellow] {escape(note)}", highlight=False)
        if report.ok:
            out.print(f"ledger intact: {plural(report.rows_checked, 'row')} verified", highlight=False)
        for row_id, problem in report.problems:
            err.print(f"[red]row {row_id}:[/red] {problem}", highlight=False)
    raise typer.Exit(0 if report.ok else 1)


# -- wk config / doctor ------------------------------------------------------------------------


@config_app.command("show")
def config_show(as_json: JsonFlag = False) -> None:
    """The effective settings (file + WK_* environment + defaults), secrets masked."""
    from watchkeeper.config import default_config_path, load_settings, read_config_file
    from watchkeeper.config_view import settings_view

    try:
        settings = load_settings()
    except ConfigError as exc:
        fail(str(exc))
    path = default_config_path()
    view = {"config_file": str(path), "config_file_read": read_config_file() is not None, **settings_view(settings)}
    if as_json:
        emit_json(view)
    else:
        out.print_json(data=view)


@app.command()
def doctor(as_json: JsonFlag = False) -> None:
    """Validate the config and check every configured backend; exit 1 if anything is wrong."""
    from watchkeeper.doctor import run_doctor

    checks = run_doctor()
    if as_json:
        emit_json([c.as_json() for c in checks])
    else:
        marks = {"ok": "[green]ok[/green]  ", "warn": "[yellow]warn[/yellow]", "FAIL": "[red]FAIL[/red]"}
        for c in checks:
            out.print(f"{marks[c.status]} {escape(c.name)}: {escape(c.detail)}", highlight=False)
    raise typer.Exit(0 if all(c.ok for c in checks) else 1)


# -- wk mcp ------------------------------------------------------------------------------------


@mcp_app.callback()
def mcp_serve(
    ctx: typer.Context,
    http: Annotated[bool, typer.Option("--http", help="Serve streamable HTTP instead of stdio.")] = False,
    host: Annotated[str | None, typer.Option("--host", help="HTTP bind address (default mcp.host).")] = None,
    port: Annotated[int | None, typer.Option("--port", help="HTTP port (default mcp.port).")] = None,
) -> None:
    """Serve every exposed skill as an MCP tool: stdio by default, --http for streamable HTTP at /mcp."""
    if ctx.invoked_subcommand is not None:
        return
    import anyio

    from watchkeeper.mcp.http import serve_http
    from watchkeeper.mcp.server import serve_stdio

    rt = runtime(need_store=False)
    if http:
        bind, at = host or rt.settings.mcp.host, port or rt.settings.mcp.port
        try:
            serve_http(rt, bind, at, lambda url: err.print(f"watchkeeper MCP on {url}", highlight=False))
        except ConfigError as exc:
            fail(str(exc))
        return
    anyio.run(serve_stdio, rt)


@mcp_app.command("servers")
def mcp_servers(
    refresh: Annotated[
        bool, typer.Option("--refresh", help="Connect to every server and fetch its tools now.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Configured external MCP servers: state, last fetch, and the skills imported from each."""
    from watchkeeper.mcp.imports import server_states

    settings = runtime(need_store=False).settings
    states = server_states(settings, refresh=refresh)
    if as_json:
        emit_json(states)
        return
    if not states:
        out.print("no MCP servers configured (add [[mcp.servers]] to the config)", highlight=False, markup=False)
    for st in states:
        mark = "[green]ok[/green]" if st["state"] == "ok" else f"[red]{st['state']}[/red]"
        out.print(
            f"[bold]{escape(st['name'])}[/bold] {mark} {st['transport']} fetched {st['fetched_at'] or 'never'}",
            highlight=False,
        )
        if st["error"]:
            out.print(f"  error: {st['error']}", highlight=False, markup=False)
        for tool in st["tools"]:
            out.print(f"  {tool['key']:40} {tool['class']:9} {tool['description'][:60]}", highlight=False, markup=False)


# -- wk notify ---------------------------------------------------------------------------------

notify_app = typer.Typer(no_args_is_help=True, help="Send reports to chat, webhooks and e-mail; resend what failed.")
app.add_typer(notify_app, name="notify")
# Described in the docstring: Typer would print a variadic argument's type as `<list[str]>`.
TargetsArg = Annotated[list[str] | None, typer.Argument(metavar="TARGET", hidden=True)]


def show_deliveries(deliveries: list[Delivery]) -> None:
    """One line per delivery on stderr; targets as shown (no tokens), remote text never read as markup."""
    from watchkeeper.humanize import plural

    for d in deliveries:
        tries = plural(d.attempts, "attempt")
        if d.ok:
            err.print(f"delivered to {escape(d.target)} ({escape(d.report_id)}, {tries})", highlight=False)
            continue
        kept = f"; the report is kept at {escape(d.kept_at)}" if d.kept_at else ""
        err.print(
            f"[red]delivery to {escape(d.target)} failed[/red] ({escape(d.report_id)}, {tries}): "
            f"{escape(d.error or 'unknown error')}{kept}",
            highlight=False,
        )


def exit_if_every_delivery_failed(deliveries: list[Delivery]) -> None:
    if deliveries and not any(d.ok for d in deliveries):
        raise typer.Exit(1)


def _notify_settings() -> Settings:
    from watchkeeper.config import load_settings

    try:
        return load_settings()
    except ConfigError as exc:
        fail(str(exc))


@notify_app.command("test")
def notify_test(
    target: Annotated[str, typer.Argument(metavar="TARGET", help="A target URL, or env:NAME / file:PATH holding one.")],
) -> None:
    """Send a short test message to TARGET; exit 1 if it does not arrive (nothing is kept)."""
    from watchkeeper.notify.deliver import Job, deliver
    from watchkeeper.notify.trial import trial_report

    settings = _notify_settings()
    deliveries = deliver([Job(trial_report(), target)], settings.notify, outbox=None)
    show_deliveries(deliveries)
    exit_if_every_delivery_failed(deliveries)


@notify_app.command("send")
def notify_send(
    targets: TargetsArg = None,
    report_file: Annotated[
        Path | None,
        typer.Option("--report", metavar="FILE", help="What wk investigate --json printed: one report or a list."),
    ] = None,
    inv_id: Annotated[str | None, typer.Option("--id", metavar="ID", help="A recorded investigation, inv-….")] = None,
) -> None:
    """Deliver reports to TARGETs (default notify.urls); exit 1 when every delivery failed.

    Each TARGET is a URL, or env:NAME / file:PATH holding one.
    """
    from watchkeeper.evidence.saved_reports import report_from_recording, reports_from_file
    from watchkeeper.notify.deliver import deliver, jobs_for

    if (report_file is None) == (inv_id is None):
        fail("give --report FILE or --id inv-…")
    settings = _notify_settings()
    try:
        if inv_id is not None:
            reports = [report_from_recording(settings.data_dir, inv_id)]
        elif report_file is not None:
            reports = reports_from_file(report_file)
    except WatchkeeperError as exc:
        fail(str(exc))
    chosen = targets or settings.notify.urls
    if not chosen:
        fail("no targets: give TARGET or set notify.urls")
    deliveries = deliver(jobs_for(reports, chosen), settings.notify, settings.data_dir / "outbox")
    show_deliveries(deliveries)
    exit_if_every_delivery_failed(deliveries)


@notify_app.command("retry")
def notify_retry(targets: TargetsArg = None) -> None:
    """Resend what the outbox kept to its configured targets; a delivered entry leaves the outbox.

    Each TARGET (a URL, or env:NAME / file:PATH holding one) is matched against kept entries beside notify.urls.
    """
    from watchkeeper.notify.deliver import deliver
    from watchkeeper.notify.outbox import resend

    settings = _notify_settings()
    outbox = settings.data_dir / "outbox"
    plan = resend(outbox, [*settings.notify.urls, *(targets or [])])
    if not plan.jobs and not plan.stuck:
        err.print("the outbox is empty", highlight=False)
        return
    deliveries = deliver(plan.jobs, settings.notify, outbox) + plan.stuck
    show_deliveries(deliveries)
    exit_if_every_delivery_failed(deliveries)


def main() -> None:
    try:
        app()
    except WatchkeeperError as exc:
        err.print(f"error: {exc}", highlight=False)
        sys.exit(2)
