"""Users and API tokens on a real store (SQLite and PostgreSQL): the whole life of a token, and what
is never shown or written."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete, event, select, text, update

from watchkeeper.errors import InputError, StoreError
from watchkeeper.policy.access import Access, AuthError, Principal
from watchkeeper.policy.users import (
    LAST_USED_EVERY,
    add_user,
    authenticate,
    create_token,
    list_tokens,
    list_users,
    revoke_token,
)
from watchkeeper.store.db import make_engine, open_engine
from watchkeeper.store.models import ApiToken, User

T0 = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = open_engine(db_url)
    yield engine
    engine.dispose()


def reason(engine: Engine, token: str, now: datetime = T0) -> str:
    with pytest.raises(AuthError) as info:
        authenticate(engine, token, now)
    return info.value.reason


def test_users_are_added_and_listed_by_name(engine: Engine) -> None:
    add_user(engine, "zoe", Access.VIEWER, now=T0)
    add_user(engine, "alertmanager", Access.WEBHOOK, now=T0)
    users = list_users(engine)
    assert [(u.name, u.role, u.created_at) for u in users] == [
        ("alertmanager", Access.WEBHOOK, T0),
        ("zoe", Access.VIEWER, T0),
    ]
    assert users[1].as_dict() == {"name": "zoe", "role": "viewer", "created_at": "2030-01-02T03:04:05+00:00"}


def test_a_duplicate_user_is_refused_by_name(engine: Engine) -> None:
    add_user(engine, "alice", Access.ADMIN)
    with pytest.raises(InputError, match="a user named 'alice' already exists"):
        add_user(engine, "alice", Access.VIEWER)
    assert [(u.name, u.role) for u in list_users(engine)] == [("alice", Access.ADMIN)]


@pytest.mark.parametrize("name", ["", "a b", "x" * 101, "ali\nce", "zoë", "a/b", "bob\n"])
def test_user_names_are_letters_digits_and_dot_dash_underscore_at(engine: Engine, name: str) -> None:
    with pytest.raises(InputError, match=re.escape("must be 1 to 100 letters, digits or . - _ @")):
        add_user(engine, name, Access.VIEWER)
    assert list_users(engine) == []


def test_the_longest_and_oddest_allowed_names(engine: Engine) -> None:
    for name in ("x" * 100, "a.b-c_d@example.org", "7"):
        add_user(engine, name, Access.OPERATOR)
    assert len(list_users(engine)) == 3


def test_a_token_lives_until_revoked(engine: Engine) -> None:
    add_user(engine, "alice", Access.OPERATOR)
    token, info = create_token(engine, "alice", timedelta(days=90), now=T0)
    assert token.startswith("wk_") and len(token) >= 3 + 43  # 32 random bytes, base64url
    assert info.id.startswith("tok_") and info.user == "alice" and info.role is Access.OPERATOR
    assert info.expires_at == T0 + timedelta(days=90) and info.state(T0) == "active"

    assert authenticate(engine, token, T0) == Principal("alice", Access.OPERATOR, info.id)

    revoked = revoke_token(engine, info.id, now=T0 + timedelta(hours=1))
    assert revoked.revoked_at == T0 + timedelta(hours=1) and revoked.state(T0) == "revoked"
    assert reason(engine, token, T0 + timedelta(hours=2)) == "revoked"
    # Revoking again keeps the first time.
    assert revoke_token(engine, info.id, now=T0 + timedelta(days=1)).revoked_at == T0 + timedelta(hours=1)


def test_a_token_expires_at_its_end(engine: Engine) -> None:
    add_user(engine, "alice", Access.VIEWER)
    token, info = create_token(engine, "alice", timedelta(hours=1), now=T0)
    assert authenticate(engine, token, T0 + timedelta(minutes=59)).token_id == info.id
    assert reason(engine, token, T0 + timedelta(hours=1)) == "expired"
    assert list_tokens(engine)[0].state(T0 + timedelta(hours=1)) == "expired"


def test_a_token_without_expiry_does_not_expire(engine: Engine) -> None:
    add_user(engine, "ci", Access.VIEWER)
    token, info = create_token(engine, "ci", None, now=T0)
    assert info.expires_at is None
    assert authenticate(engine, token, T0 + timedelta(days=3650)).user == "ci"


def test_revoked_wins_over_expired(engine: Engine) -> None:
    add_user(engine, "alice", Access.VIEWER)
    token, info = create_token(engine, "alice", timedelta(minutes=5), now=T0)
    revoke_token(engine, info.id, now=T0)
    assert reason(engine, token, T0 + timedelta(days=1)) == "revoked"


@pytest.mark.parametrize("garbage", ["nope", "wk_", "wk_" + "A" * 43, "Bearer x", "\x00", "\ud800", "x" * 100_000])
def test_anything_else_is_invalid(engine: Engine, garbage: str) -> None:
    add_user(engine, "alice", Access.ADMIN)
    create_token(engine, "alice", None)
    assert reason(engine, garbage) == "invalid"


def test_no_token_is_missing(engine: Engine) -> None:
    assert reason(engine, "") == "missing"


def test_a_token_of_a_deleted_user_is_invalid(engine: Engine) -> None:
    add_user(engine, "gone", Access.ADMIN)
    token, _ = create_token(engine, "gone", None)
    with engine.begin() as conn:
        conn.execute(delete(User).where(User.name == "gone"))  # PostgreSQL cascades; SQLite keeps an orphan
    assert reason(engine, token) == "invalid"


def test_the_role_is_read_at_each_request(engine: Engine) -> None:
    """No cache: a role changed in the database counts on the very next check."""
    add_user(engine, "alice", Access.ADMIN)
    token, _ = create_token(engine, "alice", None)
    assert authenticate(engine, token).access is Access.ADMIN
    with engine.begin() as conn:
        conn.execute(update(User).where(User.name == "alice").values(role="viewer"))
    assert authenticate(engine, token).access is Access.VIEWER


def test_a_revocation_counts_on_the_next_check_of_another_engine(db_url: str, engine: Engine) -> None:
    """The CLI revokes through its own connection while a server keeps its engine (and pool) open."""
    server = open_engine(db_url)
    try:
        add_user(engine, "alice", Access.OPERATOR)
        token, info = create_token(engine, "alice", None)
        assert authenticate(server, token).user == "alice"
        revoke_token(engine, info.id)
        assert reason(server, token, datetime.now(UTC)) == "revoked"
    finally:
        server.dispose()


def count_token_writes(engine: Engine) -> list[str]:
    writes: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE API_TOKENS"):
            writes.append(statement)

    return writes


def test_last_use_is_written_at_most_once_a_minute(engine: Engine) -> None:
    add_user(engine, "alice", Access.VIEWER)
    token, _ = create_token(engine, "alice", None, now=T0)
    writes = count_token_writes(engine)

    for second in range(0, 60, 5):  # a busy minute
        authenticate(engine, token, T0 + timedelta(seconds=second))
    assert len(writes) == 1
    assert list_tokens(engine)[0].last_used_at == T0

    authenticate(engine, token, T0 + LAST_USED_EVERY)
    assert len(writes) == 2
    assert list_tokens(engine)[0].last_used_at == T0 + LAST_USED_EVERY


def test_a_failed_last_use_write_does_not_lock_anyone_out(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The store refuses writes (a full disk, here a trigger): reads must still authenticate."""
    engine = open_engine(f"sqlite:///{tmp_path / 'wk.db'}")
    add_user(engine, "alice", Access.VIEWER)
    token, info = create_token(engine, "alice", None)
    with engine.begin() as conn:
        conn.execute(
            text("CREATE TRIGGER no_writes BEFORE UPDATE ON api_tokens BEGIN SELECT RAISE(ABORT, 'disk full'); END")
        )
    assert authenticate(engine, token).token_id == info.id
    assert "could not record the use of token " + info.id in caplog.text
    assert list_tokens(engine)[0].last_used_at is None
    engine.dispose()


def test_an_unreachable_store_is_a_store_error_not_an_auth_error(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}")  # a directory: SQLite cannot open it
    with pytest.raises(StoreError, match="cannot check the API token: the database is unavailable"):
        authenticate(engine, "wk_anything")
    engine.dispose()


def test_nothing_secret_is_stored_or_listed(engine: Engine) -> None:
    add_user(engine, "alice", Access.ADMIN)
    token, info = create_token(engine, "alice", timedelta(days=1))
    digest = hashlib.sha256(token.encode()).hexdigest()

    with engine.connect() as conn:
        stored = conn.execute(select(ApiToken)).one()
    assert stored.token_hash == digest
    assert token not in json.dumps([str(v) for v in stored])

    listed = list_tokens(engine)
    shown = json.dumps([t.as_dict() for t in listed])
    assert token not in shown and digest not in shown and token[3:20] not in shown
    assert set(listed[0].as_dict()) == {
        "id",
        "user",
        "role",
        "state",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
    }
    assert "hash" not in repr(listed[0]) and token not in repr(listed[0]) + repr(info)


def test_tokens_are_listed_by_user(engine: Engine) -> None:
    add_user(engine, "alice", Access.ADMIN)
    add_user(engine, "bob", Access.VIEWER)
    _, a = create_token(engine, "alice", None, now=T0)
    _, b = create_token(engine, "bob", None, now=T0 + timedelta(seconds=1))
    assert [t.id for t in list_tokens(engine)] == [a.id, b.id]
    assert [(t.id, t.user, t.role) for t in list_tokens(engine, "bob")] == [(b.id, "bob", Access.VIEWER)]
    with pytest.raises(InputError, match="no user named 'carol'"):
        list_tokens(engine, "carol")


def test_every_token_is_new(engine: Engine) -> None:
    add_user(engine, "alice", Access.ADMIN)
    made = [create_token(engine, "alice", None) for _ in range(20)]
    assert len({t for t, _ in made}) == len({i.id for _, i in made}) == 20


@pytest.mark.parametrize(
    ("user", "lifetime", "message"),
    [
        ("nobody", None, "no user named 'nobody'"),
        ("alice", timedelta(0), "a token's lifetime must be positive"),
        ("alice", timedelta(minutes=-5), "a token's lifetime must be positive"),
        ("alice", timedelta(days=999_999_999), "must end before the year 10000"),
    ],
)
def test_a_token_that_cannot_be_made_is_refused_by_name(
    engine: Engine, user: str, lifetime: timedelta | None, message: str
) -> None:
    add_user(engine, "alice", Access.ADMIN)
    with pytest.raises(InputError, match=message):
        create_token(engine, user, lifetime)
    assert list_tokens(engine) == []


def test_revoking_an_unknown_id_names_it(engine: Engine) -> None:
    with pytest.raises(InputError, match="no token with id 'tok_nope'"):
        revoke_token(engine, "tok_nope")
