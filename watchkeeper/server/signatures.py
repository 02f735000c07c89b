"""Signed alert posts, for senders that cannot send a bearer token: `X-Watchkeeper-Signature: sha256=<hex
HMAC-SHA256 of the raw body>`, or Grafana's own `X-Grafana-Alerting-Signature: <hex>`. Either is over the
body, or over `<timestamp>:<body>` when the post carries its Unix time (`X-Watchkeeper-Timestamp`, or
Grafana's `X-Grafana-Alerting-Signature-Timestamp` — the scheme Grafana's webhook notifier documents):
then a captured post cannot be replayed after MAX_AGE_S, and a source with `require_timestamp` accepts
nothing else. The secret is a source's in `[[alerts.sources]]`."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping, Sequence

from watchkeeper.config import AlertSource, resolve_secret
from watchkeeper.errors import ConfigError, WatchkeeperError

WATCHKEEPER = "x-watchkeeper-signature"
GRAFANA = "x-grafana-alerting-signature"
SIGNATURE_HEADERS = (WATCHKEEPER, GRAFANA)
MAX_AGE_S = 300  # a signed timestamp older (or further ahead) than this is a replay, or a clock to fix


class SignatureError(WatchkeeperError):
    """A signed post whose signature is missing, malformed, stale or made with no configured secret."""


def _signed(raw: bytes, headers: Mapping[str, str], now: float) -> tuple[bytes, str, bool]:
    """What was signed, the hex digest the sender claims (from whichever signature header it sent) and
    whether a fresh timestamp was signed with the body."""
    if (given := headers.get(WATCHKEEPER)) is not None:
        scheme, _, digest = given.strip().partition("=")
        if scheme.lower() != "sha256" or not digest:
            raise SignatureError("X-Watchkeeper-Signature must be sha256=<hex HMAC-SHA256 of the body>")
        stamp_header = "X-Watchkeeper-Timestamp"
    elif (given := headers.get(GRAFANA)) is not None:
        digest, stamp_header = given, "X-Grafana-Alerting-Signature-Timestamp"
    else:
        raise SignatureError("the post carries no signature header")
    stamp = headers.get(stamp_header.lower())
    if stamp is None:
        return raw, digest, False
    try:
        fresh = abs(now - int(stamp.strip())) <= MAX_AGE_S
    except ValueError:
        raise SignatureError(f"{stamp_header} must be a Unix time in seconds") from None
    if not fresh:
        raise SignatureError(f"the signature's timestamp is more than {MAX_AGE_S} s away from this server's clock")
    return stamp.strip().encode() + b":" + raw, digest, True


def verify(raw: bytes, headers: Mapping[str, str], sources: Sequence[AlertSource], now: float | None = None) -> str:
    """The name of the source whose secret signed `raw`; SignatureError otherwise. `headers` is looked up
    by lower-case name (Starlette's headers are case-insensitive). ConfigError if a secret cannot be read."""
    signed, digest, stamped = _signed(raw, headers, time.time() if now is None else now)
    if not sources:
        raise SignatureError("no alert source is configured to sign posts ([[alerts.sources]])")
    claimed = digest.strip().lower().encode("utf-8", "replace")
    # Every source is tried, none skipped once one matched: the time taken says nothing about which.
    matched = [
        source
        for source in sources
        if hmac.compare_digest(hmac.new(_key(source), signed, hashlib.sha256).hexdigest().encode(), claimed)
    ]
    if not matched:
        raise SignatureError("the signature matches no configured alert source")
    if matched[0].require_timestamp and not stamped:
        raise SignatureError(
            f"alert source {matched[0].name!r} requires a signed timestamp: send X-Watchkeeper-Timestamp "
            "(Unix seconds) and sign '<timestamp>:<body>'"
        )
    return matched[0].name


def _key(source: AlertSource) -> bytes:
    """The source's secret; an empty one (`env:` of an unset-to-empty variable) would let anyone sign."""
    secret = resolve_secret(source.secret)
    if not secret.strip():
        raise ConfigError(f"alerts.sources {source.name!r}: its secret is empty, so anyone could sign as it")
    return secret.encode()
