"""Every report and table a person reads, rendered for real and read by `assert_readable`: no Python
repr, no bad plural, each recommended step once.

Reports come from the triage (and the model loop, with a scripted model) on real files, ports and
processes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.agent.scripted import Script, call, calls, report
from tests.helpers import free_port, http_server
from tests.readable import assert_readable, on_terminal
from watchkeeper.agent.investigator import investigate as investigate_with_model
from watchkeeper.config import Settings
from watchkeeper.evidence import triage
from watchkeeper.evidence.host_check import run_check
from watchkeeper.evidence.report import Report, Symptom, action_key
from watchkeeper.evidence.symptoms import from_alert_payload
from watchkeeper.notify.markdown import to_markdown
from watchkeeper.render import print_host_report, print_report
from watchkeeper.runtime import Runtime, open_runtime
from watchkeeper.scenarios.world import alert_payload


def iso(t: datetime) -> str:
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- reports -------------------------------------------------------------------------------------


@dataclass
class Built:
    settings: Settings
    reports: dict[str, Report]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    """Real reports: billing is down (nothing on its port) and its log shows a new exception since the
    alert, so two hypotheses both recommend restarting it; the same with a model that proposes it too;
    and a question about an endpoint that answers 503, one finding that no rule explains."""
    root = tmp_path_factory.mktemp("readable")
    logs = root / "logs"
    logs.mkdir()
    now = datetime.now(UTC)
    history = [f"{iso(now - timedelta(seconds=600 - 5 * i))} INFO GET /charge/{i} 200 {i + 5}ms" for i in range(80)]
    burst = [f"{iso(now - timedelta(seconds=50 - i))} ERROR ConfigError: unknown currency XBT" for i in range(30)]
    (logs / "billing.log").write_text("\n".join(history + burst) + "\n")
    settings = Settings(data_dir=root / "data", policy={"read_allowlist": [str(logs)]})
    rt = open_runtime(settings)
    labels = {"alertname": "TargetDown", "service": "billing", "instance": f"127.0.0.1:{free_port()}"}
    symptom = from_alert_payload(alert_payload(labels, age_s=60))[0]
    base = triage.investigate(rt.invoker, symptom)
    script = Script(
        [
            calls(call("restart_service", unit="billing", reason="it is down")),
            report(
                "billing is down since a config change",
                root_cause="billing crashed on a bad currency in rates.yaml",
                confidence=0.8,
                evidence=["ConfigError: unknown currency XBT"],
                next_steps=["fix rates.yaml"],
            ),
        ]
    )
    with_model = investigate_with_model(rt.invoker, symptom, model=script.model(), base=base)
    with http_server() as url:
        unexplained = triage.investigate(rt.invoker, Symptom(question=f"is {url}/down answering with errors?"))
    yield Built(settings, {"triage": base, "llm": with_model, "unexplained": unexplained})


# to_markdown belongs to the chat renderers being rewritten on the notify branch (issue 10 point 3):
# until it lands, its params are a dict repr. Strict, so the merge that fixes it must drop this mark.
MARKDOWN_PARAMS = pytest.mark.xfail(strict=True, reason="to_markdown prints params as a dict repr (notify branch)")


@pytest.mark.parametrize(
    ("kind", "render"),
    [
        ("triage", "terminal"),
        ("llm", "terminal"),
        ("unexplained", "terminal"),
        pytest.param("triage", "markdown", marks=MARKDOWN_PARAMS),
        pytest.param("llm", "markdown", marks=MARKDOWN_PARAMS),
        ("unexplained", "markdown"),
    ],
)
def test_reports_read_well(built: Built, kind: str, render: str) -> None:
    r = built.reports[kind]
    text = on_terminal(lambda c: print_report(c, r)) if render == "terminal" else to_markdown(r)
    assert_readable(text, where=f"{render} rendering of the {kind} report")
    if kind == "unexplained":
        assert "No root cause stands out" in text and "1 finding listed" in text
    else:
        assert "unit=billing" in text


@pytest.mark.parametrize("kind", ["triage", "llm"])
def test_each_step_is_recommended_once(built: Built, kind: str) -> None:
    r = built.reports[kind]
    recommending = [h for h in r.hypotheses if any(a.skill == "restart_service" for a in h.actions)]
    assert len(recommending) >= 2, "the fixture needs two hypotheses that recommend the same restart"
    restarts = [a for a in r.actions if a.skill == "restart_service"]
    assert len(restarts) == 1 and restarts[0].params["unit"] == "billing"
    assert len({action_key(a) for a in r.actions}) == len(r.actions)


# -- wk check ------------------------------------------------------------------------------------


def test_wk_check_on_this_host_reads_well(rt: Runtime, log_dir: Path) -> None:
    # Two error bursts make at least two warnings; one log has a single error line.
    for name in ("api", "worker"):
        (log_dir / f"{name}.log").write_text("".join(f"ERROR request {i} failed\n" for i in range(25)))
    (log_dir / "cron.log").write_text("INFO started\nERROR the nightly job failed\nINFO done\n")
    checked = run_check(rt.invoker, "tester")
    text = on_terminal(lambda c: print_host_report(c, checked))
    # Other people's command lines and process names are data shown as they are.
    shown = [(p["cmdline"] or p["name"])[:70] for p in checked.top_cpu + checked.top_memory]
    shown += [p["process"] or "" for p in checked.ports] + [ln for log in checked.logs for ln in log["newest_errors"]]
    assert_readable(text, quoted=shown, where="wk check")
    assert "1 error line in the newest 3 lines" in text
    assert re.search(r"\b([2-9]|\d{2,}) warnings on ", checked.verdict), checked.verdict
