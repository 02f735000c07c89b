"""`wk incidents` and `wk silences`, on the local data directory and on a real manager with `--server`:
the same JSON as the API, sender text printed inert, and a refusal or an unreachable server in one line."""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from tests.conftest import make_settings
from tests.helpers import Wk, free_port
from tests.server.conftest import Served, serve_core
from tests.server.test_incidents_api import make_incident
from watchkeeper.app import App, open_app
from watchkeeper.cli import app as wk_app

TRAP = "[red]boom[/red] \x1b[2J"  # rich markup and a terminal escape, as a sender may put in a title


def wk(*args: str) -> Result:
    return CliRunner().invoke(wk_app, list(args))


def ok(*args: str) -> str:
    done = wk(*args)
    assert done.exit_code == 0, done.output
    return done.stdout


def one_line_error(done: Result, code: int, says: str) -> None:
    assert done.exit_code == code, done.output
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: ") and says in done.stderr, done.stderr


@pytest.fixture
def local(tmp_path: Path, log_dir: Path) -> Iterator[App]:
    """The app core over the data directory the commands use (WK_DATA_DIR)."""
    core = open_app(make_settings(tmp_path, log_dir), import_mcp=False)
    try:
        yield core
    finally:
        core.close()


def test_list_show_and_ack_on_the_local_data(local: App) -> None:
    db = make_incident(local.engine, TRAP, targets=("service:orders-db", "service:orders"))
    make_incident(local.engine, "disk full", targets=("host:db-2",), severity="warning")

    table = ok("incidents", "list")
    assert "[red]boom[/red] \\x1b[2J" in table and "\x1b" not in table  # shown, not obeyed
    assert "service:orders-db" in table and "disk full" in table
    rows = json.loads(ok("incidents", "list", "--json", "--severity", "critical"))
    assert [(r["id"], r["title"]) for r in rows] == [(db, TRAP)]

    shown = ok("incidents", "show", str(db))
    assert "orders depends on service:orders-db" in shown  # why the alert joined
    assert "max_connections reached" in shown  # the report's summary
    assert "opened" in shown and "\x1b" not in shown  # the timeline, inert

    assert f"acknowledged by {getpass.getuser()}" in ok("incidents", "ack", str(db))
    assert json.loads(ok("incidents", "show", str(db), "--json"))["acknowledged_by"] == getpass.getuser()
    one_line_error(wk("incidents", "show", "999"), 2, "999")
    one_line_error(wk("incidents", "list", "--status", "sleeping"), 2, "--status")


def test_silences_on_the_local_data(local: App) -> None:
    added = json.loads(
        ok(
            "silences",
            "add",
            'service="orders-db"',
            'severity=~"warn.*"',
            "--duration",
            "2h",
            "--comment",
            "upgrade",
            "--json",
        )
    )
    assert added["active"] and added["matchers"] == ['service="orders-db"', 'severity=~"warn.*"']
    assert added["id"] in ok("silences", "list")
    assert f"silence {added['id']} ended" in ok("silences", "expire", added["id"])
    assert json.loads(ok("silences", "list", "--json")) == []
    (ended,) = json.loads(ok("silences", "list", "--all", "--json"))
    assert ended["id"] == added["id"] and ended["expired_by"] == added["created_by"] and ended["expired_at"]
    assert f"{added['created_by']}, ended by {added['created_by']}" in ok("silences", "list", "--all")
    one_line_error(wk("silences", "add", "service", "--duration", "2h", "--comment", "x"), 2, "matcher")
    one_line_error(wk("silences", "add", "a=b", "--comment", "x"), 2, "--duration")
    one_line_error(wk("silences", "expire", "nope"), 2, "nope")


@pytest.fixture
def manager(tmp_path: Path, log_dir: Path) -> Iterator[Served]:
    with serve_core(tmp_path / "manager", log_dir) as served:
        yield served


def remote(served: Served, who: str, *args: str) -> Result:
    return wk(*args, "--server", served.url, "--token", served.tokens[who])


def test_the_same_commands_on_a_manager(manager: Served) -> None:
    db = make_incident(manager.core.engine, targets=("service:orders-db", "service:cart"))
    listed: Any = json.loads(remote(manager, "viewer", "incidents", "list", "--json").stdout)
    assert listed == manager.get("/api/v1/incidents", "viewer").json()  # exactly the API's JSON
    assert "orders-db" in remote(manager, "viewer", "incidents", "show", str(db)).stdout

    acked = remote(manager, "operator", "incidents", "ack", str(db))
    assert acked.exit_code == 0 and f"#{db} acknowledged by operator" in acked.stdout  # the token's user
    one_line_error(remote(manager, "viewer", "incidents", "resolve", str(db)), 2, "viewer is viewer")
    one_line_error(remote(manager, "operator", "incidents", "show", "999"), 2, "999")  # exit 2 as locally

    added = remote(manager, "operator", "silences", "add", "a=b", "--duration", "1h", "--comment", "x", "--json")
    assert json.loads(added.stdout)["created_by"] == "operator"


def test_a_bad_token_or_no_server_is_one_line_and_exit_1(manager: Served, tmp_path: Path, log_dir: Path) -> None:
    real = Wk(tmp_path, log_dir)
    real.env.update({"WK_SERVER": manager.url, "WK_TOKEN": "wk_not-a-token"})
    done = real("incidents", "list")
    assert done.returncode == 1 and done.stderr.startswith("error: the API token is not valid"), done.stderr
    assert done.stderr.count("\n") == 1 and not done.stdout
    gone = wk("incidents", "list", "--server", f"http://127.0.0.1:{free_port()}", "--token", "t")
    one_line_error(gone, 1, "cannot reach")
    one_line_error(wk("incidents", "list", "--server", manager.url), 2, "token")
