"""wk users, wk tokens: who may use the API and with which role; they act on the configured
database directly, so no server needs to run (a running one honours the change on its next request)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from watchkeeper.cli.common import JsonFlag, emit_json, err, fail, open_cli_app, out

if TYPE_CHECKING:
    from datetime import datetime

    from watchkeeper.policy.access import Access

users_app = typer.Typer(no_args_is_help=True, help="The users of the API and their roles.")
tokens_app = typer.Typer(no_args_is_help=True, help="API tokens: create (shown once), list, revoke.")

ROLES = "viewer|operator|approver|admin|webhook"
DEFAULT_EXPIRY = "90d"


def access_option(text: str) -> Access:
    from watchkeeper.policy.access import Access

    try:
        return Access(text)
    except ValueError:
        fail(f"--role must be one of {', '.join(Access)}, got {text!r}")


def expiry_option(text: str) -> timedelta | None:
    """`never`, or a lifetime such as 90d, 12h, 30m (the units `--since` takes)."""
    from watchkeeper.since import RELATIVE, UNITS

    value = text.strip()
    if value == "never":
        return None
    m = RELATIVE.match(value)
    if m is None or value.startswith("-") or int(m.group(1)) == 0:
        fail(f"--expires takes a lifetime like 90d, 12h or 30m, or never; got {text!r}")
    try:
        return timedelta(**{UNITS[m.group(2)]: int(m.group(1))})
    except OverflowError:
        fail(f"--expires {text!r} is too long: use never for a token that does not expire")


def _when(ts: datetime | None, none: str = "") -> str:
    return none if ts is None else ts.strftime("%Y-%m-%d %H:%M")


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="Letters, digits and . - _ @ (up to 100).")],
    role: Annotated[str, typer.Option("--role", metavar=ROLES, help="What the user's tokens may do.")],
) -> None:
    """Add a user with a role."""
    from watchkeeper.policy.users import add_user

    access = access_option(role)
    user = add_user(open_cli_app(import_mcp=False).engine, name, access)
    out.print(f"added {user.name} ({user.role}); wk tokens create --user {user.name} gives them a token", markup=False)


@users_app.command("list")
def users_list(as_json: JsonFlag = False) -> None:
    """Users and their roles."""
    from watchkeeper.policy.users import list_users

    users = list_users(open_cli_app(import_mcp=False).engine)
    if as_json:
        emit_json([u.as_dict() for u in users])
        return
    table = Table("name", "role", "created (UTC)")
    for u in users:
        table.add_row(u.name, u.role.value, _when(u.created_at))
    out.print(table)


@tokens_app.command("create")
def tokens_create(
    user: Annotated[str, typer.Option("--user", help="Whose token it is.")],
    expires: Annotated[
        str, typer.Option("--expires", metavar="90d|12h|30m|never", help="How long the token is valid.")
    ] = DEFAULT_EXPIRY,
    as_json: JsonFlag = False,
) -> None:
    """A new token for a user, printed once on stdout (only its hash is kept)."""
    from watchkeeper.policy.users import create_token

    lifetime = expiry_option(expires)
    token, info = create_token(open_cli_app(import_mcp=False).engine, user, lifetime)
    if as_json:
        emit_json({"token": token, "id": info.id, "expires_at": info.as_dict()["expires_at"]})
        return
    out.print(token, markup=False, highlight=False)
    until = f"until {_when(info.expires_at)} UTC" if info.expires_at else "with no expiry"
    err.print(
        f"token {info.id} for {info.user} ({info.role}), valid {until}: it is shown only this once",
        markup=False,
        highlight=False,
    )


@tokens_app.command("list")
def tokens_list(
    user: Annotated[str | None, typer.Option("--user", help="Only this user's tokens.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Tokens with their user, role, state and times (never the token itself)."""
    from watchkeeper.policy.users import list_tokens

    tokens = list_tokens(open_cli_app(import_mcp=False).engine, user)
    if as_json:
        emit_json([t.as_dict() for t in tokens])
        return
    table = Table("id", "user", "role", "state", "created (UTC)", "expires", "revoked", "last used")
    for t in tokens:
        table.add_row(
            t.id,
            t.user,
            t.role.value,
            t.state(),
            _when(t.created_at),
            _when(t.expires_at, "never"),
            _when(t.revoked_at),
            _when(t.last_used_at),
        )
    out.print(table)


@tokens_app.command("revoke")
def tokens_revoke(token_id: Annotated[str, typer.Argument(metavar="TOKEN_ID", help="The tok_… id.")]) -> None:
    """Revoke a token: a running server refuses it from its next request."""
    from watchkeeper.policy.users import revoke_token

    info = revoke_token(open_cli_app(import_mcp=False).engine, token_id)
    out.print(f"{info.id} of {info.user} is revoked (since {_when(info.revoked_at)} UTC)", markup=False)
