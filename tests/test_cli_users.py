"""`wk users` and `wk tokens` as an admin runs them: the real binary on the configured database, with
no server running; errors are one line and exit 2."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from tests.helpers import Wk
from watchkeeper.policy.access import Access, AuthError
from watchkeeper.policy.users import authenticate
from watchkeeper.store.db import open_engine


@pytest.fixture
def wk(tmp_path: Path, log_dir: Path) -> Wk:
    return Wk(tmp_path, log_dir)


def ok(wk: Wk, *args: str) -> str:
    done = wk(*args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_whole_life_of_a_token(tmp_path: Path, log_dir: Path, db_url: str) -> None:
    wk = Wk(tmp_path, log_dir)
    wk.env["WK_DATABASE_URL"] = db_url
    assert "added alice (admin)" in ok(wk, "users", "add", "alice", "--role", "admin")
    ok(wk, "users", "add", "alertmanager", "--role", "webhook")
    users = json.loads(ok(wk, "users", "list", "--json"))
    assert [(u["name"], u["role"]) for u in users] == [("alertmanager", "webhook"), ("alice", "admin")]

    created = wk("tokens", "create", "--user", "alice")
    assert created.returncode == 0
    token = created.stdout.strip()
    assert created.stdout == token + "\n" and token.startswith("wk_")  # the token alone on stdout
    assert "shown only this once" in created.stderr and token not in created.stderr

    engine = open_engine(db_url)
    try:
        who = authenticate(engine, token)
        assert (who.user, who.access) == ("alice", Access.ADMIN)

        listed = json.loads(ok(wk, "tokens", "list", "--json"))
        assert [(t["id"], t["user"], t["role"], t["state"]) for t in listed] == [
            (who.token_id, "alice", "admin", "active")
        ]
        assert listed[0]["last_used_at"] is not None  # the check above was recorded
        table = ok(wk, "tokens", "list")
        assert who.token_id in table and token not in table

        assert f"{who.token_id} of alice is revoked" in ok(wk, "tokens", "revoke", who.token_id)
        with pytest.raises(AuthError) as info:
            authenticate(engine, token)
        assert info.value.reason == "revoked"
        assert json.loads(ok(wk, "tokens", "list", "--json"))[0]["state"] == "revoked"
    finally:
        engine.dispose()


def test_create_json_and_expiries(wk: Wk) -> None:
    ok(wk, "users", "add", "ci", "--role", "operator")
    never = json.loads(ok(wk, "tokens", "create", "--user", "ci", "--expires", "never", "--json"))
    assert set(never) == {"token", "id", "expires_at"} and never["expires_at"] is None
    assert never["token"].startswith("wk_") and never["id"].startswith("tok_")

    default = json.loads(ok(wk, "tokens", "create", "--user", "ci", "--json"))
    short = json.loads(ok(wk, "tokens", "create", "--user", "ci", "--expires", "30m", "--json"))
    listed = {t["id"]: t for t in json.loads(ok(wk, "tokens", "list", "--user", "ci", "--json"))}
    assert set(listed) == {never["id"], default["id"], short["id"]}
    for made, lifetime_s in ((default, 90 * 86400), (short, 30 * 60)):
        row = listed[made["id"]]
        assert row["expires_at"] == made["expires_at"]
        lived = _seconds(row["expires_at"]) - _seconds(row["created_at"])
        assert abs(lived - lifetime_s) <= 1
    shown = json.dumps(list(listed.values()))
    assert not any(t["token"] in shown for t in (never, default, short))


def _seconds(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def test_users_list_shows_a_table(wk: Wk) -> None:
    ok(wk, "users", "add", "a.b-c_d@example.org", "--role", "approver")
    table = ok(wk, "users", "list")
    assert "a.b-c_d@example.org" in table and "approver" in table


ERRORS = [
    (["users", "add", "bob", "--role", "boss"], "--role must be one of viewer, operator, approver, admin, webhook"),
    (["users", "add", "alice", "--role", "viewer"], "a user named 'alice' already exists"),
    (["users", "add", "bob smith", "--role", "viewer"], "must be 1 to 100 letters, digits or . - _ @"),
    (["tokens", "create", "--user", "nobody"], "no user named 'nobody'"),
    (["tokens", "create", "--user", "alice", "--expires", "soon"], "--expires takes a lifetime like 90d"),
    (["tokens", "create", "--user", "alice", "--expires", "-5m"], "--expires takes a lifetime like 90d"),
    (["tokens", "create", "--user", "alice", "--expires", "0d"], "--expires takes a lifetime like 90d"),
    (["tokens", "create", "--user", "alice", "--expires", "99999999999d"], "is too long: use never"),
    (["tokens", "create", "--user", "alice", "--expires", "3000000d"], "must end before the year 10000"),
    (["tokens", "list", "--user", "nobody"], "no user named 'nobody'"),
    (["tokens", "revoke", "tok_nope"], "no token with id 'tok_nope'"),
]


def test_errors_are_one_line_and_exit_2(wk: Wk) -> None:
    ok(wk, "users", "add", "alice", "--role", "admin")
    for argv, message in ERRORS:  # one data directory for all: each run of wk costs a second
        done = wk(*argv)
        assert done.returncode == 2, argv
        assert done.stderr.startswith("error: ") and message in done.stderr, (argv, done.stderr)
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
        assert done.stdout == "", argv
    assert json.loads(ok(wk, "users", "list", "--json"))[0]["role"] == "admin"
    assert json.loads(ok(wk, "tokens", "list", "--json")) == []  # nothing half-made
