"""wk investigate: a symptom, an alert or a recording in; diagnosis reports out (and to chat)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from watchkeeper.cli.common import (
    JsonFlag,
    LangOption,
    emit_json,
    err,
    exit_if_every_delivery_failed,
    fail,
    live_line,
    open_cli_app,
    out,
    use_language,
)
from watchkeeper.errors import InputError

if TYPE_CHECKING:
    from watchkeeper.evidence.report import Symptom


def alert_symptoms(source: str) -> list[Symptom]:
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
    lang: LangOption = None,
) -> None:
    """Investigate a symptom through audited skills and print a diagnosis report with the fix."""
    from watchkeeper.cli.render import print_deliveries, print_report
    from watchkeeper.evidence.report import Report, Symptom
    from watchkeeper.incidents import investigate as incidents
    from watchkeeper.incidents.deliver import deliver
    from watchkeeper.notify.render.markdown import to_markdown

    if not (question or alert or replay_id):
        fail("give a question, --alert FILE or --replay ID")
    app = open_cli_app(need_store=False)
    use_language(app, lang)
    use_model = incidents.wants_model(app.settings, None if replay_id else llm, "--llm")
    reports: list[Report] = []
    if replay_id:
        reports.append(incidents.replay(app, replay_id))
    else:
        # With a model every request and tool call shows on stderr; stdout keeps only the report.
        progress = live_line if use_model or (sys.stderr.isatty() and not as_json) else None
        for symptom in alert_symptoms(alert) if alert else [Symptom()]:
            if question:
                symptom.question = question
            reports.append(incidents.investigate(app, symptom, use_model=use_model, show=progress))
    deliveries = deliver(app.settings, reports, [*app.settings.notify.urls, *(notify or [])])
    print_deliveries(err, deliveries)
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
