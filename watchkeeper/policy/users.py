"""Users and their API tokens: add, list, issue, revoke, and check a token a request presents.

A token is checked against the database on every request (no cache), so a new or revoked token
counts from the next request of a running server.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Engine, bindparam, or_, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from watchkeeper.errors import InputError, StoreError
from watchkeeper.policy.access import Access, AuthError, Principal
from watchkeeper.store.models import ApiToken, User

log = logging.getLogger(__name__)

TOKEN_PREFIX = "wk_"  # lets secret scanners and people recognise a leaked watchkeeper token
TOKEN_ID_PREFIX = "tok_"
TOKEN_BYTES = 32
# A busy API must not write on every request: the last use is recorded at most this often per token.
LAST_USED_EVERY = timedelta(minutes=1)
USER_NAME = re.compile(r"[A-Za-z0-9._@-]{1,100}")
# Built once: every request checks its token here, and a storm of webhook posts makes that thousands a second.
_BY_HASH = (
    select(ApiToken.id, ApiToken.expires_at, ApiToken.revoked_at, ApiToken.last_used_at, User.name, User.role)
    .join(User, User.id == ApiToken.user_id)  # an inner join: a token whose user was deleted is invalid
    .where(ApiToken.token_hash == bindparam("token_hash"))
)

TokenState = Literal["active", "expired", "revoked"]


def _utc(ts: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything written here is UTC.
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def _utc_or_none(ts: datetime | None) -> datetime | None:
    return None if ts is None else _utc(ts)


def _iso(ts: datetime | None) -> str | None:
    return None if ts is None else _utc(ts).isoformat(timespec="seconds")


def token_hash(token: str) -> str:
    # A token carries 256 random bits, so a fast hash is enough: no password-style slow hash is needed
    # because there is nothing to guess. Looking the digest up (never comparing the token itself) also
    # leaves no timing to learn from.
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class UserInfo:
    name: str
    role: Access
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role.value, "created_at": _iso(self.created_at)}


@dataclass(frozen=True)
class TokenInfo:
    """What may be shown about a token: never the token or its hash."""

    id: str
    user: str
    role: Access
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    def state(self, now: datetime | None = None) -> TokenState:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= (now or datetime.now(UTC)):
            return "expired"
        return "active"

    def as_dict(self, now: datetime | None = None) -> dict[str, Any]:
        return {
            "id": self.id,
            "user": self.user,
            "role": self.role.value,
            "state": self.state(now),
            "created_at": _iso(self.created_at),
            "expires_at": _iso(self.expires_at),
            "revoked_at": _iso(self.revoked_at),
            "last_used_at": _iso(self.last_used_at),
        }


def _token_info(token: ApiToken, user: User) -> TokenInfo:
    return TokenInfo(
        id=token.id,
        user=user.name,
        role=Access(user.role),
        created_at=_utc(token.created_at),
        expires_at=_utc_or_none(token.expires_at),
        revoked_at=_utc_or_none(token.revoked_at),
        last_used_at=_utc_or_none(token.last_used_at),
    )


def _find_user(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise InputError(f"no user named {name!r} (wk users list shows them)")
    return user


def add_user(engine: Engine, name: str, access: Access, now: datetime | None = None) -> UserInfo:
    if not USER_NAME.fullmatch(name):
        raise InputError(f"user name {name!r} must be 1 to 100 letters, digits or . - _ @")
    created = _utc(now or datetime.now(UTC))
    try:
        with Session(engine) as session, session.begin():
            if session.scalar(select(User.id).where(User.name == name)) is not None:
                raise InputError(f"a user named {name!r} already exists")
            session.add(User(name=name, role=access.value, created_at=created))
    except IntegrityError as exc:  # added by someone else between the check and the insert
        raise InputError(f"a user named {name!r} already exists") from exc
    return UserInfo(name, access, created)


def list_users(engine: Engine) -> list[UserInfo]:
    with Session(engine) as session:
        users = session.scalars(select(User).order_by(User.name))
        return [UserInfo(u.name, Access(u.role), _utc(u.created_at)) for u in users]


def create_token(
    engine: Engine, user: str, expires: timedelta | None, now: datetime | None = None
) -> tuple[str, TokenInfo]:
    """A new token for `user`, valid for `expires` (None: until revoked). The token itself is returned
    once, here: only its hash is stored."""
    created = _utc(now or datetime.now(UTC))
    if expires is not None and expires <= timedelta(0):
        raise InputError("a token's lifetime must be positive")
    try:
        expires_at = None if expires is None else created + expires
    except OverflowError:
        raise InputError("a token's lifetime must end before the year 10000") from None
    token = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    with Session(engine) as session, session.begin():
        owner = _find_user(session, user)
        row = ApiToken(
            id=TOKEN_ID_PREFIX + secrets.token_hex(8),
            user_id=owner.id,
            token_hash=token_hash(token),
            created_at=created,
            expires_at=expires_at,
        )
        session.add(row)
        session.flush()
        return token, _token_info(row, owner)


def list_tokens(engine: Engine, user: str | None = None) -> list[TokenInfo]:
    with Session(engine) as session:
        query = select(ApiToken, User).join(User, User.id == ApiToken.user_id)
        if user is not None:
            query = query.where(ApiToken.user_id == _find_user(session, user).id)
        rows = session.execute(query.order_by(ApiToken.created_at, ApiToken.id))
        return [_token_info(token, owner) for token, owner in rows]


def revoke_token(engine: Engine, token_id: str, now: datetime | None = None) -> TokenInfo:
    """Revoke a token by its public id; revoking it again keeps the first revocation time."""
    with Session(engine) as session, session.begin():
        found = session.execute(
            select(ApiToken, User).join(User, User.id == ApiToken.user_id).where(ApiToken.id == token_id)
        ).one_or_none()
        if found is None:
            raise InputError(f"no token with id {token_id!r} (wk tokens list shows them)")
        token, owner = found
        if token.revoked_at is None:
            token.revoked_at = _utc(now or datetime.now(UTC))
            session.flush()
        return _token_info(token, owner)


def authenticate(engine: Engine, token: str, now: datetime | None = None) -> Principal:
    """The user a presented token acts for, with their role as it is now; AuthError if it is missing,
    unknown (or its user is gone), expired or revoked."""
    if not token:
        raise AuthError("missing")
    at = _utc(now or datetime.now(UTC))
    try:
        with engine.connect() as conn:
            row = conn.execute(_BY_HASH, {"token_hash": token_hash(token)}).one_or_none()
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot check the API token: the database is unavailable ({exc.__class__.__name__})") from exc
    if row is None:
        raise AuthError("invalid")
    if row.revoked_at is not None:
        raise AuthError("revoked")
    if row.expires_at is not None and _utc(row.expires_at) <= at:
        raise AuthError("expired")
    if row.last_used_at is None or at - _utc(row.last_used_at) >= LAST_USED_EVERY:
        _record_use(engine, row.id, at)
    return Principal(user=row.name, access=Access(row.role), token_id=row.id)


def _record_use(engine: Engine, token_id: str, at: datetime) -> None:
    # The condition is repeated in SQL so that concurrent requests write once per interval, not once each.
    stale = or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= at - LAST_USED_EVERY)
    try:
        with engine.begin() as conn:
            conn.execute(update(ApiToken).where(ApiToken.id == token_id, stale).values(last_used_at=at))
    except SQLAlchemyError as exc:
        # Bookkeeping only: a full disk must not lock everyone out of the reads they need most.
        log.warning("could not record the use of token %s: %s", token_id, exc.__class__.__name__)
